"""`/complaint new | show REF | list | report REF | register [period] [filters] | help`."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk.errors import SlackApiError

from blocks.posts import case_detail
from blocks.text import escape
from bot.handlers import Services
from bot.handlers.views import intake_view
from bot.i18n import _
from bot.models import Case
from bot.slack.home import Home
from bot.workflow import InvalidInput, NotFound, Role
from bot.workflow.access import can_read, refusal
from bot.workflow.records import parse_register_query
from bot.workflow.taxonomy import category_names
from bot.workflow.view import LABELS, case_view

log = logging.getLogger(__name__)


def register(app: App, sv: Services) -> None:
    @app.command("/complaint")
    def complaint(ack: Ack, command: dict[str, Any]) -> None:
        text = (command.get("text") or "").strip()
        sub, _sep, rest = text.partition(" ")
        sub = sub.lower()
        user_id = command["user_id"]
        if sub == "new":
            actor = sv.directory.actor(user_id)
            if not (actor.has(Role.MARKETING) or actor.has(Role.QUALITY)):
                ack(
                    text=_(
                        "Only Marketing or Technical Quality can file a complaint. Ask "
                        "Technical Quality if you have one to report."
                    )
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
                    _("Slack did not open the complaint form in time — please try again."),
                )
            return
        if sub == "show":
            ref = rest.strip()
            if not ref:
                ack(text=_("Which case? `{example}`", example="/complaint show CC-2026-0001"))
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
            labels = {**LABELS, "complaint_category": category_names(sv.settings.categories)}
            msg = case_detail(case_view(case, sv.desk.now(), with_timeline=True), labels)
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
        if sub == "stats":  # issue 14 hook
            from bot.handlers.quality import stats_reply

            ack(**stats_reply(sv, user_id, rest.strip()))
            sv.wake()
            return
        if sub == "list":  # issue 12: the to-do, or a filter (bot/slack/home.py)
            ack(**Home(sv.desk, sv.gateway, sv.directory).list_reply(user_id, rest))
            return
        if sub in ("help", ""):
            ack(text=help_text())
        else:
            ack(text=_("Unknown command `{word}`.", word=escape(sub[:30])) + "\n\n" + help_text())


def _report(sv: Services, user_id: str, ref: str) -> dict[str, Any]:
    """Acknowledged at once; the worker makes the PDF and sends it by direct message."""
    if not ref:
        return {"text": _("Which case? `{example}`", example="/complaint report CC-2026-0001")}
    try:
        case: Case | None = sv.desk.find_case(ref)
    except NotFound:
        case = None
    if case is None or not can_read(sv.directory.actor(user_id), case, sv.settings.case_visibility):
        return {"text": escape(refusal(ref))}  # the same words whether the case exists or not
    if case.latest_report("corrective") is None and case.latest_report("preventive") is None:
        return {
            "text": _(
                "{ref} has no improvement report yet (no corrective or preventive action "
                "recorded).",
                ref=case.ref,
            )
        }
    sv.desk.request_report(case, user_id, sv.desk.now())
    return {
        "text": _("The improvement report of {ref} is on its way by direct message.", ref=case.ref)
    }


def _register(sv: Services, user_id: str, text: str) -> dict[str, Any]:
    actor = sv.directory.actor(user_id)
    if not (actor.has(Role.QUALITY) or actor.has(Role.MANAGEMENT)):
        return {"text": _("Only Technical Quality or Management can take the complaint register.")}
    now = sv.desk.now()
    try:
        query = parse_register_query(text, now.astimezone(sv.desk.tz).date())
    except InvalidInput as exc:
        return {"text": " ".join(exc.errors.values()) + "\n\n" + register_help()}
    sv.desk.request_register(query, user_id, now)
    return {
        "text": _(
            "The complaint register ({what}) is on its way by direct message: XLSX, and CSV.",
            what=query.describe(),
        )
    }


def register_help() -> str:
    """How to ask for the register, in the current language."""
    return _(
        "`/complaint register` — this month. `/complaint register 2026-03` — a month. "
        "`/complaint register 2026-01-01..2026-03-31 severity:A unit:production` — a period, "
        "with filters customer: product: severity: status:open|closed unit:"
    )


def help_text() -> str:
    """`/complaint help`, in the person's language (the commands themselves stay English:
    Slack's slash commands take them as typed)."""
    lines = [
        _("*Complaint desk* — the customer-complaint procedure in Slack"),
        _("• `/complaint new` — record a new customer complaint (Marketing or Technical Quality)"),
        _("• `/complaint show CC-2026-0001` — a case with its full timeline"),
        _("• `/complaint list` — your open cases (all open cases for Technical Quality)"),
        _(
            "• `/complaint report CC-2026-0001` — the latest improvement report (PDF) by "
            "direct message"
        ),
        _(
            "• `/complaint register [2026-03 | 2026-01-01..2026-03-31] [severity:A unit:…]` — "
            "the complaint register (XLSX and CSV) by direct message (Technical Quality, "
            "Management)"
        ),
        _("• `/complaint help` — this help"),
        _(
            "Every step after intake happens with the buttons on the case card in the "
            "complaints channel; discuss the case in its thread."
        ),
    ]
    return "\n".join(lines)
