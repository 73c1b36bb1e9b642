"""Inbound work, written before Slack gets its ack and done by the worker afterwards."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, UTCDateTime


class InboxStatus:
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class Inbox(Base):
    """A request Slack was told is accepted: a filed intake form or a direct-step click.

    The HTTP handler only validates and inserts this row (one short transaction), so the
    ack never waits for the case's transaction, its reminders or its Slack effects; the
    worker takes the rows in order and does the work. A row survives a crash between the
    ack and the work, and `key` (the request's identity: the view id, or the click's
    action_ts) makes a retried or re-sent request a no-op."""

    __tablename__ = "inbox"
    __table_args__ = (Index("ix_inbox_pending", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # the procedure's time of the request: deadlines count from the click, not the work
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(10), default=InboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # the process holding the claim (host:pid): its lease is renewed while it works, and
    # freed by the supervisor when that process dies (bot/models/leases.py)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    case_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)
