"""Closure's fine points (issue 12, 3(a) and 3(b)), through signed HTTP against the fake
Slack: criterion B counts three distinct lots made after the countermeasure; criterion A
records that the actions had no negative effect on quality."""

from __future__ import annotations

import json

from tests.conftest import COMPLAINTS, MGR, MKT, PROD, TQ, Running
from tests.procedure import case_now, events, take, walk_to_approval
from tests.test_clocks import PREVENTIVE, corrective
from tests.test_intake import file_complaint


def thread(r: Running, case_id: int) -> list[str]:
    c = case_now(r, case_id)
    # a message's blocks, or its text (a step's post carried by a file upload's comment)
    return [
        json.dumps(m.get("blocks", [])) + m.get("text", "")
        for m in r.fake.thread(COMPLAINTS, c.card_ts)
    ]


def to_verification(r: Running, **intake: str) -> int:
    case = file_complaint(r, **intake)
    walk_to_approval(
        r,
        case.id,
        unit="production",
        member=PROD,
        reason="stencil",
        containment="sorted",
        corrective=corrective("2026-03-20"),
        preventive=PREVENTIVE,
    )
    take(r, MGR, case.id, "approve_report")
    take(r, TQ, case.id, "send_to_customer", {"method": "email"})
    take(r, MKT, case.id, "record_customer_acceptance", {"accepted": "yes"})
    return case.id


def test_criterion_b_counts_three_distinct_lots_after_the_countermeasure(running) -> None:
    r = running
    case = case_now(r, to_verification(r, lots="L2026-1101, L2026-1102"))

    def lot(number: str) -> int:
        take(r, TQ, case.id, "record_lot_check", {"lot": number, "quantity": "50", "result": "ok"})
        return case_now(r, case.id).clean_lots

    # the same lot three times is one lot; a complained lot is none
    assert [lot("L2026-1201"), lot("L2026-1201"), lot(" l2026-1201 ")] == [1, 1, 1]
    assert lot("L2026-1101") == 1
    posts = thread(r, case.id)
    assert any("already checked" in p for p in posts)
    assert any("complained about" in p for p in posts)
    reply = take(r, TQ, case.id, "close_case", {"criterion": "B"})
    assert reply.json()["response_action"] == "errors"
    assert [lot("L2026-1202"), lot("L2026-1203")] == [2, 3]
    take(r, TQ, case.id, "close_case", {"criterion": "B"})
    assert case_now(r, case.id).closure == "B"


def test_criterion_a_records_no_negative_effect_on_quality(running) -> None:
    r = running
    case_id = to_verification(r)
    evidence = {"criterion": "A", "evidence": "0 defects in 3,000 pcs at the customer"}
    reply = take(r, TQ, case_id, "close_case", evidence)
    assert "no_negative_impact" in reply.json()["errors"]
    assert case_now(r, case_id).status == "verification"
    take(r, TQ, case_id, "close_case", {**evidence, "no_negative_impact": ["yes"]})
    assert case_now(r, case_id).closure == "A"
    closed = [e for e in events(r, case_id) if e.kind == "close_case"]
    assert closed[-1].data["no_negative_impact"] is True
    assert any("No negative effect on quality" in p for p in thread(r, case_id))
