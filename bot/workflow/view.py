"""Plain view-models of a case for the renderers in `blocks/` (which never touch the DB)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.config import DEFAULT_CATEGORIES, parse_categories
from bot.models import Case, CaseEvent, Status
from bot.workflow import steps as st
from bot.workflow.clocks import clock_views
from bot.workflow.intake import RECEIVED_VIA

DEFAULT_CATEGORY_LIST = parse_categories(DEFAULT_CATEGORIES, [])


def case_view(
    case: Case, now: datetime | None = None, *, with_timeline: bool = False
) -> dict[str, Any]:
    status = Status(case.status)
    actions = [
        {"name": s.name, "label": s.label, "primary": s.primary} for s in st.available_steps(case)
    ]
    vm: dict[str, Any] = {
        "id": case.id,
        "ref": case.ref,
        "step": case.step,
        "status": status.value,
        "status_label": st.STATUS_LABEL[status],
        "is_open": status.is_open,
        "customer": case.customer,
        "contact": case.customer_contact,
        "product": case.product,
        "lots": case.lots,
        "quantity": case.quantity,
        "via": RECEIVED_VIA.get(case.received_via, case.received_via),
        "description": case.description,
        "notes": case.notes,
        "urgent": case.urgent,
        "customer_deadline": case.customer_deadline.isoformat() if case.customer_deadline else None,
        "evidence": case.evidence or [],
        "reporter": case.reporter_id,
        "received_at": case.received_at,
        "responsibility": case.responsibility,
        "responsibility_reason": case.responsibility_reason,
        "units": list(case.units or []),
        "severity": case.severity,
        "severity_text": st.SEVERITIES.get(case.severity or "", ""),
        "ca_due_at": None if case.ca_done_at else case.ca_due_at,
        "pa_due_at": None if case.pa_done_at else case.pa_due_at,
        "ca_done_at": case.ca_done_at,
        "pa_done_at": case.pa_done_at,
        "overdue": bool(
            now
            and any(
                d is not None and d <= now
                for d in (
                    (None if case.ca_done_at else case.ca_due_at),
                    (None if case.pa_done_at else case.pa_due_at),
                )
            )
            and status.is_open
        ),
        "rework_count": case.rework_count,
        "report_version": report_version(case) if "reports" in case.__dict__ else None,
        "clean_lots": case.clean_lots,
        "clean_lots_needed": st.CLEAN_LOTS_TO_CLOSE,
        "approved_by": case.approved_by,
        "approved_at": case.approved_at,
        "closure": case.closure,
        "closure_label": st.CLOSURE.get(case.closure or "", ""),
        "closed_at": case.closed_at,
        "next_text": st.NEXT_STEP_TEXT[status],
        "owners": owners(case),
        "actions": actions,
        "channel": case.channel_id,
        "card_ts": case.card_ts,
        "delivery_error": case.delivery_error,
        # issue 14 hook: category, the earlier case this may repeat, the one it joined
        "category": case.category,
        "recurrence": case.recurrence,
        "linked_to": case.linked_to_id,
    }
    # --- step clocks (issue 12): every clock still running, and overdue if any has passed
    vm["clocks"] = clock_views(case, now)
    vm["overdue"] = vm["overdue"] or any(c["overdue"] for c in vm["clocks"])
    # --- end of step clocks ---
    if with_timeline:
        vm["timeline"] = [event_view(e) for e in case.events]
        vm["reports"] = [
            {
                "kind": r.kind,
                "version": r.version,
                "data": r.data,
                "author": r.author,
                "at": r.created_at,
            }
            for r in case.reports
        ]
        vm["lot_checks"] = [
            {
                "lot": lc.lot,
                "quantity": lc.quantity_inspected,
                "result": lc.result,
                "at": lc.at,
                "by": lc.by,
                "loop": lc.loop,
            }
            for lc in case.lot_checks
        ]
    return vm


def report_version(case: Case) -> str:
    """The improvement report's version: its corrective and preventive report versions,
    "2.1" = corrective action v2 with preventive action v1. A new version of either makes a
    new report version, and it names exactly what management approved and what was sent.
    (Needs the case's reports loaded; the card, which has not, shows no version.)"""
    ca, pa = case.latest_report("corrective"), case.latest_report("preventive")
    return f"{ca.version if ca else 0}.{pa.version if pa else 0}"


def owners(case: Case) -> list[str]:
    out = []
    for target in st.NEXT_OWNER[Status(case.status)]:
        if target == "reporter":
            out.append(f"user:{case.reporter_id}")
        elif target == "units":
            out.extend(f"unit:{u}" for u in case.units or [])
        else:
            out.append(target)
    return out


EVENT_TITLES = {
    "filed": "filed the complaint",
    "confirm_information": "confirmed the information is complete",
    "request_information": "asked for more information",
    "provide_information": "added information",
    "decide_responsibility": "decided responsibility",
    "confirm_customer_informed": "confirmed the customer was informed — case closed",
    "classify_severity": "classified severity",
    "record_containment": "recorded containment",
    "submit_corrective_action": "submitted the corrective-action report",
    "submit_preventive_action": "submitted the preventive-action report",
    "approve_report": "approved the improvement report",
    "reject_report": "rejected the improvement report",
    "send_to_customer": "sent the approved report to the customer",
    "record_customer_acceptance": "recorded the customer's answer",
    "record_lot_check": "recorded a lot check",
    "close_case": "closed and archived the case",
    "reopen_case": "reopened the case",
    "comment": "wrote",
    "delivery_failed": "could not deliver a Slack message",
    # issue 14
    "link_recurrence": "linked this complaint to the earlier case's investigation",
    "recurrence_linked": "a later complaint joined this investigation",
    "investigation_shared": "took the report of the investigation this complaint joined",
}


def event_view(e: CaseEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        "kind": e.kind,
        "title": EVENT_TITLES.get(e.kind, e.kind),
        "actor": e.actor,
        "at": e.at,
        "data": e.data or {},
    }


LABELS = {
    "severity": st.SEVERITIES,
    "category": st.CAUSE_CATEGORIES,
    "disposition": st.DISPOSITIONS,
    "documents": st.DOCUMENTS,
    "closure": st.CLOSURE,
    "via": RECEIVED_VIA,
    "send_method": st.SEND_METHODS,
    # issue 14: the default categories (English); the handlers use COMPLAINT_CATEGORIES
    "complaint_category": {code: en for code, en, _zh in DEFAULT_CATEGORY_LIST},
}
