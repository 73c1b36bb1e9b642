"""The procedure without Slack: allowed and forbidden steps, closure criteria, rework loops,
concurrency and the append-only audit trail."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from bot.db import migrate
from bot.models import Case, CaseEvent, Outbox, Status, make_engine, make_session_factory
from bot.workflow import (
    Actor,
    Desk,
    IntakeForm,
    InvalidInput,
    NotAllowed,
    Role,
    WrongState,
    validate_intake,
)
from bot.workflow.steps import STEPS
from tests.conftest import make_settings
from tests.procedure import INFORMED

NOW = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
TQ = Actor("U0TQ1", frozenset({Role.QUALITY}))
MKT = Actor("U0MKT1", frozenset({Role.MARKETING}))
MGR = Actor("U0MGR1", frozenset({Role.MANAGEMENT}))
MGR2 = Actor("U0MGR2", frozenset({Role.MANAGEMENT}))
PROD = Actor("U0PROD1", units=frozenset({"production"}))
DEV = Actor("U0DEV1", units=frozenset({"development"}))
NOBODY = Actor("U0NOBODY")

FORM = IntakeForm(
    customer="Acme",
    contact="Li",
    product="P-1",
    lots="L1",
    quantity="10",
    via="phone",
    description="Scratches",
)
CA = {
    "category": "method",
    "why": "a\nb",
    "disposition": "rework",
    "actions": "fix",
    "owner": "U0PROD1",
    "planned": "2026-03-30",
}
PA = {"m_method": "Update WI-12 with torque check", "documents": ["work_instruction"]}

# the route to each state, as (step, actor, data)
ROUTE: list[tuple[str, Actor, dict[str, Any]]] = [
    ("confirm_information", TQ, {"category": "function"}),
    ("decide_responsibility", TQ, {"party": "ours", "units": ["production"], "reason": "r"}),
    ("classify_severity", TQ, {"severity": "B"}),
    ("record_containment", PROD, {"actions": "hold"}),
    ("submit_corrective_action", PROD, CA),
    ("submit_preventive_action", PROD, PA),
    ("approve_report", MGR, {}),
    ("send_to_customer", TQ, {"method": "email"}),
    ("record_customer_acceptance", MKT, {"accepted": "yes"}),
    ("record_lot_check", TQ, {"lot": "L9", "quantity": "5", "result": "ok"}),
]


@pytest.fixture
def desk(database_url: str) -> Desk:
    settings = make_settings(database_url, "http://127.0.0.1:9/api/")
    engine = make_engine(settings.database_url)
    migrate(engine)
    return Desk(make_session_factory(engine), settings, clock=lambda: NOW)


def new_case(desk: Desk, **form: Any) -> Case:
    f = IntakeForm(**{**FORM.__dict__, **form})
    return desk.file_complaint(validate_intake(f, today=NOW.date()), MKT, NOW)


def walk(desk: Desk, case: Case, upto: int) -> Case:
    for name, actor, data in ROUTE[:upto]:
        case = desk.take(name, case.id, actor, NOW, data)
    return case


def test_intake_validation_messages() -> None:
    with pytest.raises(InvalidInput) as e:
        validate_intake(
            IntakeForm(quantity="0", via="pigeon", deadline="2026-01-01"), today=NOW.date()
        )
    assert set(e.value.errors) == {
        "customer",
        "contact",
        "product",
        "lots",
        "quantity",
        "via",
        "description",
        "deadline",
    }
    ok = validate_intake(IntakeForm(**{**FORM.__dict__, "quantity": "1,000"}), today=NOW.date())
    assert ok.quantity == 1000


def test_happy_path_states(desk: Desk) -> None:
    case = new_case(desk)
    seen = [case.status]
    for i in range(len(ROUTE)):
        name, actor, data = ROUTE[i]
        case = desk.take(name, case.id, actor, NOW, data)
        seen.append(case.status)
    assert seen == [
        "received",
        "responsibility",
        "severity",
        "containment",
        "corrective",
        "preventive",
        "approval",
        "approved",
        "customer_review",
        "verification",
        "verification",
    ]
    assert case.step == 1 + len(ROUTE)


@pytest.mark.parametrize("index", range(len(ROUTE)))
def test_each_step_refuses_the_wrong_role(desk: Desk, index: int) -> None:
    case = walk(desk, new_case(desk), index)
    name, actor, data = ROUTE[index]
    with pytest.raises(NotAllowed):
        desk.take(name, case.id, NOBODY, NOW, data)
    after = desk.get_case(case.id)
    assert after.step == case.step and after.status == case.status


@pytest.mark.parametrize("name", sorted(STEPS))
def test_every_step_refuses_a_wrong_state(desk: Desk, name: str) -> None:
    case = new_case(desk)  # RECEIVED
    if Status.RECEIVED in STEPS[name].sources:
        case = walk(desk, case, 1)  # move to RESPONSIBILITY, where these do not apply
    everyone = Actor("U0ALL", frozenset(Role), everyone=True)
    data = {
        "reason": "x",
        "missing": "x",
        "info": "x",
        "party": "customer",
        "severity": "A",
        "actions": "x",
        "criterion": "A",
        "evidence": "x",
        "no_negative_impact": ["yes"],
        "lot": "L",
        "quantity": "1",
        "result": "ok",
        "accepted": "yes",
        **CA,
        **PA,
    }
    if name == "decide_responsibility":
        case = walk(desk, case, 2)  # SEVERITY: responsibility is decided already
    before = len(desk.get_case(case.id).events)
    with pytest.raises(WrongState):
        desk.take(name, case.id, everyone, NOW, data)
    assert len(desk.get_case(case.id).events) == before


def test_information_loop_and_customer_fault(desk: Desk) -> None:
    case = new_case(desk)
    case = desk.take("request_information", case.id, TQ, NOW, {"missing": "photos"})
    assert case.status == "info_requested"
    case = desk.take("provide_information", case.id, MKT, NOW, {"info": "photos attached"})
    assert case.status == "received" and "photos attached" in case.notes
    case = desk.take("confirm_information", case.id, TQ, NOW, {"category": "function"})
    case = desk.take(
        "decide_responsibility", case.id, TQ, NOW, {"party": "customer", "reason": "r"}
    )
    with pytest.raises(NotAllowed):
        desk.take("confirm_customer_informed", case.id, TQ, NOW)
    case = desk.take("confirm_customer_informed", case.id, MKT, NOW, INFORMED)
    assert case.status == "closed" and case.closure == "not_ours"


def test_responsibility_needs_a_known_unit(desk: Desk) -> None:
    case = walk(desk, new_case(desk), 1)
    with pytest.raises(InvalidInput) as e:
        desk.take("decide_responsibility", case.id, TQ, NOW, {"party": "ours", "reason": "r"})
    assert "units" in e.value.errors
    with pytest.raises(InvalidInput):
        desk.take(
            "decide_responsibility",
            case.id,
            TQ,
            NOW,
            {"party": "ours", "units": ["kitchen"], "reason": "r"},
        )


def test_unit_of_another_case_may_not_act(desk: Desk) -> None:
    case = walk(desk, new_case(desk), 3)  # containment, unit production
    with pytest.raises(NotAllowed):
        desk.take("record_containment", case.id, DEV, NOW, {"actions": "x"})
    assert (
        desk.take("record_containment", case.id, TQ, NOW, {"actions": "x"}).status == "corrective"
    )


def test_reports_are_versioned_and_editable_until_approved(desk: Desk) -> None:
    case = walk(desk, new_case(desk), 6)  # approval
    case = desk.take("submit_corrective_action", case.id, PROD, NOW, {**CA, "actions": "better"})
    assert case.status == "approval"
    reports = desk.get_case(case.id).reports
    assert [(r.kind, r.version) for r in reports if r.kind == "corrective"] == [
        ("corrective", 1),
        ("corrective", 2),
    ]
    case = desk.take("approve_report", case.id, MGR, NOW)
    with pytest.raises(WrongState):
        desk.take("submit_corrective_action", case.id, PROD, NOW, CA)
    assert desk.get_case(case.id).events[-1].data["corrective_version"] == 2


def test_rejection_sends_back_with_new_due_dates(desk: Desk) -> None:
    case = walk(desk, new_case(desk), 6)
    with pytest.raises(InvalidInput):
        desk.take("reject_report", case.id, MGR, NOW, {"reason": ""})
    later = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    case = desk.take("reject_report", case.id, MGR, later, {"reason": "shallow"})
    assert case.status == "corrective" and case.rework_count == 1
    assert case.ca_done_at is None and case.ca_due_at > later
    # REWORK_WORKING_DAYS=3 from Tue 10 Mar 10:00 → Fri 13 Mar 17:30 Shanghai
    assert case.ca_due_at.isoformat() == "2026-03-13T09:30:00+00:00"


def test_closure_criteria(desk: Desk) -> None:
    case = walk(desk, new_case(desk), 9)  # verification, 0 lots
    with pytest.raises(InvalidInput):
        desk.take("close_case", case.id, TQ, NOW, {"criterion": "B"})
    with pytest.raises(InvalidInput):
        desk.take("close_case", case.id, TQ, NOW, {"criterion": "A", "evidence": ""})
    # (the complained lot is L1: lots made after the countermeasure are checked)
    for lot in ("L21", "L22"):
        case = desk.take(
            "record_lot_check", case.id, TQ, NOW, {"lot": lot, "quantity": "9", "result": "ok"}
        )
    with pytest.raises(InvalidInput):
        desk.take("close_case", case.id, TQ, NOW, {"criterion": "B"})
    case = desk.take(
        "record_lot_check", case.id, TQ, NOW, {"lot": "L23", "quantity": "9", "result": "ok"}
    )
    case = desk.take("close_case", case.id, TQ, NOW, {"criterion": "B"})
    assert case.closure == "B" and desk.get_case(case.id).events[-1].data["clean_lots"] == 3


def test_same_problem_resets_the_lot_count(desk: Desk) -> None:
    case = walk(desk, new_case(desk), 10)  # one clean lot
    case = desk.take(
        "record_lot_check",
        case.id,
        TQ,
        NOW,
        {"lot": "L2", "quantity": "9", "result": "same_problem"},
    )
    assert case.status == "corrective" and case.clean_lots == 0 and case.rework_count == 1
    case = walk(desk, case, 0)
    for name, actor, data in ROUTE[4:9]:
        case = desk.take(name, case.id, actor, NOW, data)
    assert case.status == "verification" and case.clean_lots == 0


def test_customer_rejection_and_reopen(desk: Desk) -> None:
    case = walk(desk, new_case(desk), 8)  # customer review
    with pytest.raises(InvalidInput):
        desk.take("record_customer_acceptance", case.id, MKT, NOW, {"accepted": "no"})
    case = desk.take(
        "record_customer_acceptance", case.id, MKT, NOW, {"accepted": "no", "note": "no"}
    )
    assert case.status == "corrective" and case.rework_count == 1
    case = walk(desk, new_case(desk), 9)
    case = desk.take(
        "close_case",
        case.id,
        TQ,
        NOW,
        {"criterion": "A", "evidence": "audit", "no_negative_impact": ["yes"]},
    )
    case = desk.take("reopen_case", case.id, TQ, NOW, {"reason": "again"})
    assert case.status == "corrective" and case.is_open and case.rework_count == 1


def test_stale_step_is_refused(desk: Desk) -> None:
    case = new_case(desk)
    desk.take(
        "confirm_information", case.id, TQ, NOW, {"category": "function"}, expected_step=case.step
    )
    with pytest.raises(WrongState):
        desk.take(
            "confirm_information",
            case.id,
            TQ,
            NOW,
            {"category": "function"},
            expected_step=case.step,
        )


def test_two_managers_at_the_same_instant_make_one_decision(desk: Desk) -> None:
    case = walk(desk, new_case(desk), 6)
    results: list[str] = []
    barrier = threading.Barrier(2)

    def act(name: str, actor: Actor, data: dict[str, Any]) -> None:
        barrier.wait()
        try:
            desk.take(name, case.id, actor, NOW, data, expected_step=case.step)
            results.append("won")
        except WrongState:
            results.append("lost")

    threads = [
        threading.Thread(target=act, args=("approve_report", MGR, {})),
        threading.Thread(target=act, args=("reject_report", MGR2, {"reason": "x"})),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["lost", "won"]
    decisions = [
        e for e in desk.get_case(case.id).events if e.kind in ("approve_report", "reject_report")
    ]
    assert len(decisions) == 1


def test_every_change_queues_card_and_thread_in_the_same_transaction(desk: Desk) -> None:
    case = walk(desk, new_case(desk), 2)
    with desk.sessions() as s:
        kinds = [
            o.kind
            for o in s.scalars(select(Outbox).where(Outbox.case_id == case.id).order_by(Outbox.id))
        ]
    # one card update waits for both changes: it renders the case as it is when sent; the
    # card tells Technical Quality and the reporter of the filing (no thread post, no DM)
    assert kinds == [
        "card_post",
        "card_update",
        "thread_post",
        "thread_post",
    ]


def test_audit_trail_is_append_only(desk: Desk) -> None:
    case = new_case(desk)
    with desk.sessions() as s, pytest.raises(PermissionError), s.begin():
        ev = s.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)).first()
        ev.data = {"forged": True}
    with desk.sessions() as s, pytest.raises(PermissionError), s.begin():
        s.delete(s.scalars(select(CaseEvent)).first())
    assert desk.get_case(case.id).events[0].data.get("forged") is None


def test_deadlines_customer_and_urgent(desk: Desk) -> None:
    plain = new_case(desk)
    assert plain.ca_due_at.isoformat() == "2026-03-04T09:30:00+00:00"
    assert plain.pa_due_at.isoformat() == "2026-03-06T09:30:00+00:00"
    cust = new_case(desk, deadline="2026-03-12")
    assert cust.ca_due_at.isoformat() == cust.pa_due_at.isoformat() == "2026-03-12T09:30:00+00:00"
    urgent = new_case(desk, urgent=True)
    # 4 working hours from Tue 10:00 Shanghai → 14:00 the same day
    assert urgent.ca_due_at.isoformat() == "2026-03-03T06:00:00+00:00"


def test_the_homes_lists_read_a_batch_at_a_time_are_the_to_do(desk: Desk) -> None:
    """The Home sorts the open cases into entries a batch at a time (todo.entries_for) and
    reads only a page's cases whole; its lists are those of the whole to-do (todo_for, which
    `/complaint list` uses), line for line, in the same order, with the same clocks."""
    from datetime import timedelta

    from bot.workflow import todo

    for i in range(12):
        case = new_case(desk, customer=f"Acme {i}", description=f"Scratches {i}")
        walk(desk, case, i % 8)
    later = NOW + timedelta(days=4)  # some clocks are overdue by then
    seen: dict[str, int] = {}
    with desk.readers() as s:
        cases = todo.open_cases(s)
        for actor in (TQ, MKT, MGR, PROD, DEV, NOBODY):
            whole = todo.todo_for(actor, cases, later, "roles")
            entries = todo.entries_for(s, actor, later, "roles")
            for name in ("waiting", "approval", "overdue", "reported"):
                want = [
                    (i.case.id, i.clock.due_at if i.clock else None) for i in getattr(whole, name)
                ]
                got = [(e.case_id, e.due) for e in getattr(entries, name)]
                assert got == want, (actor.user_id, name)
                seen[name] = seen.get(name, 0) + len(got)
    # every list had lines for someone, so the comparison compared something
    assert all(seen.get(n, 0) > 0 for n in ("waiting", "approval", "overdue", "reported")), seen
