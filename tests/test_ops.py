"""Operations: settings validation, migrations in step with the models, `doctor`."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from bot.config import SettingsError, load_settings
from bot.db import migrate, schema_status
from bot.doctor import REQUIRED_SCOPES, run_checks
from bot.handlers.views import intake_view
from bot.models import Base, make_engine
from tests.conftest import COMPLAINTS, MKT, PG_URL, SECRET, make_settings
from tests.slackclient import SlackClient
from tests.test_intake import GOOD

BASE = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "COMPLAINTS_CHANNEL": "C0AB"}


def test_settings_report_every_problem_at_once() -> None:
    with pytest.raises(SettingsError) as e:
        load_settings(
            {
                "SLACK_BOT_TOKEN": "xoxp-user",
                "PORT": "http",
                "TIMEZONE": "Mars/Base",
                "QUALITY_USERS": "U0TQ1,bob",
                "WORKING_HOURS": "9-5",
                "EXTRA_HOLIDAYS": "2026-13-01",
                "SLACK_API_URL": "ftp://x",
            },
            dotenv=False,
        )
    text = str(e.value)
    for name in (
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "COMPLAINTS_CHANNEL",
        "PORT",
        "TIMEZONE",
        "QUALITY_USERS",
        "WORKING_HOURS",
        "EXTRA_HOLIDAYS",
        "SLACK_API_URL",
    ):
        assert name in text, name


def test_settings_defaults_and_roles() -> None:
    s = load_settings(
        {
            **BASE,
            "QUALITY_USERS": "U0TQ1 S0GRP",
            "RESPONSIBLE_UNITS": "production=U0P1;development=",
        },
        dotenv=False,
    )
    assert s.database_url.startswith("sqlite") and s.port == 3000 and not s.socket_mode
    assert s.quality.users == {"U0TQ1"} and s.quality.groups == {"S0GRP"}
    assert list(s.units) == ["production", "development"]
    assert s.management_channel == "C0AB"  # alerts fall back to the complaints channel
    assert not load_settings(BASE, dotenv=False).roles_configured


def test_migrations_match_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    migrate(engine)  # idempotent: safe on every start
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    current, head = schema_status(engine)
    assert current is not None and current == head


def test_doctor_says_what_to_fix(database_url: str, slack) -> None:
    slack.set_channel("C0COMPLAIN", name="complaints", members=["U0SOMEONE"])
    slack.error_next("usergroups.users.list", "plan_upgrade_required")
    settings = make_settings(database_url, slack.url)
    checks = {c.name: c for c in run_checks(settings)}
    assert not checks["database"].ok and "complaint-bot migrate" in checks["database"].fix
    assert checks["bot token"].ok
    assert checks["scopes"].ok
    assert not checks["complaints channel"].ok and "/invite" in checks["complaints channel"].fix
    group = checks["QUALITY_USERS group S0TQGRP"]
    assert not group.ok and "paid Slack plan" in group.fix
    migrate(make_engine(database_url))
    assert {c.name: c for c in run_checks(settings)}["database"].ok


def test_doctor_names_missing_scopes(database_url: str, fake_slack) -> None:
    from bot.sandbox.fakeslack import FakeSlack

    with FakeSlack(scopes="commands,chat:write") as narrow:
        checks = {c.name: c for c in run_checks(make_settings(database_url, narrow.url))}
    assert not checks["scopes"].ok
    for scope in set(REQUIRED_SCOPES) - {"commands", "chat:write"}:
        assert scope in checks["scopes"].detail


def _start_run(tmp_path: Any, slack: Any, **extra: str) -> tuple[Any, int, Path]:
    """`python -m bot run` as a deployment starts it, its log in a file."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    port = int(extra.pop("PORT", port))  # a test may ask for a port used before
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": SECRET,
        "COMPLAINTS_CHANNEL": COMPLAINTS,
        "SLACK_API_URL": slack.url,
        "PORT": str(port),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.sqlite3'}",
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
        **extra,
    }
    log_path = tmp_path / "run.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--host", "127.0.0.1"],
        env=env,
        cwd=tmp_path,
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60  # a hang guard; a loaded machine starts slowly
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return proc, port, log_path
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("the bot did not come up:\n" + log_path.read_text())


def _wait(check: Any, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def _stop(proc: Any, log_path: Path) -> str:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    return log_path.read_text()


def test_run_splits_web_and_worker_and_restarts_a_killed_worker(tmp_path, slack) -> None:
    """`complaint-bot run` (WORKER_PROCESS=true, the default): the web process acks a
    form after storing it, the worker process files it and posts the card; a worker
    killed with SIGKILL is started again and picks up what was acked meanwhile; Ctrl-C
    stops everything with exit code 0."""
    proc, port, log_path = _start_run(tmp_path, slack)
    client = SlackClient(
        f"http://127.0.0.1:{port}/slack/events", SECRET, triggers=slack.issue_trigger
    )
    view = json.loads(json.dumps(intake_view(COMPLAINTS)))

    def cards() -> list[Any]:
        return [
            c
            for c in slack.calls_to("chat.postMessage")
            if c.args.get("channel") == COMPLAINTS and "thread_ts" not in c.args
        ]

    try:
        reply = client.submit(MKT, view, GOOD)
        assert (reply.status, reply.body) == (200, "")
        assert _wait(lambda: len(cards()) == 1), log_path.read_text()
        text = log_path.read_text()
        web = re.findall(r"web process (\d+) started", text)
        worker = re.findall(r"worker process (\d+) started", text)
        assert len(web) == len(worker) == 1 and web != worker
        assert int(worker[0]) != proc.pid

        os.kill(int(worker[0]), signal.SIGKILL)
        # acked by the web process while no worker runs: kept in the inbox, not lost
        reply = client.submit(MKT, view, GOOD)
        assert (reply.status, reply.body) == (200, "")
        assert _wait(lambda: len(cards()) == 2, 30), log_path.read_text()
        assert len(re.findall(r"worker process (\d+) started", log_path.read_text())) == 2
    finally:
        out = _stop(proc, log_path)
    assert proc.returncode == 0, out
    assert "No roles configured" in out and "restarting" in out and "stopped" in out


def test_run_in_one_process_when_asked(tmp_path, slack) -> None:
    """WORKER_PROCESS=false: one process answers and works (systems without fork())."""
    proc, port, log_path = _start_run(tmp_path, slack, WORKER_PROCESS="false")
    client = SlackClient(
        f"http://127.0.0.1:{port}/slack/events", SECRET, triggers=slack.issue_trigger
    )
    view = json.loads(json.dumps(intake_view(COMPLAINTS)))
    try:
        assert client.submit(MKT, view, GOOD).status == 200
        # the card (the filing's one message since issue 10, 7(d))
        assert _wait(lambda: len(slack.calls_to("chat.postMessage")) >= 1), log_path.read_text()
    finally:
        out = _stop(proc, log_path)
    assert proc.returncode == 0, out
    assert "worker process" not in out and "stopping" in out


def test_a_stopped_bot_leaves_no_descriptor_open(tmp_path, slack) -> None:
    """A bot that stops closes what it opened: its kept-alive connections to Slack (in
    every thread that made a call) and its SQLite writer-lock file. Both used to stay open,
    a few per bot, until a long test run passed select()'s limit of 1024 descriptors."""
    import gc

    from bot.app import build
    from tests.conftest import make_settings

    def open_fds() -> int:
        gc.collect()
        return len(os.listdir("/proc/self/fd"))

    def one(i: int) -> None:
        bot = build(make_settings(f"sqlite:///{tmp_path / f'd{i}.sqlite3'}", slack.url))
        calls = [threading.Thread(target=bot.gateway.call, args=("auth.test",)) for _ in range(3)]
        for t in calls:
            t.start()
        for t in calls:
            t.join(10)
        bot.desk.count_cases()  # a transaction: the writer lock file is opened
        with bot.desk.transaction() as s:
            s.execute(text("select 1"))
        bot.stop()

    one(0)  # imports, caches and the fake's first threads
    before = open_fds()
    for i in range(1, 6):
        one(i)
    assert open_fds() - before <= 2, os.listdir("/proc/self/fd")


@pytest.mark.skipif(
    not PG_URL, reason="a connection dropped by the server: PostgreSQL only (TEST_DATABASE_URL)"
)
def test_a_pooled_connection_the_server_dropped_is_replaced(monkeypatch) -> None:
    """Connections idle for PING_AFTER_IDLE_SECONDS are tested before use and replaced when
    the server has dropped them (a restart, a firewall); one in use moments ago is not
    tested: its transaction fails once, and the pool replaces it for the next."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import DBAPIError

    from bot.models import base

    engine = make_engine(PG_URL, pool_size=1, max_overflow=0)
    killer = create_engine(PG_URL)

    def backend() -> int:
        with engine.connect() as c:
            return int(c.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())

    def drop(pid: int) -> None:
        with killer.begin() as k:
            assert k.exec_driver_sql(f"SELECT pg_terminate_backend({pid})").scalar_one()

    try:
        monkeypatch.setattr(base, "PING_AFTER_IDLE_SECONDS", 0.0)  # every one counts as idle
        first = backend()
        drop(first)
        second = backend()  # tested at checkout, found dead, replaced: no error
        assert second != first
        monkeypatch.setattr(base, "PING_AFTER_IDLE_SECONDS", 3600.0)  # all count as hot
        drop(second)
        with pytest.raises(DBAPIError) as failed:
            backend()
        assert failed.value.connection_invalidated
        assert backend() not in (first, second)
    finally:
        engine.dispose()
        killer.dispose()
