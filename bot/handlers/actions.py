"""Buttons on the case card and in DMs: `step:<name>` with value `<case id>:<case step>`.

A step without a form (its declaration has a confirm dialog) is stored in the inbox and
acked; the worker takes it (bot/workflow/inbox.py). A step with a form is checked (who,
where, stale card: `Desk.check_may_take`, the same check and words `Desk.take` uses) and
its form opened straight away, while the trigger is alive; the form's submission then
goes the same way as a button (bot/handlers/views.py)."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App
from slack_sdk.errors import SlackApiError

from blocks.modals import step_modal
from bot.handlers import Services
from bot.i18n import _
from bot.workflow import WorkflowError
from bot.workflow.inbox import step_payload
from bot.workflow.rework import form_initial, why_back
from bot.workflow.steps import STEPS
from bot.workflow.taxonomy import category_names
from bot.workflow.view import LABELS, case_view

log = logging.getLogger(__name__)
VALUE_RE = re.compile(r"^(\d{1,12}):(\d{1,9})$")


def parse_value(value: Any) -> tuple[int, int] | None:
    m = VALUE_RE.match(str(value or ""))
    return (int(m.group(1)), int(m.group(2))) if m else None


def register(app: App, sv: Services) -> None:
    @app.action(re.compile(r"^step:[a-z_]{1,40}$"))
    def step_button(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        user_id = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id")
        name = action["action_id"].split(":", 1)[1]
        parsed = parse_value(action.get("value"))
        step = STEPS.get(name)
        if step is not None and not step.has_form and parsed is not None:
            # stored before the ack, taken by the worker right after it; a retry of this
            # very click (same action_ts and trigger) is stored once, and a second click
            # finds the case moved on
            sv.desk.inbox.accept_request(
                key=f"action:{user_id}:{action.get('action_ts')}:{body.get('trigger_id')}",
                kind="step",
                user_id=user_id,
                channel_id=channel,
                payload=step_payload(name, *parsed),
                now=sv.desk.now(),
            )
            ack()
            sv.wake()
            return
        ack()
        if step is None or parsed is None:
            log.warning(
                "forged or unknown action %r value %r from %s",
                action.get("action_id"),
                action.get("value"),
                user_id,
            )
            sv.tell(channel, user_id, _("That button is not recognised. Nothing was changed."))
            return
        case_id, seen_step = parsed
        try:
            # the form of "Sent to customer" names the report version, so it needs the reports
            # issue 12(3g): a report form starts from its latest version (the reports)
            case = sv.desk.get_case(case_id, full=step.needs_reports or bool(step.report))
            sv.desk.check_may_take(step, case, sv.directory.actor(user_id), seen_step)
        except WorkflowError as exc:
            sv.tell(channel, user_id, str(exc))
            return
        # issue 14 hook: the configured complaint categories for the confirmation form
        labels = {**LABELS, "complaint_category": category_names(sv.settings.categories)}
        view = step_modal(
            step,
            case_view(case, sv.desk.now()),
            labels=labels,
            units=list(sv.settings.units),
            initial=form_initial(step, case),
            back=why_back(step, case),
        )
        try:
            sv.gateway.call("views.open", trigger_id=body["trigger_id"], view=view)
        except (SlackApiError, OSError) as exc:
            log.error("views.open for %s failed: %s", name, exc)
            sv.tell(channel, user_id, _("Slack did not open the form in time — please try again."))

    @app.action("open_case")
    def open_case(ack: Ack) -> None:
        ack()  # a link button: Slack opens the URL, we only acknowledge
