"""`/complaint new | show REF | list | help`."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk.errors import SlackApiError

from blocks.intake import intake_modal
from blocks.posts import HELP, case_detail, case_list
from bot.handlers import Services
from bot.workflow import NotFound, Role
from bot.workflow.view import LABELS, case_view

log = logging.getLogger(__name__)


def register(app: App, sv: Services) -> None:
    @app.command("/complaint")
    def complaint(ack: Ack, command: dict[str, Any]) -> None:
        text = (command.get("text") or "").strip()
        sub, _, rest = text.partition(" ")
        sub = sub.lower()
        user_id = command["user_id"]
        if sub == "new":
            actor = sv.directory.actor(user_id)
            if not (actor.has(Role.MARKETING) or actor.has(Role.QUALITY)):
                ack(
                    text="Only Marketing or Technical Quality can file a complaint. Ask "
                    "Technical Quality if you have one to report."
                )
                return
            ack()
            try:
                sv.gateway.call(
                    "views.open",
                    trigger_id=command["trigger_id"],
                    view=intake_modal(channel_id=command.get("channel_id", "")),
                )
            except (SlackApiError, OSError) as exc:
                log.error("views.open for /complaint new failed: %s", exc)
                sv.tell(
                    command.get("channel_id"),
                    user_id,
                    "Slack did not open the complaint form in time — please try again.",
                )
            return
        if sub == "show":
            ref = rest.strip()
            if not ref:
                ack(text="Which case? `/complaint show CC-2026-0001`")
                return
            try:
                case = sv.desk.find_case(ref)
            except NotFound as exc:
                ack(text=str(exc))
                return
            msg = case_detail(case_view(case, sv.desk.now(), with_timeline=True), LABELS)
            ack(**msg)
            return
        if sub == "list":
            actor = sv.directory.actor(user_id)
            if actor.has(Role.QUALITY) or actor.has(Role.MANAGEMENT):
                cases, title = sv.desk.open_cases(), "Open cases"
            else:
                cases, title = sv.desk.open_cases_for(user_id), "Your open cases"
            now = sv.desk.now()
            ack(**case_list([case_view(c, now) for c in cases], title))
            return
        ack(text=HELP if sub in ("help", "") else f"Unknown command `{sub[:30]}`.\n\n{HELP}")
