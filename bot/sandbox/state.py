"""What the sandbox page shows one person, and the modal state Slack's client would send.

`page_state` is the JSON the page polls: the channels with their messages and threads,
the person's DM with the bot, their ephemeral messages, their open modal (with inline
errors), their Home tab, the clock, and the Web API calls Slack refused. `state_values`
turns the page's plain answers into `view.state.values`, shaped per element type as Slack
sends them (selected_option objects taken from the view itself, files as file objects).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from bot.sandbox.server import Sandbox
    from bot.sandbox.workspace import SandboxSlack

RECENT_REFUSALS = 10


def _option(el: dict[str, Any], value: Any) -> dict[str, Any] | None:
    for group in [el] + list(el.get("option_groups") or []):
        for opt in group.get("options") or []:
            if opt.get("value") == value:
                return opt
    return None


def _element_state(
    el: dict[str, Any], answer: Any, user: str, slack: SandboxSlack
) -> dict[str, Any]:
    kind = el.get("type")
    state: dict[str, Any] = {"type": kind}
    if kind in ("static_select", "radio_buttons"):
        state["selected_option"] = _option(el, answer) if answer else None
    elif kind == "external_select":
        # the page sends back the option object the app offered in block_suggestion
        # (a plain string: the text typed and offered back as is, a new name for instance)
        if isinstance(answer, str) and answer:
            answer = {"text": {"type": "plain_text", "text": answer[:75]}, "value": answer}
        state["selected_option"] = answer if isinstance(answer, dict) else None
    elif kind in ("multi_static_select", "checkboxes"):
        chosen = answer if isinstance(answer, list) else []
        state["selected_options"] = [o for v in chosen if (o := _option(el, v)) is not None]
    elif kind == "datepicker":
        state["selected_date"] = answer or None
    elif kind == "timepicker":
        state["selected_time"] = answer or None
    elif kind == "users_select":
        state["selected_user"] = answer or None
    elif kind == "multi_users_select":
        state["selected_users"] = answer if isinstance(answer, list) else []
    elif kind == "file_input":
        names = answer if isinstance(answer, list) else []
        state["files"] = [slack.upload(user, str(n)) for n in names if str(n).strip()]
    else:  # plain_text_input and the other text inputs
        state["value"] = answer if isinstance(answer, str) and answer != "" else None
    return state


def state_values(
    view: dict[str, Any], answers: dict[str, Any], user: str, slack: SandboxSlack
) -> dict[str, Any]:
    """`view.state.values` for the view's input blocks: every input block is present, as in
    Slack, with empty values for what the person left empty."""
    out: dict[str, Any] = {}
    for block in view.get("blocks") or []:
        if block.get("type") != "input" or not isinstance(block.get("element"), dict):
            continue
        el = block["element"]
        block_id = str(block.get("block_id") or "")
        out[block_id] = {
            str(el.get("action_id") or ""): _element_state(el, answers.get(block_id), user, slack)
        }
    return out


def page_state(sb: Sandbox, user: str) -> dict[str, Any]:
    from bot.sandbox.server import COMPLAINTS, MANAGEMENT, NOTE, PEOPLE

    slack = sb.slack
    assert sb.bot is not None
    tz = ZoneInfo(sb.bot.settings.timezone)
    now = sb.clock().astimezone(tz)
    dm = slack.dm_of(user)
    modal_id = slack.top_modal(user)
    modal = slack.view(modal_id) if modal_id else None
    with slack._lock:
        ephemerals = [e for e in slack.ephemerals if e["user"] == user]
        notices = [n for n in slack.notices if n["user"] == user][-5:]
        errors = slack.modal_errors.get(modal_id or "", {})
        refused = [
            {"method": c.method, "error": c.error} for c in slack.rejected[-RECENT_REFUSALS:]
        ]
    channels = [
        {"id": COMPLAINTS, "name": "complaints", "kind": "channel"},
        {"id": MANAGEMENT, "name": "management", "kind": "channel"},
        {"id": dm, "name": "Complaint desk", "kind": "dm"},
    ]
    return {
        "note": NOTE,
        "database": _database_label(sb.database_url),
        "now": now.isoformat(),
        "now_label": now.strftime("%a %d %b %Y %H:%M") + f" ({tz.key})",
        "user": user,
        "people": [{"id": uid, "name": name, "role": role} for uid, name, role in PEOPLE],
        "names": dict(slack.user_names),
        "bot_user": slack.bot_user_id,
        "channels": channels,
        "messages": {c["id"]: slack.channel_messages(c["id"]) for c in channels},
        "ephemerals": ephemerals,
        "notices": notices,
        "modal": None if modal is None else {"view": modal, "errors": errors},
        "home": slack.home_view(user),
        "refused": refused,
    }


def _database_label(url: str) -> str:
    """The database without its password, for the page's footer."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://…@{rest.split('@', 1)[1]}"
    return url
