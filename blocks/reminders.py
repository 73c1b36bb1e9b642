"""Reminder messages: nudges in the thread and by DM, overdue posts, alerts, the digest.

Pure functions (dicts in, Block Kit out) like the rest of `blocks/`. Times may arrive as
datetimes or ISO strings (outbox payloads are JSON); user text is escaped; every message
stays inside Slack's limits however many cases a digest lists.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from blocks import posts
from blocks.card import button, mention
from blocks.text import (
    MESSAGE_BLOCKS,
    SECTION_TEXT,
    cap_blocks,
    context,
    escape,
    header,
    section,
    truncate,
    user_text,
    when,
)
from bot.i18n import N_, _, fmt_date, ngettext

DEADLINE_NAMES = {"ca": N_("corrective-action reply"), "pa": N_("preventive-action reply")}
# digest lines shown per list before "and N more": a digest is read at a glance
DIGEST_LINES = 40
_SECTION_BUDGET = SECTION_TEXT - 100


def as_time(value: Any) -> datetime | None:
    """A datetime from a datetime or an ISO string (None if neither)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def deadline_text(names: list[str] | None) -> str:
    """ "the corrective-action reply", or both replies when they fall due together."""
    names = [n for n in names or [] if n in DEADLINE_NAMES]
    if len(names) > 1:
        return _("the corrective- and preventive-action replies")
    if names:
        return _("the {deadline}", deadline=_(DEADLINE_NAMES[names[0]]))
    return _("the reply")


def _point_text(point: str | None) -> str:
    if point == "half":
        return _("half the time is gone")
    if point and point.endswith("h"):
        return _("{hours} working hours left", hours=escape(point[:-1]))
    return ""


def _due_phrase(info: dict[str, Any], now: datetime | None) -> str:
    due = as_time(info.get("due_at"))
    if due is not None and now is not None and due <= now:
        return _("was due {when}", when=when(due))
    return _("is due {when}", when=when(due))


def _next(vm: dict[str, Any], mentions: list[str]) -> str:
    text = _("*Next:* {step}", step=escape(vm["next_text"]))
    if mentions:
        text += " — " + " ".join(mention(m) for m in mentions)
    return text


def nudge_thread(
    vm: dict[str, Any], info: dict[str, Any], mentions: list[str], now: datetime | None = None
) -> dict[str, Any]:
    """In the case thread, before a deadline: what is due, when, and who owns the step."""
    what = deadline_text(info.get("deadlines"))
    point = _point_text(info.get("point"))
    due = _due_phrase(info, now)
    ref = escape(vm["ref"])
    if point:
        head = _(
            ":alarm_clock: *Reminder:* {what} for *{ref}* {due} — {point}.",
            what=what,
            ref=ref,
            due=due,
            point=point,
        )
    else:
        head = _(":alarm_clock: *Reminder:* {what} for *{ref}* {due}.", what=what, ref=ref, due=due)
    blocks = [section(head), section(_next(vm, mentions))]
    return {
        "text": truncate(_("Reminder: {what} for {ref}", what=what, ref=vm["ref"]), 3000),
        "blocks": cap_blocks(blocks),
    }


def overdue_thread(
    vm: dict[str, Any], info: dict[str, Any], mentions: list[str], now: datetime | None = None
) -> dict[str, Any]:
    """In the case thread, at the deadline: it has passed and management has been told."""
    what = deadline_text(info.get("deadlines"))
    due = as_time(info.get("due_at"))
    head = _(
        ":warning: *Overdue:* {what} for *{ref}* was due {when}. Management has been alerted.",
        what=what,
        ref=escape(vm["ref"]),
        when=when(due),
    )
    blocks = [section(head), section(_next(vm, mentions))]
    return {
        "text": truncate(_("Overdue: {what} for {ref}", what=what, ref=vm["ref"]), 3000),
        "blocks": cap_blocks(blocks),
    }


def nudge_dm(
    vm: dict[str, Any], info: dict[str, Any], permalink: str | None, now: datetime | None = None
) -> dict[str, Any]:
    """To each owner of the next step: the same nudge, with a button to the case."""
    what = deadline_text(info.get("deadlines"))
    point = _point_text(info.get("point"))
    ref = f"<{permalink}|{escape(vm['ref'])}>" if permalink else f"*{escape(vm['ref'])}*"
    kw = {
        "what": what,
        "ref": ref,
        "customer": user_text(vm["customer"], 200),
        "due": _due_phrase(info, now),
    }
    if point:
        text = _(
            ":alarm_clock: Reminder: {what} for {ref} ({customer}) {due} — {point}.",
            point=point,
            **kw,
        )
    else:
        text = _(":alarm_clock: Reminder: {what} for {ref} ({customer}) {due}.", **kw)
    text += "\n" + _("*Next:* {step}", step=escape(vm["next_text"]))
    first = section(truncate(text, SECTION_TEXT))
    if permalink:
        first["accessory"] = button(_("Open case"), "open_case", str(vm["id"]), url=permalink)
    title = _("Reminder: {what} for {ref}", what=what, ref=vm["ref"])
    return {"text": truncate(title, 3000), "blocks": [first]}


def reminder_alert(
    vm: dict[str, Any], kind: str, permalink: str | None, extra: dict[str, Any]
) -> dict[str, Any]:
    """Management alerts (overdue, escalation, severity-A repeat), as `posts.alert` draws
    them; an escalation also says how long the deadline has been passed."""
    extra = {**extra, "due_at": as_time(extra.get("due_at"))}
    msg = posts.alert(vm, kind, permalink, extra)
    if kind == "escalation" and extra.get("days"):
        n = int(extra["days"])
        msg["blocks"] = cap_blocks(
            [
                *msg["blocks"],
                context(
                    ngettext(
                        "{n} working day past the deadline and still open.",
                        "{n} working days past the deadline and still open.",
                        n,
                    )
                ),
            ]
        )
    return msg


def _digest_line(item: dict[str, Any], overdue: bool) -> str:
    sev = f" · {escape(item['severity'])}" if item.get("severity") else ""
    # issue 12: a step's clock names itself ("Approval"); the replies keep their names
    label = item.get("deadline_label")
    name = escape(
        _(label) if label else _(DEADLINE_NAMES.get(item.get("deadline", ""), N_("reply")))
    )
    due = when(as_time(item.get("due_at")))
    status = escape(_(str(item.get("status", ""))) if item.get("status") else "")
    if overdue:
        what = _("{deadline} was due {when}", deadline=name, when=due)
    else:
        what = _("{deadline} due {when}", deadline=name, when=due)
    return (
        f"• *{escape(item.get('ref', ''))}* · {user_text(item.get('customer', ''), 80)}"
        f"{sev} · {status} · {what}"
    )


def _list_blocks(
    title: str, items: list[dict[str, Any]], total: int, overdue: bool
) -> list[dict[str, Any]]:
    """A titled list in as few sections as fit, at most DIGEST_LINES lines, then a count
    of what is left out."""
    shown = items[:DIGEST_LINES]
    blocks: list[dict[str, Any]] = []
    chunk = [f"*{title} ({total})*"]
    size = len(chunk[0])
    for item in shown:
        line = truncate(_digest_line(item, overdue), _SECTION_BUDGET)
        if size + 1 + len(line) > _SECTION_BUDGET:
            blocks.append(section("\n".join(chunk)))
            chunk, size = [], 0
        chunk.append(line)
        size += len(line) + 1
    if chunk:
        blocks.append(section("\n".join(chunk)))
    if total > len(shown):
        blocks.append(
            context(
                _(
                    "…and {n} more — `/complaint list` shows every open case.",
                    n=total - len(shown),
                )
            )
        )
    return blocks


def _day(iso: str) -> str:
    """The digest's date as people say it: `Sun 6 Dec`, `12月6日 周日`."""
    try:
        return fmt_date(date.fromisoformat(iso))
    except ValueError:
        return iso


def digest(info: dict[str, Any]) -> dict[str, Any]:
    """The morning digest of one channel: overdue cases first, then those due today — one
    message instead of a post per case."""
    overdue = list(info.get("overdue") or [])
    due_today = list(info.get("due_today") or [])
    n_over = int(info.get("overdue_total", len(overdue)))
    n_today = int(info.get("due_today_total", len(due_today)))
    day = _day(str(info.get("date", "")))
    blocks: list[dict[str, Any]] = [header(_("Complaint digest — {day}", day=day))]
    if n_over:
        blocks += _list_blocks(_(":warning: Overdue"), overdue, n_over, True)
    if n_today:
        blocks += _list_blocks(_(":hourglass_flowing_sand: Due today"), due_today, n_today, False)
    if not n_over and not n_today:
        blocks.append(section(_("Nothing is overdue or due today. :white_check_mark:")))
    text = _(
        "Complaint digest {day}: {overdue} overdue, {today} due today",
        day=escape(day),
        overdue=n_over,
        today=n_today,
    )
    return {"text": truncate(text, 3000), "blocks": cap_blocks(blocks, MESSAGE_BLOCKS)}
