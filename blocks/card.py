"""The case card: the thread's parent message, re-rendered after every step."""

from __future__ import annotations

from datetime import date
from typing import Any

from blocks.approval import summary_blocks
from blocks.modals import confirm_dialog
from blocks.recurrence import recurrence_blocks
from blocks.scope import subject_fields, window_fields
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
from bot.i18n import N_, _, fmt_date

SEVERITY_ICON = {"A": ":red_circle:", "B": ":large_orange_circle:", "C": ":large_yellow_circle:"}


def severity_badge(code: str | None, label: str | None) -> str:
    """ ":red_circle: A — critical", from the declared severity name."""
    if not code:
        return ""
    return f"{SEVERITY_ICON.get(code, '')} {escape(_(label or code))}".strip()


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


def mention(target: str) -> str:
    """Render a target ("user:U1", "role:quality", "unit:production", "group:S1")."""
    kind, _sep, ident = target.partition(":")
    if kind == "user":
        return user(ident)
    if kind == "group":
        return f"<!subteam^{ident}>" if ident.isalnum() else escape(ident)
    if kind == "role":
        return f"*{escape(_(ROLE_NAMES.get(ident, ident)))}*"
    return f"*{escape(ident)}*"


ROLE_NAMES = {
    "quality": N_("Technical Quality"),
    "marketing": N_("Marketing"),
    "management": N_("Management"),
}


def step_buttons(vm: dict[str, Any]) -> list[dict[str, Any]]:
    """A button for each step that exists now (vm["actions"], from the declarations): the
    main next step first and the only primary one."""
    value = f"{vm['id']}:{vm['step']}"
    return [
        button(
            _(a["label"]),
            f"step:{a['name']}",
            value,
            style=a["style"],
            confirm=confirm_dialog(a["confirm"]),
        )
        for a in vm["actions"]
    ][:24]


def status_fields(vm: dict[str, Any]) -> list[tuple[str, str]]:
    from blocks.clocks import card_deadlines  # issue 12 (blocks/clocks.py imports this module)

    resp = {"ours": _("Ours"), "customer": _("The customer's")}.get(vm["responsibility"] or "", "—")
    if vm["units"]:
        resp += " — " + ", ".join(escape(u) for u in vm["units"])
    if "clocks" in vm:  # issue 12: every running clock, never "done" while someone owes a step
        deadlines = card_deadlines(vm)
    else:
        lines = [_("{what}: {when}", what=_(what), when=when(due)) for what, due in vm["deadlines"]]
        deadlines = "\n".join(lines) or "—"
    status = escape(_(vm["status_label"]))
    if vm["overdue"]:
        status = ":warning: " + _("{status} — *overdue*", status=status)
    return [
        (_("Status"), status),
        (
            _("Severity"),
            severity_badge(vm["severity"], vm["severity_label"]) or _("not classified yet"),
        ),
        (_("Customer"), user_text(vm["customer"], 300)),
        *subject_fields(vm),  # issue 12(3e): a service complaint has no product lines
        *window_fields(vm),  # issue 12(3d): who speaks to the customer, by when
        (_("Responsibility"), resp),
        (
            _("Reported by"),
            _("{who}, received via {via}", who=user(vm["reporter"]), via=escape(_(vm["via"]))),
        ),
        (_("Received on"), when(vm["received_at"])),
        (_("Deadlines"), deadlines),
    ]


def case_card(vm: dict[str, Any], mentions: list[str] | None = None) -> dict[str, Any]:
    """chat.postMessage / chat.update arguments (text + blocks) for the case card.

    `mentions`: the next step's owners as the people and user groups to @-mention (the
    delivery expands roles and units through the directory); the owners are named, not
    pinged, without it. Posted with the mentions, the card is what tells Technical Quality
    and the reporter that a complaint was filed: there is no separate first thread post or
    reporter DM (issue 10, 7(d))."""
    title = f"{vm['ref']} · {truncate(vm['customer'], 80)}"
    flags = []
    if vm["urgent"]:
        flags.append(":rotating_light: *" + _("Urgent") + "*")
    if vm["customer_deadline"]:
        flags.append(
            _(
                "Customer's deadline: *{date}*",
                date=fmt_date(date.fromisoformat(vm["customer_deadline"])),
            )
        )
    if vm["rework_count"]:
        flags.append(_("Sent back for new countermeasures: {n}×", n=vm["rework_count"]))
    if vm["status"] == "verification":
        flags.append(
            _("Clean lots: {done}/{needed}", done=vm["clean_lots"], needed=vm["clean_lots_needed"])
        )
    more = ""
    if len(vm["description"]) > 600:
        more = "\n_" + _("Full text: {command}", command=f"`/complaint show {vm['ref']}`") + "_"
    blocks: list[dict[str, Any]] = [
        header(title),
        fields(status_fields(vm)),
        {
            "type": "section",
            "text": mrkdwn("*" + _("Defect") + "*\n" + user_text(vm["description"], 700) + more),
        },
    ]
    if flags:
        blocks.append(context("  ·  ".join(flags)))
    blocks.extend(recurrence_blocks(vm))  # issue 14 hook: "possibly the same problem as …"
    blocks.extend(summary_blocks(vm))  # issue 12(3f): what awaits approval
    if vm["closure"]:
        blocks.append(
            context(
                ":white_check_mark: "
                + _(
                    "Closed: {why} {when}",
                    why=escape(_(vm["closure_label"])),
                    when=when(vm["closed_at"]),
                )
            )
        )
    owners = " ".join(mention(t) for t in (vm["owners"] if mentions is None else mentions))
    blocks.append(
        {
            "type": "section",
            "text": mrkdwn(
                "*"
                + _("Next:")
                + "* "
                + escape(_(vm["next_text"]))
                + (f" — {owners}" if owners else "")
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
                ":warning: "
                + _(
                    "A Slack message for this case could not be delivered: {error}",
                    error=user_text(vm["delivery_error"], 300),
                )
            )
        )
    blocks.append(
        context(
            _(
                "{ref} · discuss in the thread below · {command} for the full record",
                ref=vm["ref"],
                command=f"`/complaint show {vm['ref']}`",
            )
        )
    )
    return {
        "text": _(
            "Complaint {ref}: {customer} — {status}",
            ref=vm["ref"],
            customer=escape(truncate(vm["customer"], 200)),
            status=_(vm["status_label"]),
        ),
        "blocks": cap_blocks(blocks),
    }
