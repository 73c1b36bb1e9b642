"""The `/complaint new` modal (flow step 1: a complete complaint record)."""

from __future__ import annotations

from typing import Any

from blocks.text import context, option, plain
from bot.i18n import N_, _

CALLBACK_ID = "complaint_new"
VIA = [
    ("phone", "Phone"),
    ("fax", "Fax"),
    ("letter", "Letter"),
    ("email", "E-mail"),
    ("verbal", "Verbal"),
    ("visit", "Customer visit"),
]


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


def name_select(action_id: str, placeholder: str) -> dict[str, Any]:
    """Issue 14 hook: existing names suggested as you type (bot/handlers/quality.py loads
    the options), so one customer is not spelled three ways; a new name is offered too."""
    return {
        "type": "external_select",
        "action_id": action_id,
        "min_query_length": 1,
        "placeholder": plain(_(placeholder), 150),
    }


def intake_modal(*, channel_id: str = "") -> dict[str, Any]:
    """Everything a quality team needs to start: customer, product, lots, quantity, how it
    came in, the defect, the customer's deadline, urgency and evidence."""
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "private_metadata": channel_id[:50],
        "title": plain("New complaint", 24),
        "submit": plain("File complaint", 24),
        "close": plain("Cancel", 24),
        "blocks": [
            context(
                "Record the complaint as the customer gave it. Technical Quality is "
                "notified at once in the complaints channel."
            ),
            _input("customer", "Customer", name_select("customer_name", N_("Company name"))),
            _input("contact", "Customer contact", text_input(placeholder="Name, phone, e-mail")),
            _input(
                "product", "Product / part number", name_select("product_name", N_("Part number"))
            ),
            _input(
                "lots",
                "Lot or batch number(s)",
                text_input(max_length=400),
                hint="Separate several lots with commas.",
            ),
            _input(
                "quantity",
                "Quantity affected",
                text_input(max_length=12),
                hint="A whole number of pieces.",
            ),
            _input(
                "via",
                "Received by",
                {
                    "type": "static_select",
                    "action_id": "value",
                    "placeholder": plain("How did it come in?"),
                    "options": [option(label, value) for value, label in VIA],
                },
            ),
            _input(
                "description",
                "Description of the defect",
                text_input(
                    multiline=True,
                    max_length=3000,
                    placeholder="What the customer found, where, how many, since when",
                ),
            ),
            _input(
                "deadline",
                "Customer's reply deadline",
                {"type": "datepicker", "action_id": "value"},
                optional=True,
                hint="Leave empty: corrective reply in 1 working day, preventive in 3.",
            ),
            _input(
                "urgent",
                "Urgency",
                {
                    "type": "checkboxes",
                    "action_id": "value",
                    "options": [
                        option("Urgent — mobilise the responsible units at once", "urgent")
                    ],
                },
                optional=True,
            ),
            _input(
                "evidence",
                "Evidence (photos, files)",
                {
                    "type": "file_input",
                    "action_id": "value",
                    "max_files": 10,
                },
                optional=True,
            ),
            _input(
                "notes", "Anything else", text_input(multiline=True, max_length=3000), optional=True
            ),
        ],
    }
