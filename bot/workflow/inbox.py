"""Requests accepted before the ack and done after it (see `bot.models.inbox`).

The handler's part is `accept_request`: one INSERT in a short transaction, so Slack's ack
never waits for a case's whole transaction. The worker's part is `claim_request_work` /
`finish_request` / `retry_request`: rows are claimed with an atomic conditional UPDATE,
so several workers on one database never do a row twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.models import Inbox, InboxStatus, ProcessedRequest, utcnow
from bot.models.leases import lease_until, owner_id

_INSERT = insert(Inbox.__table__)


@dataclass(frozen=True)
class Request:
    """An accepted request as the worker sees it (plain data, no session)."""

    id: int
    key: str
    kind: str
    user_id: str
    channel_id: str | None
    payload: dict[str, Any]
    received_at: datetime
    attempts: int


class RequestInbox:
    def __init__(self, sessions: sessionmaker, readers: sessionmaker) -> None:
        self.sessions = sessions
        self.readers = readers
        self.engine = sessions.kw["bind"]
        self._autocommit = (
            self.engine.execution_options(isolation_level="AUTOCOMMIT")
            if self.engine.dialect.name == "postgresql"
            else None
        )

    def accept_request(
        self,
        *,
        key: str,
        kind: str,
        user_id: str,
        channel_id: str | None,
        payload: dict[str, Any],
        now: datetime,
    ) -> bool:
        """Store a request for the worker; False when this request (by its Slack identity)
        was already accepted: a retry, or the same form sent twice."""
        row = {
            "key": key[:255],
            "kind": kind,
            "user_id": user_id,
            "channel_id": channel_id,
            "payload": payload,
            "received_at": now,
            "status": InboxStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": utcnow(),
        }
        try:
            # Core on a connection, parameters apart from the statement: the compiled
            # INSERT is cached, and no ORM unit of work runs in front of the ack
            if self._autocommit is not None:
                # PostgreSQL: one statement is its own transaction; no BEGIN and COMMIT
                # round trips (the commit is as durable)
                with self._autocommit.connect() as conn:
                    conn.execute(_INSERT, row)
            else:  # SQLite: through the engine's write lock (bot/models/base.py)
                with self.engine.begin() as conn:
                    conn.execute(_INSERT, row)
        except IntegrityError:
            return False
        return True

    def next_request(self) -> Request | None:
        """Claim the oldest request that is due; None when there is none."""
        for _ in range(5):  # another worker may win the race for a row: take the next
            now = utcnow()
            with self.readers() as s:
                row = s.scalars(
                    select(Inbox)
                    .where(
                        Inbox.status == InboxStatus.PENDING,
                        Inbox.next_attempt_at <= now,
                        or_(Inbox.claimed_until.is_(None), Inbox.claimed_until < now),
                    )
                    .order_by(Inbox.id)
                    .limit(1)
                ).first()
            if row is None:
                return None
            with self.sessions() as s, s.begin():
                won = s.execute(
                    update(Inbox)
                    .where(
                        Inbox.id == row.id,
                        Inbox.status == InboxStatus.PENDING,
                        or_(Inbox.claimed_until.is_(None), Inbox.claimed_until < now),
                    )
                    .values(claimed_until=lease_until(now), claimed_by=owner_id())
                ).rowcount
            if won == 1:
                return Request(
                    row.id,
                    row.key,
                    row.kind,
                    row.user_id,
                    row.channel_id,
                    dict(row.payload or {}),
                    row.received_at,
                    row.attempts,
                )
        return None

    def finish_request(
        self, req: Request, outcome: str, *, case_id: int | None = None, failed: bool = False
    ) -> None:
        with self.sessions() as s, s.begin():
            s.execute(
                update(Inbox)
                .where(Inbox.id == req.id)
                .values(
                    status=InboxStatus.FAILED if failed else InboxStatus.DONE,
                    attempts=req.attempts + 1,
                    claimed_until=None,
                    claimed_by=None,
                    done_at=utcnow(),
                    case_id=case_id,
                    outcome=outcome[:2000],
                )
            )

    def retry_request(self, req: Request, delay: float, error: str) -> None:
        with self.sessions() as s, s.begin():
            s.execute(
                update(Inbox)
                .where(Inbox.id == req.id)
                .values(
                    attempts=req.attempts + 1,
                    claimed_until=None,
                    claimed_by=None,
                    next_attempt_at=utcnow() + timedelta(seconds=delay),
                    outcome=error[:2000],
                )
            )

    def pending_requests(self) -> int:
        with self.readers() as s:
            return int(
                s.scalar(select(func.count(Inbox.id)).where(Inbox.status == InboxStatus.PENDING))
                or 0
            )

    def overdue_requests(self, older_than: timedelta) -> int:
        """How many requests have been due for longer than `older_than` and are still not
        done: the worker is not taking them."""
        with self.readers() as s:
            return int(
                s.scalar(
                    select(func.count(Inbox.id)).where(
                        Inbox.status == InboxStatus.PENDING,
                        Inbox.next_attempt_at < utcnow() - older_than,
                    )
                )
                or 0
            )

    def request_done(self, key: str) -> bool:
        """Whether a step already ran for this request identity (its transaction claims
        the key): a retry after a crash between the step and `finish_request`."""
        with self.readers() as s:
            return _seen(s, key)


def _seen(s: Session, key: str) -> bool:
    return s.get(ProcessedRequest, key[:255]) is not None
