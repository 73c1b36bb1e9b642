"""The complaint case aggregate: the case row, its reports, lot checks and audit trail."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from bot.models.base import Base, UTCDateTime, utcnow


class Status(enum.StrEnum):
    """Where a case stands in the procedure (PROCEDURE.md, flow steps 1–8)."""

    RECEIVED = "received"  # step 1: recorded, TQ to confirm the information is complete
    INFO_REQUESTED = "info_requested"  # step 1: reporter asked for more from the customer
    RESPONSIBILITY = "responsibility"  # step 2: TQ decides who is responsible
    CUSTOMER_NOTICE = "customer_notice"  # step 3: customer's fault; Marketing informs them
    SEVERITY = "severity"  # step 4: ours; TQ classifies A/B/C
    CONTAINMENT = "containment"  # step 4: stock investigation and interim containment
    CORRECTIVE = "corrective"  # step 4: corrective-action report due
    PREVENTIVE = "preventive"  # step 4: preventive-action report due
    APPROVAL = "approval"  # step 5: management reviews the improvement report
    APPROVED = "approved"  # step 5: TQ sends the approved report to the customer
    CUSTOMER_REVIEW = "customer_review"  # step 6: waiting for the customer's acceptance
    VERIFICATION = "verification"  # step 6–7: lot checks / evidence of effect
    CLOSED = "closed"  # step 8 (or step 3): closed and archived

    @property
    def is_open(self) -> bool:
        return self is not Status.CLOSED


class StatusType(TypeDecorator[Status]):
    """`Status` in Python, its value in a VARCHAR(32) column (as the schema always had)."""

    impl = String(32)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else Status(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> Status | None:
        return None if value is None else Status(value)


@dataclass(frozen=True, order=True)
class Deadline:
    """A running clock of a case: what is owed, and by when."""

    due_at: datetime
    what: str  # "corrective", "preventive", or a clock another module registers


# The clocks a case runs: each says its deadline, or None when it is not running.
# bot/workflow modules may register more (a clock per step, issue 12) with `CLOCKS.append`.
CLOCKS: list[Callable[[Case], Deadline | None]] = []


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("ref"),
        Index("ix_cases_open_status", "is_open", "status"),
        Index("ix_cases_reporter_open", "reporter_id", "is_open"),
        # every threaded message in the channel looks its case up by the card's ts
        Index("ix_cases_card", "channel_id", "card_ts"),
        # issue 14: KPIs by period, the recurrence search, linked complaints (0007)
        Index("ix_cases_received", "received_at"),
        Index("ix_cases_customer_product", "customer", "product"),
        # the recurrence search's newest cases of a customer, of a product (issue 10, 7(b))
        Index("ix_cases_customer_id", "customer", "id"),
        Index("ix_cases_product_id", "product", "id"),
        Index("ix_cases_linked", "linked_to_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(20))
    status: Mapped[Status] = mapped_column(StatusType(), default=Status.RECEIVED)
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    # bumped by every transition; buttons and modals carry it so a stale one fails politely
    step: Mapped[int] = mapped_column(Integer, default=1)

    # intake (flow step 1)
    customer: Mapped[str] = mapped_column(Text)
    customer_contact: Mapped[str] = mapped_column(Text, default="")
    product: Mapped[str] = mapped_column(Text)
    lots: Mapped[str] = mapped_column(Text, default="")
    quantity: Mapped[int] = mapped_column(Integer)
    received_via: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    customer_deadline: Mapped[date | None] = mapped_column(Date, nullable=True)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    notes: Mapped[str] = mapped_column(Text, default="")
    # issue 12(3e): "product" or "service" (None on cases filed before: a product)
    complaint_kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # issue 12(3d), procedure 5.1.2: who speaks to the customer, and by when
    contact_window: Mapped[str | None] = mapped_column(String(32), nullable=True)
    contact_by: Mapped[date | None] = mapped_column(Date, nullable=True)
    reporter_id: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    # Slack view of the case
    channel_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    card_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    delivery_error: Mapped[str | None] = mapped_column(Text, nullable=True)

    # decisions (steps 2–4)
    responsibility: Mapped[str | None] = mapped_column(String(16), nullable=True)
    responsibility_reason: Mapped[str] = mapped_column(Text, default="")
    units: Mapped[list[str]] = mapped_column(JSON, default=list)
    severity: Mapped[str | None] = mapped_column(String(1), nullable=True)
    rework_count: Mapped[int] = mapped_column(Integer, default=0)

    # issue 14 (migration 0007): the complaint category Technical Quality chose at
    # confirmation (COMPLAINT_CATEGORIES); the past case this one may repeat, found at
    # intake ({id, ref, closed, cause}); the case whose investigation it joined
    category: Mapped[str | None] = mapped_column(String(32), nullable=True)
    recurrence: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    linked_to_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True)

    # deadlines (PROCEDURE.md, Deadlines); cleared when their step is done
    ca_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    pa_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ca_done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    pa_done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    # approval, customer, verification, closure (steps 5–8)
    approved_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    containment_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    clean_lots: Mapped[int] = mapped_column(Integer, default=0)
    closure: Mapped[str | None] = mapped_column(String(16), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(32), nullable=True)

    # --- step clocks (issue 12; kept by bot/workflow/clocks.py, migration 0008) ---
    # the clock of the step the case waits for: which one, since when, due when, and the
    # status and `step` it was set for (a change of `step` restarts it)
    clock_name: Mapped[str | None] = mapped_column(String(24), nullable=True)
    clock_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    clock_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    clock_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    clock_step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # the earliest corrective action's planned completion (end of that day) and its owner
    action_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    action_owner: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # each corrective action's owner and due moment: [{"n": 1, "owner": "U…", "due": iso}]
    action_items: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    # --- end of step clocks ---

    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.id", viewonly=True
    )
    reports: Mapped[list[Report]] = relationship(back_populates="case", order_by="Report.id")
    lot_checks: Mapped[list[LotCheck]] = relationship(back_populates="case", order_by="LotCheck.id")

    def running_deadlines(self, now: datetime | None = None) -> list[Deadline]:
        """The deadlines still running, soonest first (none once the case is closed).
        `now` is for clocks that start or stop with time; the built-in ones do not."""
        if not Status(self.status).is_open:
            return []
        return sorted(d for clock in CLOCKS if (d := clock(self)) is not None)

    def is_overdue(self, now: datetime) -> bool:
        """Whether something owed on this case is past its deadline."""
        return any(d.due_at <= now for d in self.running_deadlines(now))

    def load_history(self) -> None:
        """Load the timeline, reports and lot checks while the session is open (they are
        read after it closes)."""
        for rel in (self.events, self.reports, self.lot_checks):
            len(rel)

    def latest_report(self, kind: str) -> Report | None:
        found = [r for r in self.reports if r.kind == kind]
        return found[-1] if found else None


# the columns of long text and JSON that lists over many cases (the Home's to-do, the
# register) never read: deferred there, so that thousands of cases are not decoded for them
LONG_COLUMNS = (
    Case.customer_contact,
    Case.description,
    Case.evidence,
    Case.notes,
    Case.delivery_error,
    Case.responsibility_reason,
    Case.recurrence,
    Case.received_via,
)

# what a case's deadlines are read from (the corrective and preventive replies, the running
# step clock, the first planned action): lists over many open cases read these columns as
# plain rows rather than mapped cases (the Home's to-do, the morning digest)
DEADLINE_COLUMNS = (
    Case.ca_due_at,
    Case.ca_done_at,
    Case.pa_due_at,
    Case.pa_done_at,
    Case.clock_name,
    Case.clock_due_at,
    Case.clock_status,
    Case.clock_step,
    Case.action_due_at,
)


class CaseEvent(Base):
    """One line of the audit trail. Append-only: there is no code path that updates or
    deletes one (see the guard below)."""

    __tablename__ = "case_events"
    __table_args__ = (Index("ix_case_events_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # step the case reached with this event (None for comments)
    step: Mapped[int | None] = mapped_column(Integer, nullable=True)

    case: Mapped[Case] = relationship(back_populates="events")


class Report(Base):
    """A version of a containment, corrective-action or preventive-action report.

    Each edit adds a row, so every version stays on record."""

    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("case_id", "kind", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(16))  # containment | corrective | preventive
    version: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    author: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    case: Mapped[Case] = relationship(back_populates="reports")


class LotCheck(Base):
    __tablename__ = "lot_checks"
    __table_args__ = (Index("ix_lot_checks_case", "case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    lot: Mapped[str] = mapped_column(Text)
    quantity_inspected: Mapped[int] = mapped_column(Integer)
    result: Mapped[str] = mapped_column(String(16))  # ok | same_problem
    notes: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    by: Mapped[str] = mapped_column(String(32))
    loop: Mapped[int] = mapped_column(Integer, default=0)

    case: Mapped[Case] = relationship(back_populates="lot_checks")


class RefCounter(Base):
    """Last reference number handed out per year (CC-2026-0001 …)."""

    __tablename__ = "ref_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


class HomeVisit(Base):
    """When a person last opened the bot's Home tab (Slack's app_home_opened). A case's
    change republishes the Home of the people concerned only while it is in use: opened
    within HOME_LIVE_HOURS. Anyone else's Home is built fresh when they open it, so a
    push to them would cost a Slack call that nobody sees (issue 10, 7(d))."""

    __tablename__ = "home_visits"

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ProcessedRequest(Base):
    """Identity of a Slack request already acted on (view id, event id, action), so a
    retry or a double click does not act twice."""

    __tablename__ = "processed_requests"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    result: Mapped[str] = mapped_column(Text, default="")


@event.listens_for(Session, "before_flush")
def _audit_is_append_only(session: Session, _ctx: Any, _instances: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, CaseEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise PermissionError("the audit trail is append-only")


def _corrective(case: Case) -> Deadline | None:
    """The corrective-action reply (PROCEDURE.md, Deadlines), until it is submitted."""
    if case.ca_due_at is None or case.ca_done_at is not None:
        return None
    return Deadline(case.ca_due_at, "corrective")


def _preventive(case: Case) -> Deadline | None:
    if case.pa_due_at is None or case.pa_done_at is not None:
        return None
    return Deadline(case.pa_due_at, "preventive")


CLOCKS.extend([_corrective, _preventive])
