"""Issue 14's Slack surfaces: name suggestions for the intake form (external_select
options), Technical Quality's "link to the earlier case" button, and `/complaint stats`."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App

from blocks.recurrence import LINK_ACTION
from blocks.stats import stats_text
from blocks.text import option, truncate
from bot.handlers import Services
from bot.handlers.actions import parse_value
from bot.i18n import _
from bot.workflow import InvalidInput, Role, WorkflowError
from bot.workflow.stats import parse_period
from bot.workflow.taxonomy import category_names

log = logging.getLogger(__name__)
NAME_FIELDS = {"customer_name": "customer", "product_name": "product"}
VALUE_MAX = 150  # Block Kit: an option's value


def name_options(names: list[str], typed: str) -> list[dict[str, Any]]:
    """The matches, and what was typed as a new name unless it is one of them."""
    out = [option(truncate(n, 75), n[:VALUE_MAX]) for n in names if n]
    typed = typed.strip()[:VALUE_MAX]
    if typed and typed.casefold() not in {n.casefold() for n in names}:
        out.insert(0, option(truncate(_("new: {name}", name=typed), 75), typed))
    return out[:100]


def register(app: App, sv: Services) -> None:
    @app.options({"action_id": "customer_name"})
    @app.options({"action_id": "product_name"})
    def suggest_names(ack: Ack, body: dict[str, Any]) -> None:
        typed = str(body.get("value") or "")[:200]
        field = NAME_FIELDS.get(str(body.get("action_id")), "customer")
        ack(options=name_options(sv.desk.suggest_names(field, typed), typed))

    @app.action(LINK_ACTION)
    def link_recurrence(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        user_id = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id")
        parsed = parse_value(action.get("value"))
        if parsed is None:
            sv.tell(channel, user_id, _("That button is not recognised. Nothing was changed."))
            return
        try:
            sv.desk.link_recurrence(
                parsed[0], sv.directory.actor(user_id), sv.desk.now(), expected_step=parsed[1]
            )
        except WorkflowError as exc:
            sv.tell(channel, user_id, str(exc))
            return
        sv.wake()


def stats_reply(sv: Services, user_id: str, text: str) -> dict[str, Any]:
    """`/complaint stats [month|quarter|from..to]`: the figures at once as text (ephemeral),
    the charts by direct message from the worker's records helper."""
    actor = sv.directory.actor(user_id)
    if not (actor.has(Role.QUALITY) or actor.has(Role.MANAGEMENT)):
        return {"text": _("Only Technical Quality or Management can see the complaint figures.")}
    now = sv.desk.now()
    try:
        period = parse_period(text, now.astimezone(sv.desk.tz).date())
    except InvalidInput as exc:
        return {"text": " ".join(exc.errors.values())}
    figures = sv.desk.kpis(period, now)
    sv.desk.request_stats(period, user_id, now)
    return {"text": stats_text(figures, category_names(sv.settings.categories), charts=True)}
