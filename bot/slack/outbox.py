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
from typing import Any

from sqlalchemy import Connection, Row, Select, and_, bindparam, case, exists, func, or_, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from bot.models import Outbox, OutboxStatus
from bot.models.base import read_sessions, single_writes
from bot.models.leases import lease_until, owner_id
from bot.slack.delivery import Delivery, NoCard
from bot.slack.gateway import backoff, classify
from bot.slack.pacing import CARD_KINDS, ChannelPacer, PacedGateway
from bot.wakeup import PollingLoop

log = logging.getLogger(__name__)

LANE_RUN = 20  # rows delivered down one lane before its worker goes back to the pool
# Home refreshes wait while other work is under way (up to this long): changes made in the
# meantime merge into the waiting row, so a live Home is rebuilt once per burst, not once
# per change, and its build does not hold back the cards behind it
HOME_KINDS = frozenset({"home_refresh"})
HOME_WAIT_SECONDS = 3.0
HEADS_LIMIT = 50  # lane heads looked at per round
MAX_ATTEMPTS = 30  # with the 5-minute cap: keeps trying through a ~2-hour Slack outage


def _heads_query() -> Select[tuple[int, str, str]]:
    """Built once: the sender runs it after every lane it finishes, and building and
    compiling it afresh each time (a new alias, a new cache key) was 29 % of the worker's
    CPU under a burst. New case cards come first, then the rest in the order queued: with
    the channel paced, a backlog shows every case before the thread posts that follow.
    Only what the round decides on is read (id, lane, kind): a row is read whole when it
    is claimed. Reading up to 50 whole rows, payloads and all, at every round cost about
    as much as delivering one (issue 10, 7(b))."""
    now = bindparam("now")
    earlier = aliased(Outbox)
    return (
        select(Outbox.id, Outbox.lane, Outbox.kind)
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
        .order_by(case((Outbox.kind.in_(CARD_KINDS), 0), else_=1), Outbox.id)
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
        _T.c.next_attempt_at <= bindparam("now"),
        or_(_T.c.claimed_until.is_(None), _T.c.claimed_until < bindparam("now")),
    )
    .values(claimed_until=bindparam("until"), claimed_by=bindparam("owner"))
)
# a new case's card waiting in another lane (due, unclaimed): a lane run that has just
# posted its own card then goes back to the pool rather than post its thread first
_CARD_WAITING = (
    select(_T.c.id)
    .where(
        _T.c.kind.in_(CARD_KINDS),
        _T.c.status == OutboxStatus.PENDING,
        _T.c.lane != bindparam("lane"),
        _T.c.next_attempt_at <= bindparam("now"),
        or_(_T.c.claimed_until.is_(None), _T.c.claimed_until < bindparam("now")),
    )
    .limit(1)
)


# a row done: sent (its result kept) or failed for good; either lets its lane go on
def _done(status: OutboxStatus, **more: Any) -> Any:
    return (
        _T.update()
        .where(_T.c.id == bindparam("row_id"))
        .values(
            claimed_until=None,
            claimed_by=None,
            attempts=bindparam("attempts"),
            status=status,
            **more,
        )
    )


_SENT = _done(OutboxStatus.SENT, sent_at=bindparam("at"), result=bindparam("result"))
_FAILED = _done(OutboxStatus.FAILED, last_error=bindparam("error"))
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
        channel_burst: int = 1,
        on_failure: Callable[[Outbox, str], None] | None = None,
    ) -> None:
        super().__init__()
        self.sessions = sessions
        self.readers = read_sessions(sessions, autocommit=True)  # single statements
        self._write_one = single_writes(sessions.kw["bind"])
        self.delivery = delivery
        self.delivery.progress = self._save_progress
        self.clock = clock
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_attempts = max_attempts
        self.pacer = ChannelPacer(channel_interval, channel_burst)
        if not isinstance(delivery.gateway, PacedGateway):
            # every post this sender makes, whatever its kind, waits for its channel's turn
            delivery.gateway = PacedGateway(delivery.gateway, self.pacer)  # type: ignore[assignment]
        self.on_failure = on_failure
        # called before each delivery: lets Slack's requests in flight go first (app.py)
        self.before_each: Callable[[], None] = lambda: None
        # whether other work is under way (the inbox worker's, app.py): Home refreshes wait
        self.busy_elsewhere: Callable[[], bool] = lambda: False
        self._home_seen: dict[int, float] = {}
        self.workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="outbox")
        self._busy: set[str] = set()
        self._busy_lock = threading.Lock()

    def round(self) -> int:
        return self.pump()

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        self._pool.shutdown(wait=True, cancel_futures=True)

    # -- one round ----------------------------------------------------------------------
    def heads(self) -> list[Row[tuple[int, str, str]]]:
        """The first pending row of each lane (up to HEADS_LIMIT), if due and not claimed:
        its id, lane and kind."""
        with self.readers() as s:
            return list(s.execute(_HEADS, {"now": self.clock()}))

    def _claim(self, head: Any) -> Outbox | None:
        """Claim a lane's head (anything with its `id`); the row as it was before the claim
        (who held it last tells `_deliver` whether an earlier attempt may have posted), or
        None when another sender has it."""
        # read, then claimed by one statement of its own (on PostgreSQL no transaction:
        # 2 round trips, not 4); the claim's conditions hold whatever happened in between
        with self.readers() as s:
            row = s.get(Outbox, head.id)
            if row is None or row.status != OutboxStatus.PENDING:
                return None
            s.expunge(row)
        with self._write_one() as conn:
            return row if self._claim_in(conn, head.id) else None

    def _claim_in(self, s: Session | Connection, row_id: int) -> bool:
        now = self.clock()
        params = {"row_id": row_id, "now": now, "until": lease_until(now), "owner": owner_id()}
        return s.execute(_CLAIM, params).rowcount == 1

    def pump(self) -> int:
        """Start delivering every lane head that is due; returns how many were started."""
        started = 0
        with self._busy_lock:
            if len(self._busy) >= self.workers:
                return 0  # no thread free: a lane that finishes wakes the loop again
        heads = self.heads()
        others = self.busy_elsewhere() or any(r.kind not in HOME_KINDS for r in heads)
        for row in heads:
            if row.kind in HOME_KINDS and others and not self._waited(row.id):
                continue
            with self._busy_lock:
                # no more lanes than threads: a lane queued behind paced ones would hold
                # its claim idle, and the lanes due first are picked again at each round
                if len(self._busy) >= self.workers:
                    break
                if row.lane in self._busy:
                    continue
                self._busy.add(row.lane)
            claimed = self._claim(row)
            if claimed is None:
                with self._busy_lock:
                    self._busy.discard(row.lane)
                continue
            self._pool.submit(self._run, claimed)
            started += 1
        return started

    def _waited(self, row_id: int) -> bool:
        """Whether a Home refresh has waited HOME_WAIT_SECONDS since this sender first saw
        it (it goes then, even if other work goes on)."""
        now = time.monotonic()
        with self._busy_lock:
            first = self._home_seen.setdefault(row_id, now)
            if len(self._home_seen) > 1000:  # rows long delivered
                self._home_seen = {row_id: first}
        return now - first >= HOME_WAIT_SECONDS

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
            for n in range(1, LANE_RUN + 1):
                if current is None:
                    break
                # the next row is claimed only when this run will deliver it: a row
                # claimed and then left would wait out its whole lease; after a card,
                # other cases' cards waiting go before this case's thread posts (looked
                # for in the finish, only when the lane has a next row)
                more = n < LANE_RUN
                done, following = self._deliver(current, claim_next=more)
                if not done or not more:
                    break
                # the lane's next row was looked for in the transaction that recorded
                # this one: None means there is none due (a later one wakes the sender)
                current = following
        except Exception:
            log.exception("outbox lane %s crashed", lane)
        finally:
            with self._busy_lock:
                self._busy.discard(lane)
            self._wake.set()

    def _claim_next_in(self, s: Session, lane: str, *, after_card: bool) -> Outbox | None:
        now = self.clock()
        nxt = s.scalars(_NEXT_IN_LANE, {"lane": lane}).first()
        if nxt is None or nxt.next_attempt_at > now:
            return None
        if nxt.claimed_until is not None and nxt.claimed_until >= now:
            return None
        if after_card and s.execute(_CARD_WAITING, {"lane": lane, "now": now}).first():
            return None  # another case's card goes first; this lane waits for a round
        s.expunge(nxt)  # delivered after this transaction, from what was read here
        return nxt if self._claim_in(s, nxt.id) else None

    def _deliver(self, row: Outbox, *, claim_next: bool = True) -> tuple[bool, Outbox | None]:
        """Deliver one row; (True, the lane's next row if `claim_next` and it was claimed)
        when it is done (sent, or failed for good), (False, None) when it waits for a retry
        (and so blocks its lane until then)."""
        # a row claimed before by a process that died, or whose last call failed in a way
        # that may have reached Slack: its posts are looked for before being made again
        unknown = row.claimed_by is not None or bool((row.result or {}).get("unknown"))
        try:
            self.before_each()
            with self.delivery.gateway.attempt(row.id, unknown, row.kind):  # type: ignore[attr-defined]
                result = self.delivery.deliver(row)  # posts wait for their channel
        except NoCard as exc:
            return True, self._finish(
                row, failed=f"no card to post under ({exc})", claim_next=claim_next
            )
        except Exception as exc:  # noqa: BLE001 - classified below
            failure = classify(exc)
            if failure.error == "ratelimited":
                # Slack asked us to slow down, and the channel is paused for as long as
                # it said: not a failure, so it never counts towards giving up
                delay = failure.retry_after or 1.0
                log.info("outbox %s (%s) rate-limited; again in %.1fs", row.id, row.kind, delay)
                self._retry(row, row.attempts, delay, failure.error)
                return False, None
            attempts = row.attempts + 1
            if failure.retry and attempts < self.max_attempts:
                delay = failure.retry_after or backoff(
                    attempts - 1, self.base_delay, self.max_delay
                )
                log.info(
                    "outbox %s (%s) retry in %.1fs: %s", row.id, row.kind, delay, failure.error
                )
                # a 5xx or a dropped connection may come after Slack acted on the call
                row.result = {**(row.result or {}), "unknown": True}
                self._retry(row, attempts, delay, failure.error)
                return False, None
            following = self._finish(
                row, failed=failure.error, attempts=attempts, claim_next=claim_next
            )
            return True, following
        return True, self._finish(row, result=result, claim_next=claim_next)

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
                    claimed_by=None,
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
        claim_next: bool = False,
    ) -> Outbox | None:
        """Record the row as sent or as failed for good (either lets its lane go on), and
        with `claim_next` claim the lane's next row in the same transaction (returned)."""
        now = self.clock()
        params: dict[str, Any] = {"row_id": row.id, "attempts": attempts or row.attempts + 1}
        if failed is None:
            params.update(at=now, result=result or {})
        else:
            params.update(error=failed[:1000])
        following = None
        with self.sessions() as s, s.begin():
            s.execute(_SENT if failed is None else _FAILED, params)
            if failed is None:
                self.delivery.on_sent(s, row, result or {})
            if claim_next:
                following = self._claim_next_in(s, row.lane, after_card=row.kind in CARD_KINDS)
        if failed is not None:
            log.error("outbox %s (%s, %s) failed for good: %s", row.id, row.kind, row.lane, failed)
            if self.on_failure:
                self.on_failure(row, failed)
        return following

    def _save_progress(self, row: Outbox) -> None:
        with self.sessions() as s, s.begin():
            s.execute(_T.update().where(_T.c.id == row.id).values(result=row.result))
