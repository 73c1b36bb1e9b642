"""Socket Mode end to end: the real bot (build() and the supervisor's Socket Mode wiring)
against a local Socket Mode endpoint (bot/sandbox/socketmode.py) that `apps.connections.open`
on the fake Slack leads to: hello, envelopes, acks with their payload, refresh, drop."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from blocks.intake import intake_modal
from bot.app import build
from bot.doctor import run_checks
from bot.models import Case, CaseEvent
from bot.sandbox.fakeslack import FakeSlack
from bot.sandbox.socketmode import Envelope, SocketModeServer
from bot.supervisor import serve_socket_mode
from tests.conftest import COMPLAINTS, MKT, TQ, Clock, Running, make_settings, serve
from tests.procedure import take
from tests.slackclient import Reply, SlackClient
from tests.test_intake import GOOD, file_complaint, open_form
from tests.test_ops import _start_run, _wait

APP_TOKEN = "xapp-1-A0000TEST-1-abcdef"


class SocketSlack(SlackClient):
    """What SlackClient builds (commands, clicks, submissions, events), sent as Socket Mode
    envelopes instead of signed HTTP requests; the reply is the ack's payload."""

    def __init__(self, server: SocketModeServer) -> None:
        super().__init__("", "")
        self.server = server
        self.sent: list[Envelope] = []

    def post(self, body: str, content_type: str, **_: Any) -> Reply:
        if content_type == "application/json":
            kind, payload = "events_api", json.loads(body)
        else:
            form = {k: v[-1] for k, v in urllib.parse.parse_qs(body, True).items()}
            if "payload" in form:
                kind, payload = "interactive", json.loads(form["payload"])
            else:
                kind, payload = "slash_commands", form
        env = self.server.request(kind, payload, timeout=20)
        self.sent.append(env)
        if env.ack is None:
            return Reply(504, "no ack")
        return Reply(200, json.dumps(env.ack["payload"]) if "payload" in env.ack else "")


class SocketRunning(Running):
    def __init__(self, bot: Any, clock: Clock, slack: FakeSlack) -> None:
        super().__init__(bot, "", clock, slack)
        self.server: SocketModeServer = slack.socket_mode
        self.client = SocketSlack(self.server)


@pytest.fixture
def socket_running(database_url: str, slack: FakeSlack, clock: Clock) -> Iterator[SocketRunning]:
    settings = make_settings(database_url, slack.url, SLACK_APP_TOKEN=APP_TOKEN)
    bot = build(
        settings, clock=clock, outbox_base_delay=0.02, outbox_max_delay=0.2, channel_interval=0
    )
    bot.start_background()
    close = serve_socket_mode(bot, settings)
    try:
        assert bot.socket.wait_connected(10), "no hello from the Socket Mode endpoint"
        yield SocketRunning(bot, clock, slack)
    finally:
        close()
        bot.stop()


def test_slash_command_opens_the_form_over_the_socket(socket_running: SocketRunning) -> None:
    r = socket_running
    assert r.bot.health_problem() is None
    opened = r.fake.calls_to("apps.connections.open")
    assert opened and not r.fake.rejected  # the xapp- token was taken by that method only
    view = open_form(r)
    assert view["callback_id"] == "complaint_new"
    env = r.client.sent[-1]
    assert env.type == "slash_commands" and env.ack == {"envelope_id": env.envelope_id}

    reply = r.client.command(MKT, "help")
    assert reply.status == 200 and "/complaint" in reply.body


def test_form_errors_come_back_in_the_ack_payload(socket_running: SocketRunning) -> None:
    r = socket_running
    view = open_form(r)
    reply = r.client.submit(MKT, view, {**GOOD, "customer": "", "quantity": "many"})
    assert reply.status == 200
    ack = reply.json()
    assert ack["response_action"] == "errors"
    assert {"customer", "quantity"} <= set(ack["errors"])
    with r.desk.sessions() as s:
        assert s.scalars(select(Case)).first() is None

    case = file_complaint(r)  # the corrected form: an empty ack, then the card
    assert case.customer == GOOD["customer"] and case.card_ts
    assert r.client.sent[-1].ack == {"envelope_id": r.client.sent[-1].envelope_id}


def test_button_click_takes_a_step(socket_running: SocketRunning) -> None:
    r = socket_running
    case = file_complaint(r)
    take(r, TQ, case.id, "confirm_information", expect_modal=False)
    assert r.desk.get_case(case.id).status != case.status
    click = next(e for e in r.client.sent if e.payload.get("type") == "block_actions")
    assert click.type == "interactive" and click.ack == {"envelope_id": click.envelope_id}


def test_event_keeps_a_thread_reply(socket_running: SocketRunning) -> None:
    r = socket_running
    case = file_complaint(r)
    event = {
        "type": "message",
        "channel": COMPLAINTS,
        "user": TQ,
        "text": "焊锡桥接 — checking line 3",
        "ts": "1772500000.000200",
        "thread_ts": case.card_ts,
    }
    assert r.client.event(event).status == 200
    r.settle()
    env = r.client.sent[-1]
    assert env.type == "events_api" and env.ack == {"envelope_id": env.envelope_id}
    with r.desk.sessions() as s:
        texts = [e.data for e in s.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id))]
    assert any("焊锡桥接" in json.dumps(t, ensure_ascii=False) for t in texts)


def test_refresh_moves_to_a_new_connection_without_missing_an_ack(
    socket_running: SocketRunning,
) -> None:
    """Slack's `disconnect` (refresh_requested): the bot opens a new connection at once,
    answers on it, and closes the old one itself (long before Slack would)."""
    r = socket_running
    server = r.server
    before = server.hellos
    first = r.client.command(MKT, "help")
    assert first.status == 200
    old = r.client.sent[-1].connection

    server.refresh()
    assert server.wait_for_hellos(before + 1), "no new connection after the refresh"
    reply = r.client.command(MKT, "help")
    assert reply.status == 200 and "/complaint" in reply.body
    assert r.client.sent[-1].connection > old  # sent on the new connection, and acked
    assert _eventually(lambda: server.connections == 1), "the old connection was kept"
    assert r.bot.health_problem() is None
    assert len(r.fake.calls_to("apps.connections.open")) >= 2


def test_dropped_connection_is_replaced(socket_running: SocketRunning) -> None:
    r = socket_running
    server = r.server
    before = server.hellos
    server.drop()
    assert server.wait_for_hellos(before + 1), "did not reconnect after a drop"
    case = file_complaint(r)  # works over the new connection
    assert case.card_ts
    assert r.bot.health_problem() is None


def test_healthz_fails_while_not_connected(socket_running: SocketRunning) -> None:
    r = socket_running
    assert r.bot.health_problem() is None
    r.bot.socket.close()
    assert r.bot.health_problem() == "not connected to Slack (Socket Mode)"


def test_the_endpoint_takes_the_app_token_and_each_url_once(slack: FakeSlack) -> None:
    """The fake's side: only apps.connections.open takes the xapp- token (and it takes no
    other), and each URL it returns opens one connection."""
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    web = WebClient(base_url=slack.url)
    for token, method in (("xoxb-bot", "apps.connections.open"), (APP_TOKEN, "auth.test")):
        with pytest.raises(SlackApiError) as refused:
            web.api_call(method, headers={"Authorization": f"Bearer {token}"})
        assert refused.value.response["error"] == "not_allowed_token_type"
    url = web.apps_connections_open(app_token=APP_TOKEN)["url"]
    with connect(url) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"
    with connect(url) as ws, pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=10)  # a used ticket: the endpoint closes it without a hello
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


def test_connected_only_once_slack_says_hello(
    database_url: str, slack: FakeSlack, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """An accepted WebSocket is not yet a connection: Slack's hello makes it one."""
    caplog.set_level(logging.INFO, logger="bot.socketmode")
    server: SocketModeServer = slack.socket_mode
    settings = make_settings(database_url, slack.url, SLACK_APP_TOKEN=APP_TOKEN)
    bot = build(settings, clock=clock)
    server.greeting.clear()
    close = serve_socket_mode(bot, settings)
    try:
        assert _wait(lambda: server.connections == 1), "the endpoint saw no connection"
        assert not bot.socket.connected
        assert bot.health_problem() == "not connected to Slack (Socket Mode)"
        assert "connected to Slack" not in caplog.text
        server.greeting.set()
        assert bot.socket.wait_connected(10)
        assert "connected to Slack in Socket Mode" in caplog.text
        assert bot.health_problem() is None
    finally:
        server.greeting.set()
        close()
        bot.stop()


def test_healthz_in_socket_mode_also_fails_while_the_worker_is_stuck(
    database_url: str, slack: FakeSlack, clock: Clock
) -> None:
    """A web process in Socket Mode whose worker does nothing: connected, yet /healthz
    says 503 once an acknowledged form has waited over 5 minutes."""
    from datetime import timedelta

    from sqlalchemy import update

    from bot.models import Inbox, utcnow

    settings = make_settings(database_url, slack.url, SLACK_APP_TOKEN=APP_TOKEN)
    bot = build(settings, clock=clock, role="web")
    close = serve_socket_mode(bot, settings)
    http, url = serve(bot)
    try:
        assert bot.socket.wait_connected(10)
        client = SocketSlack(slack.socket_mode)
        assert client.command(MKT, "new").status == 200
        assert bot.wait_idle(10)
        view = slack.calls_to("views.open")[-1].args["view"]
        assert client.submit(MKT, view, GOOD).status == 200
        assert _healthz_at(url) == (200, "ok")
        with bot.desk.sessions() as s, s.begin():
            s.execute(update(Inbox).values(next_attempt_at=utcnow() - timedelta(minutes=6)))
        code, text = _healthz_at(url)
        assert code == 503 and text.startswith("worker behind: 1 acknowledged request")
    finally:
        http.close()
        close()
        bot.stop()


def _healthz_at(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


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
    client = SocketSlack(server)
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
        form = json.loads(json.dumps(intake_modal(channel_id=COMPLAINTS)))
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
    assert f"listening on http://127.0.0.1:{port}/healthz" in out
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


def _eventually(check: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False
