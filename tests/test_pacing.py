"""Issue 9, point 2: rate limits never lose a message, and no lane stalls.

The scenario of `bench/due500.py` scaled down: the fake Slack allows 20 messages/s per
channel and the bot paces at that rate, so the test stays short; the bench runs 500 cases
at 1 message/s and prints the time taken against the pacing minimum."""

from __future__ import annotations

import threading

from bench.due500 import due_burst
from bot.slack.outbox import LANE_RUN
from bot.slack.pacing import ChannelPacer


def test_cases_falling_due_at_once_are_all_delivered_once_with_few_429(database_url, slack) -> None:
    n = 3 * LANE_RUN + 5  # the management lane runs past LANE_RUN several times
    out = due_burst(database_url, slack, cases=n, rate=20.0, timeout=120)
    assert out.failed_rows == 0
    # one overdue post per case in its thread (its nudges superseded, not sent late) and
    # one alert per case in the management channel, each exactly once
    assert set(out.thread_posts.values()) == {1}, out.thread_posts
    assert set(out.alerts.values()) == {1}, out.alerts
    assert len(out.thread_posts) == len(out.alerts) == n
    assert out.share_429 <= 0.05, (out.rate_limited, out.post_calls)


def test_a_429_pauses_the_whole_channel_for_threads_already_waiting() -> None:
    """Order of events, not time: a thread that queues for a paused channel posts only
    after the pause, while another channel goes on meanwhile."""
    pacer = ChannelPacer(0.01)
    events: list[str] = []
    pacer.wait("C1")
    pacer.pause("C1", 1.0)  # the 429's Retry-After
    waiting = threading.Thread(target=lambda: (pacer.wait("C1"), events.append("C1")))
    waiting.start()
    pacer.wait("C2")
    events.append("C2")
    assert pacer.paused_for("C1") > 0
    events.append("C1 still paused")
    waiting.join()
    assert events == ["C2", "C1 still paused", "C1"]
    assert pacer.paused_for("C1") == 0


def test_rate_limits_never_count_towards_giving_up(database_url, slack) -> None:
    """The bot does not pace here (interval 0) and may try a row only twice: every
    post is still delivered, because a 429 is not a failed attempt."""
    from sqlalchemy import select

    from bot.app import build
    from bot.models import Outbox
    from tests.conftest import make_settings
    from tests.test_faults import file
    from tests.test_security import NOW

    slack.error_next("chat.postMessage", "ratelimited", n=3)  # one row refused 3 times
    slack.rate_limit(per_second=5, retry_after=1, method="chat.postMessage")
    bot = build(
        make_settings(database_url, slack.url),
        clock=lambda: NOW,
        outbox_base_delay=0.01,
        channel_interval=0,
        with_scheduler=False,
    )
    bot.sender.max_attempts = 2
    bot.start_background()
    try:
        for i in range(12):
            file(bot.desk, NOW, i)
        assert bot.sender.drain(timeout=120)
        with bot.desk.readers() as s:
            rows = list(s.scalars(select(Outbox)))
    finally:
        bot.stop()
    assert sum(1 for c in slack.rejected if c.error == "ratelimited") >= 3
    assert rows and {r.status for r in rows} == {"sent"}
    assert max(r.attempts for r in rows) == 1


def test_a_quiet_channel_takes_a_short_burst_then_one_post_per_interval() -> None:
    """Slack allows short bursts above 1/s: the bucket lets `burst` posts go at once, and
    then the channel waits a whole interval (state, not time: the interval is 60 s)."""
    pacer = ChannelPacer(60.0, burst=3)
    for _ in range(3):
        assert pacer.ready_in("C1") == 0
        pacer.wait("C1")
    assert pacer.ready_in("C1") > 30  # the fourth waits for a token
    assert pacer.ready_in("C2") == 0  # another channel has its own bucket


def test_a_429_ends_the_burst_and_paces_the_channel_strictly_for_a_while() -> None:
    pacer = ChannelPacer(60.0, burst=8, cooldown=600)
    pacer.wait("C1")
    pacer.pause("C1", 0)  # Slack disagreed with our burst
    assert pacer.ready_in("C1") == 0  # one token once the pause is over
    assert pacer.burst_of("C1") == 1
    pacer.wait("C1")
    assert pacer.ready_in("C1") > 30  # then the strict pace, no burst left
    assert pacer.burst_of("C2") == 8
    relaxed = ChannelPacer(60.0, burst=8, cooldown=0)
    relaxed.pause("C1", 0)
    assert relaxed.burst_of("C1") == 8  # the cooldown over, the burst is back


def test_cards_waiting_for_a_channel_go_before_thread_posts() -> None:
    """Order of events: while the channel is busy, two thread posts and then a card queue
    for it; the card goes first."""
    pacer = ChannelPacer(0.001, burst=1)
    order: list[str] = []
    busy, release = threading.Event(), threading.Event()

    def hold() -> None:
        with pacer.slot("C1"):
            busy.set()
            release.wait(10)

    def post(name: str, priority: int) -> None:
        pacer.wait("C1", priority)
        order.append(name)

    holder = threading.Thread(target=hold)
    holder.start()
    busy.wait(10)
    threads = []
    for name, prio in (("thread 1", 1), ("thread 2", 1), ("card", 0)):
        t = threading.Thread(target=post, args=(name, prio))
        t.start()
        threads.append(t)
        while pacer.queued("C1") < len(threads):  # each is waiting before the next comes
            threading.Event().wait(0.001)
    release.set()
    for t in [holder, *threads]:
        t.join(10)
    assert order == ["card", "thread 1", "thread 2"]


def test_the_sender_posts_every_waiting_card_before_the_thread_posts(database_url, slack) -> None:
    """20 cases filed at once into one paced channel: the cards come first, so every case
    shows in the channel before the history of any; each card and post exactly once."""
    from bot.app import build
    from tests.conftest import COMPLAINTS, make_settings
    from tests.test_faults import TQ, file
    from tests.test_security import NOW

    bot = build(
        make_settings(database_url, slack.url),
        clock=lambda: NOW,
        outbox_base_delay=0.01,
        channel_interval=0.005,
        channel_burst=1,
        with_scheduler=False,
    )
    try:
        for i in range(20):
            # filed and confirmed: a card, then a thread post (the filing has none)
            case = file(bot.desk, NOW, i)
            bot.desk.take("confirm_information", case.id, TQ, NOW, {"category": "function"})
        bot.start_background()
        assert bot.sender.drain(timeout=120)
    finally:
        bot.stop()
    posts = [c for c in slack.calls_to("chat.postMessage") if c.args.get("channel") == COMPLAINTS]
    cards = [i for i, c in enumerate(posts) if not c.args.get("thread_ts")]
    threads = [c.args["thread_ts"] for c in posts if c.args.get("thread_ts")]
    assert len(cards) == len(threads) == len(set(threads)) == 20
    # a worker that finds no unclaimed card left may start its thread post while the last
    # cards are still on their way to the channel queue: at most one per other worker
    assert max(cards) < 20 + bot.sender.workers - 1, [bool(c.args.get("thread_ts")) for c in posts]
