"""Modal submissions: the intake form and the procedure's step forms."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App

from blocks.intake import CALLBACK_ID as INTAKE_CALLBACK
from blocks.intake import intake_modal
from blocks.posts import notice
from blocks.text import escape, plain
from bot.handlers import Services
from bot.i18n import _
from bot.workflow import InvalidInput, WorkflowError, validate_intake
from bot.workflow.inbox import intake_payload, step_payload
from bot.workflow.intake import FIELDS as INTAKE_FIELDS
from bot.workflow.intake import TABLES as INTAKE_TABLES
from bot.workflow.intake import intake_form
from bot.workflow.roles import Role
from bot.workflow.steps import STEPS
from bot.workflow.text import clean_data

log = logging.getLogger(__name__)
META_RE = re.compile(r"^(\d{1,12}):(\d{1,9})$")


def values(view: dict[str, Any]) -> dict[str, Any]:
    """Flatten `view.state.values` to {block_id: value} whatever the element type."""
    out: dict[str, Any] = {}
    for block_id, actions in ((view.get("state") or {}).get("values") or {}).items():
        for el in actions.values():
            t = el.get("type")
            if t in ("static_select", "radio_buttons", "external_select"):
                out[block_id] = (el.get("selected_option") or {}).get("value")
            elif t in ("multi_static_select", "checkboxes"):
                out[block_id] = [o.get("value") for o in el.get("selected_options") or []]
            elif t == "datepicker":
                out[block_id] = el.get("selected_date")
            elif t == "users_select":
                out[block_id] = el.get("selected_user")
            elif t == "file_input":
                out[block_id] = [
                    {
                        "id": f.get("id"),
                        "name": f.get("name"),
                        "url": f.get("url_private"),
                        "mimetype": f.get("mimetype"),
                    }
                    for f in el.get("files") or []
                    if isinstance(f, dict)
                ]
            else:
                out[block_id] = el.get("value")
    return out


def _message_view(title: str, text: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": plain(title, 24),
        "close": plain(_("Close"), 24),
        "blocks": notice(escape(text))["blocks"],
    }


def intake_view(channel_id: str = "") -> dict[str, Any]:
    """The `/complaint new` modal, drawn from the declared intake fields."""
    return intake_modal(INTAKE_FIELDS, INTAKE_TABLES, channel_id=channel_id)


def register(app: App, sv: Services) -> None:
    @app.view(INTAKE_CALLBACK)
    def new_complaint(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        # cleaned before it is stored in the inbox too, not only where it is validated
        form = intake_form(clean_data(values(view)))
        now = sv.desk.now()
        filer = sv.directory.actor(body["user"]["id"])
        try:
            # issue 12(3d): Technical Quality filing first names the customer contact window
            first = filer.has(Role.QUALITY) and not filer.has(Role.MARKETING)
            validate_intake(form, today=sv.desk.today(now), quality_first=first)
            sv.desk.check_can_file(filer)
        except InvalidInput as exc:
            ack(response_action="errors", errors=exc.errors)
            return
        except WorkflowError as exc:
            ack(response_action="update", view=_message_view(_("New complaint"), str(exc)))
            return
        # stored before the ack, filed by the worker right after it (bot/workflow/inbox.py);
        # a re-sent form has the same view id and is stored once
        sv.desk.inbox.accept_request(
            key=f"view:{view['id']}",
            kind="intake",
            user_id=body["user"]["id"],
            channel_id=None,
            payload=intake_payload(form),
            now=now,
        )
        ack()
        sv.wake()

    @app.view(re.compile(r"^step:[a-z_]{1,40}$"))
    def step_submission(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        name = view["callback_id"].split(":", 1)[1]
        m = META_RE.match(view.get("private_metadata") or "")
        user_id = body["user"]["id"]
        if name not in STEPS or m is None:
            log.warning(
                "forged view submission %r / %r from %s",
                view.get("callback_id"),
                view.get("private_metadata"),
                user_id,
            )
            ack(
                response_action="update",
                view=_message_view(
                    _("Not recognised"), _("This form is not recognised. Nothing was changed.")
                ),
            )
            return
        case_id, seen_step = int(m.group(1)), int(m.group(2))
        answers = clean_data(values(view))
        try:
            # the person sees mistakes on the form while it is open; `Desk.take` checks
            # the same again under the case's lock, in the worker
            sv.desk.check_form(name, case_id, sv.directory.actor(user_id), answers, seen_step)
        except InvalidInput as exc:
            ack(response_action="errors", errors=exc.errors)
            return
        except WorkflowError as exc:
            ack(response_action="update", view=_message_view(_("Not changed"), str(exc)))
            return
        # the same path as a button: stored before the ack, taken by the worker (a re-sent
        # form has the same view id and is stored once)
        sv.desk.inbox.accept_request(
            key=f"view:{view['id']}",
            kind="step",
            user_id=user_id,
            channel_id=None,
            payload=step_payload(name, case_id, seen_step, answers),
            now=sv.desk.now(),
        )
        ack()
        sv.wake()
