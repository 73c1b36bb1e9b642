"""Issue 12, fine points 3(c), 3(d), 3(e), walked through signed HTTP and the fake Slack.

- (c) "Customer informed" records what Marketing told the customer and how the customer
  took it; a dispute goes back to the responsibility decision with the clocks restarted.
- (d) When Technical Quality files first, Marketing is told at once and the customer's
  contact window (who speaks to the customer, by when) is recorded (procedure 5.1.2).
- (e) Service complaints are in scope (产品、服务): no product, lot or quantity needed.
"""

from __future__ import annotations

import json
from typing import Any

from bot.records import content, register
from bot.records.words import Words
from tests.conftest import COMPLAINTS, MANAGEMENT, MKT, MKT2, TQ, Running
from tests.procedure import card_buttons, case_now, events, take, thread_texts
from tests.test_intake import open_form


def card(r: Running, case_id: int) -> str:
    c = case_now(r, case_id)
    return json.dumps(r.fake.messages[(COMPLAINTS, c.card_ts)]["blocks"], ensure_ascii=False)


def dms(r: Running, user: str) -> list[str]:
    return [
        json.dumps(c.args.get("blocks", []), ensure_ascii=False) + c.args.get("text", "")
        for c in r.fake.calls_to("chat.postMessage")
        if c.args.get("channel") == user
    ]


def submit_intake(r: Running, user: str, answers: dict[str, Any]) -> Any:
    from tests.test_intake import GOOD

    return r.client.submit(user, open_form(r, user), {**GOOD, **answers})


def latest_case(r: Running) -> Any:
    from sqlalchemy import select

    from bot.models import Case

    with r.desk.sessions() as s:
        return s.scalars(select(Case).order_by(Case.id.desc())).first()


def informed_form(r: Running, user: str, case_id: int) -> dict[str, Any]:
    c = case_now(r, case_id)
    before = len(r.fake.calls_to("views.open"))
    assert r.client.click(user, "step:confirm_customer_informed", f"{c.id}:{c.step}").status == 200
    r.bot.wait_idle()
    opened = r.fake.calls_to("views.open")[before:]
    assert opened, "Customer informed opens a form"
    return opened[-1].args["view"]


# --- (c) ---------------------------------------------------------------------------------


def test_a_disputed_not_ours_decision_goes_back_to_responsibility(running: Running) -> None:
    r = running
    assert submit_intake(r, MKT, {}).body == ""
    r.settle()
    case = latest_case(r)
    take(r, TQ, case.id, "confirm_information")
    take(
        r,
        TQ,
        case.id,
        "decide_responsibility",
        {"party": "customer", "reason": "Photos show damage by the customer's jig"},
    )
    first = case_now(r, case.id)
    assert first.status == "customer_notice"

    # the form asks what was said and how it was taken; a dispute needs the customer's words
    view = informed_form(r, MKT, case.id)
    assert {b.get("block_id") for b in view["blocks"]} >= {"told", "reaction", "words"}
    told = "Explained tactfully with the photos that the jig damaged the parts"
    reply = r.client.submit(MKT, view, {"told": told, "reaction": "disputed"})
    assert reply.json()["response_action"] == "errors"
    assert set(reply.json()["errors"]) == {"words"}
    assert case_now(r, case.id).status == "customer_notice"

    r.clock.advance(days=2)  # the dispute comes two days later: the clocks restart from it
    words = "Our jig is certified; the parts cracked on arrival"
    reply = r.client.submit(MKT, view, {"told": told, "reaction": "disputed", "words": words})
    assert reply.status == 200 and reply.body == ""
    r.settle()
    c = case_now(r, case.id)
    assert c.status == "responsibility" and c.is_open and c.responsibility is None
    assert c.closure is None and c.closed_at is None
    assert c.ca_due_at > first.ca_due_at and c.pa_due_at > first.pa_due_at
    assert c.ca_done_at is None and c.pa_done_at is None
    ev = events(r, case.id)[-1]
    assert ev.kind == "confirm_customer_informed"
    assert ev.data["told"] == told and ev.data["reaction"] == "disputed"
    assert ev.data["words"] == words and ev.data["to"] == "responsibility"
    post = thread_texts(r, c)[-1]
    assert "Disputed it" in post and "cracked on arrival" in post and "jig damaged" in post
    assert "responsibility decided again" in post  # the thread says why it is open again
    assert card_buttons(r, c) == ["step:decide_responsibility"]

    # decided again (still theirs), told again, and this time accepted: closed, not ours
    take(r, TQ, case.id, "decide_responsibility", {"party": "customer", "reason": "Lab report"})
    view = informed_form(r, MKT, case.id)
    reply = r.client.submit(MKT, view, {"told": "Sent the lab report", "reaction": "accepted"})
    assert reply.body == ""
    r.settle()
    c = case_now(r, case.id)
    assert c.status == "closed" and c.closure == "not_ours" and not c.is_open
    ev = events(r, case.id)[-1]
    assert ev.data["reaction"] == "accepted" and ev.data["told"] == "Sent the lab report"
    assert "Accepted it" in thread_texts(r, c)[-1]


# --- (d) ---------------------------------------------------------------------------------


def test_quality_filing_first_tells_marketing_and_records_the_contact_window(
    running: Running,
) -> None:
    r = running
    # Technical Quality heard it first: the form wants the contact window named
    reply = submit_intake(r, TQ, {"customer": "Zeta 客户"})
    assert reply.json()["response_action"] == "errors"
    assert set(reply.json()["errors"]) == {"window"}
    assert r.desk.count_cases() == 0

    before = {u: len(dms(r, u)) for u in (MKT, MKT2)}
    reply = submit_intake(
        r, TQ, {"customer": "Zeta 客户", "window": MKT2, "window_by": "2026-03-04"}
    )
    assert reply.body == ""
    r.settle()
    case = latest_case(r)
    assert case.reporter_id == TQ and case.contact_window == MKT2
    assert str(case.contact_by) == "2026-03-04"
    # every Marketing member is told at once, by direct message, with the contact window
    for u in (MKT, MKT2):
        told = dms(r, u)[before[u] :]
        assert len(told) == 1, told
        assert case.ref in told[0] and "Technical Quality filed" in told[0]
        assert f"<@{MKT2}>" in told[0]
    # the card is the filing's message (no thread post): it shows who speaks to the
    # customer, by when
    assert thread_texts(r, case) == []
    shown = card(r, case.id)
    assert "Speaks to the customer" in shown and f"<@{MKT2}>" in shown

    # Marketing filing it is the usual path: nobody else in Marketing is messaged
    before = len(dms(r, MKT2))
    assert submit_intake(r, MKT, {"customer": "Eta"}).body == ""
    r.settle()
    assert len(dms(r, MKT2)) == before
    mine = latest_case(r)
    assert mine.contact_window in (None, "") and "Speaks to the customer" not in card(r, mine.id)


# --- (e) ---------------------------------------------------------------------------------


def test_a_service_complaint_needs_no_product_lot_or_quantity(running: Running) -> None:
    r = running
    empty = {"product": None, "lots": "", "quantity": ""}
    # a product complaint (the default) still needs all three
    reply = submit_intake(r, MKT, empty)
    assert set(reply.json()["errors"]) == {"product", "lots", "quantity"}
    reply = submit_intake(r, MKT, {**empty, "kind": "product"})
    assert set(reply.json()["errors"]) == {"product", "lots", "quantity"}
    assert r.desk.count_cases() == 0

    # a service complaint does not; whatever was typed in them is not kept
    service = {
        **empty,
        "kind": "service",
        "lots": "L-typed-by-mistake",
        "urgent": ["urgent"],
        "description": "The delivery came three days late and the driver left it in the rain",
    }
    assert submit_intake(r, MKT, service).body == ""
    r.settle()
    case = latest_case(r)
    assert case.complaint_kind == "service"
    assert (case.product, case.lots, case.quantity) == ("", "", 0)

    shown = card(r, case.id)
    assert "A service" in shown
    assert "Quantity" not in shown and "Lots" not in shown and "Product" not in shown
    assert "L-typed-by-mistake" not in shown and thread_texts(r, case) == []
    # the urgent alert to management and a step's form name it a service complaint too
    alerts = [
        json.dumps(c.args.get("blocks", []), ensure_ascii=False) + c.args.get("text", "")
        for c in r.fake.calls_to("chat.postMessage")
        if c.args.get("channel") == MANAGEMENT
    ]
    assert alerts and "Service complaint" in alerts[-1] and "qty" not in alerts[-1]
    before = len(r.fake.calls_to("views.open"))
    c = case_now(r, case.id)
    r.client.click(TQ, "step:confirm_information", f"{c.id}:{c.step}", message_ts=c.card_ts)
    r.bot.wait_idle()
    (form,) = r.fake.calls_to("views.open")[before:]
    assert "Service complaint" in json.dumps(form.args["view"]["blocks"])

    # the register and the report say it is a service complaint, not an empty product
    full = r.desk.get_case(case.id)
    (row,) = register.rows([full], {}, r.desk.calendar, r.desk.tz, Words())
    assert "Service complaint" in row and 0 not in row[:6]
    doc = content.improvement_report(full, [], str, r.desk.tz, Words())
    header = dict(doc.blocks[0][1])
    assert header["Product"] == "Service complaint"
    assert "Lots" not in header and "Quantity" not in header

    # and a product complaint still shows its product lines
    assert submit_intake(r, MKT, {"customer": "Theta"}).body == ""
    r.settle()
    product = latest_case(r)
    assert product.complaint_kind == "product"
    assert "Quantity" in card(r, product.id) and "A service" not in card(r, product.id)
