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
