"""Thread posts, confirmations, alerts, DMs and the command replies."""

from __future__ import annotations

from typing import Any

from blocks.card import SEVERITY_BADGE, button, case_card, mention
from blocks.clocks import lot_not_counted, more_action_lines
from blocks.modals import confirm_dialog
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

HELP = (
    "*Complaint desk* — the customer-complaint procedure in Slack\n"
    "• `/complaint new` — record a new customer complaint (Marketing or Technical Quality)\n"
    "• `/complaint show CC-2026-0001` — a case with its full timeline\n"
    "• `/complaint list` — what is waiting for you; `/complaint list all|overdue|A|<customer>` "
    "— the open cases you can see, filtered\n"
    "• `/complaint report CC-2026-0001` — the latest improvement report (PDF) by direct message\n"
    "• `/complaint register [2026-03 | 2026-01-01..2026-03-31] [severity:A unit:…]` — the "
    "complaint register (XLSX and CSV) by direct message (Technical Quality, Management)\n"
    "• `/complaint stats [month | quarter | 2026-Q1 | 2026-01-01..2026-03-31]` — the "
    "complaint figures, with charts by direct message (Technical Quality, Management)\n"
    "• `/complaint help` — this help\n"
    "Every step after intake happens with the buttons on the case card in the complaints "
    "channel; discuss the case in its thread."
)


def _detail(kind: str, data: dict[str, Any], labels: dict[str, dict[str, str]]) -> list[str]:
    """The essentials entered at a step, escaped, one line each."""
    lines: list[str] = []

    def add(label: str, value: Any, limit: int = 500) -> None:
        if value not in (None, "", [], {}):
            lines.append(f"*{label}:* {user_text(value, limit)}")

    if kind == "filed":
        add("Customer", data.get("customer"))
        add("Product", data.get("product"))
        add("Lots", data.get("lots"))
        add("Quantity", data.get("quantity"))
        if data.get("urgent"):
            lines.append(":rotating_light: *Urgent*")
    elif kind == "decide_responsibility":
        lines.append(
            "*Responsibility:* " + ("ours" if data.get("party") == "ours" else "the customer's")
        )
        add("Units", ", ".join(data.get("units") or []))
        add("Reason", data.get("reason"))
    elif kind == "classify_severity":
        sev = data.get("severity", "")
        lines.append(f"*Severity:* {SEVERITY_BADGE.get(sev, escape(sev))}")
        add("Why", data.get("note"))
    elif kind == "record_containment":
        for where, label in (
            ("warehouse", "Warehouse"),
            ("transit", "In transit"),
            ("customer", "At customer"),
        ):
            d = data.get(where) or {}
            if d.get("quantity"):
                disp = labels["disposition"].get(d.get("disposition", ""), "")
                lines.append(f"*{label}:* {d['quantity']:,} — {escape(disp)}")
        add("Interim actions", data.get("actions"))
    elif kind == "submit_corrective_action":
        lines.append(
            f"*Version {data.get('version')}* · root cause: "
            f"{escape(labels['category'].get(data.get('category', ''), ''))}"
        )
        for i, why in enumerate(data.get("why") or [], 1):
            lines.append(f"  {i}. why: {user_text(why, 300)}")
        add("Disposition", labels["disposition"].get(data.get("disposition", ""), ""))
        add("Actions", data.get("actions"))
        if data.get("owner"):
            lines.append(f"*Owner:* {user(data['owner'])} by {escape(data.get('planned'))}")
        lines += more_action_lines(data)  # issue 12(3j): actions 2, 3 with their owners
    elif kind == "submit_preventive_action":
        lines.append(f"*Version {data.get('version')}*")
        for k, v in (data.get("measures") or {}).items():
            add(labels["category"].get(k, k), v, 400)
        add(
            "Standardised",
            ", ".join(labels["documents"].get(d, d) for d in data.get("documents") or []),
        )
    elif kind == "record_lot_check":
        ok = data.get("result") == "ok"
        lines.append(
            f"*Lot* {user_text(data.get('lot'), 200)}: {data.get('quantity')} "
            f"inspected — "
            + (
                "no recurrence :white_check_mark:"
                if ok
                else ":x: *same problem* — actions not effective"
            )
        )
        if ok:
            lines.append(f"Clean lots: {data.get('clean_lots')}")
        if data.get("not_counted"):  # issue 12(3a): criterion B counts distinct later lots
            lines.append(lot_not_counted(data["not_counted"]))
    elif kind == "close_case":
        add("Criterion", labels["closure"].get(data.get("criterion", ""), ""))
        add("Evidence", data.get("evidence"))
        if data.get("no_negative_impact"):  # issue 12(3b)
            lines.append("No negative effect on quality :white_check_mark:")
    elif kind == "record_customer_acceptance":
        lines.append(
            "*Customer:* "
            + ("accepted" if data.get("accepted") else "did not accept — new countermeasures")
        )
        add("Note", data.get("note"))
    elif kind == "approve_report":
        lines.append(
            f"Corrective v{data.get('corrective_version')}, preventive "
            f"v{data.get('preventive_version')}"
        )
        add("Note", data.get("note"))
    else:
        for key in ("missing", "info", "reason", "note", "text", "error"):
            add(key.capitalize(), data.get(key))
    if data.get("loop"):
        lines.append(f"_Back to the responsible unit — rework loop {data['loop']}_")
    return lines


def thread_post(
    vm: dict[str, Any],
    event: dict[str, Any],
    mentions: list[str],
    labels: dict[str, dict[str, str]],
) -> dict[str, Any]:
    """Who did what, the essentials entered, and who owns the next step."""
    who = user(event["actor"]) if event["actor"] != "system" else "The bot"
    head = f"{who} {escape(event['title'])} · *{escape(vm['status_label'])}*"
    body = "\n".join(_detail(event["kind"], event["data"], labels))
    nxt = ""
    if vm["is_open"]:
        nxt = f"*Next:* {escape(vm['next_text'])}"
        if mentions:
            nxt += " — " + " ".join(mention(m) for m in mentions)
    blocks = [section(head + ("\n" + body if body else ""))]
    if nxt:
        blocks.append(section(nxt))
    text = truncate(f"{vm['ref']}: {event['title']}", 3000)
    return {"text": text, "blocks": cap_blocks(blocks)}


def reporter_confirmation(vm: dict[str, Any], permalink: str | None) -> dict[str, Any]:
    link = f"<{permalink}|{vm['ref']}>" if permalink else f"*{vm['ref']}*"
    text = (
        f":white_check_mark: Your complaint {link} for {user_text(vm['customer'], 200)} is "
        f"filed. Technical Quality has been notified; follow it in the case thread."
    )
    return {"text": text, "blocks": [section(text)]}


def alert(
    vm: dict[str, Any], kind: str, permalink: str | None, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Management alerts: severity A, urgent, overdue — with a link and a button."""
    extra = extra or {}
    title = {
        "severity_a": ":red_circle: *Severity A complaint*",
        "urgent": ":rotating_light: *Urgent complaint*",
        "overdue": ":warning: *Overdue*",
        "escalation": ":rotating_light: *Still overdue — escalation*",
    }.get(kind, escape(kind))
    repeat = f" (day {extra['repeat']})" if extra.get("repeat") else ""
    lines = [
        f"{title}{repeat}: *{vm['ref']}* · {user_text(vm['customer'], 200)}",
        f"{user_text(vm['product'], 200)} · lots {user_text(vm['lots'], 200)} · "
        f"qty {vm['quantity']:,}",
        f"Status: {escape(vm['status_label'])}",
    ]
    if extra.get("deadline_label"):
        lines.append(f"{escape(extra['deadline_label'])} was due {when(extra.get('due_at'))}")
    if kind == "severity_a" and vm.get("severity_text"):
        lines.append(f"_{escape(vm['severity_text'])}_")
    blocks: list[dict[str, Any]] = [section("\n".join(lines))]
    if permalink:
        blocks[0]["accessory"] = button("Open case", "open_case", str(vm["id"]), url=permalink)
    return {"text": truncate(f"{title} {vm['ref']}", 3000), "blocks": blocks}


def approval_request(vm: dict[str, Any], permalink: str | None) -> dict[str, Any]:
    """DM to a manager: approve or reject right here."""
    link = f"<{permalink}|{vm['ref']}>" if permalink else vm["ref"]
    text = (
        f"The improvement report for {link} ({user_text(vm['customer'], 200)}, severity "
        f"{escape(vm['severity'] or '—')}) is ready for your approval."
    )
    value = f"{vm['id']}:{vm['step']}"
    return {
        "text": text,
        "blocks": [
            section(text),
            {
                "type": "actions",
                "block_id": f"approval:{vm['id']}:{vm['step']}",
                "elements": [
                    button(
                        "Approve",
                        "step:approve_report",
                        value,
                        style="primary",
                        confirm=confirm_dialog("approve_report"),
                    ),
                    button("Reject", "step:reject_report", value, style="danger"),
                ],
            },
        ],
    }


def case_list(vms: list[dict[str, Any]], title: str) -> dict[str, Any]:
    if not vms:
        return {"text": f"{title}: none.", "blocks": [section(f"*{escape(title)}:* none.")]}
    lines = [f"*{escape(title)}*"]
    for vm in vms:
        overdue = " :warning: overdue" if vm["overdue"] else ""
        sev = f" · {vm['severity']}" if vm["severity"] else ""
        lines.append(
            f"• *{vm['ref']}* · {user_text(vm['customer'], 80)}{sev} · "
            f"{escape(vm['status_label'])}{overdue}"
        )
    return {"text": title, "blocks": cap_blocks([section(truncate("\n".join(lines), 3000))])}


def case_detail(vm: dict[str, Any], labels: dict[str, dict[str, str]]) -> dict[str, Any]:
    """`/complaint show`: the card plus the whole timeline (long text cut for display)."""
    card = case_card(vm)
    blocks = [b for b in card["blocks"] if b.get("type") != "actions"]
    blocks.append(section("*Defect (full)*\n" + user_text(vm["description"], 2900)))
    if vm.get("notes"):
        blocks.append(section("*Notes*\n" + user_text(vm["notes"], 2900)))
    lines = []
    for ev in vm.get("timeline", []):
        who = user(ev["actor"]) if ev["actor"] != "system" else "bot"
        detail = "; ".join(_detail(ev["kind"], ev["data"], labels))
        lines.append(
            f"• {when(ev['at'])} {who} {escape(ev['title'])}"
            + (f" — {truncate(detail, 400)}" if detail else "")
        )
    chunk: list[str] = []
    for line in lines:
        if sum(len(x) + 1 for x in chunk) + len(line) > 2900:
            blocks.append(section("\n".join(chunk)))
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append(section("*Timeline*\n" + "\n".join(chunk)))
    return {
        "text": f"{vm['ref']} — {vm['status_label']}",
        "blocks": cap_blocks(blocks, min(50, VIEW_BLOCKS)),
    }


def notice(text: str) -> dict[str, Any]:
    """A short ephemeral answer (refusals, stale buttons, errors)."""
    return {"text": text, "blocks": [context(text)]}
