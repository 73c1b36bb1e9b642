"""`complaint-bot sandbox` without a browser: the page's JSON API over real HTTP, the
emulator's signed requests, what Slack shows a person (ephemerals, modals with inline
errors, the Home tab), the clock control, and the command itself as a process."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from waitress import create_server

from bot.sandbox.emulator import SlackEmulator
from bot.sandbox.server import COMPLAINTS, MANAGEMENT, PEOPLE, Sandbox
from bot.sandbox.state import state_values
from bot.sandbox.tour import START
from bot.sandbox.workspace import SandboxSlack

MKT, TQ, PROD, MGR = (p[0] for p in PEOPLE)
INTAKE = {
    "customer": "深圳 <Shenzhen> & Sons",
    "contact": "王工",
    "product": "PCB-9",
    "lots": "L7",
    "quantity": "40",
    "via": "phone",
    "description": "Cracked housing",
}


class Page:
    """The calls the sandbox page makes."""

    def __init__(self, url: str) -> None:
        self.url = url

    def state(self, user: str) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/api/state?user={user}", timeout=30) as r:
            return json.loads(r.read())

    def post(self, kind: str, /, **data: Any) -> tuple[int, dict[str, Any]]:
        req = urllib.request.Request(
            f"{self.url}/api/{kind}",
            data=json.dumps(data).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def modal(self, user: str) -> dict[str, Any] | None:
        return self.state(user)["modal"]


@pytest.fixture
def sandbox(database_url: str) -> Iterator[Sandbox]:
    with Sandbox(database_url=database_url, start=START, ticking=False) as sb:
        yield sb


def file_one(page: Page, **over: str) -> None:
    status, _ = page.post("command", user=MKT, channel=COMPLAINTS, text="/complaint new")
    assert status == 200
    modal = page.modal(MKT)
    assert modal is not None and modal["view"]["title"]["text"] == "New complaint"
    page.post("submit", user=MKT, view_id=modal["view"]["id"], answers={**INTAKE, **over})


def test_page_and_bot_share_one_loopback_server(sandbox: Sandbox) -> None:
    assert sandbox.url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(sandbox.url + "/", timeout=10) as r:
        html = r.read().decode()
    assert '<script src="/sandbox.js">' in html and 'id="person"' in html
    with urllib.request.urlopen(sandbox.url + "/sandbox.js", timeout=10) as r:
        assert "renderBlocks" in r.read().decode()
    with urllib.request.urlopen(sandbox.url + "/healthz", timeout=10) as r:
        assert r.read() == b"ok"
    state = Page(sandbox.url).state(MKT)
    assert state["note"].startswith("Local sandbox") and "Nothing is sent to Slack" in state["note"]
    assert [c["name"] for c in state["channels"]] == ["complaints", "management", "Complaint desk"]
    assert state["now_label"] == "Tue 03 Mar 2026 10:00 (Asia/Shanghai)"


def test_intake_modal_shows_inline_errors_then_files_the_case(sandbox: Sandbox) -> None:
    page = Page(sandbox.url)
    file_one(page, quantity="forty")
    modal = page.modal(MKT)
    assert modal is not None, "a refused form stays open"
    assert "whole number" in modal["errors"]["quantity"]
    assert sandbox.bot is not None and sandbox.bot.desk.count_cases() == 0
    page.post("submit", user=MKT, view_id=modal["view"]["id"], answers=INTAKE)
    state = page.state(MKT)
    assert state["modal"] is None
    (card,) = state["messages"][COMPLAINTS]
    assert card["blocks"][0]["type"] == "header"
    assert card["blocks"][0]["text"]["text"].startswith("CC-2026-0001 · 深圳 <Shenzhen>")
    assert "step:confirm_information" in json.dumps(card["blocks"])
    # the card is the filing's one message: it @-mentions the reporter and Technical
    # Quality; no thread post, no DM
    assert f"<@{MKT}>" in json.dumps(card["blocks"]) and f"<@{TQ}>" in json.dumps(card["blocks"])
    assert card["replies"] == []
    assert state["messages"][sandbox.slack.dm_of(MKT)] == []
    assert page.state(TQ)["messages"][sandbox.slack.dm_of(TQ)] == []


def test_slash_command_replies_and_refusals_are_ephemeral(sandbox: Sandbox) -> None:
    page = Page(sandbox.url)
    page.post("command", user=PROD, channel=COMPLAINTS, text="/complaint new")
    mine = page.state(PROD)
    assert mine["modal"] is None
    assert "Only Marketing or Technical Quality" in mine["ephemerals"][-1]["text"]
    assert page.state(MKT)["ephemerals"] == []
    page.post("command", user=MKT, channel=COMPLAINTS, text="/complaint help")
    assert "/complaint new" in page.state(MKT)["ephemerals"][-1]["text"]
    assert sandbox.slack.messages == {}, "an ephemeral reply is not a channel message"


def test_buttons_modals_home_and_thread_replies(sandbox: Sandbox) -> None:
    page = Page(sandbox.url)
    file_one(page)
    card = page.state(TQ)["messages"][COMPLAINTS][0]
    actions = next(b for b in card["blocks"] if b["type"] == "actions")
    confirm = next(e for e in actions["elements"] if e["action_id"] == "step:confirm_information")
    page.post(
        "click",
        user=TQ,
        action=confirm,
        block_id=actions["block_id"],
        channel=COMPLAINTS,
        message_ts=card["ts"],
    )
    # the confirmation's form: the complaint's category (issue 14)
    modal = page.modal(TQ)
    assert modal is not None and modal["view"]["callback_id"] == "step:confirm_information"
    page.post("submit", user=TQ, view_id=modal["view"]["id"], answers={"category": "function"})
    card = page.state(TQ)["messages"][COMPLAINTS][0]
    assert "Responsibility to decide" in json.dumps(card["blocks"], ensure_ascii=False)
    decide = next(
        e
        for b in card["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "step:decide_responsibility"
    )
    page.post(
        "click", user=TQ, action=decide, block_id="", channel=COMPLAINTS, message_ts=card["ts"]
    )
    modal = page.modal(TQ)
    assert modal is not None and modal["view"]["callback_id"] == "step:decide_responsibility"
    assert page.modal(MKT) is None, "a modal opens for the person who clicked only"
    page.post("close", user=TQ, view_id=modal["view"]["id"])
    assert page.modal(TQ) is None
    # a reply in the thread goes into the case's timeline
    page.post("message", user=TQ, channel=COMPLAINTS, thread_ts=card["ts"], text="样品 <b> & 照片")
    assert sandbox.bot is not None
    timeline = sandbox.bot.desk.find_case("CC-2026-0001").events
    assert timeline[-1].kind == "comment" and timeline[-1].actor == TQ
    replies = page.state(TQ)["messages"][COMPLAINTS][0]["replies"]
    # typed text arrives escaped, as Slack's client sends it
    assert replies[-1]["text"] == "样品 &lt;b&gt; &amp; 照片" and replies[-1]["user"] == TQ
    # the Home tab is published when the person opens it
    assert page.state(MGR)["home"] is None
    page.post("home", user=MGR)
    home = page.state(MGR)["home"]
    assert home["type"] == "home" and "Awaiting your approval" in json.dumps(home["blocks"])
    # Technical Quality never opened its Home: the changes did not push one (issue 10,
    # 7(d)); opened, it is built with the case in it
    assert page.state(TQ)["home"] is None
    page.post("home", user=TQ)
    tq_home = page.state(TQ)["home"]
    assert tq_home is not None and "CC-2026-0001" in json.dumps(tq_home["blocks"])


def test_clock_control_brings_the_digest_and_the_overdue_alert(sandbox: Sandbox) -> None:
    page = Page(sandbox.url)
    file_one(page)
    assert page.state(MKT)["messages"][MANAGEMENT] == []
    page.post("clock", user=MKT, step="day")
    state = page.state(MKT)
    assert state["now_label"] == "Wed 04 Mar 2026 09:00 (Asia/Shanghai)"
    # confirming the information was due the same working day (Tuesday 17:30): the
    # digest lists the case as overdue, and the alert says so
    assert [m["text"] for m in state["messages"][MANAGEMENT]] == [
        "Complaint digest Wed 4 Mar: 1 overdue, 0 due today",
        ":warning: *Overdue* CC-2026-0001",
    ]
    page.post("clock", user=MKT, step="hour")
    assert page.state(MKT)["now_label"].startswith("Wed 04 Mar 2026 10:00")
    page.post("clock", user=MKT, step="day")  # the reply was due Wednesday 17:30
    texts = [m["text"] for m in page.state(MKT)["messages"][MANAGEMENT]]
    assert any("Overdue" in t and "CC-2026-0001" in t for t in texts), texts
    thread = page.state(MKT)["messages"][COMPLAINTS][0]["replies"]
    assert any(r["text"].startswith("Overdue: the corrective-action reply") for r in thread)


def test_the_sandbox_slack_refuses_what_slack_refuses_and_the_page_says_so(
    sandbox: Sandbox,
) -> None:
    client = WebClient(token="xoxb-sandbox-0000", base_url=sandbox.slack.url)
    too_many = [{"type": "divider"}] * 51
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel=COMPLAINTS, text="x", blocks=too_many)
    assert exc.value.response["error"] == "invalid_blocks"
    assert {"method": "chat.postMessage", "error": "invalid_blocks"} in Page(sandbox.url).state(
        MKT
    )["refused"]


def test_page_api_rejects_unknown_people_and_actions(sandbox: Sandbox) -> None:
    page = Page(sandbox.url)
    assert (
        page.post("command", user="U0STRANGER", channel=COMPLAINTS, text="/complaint new")[0] == 400
    )
    assert page.post("launch", user=MKT)[0] == 400
    # only this computer's browser: another Host (DNS rebinding) or a non-JSON form post
    # (what another site can send without a CORS preflight) changes nothing
    for headers in ({"Host": "evil.example"}, {"Content-Type": "text/plain"}):
        req = urllib.request.Request(
            f"{sandbox.url}/api/command",
            data=json.dumps(
                {"user": MKT, "channel": COMPLAINTS, "text": "/complaint new"}
            ).encode(),
            headers={"Content-Type": "application/json", **headers},
            method="POST",
        )
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(req, timeout=10)
        assert exc.value.code in (403, 415)
    assert page.modal(MKT) is None


def test_requests_are_signed_and_the_bot_checks_the_signature(sandbox: Sandbox) -> None:
    forged = SlackEmulator(sandbox.slack, sandbox.url + "/slack/events", "not-the-secret")
    assert forged.command(MKT, COMPLAINTS, "/complaint", "help") == 401
    assert "HTTP 401" in sandbox.slack.notices[-1]["text"]
    assert sandbox.emulator is not None
    assert sandbox.emulator.command(MKT, COMPLAINTS, "/complaint", "help") == 200


def test_response_actions_update_push_clear_as_slack_does() -> None:
    slack = SandboxSlack()
    text = {"type": "section", "text": {"type": "mrkdwn", "text": "a"}}
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "A"}, "blocks": [text]}
    first = slack._store_view(modal)["view"]["id"]
    slack.modals["U1"] = [first]
    slack.apply_response_action("U1", first, {"response_action": "push", "view": modal})
    assert len(slack.modals["U1"]) == 2
    second = slack.top_modal("U1")
    renamed = {**modal, "title": {"type": "plain_text", "text": "B"}}
    slack.apply_response_action("U1", second, {"response_action": "update", "view": renamed})
    assert slack.view(second)["title"]["text"] == "B"
    bad = {**modal, "title": {"type": "plain_text", "text": "x" * 25}}
    slack.apply_response_action("U1", second, {"response_action": "update", "view": bad})
    assert slack.view(second)["title"]["text"] == "B" and "refused" in slack.notices[-1]["text"]
    slack.apply_response_action("U1", second, {})  # a plain ack closes the submitted view
    assert slack.modals["U1"] == [first]
    slack.apply_response_action("U1", first, {"response_action": "clear"})
    assert slack.top_modal("U1") is None


def test_state_values_are_shaped_per_element_type() -> None:
    slack = SandboxSlack()
    opt = {"text": {"type": "plain_text", "text": "Phone"}, "value": "phone"}
    view = {
        "blocks": [
            {
                "type": "input",
                "block_id": "a",
                "element": {"type": "static_select", "action_id": "v", "options": [opt]},
            },
            {
                "type": "input",
                "block_id": "b",
                "element": {"type": "checkboxes", "action_id": "v", "options": [opt]},
            },
            {
                "type": "input",
                "block_id": "c",
                "element": {"type": "external_select", "action_id": "v"},
            },
            {"type": "input", "block_id": "d", "element": {"type": "file_input", "action_id": "v"}},
            {
                "type": "input",
                "block_id": "e",
                "element": {"type": "plain_text_input", "action_id": "v"},
            },
            {"type": "input", "block_id": "f", "element": {"type": "datepicker", "action_id": "v"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "not an input"}},
        ]
    }
    answers = {"a": "phone", "b": ["phone"], "c": opt, "d": ["照片.jpg"], "f": "2026-03-20"}
    values = state_values(view, answers, "U1", slack)
    assert values["a"]["v"] == {"type": "static_select", "selected_option": opt}
    assert values["b"]["v"] == {"type": "checkboxes", "selected_options": [opt]}
    assert values["c"]["v"]["selected_option"] == opt
    (file,) = values["d"]["v"]["files"]
    assert file["name"] == "照片.jpg" and file["id"].startswith("F") and file["user"] == "U1"
    assert values["e"]["v"] == {"type": "plain_text_input", "value": None}
    assert values["f"]["v"] == {"type": "datepicker", "selected_date": "2026-03-20"}
    assert set(values) == {"a", "b", "c", "d", "e", "f"}


def test_external_select_asks_the_app_with_a_signed_block_suggestion() -> None:
    """The bot has no external select yet; a Bolt app with one checks the emulator's
    block_suggestion (signature and shape) the way it would check Slack's."""
    secret = "sandbox-test-secret"
    slack = SandboxSlack().start()  # Bolt asks auth.test on the first request
    client = WebClient(token="xoxb-x", base_url=slack.url)
    app = App(signing_secret=secret, client=client, token_verification_enabled=False)
    seen: list[str] = []

    @app.options("customer")
    def customers(ack: Any, body: dict[str, Any]) -> None:
        seen.append(body["value"])
        ack(options=[{"text": {"type": "plain_text", "text": "苏州精密"}, "value": "c1"}])

    server = create_server(SlackRequestHandler(app), host="127.0.0.1", port=0, threads=2)

    def run() -> None:
        with contextlib.suppress(OSError):  # the socket closed under select() at the end
            server.run()

    threading.Thread(target=run, daemon=True).start()
    try:
        view = {"type": "modal", "title": {"type": "plain_text", "text": "T"}, "blocks": []}
        vid = slack._store_view(view)["view"]["id"]
        emu = SlackEmulator(slack, f"http://127.0.0.1:{server.effective_port}/slack/events", secret)
        options = emu.options("U1", vid, "cust", "customer", "苏州")
    finally:
        server.close()
        slack.stop()
    assert seen == ["苏州"]
    assert options == [{"text": {"type": "plain_text", "text": "苏州精密"}, "value": "c1"}]


def test_complaint_bot_sandbox_command_serves_on_loopback(tmp_path: Path) -> None:
    db = tmp_path / "own.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "sandbox", "--port", "0"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("Complaint desk sandbox: open http://127.0.0.1:"), line
        url = line.split("open ", 1)[1].split("/ ", 1)[0]
        assert "local only" in proc.stdout.readline()
        page = Page(url)
        assert page.state(MKT)["database"] == f"sqlite:///{db}"
        page.post("command", user=MKT, channel=COMPLAINTS, text="/complaint new")
        assert page.modal(MKT) is not None
        assert db.exists(), "DATABASE_URL from the environment is used"
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
    assert code == 0
    assert not (tmp_path / "complaints.sqlite3").exists()
