"""Scheduled reminders: nudges, overdue posts, escalations, severity-A repeats, digests.

They are rows computed when a deadline is set, so a scheduler tick only reads
the pending ones that are due (an indexed range scan) and its cost does not
grow with the number of cases, open or closed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, UTCDateTime


class Reminder(Base):
    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("key"),
        Index("ix_reminders_due", "status", "due_at"),
        Index("ix_reminders_case", "case_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True)
    # nudge | overdue | escalation | severity_a | digest
    kind: Mapped[str] = mapped_column(String(16))
    # unique identity, e.g. "12:ca:3:half" — inserting the same reminder twice is a no-op
    key: Mapped[str] = mapped_column(String(120))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # pending | sent | cancelled
    status: Mapped[str] = mapped_column(String(10), default="pending")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    done_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
