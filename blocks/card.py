"""The case card: the thread's parent message, re-rendered after every step."""

from __future__ import annotations

from typing import Any

from blocks.modals import confirm_dialog
from blocks.recurrence import recurrence_blocks
from blocks.text import (
    cap_blocks,
    context,
    escape,
    fields,
    header,
    mrkdwn,
    truncate,
    user,
    user_text,
    when,
)

SEVERITY_BADGE = {
    "A": ":red_circle: A — critical",
    "B": ":large_orange_circle: B — major",
    "C": ":large_yellow_circle: C — minor",
}
DANGER = {"reject_report", "reopen_case"}


def button(
    text: str,
    action_id: str,
    value: str,
    *,
    style: str | None = None,
    confirm: dict[str, Any] | None = None,
    url: str | None = None,
) -> dict[str, Any]:
    b: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": truncate(text, 75)},
        "action_id": action_id[:255],
        "value": value[:2000],
    }
    if style:
        b["style"] = style
    if confirm:
        b["confirm"] = confirm
    if url:
        b["url"] = url[:3000]
    return b


def mention(target: str, units: dict[str, list[str]] | None = None) -> str:
    """Render a target ("user:U1", "role:quality", "unit:production", "group:S1")."""
    kind, _, ident = target.partition(":")
    if kind == "user":
        return user(ident)
    if kind == "group":
        return f"<!subteam^{ident}>" if ident.isalnum() else escape(ident)
    return f"*{escape(ident)}*"


def step_buttons(vm: dict[str, Any]) -> list[dict[str, Any]]:
    value = f"{vm['id']}:{vm['step']}"
    out = []
    for a in vm["actions"]:
        style = "danger" if a["name"] in DANGER else ("primary" if a["primary"] else None)
        out.append(
            button(
                a["label"],
                f"step:{a['name']}",
                value,
                style=style,
                confirm=confirm_dialog(a["name"]),
            )
        )
    return out[:24]


def status_fields(vm: dict[str, Any]) -> list[tuple[str, str]]:
    from blocks.clocks import card_deadlines  # issue 12 (blocks/clocks.py imports this module)

    resp = {"ours": "Ours", "customer": "Customer's"}.get(vm["responsibility"] or "", "—")
    if vm["units"]:
        resp += " — " + ", ".join(escape(u) for u in vm["units"])
    deadlines = []
    if vm["ca_due_at"]:
        deadlines.append(f"Corrective: {when(vm['ca_due_at'])}")
    if vm["pa_due_at"]:
        deadlines.append(f"Preventive: {when(vm['pa_due_at'])}")
    status = vm["status_label"]
    if vm["overdue"]:
        status = ":warning: " + status + " — *overdue*"
    return [
        ("Status", status),
        ("Severity", SEVERITY_BADGE.get(vm["severity"] or "", "not classified yet")),
        ("Customer", user_text(vm["customer"], 300)),
        ("Product", user_text(vm["product"], 300)),
        ("Lots", user_text(vm["lots"], 300)),
        ("Quantity", f"{vm['quantity']:,}"),
        ("Responsibility", resp),
        ("Reported by", f"{user(vm['reporter'])} via {escape(vm['via'])}"),
        ("Received", when(vm["received_at"])),
        # issue 12: every running clock, never "done" while someone owes a step
        ("Deadlines", card_deadlines(vm) if "clocks" in vm else "\n".join(deadlines) or "—"),
    ]


def case_card(vm: dict[str, Any]) -> dict[str, Any]:
    """chat.postMessage / chat.update arguments (text + blocks) for the case card."""
    title = f"{vm['ref']} · {truncate(vm['customer'], 80)}"
    flags = []
    if vm["urgent"]:
        flags.append(":rotating_light: *Urgent*")
    if vm["customer_deadline"]:
        flags.append(f"Customer's deadline: *{vm['customer_deadline']}*")
    if vm["rework_count"]:
        flags.append(f"Rework loop {vm['rework_count']}")
    if vm["status"] == "verification":
        flags.append(f"Clean lots: {vm['clean_lots']}/{vm['clean_lots_needed']}")
    blocks: list[dict[str, Any]] = [
        header(title),
        fields(status_fields(vm)),
        {
            "type": "section",
            "text": mrkdwn(
                "*Defect*\n"
                + user_text(vm["description"], 700)
                + (
                    "\n_Full text: `/complaint show " + vm["ref"] + "`_"
                    if len(vm["description"]) > 600
                    else ""
                )
            ),
        },
    ]
    if flags:
        blocks.append(context("  ·  ".join(flags)))
    blocks.extend(recurrence_blocks(vm))  # issue 14 hook: "possibly the same problem as …"
    if vm["closure"]:
        blocks.append(
            context(
                f":white_check_mark: Closed on criterion "
                f"{escape(vm['closure_label'])} {when(vm['closed_at'])}"
            )
        )
    owners = " ".join(mention(t) for t in vm["owners"])
    blocks.append(
        {
            "type": "section",
            "text": mrkdwn(
                f"*Next:* {escape(vm['next_text'])}" + (f" — {owners}" if owners else "")
            ),
        }
    )
    buttons = step_buttons(vm)
    if buttons:
        blocks.append(
            {"type": "actions", "block_id": f"steps:{vm['id']}:{vm['step']}", "elements": buttons}
        )
    if vm.get("delivery_error"):
        blocks.append(
            context(
                ":warning: A Slack message for this case could not be "
                "delivered: " + user_text(vm["delivery_error"], 300)
            )
        )
    blocks.append(
        context(
            f"{vm['ref']} · discuss in the thread below · `/complaint show "
            f"{vm['ref']}` for the full record"
        )
    )
    return {
        "text": f"Complaint {vm['ref']}: {escape(truncate(vm['customer'], 200))} — "
        f"{vm['status_label']}",
        "blocks": cap_blocks(blocks),
    }
