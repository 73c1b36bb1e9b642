"""Messages of the step clocks and of people's turns (issue 12, points 2 and 3(i)):
the card's deadlines, a clock's nudge and its passing (thread and DM), "your turn" and
the outcome at closure. Pure functions, dicts in, Block Kit out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from blocks.card import button, mention
from blocks.home import clock_line
from blocks.text import (
    SECTION_TEXT,
    cap_blocks,
    escape,
    section,
    truncate,
    user,
    user_text,
    when,
)
from bot.i18n import _


def as_time(value: Any) -> datetime | None:
    """A datetime from a datetime or an ISO string (outbox payloads are JSON)."""
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def card_deadlines(vm: dict[str, Any]) -> str:
    """The card's "Deadlines" field: every clock still running, what its time means, and
    "—" only on a closed case (never "done" while someone owes a step)."""
    clocks = vm.get("clocks") or []
    if clocks:
        return "\n".join(clock_line(c) for c in clocks)
    return "—" if not vm.get("is_open") else _("none running")


def _ref(vm: dict[str, Any], link: str | None) -> str:
    return f"<{link}|{escape(vm['ref'])}>" if link else f"*{escape(vm['ref'])}*"


def _with_open(text: str, vm: dict[str, Any], link: str | None) -> dict[str, Any]:
    first = section(truncate(text, SECTION_TEXT))
    if link:
        first["accessory"] = button(_("Open case"), "open_case", str(vm["id"]), url=link)
    return {"text": truncate(text.split("\n", 1)[0], 3000), "blocks": [first]}


def turn_dm(vm: dict[str, Any], payload: dict[str, Any], link: str | None) -> dict[str, Any]:
    """To the responsible unit's members (or the reporter asked for information): the case
    is theirs now, what is due and by when."""
    lines = [
        _(
            ":point_right: Your turn on {ref} ({customer}).",
            ref=_ref(vm, link),
            customer=user_text(vm["customer"], 200),
        ),
        "*" + escape(_("Next:")) + "* " + escape(_(vm["next_text"])),
    ]
    lines += [clock_line(c) for c in vm.get("clocks") or [] if not c["name"].startswith("action")]
    return _with_open("\n".join(lines), vm, link)


def outcome_dm(vm: dict[str, Any], payload: dict[str, Any], link: str | None) -> dict[str, Any]:
    """To the reporter at closure: how the case ended."""
    lines = [
        _(
            ":white_check_mark: The complaint you reported, {ref} ({customer}), is closed.",
            ref=_ref(vm, link),
            customer=user_text(vm["customer"], 200),
        ),
        "*"
        + escape(_("Outcome:"))
        + "* "
        + escape(_(vm["closure_label"]) if vm.get("closure_label") else ""),
    ]
    if vm.get("responsibility") == "customer" and vm.get("responsibility_reason"):
        lines.append(
            "*" + escape(_("Reason:")) + "* " + user_text(vm["responsibility_reason"], 500)
        )
    if vm.get("closed_at"):
        lines.append(_("Closed {when}.", when=when(vm["closed_at"])))
    return _with_open("\n".join(lines), vm, link)


def _what(payload: dict[str, Any]) -> str:
    from bot.workflow.clocks import spec

    try:
        return _(spec(str(payload.get("deadline"))).label)
    except KeyError:
        return _("The step")


def _head(vm: dict[str, Any], payload: dict[str, Any], ref: str) -> str:
    due = when(as_time(payload.get("due_at")))
    what = escape(_what(payload))
    if payload.get("moment") == "overdue":
        name = payload.get("deadline")
        if name == "lot":
            return _(":mag: {ref}: the next lot is due to be checked ({when}).", ref=ref, when=due)
        if name == "answer":
            return _(
                ":telephone_receiver: {ref}: no answer from the customer yet — please follow "
                "up (due {when}).",
                ref=ref,
                when=due,
            )
        if str(name).startswith("action"):
            return _(
                ":warning: {ref}: the corrective action's planned completion date has passed "
                "({when}). Technical Quality, please check it was done.",
                ref=ref,
                when=due,
            )
        return _(
            ":warning: *Overdue:* {what} for {ref} was due {when}.", what=what, ref=ref, when=due
        )
    return _(
        ":alarm_clock: *Reminder:* {what} for {ref} is due {when}.", what=what, ref=ref, when=due
    )


def clock_thread(
    vm: dict[str, Any], payload: dict[str, Any], mentions: list[str]
) -> dict[str, Any]:
    """In the case thread: the nudge or the passing of a step's clock, and who owns it."""
    head = _head(vm, payload, f"*{escape(vm['ref'])}*")
    nxt = "*" + escape(_("Next:")) + "* " + escape(_(vm["next_text"]))
    if mentions:
        nxt += " — " + " ".join(mention(m) for m in mentions)
    return {
        "text": truncate(head, 3000),
        "blocks": cap_blocks([section(head), section(nxt)]),
    }


def clock_dm(vm: dict[str, Any], payload: dict[str, Any], link: str | None) -> dict[str, Any]:
    """To each owner (and whoever the clock tells): the same, with a button to the case."""
    head = _head(vm, payload, _ref(vm, link))
    text = head + "\n*" + escape(_("Next:")) + "* " + escape(_(vm["next_text"]))
    return _with_open(text, vm, link)


def lot_not_counted(reason: str) -> str:
    """Why a clean lot check did not count towards criterion B (issue 12, 3(a))."""
    if reason == "complained":
        return "_" + escape(_("Not counted: this is a lot the customer complained about.")) + "_"
    return "_" + escape(_("Not counted: this lot was already checked.")) + "_"


def more_action_lines(report: dict[str, Any]) -> list[str]:
    """The corrective actions after the first, each with its owner and date (3(j))."""
    lines = []
    for item in report.get("action_items") or []:
        if not isinstance(item, dict) or int(item.get("n") or 1) == 1:
            continue
        lines.append(
            _(
                "*Action {n}:* {text} — {owner} by {date}",
                n=int(item["n"]),
                text=user_text(item.get("text"), 300),
                owner=user(str(item.get("owner") or "")),
                date=escape(item.get("planned") or ""),
            )
        )
    return lines
