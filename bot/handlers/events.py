"""Events: replies in a case thread go into the case's timeline; the App Home tab is a
to-do for each person (issue 12), with its "Show more" and "New complaint" buttons."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk.errors import SlackApiError

from bot.handlers import Services
from bot.handlers.views import intake_view
from bot.i18n import _, use_locale
from bot.slack.home import Home
from bot.workflow import Role

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

    home = Home(sv.desk, sv.gateway, sv.directory)

    @app.event("app_home_opened")
    def home_opened(event: dict[str, Any]) -> None:
        """A to-do for whoever opens the Home tab (bot/slack/home.py)."""
        if event.get("tab") != "home":
            return
        home.opened(event["user"])

    @app.action("home_more")
    def home_more(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        """ "Show more" under one of the Home tab's lists: the same Home, that list longer."""
        ack()
        name, _, count = str(action.get("value") or "").partition(":")
        pages = {name: min(int(count), 500)} if count.isdigit() else None
        home.publish(body["user"]["id"], pages, merge=True)

    @app.action("home_new_complaint")
    def home_new_complaint(ack: Ack, body: dict[str, Any]) -> None:
        """The Home tab's New complaint button: the same form as `/complaint new`."""
        ack()
        user_id = body["user"]["id"]
        actor = sv.directory.actor(user_id)
        if not (actor.has(Role.MARKETING) or actor.has(Role.QUALITY)):
            with use_locale(sv.directory.locale(user_id)):
                refusal = _("Only Marketing or Technical Quality can file a complaint.")
            sv.tell(None, user_id, refusal)
            return
        try:
            with use_locale(sv.directory.locale(user_id)):
                view = intake_view(sv.settings.complaints_channel)
            sv.gateway.call("views.open", trigger_id=body["trigger_id"], view=view)
        except (SlackApiError, OSError) as exc:
            log.error("views.open for the Home's New complaint failed: %s", exc)
