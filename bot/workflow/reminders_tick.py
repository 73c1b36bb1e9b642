"""The reminder tick and the morning digest: due reminder rows become outbox rows.

Why claim and enqueue together: a tick claims a row with a conditional UPDATE
(`status='pending'` → `'sent'`) and writes the outbox rows in that same transaction, so a
reminder produces its Slack effects exactly once — not twice after a crash, not twice
with two bot processes ticking the same database. Catch-up after downtime is simply the
first tick: everything due and still pending fires once.

The rows are planned by bot/workflow/reminders_plan.py.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from bot.i18n import N_
from bot.models import DEADLINE_COLUMNS, Case, Reminder, Status
from bot.workflow import clocks, effects, turns
from bot.workflow.calendar import WorkingCalendar
from bot.workflow.desk import DeskBase
from bot.workflow.reminders_plan import (
    CANCELLED,
    DEADLINE_KINDS,
    DIGEST,
    ESCALATION,
    NUDGE,
    OVERDUE,
    PENDING,
    SENT,
    SEVERITY_A,
    Planned,
    _insert,
    _stamp,
    digest_channels,
    next_digest,
    plan_severity_repeat,
    severity_repeats,
    still_pending,
)
from bot.workflow.steps import STATUS_LABEL
from bot.workflow.view import owners

log = logging.getLogger(__name__)

# a digest carries at most this many cases per list; the rest are counted ("and N more")
DIGEST_ITEMS = 100


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
        due = clocks.clock_due(case, str(data.get("deadline")))
        return (
            due is not None
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
        .where(Reminder.id.in_(ids), still_pending())
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
            still_pending(),
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
        name = data.get("deadline")
        family = "reply" if name in clocks.REPLIES else name
        key = (
            r.case_id,
            r.kind,
            family,
            data.get("point"),
            data.get("days"),
            data.get("due"),
            r.due_at,
        )
        groups.setdefault(key, []).append((r.id, data))
    for (case_id, kind, family, _point, _days, _due, due_at), members in groups.items():
        # the owners' Home tabs show it overdue now (not the card: a chat.update per case
        # would double a holiday's burst in the paced complaints channel)
        if kind == OVERDUE:
            names = {str(d.get("deadline")) for _, d in members}
            owed = [t for n in sorted(names) for t in clocks.clock_owners(cases[case_id], n)]
            turns.refresh_homes(s, owed, now, desk.settings.home_live_hours)
        if kind in DEADLINE_KINDS and family != "reply":
            result.outbox += _clock_effects(desk, s, cases[case_id], kind, members, now)
            continue
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


def _clock_effects(
    desk: DeskBase,
    s: Session,
    case: Case,
    kind: str,
    members: list[tuple[int, dict[str, Any]]],
    now: datetime,
) -> int:
    """The outbox rows of a step clock's reminder (bot/workflow/clocks.py): a nudge goes
    to its owners in the thread and by DM; when it passes, its owners and whoever the
    clock tells (Technical Quality for a corrective action's date) are told in the thread
    and by DM, and management in its channel when the clock alerts; the escalation
    ladder follows only those clocks."""
    ids = [rid for rid, _ in members]
    data = members[0][1]
    name = str(data["deadline"])
    spec = clocks.spec(name)
    info = {
        "reminders": ids,
        "deadlines": [name],
        "deadline": name,
        "due_at": data["due"],
        "loop": data.get("loop", 0),
    }
    targets = clocks.clock_owners(case, name)
    n = 0
    if kind in (NUDGE, OVERDUE):
        told = list(dict.fromkeys(targets + list(spec.told))) if kind == OVERDUE else targets
        moment = {"point": data.get("point"), "moment": kind}
        effects.enqueue(s, kind="clock_thread", now=now, case=case, mention=told, **moment, **info)
        n += 1
        if told:
            effects.enqueue(s, kind="clock_dm", now=now, case=case, to=told, **moment, **info)
            n += 1
    if kind == OVERDUE and spec.alert:
        effects.channel_alert(
            s,
            case,
            now,
            kind="reminder_alert",
            channel=desk.settings.management_channel,
            alert="overdue",
            deadline_label=spec.label,
            **info,
        )
        n += 1
    elif kind == ESCALATION and spec.alert:
        for channel in desk.alert_channels():
            effects.channel_alert(
                s,
                case,
                now,
                kind="reminder_alert",
                channel=channel,
                alert="escalation",
                deadline_label=spec.label,
                days=data.get("days"),
                **info,
            )
            n += 1
    return n


def deadline_label(names: list[str]) -> str:
    """ "Corrective-action reply", or both replies when they fall due together."""
    if len(names) > 1:
        return N_("Corrective- and preventive-action replies")
    # the clocks' own labels ("Corrective-action reply"): msgids the catalog holds
    return clocks.spec(names[0]).label if names and names[0] in ("ca", "pa") else N_("Reply")


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
        payload = digest_payload(
            s, desk.calendar, now, step_clocks=desk.settings.step_clock_reminders
        )
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


def digest_payload(
    s: Session, calendar: WorkingCalendar, now: datetime, *, step_clocks: bool = False
) -> dict[str, Any]:
    """Open cases with a deadline overdue or due before the end of today, one line each:
    the replies, and with `step_clocks` every step's clock (bot/workflow/clocks.py), so
    an approval or a customer's answer running late is in the digest too.

    Reads only the columns it shows (no timelines), and only open cases; the payload
    keeps at most DIGEST_ITEMS per list plus the totals, for an "and N more" line."""
    today = now.astimezone(calendar.tz).date()
    end = datetime.combine(today + timedelta(days=1), time(0), tzinfo=calendar.tz)
    due_soon = [
        and_(Case.ca_done_at.is_(None), Case.ca_due_at < end),
        and_(Case.pa_done_at.is_(None), Case.pa_due_at < end),
    ]
    if step_clocks:
        due_soon += [Case.clock_due_at < end, Case.action_due_at < end]
    q = select(
        Case.id,
        Case.ref,
        Case.customer,
        Case.severity,
        Case.status,
        Case.step,
        *DEADLINE_COLUMNS,
    ).where(Case.is_open.is_(True), or_(*due_soon))
    overdue: list[dict[str, Any]] = []
    due_today: list[dict[str, Any]] = []
    for c in s.execute(q):
        running = [
            (d, n)
            for d, done, n in ((c.ca_due_at, c.ca_done_at, "ca"), (c.pa_due_at, c.pa_done_at, "pa"))
            if d is not None and done is None and d < end
        ]
        if step_clocks:
            current = c.clock_status == c.status and c.clock_step == c.step
            if c.clock_name and c.clock_due_at is not None and current and c.clock_due_at < end:
                running.append((c.clock_due_at, c.clock_name))
            in_action = Status(c.status) in clocks.ACTION_STATES
            if c.action_due_at is not None and in_action and c.action_due_at < end:
                running.append((c.action_due_at, "action"))
        if not running:
            continue
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
        if name not in clocks.REPLIES:
            item["deadline_label"] = clocks.spec(name).label
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
