"""The sandbox's Slack: the fake Web API (bot/sandbox/fakeslack.py) plus what a person sees.

`FakeSlack` answers the bot's Web API calls and checks Block Kit as Slack does. A person in
the sandbox also sees what Slack keeps per user: ephemeral messages ("only visible to
you"), the stack of open modals (opened with *their* trigger_id) and the inline errors of a
submitted modal. `SandboxSlack` adds exactly that on top of the one fake, by wrapping the
methods that create those things; it does not answer any method differently.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.sandbox.fakeslack import FakeSlack, _ApiError, validate_view


class SandboxSlack(FakeSlack):
    """The fake Slack of the test suite, remembering per person what Slack shows them."""

    def __init__(self, *, clock: Callable[[], datetime] | None = None, **kw: Any) -> None:
        # procedure time for message ts; FakeSlack's own `clock` (monotonic seconds) times
        # trigger ids, as Slack's 3 s rule is about real time
        self.page_clock = clock
        super().__init__(**kw)
        self.ephemerals: list[dict[str, Any]] = []
        self.trigger_users: dict[str, str] = {}
        self.modals: dict[str, list[str]] = {}  # user -> view ids, the top one shown
        self.modal_errors: dict[str, dict[str, str]] = {}  # view id -> {block_id: error}
        self.notices: list[dict[str, Any]] = []  # what Slack itself would tell the person
        self.user_names: dict[str, str] = {}
        self._files = itertools.count(1)

    def _next_ts(self) -> str:
        """Message times follow the sandbox's clock, so the page shows procedure time."""
        if self.page_clock is None:
            return super()._next_ts()
        now_us = int(self.page_clock().timestamp() * 1_000_000)
        self._last_ts_us = max(now_us, self._last_ts_us + 1)
        return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"

    # -- what the bot calls -----------------------------------------------------------------

    def _api_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        result = super()._api_chat_postEphemeral(args)
        self.ephemerals.append(
            {
                "channel": self._channel(args),
                "user": str(args["user"]),
                "ts": result["message_ts"],
                "thread_ts": args.get("thread_ts"),
                "text": args.get("text") or "",
                "blocks": args.get("blocks") or [],
            }
        )
        return result

    def _opened(self, args: dict[str, Any], result: dict[str, Any], *, push: bool) -> None:
        user = self.trigger_users.get(str(args.get("trigger_id") or ""))
        if user is None:  # a trigger no person in the sandbox made: nobody sees the modal
            return
        stack = self.modals.setdefault(user, [])
        if not push:
            stack.clear()
        stack.append(result["view"]["id"])

    def _api_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        result = super()._api_views_open(args)
        self._opened(args, result, push=False)
        return result

    def _api_views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        result = super()._api_views_push(args)
        self._opened(args, result, push=True)
        return result

    def _api_views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        result = super()._api_views_update(args)
        self.modal_errors.pop(result["view"]["id"], None)
        return result

    # -- what a person does, as Slack's client would apply it -------------------------------

    def new_trigger(self, user: str) -> str:
        trigger = self.issue_trigger()  # known to views.open: once, within 3 s, as in Slack
        with self._lock:
            self.trigger_users[trigger] = user
        return trigger

    def view(self, view_id: str) -> dict[str, Any] | None:
        with self._lock:
            view = self._views.get(view_id)
            return None if view is None else dict(view)

    def home_view(self, user: str) -> dict[str, Any] | None:
        with self._lock:
            view_id = self._home_views.get(user)
            return None if view_id is None else dict(self._views[view_id])

    def top_modal(self, user: str) -> str | None:
        with self._lock:
            stack = self.modals.get(user) or []
            return stack[-1] if stack else None

    def close_modal(self, user: str, view_id: str, *, all_views: bool = False) -> None:
        with self._lock:
            stack = self.modals.get(user) or []
            if all_views:
                stack.clear()
            elif view_id in stack:
                del stack[stack.index(view_id) :]
            self.modal_errors.pop(view_id, None)

    def apply_response_action(self, user: str, view_id: str, answer: dict[str, Any]) -> None:
        """What Slack does with the app's answer to a view_submission (response_action)."""
        action = answer.get("response_action")
        with self._lock:
            self.modal_errors.pop(view_id, None)
            if action == "errors":
                self.modal_errors[view_id] = {
                    str(k): str(v) for k, v in (answer.get("errors") or {}).items()
                }
                return
            if action in ("update", "push"):
                view = answer.get("view")
                problems = validate_view(view) if isinstance(view, dict) else ["no view"]
                if problems:
                    self.note(user, "Slack refused the app's response: " + "; ".join(problems))
                    return
                if action == "update":
                    self._store_view(view, view_id)
                    return
                new_id = self._store_view(view)["view"]["id"]
                self.modals.setdefault(user, []).append(new_id)
                return
            self.close_modal(user, view_id, all_views=action == "clear")

    def post_as(
        self, user: str, channel: str, text: str, thread_ts: str | None = None
    ) -> dict[str, Any]:
        """A person's own message, stored like the bot's so threads count it."""
        with self._lock:
            if not text.strip():
                raise _ApiError("no_text")
            ts = self._next_ts()
            msg = {
                "type": "message",
                "channel": channel,
                "ts": ts,
                "text": text,
                "blocks": [],
                "thread_ts": thread_ts,
                "user": user,
                "team": self.team_id,
            }
            parent = self.messages.get((channel, thread_ts or ""))
            if parent is not None:
                parent["thread_ts"] = thread_ts
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                parent["latest_reply"] = ts
            self.messages[(channel, ts)] = msg
            return dict(msg)

    def upload(self, user: str, name: str) -> dict[str, Any]:
        """A file picked in a file_input, as Slack hands it to the app (metadata only)."""
        with self._lock:
            fid = f"F0SB{next(self._files):06d}"
        safe = "".join(c for c in name if c.isalnum() or c in "._-")[:80] or "file"
        return {
            "id": fid,
            "name": name[:255],
            "title": name[:255],
            "mimetype": "application/octet-stream",
            "filetype": safe.rsplit(".", 1)[-1] if "." in safe else "binary",
            "user": user,
            "url_private": f"https://files.fake.slack.com/files-pri/{self.team_id}-{fid}/{safe}",
        }

    def note(self, user: str, text: str) -> None:
        """Something Slack's client would show the person (a refused view, a slow app)."""
        with self._lock:
            self.notices.append({"user": user, "text": text, "seq": len(self.notices)})

    def channel_messages(self, channel: str) -> list[dict[str, Any]]:
        """Top-level messages of a channel, oldest first, each with its thread's replies."""
        with self._lock:
            ordered = sorted(
                (m for (ch, _), m in self.messages.items() if ch == channel),
                key=lambda m: float(m["ts"]),
            )
            top = [dict(m) for m in ordered if m.get("thread_ts") in (None, m["ts"])]
            for m in top:
                m["replies"] = [
                    dict(r) for r in ordered if r.get("thread_ts") == m["ts"] and r["ts"] != m["ts"]
                ]
            return top

    def dm_of(self, user: str) -> str:
        with self._lock:
            return self._dm_for(user)
