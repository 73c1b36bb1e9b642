"""Telling people when it matters (issue 12, points 1 and 3(i)).

A mention in a busy case thread is easy to miss, and a Home tab only shows what it showed
when it was last opened. So when a case moves, inside the step's own transaction:

- the responsible unit's members get a direct message when the case comes to them
  (containment, or new countermeasures after a rework loop), and the reporter when
  Technical Quality asks them for more information;
- the reporter gets a direct message with the outcome when the case closes (unless they
  closed it themselves);
- the Home tabs of the people concerned (the owners before and after, the reporter, the
  corrective action's owner) are refreshed through the outbox: at delivery, those of them
  whose Home is in use (opened within HOME_LIVE_HOURS, `homes_in_use`); anyone else's
  Home is built when they open it.

All of it is outbox rows, so it is sent after the commit, paced and retried like every
other Slack effect, and never if the step rolls back.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.models import Case, HomeVisit, Outbox, OutboxStatus, Status
from bot.workflow import effects
from bot.workflow.clocks import action_owners, targets_for

S = Status
UNIT_STATES = frozenset({S.CONTAINMENT, S.CORRECTIVE, S.PREVENTIVE})
HOME_LANE = "home"
# a waiting refresh row takes at most this many targets; then a new row is started
HOME_TARGETS = 200
_HOME_ROW = "turns.home_row"  # Session.info key: (transaction, the waiting refresh row)


def tell_people(
    s: Session,
    case: Case,
    moved: tuple[bool, Status | None],
    now: datetime,
    live_hours: float = 8.0,
) -> None:
    """The DMs and Home refreshes of a move (`moved` = (whether the case moved since its
    clock was last set, the status it moved from — None for a new case)); `live_hours` is
    HOME_LIVE_HOURS."""
    did_move, before = moved
    if not did_move:
        return
    status = Status(case.status)
    before_targets = targets_for(before, case) if before is not None else []
    now_targets = targets_for(status, case)
    if status in UNIT_STATES and (before is None or before not in UNIT_STATES):
        units = [t for t in now_targets if t.startswith("unit:")]
        if units:
            effects.enqueue(s, kind="turn_dm", now=now, case=case, to=units, status=status.value)
    if status is S.INFO_REQUESTED and before is not S.INFO_REQUESTED:
        effects.enqueue(
            s,
            kind="turn_dm",
            now=now,
            case=case,
            to=[f"user:{case.reporter_id}"],
            status=status.value,
        )
    if status is S.CLOSED and before is not S.CLOSED and case.closed_by != case.reporter_id:
        effects.enqueue(s, kind="outcome_dm", now=now, case=case, to=[f"user:{case.reporter_id}"])
    concerned = [*before_targets, *now_targets, f"user:{case.reporter_id}"]
    concerned += [f"user:{owner}" for owner in sorted(action_owners(case))]
    refresh_homes(s, concerned, now, live_hours)


# anyone's Home opened since (built once: asked at every change)
_SEEN_SINCE = select(HomeVisit.user_id).where(HomeVisit.opened_at >= bindparam("since")).limit(1)


def any_home_in_use(s: Session, now: datetime, hours: float) -> bool:
    """Whether anyone opened their Home within `hours` of `now`; asked once per session
    (a tick refreshes the Homes of many overdue cases in one transaction)."""
    if hours <= 0:
        return False
    key = ("any_home_in_use", now, hours)
    if key not in s.info:
        s.info[key] = s.scalar(_SEEN_SINCE, {"since": now - timedelta(hours=hours)}) is not None
    return bool(s.info[key])


def refresh_homes(s: Session, targets: list[str], now: datetime, live_hours: float = 8.0) -> None:
    """Queue a Home refresh for `targets`, merged into a refresh still waiting unclaimed in
    the lane, so a burst of changes republishes each person's Home once, not per change.
    Nothing is queued while nobody has their Home in use (opened within `live_hours`):
    whoever opens it later gets it built then, and the sender is spared a row per change.

    The waiting row is locked until this transaction commits (as `effects.card_update`
    does), so the sender cannot take it before the merge is in."""
    targets = list(dict.fromkeys(t for t in targets if t and not t.endswith(":")))
    if not targets or not any_home_in_use(s, now, live_hours):
        return
    # the row found or queued by an earlier call in this transaction: locked or new, so
    # still waiting (a tick refreshes the Homes of its 50 cases: one query, not 50)
    txn = s.get_transaction()
    kept = s.info.get(_HOME_ROW)
    if kept is not None and kept[0] is txn and kept[1] in s:
        waiting = kept[1]
    else:
        waiting = s.scalar(
            select(Outbox)
            .where(
                Outbox.lane == HOME_LANE,
                Outbox.status == OutboxStatus.PENDING,
                Outbox.kind == "home_refresh",
                Outbox.attempts == 0,
                Outbox.claimed_until.is_(None),
            )
            .order_by(Outbox.id.desc())
            .limit(1)
            .with_for_update()
        )
    if waiting is not None:
        have = list((waiting.payload or {}).get("to") or [])
        merged = list(dict.fromkeys(have + targets))
        if len(merged) <= HOME_TARGETS:
            if merged != have:
                waiting.payload = {**(waiting.payload or {}), "to": merged}
            s.info[_HOME_ROW] = (txn, waiting)
            return
    row = effects.enqueue(s, kind="home_refresh", now=now, lane=HOME_LANE, to=targets)
    s.info[_HOME_ROW] = (txn, row)


def home_opened(s: Session, user_id: str, now: datetime) -> None:
    """Record that `user_id` opened the Home tab now (Slack's app_home_opened)."""
    done = s.execute(
        update(HomeVisit).where(HomeVisit.user_id == user_id).values(opened_at=now)
    ).rowcount
    if done:
        return
    try:
        with s.begin_nested():  # two first visits at once: the loser updates
            s.add(HomeVisit(user_id=user_id, opened_at=now))
    except IntegrityError:
        s.execute(update(HomeVisit).where(HomeVisit.user_id == user_id).values(opened_at=now))


def homes_in_use(s: Session, users: list[str], now: datetime, hours: float) -> set[str]:
    """Those of `users` who opened their Home within `hours` of `now`."""
    if not users or hours <= 0:
        return set()
    since = now - timedelta(hours=hours)
    return set(
        s.scalars(
            select(HomeVisit.user_id).where(
                HomeVisit.user_id.in_(users), HomeVisit.opened_at >= since
            )
        )
    )
