"""What a complaint is about and who speaks to the customer (issue 12, 3(d) and 3(e)).

A service complaint (the procedure covers products and services, 产品、服务) has no product,
lot or quantity: the card, alerts and documents say "Service complaint" instead of empty
product lines. When Technical Quality files first, Marketing gets a direct message at once
(procedure 5.1.2), naming the customer's contact window."""

from __future__ import annotations

from datetime import date
from typing import Any

from blocks.text import SECTION_TEXT, escape, section, truncate, user, user_text
from bot.i18n import _, fmt_date, fmt_number


def is_service(vm: dict[str, Any]) -> bool:
    return vm.get("complaint_kind") == "service"


def subject_fields(vm: dict[str, Any]) -> list[tuple[str, str]]:
    """The card's lines for what the complaint is about."""
    if is_service(vm):
        return [(_("Complaint about"), _("A service (no product, lot or quantity)"))]
    return [
        (_("Product"), user_text(vm["product"], 300)),
        (_("Lots"), user_text(vm["lots"], 300)),
        (_("Quantity"), fmt_number(vm["quantity"])),
    ]


def subject_line(vm: dict[str, Any]) -> str:
    """One line for alerts: product, lots and quantity, or that it is about a service."""
    if is_service(vm):
        return _("Service complaint")
    return _(
        "{product} · lots {lots} · qty {quantity}",
        product=user_text(vm["product"], 200),
        lots=user_text(vm["lots"], 200),
        quantity=fmt_number(vm["quantity"]),
    )


def window_text(vm: dict[str, Any]) -> str | None:
    """Who speaks to the customer, and by when (None when not recorded)."""
    who = vm.get("contact_window")
    by = vm.get("contact_by")
    if not who and not by:
        return None
    by_text = fmt_date(date.fromisoformat(by)) if by else ""
    if who and by:
        return _("{who}, by {date}", who=user(who), date=by_text)
    if who:
        return user(who)
    return _("to be agreed, by {date}", date=by_text)


def window_fields(vm: dict[str, Any]) -> list[tuple[str, str]]:
    text = window_text(vm)
    return [(_("Speaks to the customer"), text)] if text else []


def quality_filed(vm: dict[str, Any], link: str | None) -> dict[str, Any]:
    """DM to Marketing: Technical Quality filed a complaint first (procedure 5.1.2)."""
    ref = f"<{link}|{escape(vm['ref'])}>" if link else f"*{escape(vm['ref'])}*"
    lines = [
        _(
            ":telephone_receiver: Technical Quality filed {ref} ({customer}) first: Marketing "
            "is told at once.",
            ref=ref,
            customer=user_text(vm["customer"], 200),
        ),
        "*" + escape(_("Reported by")) + ":* " + user(vm["reporter"]),
        subject_line(vm),
    ]
    window = window_text(vm)
    lines.append(
        "*" + escape(_("Speaks to the customer")) + ":* " + window
        if window
        else _("Agree with Technical Quality who speaks to the customer.")
    )
    text = "\n".join(lines)
    first = section(truncate(text, SECTION_TEXT))
    if link:
        from blocks.card import button  # blocks/card.py imports this module

        first["accessory"] = button(_("Open case"), "open_case", str(vm["id"]), url=link)
    return {"text": truncate(lines[0], 3000), "blocks": [first]}
