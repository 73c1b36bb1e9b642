"""What a manager signs, and the approval DM once decided (issue 12, point 3(f)).

The summary (vm["approval"], bot/workflow/rework.approval_summary) is cut to fit one
section (3000 characters) in either language; the whole report is one command away
(`/complaint report`, the PDF by direct message)."""

from __future__ import annotations

from datetime import date
from typing import Any

from blocks.text import context, escape, section, truncate, user, user_text, when
from bot.i18n import _, fmt_date

WHYS, ACTIONS, MEASURES = 5, 5, 5  # lines shown of each; the rest is in the full report


def _date(raw: Any) -> str:
    try:
        return fmt_date(date.fromisoformat(str(raw)))
    except ValueError:
        return escape(raw or "—")


def summary_blocks(vm: dict[str, Any]) -> list[dict[str, Any]]:
    """Root cause, actions with owners and dates, the defective lot, the preventive
    measures: two blocks (the summary and where to see all of it), none if not at approval."""
    a = vm.get("approval")
    if not a:
        return []
    lines = ["*" + _("What you are approving (report version {v})", v=escape(a["version"])) + "*"]
    cause = escape(_(a["category"])) if a["category"] else "—"
    if a["whys"]:  # the last why is the root cause
        cause += " — " + user_text(a["whys"][-1], 300)
    lines.append("*" + _("Root cause") + ":* " + cause)
    if len(a["whys"]) > 1:
        shown = a["whys"][:WHYS]
        lines.append(
            "*"
            + _("Why")
            + ":* "
            + " → ".join(user_text(w, 150) for w in shown)
            + (" …" if len(a["whys"]) > WHYS else "")
        )
    lot = escape(_(a["disposition"])) if a["disposition"] else "—"
    lines.append("*" + _("Defective lot") + ":* " + lot)
    if a["actions"]:
        lines.append("*" + _("Corrective actions") + ":*")
        for item in a["actions"][:ACTIONS]:
            owner = user(str(item["owner"])) if item.get("owner") else "—"
            lines.append(
                "• "
                + _(
                    "{text} — {owner}, by {date}",
                    text=user_text(item["text"], 250),
                    owner=owner,
                    date=_date(item.get("planned")),
                )
            )
    if a["measures"]:
        lines.append("*" + _("Preventive measures") + ":*")
        for label, text in a["measures"][:MEASURES]:
            lines.append(f"• {escape(_(label))}: {user_text(text, 250)}")
    if a["documents"]:
        docs = ", ".join(escape(_(d)) for d in a["documents"])
        revisions = f" ({user_text(a['revisions'], 200)})" if a["revisions"] else ""
        lines.append("*" + _("Standardised") + ":* " + docs + revisions)
    whole = _(
        "The whole report: {command} sends you the PDF; {show} shows the full record.",
        command=f"`/complaint report {vm['ref']}`",
        show=f"`/complaint show {vm['ref']}`",
    )
    return [section(truncate("\n".join(lines), 2900)), context(whole)]


def approval_decided(vm: dict[str, Any], event: dict[str, Any], permalink: str | None) -> dict:
    """The approval DM once a manager has decided: who decided, how and when; no buttons."""
    link = f"<{permalink}|{vm['ref']}>" if permalink else vm["ref"]
    who, at = user(event["actor"]), when(event["at"])
    data = event["data"]
    if event["kind"] == "approve_report":
        version = f"{data.get('corrective_version') or 0}.{data.get('preventive_version') or 0}"
        text = ":white_check_mark: " + _(
            "The improvement report for {link} was approved by {who} on {when} "
            "(report version {version}).",
            link=link,
            who=who,
            when=at,
            version=version,
        )
    else:
        text = ":leftwards_arrow_with_hook: " + _(
            "The improvement report for {link} was rejected by {who} on {when}: {reason}",
            link=link,
            who=who,
            when=at,
            reason=user_text(data.get("reason") or "—", 1500),
        )
    return {"text": truncate(text, 3000), "blocks": [section(text)]}
