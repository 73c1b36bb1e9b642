"""Modal submissions: the intake form and the procedure's step forms."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App

from blocks.posts import notice
from blocks.text import escape, plain
from bot.handlers import Services
from bot.handlers.work import intake_payload
from bot.workflow import IntakeForm, InvalidInput, WorkflowError, validate_intake
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
        "close": plain("Close", 24),
        "blocks": notice(escape(text))["blocks"],
    }


def register(app: App, sv: Services) -> None:
    @app.view("complaint_new")
    def new_complaint(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        # cleaned before it is stored in the inbox too, not only where it is validated
        v = clean_data(values(view))
        form = IntakeForm(
            customer=v.get("customer") or "",
            contact=v.get("contact") or "",
            product=v.get("product") or "",
            lots=v.get("lots") or "",
            quantity=v.get("quantity") or "",
            via=v.get("via") or "",
            description=v.get("description") or "",
            deadline=v.get("deadline"),
            urgent="urgent" in (v.get("urgent") or []),
            evidence=v.get("evidence") or [],
            notes=v.get("notes") or "",
        )
        now = sv.desk.now()
        try:
            validate_intake(form, today=now.astimezone(sv.desk.tz).date())
            sv.desk.check_can_file(sv.directory.actor(body["user"]["id"]))
        except InvalidInput as exc:
            ack(response_action="errors", errors=exc.errors)
            return
        except WorkflowError as exc:
            ack(response_action="update", view=_message_view("New complaint", str(exc)))
            return
        # stored before the ack, filed by the worker right after it (bot/handlers/work.py);
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
                    "Not recognised", "This form is not recognised. Nothing was changed."
                ),
            )
            return
        case_id, seen_step = int(m.group(1)), int(m.group(2))
        actor = sv.directory.actor(user_id)
        try:
            getattr(sv.desk, name)(
                case_id,
                actor,
                sv.desk.now(),
                values(view),
                expected_step=seen_step,
                request_key=f"view:{view['id']}",
            )
        except InvalidInput as exc:
            ack(response_action="errors", errors=exc.errors)
            return
        except WorkflowError as exc:
            ack(response_action="update", view=_message_view("Not changed", str(exc)))
            return
        ack()
        sv.wake()
