"""The card's recurrence line (issue 14): "Possibly the same problem as CC-2026-0003 (closed
2 Mar 2026, root cause: …)" with Technical Quality's button to join that investigation."""

from __future__ import annotations

from datetime import date
from typing import Any

from blocks.text import context, escape, mrkdwn, plain, truncate
from bot.i18n import N_, _, fmt_date

LINK_ACTION = "recurrence:link"
# the corrective report's root-cause directions (bot/workflow/steps.py CAUSE_CATEGORIES)
CAUSES = {
    "people": N_("People (人)"),
    "machine": N_("Machine (机)"),
    "material": N_("Material (料)"),
    "method": N_("Method (法)"),
    "environment": N_("Environment (环)"),
}


def _about(hint: dict[str, Any]) -> str:
    closed = hint.get("closed")  # an ISO date in the payload; shown the reader's way
    state = (
        _("closed {date}", date=fmt_date(date.fromisoformat(closed), long=True))
        if closed
        else _("still open")
    )
    cause = hint.get("cause")
    if cause:
        why = f" — {truncate(str(hint.get('why') or ''), 120)}" if hint.get("why") else ""
        state += ", " + _("root cause: {cause}", cause=_(CAUSES.get(cause, cause))) + why
    return state


def recurrence_blocks(vm: dict[str, Any]) -> list[dict[str, Any]]:
    """Nothing when intake found no earlier case; a link button while it may be linked."""
    hint = vm.get("recurrence")
    if not hint:
        return []
    about = escape(_about(hint))
    ref = escape(hint["ref"])
    if hint.get("linked"):
        return [
            context(
                ":link: "
                + _(
                    "Linked to *{ref}* ({about}): its investigation and improvement report "
                    "serve this complaint too.",
                    ref=ref,
                    about=about,
                )
            )
        ]
    section = {
        "type": "section",
        "block_id": f"recurrence:{vm['id']}",
        "text": mrkdwn(
            ":repeat: " + _("Possibly the same problem as *{ref}* ({about}).", ref=ref, about=about)
        ),
    }
    if vm.get("is_open"):
        section["accessory"] = {
            "type": "button",
            "action_id": LINK_ACTION,
            "value": f"{vm['id']}:{vm['step']}",
            "text": plain(truncate(_("Link to {ref}", ref=hint["ref"]), 75), 75),
            "confirm": {
                "title": plain(truncate(_("Link the complaints?"), 100), 100),
                "text": plain(
                    truncate(
                        _(
                            "This complaint joins the investigation of {ref}: one corrective "
                            "and preventive report serves both. Each keeps its own customer "
                            "reply, acceptance and closure.",
                            ref=hint["ref"],
                        ),
                        300,
                    ),
                    300,
                ),
                "confirm": plain(_("Link"), 30),
                "deny": plain(_("Cancel"), 30),
            },
        }
    return [section]
