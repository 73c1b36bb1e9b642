"""Socket Mode end to end: the real bot (build() and the supervisor's Socket Mode wiring)
against a local Socket Mode endpoint (bot/sandbox/socketmode.py) that `apps.connections.open`
on the fake Slack leads to: hello, envelopes, acks with their payload, refresh, drop."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import build
from bot.models import Case, CaseEvent
from bot.sandbox.fakeslack import FakeSlack
from bot.sandbox.socketmode import Envelope, SocketModeServer
from bot.supervisor import serve_socket_mode
from tests.conftest import COMPLAINTS, MKT, TQ, Clock, Running, make_settings
from tests.procedure import take
from tests.slackclient import Reply, SlackClient
from tests.test_intake import GOOD, file_complaint, open_form

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


def _eventually(check: Any, timeout: float = 10.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False
