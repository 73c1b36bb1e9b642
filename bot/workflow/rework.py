"""What a manager signs, and what a reworked report starts from (issue 12, 3(f) and 3(g)).

- `approval_summary`: the approval DM and the card at the approval stage show the root
  cause, the actions with their owners and dates, the defective lot's disposition and the
  preventive measures, so a manager does not approve a version number blind.
- `form_initial`: a report form opened again (after a rejection, the customer's
  non-acceptance or a failed lot check) starts from the latest version of that report:
  the unit edits what was sent back instead of typing it all again.
- `why_back`: and it says why it came back, at the top of the form.

Values are the recorded codes and texts; labels are msgids (blocks/ translates them).
"""

from __future__ import annotations

from typing import Any

from bot.models import Case, Status
from bot.workflow.actions import items_of
from bot.workflow.options import CAUSE_CATEGORIES, DISPOSITIONS, DOCUMENTS
from bot.workflow.transition import Step

# the events that send a case back to the responsible unit (they record data["loop"])
SENT_BACK_BY = ("reject_report", "record_customer_acceptance", "record_lot_check", "reopen_case")


def approval_summary(case: Case) -> dict[str, Any] | None:
    """What awaits approval, from the latest corrective and preventive reports (the case's
    reports loaded); None when the case is not at approval."""
    if Status(case.status) is not Status.APPROVAL:
        return None
    ca, pa = case.latest_report("corrective"), case.latest_report("preventive")
    cad: dict[str, Any] = dict(ca.data or {}) if ca else {}
    pad: dict[str, Any] = dict(pa.data or {}) if pa else {}
    why = cad.get("why") or []
    whys = [str(w) for w in (why if isinstance(why, list) else [why]) if w]
    measures = pad.get("measures") if isinstance(pad.get("measures"), dict) else {}
    return {
        "version": f"{ca.version if ca else 0}.{pa.version if pa else 0}",
        "category": CAUSE_CATEGORIES.get(str(cad.get("category") or ""), ""),
        "whys": whys,
        "disposition": DISPOSITIONS.get(str(cad.get("disposition") or ""), ""),
        "actions": [
            {"text": str(i.get("text") or ""), "owner": i.get("owner"), "planned": i.get("planned")}
            for i in (items_of(cad) if ca else [])
        ],
        "measures": [(CAUSE_CATEGORIES.get(k, k), str(v)) for k, v in measures.items() if v],
        "documents": [DOCUMENTS.get(d, d) for d in pad.get("documents") or []],
        "revisions": str(pad.get("revisions") or ""),
    }


def form_initial(step: Step, case: Case) -> dict[str, Any]:
    """The field values of the latest version of the report `step` writes (empty when it
    writes none, or none was written yet), keyed like the form's fields. Needs the case's
    reports loaded."""
    if not step.report:
        return {}
    latest = case.latest_report(step.report)
    if latest is None:
        return {}
    data: dict[str, Any] = dict(latest.data or {})
    measures = data.get("measures") if isinstance(data.get("measures"), dict) else {}
    for item in items_of(data)[1:]:  # the corrective actions after the first (issue 12(3j))
        n = item.get("n")
        data.update({f"action_{n}": item.get("text"), f"owner_{n}": item.get("owner")})
        data[f"planned_{n}"] = item.get("planned")
    out: dict[str, Any] = {}
    for f in step.fields:
        value = data.get(f.key)
        if value is None and f.key.startswith("m_"):
            value = measures.get(f.key[2:])
        if isinstance(value, list) and str(f.kind) in ("text", "long"):
            value = "\n".join(str(v) for v in value)
        if value not in (None, "", []):
            out[f.key] = value
    return out


def why_back(step: Step, case: Case) -> dict[str, Any] | None:
    """Why the report this form writes came back: the latest event that sent the case back
    to the responsible unit, if no version of this report was written since. Needs the
    case's events and reports loaded."""
    if not step.report or not case.rework_count:
        return None
    back = None
    for e in case.events:  # oldest first: the last sending back, unless the form came since
        if e.kind in SENT_BACK_BY and (e.data or {}).get("loop"):
            back = e
        elif e.kind == step.name:
            back = None
    if back is None:
        return None
    d = back.data or {}
    return {
        "kind": back.kind,
        "actor": back.actor,
        "at": back.at,
        "text": str(d.get("reason") or d.get("note") or d.get("notes") or ""),
        "lot": str(d.get("lot") or ""),
    }
