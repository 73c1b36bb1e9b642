"""Fixtures: a real database (SQLite file, or PostgreSQL via TEST_DATABASE_URL), the fake
Slack Web API server, and the bot served over real HTTP with a movable clock."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text

from bot.app import Bot, build
from bot.config import Settings, load_settings
from bot.sandbox.fakeslack import FakeSlack
from tests.slackclient import SlackClient

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
MKT, MKT2 = "U0MKT1", "U0MKT2"
TQ, TQ2 = "U0TQ1", "U0TQ2"  # TQ2 holds the role through the user group S0TQGRP
MGR, MGR2 = "U0MGR1", "U0MGR2"
PROD, DEV = "U0PROD1", "U0DEV1"
OUTSIDER = "U0NOBODY"
COMPLAINTS, MANAGEMENT = "C0COMPLAIN", "C0MANAGE"

PG_URL = os.environ.get("TEST_DATABASE_URL", "")

# Property tests assert what comes out, never how fast: hypothesis's default 200 ms deadline
# per example and its too-slow health check are timings, and fail on a loaded machine.
hypothesis_settings.register_profile(
    "untimed", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("untimed")


class Clock:
    """Procedure time, moved by tests (never slept). Starts Tue 3 Mar 2026 10:00 Shanghai."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> datetime:
        self.now += timedelta(**kw)
        return self.now


def _reset_pg(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite"] + (["postgresql"] if PG_URL else []))
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """Every database test runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set."""
    if request.param == "postgresql":
        _reset_pg(PG_URL)
        return PG_URL
    return f"sqlite:///{tmp_path / 'complaints.sqlite3'}"


@pytest.fixture(scope="session")
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack(seed=7) as fake:
        yield fake


@pytest.fixture
def slack(fake_slack: FakeSlack) -> FakeSlack:
    fake_slack.reset()
    fake_slack.set_usergroup("S0TQGRP", [TQ2])
    for ch, name in ((COMPLAINTS, "complaints"), (MANAGEMENT, "management")):
        fake_slack.set_channel(ch, name=name, members=["UBOT000001", MKT, TQ, MGR])
    return fake_slack


def make_settings(database_url: str, slack_url: str, **over: str) -> Settings:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack_url,
        "DATABASE_URL": database_url,
        "COMPLAINTS_CHANNEL": COMPLAINTS,
        "MANAGEMENT_CHANNEL": MANAGEMENT,
        "TIMEZONE": "Asia/Shanghai",
        "HOLIDAY_COUNTRY": "CN",
        "MARKETING_USERS": f"{MKT},{MKT2}",
        "QUALITY_USERS": f"{TQ},S0TQGRP",
        "MANAGEMENT_USERS": f"{MGR},{MGR2}",
        "RESPONSIBLE_UNITS": f"production={PROD};development={DEV};purchasing=;warehouse=",
        "SCHEDULER_ENABLED": "false",
        **over,
    }
    return load_settings(env, dotenv=False)


class Running:
    """The bot behind a real HTTP server, plus the helpers a test needs."""

    def __init__(self, bot: Bot, url: str, clock: Clock, slack: FakeSlack) -> None:
        self.bot = bot
        self.url = url
        self.clock = clock
        self.fake = slack
        self.client = SlackClient(url + "/slack/events", SECRET, triggers=slack.issue_trigger)

    @property
    def desk(self) -> Any:
        return self.bot.desk

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until the listeners have finished what they acknowledged and every queued
        Slack effect is delivered (or failed for good)."""
        assert self.bot.wait_idle(timeout), "listeners still busy"
        assert self.bot.sender.drain(timeout), "outbox did not drain"


@pytest.fixture
def clock() -> Clock:
    return Clock()


def serve(bot: Bot) -> tuple[Any, str]:
    from waitress import create_server

    server = create_server(bot.wsgi(), host="127.0.0.1", port=0, threads=8)

    def run() -> None:
        with contextlib.suppress(OSError):  # the socket closed under select() at teardown
            server.run()

    threading.Thread(target=run, daemon=True).start()
    return server, f"http://127.0.0.1:{server.effective_port}"


def run_bot(settings: Any, clock: Clock, slack: FakeSlack) -> Iterator[Running]:
    """The bot built from `settings`, serving signed HTTP on a local port, until closed
    (fixtures `yield from` it)."""
    bot = build(
        settings, clock=clock, outbox_base_delay=0.02, outbox_max_delay=0.2, channel_interval=0
    )
    bot.start_background()
    server, url = serve(bot)
    try:
        yield Running(bot, url, clock, slack)
    finally:
        server.close()
        bot.stop()


@pytest.fixture
def running(database_url: str, slack: FakeSlack, clock: Clock) -> Iterator[Running]:
    yield from run_bot(make_settings(database_url, slack.url), clock, slack)
