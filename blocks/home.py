"""The App Home tab and `/complaint list`: a to-do for each person (issue 12, point 1).

Pure functions, dicts in and Block Kit out. Each line says what is due, when, and how
much working time is left, with a button that takes the step. A view holds at most 100
blocks: each list shows a page and a "Show more" button for the rest.
"""

from __future__ import annotations

from typing import Any

from blocks.card import button
from blocks.modals import confirm_dialog
from blocks.text import (
    MESSAGE_BLOCKS,
    SECTION_TEXT,
    VIEW_BLOCKS,
    cap_blocks,
    context,
    escape,
    header,
    section,
    truncate,
    user,
    user_text,
    when,
)
from bot.i18n import N_, _, ngettext

PAGE = 10  # items per list before "Show more"
SECTIONS = {
    "waiting": N_("Waiting for you"),
    "approval": N_("Awaiting your approval"),
    "overdue": N_("Overdue"),
    "reported": N_("Reported by you"),
}
EMPTY = {
    "waiting": N_("Nothing is waiting for you."),
    "approval": N_("Nothing awaits your approval."),
    "overdue": N_("Nothing is overdue."),
    "reported": N_("You have no open complaints."),
}
LIST_TITLES = {
    "waiting": N_("Waiting for you"),
    "all": N_("Open cases"),
    "overdue": N_("Overdue cases"),
    "severity": N_("Open cases of severity {sev}"),
    "customer": N_("Open cases of “{customer}”"),
}


def time_left(seconds: float, day_seconds: float) -> str:
    """Working time left, in working days and hours, or hours and minutes under a day."""
    if seconds <= 0:
        return _("no working time left")
    minutes = int(seconds // 60)
    day_minutes = max(1, int(day_seconds // 60))
    if minutes >= day_minutes:
        days, rest = divmod(minutes, day_minutes)
        hours = rest // 60
        text = ngettext("{n} working day", "{n} working days", days)
        if hours:
            text += " " + ngettext("{n} h", "{n} h", hours)
        return _("{time} left", time=text)
    hours, mins = divmod(minutes, 60)
    if hours:
        return _("{h} h {m} min of working time left", h=hours, m=mins)
    return _("{m} min of working time left", m=mins)


def allowance_text(allowance: dict[str, Any]) -> str:
    """What the clock's time means: "1 working day: by the end of the next working day"."""
    if allowance.get("customer"):
        return _("the customer's deadline")
    if "hours" in allowance:
        hours = float(allowance["hours"])
        shown = f"{hours:g}"
        if allowance.get("from_receipt"):
            return _("{h} h from receipt", h=shown)
        return _("{h} working hours", h=shown)
    if "days" in allowance:
        n = int(allowance["days"])
        if n == 0:
            return _("by the end of the same working day")
        if n == 1:
            return _("1 working day: due by the end of the next working day")
        return _("{n} working days: due by the end of the {n}th working day after", n=n)
    return ""


def clock_line(clock: dict[str, Any], *, with_allowance: bool = True) -> str:
    """ "Approval: Wed 4 Mar 17:30 (1 working day: due by the end of the next working day)"."""
    label = _(clock["label"])
    text = f"{escape(label)}: {when(clock['due_at'])}"
    if clock.get("owner"):  # a corrective action: whose it is
        text += f" · {user(clock['owner'])}"
    if clock.get("overdue"):
        text = ":warning: " + text + " — *" + _("overdue") + "*"
    rule = allowance_text(clock.get("allowance") or {}) if with_allowance else ""
    if rule:
        text += f" _({escape(rule)})_"
    return text


def _due_line(item: dict[str, Any]) -> str:
    clock = item.get("clock")
    if not clock:
        return escape(_(item["next_text"]))
    line = clock_line(clock, with_allowance=False)
    if not clock.get("overdue") and clock.get("left") is not None:
        line += " · " + time_left(clock["left"], clock.get("day_seconds") or 32400)
    return line


def item_text(item: dict[str, Any]) -> str:
    sev = f" · {escape(item['severity'])}" if item.get("severity") else ""
    head = (
        f"*{escape(item['ref'])}* · {user_text(item['customer'], 80)}{sev} · "
        f"{escape(_(item['status_label']))}"
    )
    lines = [head, escape(_(item["next_text"])) if item.get("clock") else "", _due_line(item)]
    if item.get("action_owner"):
        lines.append(_("You own the corrective action."))
    return truncate("\n".join(x for x in lines if x), SECTION_TEXT)


def _step_button(item: dict[str, Any], step: dict[str, Any], *, primary: bool) -> dict[str, Any]:
    style = "danger" if step["name"] in ("reject_report", "reopen_case") else None
    return button(
        _(step["label"]),
        f"step:{step['name']}",
        f"{item['id']}:{item['step']}",
        style=style or ("primary" if primary else None),
        confirm=confirm_dialog(step["name"]),
    )


def item_blocks(item: dict[str, Any], *, approval: bool = False) -> list[dict[str, Any]]:
    """One section, the main step as its button; an approval also gets Reject beside it."""
    block = section(item_text(item))
    steps = item.get("steps") or []
    if approval and len(steps) > 1:
        buttons = [_step_button(item, s, primary=i == 0) for i, s in enumerate(steps[:3])]
        return [block, {"type": "actions", "block_id": f"home:{item['id']}", "elements": buttons}]
    if steps:
        block["accessory"] = _step_button(item, steps[0], primary=True)
    return [block]


def _list(
    name: str, items: list[dict[str, Any]], shown: int, budget: int
) -> tuple[list[dict[str, Any]], int]:
    """A titled list within `budget` blocks: its first `shown` items that fit, then a
    "Show more" button. Returns (blocks, blocks used)."""
    title = section(f"*{escape(_(SECTIONS[name]))}* ({len(items)})")
    if not items:
        blocks = [title, context(escape(_(EMPTY[name])))]
        return blocks, len(blocks)
    blocks = [title]
    left = budget - 2  # the title and a "Show more"
    count = 0
    for item in items[:shown]:
        part = item_blocks(item, approval=name == "approval")
        if len(part) > left:
            break
        blocks.extend(part)
        left -= len(part)
        count += 1
    if count < len(items):
        more = button(
            _("Show more ({n} more)", n=len(items) - count),
            "home_more",
            f"{name}:{count + PAGE}",
        )
        blocks.append({"type": "actions", "block_id": f"home_more:{name}", "elements": [more]})
    return blocks, len(blocks)


def home_view(
    lists: dict[str, list[dict[str, Any]]],
    *,
    can_file: bool,
    pages: dict[str, int] | None = None,
) -> dict[str, Any]:
    """The Home tab: a New complaint button and the person's lists, at most 100 blocks."""
    pages = pages or {}
    blocks: list[dict[str, Any]] = [header(_("Complaint desk"))]
    if can_file:
        blocks.append(
            {
                "type": "actions",
                "block_id": "home_new",
                "elements": [
                    button(_("New complaint"), "home_new_complaint", "new", style="primary")
                ],
            }
        )
    names = [n for n in SECTIONS if n in lists]
    # each list's title, empty line or "Show more", and a divider are always room for
    fixed = len(blocks) + 3 * len(names)
    spare = VIEW_BLOCKS - fixed
    for i, name in enumerate(names):
        if i:
            blocks.append({"type": "divider"})
        items = lists[name]
        shown = max(1, pages.get(name, PAGE))
        part, used = _list(name, items, shown, spare + 2)
        blocks.extend(part)
        spare -= max(0, used - 2)
    return {"type": "home", "blocks": cap_blocks(blocks, VIEW_BLOCKS)}


def list_reply(kind: str, items: list[dict[str, Any]], **title_args: Any) -> dict[str, Any]:
    """`/complaint list`: the same lines as the Home tab, with their buttons."""
    title = _(LIST_TITLES[kind], **title_args)
    head = section(f"*{escape(title)}* ({len(items)})")
    if not items:
        empty = _("Nothing is waiting for you.") if kind == "waiting" else _("No open cases.")
        return {"text": f"{title}: 0", "blocks": [head, context(escape(empty))]}
    blocks: list[dict[str, Any]] = [head]
    for shown, item in enumerate(items):
        part = item_blocks(item)
        if len(blocks) + len(part) > MESSAGE_BLOCKS - 1:
            rest = len(items) - shown
            blocks.append(
                context(_("…and {n} more — the Home tab pages through them all.", n=rest))
            )
            break
        blocks.extend(part)
    return {"text": truncate(f"{title}: {len(items)}", 3000), "blocks": blocks}
