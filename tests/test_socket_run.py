"""Socket Mode through the real command: `complaint-bot run` (supervisor, web and worker
processes) and `doctor`, against the local Socket Mode endpoint behind the fake Slack."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from bot.doctor import run_checks
from bot.handlers.views import intake_view
from bot.sandbox.fakeslack import FakeSlack
from bot.sandbox.socketmode import SocketModeServer
from tests.conftest import COMPLAINTS, MKT, make_settings
from tests.test_intake import GOOD
from tests.test_ops import _start_run, _wait
from tests.test_socket_mode import APP_TOKEN, SocketSlack


def test_doctor_checks_the_app_token(database_url: str, slack: FakeSlack) -> None:
    settings = make_settings(database_url, slack.url, SLACK_APP_TOKEN=APP_TOKEN)
    assert {c.name: c for c in run_checks(settings)}["app token"].ok
    slack.error_next("apps.connections.open", "invalid_auth")
    check = {c.name: c for c in run_checks(settings)}["app token"]
    assert not check.ok and "invalid_auth" in check.detail
    assert "App-Level Tokens" in check.fix and "SLACK_APP_TOKEN" in check.fix
    http_mode = make_settings(database_url, slack.url)
    assert "app token" not in {c.name for c in run_checks(http_mode)}


def _healthz(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def _cards(slack: FakeSlack) -> list[Any]:
    return [
        c
        for c in slack.calls_to("chat.postMessage")
        if c.args.get("channel") == COMPLAINTS and "thread_ts" not in c.args
    ]


def test_run_in_socket_mode(tmp_path: Path, slack: FakeSlack) -> None:
    """`complaint-bot run` with SLACK_APP_TOKEN: /healthz answers on PORT, 200 only while
    the socket is connected; a command and a form come over the socket (the web process
    acks, the worker posts the card); a dropped connection is replaced; SIGTERM stops it."""
    server: SocketModeServer = slack.socket_mode
    proc, port, log_path = _start_run(tmp_path, slack, SLACK_APP_TOKEN=APP_TOKEN)
    client = SocketSlack(server, slack.issue_trigger)
    try:
        assert "connected to Slack in Socket Mode" in log_path.read_text()
        assert client.command(MKT, "new").status == 200
        assert _wait(lambda: len(slack.calls_to("views.open")) == 1), log_path.read_text()
        view = slack.calls_to("views.open")[0].args["view"]
        reply = client.submit(MKT, view, GOOD)
        assert (reply.status, reply.body) == (200, "")
        assert _wait(lambda: len(_cards(slack)) == 1), log_path.read_text()

        hellos = server.hellos
        server.greeting.clear()  # the next connection waits for its hello
        server.drop()
        assert _wait(lambda: _healthz(port) == 503), "healthy without a connection"
        server.greeting.set()
        assert server.wait_for_hellos(hellos + 1)
        assert _wait(lambda: _healthz(port) == 200), log_path.read_text()
        form = json.loads(json.dumps(intake_view(COMPLAINTS)))
        reply = client.submit(MKT, form, GOOD)
        assert (reply.status, reply.body) == (200, "")
        assert _wait(lambda: len(_cards(slack)) == 2), log_path.read_text()
        with pytest.raises(urllib.error.HTTPError) as not_here:
            urllib.request.urlopen(
                urllib.request.Request(f"http://127.0.0.1:{port}/slack/events", b"{}"), timeout=5
            )
        assert not_here.value.code == 404  # Socket Mode: Slack's requests come over the socket
    finally:
        server.greeting.set()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
    out = log_path.read_text()
    assert proc.returncode == 0, out
    assert f"Socket Mode, port {port}," in out  # /healthz listens on PORT in Socket Mode too
    assert "Socket Mode connection lost; reconnecting" in out
    assert out.index("Socket Mode connection lost") < out.index("reconnected to Slack")
    assert "web process" in out and "stopped" in out


def test_ctrl_c_cuts_a_restart_pause_short(tmp_path: Path, slack: FakeSlack) -> None:
    """A worker that keeps dying is restarted after growing pauses (1, 2, 4, 8 s); Ctrl-C
    in the 8-second pause stops everything at once, without restarting the worker (the
    6-second bound below is shorter than the pause; the time it takes is in bench/socket.py)."""
    proc, _, log_path = _start_run(tmp_path, slack, SLACK_APP_TOKEN=APP_TOKEN)

    def started() -> list[str]:
        return re.findall(r"worker process (\d+) started", log_path.read_text())

    try:
        for n in range(1, 5):
            assert _wait(lambda n=n: len(started()) == n, 30), log_path.read_text()
            os.kill(int(started()[-1]), signal.SIGKILL)
        assert _wait(lambda: "restarting in 8s" in log_path.read_text()), log_path.read_text()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=6)
    finally:
        if proc.poll() is None:
            proc.kill()
    out = log_path.read_text()
    assert proc.returncode == 0, out
    assert len(started()) == 4 and out.rstrip().endswith("stopped"), out


def test_run_stops_with_one_line_when_slack_refuses_the_app_token(
    tmp_path: Path, slack: FakeSlack
) -> None:
    slack.error_next("apps.connections.open", "invalid_auth")
    with socket.socket() as sock:  # a free port, in case it did not stop
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_APP_TOKEN": APP_TOKEN,
        "COMPLAINTS_CHANNEL": COMPLAINTS,
        "SLACK_API_URL": slack.url,
        "PORT": str(port),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.sqlite3'}",
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--host", "127.0.0.1"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert done.returncode != 0
    assert len(lines) == 1, lines
    assert "Slack refused SLACK_APP_TOKEN (invalid_auth)" in lines[0]
    assert "App-Level Tokens" in lines[0]
    assert not (tmp_path / "run.sqlite3").exists()  # stopped before touching anything
