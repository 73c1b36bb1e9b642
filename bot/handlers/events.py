"""Events: replies in a case thread go into the case's timeline; App Home lists cases."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App

from blocks.posts import case_list
from bot.handlers import Services
from bot.workflow.access import READABLE_SCAN, readable, sees_every_case
from bot.workflow.view import case_view

log = logging.getLogger(__name__)


def register(app: App, sv: Services) -> None:
    @app.event("message")
    def thread_reply(event: dict[str, Any]) -> None:
        """Root-cause discussion in the thread belongs to the record (Records control)."""
        if event.get("bot_id") or event.get("subtype") not in (
            None,
            "thread_broadcast",
            "file_share",
        ):
            return
        thread_ts, channel = event.get("thread_ts"), event.get("channel")
        if not thread_ts or thread_ts == event.get("ts") or not channel:
            return
        case_id = sv.desk.case_for_thread(channel, thread_ts)
        if case_id is None:
            return
        actor = sv.directory.actor(event.get("user", "unknown"))
        sv.desk.add_comment(
            case_id,
            actor,
            sv.desk.now(),
            text=event.get("text") or "",
            message_ts=event["ts"],
            files=[f for f in event.get("files") or [] if isinstance(f, dict)],
        )

    @app.event("app_home_opened")
    def home(event: dict[str, Any], client: Any) -> None:
        if event.get("tab") != "home":
            return
        now = sv.desk.now()
        mine = case_list(
            [case_view(c, now) for c in sv.desk.open_cases_for(event["user"])], "Your open cases"
        )
        actor = sv.directory.actor(event["user"])
        visibility = sv.settings.case_visibility
        if sees_every_case(actor, visibility):
            cases = sv.desk.open_cases()
        else:  # only what this person may read (bot/workflow/access.py)
            cases = readable(actor, sv.desk.open_cases(READABLE_SCAN), visibility, limit=30)
        everyone = case_list([case_view(c, now) for c in cases], "Open cases")
        sv.gateway.call(
            "views.publish",
            user_id=event["user"],
            view={
                "type": "home",
                "blocks": (mine["blocks"] + [{"type": "divider"}] + everyone["blocks"])[:100],
            },
        )
