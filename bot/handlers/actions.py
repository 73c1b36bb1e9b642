"""Buttons on the case card and in DMs: `step:<name>` with value `<case id>:<case step>`."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App
from slack_sdk.errors import SlackApiError

from blocks.modals import DIRECT_STEPS, step_modal
from bot.handlers import Services
from bot.handlers.work import step_payload
from bot.workflow import NotAllowed, NotFound, WorkflowError, WrongState
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
        if name in DIRECT_STEPS and name in STEPS and parsed is not None:
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
        if name not in STEPS or parsed is None:
            log.warning(
                "forged or unknown action %r value %r from %s",
                action.get("action_id"),
                action.get("value"),
                user_id,
            )
            sv.tell(channel, user_id, "That button is not recognised. Nothing was changed.")
            return
        case_id, seen_step = parsed
        actor = sv.directory.actor(user_id)
        try:
            # the form of "Sent to customer" names the report version, so it needs the reports
            case = sv.desk.get_case(case_id, full=name == "send_to_customer")
            step = STEPS[name]
            if case.step != seen_step:
                raise WrongState(
                    f"{case.ref} has moved on since this card was shown. Nothing was changed."
                )
            if not sv.desk.allowed(name, case, actor):
                if not step.who(actor, case):
                    raise NotAllowed(f"Only {step.who_text} can do “{step.label}” on {case.ref}.")
                raise WrongState(f"“{step.label}” does not apply to {case.ref} now.")
        except (NotAllowed, WrongState, NotFound) as exc:
            sv.tell(channel, user_id, str(exc))
            return
        except WorkflowError as exc:
            sv.tell(channel, user_id, str(exc))
            return
        # issue 14 hook: the configured complaint categories for the confirmation form
        labels = {**LABELS, "complaint_category": category_names(sv.settings.categories)}
        view = step_modal(
            name, case_view(case, sv.desk.now()), labels=labels, units=list(sv.settings.units)
        )
        try:
            sv.gateway.call("views.open", trigger_id=body["trigger_id"], view=view)
        except (SlackApiError, OSError) as exc:
            log.error("views.open for %s failed: %s", name, exc)
            sv.tell(channel, user_id, "Slack did not open the form in time — please try again.")

    @app.action("open_case")
    def open_case(ack: Ack) -> None:
        ack()  # a link button: Slack opens the URL, we only acknowledge
