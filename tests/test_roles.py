"""Who may take each step: every step of the procedure tried by every kind of person.

The expected answers are the table `WHO` below, written from ../shared/PROCEDURE.md (its
Roles table and Flow 1-8) as the README's step table makes it concrete. Each step is tried
at the workflow layer by all seven kinds of person (a refused try must change nothing; an
allowed one must move the case), and `Desk.allowed` (what the card and the click-time
check ask) must agree. Then one walk clicks every step's button through signed HTTP: a
person the table refuses first (told "Only …", nothing changes, no form opens), then the
right person. Widening any single rule (say, letting Technical Quality approve its own
report) turns a row of this table red.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.db import migrate
from bot.models import Case, make_engine, make_session_factory
from bot.workflow import Actor, Desk, NotAllowed, Role, validate_intake
from bot.workflow.steps import STEPS
from tests import conftest as people
from tests.conftest import make_settings
from tests.procedure import INFORMED, case_now, ephemerals, events, take
from tests.test_intake import file_complaint
from tests.test_procedure_e2e import CA, CONTAIN, PA
from tests.test_workflow import FORM

NOW = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
REPORTER_ID = "U0REPORT"

# the seven kinds of person; the case's responsible unit is production
PEOPLE: dict[str, Actor] = {
    "marketing": Actor(people.MKT2, frozenset({Role.MARKETING})),  # not this case's reporter
    "quality": Actor(people.TQ, frozenset({Role.QUALITY})),
    "management": Actor(people.MGR, frozenset({Role.MANAGEMENT})),
    "unit": Actor(people.PROD, units=frozenset({"production"})),  # the case's unit
    "other_unit": Actor(people.DEV, units=frozenset({"development"})),  # a unit, not this case's
    # filed the case while in Marketing and holds no role now: only the reporter rule applies
    "reporter": Actor(REPORTER_ID),
    "nobody": Actor(people.OUTSIDER),
}
UNIT = {"unit", "quality"}  # Roles: the responsible unit; TQ coordinates and may act for it

# step -> who may take it. Source of each row in PROCEDURE.md:
WHO: dict[str, set[str]] = {
    # Flow 1 (Marketing / TQ): Marketing records the complaint at intake; confirming the
    # record is complete and sufficient, or asking for more, is TQ's (README step table)
    "confirm_information": {"quality"},
    "request_information": {"quality"},
    # Flow 1 + Roles: Marketing is the customer's single contact window and gets the missing
    # information; so may the reporter and TQ (who may also take complaints first)
    "provide_information": {"marketing", "reporter", "quality"},
    # Flow 2: TQ investigates and decides responsibility
    "decide_responsibility": {"quality"},
    # Flow 3: Marketing tells the customer, tactfully (the reporter is Marketing's window)
    "confirm_customer_informed": {"marketing", "reporter"},
    # Severity: set by TQ once responsibility is ours
    "classify_severity": {"quality"},
    # Flow 4: the responsible unit analyses, checks stock and proposes countermeasures; TQ
    # coordinates (and may write them into the report)
    "record_containment": UNIT,
    "submit_corrective_action": UNIT,
    "submit_preventive_action": UNIT,
    # Flow 5 + Roles: management reviews and approves the improvement report; nobody else
    "approve_report": {"management"},
    "reject_report": {"management"},
    # Flow 5: TQ sends the approved report to the customer
    "send_to_customer": {"quality"},
    # Flow 6 (Marketing, TQ): the customer's answer comes through either
    "record_customer_acceptance": {"marketing", "reporter", "quality"},
    # Flow 6-7: TQ collects the results after implementation (lot checks)
    "record_lot_check": {"quality"},
    # Flow 8: TQ closes and archives
    "close_case": {"quality"},
    # Deadlines: TQ follows every case; not effective -> back to the responsible unit
    "reopen_case": {"quality"},
}

TQ, MKT, MGR, PROD = (PEOPLE[k] for k in ("quality", "marketing", "management", "unit"))
OURS = {"party": "ours", "units": ["production"], "reason": "our soldering"}
# the way to each step's state, as (step, actor, data)
TO_VERIFICATION: list[tuple[str, Actor, dict[str, Any]]] = [
    ("confirm_information", TQ, {"category": "function"}),
    ("decide_responsibility", TQ, OURS),
    ("classify_severity", TQ, {"severity": "B"}),
    ("record_containment", PROD, {"actions": "hold"}),
    ("submit_corrective_action", PROD, CA),
    ("submit_preventive_action", PROD, PA),
    ("approve_report", PEOPLE["management"], {}),
    ("send_to_customer", TQ, {"method": "email"}),
    ("record_customer_acceptance", MKT, {"accepted": "yes"}),
]
_PREFIX = {name: [s for s, _, _ in TO_VERIFICATION].index(name) for name, _, _ in TO_VERIFICATION}
LOT = {"lot": "L9", "quantity": "5", "result": "ok"}
CLOSE = {
    "criterion": "A",
    "evidence": "0 defects in 3,000 pcs at the customer",
    "no_negative_impact": ["yes"],
}


def route_to(name: str) -> list[tuple[str, Actor, dict[str, Any]]]:
    if name == "request_information":
        return []
    if name == "provide_information":
        return [("request_information", TQ, {"missing": "photos"})]
    if name == "confirm_customer_informed":
        return [
            ("confirm_information", TQ, {"category": "function"}),
            ("decide_responsibility", TQ, {"party": "customer", "reason": "their jig"}),
        ]
    if name in _PREFIX:
        return TO_VERIFICATION[: _PREFIX[name]]
    if name == "reject_report":
        return TO_VERIFICATION[: _PREFIX["approve_report"]]
    if name in ("record_lot_check", "close_case"):
        return TO_VERIFICATION
    if name == "reopen_case":
        return [*TO_VERIFICATION, ("close_case", TQ, CLOSE)]
    raise AssertionError(f"no route to {name}")


DATA: dict[str, dict[str, Any]] = {
    "confirm_information": {"category": "function"},
    "request_information": {"missing": "photos of the defect"},
    "provide_information": {"info": "photos attached"},
    "decide_responsibility": OURS,
    "classify_severity": {"severity": "C"},
    "record_containment": {"actions": "hold stock"},
    "submit_corrective_action": CA,
    "submit_preventive_action": PA,
    "reject_report": {"reason": "why-why stops too early"},
    "confirm_customer_informed": INFORMED,
    "send_to_customer": {"method": "email"},
    "record_customer_acceptance": {"accepted": "yes"},
    "record_lot_check": LOT,
    "close_case": CLOSE,
    "reopen_case": {"reason": "recurred in lot L12"},
}


@pytest.fixture
def desk(database_url: str) -> Desk:
    settings = make_settings(database_url, "http://127.0.0.1:9/api/")
    engine = make_engine(settings.database_url)
    migrate(engine)
    return Desk(make_session_factory(engine), settings, clock=lambda: NOW)


def case_at(desk: Desk, name: str) -> Case:
    """A new case, filed by the reporter (then in Marketing), brought to where `name` applies."""
    form = replace(FORM, customer="Acme 客户")  # user data may be Chinese anywhere
    filer = Actor(REPORTER_ID, frozenset({Role.MARKETING}))
    case = desk.file_complaint(validate_intake(form, today=NOW.date()), filer, NOW)
    for step, actor, data in route_to(name):
        case = desk.take(step, case.id, actor, NOW, data)
    return case


def test_the_table_names_every_step_and_only_known_people() -> None:
    assert set(WHO) == set(STEPS)
    assert set().union(*WHO.values()) <= set(PEOPLE)


@pytest.mark.parametrize("name", sorted(STEPS))
def test_who_may_take_each_step(desk: Desk, name: str) -> None:
    """For one step, every kind of person: refused tries change nothing, allowed ones move
    the case; `Desk.allowed` says the same before anyone tries."""
    case = case_at(desk, name)
    assert desk.allowed(name, case, TQ) or "quality" not in WHO[name]  # the state is right
    outcome: dict[str, str] = {}
    asked: dict[str, str] = {}
    for kind, actor in PEOPLE.items():
        asked[kind] = "allowed" if desk.allowed(name, case, actor) else "refused"
        target = case if kind not in WHO[name] else case_at(desk, name)
        try:
            after = desk.take(name, target.id, actor, NOW, DATA.get(name, {}))
        except NotAllowed:
            outcome[kind] = "refused"
            assert desk.get_case(target.id).step == target.step, f"{kind} changed the case"
        else:
            outcome[kind] = "allowed"
            assert after.step == target.step + 1
    expected = {kind: "allowed" if kind in WHO[name] else "refused" for kind in PEOPLE}
    assert outcome == expected
    assert asked == expected
    kinds = [e.kind for e in desk.get_case(case.id).events]
    assert name not in kinds[len(route_to(name)) + 1 :]  # no refused try left an event


# --- through the card's buttons -------------------------------------------------------------

# the walk through every step: (step, who is refused first, who takes it, the form's answers)
H_TQ, H_MKT, H_MGR, H_PROD, H_DEV = people.TQ, people.MKT, people.MGR, people.PROD, people.DEV
WALK: list[tuple[str, str, str, dict[str, Any]]] = [
    ("request_information", H_MKT, H_TQ, {"missing": "photos"}),
    ("provide_information", H_MGR, H_MKT, {"info": "photos attached"}),
    ("confirm_information", H_MKT, H_TQ, {"category": "function"}),
    ("decide_responsibility", H_MKT, H_TQ, {"party": "customer", "reason": "their jig"}),
    ("confirm_customer_informed", H_TQ, H_MKT, INFORMED),
    ("reopen_case", H_MKT, H_TQ, {"reason": "the jig was ours after all"}),
    ("decide_responsibility", H_PROD, H_TQ, OURS),
    ("classify_severity", H_PROD, H_TQ, {"severity": "B"}),
    ("record_containment", H_DEV, H_PROD, CONTAIN),
    ("submit_corrective_action", H_MGR, H_PROD, CA),
    ("submit_preventive_action", H_MKT, H_PROD, PA),
    ("reject_report", H_TQ, H_MGR, {"reason": "why-why stops too early"}),
    ("submit_corrective_action", people.OUTSIDER, H_PROD, CA),
    ("submit_preventive_action", H_DEV, H_PROD, PA),
    ("approve_report", H_TQ, H_MGR, {}),
    ("send_to_customer", H_MGR, H_TQ, {"method": "email"}),
    ("record_customer_acceptance", H_PROD, H_MKT, {"accepted": "yes", "note": "OK"}),
    ("record_lot_check", H_MKT, H_TQ, LOT),
    ("close_case", H_MGR, H_TQ, CLOSE),
]
HTTP_KIND = {H_TQ: "quality", H_MKT: "marketing", H_MGR: "management", H_PROD: "unit"}
HTTP_KIND |= {H_DEV: "other_unit", people.OUTSIDER: "nobody"}


def test_the_walk_tries_every_step_and_agrees_with_the_table() -> None:
    assert {step for step, *_ in WALK} == set(STEPS)
    for step, wrong, right, _ in WALK:
        assert HTTP_KIND[wrong] not in WHO[step] and HTTP_KIND[right] in WHO[step]


def test_every_button_refuses_the_wrong_person_and_obeys_the_right_one(running) -> None:
    r = running
    case = file_complaint(r)  # filed by Marketing (MKT), who is also the reporter
    for step, wrong, right, answers in WALK:
        before = case_now(r, case.id)
        opened = len(r.fake.calls_to("views.open"))
        told = len(ephemerals(r, wrong))
        take(r, wrong, case.id, step, answers)
        refusal = ephemerals(r, wrong)[told:]
        assert len(refusal) == 1 and refusal[0].startswith("Only "), (step, refusal)
        assert case_now(r, case.id).step == before.step, f"{step}: the wrong person moved it"
        assert len(r.fake.calls_to("views.open")) == opened, f"{step}: a form opened"
        take(r, right, case.id, step, answers)
        after = case_now(r, case.id)
        assert after.step == before.step + 1, step
        assert events(r, case.id)[-1].kind == step
    assert case_now(r, case.id).status == "closed"
    # no call asks Slack to turn bare @names into pings (tests/mrkdwn.py relies on it)
    assert not [c for c in r.fake.calls if c.args.get("link_names") or c.args.get("parse")]
