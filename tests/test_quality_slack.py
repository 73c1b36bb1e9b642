"""Issue 14 through Slack: names suggested as you type (signed `block_suggestion`
requests), the category on the confirmation form, the card's recurrence line and its link
button, `/complaint stats` and the monthly report in the management channel."""

from __future__ import annotations

import json
from typing import Any

from bot.sandbox.fakeslack import validate_view
from tests.conftest import COMPLAINTS, MANAGEMENT, MKT, OUTSIDER, TQ, Running
from tests.procedure import case_now, ephemerals, events, take
from tests.test_intake import file_complaint, open_form


def card_text(r: Running, case: Any) -> str:
    return json.dumps(r.fake.messages[(COMPLAINTS, case.card_ts)]["blocks"], ensure_ascii=False)


def test_intake_suggests_existing_names_and_takes_a_new_one(running: Running) -> None:
    r = running
    file_complaint(r, customer="苏州精密电子有限公司", product="PCB-7731 rev C")
    file_complaint(r, customer="Acme Motors", product="PCB-7731 rev C")
    view = open_form(r)
    assert validate_view(view) == []  # external_select with min_query_length passes
    customer = next(b for b in view["blocks"] if b.get("block_id") == "customer")["element"]
    assert customer["type"] == "external_select" and customer["min_query_length"] == 1

    def offered(action_id: str, typed: str) -> list[tuple[str, str]]:
        reply = r.client.suggest(MKT, view, action_id, typed)
        assert reply.status == 200, reply.body
        return [(o["text"]["text"], o["value"]) for o in json.loads(reply.body)["options"]]

    assert offered("customer_name", "苏州") == [
        ("new: 苏州", "苏州"),
        ("苏州精密电子有限公司", "苏州精密电子有限公司"),
    ]
    # a typo still finds the name; an exact name is not offered again as new
    assert ("Acme Motors", "Acme Motors") in offered("customer_name", "acme motor")
    assert offered("customer_name", "Acme Motors") == [("Acme Motors", "Acme Motors")]
    assert offered("product_name", "pcb-7731") == [
        ("new: pcb-7731", "pcb-7731"),
        ("PCB-7731 rev C", "PCB-7731 rev C"),
    ]
    # what is picked (a new name included) is what the case records
    case = file_complaint(r, customer="Brand New Co", product="PCB-1")
    assert (case.customer, case.product) == ("Brand New Co", "PCB-1")


def test_technical_quality_chooses_the_category_when_confirming(running: Running) -> None:
    r = running
    case = file_complaint(r)
    reply = take(r, TQ, case.id, "confirm_information", {"category": None}, expect_modal=True)
    assert json.loads(reply.body)["errors"] == {"category": "Choose the complaint category."}
    view = r.fake.calls_to("views.open")[-1].args["view"]
    assert validate_view(view) == []
    select = next(b for b in view["blocks"] if b.get("block_id") == "category")["element"]
    assert [o["value"] for o in select["options"]][:3] == ["appearance", "dimension", "function"]
    take(r, TQ, case.id, "confirm_information", {"category": "packaging"})
    assert case_now(r, case.id).category == "packaging"
    assert events(r, case.id)[-1].data["category"] == "packaging"


def test_card_shows_the_earlier_case_and_technical_quality_links_it(running: Running) -> None:
    r = running
    first = file_complaint(r)
    second = file_complaint(r)  # the same customer and product
    assert f"Possibly the same problem as *{first.ref}* (still open)" in card_text(r, second)
    value = f"{second.id}:{case_now(r, second.id).step}"
    r.client.click(MKT, "recurrence:link", value, message_ts=second.card_ts)
    r.settle()
    assert any("Only Technical Quality" in t for t in ephemerals(r, MKT))
    assert case_now(r, second.id).linked_to_id is None
    r.client.click(TQ, "recurrence:link", value, message_ts=second.card_ts)
    r.settle()
    assert case_now(r, second.id).linked_to_id == first.id
    assert f"Linked to *{first.ref}*" in card_text(r, second)
    assert "recurrence:link" not in card_text(r, second)
    assert events(r, first.id)[-1].kind == "recurrence_linked"
    # a second click on the old card changes nothing
    r.client.click(TQ, "recurrence:link", value, message_ts=second.card_ts)
    r.settle()
    assert [e.kind for e in events(r, second.id)].count("link_recurrence") == 1
    f = r.desk.kpis(_period(r), r.desk.now())
    assert (f.total, f.recurrences) == (2, 1)


def _period(r: Running) -> Any:
    from bot.workflow.stats import month_of

    return month_of(r.desk.now().astimezone(r.desk.tz).date())


def test_stats_command_answers_with_figures_and_sends_the_charts(running: Running) -> None:
    r = running
    file_complaint(r)
    file_complaint(r, customer="Beta", product="P2")
    reply = r.client.command(OUTSIDER, "stats")
    assert "Only Technical Quality or Management" in reply.body  # (Bolt sends bare text)
    reply = r.client.command(TQ, "stats 2026-03")
    text = reply.body
    assert "*Complaint figures March 2026*" in text
    assert "• *Complaints received:* 2" in text
    assert "• *By customer:* Acme Motors 1, Beta 1" in text
    r.settle()
    (png,) = [f for f in r.fake.uploaded() if f["name"].endswith(".png")]
    assert png["name"] == "complaint-figures-2026-03-01-2026-03-31.png"
    assert png["content"][:4] == b"\x89PNG" and png["channel"].startswith("D")  # a DM
    bad = r.client.command(TQ, "stats someday")
    assert "is not a period" in bad.body


def test_monthly_report_goes_to_the_management_channel_once(running: Running) -> None:
    r = running
    file_complaint(r)  # Tue 3 Mar 2026
    r.clock.now = r.clock.now.replace(month=4, day=1)  # Wed 1 Apr: a working day
    assert r.desk.monthly_report(r.desk.now()) is not None
    assert r.desk.monthly_report(r.desk.now()) is None
    r.settle()
    (report,) = [f for f in r.fake.uploaded(MANAGEMENT)]
    assert report["name"] == "complaint-figures-2026-03-01-2026-03-31.png"
    assert "• *Complaints received:* 1" in report["comment"]
