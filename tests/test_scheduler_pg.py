"""Reminders on PostgreSQL with two bot processes: every reminder fires exactly once.

Two threads stand for two processes: each has its own engine, session factory and `Desk`
on the same database and ticks the same moments at the same time (a barrier lines them
up), several times per moment. Whatever the interleaving, every reminder must be claimed
by one of them and produce its outbox rows once. A second test races steps against
ticks, which must neither deadlock nor leave a reminder both cancelled and sent.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, select, text

from bot.config import load_settings
from bot.models import Base, Outbox, Reminder, make_engine, make_session_factory
from bot.workflow import Desk, IntakeForm, validate_intake
from bot.workflow.reminders import TickResult, install_hook, run_tick
from tests.test_reminders import ENV, MKT, SH, TQ

URL = os.environ.get("TEST_DATABASE_URL")
pytestmark = pytest.mark.skipif(
    not URL,
    reason="TEST_DATABASE_URL is not set: these tests need PostgreSQL, e.g. "
    "TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test "
    "(the schema `public` of that database is dropped and recreated)",
)

CORRECTIVE = {
    "category": "method",
    "why": "worn fixture",
    "disposition": "sort",
    "actions": "new fixture",
    "owner": "U0PROD",
    "planned": "2025-12-01",
}
# outbox rows each kind of reminder produces (two alert channels: management + C0ALERTS)
EXPECTED = {
    "nudge": Counter({"nudge_thread": 1, "nudge_dm": 1}),
    "overdue": Counter({"overdue_thread": 1, "reminder_alert": 1}),
    "escalation": Counter({"reminder_alert": 2}),
    "severity_a": Counter({"reminder_alert": 2}),
}


def sh(mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(2025, mo, d, h, mi, tzinfo=SH)


@pytest.fixture
def engine() -> Iterator[Engine]:
    assert URL is not None
    eng = make_engine(URL)
    with eng.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    Base.metadata.create_all(eng)
    yield eng
    eng.dispose()


def new_desk(now: Callable[[], datetime] = lambda: sh(9, 30, 10)) -> tuple[Desk, Engine]:
    """A desk of its own, as a separate bot process would have."""
    assert URL is not None
    eng = make_engine(URL)
    desk = Desk(make_session_factory(eng), load_settings(ENV, dotenv=False), clock=now)
    install_hook(desk)
    return desk, eng


def file(desk: Desk, at: datetime, i: int) -> int:
    form = IntakeForm(
        customer=f"Customer {i}",
        contact="x",
        product="Valve",
        lots="L1",
        quantity="5",
        via="email",
        description="leak",
    )
    return desk.file_complaint(validate_intake(form, today=at.astimezone(SH).date()), MKT, at).id


def to_containment(desk: Desk, case_id: int, at: datetime, severity: str) -> None:
    desk.take("confirm_information", case_id, TQ, at, {"category": "function"})
    desk.take(
        "decide_responsibility",
        case_id,
        TQ,
        at,
        {"party": "ours", "units": ["production"], "reason": "x"},
    )
    desk.take("classify_severity", case_id, TQ, at, {"severity": severity})


def run_in_threads(workers: list[Callable[[], None]]) -> None:
    errors: list[BaseException] = []

    def wrap(fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                fn()
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)

        return run

    threads = [threading.Thread(target=wrap(fn)) for fn in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a worker hung (deadlock?)"
    assert errors == []


def test_two_processes_ticking_together_send_each_reminder_once(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    setup, setup_engine = new_desk()
    ids = [file(setup, sh(9, 30, 9, i), i) for i in range(12)]
    ids += [file(setup, sh(10, 9, 10, i), 100 + i) for i in range(4)]
    for cid in ids[-4:]:
        to_containment(setup, cid, sh(10, 9, 10, 30), "A")  # severity A repeats daily
    setup_engine.dispose()

    # every working half hour from the digest eve to the end of the escalation ladder,
    # ticked three times by each process
    moments = []
    t = sh(10, 8, 18)
    while t <= sh(10, 16, 18):
        moments.append(t)
        t += timedelta(minutes=30)
    barrier = threading.Barrier(2)
    results: dict[str, list[TickResult]] = {"A": [], "B": []}

    def process(name: str) -> Callable[[], None]:
        def work() -> None:
            desk, eng = new_desk()
            try:
                for moment in moments:
                    barrier.wait(30)
                    for _ in range(3):
                        results[name].append(run_tick(desk, moment, worker=name))
            finally:
                eng.dispose()

        return work

    run_in_threads([process("A"), process("B")])

    check, check_engine = new_desk()
    with check.sessions() as s:
        reminders = list(s.scalars(select(Reminder)))
        outbox = [r for r in s.scalars(select(Outbox)) if r.payload.get("reminders")]
    check_engine.dispose()
    last = moments[-1]
    assert [r.key for r in reminders if r.status == "pending" and r.due_at <= last] == []
    sent = {r.id: r for r in reminders if r.status == "sent"}
    assert {r.done_by for r in sent.values()} <= {"A", "B"}
    total = sum(x.sent for rs in results.values() for x in rs)
    assert total == len(sent), "each reminder claimed by exactly one tick"

    per_reminder: dict[int, Counter[str]] = {rid: Counter() for rid in sent}
    for row in outbox:
        for rid in row.payload["reminders"]:
            per_reminder[rid][row.kind] += 1
    kinds = Counter(r.kind for r in sent.values())
    assert kinds["nudge"] and kinds["overdue"] and kinds["escalation"] and kinds["severity_a"]
    assert kinds["digest"] >= 2
    for rid, got in per_reminder.items():
        kind = sent[rid].kind
        if kind == "digest":
            assert got in (Counter(), Counter({"digest": 1})), (sent[rid].key, got)
        else:
            assert got == EXPECTED[kind], (sent[rid].key, got)
    # one digest per channel per working day, never two
    digests = Counter(
        (r.payload["channel"], r.payload["date"]) for r in outbox if r.kind == "digest"
    )
    assert digests and set(digests.values()) == {1}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_steps_racing_ticks_neither_deadlock_nor_double_up(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    setup, setup_engine = new_desk()
    ids = [file(setup, sh(9, 30, 10), i) for i in range(20)]
    for cid in ids:
        to_containment(setup, cid, sh(9, 30, 11), "B")
        setup.take("record_containment", cid, TQ, sh(9, 30, 11), {"actions": "sorted"})
    setup_engine.dispose()
    moment = sh(10, 9, 15, 30)  # the corrective "2h" nudge of every case is due
    done = threading.Event()

    def submit() -> None:
        desk, eng = new_desk(lambda: moment)
        try:
            for cid in ids:
                desk.take("submit_corrective_action", cid, TQ, moment, CORRECTIVE)
        finally:
            done.set()
            eng.dispose()

    def tick() -> None:
        desk, eng = new_desk(lambda: moment)
        try:
            while not done.is_set():
                run_tick(desk, moment, worker="T")
            run_tick(desk, moment, worker="T")
        finally:
            eng.dispose()

    run_in_threads([submit, tick, tick])

    check, check_engine = new_desk()
    with check.sessions() as s:
        ca = [r for r in s.scalars(select(Reminder)) if ":ca:" in r.key]
        outbox = [r for r in s.scalars(select(Outbox)) if r.payload.get("reminders")]
    check_engine.dispose()
    fired = Counter(rid for row in outbox for rid in row.payload["reminders"])
    for r in ca:
        if r.due_at <= moment:
            assert r.status in ("sent", "cancelled"), r.key
            assert fired[r.id] == (2 if r.status == "sent" else 0), r.key
        else:
            assert r.status == "cancelled", r.key  # the report is in: no overdue, no ladder
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
