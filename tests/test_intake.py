"""Flow step 1 end to end: `/complaint new` → modal → case, card, thread, confirmation."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import func, select

from bot.models import Case, CaseEvent, Outbox
from bot.workflow import IntakeForm, validate_intake
from tests.conftest import COMPLAINTS, MKT, OUTSIDER, TQ, Running

GOOD = {
    "customer": "Acme Motors",
    "contact": "Li Wei, +86 21 5555 0101",
    "product": "PCB-7731 rev C",
    "lots": "L2026-0211, L2026-0212",
    "quantity": "1,200",
    "via": "email",
    "description": "Solder bridges on U3 pins 4-5 found at incoming inspection.",
    "deadline": None,
    "urgent": [],
    "notes": "",
}


def mrkdwn_texts(node: Any) -> list[str]:
    """Every mrkdwn text in a block tree: the only places Slack turns `<…>` into pings and
    links (plain_text shows them literally)."""
    if isinstance(node, dict):
        own = [node["text"]] if node.get("type") == "mrkdwn" else []
        return own + [t for v in node.values() for t in mrkdwn_texts(v)]
    if isinstance(node, list):
        return [t for v in node for t in mrkdwn_texts(v)]
    return []


def open_form(r: Running, user: str = MKT) -> dict[str, Any]:
    before = len(r.fake.calls_to("views.open"))
    reply = r.client.command(user, "new")
    assert reply.status == 200
    r.bot.wait_idle()  # the modal is opened right after the ack
    opened = r.fake.calls_to("views.open")
    assert len(opened) == before + 1, "the modal was not opened"
    return opened[-1].args["view"]


def file_complaint(r: Running, user: str = MKT, **answers: Any) -> Case:
    view = open_form(r, user)
    reply = r.client.submit(user, view, {**GOOD, **answers})
    assert reply.status == 200 and not reply.body, reply.body
    r.settle()
    with r.desk.sessions() as s:
        return s.scalars(select(Case).order_by(Case.id.desc())).first()


def test_new_complaint_creates_case_card_thread_and_confirmation(running: Running) -> None:
    r = running
    view = open_form(r)
    assert view["callback_id"] == "complaint_new"
    assert {b.get("block_id") for b in view["blocks"]} >= {
        "customer",
        "contact",
        "product",
        "lots",
        "quantity",
        "via",
        "description",
        "deadline",
        "urgent",
        "evidence",
        "notes",
    }

    case = file_complaint(r)
    assert case.ref == f"CC-{r.clock.now.year}-0001"
    assert case.status == "received" and case.reporter_id == MKT
    assert case.quantity == 1200 and case.received_at == r.clock.now
    # due: Tue 3 Mar 2026 10:00 Shanghai + 1 working day = Wed 4 Mar 17:30 Shanghai
    assert case.ca_due_at.isoformat() == "2026-03-04T09:30:00+00:00"
    assert case.pa_due_at.isoformat() == "2026-03-06T09:30:00+00:00"

    posts = r.fake.calls_to("chat.postMessage")
    card = next(c for c in posts if c.args["channel"] == COMPLAINTS and "thread_ts" not in c.args)
    assert case.card_ts and case.channel_id == COMPLAINTS
    text = json.dumps(card.args["blocks"])
    assert case.ref in text and "Acme Motors" in text and "step:confirm_information" in text
    # the card is the filing's one message (issue 10, 7(d)): it @-mentions Technical
    # Quality (its people and user group) and the reporter, so there is no first thread
    # post and no confirmation DM to tell them
    assert f"<@{TQ}>" in text and "<!subteam^S0TQGRP>" in text and f"<@{MKT}>" in text
    assert r.fake.thread(COMPLAINTS, case.card_ts) == []
    assert [c for c in posts if c.args["channel"] == MKT] == []
    assert len(posts) == 1
    with r.desk.sessions() as s:
        ev = s.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)).all()
        assert [e.kind for e in ev] == ["filed"] and ev[0].actor == MKT
        assert (
            s.scalar(select(func.count()).select_from(Outbox).where(Outbox.status != "sent")) == 0
        )


def test_validation_errors_come_back_inline_and_create_nothing(running: Running) -> None:
    r = running
    view = open_form(r)
    past = "2020-01-01"
    reply = r.client.submit(
        MKT, view, {**GOOD, "customer": "  ", "quantity": "-3", "deadline": past, "via": None}
    )
    assert reply.status == 200
    body = reply.json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"customer", "quantity", "deadline", "via"}
    reply = r.client.submit(MKT, view, {**GOOD, "quantity": "12.5"})
    assert set(reply.json()["errors"]) == {"quantity"}
    assert r.desk.count_cases() == 0
    assert r.fake.calls_to("chat.postMessage") == []


def test_hostile_text_pings_nobody(running: Running) -> None:
    r = running
    case = file_complaint(
        r,
        customer="<!channel> @here <@U0TQ1|boss>",
        description="see <https://evil.example|invoice> & <!everyone>",
    )
    assert case.customer.startswith("<!channel>")  # stored whole
    for call in r.fake.calls_to("chat.postMessage") + r.fake.calls_to("chat.update"):
        blob = " ".join(mrkdwn_texts(call.args.get("blocks", []))) + call.args.get("text", "")
        assert "<!channel>" not in blob and "<!everyone>" not in blob
        assert "<https://evil.example" not in blob and "<@U0TQ1|boss>" not in blob
    card = r.fake.messages[(COMPLAINTS, case.card_ts)]
    assert "&lt;!channel&gt;" in json.dumps(card["blocks"])


def test_references_are_sequential_and_unique_under_concurrent_submissions(
    running: Running,
) -> None:
    import concurrent.futures as cf

    r = running
    views = [open_form(r) for _ in range(8)]
    with cf.ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda v: r.client.submit(MKT, v, GOOD), views))
    assert all(x.status == 200 and not x.body for x in replies)
    assert r.bot.wait_idle()  # the worker files what the handlers accepted
    # and several workers (or processes) filing at the same instant take distinct numbers
    actor = r.bot.directory.actor(MKT)
    form = IntakeForm(**{**GOOD, "deadline": None, "urgent": False})
    complaint = validate_intake(form, today=r.clock().date())
    with cf.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: r.desk.file_complaint(complaint, actor, r.clock()), range(8)))
    with r.desk.sessions() as s:
        refs = sorted(s.scalars(select(Case.ref)))
    assert refs == [f"CC-2026-{n:04d}" for n in range(1, 17)]


def test_double_submit_of_the_same_form_files_one_case(running: Running) -> None:
    r = running
    view = open_form(r)
    a = r.client.submit(MKT, view, GOOD, view_id="VDOUBLE01")
    b = r.client.submit(MKT, view, GOOD, view_id="VDOUBLE01")
    assert a.status == b.status == 200
    r.settle()
    assert r.desk.count_cases() == 1
    assert (
        len(
            [
                c
                for c in r.fake.calls_to("chat.postMessage")
                if c.args["channel"] == COMPLAINTS and "thread_ts" not in c.args
            ]
        )
        == 1
    )


def test_bad_or_old_signature_is_refused_before_any_work(running: Running) -> None:
    r = running
    assert r.client.command(MKT, "new", signature="v0=deadbeef").status == 401
    assert r.client.command(MKT, "new", timestamp=int(time.time()) - 600).status == 401
    assert r.fake.calls_to("views.open") == []
    view = {"type": "modal", "callback_id": "complaint_new", "blocks": []}
    assert r.client.submit(MKT, view, {}, signature="v0=00").status == 401
    assert r.desk.count_cases() == 0


def test_only_marketing_or_quality_may_file(running: Running) -> None:
    r = running
    reply = r.client.command(OUTSIDER, "new")
    assert reply.status == 200 and "Only Marketing or Technical Quality" in reply.body
    assert r.fake.calls_to("views.open") == []
    open_form(r, TQ)  # TQ may receive a complaint first (PROCEDURE.md, Roles)


def test_help_show_list_and_unknown(running: Running) -> None:
    r = running
    case = file_complaint(r)
    assert "/complaint new" in r.client.command(MKT, "help").body
    assert "Unknown command" in r.client.command(MKT, "frobnicate").body
    shown = r.client.command(MKT, f"show {case.ref}").json()
    assert case.ref in json.dumps(shown["blocks"]) and "Timeline" in json.dumps(shown)
    # someone in no role, not the reporter, in no unit of the case: not shown
    assert "Timeline" not in r.client.command(OUTSIDER, f"show {case.ref}").body
    assert "no case" in r.client.command(MKT, "show CC-1999-0001").body
    # `list` is what waits for you: the new case waits for Technical Quality
    listed = r.client.command(TQ, "list").json()
    assert case.ref in json.dumps(listed["blocks"])
    other = r.client.command("U0MKT2", "list").json()
    assert case.ref not in json.dumps(other["blocks"])
    assert case.ref in json.dumps(r.client.command("U0MKT2", "list all").json()["blocks"])


def test_healthz(running: Running) -> None:
    import urllib.request

    with urllib.request.urlopen(running.url + "/healthz") as resp:
        assert resp.status == 200 and resp.read() == b"ok"
