"""The step declarations (bot/workflow/steps.py) and what is drawn from them: one primary
button per card for the main next step (issue 12 h), the words in both languages within
Block Kit's limits, `Case`'s own deadlines, and the one inbound path for steps."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text

from blocks.card import case_card
from blocks.modals import step_modal
from blocks.posts import thread_post
from bot.i18n import _, use_locale
from bot.models import Case, Inbox, Status
from bot.workflow.states import CLOCK_NAMES
from bot.workflow.steps import STATES, STEPS, TABLES, available_steps, shows
from bot.workflow.view import LABELS
from tests.conftest import COMPLAINTS, MGR, PROD, TQ
from tests.procedure import case_now, take, walk_to_approval
from tests.test_intake import file_complaint
from tests.test_procedure_e2e import CA, PA

NOW = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)


# --- the declarations ---------------------------------------------------------------------


def test_each_open_state_has_one_main_step_that_starts_there() -> None:
    for status in Status:
        main = [s.name for s in STEPS.values() if status in s.main_in]
        if status is Status.CLOSED:
            assert main == [], "a closed case has no main next step"
            continue
        assert len(main) == 1, (status, main)
        assert status in STEPS[main[0]].sources, (status, main)
    for step in STEPS.values():
        assert step.targets and all(isinstance(t, Status) for t in step.targets), step.name
        # a step acts on the click (confirm dialog) or opens its form, never neither
        assert step.has_form == (step.confirm is None), step.name
        if step.has_form:
            assert step.title and step.submit and step.fields, step.name


def declared_words() -> list[tuple[str, str, int]]:
    """(where, msgid, Block Kit limit) of every word the declarations hold."""
    out: list[tuple[str, str, int]] = []
    for s in STEPS.values():
        out += [(s.name, s.label, 30), (s.name, s.event, 3000), (s.name, s.who_text, 3000)]
        if s.has_form:
            out += [(s.name, s.title, 24), (s.name, s.submit, 24)]
        if s.intro:
            out.append((s.name, s.intro, 3000))
        if s.confirm:
            out += [(s.name, s.confirm[0], 100), (s.name, s.confirm[1], 300)]
        out += [(s.name, f.label, 2000) for f in s.fields]
        out += [(s.name, x.label, 3000) for x in shows(s.name)]
    for status, state in STATES.items():
        out += [(status.value, state.label, 150), (status.value, state.next_text, 3000)]
    out += [("clock", name, 75) for name in CLOCK_NAMES.values()]
    for name, table in TABLES.items():
        out += [(name, label, 75 if name != "severity_text" else 3000) for label in table.values()]
    return out


def test_every_declared_word_is_in_both_languages_within_slacks_limits() -> None:
    for where, msgid, limit in declared_words():
        with use_locale("zh-CN"):
            chinese = _(msgid)
        assert chinese != msgid or not any(c.isalpha() for c in msgid), (where, msgid)
        assert len(msgid) <= limit and len(chinese) <= limit, (where, msgid, chinese)


# --- rendering through the declarations, in Chinese --------------------------------------


def vm(status: Status = Status.SEVERITY) -> dict[str, Any]:
    case = Case(
        id=7,
        ref="CC-2026-0007",
        step=4,
        status=status,
        customer="苏州客户",
        product="P-1",
        lots="L1",
        quantity=1200,
        received_via="phone",
        description="焊点桥接",
        notes="",
        urgent=False,
        evidence=[],
        reporter_id="U0MKT1",
        received_at=NOW,
        units=["production"],
        responsibility="ours",
        responsibility_reason="",
        rework_count=0,
        clean_lots=0,
        ca_due_at=NOW + timedelta(days=1),
        pa_due_at=NOW + timedelta(days=3),
    )
    from bot.workflow.view import case_view

    return case_view(case, NOW)


def test_a_card_modal_and_thread_post_render_in_chinese() -> None:
    with use_locale("zh-CN"):
        card = json.dumps(case_card(vm()), ensure_ascii=False)
        modal = step_modal(STEPS["classify_severity"], vm(), labels=LABELS, units=["production"])
        event = {
            "kind": "classify_severity",
            "title": STEPS["classify_severity"].event,
            "actor": "U0TQ1",
            "data": {"severity": "A", "note": "客户停线"},
            "shows": [(x.key, x.label, x.fmt.value, x.table) for x in shows("classify_severity")],
        }
        post = json.dumps(thread_post(vm(), event, ["role:quality"], LABELS), ensure_ascii=False)
    assert "待判定客诉等级" in card and "判定客诉等级" in card and "接收方式" in card
    assert "Status" not in card and "Severity" not in card
    assert modal["title"]["text"] == "客诉等级" and modal["submit"]["text"] == "判定"
    assert "A — 严重" in json.dumps(modal, ensure_ascii=False)
    assert "判定了客诉等级" in post and "A — 严重" in post and "技术质量部" in post
    # and the same in English, from the same declarations
    english = json.dumps(case_card(vm()))
    assert "Severity to classify" in english and "Received via" not in english
    assert "received via Phone" in english


# --- the card's buttons (issue 12 h) ---------------------------------------------------------


def buttons(r: Any, case: Case) -> list[dict[str, Any]]:
    msg = r.fake.messages[(COMPLAINTS, case.card_ts)]
    return [el for b in msg["blocks"] if b["type"] == "actions" for el in b["elements"]]


def test_a_card_has_one_primary_button_for_the_main_next_step(running) -> None:
    r = running
    case = file_complaint(r)
    at_filing = [(e["action_id"], e.get("style")) for e in buttons(r, case_now(r, case.id))]
    walk_to_approval(
        r,
        case.id,
        unit="production",
        member=PROD,
        reason="our soldering",
        containment="hold",
        corrective=CA,
        preventive=PA,
    )
    c = case_now(r, case.id)
    els = buttons(r, c)
    # the manager sees one green button, theirs, first; the unit's revisions stay, plain
    assert [e["action_id"] for e in els] == [
        "step:approve_report",
        "step:submit_corrective_action",
        "step:submit_preventive_action",
        "step:reject_report",
    ]
    assert [e.get("style") for e in els] == ["primary", None, None, "danger"]
    # only steps that exist now: exactly the declared steps of this state
    assert {e["action_id"] for e in els} == {f"step:{s.name}" for s in available_steps(c)}
    # at filing too: one primary, the main step
    assert at_filing == [
        ("step:confirm_information", "primary"),
        ("step:request_information", None),
    ]
    take(r, MGR, case.id, "approve_report")
    els = buttons(r, case_now(r, case.id))
    assert [(e["action_id"], e.get("style")) for e in els] == [("step:send_to_customer", "primary")]


# --- Case's own rules ---------------------------------------------------------------------


def test_case_says_its_running_deadlines_and_whether_it_is_overdue() -> None:
    ca, pa = NOW + timedelta(days=1), NOW + timedelta(days=3)
    case = Case(status=Status.CORRECTIVE, ca_due_at=pa, pa_due_at=ca)
    assert [(d.what, d.due_at) for d in case.running_deadlines(NOW)] == [
        ("preventive", ca),
        ("corrective", pa),
    ]
    assert not case.is_overdue(NOW) and case.is_overdue(ca)
    case.pa_done_at = NOW
    assert [d.what for d in case.running_deadlines(NOW)] == ["corrective"]
    assert not case.is_overdue(ca) and case.is_overdue(pa)
    case.status = Status.CLOSED
    assert case.running_deadlines(NOW) == [] and not case.is_overdue(pa + timedelta(days=9))


def test_the_status_is_an_enum_in_python_and_text_in_the_database(running) -> None:
    r = running
    case = file_complaint(r)
    assert case_now(r, case.id).status is Status.RECEIVED
    with r.desk.sessions() as s:
        raw = s.execute(text("SELECT status FROM cases WHERE id = :id"), {"id": case.id}).scalar()
    assert raw == "received" and type(raw) is str


# --- one inbound path -----------------------------------------------------------------------


def test_form_steps_and_buttons_both_go_through_the_inbox(running) -> None:
    r = running
    case = file_complaint(r)
    take(r, TQ, case.id, "confirm_information")  # a button
    take(r, TQ, case.id, "decide_responsibility", {"party": "customer", "reason": "misuse"})
    with r.desk.sessions() as s:
        rows = list(s.scalars(select(Inbox).where(Inbox.kind == "step").order_by(Inbox.id)))
    assert [(row.payload["step"], row.case_id, row.outcome) for row in rows] == [
        ("confirm_information", case.id, "confirm_information"),
        ("decide_responsibility", case.id, "decide_responsibility"),
    ]
    assert rows[1].payload["data"]["reason"] == "misuse"
    assert case_now(r, case.id).status is Status.CUSTOMER_NOTICE


# --- Block Kit limits in both languages -------------------------------------------------------


def test_every_form_card_and_post_is_valid_block_kit_in_both_languages() -> None:
    from bot.handlers.views import intake_view
    from bot.sandbox.fakeslack import validate_blocks, validate_view

    for locale in ("en", "zh-CN"):
        with use_locale(locale):
            assert validate_view(intake_view("C1")) == [], locale
            for status in Status:
                model = vm(status)
                assert validate_blocks(case_card(model)["blocks"], surface="message") == []
                for name, step in STEPS.items():
                    if step.has_form:
                        view = step_modal(step, model, labels=LABELS, units=["生产部"])
                        assert validate_view(view) == [], (locale, name)
                    data = {x.key: "x" for x in shows(name)}
                    event = {
                        "kind": name,
                        "title": step.event,
                        "actor": "U0TQ1",
                        "data": {**data, "why": ["x"], "loop": 2},
                        "shows": [(x.key, x.label, x.fmt.value, x.table) for x in shows(name)],
                    }
                    post = thread_post(model, event, ["role:quality", "unit:生产部"], LABELS)
                    assert validate_blocks(post["blocks"], surface="message") == [], name
