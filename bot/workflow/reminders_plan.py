"""Reminder planning: which reminder rows a case should have, written by a desk hook.

Why rows and not a scan: the moments a case needs attention (a nudge half-way to a
deadline, a few working hours before it, the deadline itself, the escalation ladder after
it, the daily severity-A repeat, the morning digest) are known as soon as a deadline is
set. Writing them down as `Reminder` rows in the same transaction as the change means a
tick (bot/workflow/reminders_tick.py) only reads the pending rows that are due — a range
scan on the (status, due_at) index — so its cost never grows with the number of cases,
and a reminder survives restarts.

Every step with an owner has a clock (bot/workflow/clocks.py); the hook starts the clock
of the state a case enters, plans its reminders like the reply deadlines', and tells the
people concerned (bot/workflow/turns.py).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.models import Case, Reminder
from bot.workflow import clocks, turns
from bot.workflow.calendar import WorkingCalendar
from bot.workflow.desk import NEW_CASES, DeskBase

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
    """The clocks still running on an open case (the reply deadlines and every step's
    clock, bot/workflow/clocks.py), as (name, due)."""
    return [(c.name, c.due_at) for c in clocks.running_clocks(case)]


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
    spec = clocks.spec(name) if name not in clocks.REPLIES else None
    points = settings.reminder_points if spec is None or spec.points else ()
    for point in points:
        at = point_time(point, start, due, calendar)
        if at is None or at <= start or at >= due or at in seen:
            continue
        seen.add(at)
        out.append(Planned(f"{prefix}:{point}", NUDGE, at, {**base, "point": point}, case.id))
    out.append(Planned(f"{prefix}:overdue", OVERDUE, due, dict(base), case.id))
    day_hours = _working_day_hours(calendar)
    ladder = settings.escalation_working_days if spec is None or spec.alert else ()
    for n in sorted(set(ladder)):
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


# built once per dialect: both have INSERT … ON CONFLICT DO NOTHING
_INSERT_NEW = {
    "postgresql": pg_insert(Reminder).on_conflict_do_nothing(index_elements=["key"]),
    "sqlite": sqlite_insert(Reminder).on_conflict_do_nothing(index_elements=["key"]),
}


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
    stmt = _INSERT_NEW.get(session.get_bind().dialect.name)
    if stmt is None:  # pragma: no cover - the bot supports SQLite and PostgreSQL
        keys = {r["key"] for r in rows}
        have = set(session.scalars(select(Reminder.key).where(Reminder.key.in_(keys))))
        rows = [r for r in rows if r["key"] not in have]
        if not rows:
            return 0
        stmt = insert(Reminder)
    # rows as parameters, not VALUES: the statement compiles once and is cached
    return session.connection().execute(stmt, rows).rowcount or 0


def still_pending() -> Any:
    """`status = 'pending'` for a query that names its reminders by id: written so that
    SQLite cannot answer it from the (status, due_at) index. Given `id IN (…) AND status =
    'pending'` it walked every pending reminder (44k at 100k cases: 5–250 ms a step, issue
    10) instead of looking the ids up; PostgreSQL's planner, with statistics, was not
    misled. An `id = ?` alone is looked up by key either way."""
    return func.coalesce(Reminder.status, "") == PENDING


_RT = Reminder.__table__
# pending reminders cancelled by id (built once: every step cancels the last state's)
_CANCEL = (
    _RT.update()
    .where(_RT.c.id.in_(bindparam("ids", expanding=True)), still_pending())
    .values(status=CANCELLED, done_at=bindparam("now"), done_by=bindparam("by"))
)


def _cancel(session: Session, ids: list[int], now: datetime, by: str) -> int:
    if not ids:
        return 0
    res = session.connection().execute(_CANCEL, {"ids": ids, "now": now, "by": by[:64]})
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

    Runs after every change (intake and each step): starts the clock of the state the
    case entered, creates the reminders of deadlines
    seen for the first time (their "half" point counts from now — the receipt or the
    start of the rework loop), cancels pending ones whose deadline is done, replaced or
    whose case closed, and keeps one pending severity-A repeat while it applies. A
    failure here is logged and rolled back to a savepoint: a reminder problem must never
    stop someone from taking a step of the procedure."""
    try:
        with session.begin_nested():
            moved = clocks.sync_clock(case, now, settings, calendar)
            filed_now = case.id in session.info.get(NEW_CASES, ())
            if filed_now:
                moved = (True, None)  # filed now: its clock went in with its insert
            _sync(session, case, now, settings, calendar, filed_now=filed_now)
            turns.tell_people(session, case, moved, now, settings.home_live_hours)
    except Exception:
        log.exception("could not schedule reminders for case %s", case.id)


# a case's reminders, as the planning reads them (built once: building it cost as much as
# running it)
_OF_CASE = select(Reminder.id, Reminder.key, Reminder.kind, Reminder.status, Reminder.data).where(
    Reminder.case_id == bindparam("case_id")
)


def _sync(
    session: Session,
    case: Case,
    now: datetime,
    settings: Settings,
    calendar: WorkingCalendar,
    *,
    filed_now: bool,
) -> None:
    # a case filed in this transaction has no reminders yet: not looked for
    rows = [] if filed_now else session.execute(_OF_CASE, {"case_id": case.id}).all()
    planned_prefixes = {r.key.rsplit(":", 1)[0] for r in rows if r.kind in DEADLINE_KINDS}
    live: set[str] = set()
    new: list[Planned] = []
    for name, due in open_deadlines(case):
        if name not in clocks.REPLIES and not settings.step_clock_reminders:
            continue
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
        clocks.configure(settings)

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
