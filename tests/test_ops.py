"""Operations: settings validation, migrations in step with the models, `doctor`."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bot.config import SettingsError, load_settings
from bot.db import migrate, schema_status
from bot.doctor import REQUIRED_SCOPES, run_checks
from bot.models import Base, make_engine
from tests.conftest import make_settings

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
    assert current == head == "0001"


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
    from tests.fakeslack import FakeSlack

    with FakeSlack(scopes="commands,chat:write") as narrow:
        checks = {c.name: c for c in run_checks(make_settings(database_url, narrow.url))}
    assert not checks["scopes"].ok
    for scope in set(REQUIRED_SCOPES) - {"commands", "chat:write"}:
        assert scope in checks["scopes"].detail


def test_run_serves_http_and_stops_cleanly_on_ctrl_c(tmp_path, slack) -> None:
    """`complaint-bot run` migrates, answers /healthz and exits 0 on SIGINT."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "s",
        "COMPLAINTS_CHANNEL": "C0COMPLAIN",
        "SLACK_API_URL": slack.url,
        "PORT": str(port),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.sqlite3'}",
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--host", "127.0.0.1"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        status = None
        while time.monotonic() < deadline and status is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    status = r.status
            except OSError:
                time.sleep(0.2)
        assert status == 200
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "No roles configured" in out and "stopping" in out
