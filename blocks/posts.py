"""Thread posts, confirmations, alerts, DMs and the command replies."""

from __future__ import annotations

from datetime import date
from typing import Any

from blocks.approval import summary_blocks
from blocks.card import button, case_card, mention, step_buttons
from blocks.clocks import lot_not_counted, more_action_lines
from blocks.scope import subject_line
from blocks.text import (
    VIEW_BLOCKS,
    cap_blocks,
    context,
    escape,
    section,
    truncate,
    user,
    user_text,
    when,
)
from bot.i18n import N_, _, fmt_date, fmt_number

HELP = N_(
    "*Complaint desk*: the customer-complaint procedure in Slack\n"
    "• `/complaint new`: record a new customer complaint (Marketing or Technical Quality)\n"
    "• `/complaint show CC-2026-0001`: a case with its full timeline\n"
    "• `/complaint list`: your open cases (all open cases for Technical Quality)\n"
    "• `/complaint report CC-2026-0001`: the latest improvement report (PDF) by direct message\n"
    "• `/complaint register [2026-03 | 2026-01-01..2026-03-31] [severity:A unit:…]`: the "
    "complaint register (XLSX and CSV) by direct message (Technical Quality, Management)\n"
    "• `/complaint help`: this help\n"
    "Every step after intake happens with the buttons on the case card in the complaints "
    "channel; discuss the case in its thread."
)


def _value(
    fmt: str, value: Any, data: dict[str, Any], labels: dict[str, dict[str, str]], table_name: str
) -> str | None:
    """One recorded value as the post shows it; None to leave the line out."""
    table, limit = labels.get(table_name, {}), 500
    if value in (None, "", [], {}) and fmt not in ("stock", "measures"):
        return None
    if fmt == "option":
        values = value if isinstance(value, list) else [value]
        if isinstance(value, bool):
            values = ["yes" if value else "no"]
        return escape(", ".join(_(table.get(str(v), str(v))) for v in values))
    if fmt == "user":
        return user(str(value))
    if fmt == "date":
        try:
            return fmt_date(date.fromisoformat(str(value)))
        except ValueError:
            return user_text(value, limit)
    if fmt == "number":
        return fmt_number(value) if isinstance(value, int) else user_text(value, limit)
    if fmt == "whys":
        whys = value if isinstance(value, list) else [value]
        return "".join(f"\n  {i}. {user_text(w, 300)}" for i, w in enumerate(whys, 1))
    if fmt == "stock":
        parts = []
        for where, place in table.items():
            d = data.get(where)
            if isinstance(d, dict) and d.get("quantity"):
                code = d.get("disposition", "")
                disp = _(labels.get("disposition", {}).get(code, code))
                parts.append(f"{escape(_(place))} {fmt_number(d['quantity'])}: {escape(disp)}")
        return "; ".join(parts) or None
    if fmt == "actions":  # issue 12(3j): the actions after the first
        return "".join("\n  " + line for line in more_action_lines(data)) or None
    if fmt == "not_counted":  # issue 12(3a)
        return lot_not_counted(str(value))
    if fmt == "measures":
        measures = data.get("measures")
        if not isinstance(measures, dict):
            return user_text(measures, limit) if measures else None
        lines = [
            f"\n  {escape(_(table.get(k, k)))}: {user_text(v, 400)}" for k, v in measures.items()
        ]
        return "".join(lines) or None
    if isinstance(value, list):
        return user_text(", ".join(str(v) for v in value), limit)
    return user_text(value, limit)


def _detail(event: dict[str, Any], labels: dict[str, dict[str, str]]) -> list[str]:
    """The essentials entered at a step, as its declaration says to show them
    (event["shows"]: data key, label, format, option table), escaped, one line each."""
    data = event["data"]
    lines: list[str] = []
    for key, label, fmt, table in event.get("shows", []):
        if fmt == "flag":
            if data.get(key):
                lines.append(f"*{escape(_(label))}*")
            continue
        shown = _value(fmt, data.get(key), data, labels, table)
        if shown is not None:
            lines.append(f"*{escape(_(label))}:* {shown}")
    if data.get("loop"):
        lines.append(
            "_"
            + _("Back to the responsible unit for new countermeasures ({n}×)", n=data["loop"])
            + "_"
        )
    return lines


def thread_post(
    vm: dict[str, Any],
    event: dict[str, Any],
    mentions: list[str],
    labels: dict[str, dict[str, str]],
) -> dict[str, Any]:
    """Who did what, the essentials entered, and who owns the next step."""
    who = user(event["actor"]) if event["actor"] != "system" else _("The bot")
    title = _(event["title"])
    head = f"{who} {escape(title)} · *{escape(_(vm['status_label']))}*"
    body = "\n".join(_detail(event, labels))
    nxt = ""
    if vm["is_open"]:
        nxt = "*" + _("Next:") + "* " + escape(_(vm["next_text"]))
        if mentions:
            nxt += " — " + " ".join(mention(m) for m in mentions)
    blocks = [section(head + ("\n" + body if body else ""))]
    if nxt:
        blocks.append(section(nxt))
    text = truncate(f"{vm['ref']}: {title}", 3000)
    return {"text": text, "blocks": cap_blocks(blocks)}


def as_text(msg: dict[str, Any]) -> str:
    """A message's sections as one mrkdwn text: a thread post carried as a file upload's
    comment (files.completeUploadExternal takes text, not blocks)."""
    blocks = msg.get("blocks", [])
    parts = [b["text"]["text"] for b in blocks if b.get("type") == "section" and b.get("text")]
    return "\n".join(parts) or str(msg.get("text", ""))


def reporter_confirmation(vm: dict[str, Any], permalink: str | None) -> dict[str, Any]:
    link = f"<{permalink}|{vm['ref']}>" if permalink else f"*{vm['ref']}*"
    text = ":white_check_mark: " + _(
        "Your complaint {link} for {customer} is filed. Technical Quality has been notified; "
        "follow it in the case thread.",
        link=link,
        customer=user_text(vm["customer"], 200),
    )
    return {"text": text, "blocks": [section(text)]}


ALERT_TITLES = {
    "severity_a": (":red_circle:", N_("Severity A complaint")),
    "urgent": (":rotating_light:", N_("Urgent complaint")),
    "overdue": (":warning:", N_("Overdue")),
    "escalation": (":rotating_light:", N_("Still overdue: escalation")),
}


def alert(
    vm: dict[str, Any], kind: str, permalink: str | None, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Management alerts: severity A, urgent, overdue — with a link and a button."""
    extra = extra or {}
    icon, words = ALERT_TITLES.get(kind, ("", kind))
    title = f"{icon} *{escape(_(words))}*".strip()
    repeat = " " + _("(day {n})", n=extra["repeat"]) if extra.get("repeat") else ""
    lines = [
        f"{title}{repeat}: *{vm['ref']}* · {user_text(vm['customer'], 200)}",
        subject_line(vm),  # issue 12(3e)
        _("Status: {status}", status=escape(_(vm["status_label"]))),
    ]
    if extra.get("deadline_label"):
        lines.append(
            _(
                "{what} was due {when}",
                what=escape(_(extra["deadline_label"])),
                when=when(extra.get("due_at")),
            )
        )
    if kind == "severity_a" and vm.get("severity_text"):
        lines.append(f"_{escape(_(vm['severity_text']))}_")
    blocks: list[dict[str, Any]] = [section("\n".join(lines))]
    if permalink:
        blocks[0]["accessory"] = button(_("Open case"), "open_case", str(vm["id"]), url=permalink)
    return {"text": truncate(f"{title} {vm['ref']}", 3000), "blocks": blocks}


def approval_request(vm: dict[str, Any], permalink: str | None) -> dict[str, Any]:
    """DM to a manager: approve or reject right here (the buttons of the steps that exist
    now, from the declarations; approving first and primary)."""
    link = f"<{permalink}|{vm['ref']}>" if permalink else vm["ref"]
    text = _(
        "The improvement report for {link} ({customer}, severity {severity}) is ready for "
        "your approval.",
        link=link,
        customer=user_text(vm["customer"], 200),
        severity=escape(vm["severity"] or "—"),
    )
    decisions = [a for a in vm["actions"] if a["name"] in ("approve_report", "reject_report")]
    blocks: list[dict[str, Any]] = [section(text), *summary_blocks(vm)]  # issue 12(3f)
    if decisions:
        blocks.append(
            {
                "type": "actions",
                "block_id": f"approval:{vm['id']}:{vm['step']}",
                "elements": step_buttons({**vm, "actions": decisions}),
            }
        )
    return {"text": text, "blocks": blocks}


def case_list(vms: list[dict[str, Any]], title: str) -> dict[str, Any]:
    title = _(title)
    if not vms:
        return {
            "text": _("{title}: none.", title=title),
            "blocks": [section(_("*{title}:* none.", title=escape(title)))],
        }
    lines = [f"*{escape(title)}*"]
    for vm in vms:
        overdue = " :warning: " + _("overdue") if vm["overdue"] else ""
        sev = f" · {vm['severity']}" if vm["severity"] else ""
        lines.append(
            f"• *{vm['ref']}* · {user_text(vm['customer'], 80)}{sev} · "
            f"{escape(_(vm['status_label']))}{overdue}"
        )
    return {"text": title, "blocks": cap_blocks([section(truncate("\n".join(lines), 3000))])}


def case_detail(vm: dict[str, Any], labels: dict[str, dict[str, str]]) -> dict[str, Any]:
    """`/complaint show`: the card plus the whole timeline (long text cut for display)."""
    card = case_card(vm)
    blocks = [b for b in card["blocks"] if b.get("type") != "actions"]
    blocks.append(section("*" + _("Defect (full)") + "*\n" + user_text(vm["description"], 2900)))
    if vm.get("notes"):
        blocks.append(section("*" + _("Notes") + "*\n" + user_text(vm["notes"], 2900)))
    lines = []
    for ev in vm.get("timeline", []):
        who = user(ev["actor"]) if ev["actor"] != "system" else _("bot")
        detail = "; ".join(_detail(ev, labels))
        lines.append(
            f"• {when(ev['at'])} {who} {escape(_(ev['title']))}"
            + (f" — {truncate(detail, 400)}" if detail else "")
        )
    chunk: list[str] = []
    for line in lines:
        if sum(len(x) + 1 for x in chunk) + len(line) > 2900:
            blocks.append(section("\n".join(chunk)))
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append(section("*" + _("Timeline") + "*\n" + "\n".join(chunk)))
    return {
        "text": f"{vm['ref']} — {_(vm['status_label'])}",
        "blocks": cap_blocks(blocks, min(50, VIEW_BLOCKS)),
    }


def notice(text: str) -> dict[str, Any]:
    """A short ephemeral answer (refusals, stale buttons, errors)."""
    return {"text": text, "blocks": [context(text)]}
