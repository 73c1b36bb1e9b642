"""Claims on the outbox and the inbox, raced on purpose: two bot processes (two engines on
one database) read the same row as free, then both try to claim it. A barrier holds each
one after its read and before its claim, so the race happens on every run, on SQLite and
on PostgreSQL; the tests assert who won, never how long anything took.

The barrier sits at the end of each engine's first read (after the row was seen free,
before the claim): on SQLite a write transaction holds the file's write lock, so waiting
inside one would only deadlock the other process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, select

from bot.app import Bot, build
from bot.models import Inbox, Outbox, OutboxStatus
from bot.models.base import READ_ONLY
from bot.models.leases import LEASE_SECONDS
from bot.sandbox.fakeslack import FakeSlack
from bot.slack.outbox import OutboxSender
from bot.workflow import Actor, Role, turns, validate_intake
from bot.workflow.inbox import Request
from tests.conftest import COMPLAINTS, MKT, make_settings
from tests.test_workflow import FORM

NOW = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
RACE_TIMEOUT = 60  # a guard against a hang, not a measurement


def engine_of(bot: Bot) -> Engine:
    return bot.desk.sessions.kw["bind"]


def hold_after_first_read(engine: Engine, barrier: threading.Barrier) -> None:
    """Make the engine's first read transaction wait at `barrier` when it ends: a sender or
    worker has then seen the row as free and not yet claimed it. (A read holds no SQLite
    write lock, so the other process can reach the barrier too.)"""
    fired: list[bool] = []

    def after_read(conn: Any) -> None:
        if not conn.get_execution_options().get(READ_ONLY, False) or fired:
            return
        fired.append(True)
        barrier.wait()

    event.listen(engine, "rollback", after_read)
    event.listen(engine, "commit", after_read)


def race(*work: Callable[[], Any]) -> list[Any]:
    """Run each callable in its own thread at once; their results, in order."""
    results: list[Any] = [None] * len(work)
    errors: list[BaseException] = []

    def run(i: int, fn: Callable[[], Any]) -> None:
        try:
            results[i] = fn()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(work)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(RACE_TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a racer hung"
    assert errors == []
    return results


@pytest.fixture
def two_bots(database_url: str, slack: FakeSlack) -> Iterator[tuple[Bot, Bot]]:
    """Two bot processes' worth of engine, desk, inbox and sender on one database."""
    settings = make_settings(database_url, slack.url)
    bots = [
        build(settings, clock=lambda: NOW, channel_interval=0, with_scheduler=False)
        for _ in range(2)
    ]
    try:
        yield bots[0], bots[1]
    finally:
        for b in bots:
            b.stop()


def file_one(bot: Bot) -> int:
    form = FORM
    filer = Actor(MKT, frozenset({Role.MARKETING}))
    return bot.desk.file_complaint(validate_intake(form, today=NOW.date()), filer, NOW).id


def cards_posted(slack: FakeSlack) -> list[Any]:
    return [
        c
        for c in slack.calls_to("chat.postMessage")
        if c.args["channel"] == COMPLAINTS and "thread_ts" not in c.args
    ]


def outbox(bot: Bot) -> list[Outbox]:
    with bot.desk.sessions() as s:
        return list(s.scalars(select(Outbox).order_by(Outbox.id)))


# --- the outbox -----------------------------------------------------------------------------


def test_two_senders_racing_for_one_row_deliver_it_once(
    two_bots: tuple[Bot, Bot], slack: FakeSlack
) -> None:
    a, b = two_bots
    with a.desk.transaction() as s:  # a Home in use: its refresh is a second lane
        turns.home_opened(s, MKT, NOW)
    file_one(a)
    heads = a.sender.heads()
    assert heads and [h.id for h in heads] == [h.id for h in b.sender.heads()]  # both free
    barrier = threading.Barrier(2, timeout=RACE_TIMEOUT)
    for bot in (a, b):
        hold_after_first_read(engine_of(bot), barrier)
    started = race(a.sender.pump, b.sender.pump)
    # the card was started by exactly one of them; the Home refresh waits for it
    assert sum(started) == 1
    assert a.sender.drain(30) and b.sender.drain(30)
    assert len(cards_posted(slack)) == 1
    rows = outbox(a)
    assert [r.status for r in rows] == [OutboxStatus.SENT] * len(rows)
    assert [r.attempts for r in rows] == [1] * len(rows)
    # each row went once: the case's card and, after it, the Home refresh
    assert sorted(r.kind for r in rows) == ["card_post", "home_refresh"]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_a_sender_whose_threads_are_all_delivering_does_not_look_for_more_lanes(
    two_bots: tuple[Bot, Bot], slack: FakeSlack
) -> None:
    """With every delivery thread busy, a round of the sender starts nothing: it does not
    query the lane heads either (under a burst that query was a tenth of the worker's
    time); the lane that finishes wakes it, and the waiting lane goes then."""
    a, _ = two_bots
    file_one(a)
    file_one(a)  # two cases: two lanes, each with its card first
    t0 = datetime.now(UTC) + timedelta(minutes=1)  # rows are due from when they were queued
    sender = OutboxSender(
        a.desk.sessions, a.sender.delivery, clock=Clock(t0), channel_interval=0, workers=1
    )
    looked: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "outbox AS outbox_1" in statement:  # the heads query's "no earlier row" test
            looked.append(statement)

    engine = engine_of(a)
    slack.delay_responses("chat.postMessage", 1.0)  # the first card's call stays in flight
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert sender.pump() == 1
        assert len(looked) == 1
        assert sender.pump() == 0  # its one thread is delivering: nothing can start
        assert len(looked) == 1, "the lane heads were queried with no thread to take one"
    finally:
        event.remove(engine, "before_cursor_execute", seen)
        slack.delay_responses("chat.postMessage", 0)
        assert sender.drain(30)
        sender.stop()
    assert len(cards_posted(slack)) == 2


def test_an_expired_outbox_claim_is_taken_over(two_bots: tuple[Bot, Bot], slack: FakeSlack) -> None:
    a, b = two_bots
    file_one(a)
    t0 = datetime.now(UTC) + timedelta(minutes=1)  # rows are due from when they were queued
    clock_a, clock_b = Clock(t0), Clock(t0)
    crashed = OutboxSender(a.desk.sessions, a.sender.delivery, clock=clock_a, channel_interval=0)
    taker = OutboxSender(b.desk.sessions, b.sender.delivery, clock=clock_b, channel_interval=0)
    try:
        row = crashed.heads()[0]
        assert crashed._claim(row)  # then its process dies without delivering
        assert row.id not in [h.id for h in taker.heads()]
        assert not taker._claim(row)
        clock_b.now = t0 + timedelta(seconds=LEASE_SECONDS)  # the lease still holds
        assert row.id not in [h.id for h in taker.heads()] and not taker._claim(row)
        clock_b.now += timedelta(seconds=1)  # expired: the other process takes it over
        assert row.id in [h.id for h in taker.heads()]
        assert taker.drain(30)
    finally:
        crashed.stop()
        taker.stop()
    assert len(cards_posted(slack)) == 1
    assert all(r.status == OutboxStatus.SENT for r in outbox(a))


# --- the inbox ------------------------------------------------------------------------------


def accept(bot: Bot, key: str) -> None:
    assert bot.desk.inbox.accept_request(
        key=key,
        kind="step",
        user_id=MKT,
        channel_id=COMPLAINTS,
        payload={"step": "confirm_information", "case_id": 1, "seen_step": 1},
        now=NOW,
    )


def take(bot: Bot, req: Request) -> bool:
    """What a worker does with a request it read: claim it, do it (nothing, here) and
    record it done, in one transaction."""
    with bot.desk.transaction() as s:
        if not bot.desk.inbox.take_in(s, req):
            return False
        bot.desk.inbox.finish_in(s, req, "done")
        return True


def test_two_workers_racing_for_one_request_get_it_once(two_bots: tuple[Bot, Bot]) -> None:
    a, b = two_bots
    accept(a, "action:U0MKT1:1.1:t1")
    barrier = threading.Barrier(2, timeout=RACE_TIMEOUT)
    for bot in (a, b):
        hold_after_first_read(engine_of(bot), barrier)

    def work(bot: Bot) -> bool:
        (req,) = bot.desk.inbox.heads()  # both see it pending, then both try to take it
        return take(bot, req)

    got = race(lambda: work(a), lambda: work(b))
    assert sorted(got) == [False, True]
    with a.desk.readers() as s:
        (row,) = s.scalars(select(Inbox)).all()
    assert row.status == "done" and row.attempts == 1 and row.claimed_by is None
    # and neither sees it again
    assert a.desk.inbox.heads() == [] and b.desk.inbox.heads() == []


def test_a_worker_that_dies_doing_a_request_leaves_it_to_another(
    two_bots: tuple[Bot, Bot],
) -> None:
    """The claim is made in the transaction that does the request: a worker that dies in
    it (its transaction rolls back) leaves no claim to wait out."""
    a, b = two_bots
    accept(a, "action:U0MKT1:2.2:t2")
    (first,) = a.desk.inbox.heads()
    with pytest.raises(RuntimeError), a.desk.transaction() as s:
        assert a.desk.inbox.take_in(s, first)
        raise RuntimeError("the process dies here")
    (again,) = b.desk.inbox.heads()
    assert again.id == first.id and again.key == first.key
    assert take(b, again)
    assert a.desk.inbox.heads() == [] and not take(a, first)


def test_a_home_refresh_waits_for_the_cards_queued_with_it(
    two_bots: tuple[Bot, Bot], slack: FakeSlack
) -> None:
    """A Home in use is rebuilt once the other work is done (up to HOME_WAIT_SECONDS), so a
    burst's changes merge into one refresh and its build does not hold back the cards."""
    a, _b = two_bots
    with a.desk.transaction() as s:
        turns.home_opened(s, MKT, NOW)
    file_one(a)
    assert sorted(h.kind for h in a.sender.heads()) == ["card_post", "home_refresh"]
    assert a.sender.pump() == 1  # the card only
    assert a.sender.drain(30)  # then the Home, once nothing else is left
    assert [r.status for r in outbox(a)] == [OutboxStatus.SENT] * 2
    assert len(cards_posted(slack)) == 1 and slack.calls_to("views.publish")
