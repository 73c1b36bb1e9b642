"""The desk: every change to a case goes through here, one transaction each, with its
audit event and its outbound effects in that same transaction."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.i18n import _
from bot.models import Case, CaseEvent, ProcessedRequest, RefCounter, Status, utcnow
from bot.models.base import read_sessions
from bot.workflow import clocks, effects
from bot.workflow.calendar import WorkingCalendar, WorkingHours
from bot.workflow.errors import NotAllowed, NotFound, WrongState
from bot.workflow.evidence import record_files
from bot.workflow.inbox import RequestInbox
from bot.workflow.intake import Complaint, case_columns, filed_event, format_ref
from bot.workflow.roles import Actor, Role

log = logging.getLogger(__name__)

# the transaction this context is in, if any, with its thread: a desk transaction opened
# inside another joins it (the inbox worker takes a request, does it and records it done
# in one). A context copied into another thread (a listener's) never joins: a session is
# not shared between threads.
_OPEN: ContextVar[tuple[int, Session] | None] = ContextVar("desk_transaction", default=None)


def make_calendar(settings: Settings) -> WorkingCalendar:
    return WorkingCalendar(
        country=settings.holiday_country,
        timezone=settings.timezone,
        hours=WorkingHours.parse(settings.working_hours),
        extra_holidays=settings.extra_holidays,
        extra_workdays=settings.extra_workdays,
    )


def _claim_key(insert_: Any) -> Any:
    return (
        insert_(ProcessedRequest.__table__)
        .values(key=bindparam("key"), at=bindparam("at"), result="")
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(ProcessedRequest.key)  # psycopg's rowcount is -1 here
    )


# built once per dialect (both have ON CONFLICT DO NOTHING; building costs as much as
# running it on SQLite)
_CLAIM_KEY = {"sqlite": _claim_key(sqlite_insert), "postgresql": _claim_key(pg_insert)}
# `Session.info` key: the ids of the cases filed in this transaction (their reminders and
# Home refreshes are planned as for a case entering its first state; nothing of theirs can
# be in the database before it)
NEW_CASES = "cases_filed"
_RT = RefCounter.__table__
_BUMP_REF = (
    _RT.update()
    .where(_RT.c.year == bindparam("yr"))
    .values(last=_RT.c.last + 1)
    .returning(_RT.c.last)
)
_KEY_RESULT = (
    update(ProcessedRequest.__table__)
    .where(ProcessedRequest.key == bindparam("the_key"))
    .values(result=bindparam("result"))
)


class DeskBase:
    """Transactions, loading, audit events and deadlines shared by every step."""

    def __init__(
        self,
        session_factory: sessionmaker,
        settings: Settings,
        calendar: WorkingCalendar | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.sessions = session_factory
        self.readers = read_sessions(session_factory)
        # a case or an event by its key, for a delivery: no transaction on PostgreSQL
        self._lookups = read_sessions(session_factory, autocommit=True)
        self.clock = clock or utcnow
        self.settings = settings
        self.calendar = calendar or make_calendar(settings)
        self.tz = ZoneInfo(settings.timezone)
        self.scheduler_hooks: list[Callable[[Session, Case, datetime], None]] = []
        # requests Slack was told are accepted, done after the ack (`InboxWorker`, same module)
        self.inbox = RequestInbox(self.sessions)

    def now(self) -> datetime:
        """The current time; injected so tests move time instead of sleeping."""
        return self.clock()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction; opened inside another in the same context, it is that one
        (committed or rolled back with it)."""
        joined = _OPEN.get()
        if joined is not None and joined[0] == threading.get_ident():
            yield joined[1]
            return
        with self.sessions() as s, s.begin():
            token = _OPEN.set((threading.get_ident(), s))
            try:
                yield s
            finally:
                _OPEN.reset(token)

    # -- reading -------------------------------------------------------------
    def get_case(self, case_id: int, *, full: bool = True) -> Case:
        """The case, detached; `full` also loads its timeline, reports and lot checks
        (three more queries: the card and most deliveries do not need them)."""
        with self._lookups() as s:
            case = s.get(Case, case_id)
            if case is None:
                raise NotFound(_("There is no case #{id}.", id=case_id))
            if full:
                case.load_history()
            return case

    def get_event(self, event_id: int) -> CaseEvent | None:
        with self._lookups() as s:
            return s.get(CaseEvent, event_id)

    def find_case(self, ref: str) -> Case:
        with self.readers() as s:
            case = s.scalar(select(Case).where(Case.ref == ref.strip().upper()))
            if case is None:
                raise NotFound(_("There is no case {ref}.", ref=ref.strip()[:30]))
            case.load_history()
            return case

    def open_cases_for(self, user_id: str, limit: int = 30) -> list[Case]:
        """The open cases the caller reported (TQ and management use `open_cases`)."""
        with self.readers() as s:
            q = select(Case).where(Case.is_open.is_(True), Case.reporter_id == user_id)
            return list(s.scalars(q.order_by(Case.id.desc()).limit(limit)))

    def open_cases(self, limit: int = 30) -> list[Case]:
        with self.readers() as s:
            q = select(Case).where(Case.is_open.is_(True)).order_by(Case.id.desc()).limit(limit)
            return list(s.scalars(q))

    # -- writing helpers -----------------------------------------------------
    def _lock(self, s: Session, case_id: int) -> Case:
        case = s.get(Case, case_id, with_for_update=True, populate_existing=True)
        if case is None:
            raise NotFound(_("There is no case #{id}.", id=case_id))
        return case

    def _event(
        self,
        s: Session,
        case: Case,
        actor: Actor,
        kind: str,
        data: dict[str, Any],
        now: datetime,
        *,
        step: int | None = None,
    ) -> CaseEvent:
        ev = CaseEvent(
            case_id=case.id, at=now, actor=actor.user_id, kind=kind, data=data, step=step
        )
        s.add(ev)
        s.flush()
        return ev

    def claim_request(self, s: Session, key: str, now: datetime) -> bool:
        """Record a Slack request identity in this transaction; False if already acted on.
        One INSERT … ON CONFLICT DO NOTHING: no savepoint and no ORM object, which cost
        three statements and a flush per filing and per step (issue 10, 7(b))."""
        claim = _CLAIM_KEY[s.get_bind().dialect.name]
        return s.execute(claim, {"key": key[:255], "at": now}).first() is not None

    def next_ref(self, s: Session, year: int) -> str:
        """Sequential per year and unique under concurrency: an atomic increment of the
        year's counter row (created on first use) under the row's write lock."""
        bumped = s.execute(_BUMP_REF, {"yr": year}).scalar()
        if bumped is None:  # first case of the year
            try:
                with s.begin_nested():
                    s.execute(insert(RefCounter).values(year=year, last=1))
                bumped = 1
            except IntegrityError:  # another process created the row first
                bumped = s.execute(_BUMP_REF, {"yr": year}).scalar_one()
        return format_ref(year, int(bumped))

    # -- deadlines -------------------------------------------------------------
    def _end_of_day(self, d: Any) -> datetime:
        hours = WorkingHours.parse(self.settings.working_hours)
        return datetime.combine(d, hours.end, tzinfo=self.tz)

    def set_reply_deadlines(self, case: Case, start: datetime, *, rework: bool = False) -> None:
        """Corrective reply within 1 working day, preventive within 3 (PROCEDURE.md,
        Deadlines); the customer's own deadline governs when given; urgent cases get a
        few working hours; a rework loop gets REWORK_WORKING_DAYS for each report."""
        if rework:
            days = self.settings.rework_working_days
            ca = self.calendar.add_working_days(start, days)
            pa = self.calendar.add_working_days(start, days + 2)
            # issue 12: the customer's own deadline still binds after a rework loop
            # (unless it has already passed: then the loop's dates stand)
            if case.customer_deadline is not None:
                theirs = self._end_of_day(case.customer_deadline)
                if theirs > start:
                    ca, pa = min(ca, theirs), min(pa, theirs)
        else:
            ca = self.calendar.add_working_days(start, 1)
            pa = self.calendar.add_working_days(start, 3)
            if case.customer_deadline is not None:
                ca = pa = self._end_of_day(case.customer_deadline)
            if case.urgent:
                quick = self.calendar.add_working_hours(
                    self.calendar.next_working_moment(start), self.settings.urgent_reply_hours
                )
                ca = min(ca, quick)
                pa = max(min(pa, self.calendar.add_working_days(start, 1)), ca)
        case.ca_due_at, case.pa_due_at = ca.astimezone(UTC), pa.astimezone(UTC)
        case.ca_done_at = case.pa_done_at = None

    def _after_change(self, s: Session, case: Case, now: datetime) -> None:
        for hook in self.scheduler_hooks:
            hook(s, case, now)

    # -- intake (flow step 1) --------------------------------------------------
    def file_complaint(
        self, complaint: Complaint, actor: Actor, now: datetime, *, request_key: str | None = None
    ) -> Case:
        """Store a new case and queue its card (which tells Technical Quality and the reporter).

        `request_key` (the modal's view id) makes a resubmitted or retried view a no-op:
        the existing case is returned instead of a second one."""
        self.check_can_file(actor)
        with self.transaction() as s:
            if request_key and not self.claim_request(s, request_key, now):
                done = s.get(ProcessedRequest, request_key[:255])
                if done is not None and done.result.isdigit():
                    return self._reload(s, int(done.result))
                raise WrongState(_("This form was already submitted."))
            # The year's counter row is locked from its increment to the commit. On
            # PostgreSQL it is taken last, so that concurrent filings do not queue behind
            # each other's whole transaction (a unique placeholder until then); SQLite
            # serialises whole write transactions anyway, so there the reference goes in
            # with the insert (one UPDATE fewer).
            year = now.astimezone(self.tz).year
            ref_first = s.get_bind().dialect.name == "sqlite"
            case = Case(
                ref=self.next_ref(s, year) if ref_first else f"new-{uuid4().hex[:16]}",
                status=Status.RECEIVED,
                is_open=True,
                step=1,
                **case_columns(complaint),
                reporter_id=actor.user_id,
                received_at=now,
                created_at=now,
                channel_id=self.settings.complaints_channel,
                units=[],
                responsibility_reason="",
                rework_count=0,
                clean_lots=0,
            )
            self.set_reply_deadlines(case, now)
            # issue 14 hook: a likely earlier case of the same problem, shown on the card;
            # looked for before the insert, so that the hint is stored with it
            from bot.workflow.recurrence import note_recurrence

            note_recurrence(s, case, self.tz)
            # the clock of its first state, also stored with the insert (the reminders hook
            # finds it set, and knows the case is new from NEW_CASES)
            clocks.sync_clock(case, now, self.settings, self.calendar)
            s.add(case)
            s.flush()
            s.info.setdefault(NEW_CASES, set()).add(case.id)
            data = {**filed_event(complaint), "request": request_key}
            ev = self._event(s, case, actor, "filed", data, now, step=1)
            record_files(s, case, case.evidence, actor.user_id, now, "intake")
            # The card is the filing's one message: it @-mentions Technical Quality (the
            # next owners) and the reporter ("Reported by"), and shows what was filed, so
            # there is no first thread post and no confirmation DM (issue 10, 7(d)).
            effects.enqueue(s, kind="card_post", now=now, case=case)
            if actor.has(Role.QUALITY) and not actor.has(Role.MARKETING):
                # issue 12(3d), procedure 5.1.2: Technical Quality heard it first, so
                # Marketing (the customer's contact window) is told at once
                effects.direct_message(
                    s, case, now, to=["role:marketing"], message="quality_filed", event_id=ev.id
                )
            if case.urgent:
                for channel in self.alert_channels():
                    effects.channel_alert(s, case, now, channel=channel, alert="urgent")
            self._after_change(s, case, now)
            if request_key:
                s.execute(_KEY_RESULT, {"the_key": request_key[:255], "result": str(case.id)})
            if not ref_first:  # see above
                case.ref = self.next_ref(s, year)
            s.flush()
            return self._reload(s, case.id)

    def check_can_file(self, actor: Actor) -> None:
        if not (actor.has(Role.MARKETING) or actor.has(Role.QUALITY)):
            raise NotAllowed(_("Only Marketing or Technical Quality can file a complaint."))

    def alert_channels(self) -> list[str]:
        out = [self.settings.management_channel, *self.settings.alert_channels]
        return list(dict.fromkeys(c for c in out if c))

    def _reload(self, s: Session, case_id: int) -> Case:
        """The case row as this transaction leaves it. Its timeline, reports and lot checks
        are not loaded (callers that show them use `get_case`)."""
        case = s.get(Case, case_id)
        assert case is not None
        s.flush()
        return case

    def count_cases(self) -> int:
        with self.readers() as s:
            return int(s.scalar(select(func.count(Case.id))) or 0)
