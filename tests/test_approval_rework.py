"""Issue 12, fine points 3(f) and 3(g), through signed HTTP against the fake Slack.

(f) The approval DM and the card at approval show what the manager signs (root cause,
actions with owners and dates, the defective lot's disposition) in each reader's language;
after the decision every approval DM says who decided, with no buttons left; the approval
records the report versions and the disposition (event, thread post, export).
(g) A reworked report's form opens filled with the latest version and says why it came
back: management's reason, the customer's objection, the failed lot."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from bot.i18n import _, use_locale
from bot.records import content
from bot.records.words import Words
from bot.sandbox.fakeslack import FakeSlack
from tests.conftest import COMPLAINTS, DEV, MGR, MGR2, MKT, PROD, TQ, Clock, Running, make_settings
from tests.procedure import case_now, events, take, thread_texts, walk_to_approval
from tests.test_intake import file_complaint
from tests.test_zh_walk import _english_again, _serve

CA = {
    "category": "machine",
    "why": "Bridges on U3\nStencil worn\nNo stencil life limit",
    "escape": "AOI threshold too loose",
    "disposition": "sort",
    "actions": "Replace stencil; sort lots L0211-L0212",
    "owner": PROD,
    "planned": "2026-03-20",
    "action_2": "Add a stencil life counter to the printer",
    "owner_2": DEV,
    "planned_2": "2026-03-27",
}
PA = {
    "m_machine": "Stencil life counter with hard stop at 20k prints",
    "m_method": "Add SPI check of U3 area to control plan",
    "documents": ["control_plan", "work_instruction"],
    "revisions": "CP-12 rev D",
}


@pytest.fixture
def mixed(database_url: str, slack: FakeSlack, clock: Clock) -> Iterator[Running]:
    """English channel; one manager reads Chinese (MGR2), the other English."""
    slack.set_user(MGR2, locale="zh-CN")
    settings = make_settings(database_url, slack.url)
    yield from _serve(settings, clock, slack)
    _english_again(slack)


def _to_approval(r: Running) -> Any:
    case = file_complaint(r)
    walk_to_approval(
        r,
        case.id,
        unit="production",
        member=PROD,
        reason="Solder bridges: our process",
        containment="Hold all stock of lots L0211-L0212",
        corrective=CA,
        preventive=PA,
    )
    return case_now(r, case.id)


def _approval_dms(r: Running) -> dict[tuple[str, str], dict[str, Any]]:
    """The approval DMs as Slack holds them now, by (channel, ts)."""
    return {
        key: msg
        for key, msg in r.fake.messages.items()
        if key[0] != COMPLAINTS and "approv" in json.dumps(msg.get("blocks", [])).lower()
    }


def _zh(msgid: str, **kw: Any) -> str:
    with use_locale("zh-CN"):
        return _(msgid, **kw)


def test_approval_shows_what_is_signed_and_every_dm_says_who_decided(mixed: Running) -> None:
    r = mixed
    case = _to_approval(r)
    assert case.status == "approval"
    dms = _approval_dms(r)
    assert len(dms) == 2
    by_user = {}
    for (channel, ts), msg in dms.items():
        text = json.dumps(msg["blocks"], ensure_ascii=False)
        by_user["zh" if "您要批准的内容" in text else "en"] = (channel, ts, text)
        # what is signed: the root cause, each action with its owner, the defective lot
        assert "No stencil life limit" in text and "Add a stencil life counter" in text
        assert f"<@{PROD}>" in text and f"<@{DEV}>" in text
        assert "Stencil life counter with hard stop" in text
        assert f"/complaint report {case.ref}" in text
        assert any(b["type"] == "actions" for b in msg["blocks"])
    assert set(by_user) == {"en", "zh"}
    en, zh = by_user["en"][2], by_user["zh"][2]
    assert "What you are approving (report version 1.1)" in en
    assert "Sort / 100% inspection" in en and _zh("Sort / 100% inspection") in zh
    assert _zh("Machine") in zh and "Sort / 100% inspection" not in zh
    # the card at the approval stage shows it too
    card = json.dumps(r.fake.messages[(COMPLAINTS, case.card_ts)]["blocks"])
    assert "What you are approving" in card and "No stencil life limit" in card

    # the Chinese-reading manager approves from the DM
    reply = r.client.click(
        MGR2, "step:approve_report", f"{case.id}:{case.step}", channel=by_user["zh"][0]
    )
    assert reply.status == 200
    r.settle()
    case = case_now(r, case.id)
    assert case.status == "approved" and case.approved_by == MGR2
    for lang, (channel, ts, _before) in by_user.items():
        msg = r.fake.messages[(channel, ts)]
        text = json.dumps(msg["blocks"], ensure_ascii=False)
        assert "edited" in msg and not any(b["type"] == "actions" for b in msg["blocks"])
        assert f"<@{MGR2}>" in text and "2.1" not in text and "1.1" in text
        assert ("批准" in text) if lang == "zh" else ("was approved by" in text)
    # the approval records what was approved: versions and the disposition
    approval = [e for e in events(r, case.id) if e.kind == "approve_report"][-1]
    assert approval.data["corrective_version"] == 1 and approval.data["preventive_version"] == 1
    assert approval.data["disposition"] == "sort"
    post = next(t for t in thread_texts(r, case) if "approved the improvement report" in t)
    assert "Defective lot" in post and "Sort / 100% inspection" in post
    exported = r.desk.export_case(case.ref)
    assert [
        e["data"]["disposition"] for e in exported["events"] if e["kind"] == "approve_report"
    ] == ["sort"]
    card = json.dumps(r.fake.messages[(COMPLAINTS, case.card_ts)]["blocks"])
    assert "What you are approving" not in card
    # … and the written report's approval section names the disposition approved
    doc = content.improvement_report(r.desk.get_case(case.id), [], str, r.desk.tz, Words("en"))
    kvs = [dict(b[1]) for b in doc.blocks if b[0] == "kv"]
    approved = next(kv for kv in kvs if "What was approved" in kv)
    assert approved["What was approved"].endswith("v1") and approved["Approved by"]
    assert approved["What is done with the defective lot"] == "Sort / 100% inspection"


def test_a_rejection_updates_the_dms_and_a_second_round_keeps_the_first_ones(
    running: Running,
) -> None:
    r = running
    case = _to_approval(r)
    first = set(_approval_dms(r))
    take(r, MGR, case.id, "reject_report", {"reason": "Why-why stops too early"})
    for key in first:
        text = json.dumps(r.fake.messages[key]["blocks"])
        assert "was rejected by" in text and "Why-why stops too early" in text
        assert not any(b["type"] == "actions" for b in r.fake.messages[key]["blocks"])
    take(r, PROD, case.id, "submit_corrective_action", CA)
    take(r, PROD, case.id, "submit_preventive_action", PA)
    second = set(_approval_dms(r)) - first
    assert len(second) == 2
    take(r, MGR, case.id, "approve_report")
    for key in second:
        assert "was approved by" in json.dumps(r.fake.messages[key]["blocks"])
    for key in first:  # the first round's DMs still say what happened to that round
        assert "was rejected by" in json.dumps(r.fake.messages[key]["blocks"])


def _open(r: Running, user: str, case_id: int, name: str) -> dict[str, Any]:
    """Click the step's button; the form Slack was asked to open."""
    case = case_now(r, case_id)
    before = len(r.fake.calls_to("views.open"))
    reply = r.client.click(user, f"step:{name}", f"{case.id}:{case.step}", message_ts=case.card_ts)
    assert reply.status == 200
    r.bot.wait_idle()
    opened = r.fake.calls_to("views.open")[before:]
    assert opened, f"no form for {name}"
    return opened[-1].args["view"]


def _submit(r: Running, user: str, view: dict[str, Any], answers: dict[str, Any]) -> None:
    reply = r.client.submit(user, view, answers)
    assert reply.status == 200 and not reply.body, reply.body
    r.settle()


def _element(view: dict[str, Any], key: str) -> dict[str, Any]:
    return next(b["element"] for b in view["blocks"] if b.get("block_id") == key)


def _top(view: dict[str, Any]) -> str:
    return json.dumps([b for b in view["blocks"] if b["type"] == "context"])


def test_rework_forms_open_with_the_last_version_and_why_it_came_back(running: Running) -> None:
    r = running
    case = _to_approval(r)
    take(r, MGR, case.id, "reject_report", {"reason": "Why-why stops too early"})

    # (1) management's reason, and the corrective form filled from version 1
    form = _open(r, PROD, case.id, "submit_corrective_action")
    assert "Sent back by management" in _top(form) and "Why-why stops too early" in _top(form)
    assert f"<@{MGR}>" in _top(form)
    assert _element(form, "category")["initial_option"]["value"] == "machine"
    assert _element(form, "why")["initial_value"] == CA["why"]
    assert _element(form, "escape")["initial_value"] == CA["escape"]
    assert _element(form, "disposition")["initial_option"]["value"] == "sort"
    assert _element(form, "actions")["initial_value"] == CA["actions"]
    assert _element(form, "owner")["initial_user"] == PROD
    assert _element(form, "planned")["initial_date"] == "2026-03-20"
    assert _element(form, "action_2")["initial_value"] == CA["action_2"]
    assert _element(form, "owner_2")["initial_user"] == DEV
    assert _element(form, "planned_2")["initial_date"] == "2026-03-27"
    assert "initial_value" not in _element(form, "action_3")
    ca2 = {**CA, "why": CA["why"] + "\nNo preventive maintenance"}
    _submit(r, PROD, form, ca2)
    form = _open(r, PROD, case.id, "submit_preventive_action")
    assert "Why-why stops too early" in _top(form)  # the preventive report came back too
    assert _element(form, "m_machine")["initial_value"] == PA["m_machine"]
    assert _element(form, "m_method")["initial_value"] == PA["m_method"]
    assert "initial_value" not in _element(form, "m_people")
    chosen = {o["value"] for o in _element(form, "documents")["initial_options"]}
    assert chosen == {"control_plan", "work_instruction"}
    assert _element(form, "revisions")["initial_value"] == "CP-12 rev D"
    _submit(r, PROD, form, PA)
    # once resubmitted, editing the corrective report no longer says it came back
    form = _open(r, PROD, case.id, "submit_corrective_action")
    assert "Sent back" not in _top(form)
    assert _element(form, "why")["initial_value"] == ca2["why"]

    # (2) the customer's objection
    take(r, MGR, case.id, "approve_report")
    take(r, TQ, case.id, "send_to_customer", {"method": "email"})
    objection = "Customer wants the SPI data of the last 3 lots"
    take(r, MKT, case.id, "record_customer_acceptance", {"accepted": "no", "note": objection})
    assert case_now(r, case.id).status == "corrective"
    form = _open(r, PROD, case.id, "submit_corrective_action")
    assert "The customer did not accept the report" in _top(form) and objection in _top(form)
    assert _element(form, "why")["initial_value"] == ca2["why"]
    _submit(r, PROD, form, ca2)
    take(r, PROD, case.id, "submit_preventive_action", PA)

    # (3) the failed lot
    take(r, MGR, case.id, "approve_report")
    take(r, TQ, case.id, "send_to_customer", {"method": "email"})
    take(r, MKT, case.id, "record_customer_acceptance", {"accepted": "yes", "note": "OK"})
    lot = {"lot": "L0400", "quantity": "500", "result": "same_problem", "notes": "bridges on U3"}
    take(r, TQ, case.id, "record_lot_check", lot)
    assert case_now(r, case.id).status == "corrective"
    form = _open(r, PROD, case.id, "submit_corrective_action")
    top = _top(form)
    assert "Lot L0400 showed the same problem" in top and "bridges on U3" in top
    assert objection not in top


def test_the_summary_keeps_block_kit_limits_with_long_chinese_reports(mixed: Running) -> None:
    """Every field at its longest, in Chinese: the DMs (one in Chinese) and the card still
    go out (the fake Slack refuses blocks over Slack's limits), cut with "…"."""
    r = mixed
    case = file_complaint(r)
    long_ca = {
        **CA,
        "why": "\n".join(f"第{n}个为什么：" + "钢网磨损导致连锡" * 20 for n in range(1, 9)),
        "actions": "更换钢网并全检库存" * 330,
        "action_2": "增加钢网寿命计数器" * 330,
    }
    long_pa = {f"m_{k}": "建立钢网寿命管理制度" * 290 for k in ("people", "machine", "method")}
    walk_to_approval(
        r,
        case.id,
        unit="production",
        member=PROD,
        reason="连锡：我方工艺",
        containment="隔离全部库存",
        corrective=long_ca,
        preventive={**long_pa, "documents": ["control_plan"]},
    )
    case = case_now(r, case.id)
    assert case.status == "approval" and case.delivery_error is None
    dms = _approval_dms(r)
    assert len(dms) == 2
    for msg in dms.values():
        summary = next(b for b in msg["blocks"] if "钢网" in json.dumps(b, ensure_ascii=False))
        assert len(summary["text"]["text"]) <= 3000 and "…" in summary["text"]["text"]
    card = r.fake.messages[(COMPLAINTS, case.card_ts)]
    assert "第8个为什么" in json.dumps(card["blocks"], ensure_ascii=False)  # the root cause
