"""Socket Mode end to end: the real bot (build() and the supervisor's Socket Mode wiring)
against a local Socket Mode endpoint (bot/sandbox/socketmode.py) that `apps.connections.open`
on the fake Slack leads to: hello, envelopes, acks with their payload, refresh, drop."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import build
from bot.models import Case, CaseEvent
from bot.sandbox.fakeslack import FakeSlack
from bot.sandbox.socketmode import Envelope, SocketModeServer
from bot.supervisor import serve_socket_mode
from tests.conftest import COMPLAINTS, MKT, TQ, Clock, Running, make_settings, serve
from tests.procedure import take
from tests.slackclient import Reply, SlackClient
from tests.test_intake import GOOD, file_complaint, open_form
from tests.test_ops import _wait

APP_TOKEN = "xapp-1-A0000TEST-1-abcdef"


class SocketSlack(SlackClient):
    """What SlackClient builds (commands, clicks, submissions, events), sent as Socket Mode
    envelopes instead of signed HTTP requests; the reply is the ack's payload."""

    def __init__(self, server: SocketModeServer, triggers: Callable[[], str]) -> None:
        super().__init__("", "", triggers=triggers)
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
        self.client = SocketSlack(self.server, slack.issue_trigger)


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
    take(r, TQ, case.id, "confirm_information", expect_modal=True)
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
    assert _wait(lambda: server.connections == 1), "the old connection was kept"
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
        client = SocketSlack(slack.socket_mode, slack.issue_trigger)
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
