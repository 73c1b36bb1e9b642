"""The inbox: requests accepted before the ack and done after it (`bot.models.inbox`).

One inbound path for everything a person asks the desk to do: a new complaint, a step
taken with a button, a step's form. The handler checks what it can answer on the spot
(a form's mistakes, a wrong person, a stale card), stores the request with
`accept_request` (one INSERT, so Slack's ack never waits for a case's whole transaction),
acks, and wakes the worker. `InboxWorker`, below, claims rows with an atomic conditional
UPDATE (several workers on one database never do a row twice), takes the step or files
the complaint through the desk, and tells the person when it is refused, through the
`tell` it is given (the gateway's, bot/slack/notices.py): nothing climbs back up into the
handlers."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.i18n import _, use_locale
from bot.models import Inbox, InboxStatus, ProcessedRequest, utcnow
from bot.models.base import read_sessions, single_writes
from bot.models.leases import lease_until, owner_id
from bot.wakeup import PollingLoop
from bot.workflow.errors import WorkflowError
from bot.workflow.intake import IntakeForm, validate_intake
from bot.workflow.roles import Actor

if TYPE_CHECKING:
    from bot.workflow.procedure import Desk

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8  # 1-2 minutes of retries with a 1 s base: a database restart, not a bug
HEADS = 20  # requests read at once; each is claimed in the transaction that does it

_INSERT = insert(Inbox.__table__)
# Core statements built once (an ORM UPDATE also evaluates its WHERE against the session's
# objects, and building a statement costs as much as running it on SQLite)
_IT = Inbox.__table__
_UNCLAIMED = or_(_IT.c.claimed_until.is_(None), _IT.c.claimed_until < bindparam("now"))
_TAKE = (
    _IT.update()
    .where(_IT.c.id == bindparam("rid"), _IT.c.status == InboxStatus.PENDING, _UNCLAIMED)
    .values(claimed_until=bindparam("until"), claimed_by=bindparam("owner"))
)
_FINISH = (
    _IT.update()
    .where(_IT.c.id == bindparam("rid"))
    .values(
        status=bindparam("status"),
        attempts=bindparam("attempts"),
        claimed_until=None,
        claimed_by=None,
        done_at=bindparam("now"),
        case_id=bindparam("case_id"),
        outcome=bindparam("outcome"),
    )
)
_FINISH_PENDING = _FINISH.where(_IT.c.status == InboxStatus.PENDING, _UNCLAIMED)


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
    def __init__(self, sessions: sessionmaker) -> None:
        self.sessions = sessions
        self.readers = read_sessions(sessions, autocommit=True)  # single statements
        self._write_one = single_writes(sessions.kw["bind"])

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
            with self._write_one() as conn:
                conn.execute(_INSERT, row)
        except IntegrityError:
            return False
        return True

    def heads(self, limit: int = HEADS) -> list[Request]:
        """The oldest due requests nobody is doing, in order (read only: `take_in` claims
        each one in the transaction that does it)."""
        now = utcnow()
        with self.readers() as s:
            rows = s.scalars(
                select(Inbox)
                .where(
                    Inbox.status == InboxStatus.PENDING,
                    Inbox.next_attempt_at <= now,
                    or_(Inbox.claimed_until.is_(None), Inbox.claimed_until < now),
                )
                .order_by(Inbox.id)
                .limit(limit)
            ).all()
            return [
                Request(
                    row.id,
                    row.key,
                    row.kind,
                    row.user_id,
                    row.channel_id,
                    dict(row.payload or {}),
                    row.received_at,
                    row.attempts,
                )
                for row in rows
            ]

    def take_in(self, s: Session, req: Request) -> bool:
        """Claim `req` in the transaction `s` that does it; False when another worker has
        done it or is doing it. On PostgreSQL the row stays locked to the commit, so a
        second worker's claim waits and then finds it done; on SQLite the transaction
        holds the write lock. The claim is never seen committed: the same transaction
        records the request done (`finish_in`), or rolls back with the work, leaving the
        request pending for the next try (a crash leaves no claim to wait out)."""
        now = utcnow()
        params = {"rid": req.id, "now": now, "until": lease_until(now), "owner": owner_id()}
        won = s.execute(_TAKE, params).rowcount
        return won == 1

    def finish_in(
        self,
        s: Session,
        req: Request,
        outcome: str,
        *,
        case_id: int | None = None,
        failed: bool = False,
        pending: bool = False,
    ) -> bool:
        """Record `req` done or failed in `s`; with `pending`, only if nobody has since."""
        params = {
            "rid": req.id,
            "now": utcnow(),
            "status": InboxStatus.FAILED if failed else InboxStatus.DONE,
            "attempts": req.attempts + 1,
            "case_id": case_id,
            "outcome": outcome[:2000],
        }
        done = s.execute(_FINISH_PENDING if pending else _FINISH, params).rowcount
        return done == 1

    def finish_request(
        self, req: Request, outcome: str, *, case_id: int | None = None, failed: bool = False
    ) -> bool:
        """Record `req` done (or failed) in a transaction of its own: a refusal or a
        failure, after the transaction that tried it rolled back. False when it is no
        longer pending (another worker took it meanwhile and tells the person itself)."""
        with self.sessions() as s, s.begin():
            return self.finish_in(s, req, outcome, case_id=case_id, failed=failed, pending=True)

    def retry_request(self, req: Request, delay: float, error: str) -> None:
        with self.sessions() as s, s.begin():
            s.execute(
                update(Inbox)
                .where(Inbox.id == req.id, Inbox.status == InboxStatus.PENDING)
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


# --- what the handlers store ---------------------------------------------------------------


def intake_payload(form: Any) -> dict[str, Any]:
    return {"form": asdict(form)}


def step_payload(
    name: str, case_id: int, seen_step: int, data: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A step asked for: by a button (no data) or a form (its answers, already checked
    once by the handler, checked again under the case's lock by `Desk.take`)."""
    return {"step": name, "case_id": case_id, "seen_step": seen_step, "data": data or {}}


# --- the worker ----------------------------------------------------------------------------


def _backoff(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with full jitter (as the outbox sender's)."""
    return min(cap, base * (2 ** min(attempt, 16))) * (0.5 + random.random() / 2)


Tell = Callable[[str | None, str, str], None]


class InboxWorker(PollingLoop):
    """Does the accepted requests, in order, one at a time. A refusal (the case moved on,
    the wrong person) is told to the person in their language, as the handler would have."""

    name = "inbox-worker"

    def __init__(
        self,
        desk: Desk,
        *,
        actor: Callable[[str], Actor],
        tell: Tell,
        wake: Callable[[], None],
        locale: Callable[[str], str | None] = lambda user: None,
        base_delay: float = 1.0,
        before_each: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__()
        self.desk = desk
        self.inbox: RequestInbox = desk.inbox
        self.actor, self.tell, self.wake_outbox, self.locale = actor, tell, wake, locale
        self.before_each = before_each  # lets Slack's requests in flight go first
        self.base_delay = base_delay
        self._busy = threading.Lock()

    def round(self) -> int:
        return self.work()

    def busy(self) -> bool:
        """Whether the worker is doing requests now."""
        return self._busy.locked()

    def work(self, limit: int = 100) -> int:
        """Do up to `limit` due requests; returns how many were taken."""
        done = 0
        with self._busy:
            while done < limit and not self._stop.is_set():
                heads = self.inbox.heads(min(HEADS, limit - done))
                if not heads:
                    break
                for req in heads:
                    if self._stop.is_set():
                        break
                    self.before_each()
                    with use_locale(self.locale(req.user_id)):
                        self.handle(req)
                    done += 1
                    # its Slack effects are in the outbox now: a card goes out while the
                    # next requests are done, not after the last of a burst (the sender
                    # polls only every half second when nobody wakes it)
                    self.wake_outbox()
        return done

    def drain(self, timeout: float = 30.0) -> bool:
        """Do every pending request (tests, shutdown); True when none is left."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.work()
            if not self.inbox.pending_requests():
                return True
            time.sleep(0.01)
        return False

    def handle(self, req: Request) -> None:
        """Do one request: claimed, done and recorded done in one transaction (the desk's
        transaction joins it), so a filing costs one write, not three."""
        if req.kind not in ("intake", "step"):
            self.inbox.finish_request(req, f"unknown kind {req.kind!r}", failed=True)
            log.error("inbox %s: unknown kind %r", req.id, req.kind)
            return
        try:
            # who asked, before the transaction: it may ask Slack (never under a lock)
            actor = self.actor(req.user_id)
            with self.desk.transaction() as s:
                if not self.inbox.take_in(s, req):
                    return  # another worker did it, or is doing it
                if req.kind == "intake":
                    case_id, outcome = self._file(req, actor)
                else:
                    case_id, outcome = self._step(req, actor)
                self.inbox.finish_in(s, req, outcome, case_id=case_id)
        except WorkflowError as exc:
            if self.inbox.finish_request(req, f"refused: {exc}"):
                self.tell(req.channel_id, req.user_id, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - the database or a bug: retry, then give up
            attempts = req.attempts + 1
            if attempts < MAX_ATTEMPTS:
                delay = _backoff(req.attempts, self.base_delay, 60.0)
                log.warning("inbox %s (%s) retry in %.1fs: %r", req.id, req.kind, delay, exc)
                self.inbox.retry_request(req, delay, repr(exc))
                return
            log.exception("inbox %s (%s) failed for good", req.id, req.kind)
            if not self.inbox.finish_request(req, f"failed: {exc!r}", failed=True):
                return
            self.tell(
                req.channel_id,
                req.user_id,
                _(
                    "Sorry — the complaint desk could not record that. Nothing was changed; "
                    "please try again, and tell Technical Quality if it keeps failing."
                ),
            )
            return

    def _file(self, req: Request, actor: Actor) -> tuple[int, str]:
        form = IntakeForm(**req.payload["form"])
        # validated again as on the day it was sent (it passed then; this cannot drift)
        complaint = validate_intake(form, today=self.desk.today(req.received_at))
        case = self.desk.file_complaint(complaint, actor, req.received_at, request_key=req.key)
        return case.id, f"filed {case.ref}"

    def _step(self, req: Request, actor: Actor) -> tuple[int | None, str]:
        p = req.payload
        name, case_id = str(p["step"]), int(p["case_id"])
        if req.attempts and self.inbox.request_done(req.key):
            return case_id, "done before a restart"
        self.desk.take(
            name,
            case_id,
            actor,
            req.received_at,
            p.get("data") or {},
            expected_step=int(p["seen_step"]),
            request_key=req.key,
        )
        return case_id, name
