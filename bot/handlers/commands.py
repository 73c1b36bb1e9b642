"""`/complaint new | show REF | list | report REF | register [period] [filters] | help`."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk.errors import SlackApiError

from blocks.posts import HELP, case_detail, case_list
from blocks.text import escape
from bot.handlers import Services
from bot.handlers.views import intake_view
from bot.models import Case
from bot.workflow import InvalidInput, NotFound, Role
from bot.workflow.access import READABLE_SCAN, can_read, readable, refusal, sees_every_case
from bot.workflow.records import parse_register_query
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
                    view=intake_view(command.get("channel_id", "")),
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
            visibility = sv.settings.case_visibility
            try:
                case = sv.desk.find_case(ref)
            except NotFound:
                case = None
            if case is None or not can_read(sv.directory.actor(user_id), case, visibility):
                if case is not None:
                    log.warning("refused to show %s to %s", case.ref, user_id)
                # the same words whether the case exists or not: refs can be guessed
                ack(text=escape(refusal(ref)))
                return
            msg = case_detail(case_view(case, sv.desk.now(), with_timeline=True), LABELS)
            ack(**msg)
            return
        if sub == "report":
            ack(**_report(sv, user_id, rest.strip()))
            sv.wake()
            return
        if sub == "register":
            ack(**_register(sv, user_id, rest.strip()))
            sv.wake()
            return
        if sub == "list":
            actor = sv.directory.actor(user_id)
            if actor.has(Role.QUALITY) or actor.has(Role.MANAGEMENT):
                cases, title = sv.desk.open_cases(), "Open cases"
            elif sees_every_case(actor, sv.settings.case_visibility):
                cases, title = sv.desk.open_cases_for(user_id), "Your open cases"
            else:  # no role: the cases they reported and those of their units
                cases = readable(actor, sv.desk.open_cases(READABLE_SCAN), limit=30)
                title = "Your open cases"
            now = sv.desk.now()
            ack(**case_list([case_view(c, now) for c in cases], title))
            return
        unknown = f"Unknown command `{escape(sub[:30])}`.\n\n{HELP}"
        ack(text=HELP if sub in ("help", "") else unknown)


def _report(sv: Services, user_id: str, ref: str) -> dict[str, Any]:
    """Acknowledged at once; the worker makes the PDF and sends it by direct message."""
    if not ref:
        return {"text": "Which case? `/complaint report CC-2026-0001`"}
    try:
        case: Case | None = sv.desk.find_case(ref)
    except NotFound:
        case = None
    if case is None or not can_read(sv.directory.actor(user_id), case, sv.settings.case_visibility):
        return {"text": escape(refusal(ref))}  # the same words whether the case exists or not
    if case.latest_report("corrective") is None and case.latest_report("preventive") is None:
        return {
            "text": f"{case.ref} has no improvement report yet (no corrective or "
            "preventive action recorded)."
        }
    sv.desk.request_report(case, user_id, sv.desk.now())
    return {"text": f"The improvement report of {case.ref} is on its way by direct message."}


def _register(sv: Services, user_id: str, text: str) -> dict[str, Any]:
    actor = sv.directory.actor(user_id)
    if not (actor.has(Role.QUALITY) or actor.has(Role.MANAGEMENT)):
        return {"text": "Only Technical Quality or Management can take the complaint register."}
    now = sv.desk.now()
    try:
        query = parse_register_query(text, now.astimezone(sv.desk.tz).date())
    except InvalidInput as exc:
        return {"text": " ".join(exc.errors.values()) + "\n\n" + REGISTER_HELP}
    sv.desk.request_register(query, user_id, now)
    return {
        "text": f"The complaint register ({query.describe()}) is on its way by direct "
        "message: XLSX, and CSV."
    }


REGISTER_HELP = (
    "`/complaint register` — this month. `/complaint register 2026-03` — a month. "
    "`/complaint register 2026-01-01..2026-03-31 severity:A unit:production` — a period, "
    "with filters customer: product: severity: status:open|closed unit:"
)
