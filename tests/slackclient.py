"""Sends what Slack sends: signed HTTP requests to the bot's /slack/events endpoint.

Payload shapes follow ../shared/slack-fixtures (slash_command.form.txt,
block_actions.message.json, view_submission.json, event_callback.*.json)."""

from __future__ import annotations

import itertools
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.sandbox.emulator import sign

TEAM = {"id": "T0000TEST", "domain": "example"}
_ids = itertools.count(1)


@dataclass
class Reply:
    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def _made_up_trigger() -> str:
    return f"{next(_ids)}.{int(time.time())}.trigger"


class SlackClient:
    def __init__(
        self, url: str, secret: str, *, triggers: Callable[[], str] = _made_up_trigger
    ) -> None:
        """`triggers` makes the trigger id of each interaction: pass the fake Slack's
        `issue_trigger`, so that views.open checks its age and single use as Slack does."""
        self.url = url
        self.secret = secret
        self.triggers = triggers

    def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        sig = signature if signature is not None else sign(self.secret, ts, body)
        req = urllib.request.Request(
            self.url,
            data=body.encode(),
            method="POST",
            headers={
                "Content-Type": content_type,
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": sig,
                **(headers or {}),
            },
        )
        return self.send(req)

    def send(self, req: urllib.request.Request) -> Reply:
        """Send a signed request (a hook: the benchmark times exactly this part)."""
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return Reply(resp.status, resp.read().decode())
        except urllib.error.HTTPError as exc:
            return Reply(exc.code, exc.read().decode())

    # -- what Slack sends ------------------------------------------------------------
    def command(self, user: str, text: str, *, channel: str = "C0COMPLAIN", **kw: Any) -> Reply:
        form = {
            "token": "legacy",
            "team_id": TEAM["id"],
            "team_domain": TEAM["domain"],
            "channel_id": channel,
            "channel_name": "complaints",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/complaint",
            "text": text,
            "api_app_id": "A0000TEST",
            "is_enterprise_install": "false",
            "response_url": "https://hooks.slack.com/commands/T0000TEST/1/x",
            "trigger_id": self.triggers(),
        }
        return self.post(urllib.parse.urlencode(form), "application/x-www-form-urlencoded", **kw)

    def interaction(self, payload: dict[str, Any], **kw: Any) -> Reply:
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return self.post(body, "application/x-www-form-urlencoded", **kw)

    def click(
        self,
        user: str,
        action_id: str,
        value: str,
        *,
        channel: str = "C0COMPLAIN",
        message_ts: str = "1.000001",
        **kw: Any,
    ) -> Reply:
        payload = {
            "type": "block_actions",
            "team": TEAM,
            "user": {"id": user, "username": user.lower(), "team_id": TEAM["id"]},
            "api_app_id": "A0000TEST",
            "token": "legacy",
            "container": {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel,
                "is_ephemeral": False,
            },
            "trigger_id": self.triggers(),
            "channel": {"id": channel, "name": "complaints"},
            "message": {"type": "message", "ts": message_ts, "text": "card"},
            "response_url": "https://hooks.slack.com/actions/T0000TEST/1/x",
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": "b",
                    "value": value,
                    "type": "button",
                    "text": {"type": "plain_text", "text": "x"},
                    "action_ts": str(time.time()),
                }
            ],
        }
        return self.interaction(payload, **kw)

    def suggest(self, user: str, view: dict[str, Any], action_id: str, typed: str) -> Reply:
        """What Slack sends while someone types into an external_select of `view` (the
        options load, `block_suggestion`)."""
        block = next(
            b
            for b in view["blocks"]
            if b.get("type") == "input" and b["element"].get("action_id") == action_id
        )
        payload = {
            "type": "block_suggestion",
            "user": {"id": user, "username": user.lower(), "team_id": TEAM["id"]},
            "container": {"type": "view", "view_id": "V0SUGGEST"},
            "api_app_id": "A0000TEST",
            "token": "legacy",
            "action_id": action_id,
            "block_id": block["block_id"],
            "value": typed,
            "team": TEAM,
            "view": {**view, "id": "V0SUGGEST", "team_id": TEAM["id"], "state": {"values": {}}},
        }
        return self.interaction(payload)

    def submit(
        self,
        user: str,
        view: dict[str, Any],
        answers: dict[str, Any],
        *,
        view_id: str | None = None,
        **kw: Any,
    ) -> Reply:
        """Submit `view` (as the bot opened it) with `answers` {block_id: value}."""
        payload = {
            "type": "view_submission",
            "team": TEAM,
            "user": {"id": user, "username": user.lower(), "team_id": TEAM["id"]},
            "api_app_id": "A0000TEST",
            "token": "legacy",
            "trigger_id": self.triggers(),
            "view": {
                **view,
                "id": view_id or f"V{next(_ids):08d}",
                "team_id": TEAM["id"],
                "state": {"values": fill(view, answers)},
                "hash": "1.abc",
                "root_view_id": None,
                "app_id": "A0000TEST",
                "bot_id": "B0000TEST",
            },
            "response_urls": [],
        }
        return self.interaction(payload, **kw)

    def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        body = {
            "token": "legacy",
            "team_id": TEAM["id"],
            "api_app_id": "A0000TEST",
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(_ids):08d}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "team_id": TEAM["id"],
                    "user_id": "UBOT000001",
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
        }
        return self.post(json.dumps(body), "application/json", headers=headers)


def fill(view: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """state.values for the input blocks of `view`, shaped per element type as Slack does."""
    out: dict[str, Any] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        el = block["element"]
        t, aid = el["type"], el["action_id"]
        answer = answers.get(block["block_id"])
        if t in ("static_select", "radio_buttons"):
            opt = next((o for o in el.get("options", []) if o["value"] == answer), None)
            state = {"type": t, "selected_option": opt}
        elif t in ("multi_static_select", "checkboxes"):
            opts = [o for o in el.get("options", []) if o["value"] in (answer or [])]
            state = {"type": t, "selected_options": opts}
        elif t == "external_select":  # the option the options load offered (text = value)
            opt = {"text": {"type": "plain_text", "text": answer}, "value": answer}
            state = {"type": t, "selected_option": opt if answer else None}
        elif t == "datepicker":
            state = {"type": t, "selected_date": answer}
        elif t == "users_select":
            state = {"type": t, "selected_user": answer}
        elif t == "file_input":
            state = {"type": t, "files": answer or []}
        else:
            state = {"type": t, "value": answer}
        out[block["block_id"]] = {aid: state}
    return out
