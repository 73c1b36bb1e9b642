"""What the web side acks is stored first and done by the worker: kept when no worker runs,
done once however often Slack re-sends it, shared safely by several workers; and the
pieces that join a web process to its worker process (wake-ups, the in-flight count, the
SQLite write lock) work across real processes."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from select import select as readable_within
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import Bot, build
from bot.models import Case, CaseEvent, Inbox, InboxStatus, make_engine
from bot.models.base import WriterLock
from bot.sandbox.fakeslack import FakeSlack
from bot.wakeup import InFlight, Wakeup
from tests.conftest import COMPLAINTS, MKT, PROD, SECRET, TQ, Clock, make_settings, serve
from tests.procedure import INFORMED
from tests.slackclient import SlackClient
from tests.test_intake import GOOD


class Recording(SlackClient):
    """Remembers the last interaction payload, to send it again as Slack's retry does."""

    last: dict[str, Any]

    def interaction(self, payload: dict[str, Any], **kw: Any) -> Any:
        self.last = payload
        return super().interaction(payload, **kw)


def _bot(database_url: str, slack: FakeSlack, clock: Clock, role: str) -> Bot:
    settings = make_settings(database_url, slack.url)
    return build(
        settings,
        clock=clock,
        outbox_base_delay=0.02,
        outbox_max_delay=0.2,
        channel_interval=0,
        role=role,
    )


@pytest.fixture
def web(database_url: str, slack: FakeSlack, clock: Clock) -> Iterator[tuple[Bot, Recording]]:
    bot = _bot(database_url, slack, clock, "web")
    bot.start_background()  # a web process starts no worker, sender or scheduler
    server, url = serve(bot)
    try:
        yield bot, Recording(url + "/slack/events", SECRET, triggers=slack.issue_trigger)
    finally:
        server.close()
        bot.stop()


def inbox_rows(bot: Bot) -> list[Inbox]:
    with bot.desk.sessions() as s:
        return list(s.scalars(select(Inbox).order_by(Inbox.id)))


def open_intake_form(bot: Bot, client: SlackClient, slack: FakeSlack) -> dict[str, Any]:
    """`/complaint new` on the web side; the form as Slack opened it."""
    assert client.command(MKT, "new").status == 200
    assert bot.wait_idle()
    return slack.calls_to("views.open")[-1].args["view"]


def cards(slack: FakeSlack) -> list[Any]:
    return [
        c
        for c in slack.calls_to("chat.postMessage")
        if c.args.get("channel") == COMPLAINTS and "thread_ts" not in c.args
    ]


def test_acked_work_waits_for_a_worker_and_is_done_once(
    web: tuple[Bot, Recording], database_url: str, slack: FakeSlack, clock: Clock
) -> None:
    bot, client = web
    view = open_intake_form(bot, client, slack)
    reply = client.submit(MKT, view, GOOD, view_id="V0RETRIED")
    assert (reply.status, reply.body) == (200, "")
    # Slack re-sends the very same submission (it thought we timed out)
    again = client.interaction(client.last, headers={"X-Slack-Retry-Num": "1"})
    assert (again.status, again.body) == (200, "")
    assert bot.wait_idle()
    rows = inbox_rows(bot)
    assert [(r.kind, r.status, r.user_id) for r in rows] == [("intake", "pending", MKT)]
    with bot.desk.sessions() as s:
        assert s.scalar(select(func.count(Case.id))) == 0
    assert cards(slack) == []  # the web side sends nothing of the case itself

    # a worker starts later (after a crash, say) and does what was acked
    worker = _bot(database_url, slack, clock, "worker")
    worker.start_background()
    try:
        assert worker.wait_idle() and worker.sender.drain(15)
        (row,) = inbox_rows(bot)
        assert row.status == InboxStatus.DONE and row.case_id is not None
        case = worker.desk.get_case(row.case_id)
        assert case.received_at == clock.now  # the time of the request, not of the work
        assert len(cards(slack)) == 1

        # a step's form, acked by the web side, re-sent by Slack, taken once by the worker
        # (since issue 12(3c) "Customer informed" records what was said, in a form)
        case = _to_customer_notice(worker, case.id, clock)
        reply = client.click(MKT, "step:confirm_customer_informed", f"{case.id}:{case.step}")
        assert (reply.status, reply.body) == (200, "")
        assert bot.wait_idle()
        form = slack.calls_to("views.open")[-1].args["view"]
        reply = client.submit(MKT, form, INFORMED)
        assert (reply.status, reply.body) == (200, "")
        again = client.interaction(client.last, headers={"X-Slack-Retry-Num": "1"})
        assert again.status == 200
        assert [r.kind for r in inbox_rows(bot)] == ["intake", "step"]
        worker.wakeup()  # what the web process's pipe does between processes
        assert worker.wait_idle() and worker.sender.drain(15)
        with worker.desk.sessions() as s:
            kinds = list(s.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id)))
        assert kinds == [
            "filed",
            "confirm_information",
            "decide_responsibility",
            "confirm_customer_informed",
        ]
        assert all(r.status == InboxStatus.DONE for r in inbox_rows(bot))
    finally:
        worker.stop()


def test_a_refused_click_is_told_and_recorded(
    web: tuple[Bot, Recording], database_url: str, slack: FakeSlack, clock: Clock
) -> None:
    bot, client = web
    worker = _bot(database_url, slack, clock, "worker")
    worker.start_background()
    try:
        case = worker.desk.file_complaint(
            _complaint(GOOD, clock), worker.directory.actor(MKT), clock()
        )
        # Marketing may not approve the report (a direct step, with Slack's confirm
        # dialog): the worker says so, as the handler did
        case = _to_approval(worker, case.id, clock)
        reply = client.click(MKT, "step:approve_report", f"{case.id}:{case.step}")
        assert reply.status == 200
        worker.wakeup()
        assert worker.wait_idle()
        (row,) = inbox_rows(bot)
        assert row.status == InboxStatus.DONE and row.outcome.startswith("refused: Only")
        told = [c.args["text"] for c in slack.calls_to("chat.postEphemeral")]
        assert any("Only Management" in t for t in told)
        assert worker.desk.get_case(case.id).step == case.step
    finally:
        worker.stop()


def _to_customer_notice(worker: Bot, case_id: int, clock: Clock) -> Any:
    """Technical Quality confirms and finds the customer responsible: Marketing's direct
    step "Customer informed" is next."""
    tq = worker.directory.actor(TQ)
    worker.desk.take("confirm_information", case_id, tq, clock(), {"category": "function"})
    decision = {"party": "customer", "reason": "mounting damage by the customer's jig"}
    return worker.desk.take("decide_responsibility", case_id, tq, clock(), decision)


def _to_approval(worker: Bot, case_id: int, clock: Clock) -> Any:
    """Our fault, production's reports in: management's direct step "Approve" is next."""
    from tests.test_procedure_e2e import CA, CONTAIN, PA

    tq, prod, now = worker.directory.actor(TQ), worker.directory.actor(PROD), clock()
    worker.desk.take("confirm_information", case_id, tq, now, {"category": "function"})
    ours = {"party": "ours", "units": ["production"], "reason": "our SMT line"}
    worker.desk.take("decide_responsibility", case_id, tq, now, ours)
    worker.desk.take("classify_severity", case_id, tq, now, {"severity": "C"})
    worker.desk.take("record_containment", case_id, prod, now, CONTAIN)
    worker.desk.take("submit_corrective_action", case_id, prod, now, CA)
    return worker.desk.take("submit_preventive_action", case_id, prod, now, PA)


def _complaint(answers: dict[str, Any], clock: Clock) -> Any:
    from bot.workflow import IntakeForm, validate_intake

    form = IntakeForm(**{**answers, "deadline": None, "urgent": False})
    return validate_intake(form, today=clock().date())


def test_two_workers_share_the_inbox_without_doing_a_request_twice(
    web: tuple[Bot, Recording], database_url: str, slack: FakeSlack, clock: Clock
) -> None:
    bot, client = web
    view = open_intake_form(bot, client, slack)
    for _ in range(12):
        assert client.submit(MKT, view, GOOD).status == 200
    workers = [_bot(database_url, slack, clock, "worker") for _ in range(2)]
    try:
        done = []
        threads = [
            threading.Thread(target=lambda w=w: done.append(w.worker.drain(30))) for w in workers
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert done == [True, True]
        rows = inbox_rows(bot)
        assert len(rows) == 12 and all(r.status == InboxStatus.DONE for r in rows)
        assert len({r.case_id for r in rows}) == 12
        with bot.desk.sessions() as s:
            assert s.scalar(select(func.count(Case.id))) == 12
    finally:
        for w in workers:
            w.stop()


# --- between processes -----------------------------------------------------------------


def test_a_wakeup_crosses_a_pipe() -> None:
    read_fd, write_fd = os.pipe()
    sender, receiver = Wakeup(), Wakeup()
    sender.send_to(write_fd)
    woken = threading.Event()
    receiver.subscribe(woken.set)
    stop = threading.Event()
    receiver.listen_to(read_fd, stop)
    try:
        sender()
        assert woken.wait(5)
    finally:
        stop.set()
        os.close(write_fd)


def test_the_in_flight_count_is_shared_with_a_forked_process() -> None:
    """The worker (a forked child) sees the web side's request in flight and waits for its
    end: asserted by the order of events (the child's wait returns with the count back at
    0, after the parent said it finished), not by how long anything took."""
    in_flight = InFlight(shared=True, max_wait=600)  # only the request's end can end the wait
    in_flight.started()
    to_parent, from_child = os.pipe()
    pid = os.fork()
    if pid == 0:
        seen = in_flight.count()
        os.write(from_child, b"w")  # about to wait
        in_flight.yield_to_requests()
        os._exit(0 if seen == 1 and in_flight.count() == 0 else 1)
    assert os.read(to_parent, 1) == b"w"
    in_flight.finished()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    # nothing in flight: no wait at all, even with a long max_wait
    in_flight.yield_to_requests()
    # a stuck count (a web process died mid-request) holds the worker for max_wait only:
    # this returns although the count never falls
    in_flight.max_wait = 0.05
    in_flight.started()
    in_flight.yield_to_requests()
    assert in_flight.count() == 1
    in_flight.reset()
    assert in_flight.count() == 0


def test_the_sqlite_write_lock_excludes_another_process(tmp_path: Any) -> None:
    """The child asks for the lock the parent holds; it gets it only after the parent let
    go (order of events through a pipe, no clock)."""
    path = str(tmp_path / "x.sqlite3")
    lock = WriterLock(path)
    assert lock.acquire(timeout=1)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write_fd, b"a")  # asking now
        ok = lock.acquire(timeout=60)
        os.write(write_fd, b"g")  # got it
        lock.release()
        os._exit(0 if ok else 1)
    assert os.read(read_fd, 1) == b"a"
    # the child is blocked on the lock: nothing more arrives while the parent holds it
    readable, _, _ = readable_within([read_fd], [], [], 0.3)
    assert readable == []
    lock.release()
    assert os.read(read_fd, 1) == b"g"
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_single_statement_readers_open_no_transaction(database_url: str) -> None:
    """The readers of single statements (the inbox's and the sender's heads, a card's
    case) send their statement alone: no BEGIN before it (on SQLite half of what the worker
    sent per filing), and they still read what writers committed, not what they have not."""
    from sqlalchemy import event

    from bot.models import make_session_factory
    from bot.models.base import read_sessions

    engine = make_engine(database_url)
    try:
        from bot.db import migrate

        migrate(engine)
        sessions = make_session_factory(engine)
        single, whole = read_sessions(sessions, autocommit=True), read_sessions(sessions)
        sent: list[str] = []

        def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            sent.append(statement.split()[0].upper())

        def count() -> int:
            with single() as s:
                return int(s.scalar(select(func.count(Inbox.id))) or 0)

        before = count()
        with sessions() as w, w.begin():
            now = datetime.now(UTC)
            w.add(Inbox(key="k1", kind="step", user_id=MKT, received_at=now, next_attempt_at=now))
            w.flush()
            assert count() == before  # not committed yet: not seen
        event.listen(engine, "before_cursor_execute", seen)
        try:
            assert count() == before + 1
            assert sent == ["SELECT"]
            if engine.dialect.name == "sqlite":  # a whole read still opens its transaction
                with whole() as s:
                    s.scalar(select(func.count(Inbox.id)))
                assert sent == ["SELECT", "BEGIN", "SELECT"]
        finally:
            event.remove(engine, "before_cursor_execute", seen)
    finally:
        engine.dispose()


def test_web_and_worker_processes_write_one_sqlite_file(tmp_path: Any) -> None:
    """Both sides' writers, in two processes, through the engine's lock: no `database is
    locked`, no lost write."""
    from sqlalchemy import text

    url = f"sqlite:///{tmp_path / 'two.sqlite3'}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE n (i INTEGER)"))
        conn.execute(text("INSERT INTO n VALUES (0)"))
    engine.dispose()
    pids = []
    for _ in range(2):
        pid = os.fork()
        if pid == 0:
            e = make_engine(url)
            try:
                for _ in range(200):
                    with e.begin() as conn:
                        v = conn.execute(text("SELECT i FROM n")).scalar_one()
                        conn.execute(text("UPDATE n SET i = :v"), {"v": v + 1})
                code = 0
            except Exception:  # noqa: BLE001 - reported by the exit code
                code = 1
            os._exit(code)
        pids.append(pid)
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT i FROM n")).scalar_one() == 400
    engine.dispose()


def test_the_worker_waits_for_requests_before_its_transactions_never_inside(
    tmp_path: Any,
) -> None:
    """The worker's gate runs before a transaction takes the SQLite write lock, so a web
    process can write while the worker waits; and not again for a read inside it, which
    would hold the write lock through the wait."""
    from sqlalchemy import text

    from bot.models.base import READ_ONLY

    url = f"sqlite:///{tmp_path / 'gate.sqlite3'}"
    web_side = make_engine(url)
    with web_side.begin() as conn:
        conn.execute(text("CREATE TABLE t (i INTEGER)"))
    wrote: list[bool] = []

    def web_writes_meanwhile() -> None:
        def write() -> None:
            with web_side.begin() as conn:
                conn.execute(text("INSERT INTO t VALUES (1)"))

        t = threading.Thread(target=write)
        t.start()
        t.join(5)
        wrote.append(not t.is_alive())

    worker_side = make_engine(url, before_transaction=web_writes_meanwhile)
    with worker_side.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (2)"))
        with worker_side.execution_options(**{READ_ONLY: True}).begin() as read:
            assert read.execute(text("SELECT count(*) FROM t")).scalar_one() == 1
    assert wrote == [True]  # once, for the outer transaction, and the web side got in
    with worker_side.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == 3
    assert wrote == [True, True]
    web_side.dispose()
    worker_side.dispose()


def test_healthz_fails_while_acked_requests_wait_for_a_stuck_worker(
    web: tuple[Bot, Recording], database_url: str, slack: FakeSlack, clock: Clock
) -> None:
    import urllib.error
    import urllib.request
    from datetime import timedelta

    from sqlalchemy import update

    from bot.models import utcnow

    bot, client = web
    health = client.url.replace("/slack/events", "/healthz")

    def status() -> tuple[int, str]:
        try:
            with urllib.request.urlopen(health) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    view = open_intake_form(bot, client, slack)
    assert client.submit(MKT, view, GOOD).status == 200
    assert status() == (200, "ok")  # just acked: the worker has minutes yet
    with bot.desk.sessions() as s, s.begin():  # ... and six of them have gone by
        s.execute(update(Inbox).values(next_attempt_at=utcnow() - timedelta(minutes=6)))
    code, text = status()
    assert code == 503 and text.startswith("worker behind: 1 acknowledged request")
    worker = _bot(database_url, slack, clock, "worker")
    try:
        assert worker.worker.drain(15)
    finally:
        worker.stop()
    assert status() == (200, "ok")
