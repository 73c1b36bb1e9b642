"""The other half of the emulator: what Slack sends TO the app.

Every request is built like Slack's (shapes from Slack's reference payloads: slash command
form, block_actions, view_submission, event_callback), signed with the signing secret
(`v0=` HMAC-SHA256 of `v0:<timestamp>:<body>`) and POSTed over HTTP to the app's
`/slack/events`, so the bot checks and answers it exactly as it would for Slack. What the
app answers is applied the way Slack's client applies it: a slash command's reply becomes
an ephemeral message, a view_submission's response_action updates, pushes, clears or shows
errors in the modal.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from bot.sandbox.workspace import SandboxSlack

# Slack gives up on an app that has not acknowledged within 3 seconds
ACK_LIMIT_SECONDS = 3.0
APP_ID = "A0000TEST"


def sign(secret: str, timestamp: str, body: str) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class SlackEmulator:
    """Sends a person's actions to the app as signed Slack requests."""

    def __init__(self, slack: SandboxSlack, events_url: str, secret: str) -> None:
        self.slack = slack
        self.events_url = events_url
        self.secret = secret
        self._ids = itertools.count(1)

    # -- transport ------------------------------------------------------------------------

    def _post(self, user: str, body: str, content_type: str) -> tuple[int, str]:
        ts = str(int(time.time()))  # Slack's real time: Bolt refuses requests 5 min off
        req = urllib.request.Request(
            self.events_url,
            data=body.encode(),
            method="POST",
            headers={
                "Content-Type": content_type,
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": sign(self.secret, ts, body),
                "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            },
        )
        started = time.monotonic()
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, text = resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read().decode()
        took = time.monotonic() - started
        if took > ACK_LIMIT_SECONDS:
            self.slack.note(
                user,
                f"The app took {took:.1f} s to answer; Slack gives up after 3 s and would "
                "have shown the person an error.",
            )
        if status != 200:
            self.slack.note(user, f"The app answered HTTP {status}: {text[:200]}")
        return status, text

    def _interaction(self, user: str, payload: dict[str, Any]) -> tuple[int, str]:
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return self._post(user, body, "application/x-www-form-urlencoded")

    def _user(self, user: str) -> dict[str, str]:
        return {"id": user, "username": user.lower(), "name": user.lower(), "team_id": self.team}

    @property
    def team(self) -> str:
        return self.slack.team_id

    def _channel_name(self, channel: str) -> str:
        info = self.slack._channels.get(channel, {})
        return str(info.get("name") or ("directmessage" if channel.startswith("D") else channel))

    # -- what a person does -----------------------------------------------------------------

    def command(self, user: str, channel: str, command: str, text: str) -> int:
        """A slash command; the app's reply body is shown to the person only (ephemeral)."""
        form = {
            "token": "sandbox",
            "team_id": self.team,
            "team_domain": "sandbox",
            "channel_id": channel,
            "channel_name": self._channel_name(channel),
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": f"https://hooks.slack.com/commands/{self.team}/{next(self._ids)}/x",
            "trigger_id": self.slack.new_trigger(user),
        }
        status, body = self._post(
            user, urllib.parse.urlencode(form), "application/x-www-form-urlencoded"
        )
        if status == 200 and body.strip():
            reply = _json(body) or {"text": body}
            with self.slack._lock:
                self.slack.ephemerals.append(
                    {
                        "channel": channel,
                        "user": user,
                        "ts": self.slack._next_ts(),
                        "thread_ts": None,
                        "text": str(reply.get("text") or ""),
                        "blocks": reply.get("blocks") or [],
                    }
                )
        return status

    def click(
        self,
        user: str,
        action: dict[str, Any],
        *,
        block_id: str,
        channel: str | None = None,
        message_ts: str | None = None,
        view_id: str | None = None,
        selected: Any = None,
    ) -> int:
        """block_actions for a button (or a select) in a message, the Home tab or a modal."""
        act: dict[str, Any] = {
            "action_id": action.get("action_id", ""),
            "block_id": block_id,
            "type": action.get("type", "button"),
            "action_ts": f"{time.time():.6f}",
        }
        if act["type"] == "button":
            act["text"] = action.get("text")
            act["value"] = action.get("value", "")
            if action.get("style"):
                act["style"] = action["style"]
        elif selected is not None:
            act["selected_option"] = selected
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user(user),
            "api_app_id": APP_ID,
            "token": "sandbox",
            "team": {"id": self.team, "domain": "sandbox"},
            "enterprise": None,
            "is_enterprise_install": False,
            "trigger_id": self.slack.new_trigger(user),
            "actions": [act],
        }
        if view_id is not None:
            view = self.slack.view(view_id) or {}
            payload["container"] = {"type": "view", "view_id": view_id}
            payload["view"] = view
        else:
            assert channel is not None and message_ts is not None
            msg = self.slack.messages.get((channel, message_ts)) or {"ts": message_ts}
            payload["container"] = {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel,
                "is_ephemeral": False,
            }
            payload["channel"] = {"id": channel, "name": self._channel_name(channel)}
            payload["message"] = self.slack._public(msg)
            payload["response_url"] = f"https://hooks.slack.com/actions/{self.team}/1/x"
            payload["state"] = {"values": {}}
        return self._interaction(user, payload)[0]

    def submit(self, user: str, view_id: str, state: dict[str, Any]) -> int:
        """view_submission with `state` ({block_id: {action_id: value object}})."""
        view = self.slack.view(view_id)
        if view is None:
            return 404
        payload = {
            "type": "view_submission",
            "team": {"id": self.team, "domain": "sandbox"},
            "user": self._user(user),
            "api_app_id": APP_ID,
            "token": "sandbox",
            "trigger_id": self.slack.new_trigger(user),
            "view": {**view, "state": {"values": state}},
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        status, body = self._interaction(user, payload)
        if status == 200:
            self.slack.apply_response_action(user, view_id, _json(body) or {})
        return status

    def close(self, user: str, view_id: str) -> int:
        """The person closes a modal; the app hears of it only if it asked (notify_on_close)."""
        view = self.slack.view(view_id)
        self.slack.close_modal(user, view_id)
        if not view or not view.get("notify_on_close"):
            return 200
        payload = {
            "type": "view_closed",
            "team": {"id": self.team, "domain": "sandbox"},
            "user": self._user(user),
            "api_app_id": APP_ID,
            "view": view,
            "is_cleared": False,
        }
        return self._interaction(user, payload)[0]

    def options(self, user: str, view_id: str, block_id: str, action_id: str, value: str) -> list:
        """block_suggestion for an external_select: the options the app offers for `value`."""
        payload = {
            "type": "block_suggestion",
            "user": self._user(user),
            "team": {"id": self.team, "domain": "sandbox"},
            "api_app_id": APP_ID,
            "token": "sandbox",
            "container": {"type": "view", "view_id": view_id},
            "view": self.slack.view(view_id) or {},
            "action_id": action_id,
            "block_id": block_id,
            "value": value,
        }
        status, body = self._interaction(user, payload)
        answer = _json(body) or {}
        if status != 200:
            return []
        if isinstance(answer.get("option_groups"), list):
            return [o for g in answer["option_groups"] for o in g.get("options", [])]
        return list(answer.get("options") or [])

    def event(self, user: str, event: dict[str, Any]) -> int:
        body = {
            "token": "sandbox",
            "team_id": self.team,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev0SB{next(self._ids):08d}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "team_id": self.team,
                    "user_id": self.slack.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
        }
        return self._post(user, json.dumps(body), "application/json")[0]

    def open_home(self, user: str) -> int:
        view_id = self.slack._home_views.get(user)
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user,
            "channel": self.slack.dm_of(user),
            "tab": "home",
            "event_ts": f"{time.time():.6f}",
        }
        if view_id:
            event["view"] = self.slack.view(view_id)
        return self.event(user, event)

    def message(self, user: str, channel: str, text: str, thread_ts: str | None = None) -> int:
        """The person writes in a channel or a thread; the app gets the message event."""
        # Slack's client sends typed text with &, < and > escaped, like the bot's mrkdwn
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        msg = self.slack.post_as(user, channel, text, thread_ts)
        event = {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": msg["ts"],
            "event_ts": msg["ts"],
            "channel_type": "im" if channel.startswith("D") else "channel",
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        return self.event(user, event)


def _json(body: str) -> dict[str, Any] | None:
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
