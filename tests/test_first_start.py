"""A first start as a newcomer makes it: the real `complaint-bot` command in a subprocess,
with the example `.env`, a refused token, an unreachable Slack, and the settings check
and `doctor` agreeing on every value."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from blocks.modals import step_modal
from bot.config import EXAMPLE_IDS, EXIT_CONFIG, SettingsError, load_settings
from bot.db import migrate
from bot.doctor import run_checks
from bot.models import make_engine
from bot.sandbox.fakeslack import FakeSlack, _ApiError, validate_view
from bot.workflow.calendar import WorkingHours
from bot.workflow.steps import STEPS
from bot.workflow.view import LABELS
from tests.conftest import COMPLAINTS, MKT, SECRET, TQ, make_settings

ROOT = Path(__file__).resolve().parent.parent
ENV_EXAMPLE = ROOT / ".env.example"
BASE = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "COMPLAINTS_CHANNEL": "C0AB"}
SLACK_NAMES = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "COMPLAINTS_CHANNEL",
    "MANAGEMENT_CHANNEL",
)


def complaint_bot(*args: str, cwd: Path, timeout: float = 60, **env: str) -> Any:
    """The installed console script (`pip install -e .`), as the README runs it."""
    script = Path(sys.executable).parent / "complaint-bot"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "bot"]
    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT), **env}
    return subprocess.run(
        [*command, *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def example_assignments() -> list[tuple[str, str]]:
    """Every NAME=value in .env.example, commented-out examples included."""
    pairs = re.findall(r"\b([A-Z][A-Z_]+)=(\S+)", ENV_EXAMPLE.read_text())
    return [(n, v) for n, v in pairs if n.isupper()]


# -- 1. the example .env ---------------------------------------------------------------


def test_run_and_doctor_with_the_example_env_name_each_placeholder(tmp_path: Path) -> None:
    shutil.copy(ENV_EXAMPLE, tmp_path / ".env")
    run = complaint_bot("run", "--host", "127.0.0.1", cwd=tmp_path)
    assert run.returncode == EXIT_CONFIG, run.stdout + run.stderr
    out = run.stdout + run.stderr
    assert "Traceback" not in out
    lines = out.strip().splitlines()
    assert len(lines) <= 8, out
    for name in SLACK_NAMES:
        line = next(x for x in lines if x.lstrip(" -").startswith(name))
        assert "example value" in line and "README § Slack set-up" in line, line
    assert "Signing Secret (Slack app > Basic Information)" in out
    assert "Channel ID" in out and "OAuth & Permissions" in out
    # nothing of Slack is set up: the sandbox is pointed out, in one line
    assert sum("complaint-bot sandbox" in x for x in lines) == 1

    doctor = complaint_bot("doctor", cwd=tmp_path)
    assert doctor.returncode != 0
    assert "all present and well-formed" not in doctor.stdout
    for name in SLACK_NAMES:
        assert name in doctor.stdout


def test_sandbox_hint_only_when_no_slack_setting_is_real(tmp_path: Path) -> None:
    run = complaint_bot("run", cwd=tmp_path, SLACK_BOT_TOKEN="xoxb-real-1", PORT="http")
    assert run.returncode == EXIT_CONFIG
    assert "complaint-bot sandbox" not in run.stdout and "PORT" in run.stdout


def test_every_placeholder_of_env_example_is_recognised() -> None:
    pairs = example_assignments()
    ids = {i for _, v in pairs for i in re.findall(r"\b[CGUWS]0[0-9A-Z]{6,}\b", v)}
    assert ids and ids <= EXAMPLE_IDS, ids - EXAMPLE_IDS
    checked = 0
    for name, value in pairs:
        placeholder = "your-" in value or any(i in value for i in EXAMPLE_IDS)
        if not placeholder:
            continue
        checked += 1
        with pytest.raises(SettingsError) as e:
            load_settings({**BASE, name: value}, dotenv=False)
        assert any(p.startswith(name) and "example value" in p for p in e.value.problems), (
            name,
            e.value.problems,
        )
    assert checked >= 9  # tokens, secret, channels, and the commented-out role examples
    units = re.search(r"e\.g\.\s+(production=\S+)", ENV_EXAMPLE.read_text())
    assert units is not None
    with pytest.raises(SettingsError) as e:
        load_settings({**BASE, "RESPONSIBLE_UNITS": units[1]}, dotenv=False)
    assert all("example value" in p for p in e.value.problems)


# -- 1. a token Slack refuses; the supervisor does not restart failed start-up checks ---


def _run_env(tmp_path: Path, slack: FakeSlack, **extra: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": SECRET,
        "COMPLAINTS_CHANNEL": COMPLAINTS,
        "SLACK_API_URL": slack.url,
        "PORT": str(free_port()),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.sqlite3'}",
        **extra,
    }


@pytest.mark.parametrize("error", ["invalid_auth", "account_inactive", "token_revoked"])
def test_a_refused_token_stops_run_with_one_line(tmp_path: Path, slack: FakeSlack, error) -> None:
    slack.error_next("auth.test", error, n=3)
    run = complaint_bot("run", "--host", "127.0.0.1", cwd=tmp_path, **_run_env(tmp_path, slack))
    lines = (run.stdout + run.stderr).strip().splitlines()
    assert run.returncode == EXIT_CONFIG
    assert len(lines) == 1, lines
    assert error in lines[0] and "SLACK_BOT_TOKEN" in lines[0] and "OAuth" in lines[0]


class RevokedAfterFirstCheck(FakeSlack):
    """Accepts the token once (the supervisor's check), refuses it from then on, as if it
    were revoked while the bot started: the web process fails its own start-up check."""

    def _api_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        if any(c.method == "auth.test" for c in self.calls):
            raise _ApiError("token_revoked")
        return super()._api_auth_test(args)


def test_supervisor_does_not_restart_a_child_that_failed_start_up(tmp_path: Path) -> None:
    with RevokedAfterFirstCheck() as fake:
        run = complaint_bot("run", "--host", "127.0.0.1", cwd=tmp_path, **_run_env(tmp_path, fake))
        refused = [c for c in fake.rejected if c.method == "auth.test"]
    out = run.stdout + run.stderr
    assert run.returncode == EXIT_CONFIG, out
    assert "token_revoked" in out and "Traceback" not in out
    assert "restarting" not in out and not re.search(r"web process \d+ started", out)
    # the web process asked once (Bolt) and once more to say why; nobody asked again
    assert len(refused) == 2, [c.method for c in fake.calls]


# -- 2. doctor: unreachable vs refused, people, hours, units, channels; not interleaved --


def test_doctor_tells_unreachable_from_refused(database_url: str, slack: FakeSlack) -> None:
    closed = f"http://127.0.0.1:{free_port()}/api/"
    checks = run_checks(make_settings(database_url, closed))
    slack_check = next(c for c in checks if c.name == "slack")
    assert not slack_check.ok and "unreachable" in slack_check.detail
    assert "connection" in slack_check.detail and "not the token" in slack_check.fix
    assert not any(c.name == "bot token" for c in checks)

    tls = slack.url.replace("http://", "https://")  # TLS spoken to a plain-HTTP server
    detail = next(c for c in run_checks(make_settings(database_url, tls)) if c.name == "slack")
    assert "TLS" in detail.detail, detail

    dns = "http://complaint-desk-test.invalid/api/"
    detail = next(c for c in run_checks(make_settings(database_url, dns)) if c.name == "slack")
    assert "DNS" in detail.detail, detail

    accepted = {c.name: c for c in run_checks(make_settings(database_url, slack.url))}
    assert accepted["bot token"].ok and "slack" not in accepted
    slack.error_next("auth.test", "invalid_auth")
    refused = {c.name: c for c in run_checks(make_settings(database_url, slack.url))}
    assert "slack" not in refused and not refused["bot token"].ok
    assert "invalid_auth" in refused["bot token"].detail
    assert "Bot User OAuth Token" in refused["bot token"].fix


def test_doctor_names_people_who_do_not_exist(database_url: str, slack: FakeSlack) -> None:
    migrate(make_engine(database_url))
    slack.set_user(TQ, deleted=True)
    slack.error_next("users.info", "user_not_found")  # the first one asked: MARKETING's U0MKT1
    checks = {c.name: c for c in run_checks(make_settings(database_url, slack.url))}
    assert not checks["people in MARKETING_USERS"].ok
    assert "U0MKT1 (user_not_found)" in checks["people in MARKETING_USERS"].detail
    assert "U0MKT2" not in checks["people in MARKETING_USERS"].detail
    assert f"{TQ} (deactivated)" in checks["people in QUALITY_USERS"].detail
    assert "Copy member ID" in checks["people in QUALITY_USERS"].fix
    assert "people in MANAGEMENT_USERS" not in checks
    slack.set_user(TQ, deleted=False)
    assert {c.name: c for c in run_checks(make_settings(database_url, slack.url))}["people"].ok


def test_doctor_output_is_not_interleaved_with_log_lines(tmp_path: Path) -> None:
    """A failed call logs its error as it happens; the report still comes out whole."""
    env = {
        **BASE,
        "SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/",
        "QUALITY_USERS": "U0TQ1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'd.sqlite3'}",
    }
    script = Path(sys.executable).parent / "complaint-bot"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "bot"]
    merged = subprocess.run(
        [*command, "doctor"],
        cwd=tmp_path,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
    )
    assert merged.returncode == 1
    lines = merged.stdout.splitlines()
    report = [i for i, x in enumerate(lines) if x[:1] in ("✓", "✗") or x.startswith("    fix:")]
    assert report == list(range(report[0], report[-1] + 1)), merged.stdout
    assert any("unreachable" in lines[i] for i in report)
    assert "Failed to send a request" in merged.stdout  # the log line, kept, after the report


@pytest.mark.parametrize("hours", ["17:30-08:30", "25:00-26:00", "12:00-12:00", "8-17", "9:60-17"])
def test_working_hours_are_checked_fully(hours: str, tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as e:
        load_settings({**BASE, "WORKING_HOURS": hours}, dotenv=False)
    assert [p for p in e.value.problems if p.startswith("WORKING_HOURS")]
    doctor = complaint_bot("doctor", cwd=tmp_path, **BASE, WORKING_HOURS=hours)
    assert doctor.returncode == 1 and "WORKING_HOURS" in doctor.stdout  # doctor agrees


@pytest.mark.parametrize("hours", ["08:30-17:30", "0:00-23:59", "9:00-12:00"])
def test_accepted_working_hours_run_the_calendar(hours: str) -> None:
    settings = load_settings({**BASE, "WORKING_HOURS": hours}, dotenv=False)
    assert WorkingHours.parse(settings.working_hours).end > WorkingHours.parse(hours).start


def test_unit_names_may_be_any_text_without_separators() -> None:
    s = load_settings(
        {**BASE, "RESPONSIBLE_UNITS": "生产部=U02;Quality Lab=U03,S04;采购 部=;dev-2="},
        dotenv=False,
    )
    assert list(s.units) == ["生产部", "quality lab", "采购 部", "dev-2"]
    assert s.units["生产部"].users == {"U02"}
    for bad in ("=U01", " =U01", "prod,x=U01", "a" * 41 + "=U01", "生产部=U1;生产部=U2"):
        with pytest.raises(SettingsError) as e:
            load_settings({**BASE, "RESPONSIBLE_UNITS": bad}, dotenv=False)
        assert e.value.problems[0].startswith("RESPONSIBLE_UNITS"), bad


def test_a_chinese_unit_renders_within_block_kit_limits() -> None:
    vm = {"ref": "CC-2026-0001", "id": 1, "step": 3, "customer": "客户", "product": "P"}
    view = step_modal(STEPS["decide_responsibility"], vm, labels=LABELS, units=["生产部", "采购部"])
    assert validate_view(view) == []
    units = next(b for b in view["blocks"] if b.get("block_id") == "units")
    assert [o["value"] for o in units["element"]["options"]] == ["生产部", "采购部"]


def test_channel_errors_say_where_to_find_the_id() -> None:
    with pytest.raises(SettingsError) as e:
        load_settings({**BASE, "COMPLAINTS_CHANNEL": "#complaints"}, dotenv=False)
    assert "Channel ID" in e.value.problems[0] and "channel details" in e.value.problems[0]


# -- 4. read-only commands need only DATABASE_URL; unmigrated is one line --------------


def test_export_on_an_unmigrated_database_is_one_line(tmp_path: Path, database_url: str) -> None:
    make_engine(database_url).dispose()
    (tmp_path / "empty.sqlite3").touch()
    url = database_url if "postgresql" in database_url else f"sqlite:///{tmp_path}/empty.sqlite3"
    out = complaint_bot("export", "CC-2026-0001", cwd=tmp_path, DATABASE_URL=url)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.strip().count("\n") == 0, out.stderr
    assert "complaint-bot migrate" in out.stderr and "Traceback" not in out.stderr


# -- 5. a quiet, useful start ------------------------------------------------------------


def test_start_lines_say_mode_port_database_and_channels() -> None:
    s = load_settings(
        {
            **BASE,
            "DATABASE_URL": "postgresql+psycopg://desk:s3cret@db:5432/complaints",
            "MANAGEMENT_CHANNEL": "C0MGT",
        },
        dotenv=False,
    )
    line = s.describe(3999)
    assert "HTTP mode, port 3999" in line and "s3cret" not in line
    assert "postgresql+psycopg://desk:***@db:5432/complaints" in line
    assert "complaints C0AB" in line and "management C0MGT" in line
    socket_mode = load_settings({**BASE, "SLACK_APP_TOKEN": "xapp-1"}, dotenv=False)
    assert socket_mode.describe().startswith("Socket Mode")


def test_run_starts_quietly(tmp_path: Path, slack: FakeSlack) -> None:
    from tests.test_ops import _start_run

    proc, port, log_path = _start_run(tmp_path, slack, QUALITY_USERS=TQ, MARKETING_USERS=MKT)
    assert _wait_for(
        lambda: len(re.findall(r"(web|worker) process \d+ started", log_path.read_text())) == 2
    )
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=60)  # a loaded machine stops slowly; the exit is what matters here
    finally:
        if proc.poll() is None:
            proc.kill()
    out = log_path.read_text()
    assert proc.returncode == 0, out
    start = out.split("stopping")[0]
    assert "alembic" not in start and "apscheduler" not in start
    assert "`token` will be unused" not in out and "Traceback" not in out
    described = [x for x in start.splitlines() if f"HTTP mode, port {port}" in x]
    assert len(described) == 3, start  # supervisor, web, worker: one line each
    for line in described:
        assert "database sqlite:///" in line and f"channels: complaints {COMPLAINTS}" in line


def _wait_for(check: Any, timeout: float = 20) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False
