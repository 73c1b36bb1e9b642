"""The whole procedure through signed HTTP requests and the fake Slack (issue: every step
on the case card). Each walk asserts the database, the audit trail, the card's buttons
and the thread posts."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from bot.models import LotCheck, Report
from tests.conftest import COMPLAINTS, DEV, MANAGEMENT, MGR, MGR2, MKT, OUTSIDER, PROD, TQ, TQ2
from tests.procedure import (
    card_buttons,
    case_now,
    ephemerals,
    events,
    take,
    thread_texts,
    walk_to_approval,
)
from tests.test_intake import file_complaint

CA = {
    "category": "machine",
    "why": "Bridges on U3\nStencil worn\nNo stencil life limit",
    "disposition": "sort",
    "actions": "Replace stencil; sort lots L0211-L0212",
    "owner": PROD,
    "planned": "2026-03-20",
}
PA = {
    "m_machine": "Stencil life counter with hard stop at 20k prints",
    "m_method": "Add SPI check of U3 area to control plan",
    "documents": ["control_plan", "work_instruction"],
}
CONTAIN = {
    "warehouse_qty": "800",
    "warehouse_disposition": "sort",
    "transit_qty": "200",
    "transit_disposition": "return",
    "customer_qty": "1200",
    "customer_disposition": "sort",
    "actions": "Hold all stock of lots L0211-L0212",
}


def test_customer_fault_complaint_closes_as_not_ours(running) -> None:
    r = running
    case = file_complaint(r)
    assert card_buttons(r, case) == ["step:confirm_information", "step:request_information"]
    take(r, TQ, case.id, "confirm_information", expect_modal=True)
    assert card_buttons(r, case_now(r, case.id)) == ["step:decide_responsibility"]
    take(
        r,
        TQ,
        case.id,
        "decide_responsibility",
        {"party": "customer", "reason": "Photos show mounting damage by the customer's jig"},
    )
    c = case_now(r, case.id)
    assert c.status == "customer_notice" and c.responsibility == "customer"
    assert card_buttons(r, c) == ["step:confirm_customer_informed"]
    # a TQ member cannot confirm what Marketing told the customer
    take(r, TQ2, case.id, "confirm_customer_informed")
    assert case_now(r, case.id).status == "customer_notice"
    assert any("Only Marketing" in t for t in ephemerals(r, TQ2))
    take(r, MKT, case.id, "confirm_customer_informed", expect_modal=True)
    c = case_now(r, case.id)
    assert c.status == "closed" and c.closure == "not_ours" and not c.is_open
    assert [e.kind for e in events(r, case.id)] == [
        "filed",
        "confirm_information",
        "decide_responsibility",
        "confirm_customer_informed",
    ]
    assert card_buttons(r, c) == ["step:reopen_case"]
    posts = thread_texts(r, c)
    # one post per step (the card told of the filing)
    assert len(posts) == 3 and "mounting damage" in posts[1] and "close the case" in posts[2]


def test_severity_a_through_rejection_rework_approval_and_three_clean_lots(running) -> None:
    r = running
    case = file_complaint(r, urgent=["urgent"])
    take(r, TQ, case.id, "confirm_information")
    take(
        r,
        TQ,
        case.id,
        "decide_responsibility",
        {"party": "ours", "units": ["production"], "reason": "Solder bridges: our process"},
    )
    take(r, TQ2, case.id, "classify_severity", {"severity": "A", "note": "Function lost"})
    c = case_now(r, case.id)
    assert c.severity == "A" and c.status == "containment"
    alerts = [x for x in r.fake.calls_to("chat.postMessage") if x.args["channel"] == MANAGEMENT]
    assert any("Severity A" in a.args["text"] for a in alerts)
    # a developer is not in the responsible unit
    take(r, DEV, case.id, "record_containment")
    assert case_now(r, case.id).status == "containment"
    take(r, PROD, case.id, "record_containment", CONTAIN)
    take(r, PROD, case.id, "submit_corrective_action", CA)
    take(r, PROD, case.id, "submit_preventive_action", PA)
    c = case_now(r, case.id)
    assert c.status == "approval" and c.ca_done_at and c.pa_done_at
    assert "step:approve_report" in card_buttons(r, c)
    dms = [x for x in r.fake.calls_to("chat.postMessage") if x.args["channel"] in (MGR, MGR2)]
    assert {d.args["channel"] for d in dms} == {MGR, MGR2}
    assert "step:approve_report" in json.dumps(dms[0].args["blocks"])
    # a production engineer cannot approve; a manager rejects with a reason
    take(r, PROD, case.id, "approve_report")
    assert case_now(r, case.id).status == "approval"
    take(r, MGR, case.id, "reject_report", {"reason": "Why-why stops too early"})
    c = case_now(r, case.id)
    assert c.status == "corrective" and c.rework_count == 1 and c.approved_by is None
    r.clock.advance(hours=1)
    take(r, PROD, case.id, "submit_corrective_action", {**CA, "why": CA["why"] + "\nNo PM"})
    take(r, PROD, case.id, "submit_preventive_action", PA)
    # approval straight from the manager's DM
    c = case_now(r, case.id)
    reply = r.client.click(MGR2, "step:approve_report", f"{c.id}:{c.step}", channel="D0MGR2")
    assert reply.status == 200
    r.settle()
    c = case_now(r, case.id)
    assert c.status == "approved" and c.approved_by == MGR2 and c.approved_at == r.clock.now
    take(r, TQ, case.id, "send_to_customer", {"method": "email"})
    take(r, MKT, case.id, "record_customer_acceptance", {"accepted": "yes", "note": "OK"})
    for n in range(3):
        take(
            r,
            TQ,
            case.id,
            "record_lot_check",
            {"lot": f"L03{n}", "quantity": "500", "result": "ok"},
        )
    c = case_now(r, case.id)
    assert c.clean_lots == 3 and c.status == "verification"
    take(r, TQ, case.id, "close_case", {"criterion": "B"})
    c = case_now(r, case.id)
    assert c.status == "closed" and c.closure == "B" and c.closed_by == TQ
    with r.desk.sessions() as s:
        versions = [
            (x.kind, x.version)
            for x in s.scalars(select(Report).where(Report.case_id == c.id).order_by(Report.id))
        ]
    assert versions == [
        ("containment", 1),
        ("corrective", 1),
        ("preventive", 1),
        ("corrective", 2),
        ("preventive", 2),
    ]
    kinds = [e.kind for e in events(r, case.id)]
    assert kinds == [
        "filed",
        "confirm_information",
        "decide_responsibility",
        "classify_severity",
        "record_containment",
        "submit_corrective_action",
        "submit_preventive_action",
        "reject_report",
        "submit_corrective_action",
        "submit_preventive_action",
        "approve_report",
        "send_to_customer",
        "record_customer_acceptance",
        "record_lot_check",
        "record_lot_check",
        "record_lot_check",
        "close_case",
    ]
    approval = events(r, case.id)[10]
    assert approval.actor == MGR2 and "approved by U0MGR2" in approval.data["signature"]
    posts = thread_texts(r, c)
    # one post per step (the card told of the filing); the approval's and the closure's
    # posts are the comments of their uploads: the approved report, then the archive
    thread = r.fake.thread(COMPLAINTS, c.card_ts)
    uploads = [m["files"] for m in thread if m.get("files")]
    assert len(posts) == len(kinds) - 1
    approved, closed = [m["text"] for m in thread if m.get("files")]
    assert f"<@{MGR2}> approved the improvement report" in approved
    assert "version 2.2 as approved" in approved and f"<@{TQ}>" in approved
    assert "closed" in closed.lower() and "Three lots in a row" in closed
    assert [[f["name"] for f in u] for u in uploads] == [
        ["CC-2026-0001-improvement-report-v2.2.pdf"],
        [
            "CC-2026-0001-improvement-report-v2.2.pdf",
            "CC-2026-0001-record.pdf",
            "CC-2026-0001-record.json",
        ],
    ]
    assert "Why-why stops too early" in posts[6] and f"<@{PROD}>" in posts[6]
    assert card_buttons(r, c) == ["step:reopen_case"]


def _to_verification(r, case) -> None:
    walk_to_approval(
        r,
        case.id,
        unit="development",
        member=DEV,
        reason="Design margin",
        containment="Nothing in stock",
        corrective={**CA, "owner": DEV},
        preventive=PA,
    )
    take(r, MGR, case.id, "approve_report")
    take(r, TQ, case.id, "send_to_customer", {"method": "email"})
    take(r, MKT, case.id, "record_customer_acceptance", {"accepted": "yes"})


def test_failed_lot_sends_back_then_closes_on_criterion_a(running) -> None:
    r = running
    case = file_complaint(r)
    _to_verification(r, case)
    take(r, TQ, case.id, "record_lot_check", {"lot": "L1", "quantity": "100", "result": "ok"})
    take(
        r,
        TQ,
        case.id,
        "record_lot_check",
        {"lot": "L2", "quantity": "100", "result": "same_problem", "notes": "2 bridges"},
    )
    c = case_now(r, case.id)
    assert c.status == "corrective" and c.rework_count == 1 and c.clean_lots == 0
    assert c.ca_due_at > r.clock.now and c.ca_done_at is None
    assert "actions not effective" in thread_texts(r, c)[-1]
    # closing with B is refused until three clean lots; criterion A needs evidence
    r.clock.advance(days=1)
    take(r, DEV, case.id, "submit_corrective_action", {**CA, "owner": DEV})
    take(r, DEV, case.id, "submit_preventive_action", PA)
    take(r, MGR, case.id, "approve_report")
    take(r, TQ, case.id, "send_to_customer", {"method": "email"})
    take(r, MKT, case.id, "record_customer_acceptance", {"accepted": "yes"})
    reply = take(r, TQ, case.id, "close_case", {"criterion": "B"})
    assert reply.json()["response_action"] == "errors" and "criterion" in reply.json()["errors"]
    reply = take(r, TQ, case.id, "close_case", {"criterion": "A"})
    assert "evidence" in reply.json()["errors"]
    take(
        r,
        TQ,
        case.id,
        "close_case",
        {
            "criterion": "A",
            "evidence": "Customer audit 2026-03-10: 0 defects in 3,000 pcs",
            "no_negative_impact": ["yes"],
        },
    )
    c = case_now(r, case.id)
    assert c.status == "closed" and c.closure == "A"
    with r.desk.sessions() as s:
        lots = list(s.scalars(select(LotCheck).where(LotCheck.case_id == c.id)))
    assert [(x.lot, x.result, x.loop) for x in lots] == [("L1", "ok", 0), ("L2", "same_problem", 0)]


def test_reopened_case_goes_back_for_new_countermeasures(running) -> None:
    r = running
    case = file_complaint(r)
    _to_verification(r, case)
    take(
        r,
        TQ,
        case.id,
        "close_case",
        {"criterion": "A", "evidence": "Verified at customer", "no_negative_impact": ["yes"]},
    )
    assert case_now(r, case.id).status == "closed"
    take(r, MKT, case.id, "reopen_case", {"reason": "recurred"})
    assert case_now(r, case.id).status == "closed"  # only TQ reopens
    r.clock.advance(days=7)
    take(r, TQ, case.id, "reopen_case", {"reason": "Same bridges in lot L0400"})
    c = case_now(r, case.id)
    assert c.status == "corrective" and c.is_open and c.closure is None
    assert c.rework_count == 1 and c.ca_due_at > r.clock.now
    assert card_buttons(r, c)[0] == "step:submit_corrective_action"
    ev = events(r, case.id)[-1]
    assert ev.kind == "reopen_case" and ev.data["previous_closure"] == "A"
    assert "Same bridges" in thread_texts(r, c)[-1]


def test_stale_button_and_outsider_change_nothing(running) -> None:
    r = running
    case = file_complaint(r)
    stale = f"{case.id}:{case.step}"
    take(r, TQ, case.id, "confirm_information")
    reply = r.client.click(TQ2, "step:confirm_information", stale)
    assert reply.status == 200
    r.settle()
    assert any("moved on" in t for t in ephemerals(r, TQ2))
    c = case_now(r, case.id)
    take(r, OUTSIDER, case.id, "decide_responsibility")
    assert any("Only Technical Quality" in t for t in ephemerals(r, OUTSIDER))
    assert case_now(r, case.id).step == c.step
    assert [e.kind for e in events(r, case.id)] == ["filed", "confirm_information"]


def test_thread_replies_are_kept_in_the_timeline_once(running) -> None:
    r = running
    case = file_complaint(r)
    ev = {
        "type": "message",
        "channel": COMPLAINTS,
        "user": PROD,
        "text": "Stencil is worn",
        "ts": "1772500000.000100",
        "thread_ts": case.card_ts,
        "event_ts": "1772500000.000100",
    }
    assert r.client.event(ev, event_id="Ev0001").status == 200
    assert r.client.event(ev, event_id="Ev0001", headers={"X-Slack-Retry-Num": "1"}).status == 200
    assert r.client.event(ev, event_id="Ev0002").status == 200  # same message, new id
    r.settle()
    comments = [e for e in events(r, case.id) if e.kind == "comment"]
    assert len(comments) == 1 and comments[0].data["text"] == "Stencil is worn"
    shown = r.client.command(MKT, f"show {case.ref}").json()
    assert "Stencil is worn" in json.dumps(shown)


def test_deadlines_on_the_card_and_rework_dates(running) -> None:
    r = running
    case = file_complaint(r)
    msg = r.fake.messages[(COMPLAINTS, case.card_ts)]
    assert "Corrective-action reply:" in json.dumps(msg["blocks"])
    assert case.ca_due_at - case.received_at < timedelta(days=2)
