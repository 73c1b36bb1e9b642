"""The outbox sender: delivers queued Slack effects in order per lane, with retries.

Rows are claimed with an atomic conditional UPDATE, so several bot processes can run a
sender against one database without delivering a row twice. A lane ("case:12",
"channel:C1") is strictly ordered: its next row waits until the one before it is sent
or has failed for good.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, bindparam, exists, func, or_, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from bot.models import Outbox, OutboxStatus
from bot.models.base import read_sessions
from bot.slack.delivery import Delivery, NoCard
from bot.slack.gateway import backoff, classify
from bot.wakeup import PollingLoop

log = logging.getLogger(__name__)

CLAIM_SECONDS = 120
LANE_RUN = 20  # rows delivered down one lane before its worker goes back to the pool
HEADS_LIMIT = 50  # lane heads looked at per round
MAX_ATTEMPTS = 30  # with the 5-minute cap: keeps trying through a ~2-hour Slack outage


class Pacer:
    """At most one message per `interval` seconds per channel (Slack's posting limit)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, channel: str) -> None:
        if self.interval <= 0:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next.get(channel, 0.0))
            self._next[channel] = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


def _heads_query() -> Select[tuple[Outbox]]:
    """Built once: the sender runs it after every lane it finishes, and building and
    compiling it afresh each time (a new alias, a new cache key) was 29 % of the worker's
    CPU under a burst."""
    now = bindparam("now")
    earlier = aliased(Outbox)
    return (
        select(Outbox)
        .where(
            Outbox.status == OutboxStatus.PENDING,
            Outbox.next_attempt_at <= now,
            or_(Outbox.claimed_until.is_(None), Outbox.claimed_until < now),
            ~exists().where(
                and_(
                    earlier.lane == Outbox.lane,
                    earlier.status == OutboxStatus.PENDING,
                    earlier.id < Outbox.id,
                )
            ),
        )
        .order_by(Outbox.id)
        .limit(HEADS_LIMIT)
    )


_HEADS = _heads_query()
_T = Outbox.__table__
# Core statements built once (an ORM UPDATE also evaluates its WHERE against the session's
# objects, and building a statement costs as much as running it on SQLite)
_CLAIM = (
    _T.update()
    .where(
        _T.c.id == bindparam("row_id"),
        _T.c.status == OutboxStatus.PENDING,
        or_(_T.c.claimed_until.is_(None), _T.c.claimed_until < bindparam("now")),
    )
    .values(claimed_until=bindparam("until"))
)
_NEXT_IN_LANE = (
    select(Outbox)
    .where(Outbox.lane == bindparam("lane"), Outbox.status == OutboxStatus.PENDING)
    .order_by(Outbox.id)
    .limit(1)
)


class OutboxSender(PollingLoop):
    name = "outbox-sender"

    def __init__(
        self,
        sessions: sessionmaker,
        delivery: Delivery,
        *,
        clock: Callable[[], datetime],
        workers: int = 4,
        base_delay: float = 1.0,
        max_delay: float = 300.0,
        max_attempts: int = MAX_ATTEMPTS,
        channel_interval: float = 1.0,
        on_failure: Callable[[Outbox, str], None] | None = None,
    ) -> None:
        super().__init__()
        self.sessions = sessions
        self.readers = read_sessions(sessions)
        self.delivery = delivery
        self.delivery.progress = self._save_progress
        self.clock = clock
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_attempts = max_attempts
        self.pacer = Pacer(channel_interval)
        self.on_failure = on_failure
        # called before each delivery: lets Slack's requests in flight go first (app.py)
        self.before_each: Callable[[], None] = lambda: None
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="outbox")
        self._busy: set[str] = set()
        self._busy_lock = threading.Lock()

    def round(self) -> int:
        return self.pump()

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        self._pool.shutdown(wait=True, cancel_futures=True)

    # -- one round ----------------------------------------------------------------------
    def heads(self) -> list[Outbox]:
        """The first pending row of each lane (up to HEADS_LIMIT), if due and not claimed."""
        with self.readers() as s:
            return list(s.scalars(_HEADS, {"now": self.clock()}))

    def _claim(self, row: Outbox) -> bool:
        with self.sessions() as s, s.begin():
            return self._claim_in(s, row.id)

    def _claim_in(self, s: Session, row_id: int) -> bool:
        now = self.clock()
        until = now + timedelta(seconds=CLAIM_SECONDS)
        res = s.execute(_CLAIM, {"row_id": row_id, "now": now, "until": until})
        return res.rowcount == 1

    def pump(self) -> int:
        """Start delivering every lane head that is due; returns how many were started."""
        started = 0
        for row in self.heads():
            with self._busy_lock:
                if row.lane in self._busy:
                    continue
                self._busy.add(row.lane)
            if not self._claim(row):
                with self._busy_lock:
                    self._busy.discard(row.lane)
                continue
            self._pool.submit(self._run, row)
            started += 1
        return started

    def pending(self) -> int:
        with self.readers() as s:
            return int(
                s.scalar(select(func.count(Outbox.id)).where(Outbox.status == OutboxStatus.PENDING))
                or 0
            )

    def drain(self, timeout: float = 30.0) -> bool:
        """Deliver until nothing is pending, retries included (used by the CLI and tests);
        True when the outbox is empty."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.pump()
            with self._busy_lock:
                busy = bool(self._busy)
            if not busy and not self.pending():
                return True
            time.sleep(0.01)
        return False

    def _run(self, row: Outbox) -> None:
        """Deliver a lane's head, then keep going down the lane while its next row is due:
        a case's card, thread post and confirmation go out without a round of the
        sender's loop between them (the next row is claimed in the transaction that
        records this one as sent)."""
        lane = row.lane
        current: Outbox | None = row
        try:
            for _ in range(LANE_RUN):
                if current is None:
                    break
                done, following = self._deliver(current)
                if not done:
                    break
                current = following or self._next_in_lane(lane)
        except Exception:
            log.exception("outbox lane %s crashed", lane)
        finally:
            with self._busy_lock:
                self._busy.discard(lane)
            self._wake.set()

    def _next_in_lane(self, lane: str) -> Outbox | None:
        with self.sessions() as s, s.begin():
            return self._claim_next_in(s, lane)

    def _claim_next_in(self, s: Session, lane: str) -> Outbox | None:
        now = self.clock()
        nxt = s.scalars(_NEXT_IN_LANE, {"lane": lane}).first()
        if nxt is None or nxt.next_attempt_at > now:
            return None
        if nxt.claimed_until is not None and nxt.claimed_until >= now:
            return None
        s.expunge(nxt)  # delivered after this transaction, from what was read here
        return nxt if self._claim_in(s, nxt.id) else None

    def _deliver(self, row: Outbox) -> tuple[bool, Outbox | None]:
        """Deliver one row; (True, the lane's next row if claimed) when it is done (sent,
        or failed for good), (False, None) when it waits for a retry (and so blocks its
        lane until then)."""
        channel = row.payload.get("channel") or (
            row.lane.split(":", 1)[1] if row.lane.startswith("channel:") else ""
        )
        try:
            self.before_each()
            if channel:
                self.pacer.wait(channel)
            result = self.delivery.deliver(row)
        except NoCard as exc:
            self._finish(row, failed=f"no card to post under ({exc})")
            return True, None
        except Exception as exc:  # noqa: BLE001 - classified below
            failure = classify(exc)
            attempts = row.attempts + 1
            if failure.retry and attempts < self.max_attempts:
                delay = failure.retry_after or backoff(
                    attempts - 1, self.base_delay, self.max_delay
                )
                log.info(
                    "outbox %s (%s) retry in %.1fs: %s", row.id, row.kind, delay, failure.error
                )
                self._retry(row, attempts, delay, failure.error)
                return False, None
            self._finish(row, failed=failure.error, attempts=attempts)
            return True, None
        return True, self._finish(row, result=result)

    def _retry(self, row: Outbox, attempts: int, delay: float, error: str) -> None:
        now = self.clock()
        with self.sessions() as s, s.begin():
            s.execute(
                _T.update()
                .where(_T.c.id == row.id)
                .values(
                    attempts=attempts,
                    last_error=error[:1000],
                    claimed_until=None,
                    result=row.result or {},
                    next_attempt_at=now + timedelta(seconds=delay),
                )
            )

    def _finish(
        self,
        row: Outbox,
        *,
        result: dict | None = None,
        failed: str | None = None,
        attempts: int | None = None,
    ) -> Outbox | None:
        """Record the row as sent (and claim the lane's next row in the same transaction,
        returned) or as failed for good."""
        now = self.clock()
        values: dict = {"claimed_until": None, "attempts": attempts or row.attempts + 1}
        if failed is None:
            values.update(status=OutboxStatus.SENT, sent_at=now, result=result or {})
        else:
            values.update(status=OutboxStatus.FAILED, last_error=failed[:1000])
        following = None
        with self.sessions() as s, s.begin():
            s.execute(_T.update().where(_T.c.id == row.id).values(**values))
            if failed is None:
                following = self._claim_next_in(s, row.lane)
        if failed is not None:
            log.error("outbox %s (%s, %s) failed for good: %s", row.id, row.kind, row.lane, failed)
            if self.on_failure:
                self.on_failure(row, failed)
        return following

    def _save_progress(self, row: Outbox) -> None:
        with self.sessions() as s, s.begin():
            s.execute(_T.update().where(_T.c.id == row.id).values(result=row.result))
