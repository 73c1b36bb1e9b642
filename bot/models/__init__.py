"""Database models (SQLAlchemy 2.0 typed ORM) and the engine/session set-up."""

from bot.models.base import Base, UTCDateTime, make_engine, make_session_factory, utcnow
from bot.models.case import (
    DEADLINE_COLUMNS,
    LONG_COLUMNS,
    Case,
    CaseEvent,
    HomeVisit,
    LotCheck,
    ProcessedRequest,
    RefCounter,
    Report,
    Status,
)
from bot.models.inbox import Inbox, InboxStatus
from bot.models.outbox import Outbox, OutboxStatus
from bot.models.records import CaseDocument, CaseFile
from bot.models.reminder import Reminder

__all__ = [
    "DEADLINE_COLUMNS",
    "LONG_COLUMNS",
    "Base",
    "Case",
    "CaseDocument",
    "CaseEvent",
    "CaseFile",
    "HomeVisit",
    "Inbox",
    "InboxStatus",
    "LotCheck",
    "Outbox",
    "OutboxStatus",
    "ProcessedRequest",
    "RefCounter",
    "Reminder",
    "Report",
    "Status",
    "UTCDateTime",
    "make_engine",
    "make_session_factory",
    "utcnow",
]
