"""Modals for the procedure's steps, drawn from the step's declaration
(bot/workflow/steps.py `Step`, passed in by the handler). callback_id `step:<name>`;
private_metadata carries only `<case id>:<case step>`: the handler reloads the case and
re-checks everything."""

from __future__ import annotations

from typing import Any

from blocks.intake import field_blocks
from blocks.scope import is_service
from blocks.text import context, plain, section, user, user_text, when
from bot.i18n import _


def step_modal(
    step: Any,
    vm: dict[str, Any],
    *,
    labels: dict[str, dict[str, str]],
    units: list[str],
    initial: dict[str, Any] | None = None,
    back: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The form of a step: a line naming the case, why it came back (a reworked report,
    `back`), the step's intro and explanation, its fields (filled in from `initial`)."""
    blocks = [
        context(
            f"*{vm['ref']}* · {user_text(vm['customer'], 200)} · "
            # issue 12(3e): a service complaint has no product to name
            + (user_text(vm["product"], 200) if not is_service(vm) else _("Service complaint"))
        )
    ]
    if back:
        blocks.append(context(why_back_text(back)))
    if initial:
        blocks.append(context(_("The form starts from the latest version: change what is needed.")))
    if step.intro:
        facts = {**vm, "report_version": vm.get("report_version") or "—"}
        blocks.append(context(_(step.intro, **facts)))
    if step.explain:
        blocks.append(section("\n".join(f"*{k}*: {_(v)}" for k, v in labels[step.explain].items())))
    blocks.extend(field_blocks(step.fields, labels, units, initial=initial))
    return {
        "type": "modal",
        "callback_id": f"step:{step.name}",
        "private_metadata": f"{vm['id']}:{vm['step']}",
        "title": plain(_(step.title), 24),
        "submit": plain(_(step.submit), 24),
        "close": plain(_("Cancel"), 24),
        "blocks": blocks,
    }


def why_back_text(back: dict[str, Any]) -> str:
    """Issue 12(3g): the rejection reason, the customer's objection or the failed lot."""
    said = user_text(back.get("text") or "—", 1500)
    at = when(back.get("at"))
    if back["kind"] == "reject_report":
        return ":leftwards_arrow_with_hook: " + _(
            "Sent back by management ({who}, {when}): {reason}",
            who=user(back["actor"]),
            when=at,
            reason=said,
        )
    if back["kind"] == "record_customer_acceptance":
        return ":leftwards_arrow_with_hook: " + _(
            "The customer did not accept the report ({when}): {objection}",
            when=at,
            objection=said,
        )
    if back["kind"] == "record_lot_check":
        return ":leftwards_arrow_with_hook: " + _(
            "Lot {lot} showed the same problem ({when}): {notes}",
            lot=user_text(back.get("lot") or "—", 200),
            when=at,
            notes=said,
        )
    return ":leftwards_arrow_with_hook: " + _(
        "The case was reopened: the problem recurred ({when}): {reason}", when=at, reason=said
    )


def confirm_dialog(confirm: tuple[str, str] | None) -> dict[str, Any] | None:
    """Slack's confirm dialog for a step that acts on the click (its declared words)."""
    if confirm is None:
        return None
    title, text = confirm
    return {
        "title": plain(_(title), 100),
        "text": plain(_(text), 300),
        "confirm": plain(_("Yes"), 30),
        "deny": plain(_("Cancel"), 30),
    }
