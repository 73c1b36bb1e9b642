"""The procedure's steps (PROCEDURE.md, Flow 1–8) as named transitions.

Each step says from which states it applies and who may take it; `Desk.run` checks
both under the case's row lock, applies the change, bumps the case's `step` (so any
button rendered before it is stale), writes the audit event and queues the card
update and the thread post — all in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.models import Case, LotCheck, Report, Status
from bot.workflow.actions import action_items
from bot.workflow.errors import InvalidInput
from bot.workflow.roles import Actor, Role
from bot.workflow.text import clean_text

S = Status

SEVERITIES = {
    "A": "Critical (严重): loss of function or performance; a hazard or latent risk to "
    "personal safety; a breach of law, regulation or industry rules; major loss to the "
    "customer; serious damage to our reputation.",
    "B": "Major (重大): degraded function or performance; affects normal use or operation; "
    "direct loss to the customer; damages the customer's confidence.",
    "C": "Minor (一般): anything else — cosmetic defects that do not affect function or "
    "performance and cause the customer no direct loss.",
}
CAUSE_CATEGORIES = {
    "people": "People (人)",
    "machine": "Machine (机)",
    "material": "Material (料)",
    "method": "Method (法)",
    "environment": "Environment (环)",
}
DISPOSITIONS = {
    "rework": "Rework",
    "sort": "Sort / 100% inspection",
    "scrap": "Scrap",
    "return": "Return to supplier",
    "concession": "Concession (use as is)",
    "none": "No stock affected",
}
DOCUMENTS = {
    "work_instruction": "Work instruction",
    "control_plan": "Control plan",
    "fmea": "FMEA",
    "fixture": "Fixture / poka-yoke",
    "training": "Training",
    "inspection": "Inspection standard",
}
CLOSURE = {
    "A": "A — actions carried out and verified effective",
    "B": "B — three consecutive lots without the same problem",
    "not_ours": "Not our responsibility (customer informed)",
}
CLEAN_LOTS_TO_CLOSE = 3
# how the approved report went to the customer ("Sent to customer")
SEND_METHODS = {"email": "E-mail", "portal": "Customer portal", "in_person": "In person"}


def _tq(a: Actor, c: Case) -> bool:
    return a.has(Role.QUALITY)


def _mkt(a: Actor, c: Case) -> bool:
    return a.has(Role.MARKETING) or a.user_id == c.reporter_id


def _mkt_or_tq(a: Actor, c: Case) -> bool:
    return _mkt(a, c) or a.has(Role.QUALITY)


def _unit(a: Actor, c: Case) -> bool:
    return a.in_unit(c.units) or a.has(Role.QUALITY)


def _mgmt(a: Actor, c: Case) -> bool:
    return a.has(Role.MANAGEMENT)


@dataclass(frozen=True)
class Step:
    name: str
    label: str  # button text, ≤ 30 chars
    sources: frozenset[Status]
    who: Callable[[Actor, Case], bool]
    who_text: str
    primary: bool = True  # shown as the main button when it applies


def _step(
    name: str, label: str, sources: set[Status], who: Callable, who_text: str, primary: bool = True
) -> Step:
    return Step(name, label, frozenset(sources), who, who_text, primary)


EDITABLE_CA = {S.PREVENTIVE, S.APPROVAL}
STEPS: dict[str, Step] = {
    s.name: s
    for s in [
        _step(
            "confirm_information",
            "Information complete",
            {S.RECEIVED, S.INFO_REQUESTED},
            _tq,
            "Technical Quality",
        ),
        _step(
            "request_information",
            "Ask for more info",
            {S.RECEIVED},
            _tq,
            "Technical Quality",
            primary=False,
        ),
        _step(
            "provide_information",
            "Add information",
            {S.INFO_REQUESTED},
            _mkt_or_tq,
            "Marketing or the reporter",
        ),
        _step(
            "decide_responsibility",
            "Decide responsibility",
            {S.RESPONSIBILITY},
            _tq,
            "Technical Quality",
        ),
        _step(
            "confirm_customer_informed", "Customer informed", {S.CUSTOMER_NOTICE}, _mkt, "Marketing"
        ),
        _step("classify_severity", "Classify severity", {S.SEVERITY}, _tq, "Technical Quality"),
        _step(
            "record_containment",
            "Record containment",
            {S.CONTAINMENT},
            _unit,
            "the responsible unit or Technical Quality",
        ),
        _step(
            "submit_corrective_action",
            "Corrective action",
            {S.CORRECTIVE} | EDITABLE_CA,
            _unit,
            "the responsible unit or Technical Quality",
        ),
        _step(
            "submit_preventive_action",
            "Preventive action",
            {S.PREVENTIVE, S.APPROVAL},
            _unit,
            "the responsible unit or Technical Quality",
        ),
        _step("approve_report", "Approve", {S.APPROVAL}, _mgmt, "Management"),
        _step("reject_report", "Reject", {S.APPROVAL}, _mgmt, "Management"),
        _step("send_to_customer", "Sent to customer", {S.APPROVED}, _tq, "Technical Quality"),
        _step(
            "record_customer_acceptance",
            "Customer's answer",
            {S.CUSTOMER_REVIEW},
            _mkt_or_tq,
            "Marketing or Technical Quality",
        ),
        _step("record_lot_check", "Record lot check", {S.VERIFICATION}, _tq, "Technical Quality"),
        _step("close_case", "Close case", {S.VERIFICATION}, _tq, "Technical Quality"),
        _step(
            "reopen_case",
            "Reopen (recurrence)",
            {S.CLOSED},
            _tq,
            "Technical Quality",
            primary=False,
        ),
    ]
}

# who owns the next step in each state, as mention targets
NEXT_OWNER: dict[Status, list[str]] = {
    S.RECEIVED: ["role:quality"],
    S.INFO_REQUESTED: ["reporter"],
    S.RESPONSIBILITY: ["role:quality"],
    S.CUSTOMER_NOTICE: ["reporter", "role:marketing"],
    S.SEVERITY: ["role:quality"],
    S.CONTAINMENT: ["units"],
    S.CORRECTIVE: ["units"],
    S.PREVENTIVE: ["units"],
    S.APPROVAL: ["role:management"],
    S.APPROVED: ["role:quality"],
    S.CUSTOMER_REVIEW: ["reporter", "role:marketing"],
    S.VERIFICATION: ["role:quality"],
    S.CLOSED: [],
}

NEXT_STEP_TEXT: dict[Status, str] = {
    S.RECEIVED: "Technical Quality confirms the information is complete",
    S.INFO_REQUESTED: "The reporter adds the missing information",
    S.RESPONSIBILITY: "Technical Quality decides responsibility",
    S.CUSTOMER_NOTICE: "Marketing tells the customer (tactfully) and confirms",
    S.SEVERITY: "Technical Quality classifies severity A/B/C",
    S.CONTAINMENT: "The responsible unit checks stock and records containment",
    S.CORRECTIVE: "The responsible unit submits the corrective-action report",
    S.PREVENTIVE: "The responsible unit submits the preventive-action report",
    S.APPROVAL: "Management approves or rejects the improvement report",
    S.APPROVED: "Technical Quality sends the approved report to the customer",
    S.CUSTOMER_REVIEW: "Marketing records the customer's answer",
    S.VERIFICATION: "Technical Quality verifies effectiveness (lot checks) and closes",
    S.CLOSED: "Nothing — the case is closed and archived",
}

STATUS_LABEL: dict[Status, str] = {
    S.RECEIVED: "Received",
    S.INFO_REQUESTED: "Waiting for information",
    S.RESPONSIBILITY: "Responsibility to decide",
    S.CUSTOMER_NOTICE: "Customer's responsibility — informing",
    S.SEVERITY: "Severity to classify",
    S.CONTAINMENT: "Containment",
    S.CORRECTIVE: "Corrective action",
    S.PREVENTIVE: "Preventive action",
    S.APPROVAL: "Awaiting management approval",
    S.APPROVED: "Approved — to send",
    S.CUSTOMER_REVIEW: "With the customer",
    S.VERIFICATION: "Verifying effectiveness",
    S.CLOSED: "Closed",
}


def available_steps(case: Case) -> list[Step]:
    status = Status(case.status)
    return [s for s in STEPS.values() if status in s.sources]


# --- input checks: each returns the data recorded in the audit event -----------------


def _text(
    errors: dict[str, str], key: str, value: Any, *, required: bool = True, limit: int = 3000
) -> str:
    v = clean_text(value).strip()
    if required and not v:
        errors[key] = "Please fill this in."
    elif len(v) > limit:
        errors[key] = f"Please keep this under {limit} characters."
    return v


def _count(errors: dict[str, str], key: str, value: Any, *, positive: bool = False) -> int:
    raw = clean_text(value).strip().replace(",", "")
    if raw == "" and not positive:
        return 0
    # ASCII digits only: "²" is a digit to str.isdigit() and an error to int()
    if not (raw.isascii() and raw.isdigit()) or (positive and int(raw) == 0):
        errors[key] = "Please give a whole number" + (" above zero." if positive else ".")
        return 0
    return int(raw)


def _choice(errors: dict[str, str], key: str, value: Any, options: dict | set) -> str:
    if value not in options:
        errors[key] = "Please choose one."
        return ""
    return str(value)


def _raise(errors: dict[str, str]) -> None:
    if errors:
        raise InvalidInput(errors)


def check_responsibility(data: dict[str, Any], units: list[str]) -> dict[str, Any]:
    e: dict[str, str] = {}
    party = _choice(e, "party", data.get("party"), {"ours", "customer"})
    reason = _text(e, "reason", data.get("reason"))
    chosen = [u for u in data.get("units") or [] if u]
    if party == "ours":
        if not chosen:
            e["units"] = "Name at least one responsible unit."
        elif any(u not in units for u in chosen):
            e["units"] = "Unknown unit."
    _raise(e)
    return {"party": party, "reason": reason, "units": chosen if party == "ours" else []}


def check_severity(data: dict[str, Any]) -> dict[str, Any]:
    e: dict[str, str] = {}
    sev = _choice(e, "severity", data.get("severity"), SEVERITIES)
    note = _text(e, "note", data.get("note"), required=False)
    _raise(e)
    return {"severity": sev, "note": note}


def check_containment(data: dict[str, Any]) -> dict[str, Any]:
    e: dict[str, str] = {}
    out: dict[str, Any] = {}
    for where in ("warehouse", "transit", "customer"):
        qty = _count(e, f"{where}_qty", data.get(f"{where}_qty"))
        disp = data.get(f"{where}_disposition") or ("none" if qty == 0 else "")
        if qty and disp not in DISPOSITIONS:
            e[f"{where}_disposition"] = "Choose what happens to this stock."
        out[where] = {"quantity": qty, "disposition": disp}
    out["actions"] = _text(e, "actions", data.get("actions"))
    _raise(e)
    return out


def check_corrective(data: dict[str, Any], today: date) -> dict[str, Any]:
    e: dict[str, str] = {}
    category = _choice(e, "category", data.get("category"), CAUSE_CATEGORIES)
    why = _text(e, "why", data.get("why"))
    disposition = _choice(e, "disposition", data.get("disposition"), DISPOSITIONS)
    actions = _text(e, "actions", data.get("actions"))
    owner = _text(e, "owner", data.get("owner"), limit=32)
    escape = _text(e, "escape", data.get("escape"), required=False)
    planned = None
    raw = data.get("planned")
    if not raw:
        e["planned"] = "Give the planned completion date."
    else:
        try:
            planned = date.fromisoformat(clean_text(raw))
            if planned < today:
                e["planned"] = "The planned date cannot be in the past."
        except ValueError:
            e["planned"] = "That is not a date."
    # issue 12(3j): further actions, each with its own owner and date (bot/workflow/actions.py)
    first = {"text": actions, "owner": owner, "planned": planned.isoformat() if planned else None}
    items = action_items(data, today, e, first)
    _raise(e)
    return {
        "action_items": items,
        "category": category,
        "why": [w.strip() for w in why.splitlines() if w.strip()],
        "disposition": disposition,
        "actions": actions,
        "owner": owner,
        "planned": planned.isoformat() if planned else None,
        "escape": escape,
    }


def check_preventive(data: dict[str, Any]) -> dict[str, Any]:
    e: dict[str, str] = {}
    measures = {c: _text(e, f"m_{c}", data.get(f"m_{c}"), required=False) for c in CAUSE_CATEGORIES}
    if not any(measures.values()):
        e["m_method"] = "Give a concrete measure for at least one of the 4M1E directions."
    docs = [d for d in data.get("documents") or [] if d in DOCUMENTS]
    if not docs:
        e["documents"] = "Which documents are standardised? (the aim is standardisation)"
    _raise(e)
    return {
        "measures": {k: v for k, v in measures.items() if v},
        "documents": docs,
        "revisions": _text(e, "revisions", data.get("revisions"), required=False, limit=500),
        "note": _text(e, "note", data.get("note"), required=False),
    }


def check_sent(data: dict[str, Any], today: date) -> dict[str, Any]:
    """How and when the approved report went to the customer (the version is the case's)."""
    e: dict[str, str] = {}
    method = _choice(e, "method", data.get("method"), SEND_METHODS)
    sent_on = today
    raw = data.get("sent_on")
    if raw:
        try:
            sent_on = date.fromisoformat(str(raw))
            if sent_on > today:
                e["sent_on"] = "The date it was sent cannot be in the future."
        except ValueError:
            e["sent_on"] = "That is not a date."
    note = _text(e, "note", data.get("note"), required=False)
    _raise(e)
    return {"method": method, "sent_on": sent_on.isoformat(), "note": note}


def check_lot(data: dict[str, Any]) -> dict[str, Any]:
    e: dict[str, str] = {}
    lot = _text(e, "lot", data.get("lot"), limit=200)
    qty = _count(e, "quantity", data.get("quantity"), positive=True)
    result = _choice(e, "result", data.get("result"), {"ok", "same_problem"})
    notes = _text(e, "notes", data.get("notes"), required=False)
    _raise(e)
    return {"lot": lot, "quantity": qty, "result": result, "notes": notes}


def check_close(data: dict[str, Any], case: Case) -> dict[str, Any]:
    e: dict[str, str] = {}
    criterion = _choice(e, "criterion", data.get("criterion"), {"A", "B"})
    evidence = _text(e, "evidence", data.get("evidence"), required=criterion == "A")
    if criterion == "B" and case.clean_lots < CLEAN_LOTS_TO_CLOSE:
        e["criterion"] = (
            f"Criterion B needs {CLEAN_LOTS_TO_CLOSE} consecutive clean lots; "
            f"{case.clean_lots} recorded since the last countermeasures."
        )
    # issue 12(3b): criterion A also records no negative effect on quality (procedure A)
    no_harm = "yes" in (data.get("no_negative_impact") or [])
    if criterion == "A" and not no_harm:
        e["no_negative_impact"] = (
            "Criterion A needs the actions to have had no negative effect on quality."
        )
    _raise(e)
    out: dict[str, Any] = {"criterion": criterion, "evidence": evidence}
    if criterion == "A":
        out["no_negative_impact"] = True
    return out


def reason_only(data: dict[str, Any], key: str = "reason", required: bool = True) -> str:
    e: dict[str, str] = {}
    v = _text(e, key, data.get(key), required=required)
    _raise(e)
    return v


# --- applying ----------------------------------------------------------------------


def add_report(case: Case, kind: str, data: dict[str, Any], actor: Actor, now: datetime) -> Report:
    version = 1 + sum(1 for r in case.reports if r.kind == kind)
    report = Report(
        case_id=case.id, kind=kind, version=version, data=data, author=actor.user_id, created_at=now
    )
    case.reports.append(report)
    return report


def add_lot(case: Case, data: dict[str, Any], actor: Actor, now: datetime) -> LotCheck:
    lot = LotCheck(
        case_id=case.id,
        lot=data["lot"],
        quantity_inspected=data["quantity"],
        result=data["result"],
        notes=data["notes"],
        at=now,
        by=actor.user_id,
        loop=case.rework_count,
    )
    case.lot_checks.append(lot)
    return lot
