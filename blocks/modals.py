"""Modals for the procedure's steps. callback_id `step:<name>`; private_metadata carries
only `<case id>:<case step>` — the handler reloads the case and re-checks everything."""

from __future__ import annotations

from typing import Any

from blocks.intake import _input, text_input
from blocks.text import context, option, plain, section, user_text
from bot.i18n import N_, _

DIRECT_STEPS = {
    # steps with nothing to type: a button with Slack's confirm dialog
    # "confirm_information" has a form since issue 14 (the category): see _confirm_body
    "approve_report": (
        "Approve the report?",
        "Your approval is recorded with your name and the time, like a signature.",
    ),
    "confirm_customer_informed": (
        "Customer informed?",
        "Marketing told the customer the outcome. The case closes as not our responsibility.",
    ),
}

SUBMIT = {
    "confirm_information": N_("Confirm"),
    "request_information": "Ask",
    "provide_information": "Add",
    "decide_responsibility": "Decide",
    "classify_severity": "Classify",
    "record_containment": "Record",
    "submit_corrective_action": "Submit report",
    "submit_preventive_action": "Submit report",
    "reject_report": "Reject",
    "send_to_customer": "Record",
    "record_customer_acceptance": "Record",
    "record_lot_check": "Record lot",
    "close_case": "Close case",
    "reopen_case": "Reopen",
}
TITLES = {
    "confirm_information": N_("Information complete"),
    "request_information": "More information",
    "provide_information": "Add information",
    "decide_responsibility": "Responsibility",
    "classify_severity": "Severity",
    "record_containment": "Containment",
    "submit_corrective_action": "Corrective action",
    "submit_preventive_action": "Preventive action",
    "reject_report": "Reject report",
    "send_to_customer": "Sent to customer",
    "record_customer_acceptance": "Customer's answer",
    "record_lot_check": "Lot check",
    "close_case": "Close case",
    "reopen_case": "Reopen case",
}


def _select(
    options: dict[str, str], *, initial: str | None = None, multi: bool = False
) -> dict[str, Any]:
    opts = [option(label, value) for value, label in options.items()]
    el: dict[str, Any] = {
        "type": "multi_static_select" if multi else "static_select",
        "action_id": "value",
        "options": opts,
        "placeholder": plain("Choose"),
    }
    if initial and not multi:
        for o in opts:
            if o["value"] == initial:
                el["initial_option"] = o
    return el


def _more_actions() -> list[dict[str, Any]]:
    """Further corrective actions, each with its own owner and planned date (optional)."""
    from bot.workflow.actions import EXTRA_ACTIONS

    out: list[dict[str, Any]] = []
    for n in range(2, 2 + EXTRA_ACTIONS):
        out += [
            _input(
                f"action_{n}",
                f"Corrective action {n} (optional)",
                text_input(multiline=True, max_length=3000),
                optional=True,
            ),
            _input(
                f"owner_{n}",
                f"Owner of action {n}",
                {"type": "users_select", "action_id": "value"},
                optional=True,
            ),
            _input(
                f"planned_{n}",
                f"Planned completion of action {n}",
                {"type": "datepicker", "action_id": "value"},
                optional=True,
            ),
        ]
    return out


def _body(
    name: str, vm: dict[str, Any], labels: dict[str, dict[str, str]], units: list[str]
) -> list[dict[str, Any]]:
    long = {"multiline": True, "max_length": 3000}
    if name == "confirm_information":
        return _confirm_body(labels.get("complaint_category") or {})
    if name == "request_information":
        return [_input("missing", "What is missing?", text_input(**long))]
    if name == "provide_information":
        return [_input("info", "The information the customer gave", text_input(**long))]
    if name == "decide_responsibility":
        return [
            _input(
                "party",
                "Who is responsible?",
                {
                    "type": "radio_buttons",
                    "action_id": "value",
                    "options": [option("Our company", "ours"), option("The customer", "customer")],
                },
            ),
            _input(
                "units",
                "Responsible unit(s) (if ours)",
                _select({u: u.capitalize() for u in units}, multi=True),
                optional=True,
            ),
            _input(
                "reason", "Reason (objective: what the samples / photos show)", text_input(**long)
            ),
        ]
    if name == "classify_severity":
        return [
            section("\n".join(f"*{k}* — {v}" for k, v in labels["severity"].items())),
            _input(
                "severity",
                "Severity",
                _select({k: f"{k} — {v.split(':')[0]}" for k, v in labels["severity"].items()}),
            ),
            _input("note", "Why (agreed with Marketing)", text_input(**long), optional=True),
        ]
    if name == "record_containment":
        out: list[dict[str, Any]] = [
            context(
                "Affected stock: in the warehouse (在库), in transit (ON THE WAY), at the customer."
            )
        ]
        for where, label in (
            ("warehouse", "In our warehouse"),
            ("transit", "In transit"),
            ("customer", "At the customer"),
        ):
            out.append(
                _input(
                    f"{where}_qty", f"{label}: quantity", text_input(max_length=12), optional=True
                )
            )
            out.append(
                _input(
                    f"{where}_disposition",
                    f"{label}: disposition",
                    _select(labels["disposition"]),
                    optional=True,
                )
            )
        out.append(_input("actions", "Interim containment actions", text_input(**long)))
        return out
    if name == "submit_corrective_action":
        return [
            context(
                "Corrective action (矫正措施): remove the cause so it does not happen "
                "again, and say how the defective lot is dispositioned."
            ),
            _input("category", "Root cause category (4M1E)", _select(labels["category"])),
            _input("why", "Why-why analysis (one 'why' per line)", text_input(**long)),
            _input(
                "escape",
                "Why the defect escaped detection",
                text_input(**long),
                optional=True,
            ),
            _input(
                "disposition", "Disposition of the defective lot", _select(labels["disposition"])
            ),
            _input("actions", "Corrective actions", text_input(**long)),
            _input("owner", "Action owner", {"type": "users_select", "action_id": "value"}),
            _input("planned", "Planned completion", {"type": "datepicker", "action_id": "value"}),
            *_more_actions(),  # issue 12(3j): each action its own owner and date
        ]
    if name == "submit_preventive_action":
        out = [
            context(
                "Preventive action (预防措施): concrete measures per direction — no "
                "vague wording — aiming at standardisation."
            )
        ]
        for key, label in labels["category"].items():
            out.append(_input(f"m_{key}", label, text_input(**long), optional=True))
        out.append(
            _input("documents", "Documents standardised", _select(labels["documents"], multi=True))
        )
        out.append(
            _input(
                "revisions",
                "Document numbers and revisions (e.g. WI-023 rev C)",
                text_input(max_length=500),
                optional=True,
            )
        )
        out.append(_input("note", "Notes", text_input(**long), optional=True))
        return out
    if name == "reject_report":
        return [
            _input(
                "reason",
                "Why is it rejected? (goes back to the responsible unit)",
                text_input(**long),
            )
        ]
    if name == "send_to_customer":
        return [
            context(
                f"Improvement report version {vm.get('report_version') or '—'} "
                "(corrective.preventive) is recorded as the one that went out."
            ),
            _input(
                "method",
                "How did it go to the customer?",
                {
                    "type": "radio_buttons",
                    "action_id": "value",
                    "options": [option(v, k) for k, v in labels["send_method"].items()],
                },
            ),
            _input(
                "sent_on",
                "Sent on (empty: today)",
                {"type": "datepicker", "action_id": "value"},
                optional=True,
            ),
            _input("note", "Note (e.g. to whom)", text_input(max_length=500), optional=True),
        ]
    if name == "record_customer_acceptance":
        return [
            _input(
                "accepted",
                "Did the customer accept the report?",
                {
                    "type": "radio_buttons",
                    "action_id": "value",
                    "options": [
                        option("Accepted", "yes"),
                        option("Not accepted — new countermeasures", "no"),
                    ],
                },
            ),
            _input("note", "Customer's words", text_input(**long), optional=True),
        ]
    if name == "record_lot_check":
        return [
            context(
                f"Clean lots since the last countermeasures: {vm['clean_lots']} of "
                f"{vm['clean_lots_needed']}."
            ),
            _input("lot", "Lot number", text_input()),
            _input("quantity", "Quantity inspected", text_input(max_length=12)),
            _input(
                "result",
                "Result",
                {
                    "type": "radio_buttons",
                    "action_id": "value",
                    "options": [
                        option("No recurrence", "ok"),
                        option("Same problem found", "same_problem"),
                    ],
                },
            ),
            _input("notes", "Notes", text_input(**long), optional=True),
        ]
    if name == "close_case":
        return [
            _input(
                "criterion",
                "Closure criterion",
                _select({k: v for k, v in labels["closure"].items() if k in ("A", "B")}),
            ),
            _input(
                "evidence", "Evidence of effect (required for A)", text_input(**long), optional=True
            ),
            # issue 12(3b): criterion A records that quality was not harmed
            _input(
                "no_negative_impact",
                "For A: no negative effect on quality",
                {
                    "type": "checkboxes",
                    "action_id": "value",
                    "options": [
                        option("The actions had no negative effect on quality", "yes"),
                    ],
                },
                optional=True,
            ),
        ]
    if name == "reopen_case":
        return [_input("reason", "What recurred?", text_input(**long))]
    raise KeyError(name)


def _confirm_body(categories: dict[str, str]) -> list[dict[str, Any]]:
    """Issue 14 hook: confirming the information is also where Technical Quality files the
    complaint under a category (COMPLAINT_CATEGORIES, names in the reader's language)."""
    return [
        context(
            _(
                "The complaint record is complete and sufficient to start: customer, "
                "product, lot, quantity, defect, evidence."
            )
        ),
        _input("category", _("Complaint category"), _select(categories)),
        _input("note", _("Note"), text_input(max_length=500), optional=True),
    ]


def step_modal(
    name: str, vm: dict[str, Any], *, labels: dict[str, dict[str, str]], units: list[str]
) -> dict[str, Any]:
    blocks = [
        context(
            f"*{vm['ref']}* · {user_text(vm['customer'], 200)} · {user_text(vm['product'], 200)}"
        )
    ]
    blocks.extend(_body(name, vm, labels, units))
    return {
        "type": "modal",
        "callback_id": f"step:{name}",
        "private_metadata": f"{vm['id']}:{vm['step']}",
        "title": plain(_(TITLES[name]), 24),
        "submit": plain(_(SUBMIT[name]), 24),
        "close": plain("Cancel", 24),
        "blocks": blocks,
    }


def confirm_dialog(name: str) -> dict[str, Any] | None:
    if name not in DIRECT_STEPS:
        return None
    title, text = DIRECT_STEPS[name]
    return {
        "title": plain(title, 100),
        "text": plain(text, 300),
        "confirm": plain("Yes", 30),
        "deny": plain("Cancel", 30),
    }
