"""Deadlines that keep themselves: reminder rows planned by a desk hook, sent by a tick.

Why rows and not a scan: the moments a case needs attention (a nudge half-way to a reply
deadline, a few working hours before it, the deadline itself, the escalation ladder after
it, the daily severity-A repeat, the morning digest) are known as soon as a deadline is
set. Writing them down as `Reminder` rows in the same transaction as the change means a
tick only reads the pending rows that are due — a range scan on the (status, due_at)
index — so its cost never grows with the number of cases, and a reminder survives
restarts.

Why claim and enqueue together: a tick claims a row with a conditional UPDATE
(`status='pending'` → `'sent'`) and writes the outbox rows in that same transaction, so a
reminder produces its Slack effects exactly once — not twice after a crash, not twice
with two bot processes ticking the same database. Catch-up after downtime is simply the
first tick: everything due and still pending fires once.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.models import Case, Reminder, Status
from bot.workflow import effects
from bot.workflow.calendar import WorkingCalendar
from bot.workflow.desk import DeskBase
from bot.workflow.steps import STATUS_LABEL
from bot.workflow.view import owners

log = logging.getLogger(__name__)

PENDING, SENT, CANCELLED = "pending", "sent", "cancelled"
NUDGE, OVERDUE, ESCALATION, SEVERITY_A, DIGEST = (
    "nudge",
    "overdue",
    "escalation",
    "severity_a",
    "digest",
)
DEADLINE_KINDS = frozenset({NUDGE, OVERDUE, ESCALATION})
DEADLINES = {"ca": "corrective-action reply", "pa": "preventive-action reply"}
# a digest carries at most this many cases per list; the rest are counted ("and N more")
DIGEST_ITEMS = 100


# --- planning (pure) ---------------------------------------------------------------------


@dataclass(frozen=True)
class Planned:
    """A reminder the case should have; inserted unless a row with its key exists."""

    key: str
    kind: str
    due_at: datetime
    data: dict[str, Any]
    case_id: int | None = None


def _stamp(dt: datetime) -> int:
    return int(dt.timestamp())


def open_deadlines(case: Case) -> list[tuple[str, datetime]]:
    """The reply deadlines still running: set, not done, on an open case."""
    if not case.is_open:
        return []
    out = []
    if case.ca_due_at is not None and case.ca_done_at is None:
        out.append(("ca", case.ca_due_at))
    if case.pa_due_at is not None and case.pa_done_at is None:
        out.append(("pa", case.pa_due_at))
    return out


def deadline_prefix(case: Case, name: str, due: datetime) -> str:
    """Identity of one deadline: the rework loop and the due instant are part of it, so a
    rework (or a reopened case) that replaces the due dates gets fresh reminders instead
    of colliding with the old, already sent ones."""
    return f"{case.id}:{name}:{case.rework_count}:{_stamp(due)}"


def _working_day_hours(calendar: WorkingCalendar) -> float:
    day = date(2000, 1, 1)
    span = datetime.combine(day, calendar.hours.end) - datetime.combine(day, calendar.hours.start)
    return span.total_seconds() / 3600


def point_time(
    point: str, start: datetime, due: datetime, calendar: WorkingCalendar
) -> datetime | None:
    """When a REMINDER_POINTS entry falls: "half" is the working midpoint between the start
    of the period and the deadline, "2h" is two working hours before the deadline."""
    if point == "half":
        return calendar.working_midpoint(start, due)
    if point.endswith("h"):
        try:
            return calendar.subtract_working_hours(due, float(point[:-1]))
        except ValueError:
            return None
    return None


def plan_deadline(
    case: Case,
    name: str,
    due: datetime,
    start: datetime,
    settings: Settings,
    calendar: WorkingCalendar,
) -> list[Planned]:
    """Nudges before one deadline, "overdue" at it, and the escalation ladder after it.

    A nudge that would fall at or before the start of the period (a 2h nudge before a
    deadline only an hour away) or on the same instant as an earlier one is dropped: it
    would tell nobody anything new."""
    prefix = deadline_prefix(case, name, due)
    base = {"deadline": name, "due": due.isoformat(), "loop": case.rework_count}
    out: list[Planned] = []
    seen: set[datetime] = set()
    for point in settings.reminder_points:
        at = point_time(point, start, due, calendar)
        if at is None or at <= start or at >= due or at in seen:
            continue
        seen.add(at)
        out.append(Planned(f"{prefix}:{point}", NUDGE, at, {**base, "point": point}, case.id))
    out.append(Planned(f"{prefix}:overdue", OVERDUE, due, dict(base), case.id))
    day_hours = _working_day_hours(calendar)
    for n in sorted(set(settings.escalation_working_days)):
        at = calendar.add_working_hours(due, n * day_hours)
        out.append(Planned(f"{prefix}:esc{n}", ESCALATION, at, {**base, "days": n}, case.id))
    return out


def next_morning(calendar: WorkingCalendar, after: datetime) -> datetime:
    """Start of working hours on the first working day after `after`'s local date."""
    local = after.astimezone(calendar.tz).date() + timedelta(days=1)
    return calendar.next_working_moment(datetime.combine(local, time(0), tzinfo=calendar.tz))


def working_day_number(calendar: WorkingCalendar, since: date, on: date) -> int:
    """Day 1 is `since`; each working day after it up to `on` adds one ("day 3" alert)."""
    n, d = 1, since
    while d < on:
        d += timedelta(days=1)
        n += calendar.is_working_day(d)
    return n


def plan_severity_repeat(
    case: Case, after: datetime, since: date, calendar: WorkingCalendar
) -> Planned:
    """The next daily severity-A alert: the next working morning, numbered by working day
    since classification; keyed by date so one day never gets two."""
    at = next_morning(calendar, after)
    on = at.astimezone(calendar.tz).date()
    day = working_day_number(calendar, since, on)
    data = {"since": since.isoformat(), "day": day}
    return Planned(f"{case.id}:sevA:{on.isoformat()}", SEVERITY_A, at, data, case.id)


def severity_repeats(case: Case) -> bool:
    """Severity A keeps alerting management every working day until containment is in."""
    return case.is_open and case.severity == "A" and case.containment_at is None


def next_digest(settings: Settings, calendar: WorkingCalendar, now: datetime) -> datetime:
    """The first DIGEST_TIME on a working day at or after `now`."""
    hh, mm = (int(x) for x in settings.digest_time.split(":"))
    day = now.astimezone(calendar.tz).date()
    for _ in range(400):
        at = datetime.combine(day, time(hh, mm), tzinfo=calendar.tz)
        if at >= now and calendar.is_working_day(day):
            return at
        day += timedelta(days=1)
    raise ValueError("no working day within 400 days for the digest")


def digest_channels(settings: Settings) -> list[str]:
    """The complaints channel and the management channel (once if they are the same)."""
    return list(
        dict.fromkeys(c for c in (settings.complaints_channel, settings.management_channel) if c)
    )


# --- writing rows -------------------------------------------------------------------------


def _insert(session: Session, planned: Iterable[Planned], now: datetime) -> int:
    """Insert reminders, ignoring keys that exist (INSERT … ON CONFLICT DO NOTHING), so two
    processes planning the same reminder can never fail or duplicate it."""
    rows = [
        {
            "case_id": p.case_id,
            "kind": p.kind,
            "key": p.key,
            "due_at": p.due_at,
            "status": PENDING,
            "data": p.data,
        }
        for p in planned
    ]
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(Reminder).on_conflict_do_nothing(index_elements=["key"])
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as lite_insert

        stmt = lite_insert(Reminder).on_conflict_do_nothing(index_elements=["key"])
    else:  # pragma: no cover - the bot supports SQLite and PostgreSQL
        keys = {r["key"] for r in rows}
        have = set(session.scalars(select(Reminder.key).where(Reminder.key.in_(keys))))
        rows = [r for r in rows if r["key"] not in have]
        if not rows:
            return 0
        from sqlalchemy import insert

        stmt = insert(Reminder)
    # rows as parameters, not VALUES: the statement compiles once and is cached
    return session.connection().execute(stmt, rows).rowcount or 0


def _cancel(session: Session, ids: list[int], now: datetime, by: str) -> int:
    if not ids:
        return 0
    res = session.execute(
        update(Reminder)
        .where(Reminder.id.in_(ids), Reminder.status == PENDING)
        .values(status=CANCELLED, done_at=now, done_by=by[:64])
        .execution_options(synchronize_session=False)
    )
    return res.rowcount or 0


# --- the desk hook ------------------------------------------------------------------------


def schedule_reminders(
    session: Session,
    case: Case,
    now: datetime,
    *,
    settings: Settings,
    calendar: WorkingCalendar,
) -> None:
    """Bring the case's reminders in line with its state, inside the step's transaction.

    Runs after every change (intake and each step): creates the reminders of deadlines
    seen for the first time (their "half" point counts from now — the receipt or the
    start of the rework loop), cancels pending ones whose deadline is done, replaced or
    whose case closed, and keeps one pending severity-A repeat while it applies. A
    failure here is logged and rolled back to a savepoint: a reminder problem must never
    stop someone from taking a step of the procedure."""
    try:
        with session.begin_nested():
            _sync(session, case, now, settings, calendar)
    except Exception:
        log.exception("could not schedule reminders for case %s", case.id)


def _sync(
    session: Session, case: Case, now: datetime, settings: Settings, calendar: WorkingCalendar
) -> None:
    rows = session.execute(
        select(Reminder.id, Reminder.key, Reminder.kind, Reminder.status, Reminder.data).where(
            Reminder.case_id == case.id
        )
    ).all()
    planned_prefixes = {r.key.rsplit(":", 1)[0] for r in rows if r.kind in DEADLINE_KINDS}
    live: set[str] = set()
    new: list[Planned] = []
    for name, due in open_deadlines(case):
        prefix = deadline_prefix(case, name, due)
        live.add(prefix)
        if prefix in planned_prefixes:
            continue
        new.extend(
            p
            for p in plan_deadline(case, name, due, now, settings, calendar)
            if p.kind != NUDGE or p.due_at > now
        )
    stale = [
        r.id
        for r in rows
        if r.status == PENDING and r.kind in DEADLINE_KINDS and r.key.rsplit(":", 1)[0] not in live
    ]
    sev = [r for r in rows if r.kind == SEVERITY_A]
    if severity_repeats(case):
        if not any(r.status == PENDING for r in sev):
            since = min(
                (date.fromisoformat(r.data["since"]) for r in sev if (r.data or {}).get("since")),
                default=now.astimezone(calendar.tz).date(),
            )
            new.append(plan_severity_repeat(case, now, since, calendar))
    else:
        stale.extend(r.id for r in sev if r.status == PENDING)
    _cancel(session, stale, now, "workflow")
    _insert(session, new, now)


class ReminderHook:
    """`schedule_reminders` bound to the desk's settings and calendar, in the shape of a
    desk hook `hook(session, case, now)`; a class so installing twice can be detected."""

    def __init__(self, settings: Settings, calendar: WorkingCalendar) -> None:
        self.settings = settings
        self.calendar = calendar

    def __call__(self, session: Session, case: Case, now: datetime) -> None:
        schedule_reminders(session, case, now, settings=self.settings, calendar=self.calendar)


def install_hook(desk: DeskBase) -> ReminderHook:
    """Register the hook on the desk once (every process that changes cases needs it,
    whether or not it runs the ticks)."""
    for hook in desk.scheduler_hooks:
        if isinstance(hook, ReminderHook):
            return hook
    hook = ReminderHook(desk.settings, desk.calendar)
    desk.scheduler_hooks.append(hook)
    return hook


# --- the tick -----------------------------------------------------------------------------


@dataclass
class TickResult:
    """What one tick did, for logs and tests."""

    sent: int = 0  # reminders claimed by this tick and turned into outbox rows
    cancelled: int = 0  # no longer applicable when their moment came
    lost: int = 0  # claimed by another process first
    failed: int = 0  # raised; left pending for the next tick
    outbox: int = 0  # outbox rows queued
    kinds: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str) -> None:
        self.kinds[kind] = self.kinds.get(kind, 0) + 1

    def merge(self, other: TickResult) -> None:
        self.sent += other.sent
        self.cancelled += other.cancelled
        self.lost += other.lost
        self.failed += other.failed
        self.outbox += other.outbox
        for kind, n in other.kinds.items():
            self.kinds[kind] = self.kinds.get(kind, 0) + n


def worker_id() -> str:
    """Who claimed a reminder (host:pid), so the row says which process sent it."""
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


def run_tick(
    desk: DeskBase, now: datetime, *, worker: str | None = None, batch: int = 200
) -> TickResult:
    """Fire every pending reminder due at `now`, each exactly once.

    One transaction per case: the case row is locked first (the same order a step takes,
    so a tick and a step never deadlock), the state is re-checked, each reminder is
    claimed with a conditional UPDATE and its outbox rows are queued before commit."""
    worker = worker or worker_id()
    result = TickResult()
    try:
        ensure_digests(desk, now)
    except Exception:
        log.exception("could not plan the digests")
    seen: set[int] = set()
    while True:
        with desk.readers() as s:
            due = s.execute(
                select(Reminder.id, Reminder.case_id)
                .where(Reminder.status == PENDING, Reminder.due_at <= now)
                .order_by(Reminder.due_at, Reminder.id)
                .limit(batch)
            ).all()
        fresh = [r for r in due if r.id not in seen]
        if not fresh:
            break
        seen.update(r.id for r in fresh)
        groups: dict[int | None, list[int]] = {}
        for r in fresh:
            groups.setdefault(r.case_id, []).append(r.id)
        digests = groups.pop(None, [])
        for rid in digests:
            try:
                _fire_digest(desk, rid, now, worker, result)
            except Exception:
                result.failed += 1
                log.exception("digest reminder %s failed; it stays pending", rid)
        if groups:
            _fire_cases_batched(desk, groups, now, worker, result)
        if len(due) < batch:
            break
    if result.sent or result.cancelled or result.failed:
        log.info("tick at %s: %s", now.isoformat(), result)
    return result


def _claim(s: Session, rid: int, now: datetime, worker: str, status: str = SENT) -> bool:
    res = s.execute(
        update(Reminder)
        .where(Reminder.id == rid, Reminder.status == PENDING)
        .values(status=status, done_at=now, done_by=worker)
        .execution_options(synchronize_session=False)
    )
    return res.rowcount == 1


def still_applies(case: Case | None, kind: str, data: dict[str, Any]) -> bool:
    """Re-check at claim time: the deadline may be done, replaced, or the case closed."""
    if case is None or not case.is_open:
        return False
    if kind in DEADLINE_KINDS:
        name = data.get("deadline")
        due, done = (
            (case.ca_due_at, case.ca_done_at) if name == "ca" else (case.pa_due_at, case.pa_done_at)
        )
        return (
            done is None
            and due is not None
            and _stamp(due) == _stamp(datetime.fromisoformat(data["due"]))
            and case.rework_count == data.get("loop")
        )
    if kind == SEVERITY_A:
        return severity_repeats(case)
    return True


def superseded(rows: list[Any]) -> set[int]:
    """The reminders that a later one due at the same tick makes pointless.

    After downtime (a long holiday, a stopped bot) every point of a deadline's ladder is
    due at once. Only the latest of each kind is sent for a case's deadline: one nudge
    (and none when the deadline is overdue too), one escalation; the overdue notice
    itself is sent once anyway. The others are cancelled, not sent late."""
    latest: dict[tuple[Any, ...], Any] = {}
    late: set[tuple[Any, ...]] = set()
    for r in rows:
        if r.kind not in DEADLINE_KINDS:
            continue
        data = dict(r.data or {})
        deadline = (r.case_id, data.get("deadline"), data.get("loop"))
        if r.kind in (OVERDUE, ESCALATION):
            late.add(deadline)
        key = (r.kind, *deadline)
        if key not in latest or (r.due_at, r.id) > (latest[key].due_at, latest[key].id):
            latest[key] = r
    out: set[int] = set()
    for r in rows:
        if r.kind not in DEADLINE_KINDS:
            continue
        data = dict(r.data or {})
        deadline = (r.case_id, data.get("deadline"), data.get("loop"))
        if (r.kind == NUDGE and deadline in late) or latest[(r.kind, *deadline)].id != r.id:
            out.add(r.id)
    return out


def _fire_cases_batched(
    desk: DeskBase,
    groups: dict[Any, list[int]],
    now: datetime,
    worker: str,
    result: TickResult,
) -> None:
    """Fire a batch of cases' reminders in one transaction (cases locked in id order, as a
    step locks its one case, so the two cannot deadlock); if anything in the batch fails,
    fall back to one transaction per case so one bad case holds up no other."""
    trial = TickResult()
    try:
        with desk.transaction() as s:
            cases = {
                c.id: c
                for c in s.scalars(
                    select(Case)
                    .where(Case.id.in_(list(groups)))
                    .order_by(Case.id)
                    .with_for_update()
                    .execution_options(populate_existing=True)
                )
            }
            all_ids = [rid for ids in groups.values() for rid in ids]
            _fire_all_locked(desk, s, cases, all_ids, now, worker, trial)
    except Exception:
        log.exception("batched tick failed; retrying case by case")
    else:
        result.merge(trial)
        return
    for case_id, ids in groups.items():
        try:
            _fire_case(desk, case_id, ids, now, worker, result)
        except Exception:
            result.failed += len(ids)
            log.exception("reminders %s of case %s failed; they stay pending", ids, case_id)


def _fire_case(
    desk: DeskBase, case_id: int, ids: list[int], now: datetime, worker: str, result: TickResult
) -> None:
    with desk.transaction() as s:
        case = s.get(Case, case_id, with_for_update=True, populate_existing=True)
        _fire_locked(desk, s, case, ids, now, worker, result)


def _claim_many(s: Session, ids: list[int], now: datetime, worker: str, status: str) -> set[int]:
    """Claim (or cancel) reminders in one statement; returns the ids this call took —
    the others were taken by another process first."""
    if not ids:
        return set()
    res = s.execute(
        update(Reminder)
        .where(Reminder.id.in_(ids), Reminder.status == PENDING)
        .values(status=status, done_at=now, done_by=worker)
        .returning(Reminder.id)
        .execution_options(synchronize_session=False)
    )
    return set(res.scalars())


def _fire_locked(
    desk: DeskBase,
    s: Session,
    case: Case | None,
    ids: list[int],
    now: datetime,
    worker: str,
    result: TickResult,
) -> None:
    """The reminders of one case whose row this transaction has locked."""
    _fire_all_locked(desk, s, {case.id: case} if case else {}, ids, now, worker, result)


def _fire_all_locked(
    desk: DeskBase,
    s: Session,
    cases: dict[int, Case],
    ids: list[int],
    now: datetime,
    worker: str,
    result: TickResult,
) -> None:
    """Reminders of cases whose rows this transaction has locked: re-checked against the
    case, then claimed or cancelled with one UPDATE each, then turned into outbox rows."""
    # every due reminder of these cases, not only this batch's: a batch cut by due time
    # would otherwise send the nudges that the overdue notice in the next batch supersedes
    rows = s.execute(
        select(Reminder.id, Reminder.case_id, Reminder.kind, Reminder.due_at, Reminder.data)
        .where(
            Reminder.status == PENDING,
            or_(
                Reminder.id.in_(ids),
                and_(Reminder.case_id.in_(list(cases)), Reminder.due_at <= now),
            ),
        )
        .order_by(Reminder.case_id, Reminder.due_at, Reminder.id)
    ).all()
    result.lost += len(set(ids) - {r.id for r in rows})
    applies = {r.id: still_applies(cases.get(r.case_id), r.kind, dict(r.data or {})) for r in rows}
    for rid in superseded([r for r in rows if applies[r.id]]):
        applies[rid] = False
    cancelled = _claim_many(s, [i for i, ok in applies.items() if not ok], now, worker, CANCELLED)
    sent = _claim_many(s, [i for i, ok in applies.items() if ok], now, worker, SENT)
    result.cancelled += len(cancelled)
    result.lost += len(applies) - len(cancelled) - len(sent)
    # reminders of one moment for deadlines due at the same instant (a customer
    # deadline makes both replies due together) become one message, not two
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for r in rows:
        if r.id not in sent:
            continue
        data = dict(r.data or {})
        result.sent += 1
        result.count(r.kind)
        key = (r.case_id, r.kind, data.get("point"), data.get("days"), data.get("due"), r.due_at)
        groups.setdefault(key, []).append((r.id, data))
    for (case_id, kind, _point, _days, _due, due_at), members in groups.items():
        result.outbox += _effects(desk, s, cases[case_id], kind, members, due_at, now)


def _effects(
    desk: DeskBase,
    s: Session,
    case: Case,
    kind: str,
    members: list[tuple[int, dict[str, Any]]],
    due_at: datetime,
    now: datetime,
) -> int:
    """Queue the outbox rows of one fired reminder (or of a group firing together)."""
    ids = [rid for rid, _ in members]
    data = members[0][1]
    if kind == SEVERITY_A:
        for channel in desk.alert_channels():
            effects.channel_alert(
                s,
                case,
                now,
                kind="reminder_alert",
                channel=channel,
                alert="severity_a",
                repeat=data.get("day"),
                reminders=ids,
            )
        since = date.fromisoformat(data["since"]) if data.get("since") else due_at.date()
        _insert(s, [plan_severity_repeat(case, max(due_at, now), since, desk.calendar)], now)
        return len(desk.alert_channels())
    names = sorted({d["deadline"] for _, d in members})
    info = {
        "reminders": ids,
        "deadlines": names,
        "due_at": data["due"],
        "loop": data.get("loop", 0),
    }
    label = deadline_label(names)
    targets = owners(case)
    n = 0
    if kind == NUDGE:
        effects.enqueue(
            s,
            kind="nudge_thread",
            now=now,
            case=case,
            point=data.get("point"),
            mention=targets,
            **info,
        )
        n += 1
        if targets:
            effects.enqueue(
                s, kind="nudge_dm", now=now, case=case, point=data.get("point"), to=targets, **info
            )
            n += 1
    elif kind == OVERDUE:
        effects.enqueue(s, kind="overdue_thread", now=now, case=case, mention=targets, **info)
        channel = desk.settings.management_channel
        effects.channel_alert(
            s,
            case,
            now,
            kind="reminder_alert",
            channel=channel,
            alert="overdue",
            deadline_label=label,
            **info,
        )
        n += 2
    elif kind == ESCALATION:
        for channel in desk.alert_channels():
            effects.channel_alert(
                s,
                case,
                now,
                kind="reminder_alert",
                channel=channel,
                alert="escalation",
                deadline_label=label,
                days=data.get("days"),
                **info,
            )
            n += 1
    return n


def deadline_label(names: list[str]) -> str:
    """ "Corrective-action reply", or both replies when they fall due together."""
    if len(names) > 1:
        return "Corrective- and preventive-action replies"
    return DEADLINES.get(names[0], names[0]).capitalize() if names else "Reply"


# --- the daily digest -----------------------------------------------------------------------


def _digest_plans(desk: DeskBase, after: datetime, channels: list[str]) -> list[Planned]:
    at = next_digest(desk.settings, desk.calendar, after)
    on = at.astimezone(desk.calendar.tz).date().isoformat()
    return [
        Planned(f"digest:{ch}:{on}", DIGEST, at, {"channel": ch, "date": on}) for ch in channels
    ]


def ensure_digests(desk: DeskBase, now: datetime) -> int:
    """Make sure each digest channel has its next digest planned (idempotent by key).

    Normally the digest that fires plans the next one; this covers the first start and a
    change of channels. Reads first so an idle tick does not write."""
    planned = _digest_plans(desk, now, digest_channels(desk.settings))
    with desk.readers() as s:
        have = set(
            s.scalars(select(Reminder.key).where(Reminder.key.in_([p.key for p in planned])))
        )
    missing = [p for p in planned if p.key not in have]
    if not missing:
        return 0
    with desk.transaction() as s:
        return _insert(s, missing, now)


def _fire_digest(desk: DeskBase, rid: int, now: datetime, worker: str, result: TickResult) -> None:
    """One digest post for the channel, and the next working day's digest planned in the
    same transaction; a quiet morning posts nothing rather than an empty list."""
    with desk.transaction() as s:
        row = s.execute(
            select(Reminder.kind, Reminder.due_at, Reminder.data).where(Reminder.id == rid)
        ).first()
        if row is None or not _claim(s, rid, now, worker):
            result.lost += 1
            return
        result.sent += 1
        result.count(row.kind)
        if row.kind != DIGEST:
            return
        channel = (row.data or {}).get("channel") or desk.settings.complaints_channel
        after = max(row.due_at, now) + timedelta(seconds=1)
        _insert(s, _digest_plans(desk, after, [channel]), now)
        payload = digest_payload(s, desk.calendar, now)
        if not payload["overdue_total"] and not payload["due_today_total"]:
            return
        effects.enqueue(
            s,
            kind="digest",
            now=now,
            lane=f"channel:{channel}",
            channel=channel,
            reminders=[rid],
            **payload,
        )
        result.outbox += 1


def digest_payload(s: Session, calendar: WorkingCalendar, now: datetime) -> dict[str, Any]:
    """Open cases whose reply is overdue or due before the end of today, one line each.

    Reads only the columns it shows (no timelines), and only open cases; the payload
    keeps at most DIGEST_ITEMS per list plus the totals, for an "and N more" line."""
    today = now.astimezone(calendar.tz).date()
    end = datetime.combine(today + timedelta(days=1), time(0), tzinfo=calendar.tz)
    q = select(
        Case.id,
        Case.ref,
        Case.customer,
        Case.severity,
        Case.status,
        Case.ca_due_at,
        Case.ca_done_at,
        Case.pa_due_at,
        Case.pa_done_at,
    ).where(
        Case.is_open.is_(True),
        or_(
            and_(Case.ca_done_at.is_(None), Case.ca_due_at < end),
            and_(Case.pa_done_at.is_(None), Case.pa_due_at < end),
        ),
    )
    overdue: list[dict[str, Any]] = []
    due_today: list[dict[str, Any]] = []
    for c in s.execute(q):
        running = [
            (d, n)
            for d, done, n in ((c.ca_due_at, c.ca_done_at, "ca"), (c.pa_due_at, c.pa_done_at, "pa"))
            if d is not None and done is None and d < end
        ]
        due, name = min(running)
        item = {
            "id": c.id,
            "ref": c.ref,
            "customer": c.customer[:200],
            "severity": c.severity,
            "status": _label(c.status),
            "deadline": name,
            "due_at": due.isoformat(),
        }
        (overdue if due <= now else due_today).append(item)
    overdue.sort(key=lambda i: (i["due_at"], i["ref"]))
    due_today.sort(key=lambda i: (i["due_at"], i["ref"]))
    return {
        "date": today.isoformat(),
        "as_of": now.isoformat(),
        "overdue": overdue[:DIGEST_ITEMS],
        "overdue_total": len(overdue),
        "due_today": due_today[:DIGEST_ITEMS],
        "due_today_total": len(due_today),
    }


def _label(status: str) -> str:
    try:
        return STATUS_LABEL[Status(status)]
    except ValueError:
        return status
