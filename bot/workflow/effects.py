"""Outbound effects of a change, queued in the change's own transaction.

They name what should happen ("update the card of case 12", "post event 40 in its
thread, mentioning Technical Quality"), not how: rendering and Slack calls happen
at delivery, so the workflow never sees Slack and a card always shows the case as
it is when it is sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from bot.models import Case, Outbox, OutboxStatus, utcnow


def enqueue(
    s: Session,
    *,
    kind: str,
    now: datetime,
    case: Case | None = None,
    lane: str | None = None,
    **payload: Any,
) -> Outbox:
    if lane is None:
        lane = f"case:{case.id}" if case is not None else "global"
    row = Outbox(
        case_id=case.id if case is not None else None,
        lane=lane,
        kind=kind,
        payload=payload,
        status=OutboxStatus.PENDING,
        attempts=0,
        created_at=now,
        # delivery runs on the wall clock, whatever time the procedure was told it is
        next_attempt_at=utcnow(),
    )
    s.add(row)
    return row


# a card update still waiting, unclaimed, in a case's lane (built once: asked at every step)
_WAITING_UPDATE = (
    select(Outbox.id)
    .where(
        Outbox.lane == bindparam("lane"),
        Outbox.status == OutboxStatus.PENDING,
        Outbox.kind == "card_update",
        Outbox.attempts == 0,
        Outbox.claimed_until.is_(None),
    )
    .with_for_update()
)


def card_update(s: Session, case: Case, now: datetime) -> None:
    """Queue a re-render of the card unless one is already waiting, unclaimed, behind it in
    the lane (it will render the latest state anyway).

    The waiting row is locked until this transaction commits, so a sender cannot claim
    it and render the case as it was before this change (on SQLite every writer is
    serialised by BEGIN IMMEDIATE, which gives the same guarantee)."""
    waiting = s.scalar(_WAITING_UPDATE, {"lane": f"case:{case.id}"})
    if waiting is None:
        enqueue(s, kind="card_update", now=now, case=case)


def thread_post(
    s: Session, case: Case, now: datetime, *, event_id: int, mention: list[str] | None = None
) -> None:
    enqueue(s, kind="thread_post", now=now, case=case, event_id=event_id, mention=mention or [])


def direct_message(
    s: Session, case: Case, now: datetime, *, to: list[str], message: str, event_id: int
) -> None:
    """`to` holds targets like "user:U1" or "role:management"; expanded at delivery."""
    enqueue(s, kind="dm", now=now, case=case, to=to, message=message, event_id=event_id)


def channel_alert(
    s: Session,
    case: Case,
    now: datetime,
    *,
    channel: str,
    alert: str,
    kind: str = "alert",
    **extra: Any,
) -> None:
    """Alerts go in the channel's lane, so a burst is delivered in order per channel."""
    enqueue(
        s,
        kind=kind,
        now=now,
        case=case,
        lane=f"channel:{channel}",
        channel=channel,
        alert=alert,
        **extra,
    )


def upload(
    s: Session,
    case: Case,
    now: datetime,
    *,
    what: str,
    version: str,
    event_id: int | None = None,
    mention: list[str] | None = None,
) -> None:
    """Make a document and upload it into the case thread: "report" at approval, "archive"
    at closure. In the case's lane, so it follows the card update of the same step; the
    step's thread post (event `event_id`, mentioning `mention`) is the upload's comment."""
    enqueue(
        s,
        kind="upload",
        now=now,
        case=case,
        what=what,
        version=version,
        event_id=event_id,
        mention=mention or [],
    )


def send_file(s: Session, now: datetime, *, user: str, what: str, **params: Any) -> None:
    """Make a document for one person and send it to them by direct message."""
    enqueue(s, kind="dm_file", now=now, lane=f"user:{user}", user=user, what=what, **params)
