"""500 cases falling due at once, against a fake Slack that allows 1 message/s per channel.

After a long holiday every open case's corrective-action deadline may pass on the same
morning: each case then owes an "overdue" post in its thread (the complaints channel)
and an alert in the management channel. Slack allows about one message per second per
channel, so the pacing minimum is one channel's share: N posts take N seconds. Printed:
the 429 answers (count and share of the calls), what was delivered, and the time taken
against that minimum. Run: `.venv/bin/python -m bench.due500 [--cases 500] [--rate 1]`
(about 8–9 minutes with the defaults, by construction). The test suite runs the same
scenario scaled down (tests/test_pacing.py)."""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import COMPLAINTS, MANAGEMENT, MKT, bot_env, setup_fake

START = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)  # Tue 3 Mar 2026 10:00 in Shanghai


@dataclass
class Outcome:
    cases: int
    thread_posts: dict[str, int]  # case ref -> "overdue" posts in its thread
    alerts: dict[str, int]  # case ref -> overdue alerts in the management channel
    post_calls: int  # chat.postMessage calls answered (sent)
    rate_limited: int  # chat.postMessage calls answered 429
    failed_rows: int
    seconds: float  # from the tick to the last delivery

    @property
    def share_429(self) -> float:
        total = self.post_calls + self.rate_limited
        return self.rate_limited / total if total else 0.0


def due_burst(
    database_url: str,
    fake: Any,
    *,
    cases: int,
    rate: float,
    timeout: float = 1200.0,
    fake_burst: float = 1.0,
) -> Outcome:
    """File `cases` cases, let their corrective-action deadline pass, tick once and let
    the sender deliver what the tick queued while `fake` allows `rate` posts/s per channel
    (and a burst of `fake_burst`) and the bot paces at that rate, with its own burst
    (SLACK_CHANNEL_BURST, 10 by default): where the fake allows less, the first 429 of
    each channel halves the bot's burst, and the pace goes on without bursts."""
    from sqlalchemy import func, select

    from bot.app import build
    from bot.config import load_settings
    from bot.models import Case, Outbox
    from bot.workflow import Actor, IntakeForm, Role, validate_intake
    from bot.workflow.reminders import run_tick

    now = START
    # the replies' burst alone: the steps' clocks (issue 12) would add their own notices
    env = {**bot_env(database_url, fake.url), "STEP_CLOCK_REMINDERS": "false"}
    settings = load_settings(env, dotenv=False)
    bot = build(
        settings,
        clock=lambda: now,
        channel_interval=1.0 / rate,
        outbox_base_delay=0.05,
        with_scheduler=False,
    )
    marketing = Actor(MKT, frozenset({Role.MARKETING}))
    # the cards and their first posts go out unpaced: they are the set-up, not the test
    bot.sender.pacer.interval = 0
    bot.start_background()
    try:
        for i in range(cases):
            form = IntakeForm(
                customer=f"Customer {i}",
                contact="c",
                product="P",
                lots="L",
                quantity="1",
                via="email",
                description=f"defect {i}",
            )
            bot.desk.file_complaint(validate_intake(form, today=now.date()), marketing, now)
        bot.sender.wake()
        if not bot.sender.drain(timeout):
            raise RuntimeError("the cards were not delivered")
        bot.sender.pacer.interval = 1.0 / rate
        fake.rate_limit(per_second=rate, retry_after=1, method="chat.postMessage", burst=fake_burst)
        mark = len(fake.calls)
        rejected_mark = len(fake.rejected)
        # Thu 09:00: every corrective-action reply was due Wed 17:30 (its two nudges are
        # due too, and superseded); the preventive-action nudges are not due yet
        now = START + timedelta(hours=47)
        started = time.monotonic()
        run_tick(bot.desk, now, worker="bench")
        bot.sender.wake()
        drained = bot.sender.drain(timeout)
        seconds = time.monotonic() - started
        if not drained:
            raise RuntimeError(f"not delivered within {timeout:.0f} s")
        with bot.desk.readers() as s:
            failed = s.scalar(select(func.count(Outbox.id)).where(Outbox.status == "failed"))
            refs = {c.card_ts: c.ref for c in s.scalars(select(Case))}
    finally:
        bot.stop()
    posts = [c for c in fake.calls[mark:] if c.method == "chat.postMessage"]
    threads = {ref: 0 for ref in refs.values()}
    alerts = {ref: 0 for ref in refs.values()}
    for c in posts:
        text = str(c.args.get("text", ""))
        if c.args.get("channel") == COMPLAINTS and c.args.get("thread_ts") in refs:
            threads[refs[c.args["thread_ts"]]] += 1
        elif c.args.get("channel") == MANAGEMENT and "verdue" in text:
            ref = next((r for r in alerts if r in text), None)
            if ref:
                alerts[ref] += 1
    limited = [
        c
        for c in fake.rejected[rejected_mark:]
        if c.method == "chat.postMessage" and c.status == 429
    ]
    return Outcome(cases, threads, alerts, len(posts), len(limited), int(failed or 0), seconds)


def main() -> int:
    from bench.common import check_database_name
    from bench.prefill import reset_database
    from bot.sandbox.fakeslack import FakeSlack

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=500)
    ap.add_argument("--rate", type=float, default=1.0, help="messages/s per channel")
    ap.add_argument(
        "--fake-burst",
        type=float,
        default=1.0,
        help="posts the fake Slack takes at once in a quiet channel (Slack gives no number; "
        "1, the strictest, makes the bot's own burst of SLACK_CHANNEL_BURST meet 429s)",
    )
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument(
        "--pg-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1/bench"
        ),
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.db == "postgresql":
            check_database_name(args.pg_url)
            reset_database(args.pg_url)
            url = args.pg_url
        else:
            url = f"sqlite:///{tmp}/due500.sqlite3"
        with FakeSlack(seed=9) as fake:
            setup_fake(fake)
            out = due_burst(url, fake, cases=args.cases, rate=args.rate, fake_burst=args.fake_burst)
    # the fake's bucket: its burst at once, then one per 1/rate s, in each of the 2 channels
    minimum = max(1.0, args.cases - args.fake_burst + 1) / args.rate
    delivered_threads = sum(1 for n in out.thread_posts.values() if n == 1)
    delivered_alerts = sum(1 for n in out.alerts.values() if n == 1)
    doubles = sum(1 for d in (out.thread_posts, out.alerts) for n in d.values() if n > 1)
    print(f"cases falling due at once : {out.cases} ({args.db})")
    print(
        f"fake Slack allows         : {args.rate:g} message/s per channel (chat.postMessage), "
        f"burst {args.fake_burst:g}"
    )
    print(f"overdue thread posts      : {delivered_threads}/{out.cases} delivered once")
    print(f"management alerts         : {delivered_alerts}/{out.cases} delivered once")
    print(f"delivered twice           : {doubles}")
    print(f"outbox rows failed        : {out.failed_rows}")
    print(f"chat.postMessage sent     : {out.post_calls}")
    print(f"answered 429              : {out.rate_limited} ({out.share_429:.1%} of the calls)")
    print(
        f"time taken                : {out.seconds:.1f} s; pacing minimum {minimum:.0f} s "
        f"(+{out.seconds / minimum - 1:.1%})"
    )
    ok = (
        delivered_threads == delivered_alerts == out.cases
        and not doubles
        and not out.failed_rows
        and out.share_429 <= 0.05
        and out.seconds <= minimum * 1.10
    )
    print("PASS" if ok else "MISS", "(all delivered once, <= 5 % 429, within 10 % of the minimum)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
