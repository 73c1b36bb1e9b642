"""The to-do of each person (issue 12, point 1) and people told when it matters (3(i)):
the App Home tab and `/complaint list`, through signed HTTP against the fake Slack."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import select

from bot.models import Outbox
from bot.sandbox.fakeslack import validate_view
from tests.conftest import MGR, MKT, OUTSIDER, PROD, TQ, TQ2, Running
from tests.procedure import CONFIRM, case_now, take, walk_to_approval
from tests.slackclient import TEAM
from tests.test_intake import file_complaint
from tests.test_paths import home_lists, open_home

CORRECTIVE = {
    "category": "method",
    "why": "stencil worn\nno check",
    "disposition": "sort",
    "actions": "new stencil",
    "owner": PROD,
    "planned": "2026-03-20",
}
PREVENTIVE = {"m_method": "check the stencil every shift", "documents": ["work_instruction"]}


def click_home(r: Running, user: str, action_id: str, value: str) -> None:
    """A button on the Home tab: a view container, no channel (as Slack sends it)."""
    payload = {
        "type": "block_actions",
        "team": TEAM,
        "user": {"id": user, "username": user.lower(), "team_id": TEAM["id"]},
        "api_app_id": "A0000TEST",
        "token": "legacy",
        "container": {"type": "view", "view_id": "V0HOME"},
        "trigger_id": r.client.triggers(),
        "view": {"id": "V0HOME", "type": "home"},
        "actions": [
            {
                "action_id": action_id,
                "block_id": "b",
                "value": value,
                "type": "button",
                "text": {"type": "plain_text", "text": "x"},
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    assert r.client.interaction(payload).status == 200
    r.bot.wait_idle()
    r.settle()


def buttons(view: dict[str, Any]) -> list[tuple[str, str]]:
    """(action_id, value) of every button of a view, accessories included."""
    out = []
    for b in view["blocks"]:
        els = b.get("elements", []) if b["type"] == "actions" else [b.get("accessory") or {}]
        out += [(e["action_id"], e.get("value", "")) for e in els if e.get("type") == "button"]
    return out


def dms(r: Running, user: str) -> list[str]:
    return [
        json.dumps(c.args.get("blocks", [])) + c.args.get("text", "")
        for c in r.fake.calls_to("chat.postMessage")
        if c.args.get("channel") == user
    ]


def published_to(r: Running, user: str, since: int = 0) -> list[dict[str, Any]]:
    return [
        c.args["view"]
        for c in r.fake.calls_to("views.publish")[since:]
        if c.args.get("user_id") == user
    ]


def test_home_button_takes_the_step_and_every_concerned_home_is_refreshed(running) -> None:
    r = running
    case = file_complaint(r)
    # the reporter and someone unconcerned have their Home open too (issue 10, 7(d):
    # only Homes in use are republished; test_a_home_nobody_has_open_is_not_published)
    open_home(r, MKT)
    open_home(r, OUTSIDER)
    view = open_home(r, TQ)
    assert not validate_view(view)
    lists = home_lists(view)
    assert case.ref in lists["Waiting for you"]
    # what is due, when, and the working time left
    assert "Confirming the information" in lists["Waiting for you"]
    assert "of working time left" in lists["Waiting for you"]
    value = f"{case.id}:{case.step}"
    assert ("step:confirm_information", value) in buttons(view)
    assert ("home_new_complaint", "new") in buttons(view)

    mark = len(r.fake.calls_to("views.publish"))
    opened = len(r.fake.calls_to("views.open"))
    click_home(r, TQ, "step:confirm_information", value)
    # the button opens the step's form (the category, issue 14), as on the card
    form = r.fake.calls_to("views.open")[opened:]
    assert form, "the Home button opened no form"
    assert r.client.submit(TQ, form[-1].args["view"], CONFIRM).status == 200
    r.settle()
    assert case_now(r, case.id).status == "responsibility"
    # nobody opened Home again: the change republished TQ's and the reporter's
    tq_now = published_to(r, TQ, mark)
    assert tq_now and case.ref in home_lists(tq_now[-1])["Waiting for you"]
    assert "Deciding responsibility" in home_lists(tq_now[-1])["Waiting for you"]
    assert published_to(r, MKT, mark)
    assert not published_to(r, OUTSIDER, mark)

    # production's turn: its member is told by DM, and finds the case on Home
    open_home(r, PROD)
    before = len(dms(r, PROD))
    take(
        r,
        TQ,
        case.id,
        "decide_responsibility",
        {"party": "ours", "units": ["production"], "reason": "ours"},
    )
    assert len(dms(r, PROD)) == before  # still Technical Quality's step (severity)
    take(r, TQ, case.id, "classify_severity", {"severity": "B"})
    told = dms(r, PROD)[before:]
    assert len(told) == 1 and "Your turn" in told[0] and case.ref in told[0]
    assert "Containment" in told[0]
    prod_home = published_to(r, PROD)[-1]
    assert case.ref in home_lists(prod_home)["Waiting for you"]
    assert ("step:record_containment", f"{case.id}:{case_now(r, case.id).step}") in buttons(
        prod_home
    )
    # the unit's further steps are not "a new turn": one DM, not one per report
    take(r, PROD, case.id, "record_containment", {"actions": "sorted"})
    assert len(dms(r, PROD)[before:]) == 1


def test_managers_see_what_awaits_their_approval_and_approve_from_home(running) -> None:
    r = running
    case = file_complaint(r)
    walk_to_approval(
        r,
        case.id,
        unit="production",
        member=PROD,
        reason="stencil",
        containment="sorted",
        corrective=CORRECTIVE,
        preventive=PREVENTIVE,
    )
    view = open_home(r, MGR)
    lists = home_lists(view)
    assert case.ref in lists["Awaiting your approval"]
    assert "Approval" in lists["Awaiting your approval"]
    assert case.ref not in lists.get("Waiting for you", "")
    step = case_now(r, case.id).step
    assert ("step:approve_report", f"{case.id}:{step}") in buttons(view)
    assert ("step:reject_report", f"{case.id}:{step}") in buttons(view)
    # Technical Quality has no approval list, and the case is not waiting for it
    tq = home_lists(open_home(r, TQ))
    assert "Awaiting your approval" not in tq and case.ref not in tq["Waiting for you"]
    # the production member owns the corrective action: it is on their list
    prod = home_lists(open_home(r, PROD))
    assert (
        case.ref in prod["Waiting for you"]
        and "You own the corrective action" in prod["Waiting for you"]
    )
    click_home(r, MGR, "step:approve_report", f"{case.id}:{step}")
    assert case_now(r, case.id).status == "approved"
    after = home_lists(published_to(r, MGR)[-1])
    assert case.ref not in after["Awaiting your approval"]


def test_a_home_nobody_has_open_is_not_published(running) -> None:
    """Issue 10, 7(d): a change republishes only the Homes opened within HOME_LIVE_HOURS
    (8 by default); anyone else's is built when they open it, with the change in it."""
    r = running
    case = file_complaint(r)
    # nobody has opened their Home yet: no refresh is even queued
    with r.desk.readers() as s:
        kinds = list(s.scalars(select(Outbox.kind)))
    assert "card_post" in kinds and "home_refresh" not in kinds
    open_home(r, TQ)  # Technical Quality's Home is in use; the reporter never opened theirs
    r.clock.advance(hours=2)
    mark = len(r.fake.calls_to("views.publish"))
    take(r, TQ, case.id, "confirm_information", CONFIRM)
    assert published_to(r, TQ, mark) and not published_to(r, MKT, mark)
    # the reporter opens Home later: built then, it shows the change
    mine = home_lists(open_home(r, MKT))["Reported by you"]
    assert case.ref in mine and "Deciding responsibility" in mine
    # nine hours after its last visit, Technical Quality's Home is no longer pushed
    r.clock.advance(hours=9)
    mark = len(r.fake.calls_to("views.publish"))
    take(
        r,
        TQ,
        case.id,
        "decide_responsibility",
        {"party": "ours", "units": ["production"], "reason": "ours"},
    )
    assert case_now(r, case.id).status == "severity"
    assert r.fake.calls_to("views.publish")[mark:] == []


def test_clicks_on_the_tab_while_a_home_is_built_are_answered_by_one_build(running) -> None:
    """Issue 10, 7(e): Slack sends `app_home_opened` at every click on the tab. One Home
    is built at a time in a process, and asks for the same Home made while one waits are
    answered by that build, which reads after them: five quick clicks, one publish, and it
    shows the case filed just before."""
    from bot.slack import home

    r = running
    case = file_complaint(r)
    mark = len(r.fake.calls_to("views.publish"))
    listeners = r.bot.listeners
    assert listeners is not None
    with home._BUILDING:  # another Home is being built
        for _ in range(5):
            event = {"type": "app_home_opened", "user": TQ, "tab": "home", "channel": "D0TQ"}
            assert r.client.event(event).status == 200
        # the first click waits for the build; the four after it are left to that one
        deadline = time.monotonic() + 10
        while listeners._running != 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert listeners._running == 1
        assert published_to(r, TQ, mark) == []
    r.bot.wait_idle()
    r.settle()
    (view,) = published_to(r, TQ, mark)
    assert case.ref in home_lists(view)["Waiting for you"]
    # a click after that build is a new ask: built and published again
    assert open_home(r, TQ) is not None


def test_home_pages_within_100_blocks_and_shows_more(running) -> None:
    r = running
    cases = [file_complaint(r, customer=f"Customer {i:02d}") for i in range(24)]
    view = open_home(r, TQ)
    assert len(view["blocks"]) <= 100 and not validate_view(view)
    more = [v for a, v in buttons(view) if a == "home_more"]
    assert more == ["waiting:20"]
    waiting = home_lists(view)["Waiting for you"]
    assert sum(c.ref in waiting for c in cases) == 10
    mark = len(r.fake.calls_to("views.publish"))
    click_home(r, TQ, "home_more", more[0])
    (longer,) = published_to(r, TQ, mark)
    assert len(longer["blocks"]) <= 100 and not validate_view(longer)
    waiting = home_lists(longer)["Waiting for you"]
    assert sum(c.ref in waiting for c in cases) == 20
    assert [v for a, v in buttons(longer) if a == "home_more"] == ["waiting:30"]


def test_new_complaint_button_opens_the_form(running) -> None:
    r = running
    before = len(r.fake.calls_to("views.open"))
    click_home(r, MKT, "home_new_complaint", "new")
    opened = r.fake.calls_to("views.open")[before:]
    assert len(opened) == 1 and opened[0].args["view"]["callback_id"] == "complaint_new"
    # someone without a role is not shown the button, and a forged click opens nothing
    assert ("home_new_complaint", "new") not in buttons(open_home(r, OUTSIDER))
    click_home(r, OUTSIDER, "home_new_complaint", "new")
    assert len(r.fake.calls_to("views.open")) == before + 1


def _list(r: Running, user: str, text: str) -> str:
    reply = r.client.command(user, text)
    assert reply.status == 200
    return reply.body


def test_complaint_list_is_the_to_do_and_filters_it(running) -> None:
    r = running
    a = file_complaint(r, customer="Acme Motors")
    b = file_complaint(r, customer="Beta 客户")
    take(r, TQ, a.id, "confirm_information")
    take(
        r,
        TQ,
        a.id,
        "decide_responsibility",
        {"party": "ours", "units": ["production"], "reason": "x"},
    )
    take(r, TQ, a.id, "classify_severity", {"severity": "A"})
    # production owns a's containment; Technical Quality owns b's confirmation
    prod = _list(r, PROD, "list")
    assert a.ref in prod and b.ref not in prod and "record_containment" in prod
    tq = _list(r, TQ, "list")
    assert b.ref in tq and a.ref not in tq
    assert a.ref in _list(r, TQ, "list all") and b.ref in _list(r, TQ, "list all")
    sev_a = _list(r, TQ, "list A")
    assert a.ref in sev_a and b.ref not in sev_a
    beta = _list(r, MKT, "list beta")
    assert b.ref in beta and a.ref not in beta
    assert b.ref not in _list(r, OUTSIDER, "list beta")  # what they may not read is not listed
    # nothing is overdue yet; a day and a half later both clocks have passed
    assert a.ref not in _list(r, TQ, "list overdue")
    r.clock.advance(hours=36)
    overdue = _list(r, TQ, "list overdue")
    assert a.ref in overdue and b.ref in overdue


def test_the_reporter_is_told_the_outcome_at_closure(running) -> None:
    r = running
    case = file_complaint(r, customer="Gamma")
    take(r, TQ, case.id, "confirm_information")
    take(r, TQ, case.id, "decide_responsibility", {"party": "customer", "reason": "misuse"})
    before = len(dms(r, MKT))
    take(r, MKT, case.id, "confirm_customer_informed")  # the reporter closes it: no DM
    assert len(dms(r, MKT)) == before
    other = file_complaint(r, user=TQ, customer="Delta", window=MKT)
    take(r, TQ, other.id, "confirm_information")
    take(r, TQ, other.id, "decide_responsibility", {"party": "customer", "reason": "misuse"})
    before = len(dms(r, TQ))
    take(r, MKT, other.id, "confirm_customer_informed")
    told = dms(r, TQ)[before:]
    assert len(told) == 1 and other.ref in told[0] and "is closed" in told[0]
    assert "Not our responsibility" in told[0] and "misuse" in told[0]


def test_home_is_in_the_persons_language(running) -> None:
    r = running
    r.fake.set_user(TQ, locale="zh-CN")
    try:
        case = file_complaint(r)
        view = open_home(r, TQ)
    finally:  # the fake Slack outlives the test: Technical Quality reads English again
        r.fake.set_user(TQ, locale="en-US")
    text = json.dumps(view, ensure_ascii=False)
    assert "等待你处理" in text and "确认信息完整、充分" in text and "新建客诉" in text
    assert "Waiting for you" not in text and "Show more" not in text
    assert case.ref in text and not validate_view(view)
    # the same case on an English reader's Home
    assert "Waiting for you" in json.dumps(open_home(r, TQ2))
