"""Plain view-models of a case for the renderers in `blocks/` (which never touch the DB)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.config import DEFAULT_CATEGORIES, parse_categories
from bot.models import Case, CaseEvent, Status
from bot.workflow import steps as st
from bot.workflow.clocks import clock_views
from bot.workflow.intake import RECEIVED_VIA
from bot.workflow.rework import approval_summary
from bot.workflow.states import CLOCK_NAMES
from bot.workflow.steps import report_version

__all__ = ["EVENT_TITLES", "LABELS", "case_view", "event_view", "owners", "report_version"]

DEFAULT_CATEGORY_LIST = parse_categories(DEFAULT_CATEGORIES, [])


def case_view(
    case: Case, now: datetime | None = None, *, with_timeline: bool = False
) -> dict[str, Any]:
    """The case as the renderers see it. Words are English msgids (steps.STATES, the
    option tables); blocks/ translates them at render time."""
    status = Status(case.status)
    state = st.STATES[status]
    main = st.main_step(case)
    vm: dict[str, Any] = {
        "id": case.id,
        "ref": case.ref,
        "step": case.step,
        "status": status.value,
        "status_label": state.label,
        "is_open": status.is_open,
        "customer": case.customer,
        "product": case.product,
        "lots": case.lots,
        "quantity": case.quantity,
        # issue 12(3d), 3(e): product or service; who speaks to the customer, by when
        "complaint_kind": case.complaint_kind or "product",
        "contact_window": case.contact_window,
        "contact_by": case.contact_by.isoformat() if case.contact_by else None,
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
        "severity_label": st.SEVERITIES.get(case.severity or "", ""),
        "severity_text": st.SEVERITY_TEXT.get(case.severity or "", ""),
        # (name msgid, due) of each running clock, soonest first
        "deadlines": [
            (CLOCK_NAMES.get(d.what, d.what), d.due_at) for d in case.running_deadlines(now)
        ],
        "ca_due_at": None if case.ca_done_at else case.ca_due_at,
        "pa_due_at": None if case.pa_done_at else case.pa_due_at,
        "ca_done_at": case.ca_done_at,
        "pa_done_at": case.pa_done_at,
        "overdue": bool(now and case.is_overdue(now)),
        "rework_count": case.rework_count,
        "report_version": report_version(case) if "reports" in case.__dict__ else None,
        "clean_lots": case.clean_lots,
        "clean_lots_needed": st.CLEAN_LOTS_TO_CLOSE,
        "approved_by": case.approved_by,
        "approved_at": case.approved_at,
        "closure": case.closure,
        "closure_label": st.CLOSURE.get(case.closure or "", ""),
        "closed_at": case.closed_at,
        "next_text": state.next_text,
        "owners": owners(case),
        # the buttons for the steps that exist now, the main next step first and primary
        "actions": [
            {
                "name": s.name,
                "label": s.label,
                "style": "primary" if s is main else ("danger" if s.danger else None),
                "confirm": s.confirm,
            }
            for s in st.available_steps(case)
        ],
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
    # issue 12(3f): what a manager is asked to sign (when the reports are loaded)
    vm["approval"] = approval_summary(case) if "reports" in case.__dict__ else None
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


EVENT_TITLES = st.EVENT_TITLES


def event_view(e: CaseEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        "kind": e.kind,
        "title": EVENT_TITLES.get(e.kind, e.kind),
        # what its post shows: (data key, label msgid, format, option table)
        "shows": [(x.key, x.label, x.fmt.value, x.table) for x in st.shows(e.kind)],
        "actor": e.actor,
        "at": e.at,
        "data": e.data or {},
    }


# the option tables the renderers translate recorded values with; issue 14: the default
# categories (the handlers use COMPLAINT_CATEGORIES)
LABELS = {**st.TABLES, "complaint_category": {code: en for code, en, _zh in DEFAULT_CATEGORY_LIST}}
