"""The procedure's steps (PROCEDURE.md, Flow 1–8), each declared once.

A `Step` is this project's django-fsm `@transition`: the states it starts from and the
state(s) it leads to, who may take it, its form (fields and their checks), its words
(button, modal title and submit, the event's title, what its thread post shows), its
confirm dialog when it has no form, and its effects beyond the card and thread post.
`Desk.take` (bot/workflow/procedure.py) runs any step in one shape; the modal, the card's
buttons, the thread post and the timeline read the declaration.

Adding a step: one `Step(...)` in `STEPS` below (with its `apply`), plus its Chinese in
bot/locale/zh_CN/LC_MESSAGES/messages.po. A new state also needs its `Status` member
(bot/models/case.py) and its row in `STATES` (bot/workflow/states.py); a new option
table goes in bot/workflow/options.py. What a declaration is made of (`Step`, `Move`,
`Show`, `Effect`) is in bot/workflow/transition.py.

Every word here is an English msgid marked with `N_`; renderers translate with `_()`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from bot.i18n import N_, _
from bot.models import Case, LotCheck, Status
from bot.workflow import lots
from bot.workflow.actions import EXTRA_ACTIONS, action_items
from bot.workflow.fields import DateRule, Field, Kind
from bot.workflow.intake import INTAKE
from bot.workflow.options import (
    CAUSE_CATEGORIES,
    CLEAN_LOTS_TO_CLOSE,
    CLOSURE,
    DISPOSITIONS,
    DOCUMENTS,
    SEND_METHODS,
    SEVERITIES,
    SEVERITY_TEXT,
    STOCK_PLACES,
    TABLES,
)
from bot.workflow.roles import Actor, Role
from bot.workflow.states import NEXT_OWNER, NEXT_STEP_TEXT, STATES, STATUS_LABEL, State
from bot.workflow.transition import Effect, Fmt, Move, Show, Step, validate

# the names other modules read from here
__all__ = [
    "CAUSE_CATEGORIES",
    "CLEAN_LOTS_TO_CLOSE",
    "CLOSURE",
    "DISPOSITIONS",
    "DOCUMENTS",
    "EVENT_TITLES",
    "NEXT_OWNER",
    "NEXT_STEP_TEXT",
    "SEND_METHODS",
    "SEVERITIES",
    "SEVERITY_TEXT",
    "STATES",
    "STATUS_LABEL",
    "STEPS",
    "TABLES",
    "Effect",
    "Move",
    "State",
    "Step",
    "available_steps",
    "main_step",
    "report_version",
    "shows",
    "validate",
]

S = Status
F, K = Field, Kind

# --- who -------------------------------------------------------------------------------


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


TQ_TEXT = N_("Technical Quality")
UNIT_TEXT = N_("the responsible unit or Technical Quality")


def _step(
    name: str,
    sources: set[Status],
    targets: set[Status],
    who: Callable[[Actor, Case], bool],
    who_text: str,
    **kw: Any,
) -> Step:
    return Step(
        name=name,
        sources=frozenset(sources),
        targets=frozenset(targets),
        who=who,
        who_text=who_text,
        main_in=frozenset(kw.pop("main_in", set())),
        **kw,
    )


# --- checks and changes of the steps that need more than their fields -----------------


def _check_responsibility(
    d: dict[str, Any], e: dict[str, str], c: Case, units: tuple[str, ...]
) -> dict[str, Any]:
    if d["party"] == "ours":
        if not d["units"]:
            e["units"] = _("Name at least one responsible unit.")
        elif any(u not in units for u in d["units"]):
            e["units"] = _("Unknown unit.")
    else:
        d["units"] = []
    return d


def _check_containment(
    d: dict[str, Any], e: dict[str, str], c: Case, units: tuple[str, ...]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for where in STOCK_PLACES:
        qty = d[f"{where}_qty"]
        disp = d[f"{where}_disposition"] or ("none" if qty == 0 else "")
        if qty and disp not in DISPOSITIONS:
            e[f"{where}_disposition"] = _("Choose what happens to this stock.")
        out[where] = {"quantity": qty, "disposition": disp}
    out["actions"] = d["actions"]
    return out


def _check_corrective(
    d: dict[str, Any], e: dict[str, str], c: Case, units: tuple[str, ...]
) -> dict[str, Any]:
    # issue 12(3j): each action its own owner and date (bot/workflow/actions.py)
    rows = {k: d.pop(k) for k in list(d) if k.rpartition("_")[2].isdigit()}
    raw = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in rows.items()}
    planned = d["planned"].isoformat() if isinstance(d["planned"], date) else d["planned"]
    first = {"text": d["actions"], "owner": d["owner"], "planned": planned}
    items = action_items(raw, date.min, e, first)  # the fields checked the dates already
    return {
        **d,
        "why": [w.strip() for w in d["why"].splitlines() if w.strip()],
        "action_items": items,
    }


def _check_preventive(
    d: dict[str, Any], e: dict[str, str], c: Case, units: tuple[str, ...]
) -> dict[str, Any]:
    measures = {k: d.pop(f"m_{k}") for k in CAUSE_CATEGORIES}
    if not any(measures.values()):
        e["m_method"] = _(
            "Give a concrete measure for at least one direction: people, machine, material, "
            "method or environment."
        )
    return {"measures": {k: v for k, v in measures.items() if v}, **d}


def _check_answer(
    d: dict[str, Any], e: dict[str, str], c: Case, units: tuple[str, ...]
) -> dict[str, Any]:
    accepted = d["accepted"] == "yes"
    if not accepted and not d["note"]:
        e["note"] = _("Please fill this in.")
    return {"accepted": accepted, "note": d["note"]}


def _check_close(
    d: dict[str, Any], e: dict[str, str], c: Case, units: tuple[str, ...]
) -> dict[str, Any]:
    if d["criterion"] == "A" and not d["evidence"]:
        e["evidence"] = _("Please fill this in.")
    # issue 12(3b): criterion A also records no negative effect on quality (procedure A)
    if d["criterion"] == "A" and not d["no_negative_impact"]:
        e["no_negative_impact"] = _(
            "Closing on actions shown to work needs them to have had no negative effect on quality."
        )
    if d["criterion"] == "B" and c.clean_lots < CLEAN_LOTS_TO_CLOSE:
        e["criterion"] = _(
            "Closing on three clean lots needs {needed} lots in a row without the problem; "
            "{done} recorded since the last countermeasures.",
            needed=CLEAN_LOTS_TO_CLOSE,
            done=c.clean_lots,
        )
    return d


def _check_informed(
    d: dict[str, Any], e: dict[str, str], c: Case, units: tuple[str, ...]
) -> dict[str, Any]:
    # issue 12(3c): a dispute says what the customer objects to
    if d["reaction"] == "disputed" and not d["words"]:
        e["words"] = _("Please give what the customer said.")
    return d


def _to(status: Status) -> Callable[[Move], Status]:
    return lambda m: status


def _confirm_information(m: Move) -> Status:
    m.case.category = m.data["category"]  # issue 14: the taxonomy
    return S.RESPONSIBILITY


def _provide_information(m: Move) -> Status:
    m.case.notes = (m.case.notes + "\n\n" if m.case.notes else "") + m.data["info"]
    return S.RECEIVED


def _decide_responsibility(m: Move) -> Status:
    c, d = m.case, m.data
    c.responsibility, c.responsibility_reason, c.units = d["party"], d["reason"], d["units"]
    return S.SEVERITY if d["party"] == "ours" else S.CUSTOMER_NOTICE


def _confirm_customer_informed(m: Move) -> Status:
    c = m.case
    if m.data["reaction"] == "disputed":  # issue 12(3c): back to the responsibility decision
        c.responsibility = None
        m.clocks.restart(c, m.now)
        m.data["reopened"] = "disputed"  # the thread says why (options.REOPENED)
        return S.RESPONSIBILITY
    c.closure, c.closed_at, c.closed_by = "not_ours", m.now, m.actor.user_id
    c.ca_done_at = c.pa_done_at = m.now
    m.data["criterion"] = "not_ours"
    return S.CLOSED


def _classify_severity(m: Move) -> Status:
    m.case.severity = m.data["severity"]
    return S.CONTAINMENT


def _record_containment(m: Move) -> Status:
    m.add_report("containment")
    m.case.containment_at = m.now
    return S.CORRECTIVE


def _submit_corrective_action(m: Move) -> Status:
    m.add_report("corrective")
    if m.case.ca_done_at is None:
        m.case.ca_done_at = m.now
    status = Status(m.case.status)
    return S.PREVENTIVE if status is S.CORRECTIVE else status


def _submit_preventive_action(m: Move) -> Status:
    m.add_report("preventive")
    if m.case.pa_done_at is None:
        m.case.pa_done_at = m.now
    return S.APPROVAL


def _approve_report(m: Move) -> Status:
    c = m.case
    c.approved_by, c.approved_at = m.actor.user_id, m.now
    ca, pa = c.latest_report("corrective"), c.latest_report("preventive")
    m.data["corrective_version"] = ca.version if ca else None
    m.data["preventive_version"] = pa.version if pa else None
    # issue 12(3f): what was approved includes the defective lot's disposition
    m.data["disposition"] = (ca.data or {}).get("disposition") if ca else None
    m.data["signature"] = f"approved by {m.actor.user_id} at {m.now.isoformat()}"
    return S.APPROVED


def _reject_report(m: Move) -> Status:
    m.rework()
    return S.CORRECTIVE


def _send_to_customer(m: Move) -> Status:
    m.data["sent_on"] = m.data["sent_on"] or m.clocks.today(m.now).isoformat()
    m.data["version"] = report_version(m.case)
    m.case.sent_at = m.now
    return S.CUSTOMER_REVIEW


def _record_customer_acceptance(m: Move) -> Status:
    if m.data["accepted"]:
        m.case.accepted_at = m.now
        return S.VERIFICATION
    m.rework()
    return S.CORRECTIVE


def _record_lot_check(m: Move) -> Status:
    c, d = m.case, m.data
    skip = lots.why_not_counted(c, d["lot"])  # issue 12(3a), before adding it
    c.lot_checks.append(
        LotCheck(
            case_id=c.id,
            lot=d["lot"],
            quantity_inspected=d["quantity"],
            result=d["result"],
            notes=d["notes"],
            at=m.now,
            by=m.actor.user_id,
            loop=c.rework_count,
        )
    )
    if d["result"] == "same_problem":
        d["effective"] = False
        m.rework()
        return S.CORRECTIVE
    c.clean_lots = lots.clean_lots(c)  # distinct lots, the complained ones aside
    d["clean_lots"] = c.clean_lots
    if skip:
        d["not_counted"] = skip
    return S.VERIFICATION


def _close_case(m: Move) -> Status:
    c = m.case
    c.closure, c.closed_at, c.closed_by = m.data["criterion"], m.now, m.actor.user_id
    m.data.update(clean_lots=c.clean_lots, archived=True)
    return S.CLOSED


def _reopen_case(m: Move) -> Status:
    c = m.case
    m.data["previous_closure"] = c.closure
    c.closure = c.closed_at = c.closed_by = None
    if c.responsibility != "ours":
        c.responsibility = None
        m.clocks.restart(c, m.now)
        return S.RESPONSIBILITY
    m.rework()
    return S.CORRECTIVE


def report_version(case: Case) -> str:
    """The improvement report's version: its corrective and preventive report versions,
    "2.1" = corrective action v2 with preventive action v1. A new version of either makes a
    new report version, and it names exactly what management approved and what was sent.
    (Needs the case's reports loaded; the card, which has not, shows no version.)"""
    ca, pa = case.latest_report("corrective"), case.latest_report("preventive")
    return f"{ca.version if ca else 0}.{pa.version if pa else 0}"


# --- the steps ---------------------------------------------------------------------------

NOTE = F("note", N_("Note"), K.LONG, required=False)
# issue 12(3j): corrective actions after the first, each with its own owner and date
MORE_ACTIONS = tuple(
    f
    for n in range(2, 2 + EXTRA_ACTIONS)
    for f in (
        F(f"action_{n}", N_("Further corrective action (optional)"), K.LONG, required=False),
        F(f"owner_{n}", N_("Its owner"), K.USER, required=False, limit=32),
        F(f"planned_{n}", N_("Its planned completion"), K.DATE, required=False),
    )
)
LONG = Kind.LONG
EDITABLE_CA = {S.PREVENTIVE, S.APPROVAL}

STEPS: dict[str, Step] = {
    s.name: s
    for s in [
        # --- flow step 1: is the record complete? --------------------------------------
        _step(
            "confirm_information",
            {S.RECEIVED, S.INFO_REQUESTED},
            {S.RESPONSIBILITY},
            _tq,
            TQ_TEXT,
            label=N_("Information complete"),
            event=N_("confirmed the information is complete"),
            apply=_confirm_information,
            # issue 14: Technical Quality files the complaint under a category
            fields=(
                F(
                    "category",
                    N_("Complaint category"),
                    K.CHOICE,
                    options="complaint_category",
                    missing=N_("Choose the complaint category."),
                ),
                NOTE,
            ),
            title=N_("Information complete"),
            submit=N_("Confirm"),
            intro=N_(
                "The complaint record is complete and sufficient to start: customer, "
                "product, lot, quantity, defect, evidence."
            ),
            main_in={S.RECEIVED},
            shows=(
                Show("category", N_("Category"), Fmt.OPTION, "complaint_category"),
                Show("note", N_("Note")),
            ),
        ),
        _step(
            "request_information",
            {S.RECEIVED},
            {S.INFO_REQUESTED},
            _tq,
            TQ_TEXT,
            label=N_("Ask for more info"),
            event=N_("asked for more information"),
            apply=_to(S.INFO_REQUESTED),
            fields=(F("missing", N_("What is missing?"), LONG),),
            title=N_("More information"),
            submit=N_("Ask"),
            shows=(Show("missing", N_("Missing")),),
        ),
        _step(
            "provide_information",
            {S.INFO_REQUESTED},
            {S.RECEIVED},
            _mkt_or_tq,
            N_("Marketing or the reporter"),
            label=N_("Add information"),
            event=N_("added information"),
            apply=_provide_information,
            fields=(F("info", N_("The information the customer gave"), LONG),),
            title=N_("Add information"),
            submit=N_("Add"),
            main_in={S.INFO_REQUESTED},
            shows=(Show("info", N_("Information")),),
        ),
        # --- flow steps 2–3: whose fault? ------------------------------------------------
        _step(
            "decide_responsibility",
            {S.RESPONSIBILITY},
            {S.SEVERITY, S.CUSTOMER_NOTICE},
            _tq,
            TQ_TEXT,
            label=N_("Decide responsibility"),
            event=N_("decided responsibility"),
            apply=_decide_responsibility,
            fields=(
                F("party", N_("Who is responsible?"), K.RADIO, options="party"),
                F("units", N_("Responsible unit(s), if ours"), K.UNITS, required=False),
                F("reason", N_("Reason (objective: what the samples and photos show)"), LONG),
            ),
            check=_check_responsibility,
            title=N_("Responsibility"),
            submit=N_("Decide"),
            main_in={S.RESPONSIBILITY},
            shows=(
                Show("party", N_("Responsible"), Fmt.OPTION, "party"),
                Show("units", N_("Units")),
                Show("reason", N_("Reason")),
            ),
        ),
        # issue 12(3c): what Marketing told the customer and how the customer took it
        _step(
            "confirm_customer_informed",
            {S.CUSTOMER_NOTICE},
            {S.CLOSED, S.RESPONSIBILITY},
            _mkt,
            N_("Marketing"),
            label=N_("Customer informed"),
            event=N_("recorded what the customer was told and how they took it"),
            apply=_confirm_customer_informed,
            fields=(
                F("told", N_("What the customer was told"), LONG),
                F(
                    "reaction",
                    N_("How did the customer take it?"),
                    K.RADIO,
                    options="customer_reaction",
                ),
                F("words", N_("The customer's words (needed if disputed)"), LONG, required=False),
            ),
            check=_check_informed,
            title=N_("Customer informed"),
            submit=N_("Record"),
            intro=N_(
                "Tell the customer tactfully that it is not our responsibility. If they accept, "
                "the case closes; if they dispute it, Technical Quality decides again."
            ),
            main_in={S.CUSTOMER_NOTICE},
            shows=(
                Show("told", N_("Told the customer")),
                Show("reaction", N_("Customer"), Fmt.OPTION, "customer_reaction"),
                Show("words", N_("Customer's words")),
                Show("reopened", N_("Why it is open again"), Fmt.OPTION, "reopened"),
            ),
        ),
        # --- flow step 4: severity, containment, the reports -----------------------------
        _step(
            "classify_severity",
            {S.SEVERITY},
            {S.CONTAINMENT},
            _tq,
            TQ_TEXT,
            label=N_("Classify severity"),
            event=N_("classified severity"),
            apply=_classify_severity,
            fields=(
                F("severity", N_("Severity"), K.CHOICE, options="severity"),
                F("note", N_("Why (agreed with Marketing)"), LONG, required=False),
            ),
            title=N_("Severity"),
            submit=N_("Classify"),
            explain="severity_text",
            main_in={S.SEVERITY},
            effects=(Effect.ALERT_SEVERITY_A,),
            shows=(
                Show("severity", N_("Severity"), Fmt.OPTION, "severity"),
                Show("note", N_("Why")),
            ),
        ),
        _step(
            "record_containment",
            {S.CONTAINMENT},
            {S.CORRECTIVE},
            _unit,
            UNIT_TEXT,
            label=N_("Immediate containment"),
            event=N_("recorded the immediate containment"),
            apply=_record_containment,
            fields=(
                *(
                    f
                    for where, place in STOCK_PLACES.items()
                    for f in (
                        F(f"{where}_qty", place, K.COUNT, required=False, limit=12),
                        F(
                            f"{where}_disposition",
                            N_("What is done with it"),
                            K.CHOICE,
                            required=False,
                            options="disposition",
                        ),
                    )
                ),
                F("actions", N_("Immediate containment actions"), LONG),
            ),
            check=_check_containment,
            title=N_("Immediate containment"),
            submit=N_("Record"),
            intro=N_(
                "Affected stock, by where it is: in our warehouse, on the way, at the "
                "customer. Give the quantity and what is done with it."
            ),
            main_in={S.CONTAINMENT},
            shows=(
                Show("stock", N_("Stock"), Fmt.STOCK, "stock_places"),
                Show("actions", N_("Immediate actions")),
            ),
        ),
        _step(
            "submit_corrective_action",
            {S.CORRECTIVE} | EDITABLE_CA,
            {S.PREVENTIVE} | EDITABLE_CA,
            _unit,
            UNIT_TEXT,
            label=N_("Corrective action"),
            event=N_("submitted the corrective-action report"),
            apply=_submit_corrective_action,
            fields=(
                F(
                    "category",
                    N_("Root cause: people, machine, material, method or environment"),
                    K.CHOICE,
                    options="category",
                ),
                F(
                    "why",
                    N_("Why did it happen? Ask why again for each answer (one per line)"),
                    LONG,
                ),
                F("escape", N_("Why the defect was not caught"), LONG, required=False),
                F(
                    "disposition",
                    N_("What is done with the defective lot"),
                    K.CHOICE,
                    options="disposition",
                ),
                F("actions", N_("Corrective actions"), LONG),
                F("owner", N_("Action owner"), K.USER, limit=32),
                F(
                    "planned",
                    N_("Planned completion"),
                    K.DATE,
                    dates=DateRule.NOT_PAST,
                    missing=N_("Give the planned completion date."),
                ),
                *MORE_ACTIONS,
            ),
            check=_check_corrective,
            report="corrective",  # issue 12(3g): reworked from the latest version
            title=N_("Corrective action"),
            submit=N_("Submit report"),
            intro=N_(
                "Corrective action: remove the cause so it does not happen again, and say "
                "what is done with the defective lot."
            ),
            main_in={S.CORRECTIVE},
            shows=(
                Show("version", N_("Version")),
                Show("category", N_("Root cause"), Fmt.OPTION, "category"),
                Show("why", N_("Why"), Fmt.WHYS),
                Show("disposition", N_("Defective lot"), Fmt.OPTION, "disposition"),
                Show("actions", N_("Actions")),
                Show("owner", N_("Owner"), Fmt.USER),
                Show("planned", N_("Planned completion"), Fmt.DATE),
                Show("action_items", N_("Further actions"), Fmt.ACTIONS),
            ),
        ),
        _step(
            "submit_preventive_action",
            EDITABLE_CA,
            {S.APPROVAL},
            _unit,
            UNIT_TEXT,
            label=N_("Preventive action"),
            event=N_("submitted the preventive-action report"),
            apply=_submit_preventive_action,
            fields=(
                *(
                    F(f"m_{k}", label, LONG, required=False)
                    for k, label in CAUSE_CATEGORIES.items()
                ),
                F(
                    "documents",
                    N_("Documents standardised"),
                    K.MULTI,
                    options="documents",
                    missing=N_("Which documents are standardised? (the aim is standardisation)"),
                ),
                F(
                    "revisions",
                    N_("Document numbers and revisions (e.g. WI-023 rev C)"),
                    required=False,
                    limit=500,
                ),
                NOTE,
            ),
            check=_check_preventive,
            report="preventive",  # issue 12(3g): reworked from the latest version
            title=N_("Preventive action"),
            submit=N_("Submit report"),
            intro=N_(
                "Preventive action: a concrete measure for each direction that applies, no "
                "vague wording, aiming at standardisation."
            ),
            main_in={S.PREVENTIVE},
            effects=(Effect.ASK_APPROVAL,),
            shows=(
                Show("version", N_("Version")),
                Show("measures", N_("Measures"), Fmt.MEASURES, "category"),
                Show("documents", N_("Standardised"), Fmt.OPTION, "documents"),
            ),
        ),
        # --- flow step 5: approval ---------------------------------------------------------
        _step(
            "approve_report",
            {S.APPROVAL},
            {S.APPROVED},
            _mgmt,
            N_("Management"),
            label=N_("Approve"),
            event=N_("approved the improvement report"),
            apply=_approve_report,
            fields=(NOTE,),
            confirm=(
                N_("Approve the report?"),
                N_("Your approval is recorded with your name and the time, like a signature."),
            ),
            main_in={S.APPROVAL},
            effects=(Effect.UPLOAD_REPORT, Effect.CLOSE_APPROVAL_DMS),
            shows=(
                Show("corrective_version", N_("Corrective action version")),
                Show("preventive_version", N_("Preventive action version")),
                Show("disposition", N_("Defective lot"), Fmt.OPTION, "disposition"),
                Show("note", N_("Note")),
            ),
        ),
        _step(
            "reject_report",
            {S.APPROVAL},
            {S.CORRECTIVE},
            _mgmt,
            N_("Management"),
            label=N_("Reject"),
            event=N_("rejected the improvement report"),
            apply=_reject_report,
            fields=(
                F("reason", N_("Why is it rejected? (goes back to the responsible unit)"), LONG),
            ),
            title=N_("Reject report"),
            submit=N_("Reject"),
            danger=True,
            effects=(Effect.CLOSE_APPROVAL_DMS,),
            shows=(Show("reason", N_("Reason")),),
        ),
        _step(
            "send_to_customer",
            {S.APPROVED},
            {S.CUSTOMER_REVIEW},
            _tq,
            TQ_TEXT,
            label=N_("Sent to customer"),
            event=N_("sent the approved report to the customer"),
            apply=_send_to_customer,
            fields=(
                F("method", N_("How did it go to the customer?"), K.RADIO, options="send_method"),
                F(
                    "sent_on",
                    N_("Sent on (empty: today)"),
                    K.DATE,
                    required=False,
                    dates=DateRule.NOT_FUTURE,
                ),
                F("note", N_("Note (e.g. to whom)"), required=False, limit=500),
            ),
            title=N_("Sent to customer"),
            submit=N_("Record"),
            intro=N_(
                "Improvement report version {report_version} (corrective.preventive) is "
                "recorded as the one that went out."
            ),
            main_in={S.APPROVED},
            needs_reports=True,
            shows=(
                Show("version", N_("Report version")),
                Show("method", N_("How"), Fmt.OPTION, "send_method"),
                Show("sent_on", N_("Sent on"), Fmt.DATE),
                Show("note", N_("Note")),
            ),
        ),
        # --- flow steps 6–8: the customer, verification, closure ---------------------------
        _step(
            "record_customer_acceptance",
            {S.CUSTOMER_REVIEW},
            {S.VERIFICATION, S.CORRECTIVE},
            _mkt_or_tq,
            N_("Marketing or Technical Quality"),
            label=N_("Customer's answer"),
            event=N_("recorded the customer's answer"),
            apply=_record_customer_acceptance,
            fields=(
                F(
                    "accepted",
                    N_("Did the customer accept the report?"),
                    K.RADIO,
                    required=False,
                    options="answer",
                ),
                F("note", N_("Customer's words"), LONG, required=False),
            ),
            check=_check_answer,
            title=N_("Customer's answer"),
            submit=N_("Record"),
            main_in={S.CUSTOMER_REVIEW},
            shows=(
                Show("accepted", N_("Customer"), Fmt.OPTION, "answer"),
                Show("note", N_("Note")),
            ),
        ),
        _step(
            "record_lot_check",
            {S.VERIFICATION},
            {S.VERIFICATION, S.CORRECTIVE},
            _tq,
            TQ_TEXT,
            label=N_("Record lot check"),
            event=N_("recorded a lot check"),
            apply=_record_lot_check,
            fields=(
                F("lot", N_("Lot number"), limit=200),
                F("quantity", N_("Quantity inspected"), K.COUNT, positive=True, limit=12),
                F("result", N_("Result"), K.RADIO, options="lot_result"),
                F("notes", N_("Notes"), LONG, required=False),
            ),
            title=N_("Lot check"),
            submit=N_("Record lot"),
            intro=N_(
                "Clean lots since the last countermeasures: {clean_lots} of {clean_lots_needed}."
            ),
            main_in={S.VERIFICATION},
            shows=(
                Show("lot", N_("Lot")),
                Show("quantity", N_("Inspected"), Fmt.NUMBER),
                Show("result", N_("Result"), Fmt.OPTION, "lot_result"),
                Show("clean_lots", N_("Clean lots")),
                Show("not_counted", N_("Three lots in a row"), Fmt.NOT_COUNTED),
            ),
        ),
        _step(
            "close_case",
            {S.VERIFICATION},
            {S.CLOSED},
            _tq,
            TQ_TEXT,
            label=N_("Close case"),
            event=N_("closed and archived the case"),
            apply=_close_case,
            fields=(
                F("criterion", N_("Why it can close"), K.CHOICE, options="closure_choice"),
                F(
                    "evidence",
                    N_("Evidence that it works (needed for the first)"),
                    LONG,
                    required=False,
                ),
                # issue 12(3b): criterion A records that quality was not harmed
                F(
                    "no_negative_impact",
                    N_("If the actions are shown to work: no negative effect on quality"),
                    K.FLAG,
                    required=False,
                    options="no_harm",
                ),
            ),
            check=_check_close,
            title=N_("Close case"),
            submit=N_("Close case"),
            effects=(Effect.UPLOAD_ARCHIVE,),
            shows=(
                Show("criterion", N_("Closed because"), Fmt.OPTION, "closure"),
                Show("evidence", N_("Evidence")),
                Show("no_negative_impact", N_("No negative effect on quality"), Fmt.FLAG),
            ),
        ),
        _step(
            "reopen_case",
            {S.CLOSED},
            {S.RESPONSIBILITY, S.CORRECTIVE},
            _tq,
            TQ_TEXT,
            label=N_("Reopen (recurrence)"),
            event=N_("reopened the case"),
            apply=_reopen_case,
            fields=(F("reason", N_("What recurred?"), LONG),),
            title=N_("Reopen case"),
            submit=N_("Reopen"),
            danger=True,
            shows=(Show("reason", N_("Reason")),),
        ),
    ]
}

# events that are not steps: their title and what their post shows
OTHER_EVENTS: dict[str, tuple[str, tuple[Show, ...]]] = {
    "filed": (
        N_("filed the complaint"),
        tuple(
            Show(
                i.field.key,
                i.field.label,
                {
                    Kind.CHOICE: Fmt.OPTION,
                    Kind.COUNT: Fmt.NUMBER,
                    Kind.DATE: Fmt.DATE,
                    Kind.FLAG: Fmt.FLAG,
                    Kind.RADIO: Fmt.OPTION,  # issue 12(3e): product or service
                    Kind.USER: Fmt.USER,  # issue 12(3d): who speaks to the customer
                }.get(i.field.kind, Fmt.TEXT),
                i.field.options,
            )
            for i in INTAKE
            if i.recorded
        ),
    ),
    "comment": (N_("wrote"), (Show("text", N_("Text")),)),
    "delivery_failed": (N_("could not deliver a Slack message"), (Show("error", N_("Error")),)),
    # issue 14: recurrences sharing one investigation
    "link_recurrence": (N_("linked this complaint to the earlier case's investigation"), ()),
    "recurrence_linked": (N_("a later complaint joined this investigation"), ()),
    "investigation_shared": (N_("took the report of the investigation this complaint joined"), ()),
}
EVENT_TITLES: dict[str, str] = {
    **{n: s.event for n, s in STEPS.items()},
    **{k: title for k, (title, _shows) in OTHER_EVENTS.items()},
}


def shows(kind: str) -> tuple[Show, ...]:
    """What the thread post and timeline show of an event of this kind."""
    step = STEPS.get(kind)
    return step.shows if step else OTHER_EVENTS.get(kind, ("", ()))[1]


def available_steps(case: Case) -> list[Step]:
    """The steps that exist now, the main one (the card's primary button) first."""
    status = Status(case.status)
    found = [s for s in STEPS.values() if status in s.sources]
    return sorted(found, key=lambda s: status not in s.main_in)


def main_step(case: Case) -> Step | None:
    status = Status(case.status)
    return next((s for s in STEPS.values() if status in s.main_in), None)
