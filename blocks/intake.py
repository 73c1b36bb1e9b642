"""Forms: the `/complaint new` modal (flow step 1) and the input blocks every step form is
drawn with. Both draw the fields the workflow declares (bot/workflow/intake.py INTAKE,
bot/workflow/steps.py STEPS), passed in by the handler: blocks never import the workflow.
Labels are English msgids, translated here with `_()`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from blocks.text import context, option, plain
from bot.i18n import _

CALLBACK_ID = "complaint_new"


def _input(
    block_id: str,
    label: str,
    element: dict[str, Any],
    *,
    optional: bool = False,
    hint: str | None = None,
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, 2000),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def text_input(
    action_id: str = "value",
    *,
    multiline: bool = False,
    max_length: int = 200,
    placeholder: str | None = None,
    initial: str | None = None,
) -> dict[str, Any]:
    el: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": action_id,
        "multiline": multiline,
        "max_length": max_length,
    }
    if placeholder:
        el["placeholder"] = plain(placeholder, 150)
    if initial:
        el["initial_value"] = initial[:max_length]
    return el


def _options(table: dict[str, str]) -> list[dict[str, Any]]:
    return [option(_(label), value) for value, label in table.items()]


def _element(f: Any, tables: dict[str, dict[str, str]], units: list[str]) -> dict[str, Any]:
    """The Block Kit element for a declared field (bot/workflow/fields.Field)."""
    kind = str(f.kind)
    placeholder = _(f.placeholder) if f.placeholder else None
    if kind in ("text", "long", "count"):
        limit = 12 if kind == "count" else min(f.limit, 3000)
        return text_input(multiline=kind == "long", max_length=limit, placeholder=placeholder)
    if kind in ("choice", "multi", "units"):
        opts = (
            [option(u.capitalize(), u) for u in units]
            if kind == "units"
            else _options(tables[f.options])
        )
        el: dict[str, Any] = {
            "type": "static_select" if kind == "choice" else "multi_static_select",
            "action_id": "value",
            "options": opts,
            "placeholder": plain(placeholder or _("Choose")),
        }
        return el
    if kind == "radio":
        return {
            "type": "radio_buttons",
            "action_id": "value",
            "options": _options(tables[f.options]),
        }
    if kind == "flag":
        return {"type": "checkboxes", "action_id": "value", "options": _options(tables[f.options])}
    if kind == "name":  # suggestions from bot/handlers/quality.py, keyed "<field>_name"
        return {
            "type": "external_select",
            "action_id": f"{f.key}_name",
            "min_query_length": 1,
            "placeholder": plain(placeholder or _("Choose"), 150),
        }
    if kind == "date":
        return {"type": "datepicker", "action_id": "value"}
    if kind == "user":
        return {"type": "users_select", "action_id": "value"}
    if kind == "files":
        return {"type": "file_input", "action_id": "value", "max_files": f.limit}
    raise ValueError(f"no element for field kind {kind!r}")


def field_blocks(
    fields: Iterable[Any],
    tables: dict[str, dict[str, str]],
    units: list[str] | None = None,
    *,
    initial: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """One input block per declared field, in the declared order; `initial` (field key →
    recorded value) fills them in, e.g. a reworked report from its latest version."""
    initial = initial or {}
    return [
        _input(
            f.key,
            _(f.label),
            with_initial(_element(f, tables, units or []), initial.get(f.key)),
            optional=not f.required,
            hint=_(f.hint) if f.hint else None,
        )
        for f in fields
    ]


def with_initial(el: dict[str, Any], value: Any) -> dict[str, Any]:
    """The element with `value` as its initial state, in the attribute its type takes
    (initial_value / _option(s) / _date / _user); options only if they are on offer, as
    Slack refuses an initial option that is not one of the element's options."""
    if value in (None, "", [], False):
        return el
    kind = el["type"]
    if kind == "plain_text_input":
        el["initial_value"] = str(value)[: el.get("max_length", 3000)]
    elif kind == "datepicker":
        el["initial_date"] = str(value)[:10]
    elif kind == "users_select":
        el["initial_user"] = str(value)
    elif kind in ("static_select", "radio_buttons"):
        found = [o for o in el["options"] if o["value"] == str(value)]
        if found:
            el["initial_option"] = found[0]
    elif kind in ("multi_static_select", "checkboxes"):
        values = {str(v) for v in value} if isinstance(value, list) else {str(value)}
        if kind == "checkboxes" and value is True:
            values = {o["value"] for o in el["options"]}
        found = [o for o in el["options"] if o["value"] in values]
        if found:
            el["initial_options"] = found
    return el


def intake_modal(
    fields: Iterable[Any], tables: dict[str, dict[str, str]], *, channel_id: str = ""
) -> dict[str, Any]:
    """Everything a quality team needs to start: customer, product, lots, quantity, how it
    came in, the defect, the customer's deadline, urgency and evidence."""
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "private_metadata": channel_id[:50],
        "title": plain(_("New complaint"), 24),
        "submit": plain(_("File complaint"), 24),
        "close": plain(_("Cancel"), 24),
        "blocks": [
            context(
                _(
                    "Record the complaint as the customer gave it. Technical Quality is "
                    "notified at once in the complaints channel."
                )
            ),
            *field_blocks(fields, tables),
        ],
    }
