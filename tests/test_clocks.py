"""Every step with an owner has a clock (issue 12, point 2), through signed HTTP against
the fake Slack, with the injected clock moved across a weekend and China's make-up
working day (调休): in 2025, Sat 27 Sep is off and Sun 28 Sep is worked (before the
National Day holiday, 1-8 Oct).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.workflow.reminders import run_tick
from tests.conftest import COMPLAINTS, MANAGEMENT, MGR, MKT, MKT2, PROD, TQ, Running
from tests.procedure import case_now, take, walk_to_approval
from tests.test_intake import file_complaint

SH = ZoneInfo("Asia/Shanghai")
PREVENTIVE = {"m_method": "check the stencil every shift", "documents": ["work_instruction"]}


def sh(mo: int, d: int, h: int = 0, mi: int = 0, y: int = 2025) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH).astimezone(UTC)


def corrective(planned: str) -> dict[str, Any]:
    return {
        "category": "method",
        "why": "stencil worn\nno check",
        "disposition": "sort",
        "actions": "new stencil",
        "owner": PROD,
        "planned": planned,
    }


def at(r: Running, moment: datetime) -> None:
    r.clock.now = moment


def tick(r: Running, moment: datetime) -> None:
    at(r, moment)
    run_tick(r.desk, moment, worker="test")
    r.settle()


def card(r: Running, case_id: int) -> str:
    c = case_now(r, case_id)
    return json.dumps(r.fake.messages[(COMPLAINTS, c.card_ts)]["blocks"], ensure_ascii=False)


def thread(r: Running, case_id: int) -> list[str]:
    c = case_now(r, case_id)
    return [
        json.dumps(m.get("blocks", []), ensure_ascii=False)
        for m in r.fake.thread(COMPLAINTS, c.card_ts)
    ]


def dms(r: Running, user: str) -> list[str]:
    return [
        json.dumps(c.args.get("blocks", []), ensure_ascii=False)
        for c in r.fake.calls_to("chat.postMessage")
        if c.args.get("channel") == user
    ]


def posts_in(r: Running, channel: str) -> list[str]:
    return [
        json.dumps(c.args.get("blocks", []), ensure_ascii=False)
        for c in r.fake.calls_to("chat.postMessage")
        if c.args.get("channel") == channel and not c.args.get("thread_ts")
    ]


def test_first_steps_run_on_the_working_calendar_across_a_weekend_and_a_make_up_day(
    running,
) -> None:
    r = running
    at(r, sh(9, 26, 10))  # Friday
    case = file_complaint(r)
    c = case_now(r, case.id)
    # confirming the information: the same working day
    assert (c.clock_name, c.clock_due_at) == ("confirm", sh(9, 26, 17, 30))
    assert "Confirming the information" in card(r, case.id)
    assert "by the end of the same working day" in card(r, case.id)

    at(r, sh(9, 26, 16))
    take(r, TQ, case.id, "confirm_information")
    c = case_now(r, case.id)
    # deciding responsibility, 1 working day: Saturday is off, Sunday 28 is a make-up day
    assert (c.clock_name, c.clock_due_at) == ("decide", sh(9, 28, 17, 30))
    text = card(r, case.id)
    assert "Deciding responsibility" in text
    assert "1 working day: due by the end of the next working day" in text
    assert "done" not in text

    # half-way (Sunday 12:15) and two working hours before (15:30): Technical Quality is
    # nudged, in the thread and by DM
    before_dm, before_thread = len(dms(r, TQ)), len(thread(r, case.id))

    def nudges() -> list[str]:
        return [d for d in dms(r, TQ)[before_dm:] if "Deciding responsibility" in d]

    tick(r, sh(9, 28, 12, 14))
    assert nudges() == []
    tick(r, sh(9, 28, 12, 15))
    assert len(nudges()) == 1 and "Reminder" in nudges()[0]
    tick(r, sh(9, 28, 15, 29))
    assert len(nudges()) == 1
    tick(r, sh(9, 28, 15, 30))
    assert len(nudges()) == 2
    new_posts = thread(r, case.id)[before_thread:]
    assert any("Deciding responsibility" in p for p in new_posts)

    # at the deadline: the thread, the owners by DM, and the management channel
    before_mgmt = len(posts_in(r, MANAGEMENT))
    from tests.test_paths import open_home

    open_home(r, TQ)  # Technical Quality has its Home open (only Homes in use are pushed)
    published = len(r.fake.calls_to("views.publish"))
    tick(r, sh(9, 28, 17, 30))
    # the owners' Home tabs are republished with the case overdue
    homes = [
        json.dumps(c.args["view"])
        for c in r.fake.calls_to("views.publish")[published:]
        if c.args["user_id"] == TQ
    ]
    assert homes and "overdue" in homes[-1] and case.ref in homes[-1]
    assert any("Overdue" in p and "Deciding responsibility" in p for p in dms(r, TQ)[before_dm:])
    alerts = posts_in(r, MANAGEMENT)[before_mgmt:]
    assert any("Deciding responsibility" in a for a in alerts)

    # one working day later (Monday 29 Sep 17:30): the escalation
    def escalations() -> list[str]:
        return [a for a in posts_in(r, MANAGEMENT) if "escalation" in a and "Deciding" in a]

    tick(r, sh(9, 29, 17, 29))  # (the morning digest went out on the way)
    assert escalations() == []
    tick(r, sh(9, 29, 17, 30))
    assert len(escalations()) == 1

    # the step taken: its clock stops, the next one starts (containment: 24 h from receipt)
    at(r, sh(9, 29, 18))
    decision = {"party": "ours", "units": ["production"], "reason": "stencil"}
    take(r, TQ, case.id, "decide_responsibility", decision)
    before_dm = len(dms(r, TQ))
    tick(r, sh(9, 30, 17, 30))
    assert not any("Deciding responsibility" in d for d in dms(r, TQ)[before_dm:])


def test_approval_has_one_working_day_and_the_card_says_so(running) -> None:
    r = running
    at(r, sh(9, 25, 10))  # Thursday
    case = file_complaint(r)
    at(r, sh(9, 26, 17))  # Friday, half an hour before the end of the day
    walk_to_approval(
        r,
        case.id,
        unit="production",
        member=PROD,
        reason="stencil",
        containment="sorted",
        corrective=corrective("2025-10-15"),
        preventive=PREVENTIVE,
    )
    c = case_now(r, case.id)
    assert c.status == "approval"
    # both reports are in: the card still says what is owed — the approval, by the end
    # of the next working day (the make-up Sunday), and the corrective action's date
    assert (c.clock_name, c.clock_due_at) == ("approval", sh(9, 28, 17, 30))
    text = card(r, case.id)
    assert "Approval" in text and "due by the end of the next working day" in text
    assert "Corrective action's planned completion" in text
    assert "done" not in text
    # the make-up Sunday's morning digest lists the approval due today
    before = len(posts_in(r, MANAGEMENT))
    tick(r, sh(9, 28, 8, 45))
    digests = [p for p in posts_in(r, MANAGEMENT)[before:] if "Complaint digest" in p]
    assert len(digests) == 1 and "Due today" in digests[0] and "Approval due" in digests[0]
    before = len(posts_in(r, MANAGEMENT))
    tick(r, sh(9, 28, 17, 30))
    assert any("Approval" in a and "Overdue" in a for a in posts_in(r, MANAGEMENT)[before:])
    assert any("Approval" in d for d in dms(r, MGR))


def test_customer_deadline_still_binds_after_a_rework_loop(running) -> None:
    r = running
    at(r, sh(9, 22, 10))  # Monday
    case = file_complaint(r, deadline="2025-09-26")  # the customer wants it by Friday
    at(r, sh(9, 22, 11))
    walk_to_approval(
        r,
        case.id,
        unit="production",
        member=PROD,
        reason="stencil",
        containment="sorted",
        corrective=corrective("2025-09-25"),
        preventive=PREVENTIVE,
    )
    at(r, sh(9, 23, 10))
    before = len(dms(r, PROD))
    take(r, MGR, case.id, "reject_report", {"reason": "root cause not shown"})
    # back to the unit: its member is told by DM, with the deadlines that bind
    told = dms(r, PROD)[before:]
    assert len(told) == 1 and "Your turn" in told[0] and "Corrective-action reply" in told[0]
    c = case_now(r, case.id)
    assert c.status == "corrective" and c.rework_count == 1
    # a loop would give 3 and 5 working days; the customer's Friday still binds both
    assert c.ca_due_at == sh(9, 26, 17, 30) and c.pa_due_at == sh(9, 26, 17, 30)
    assert "the customer's deadline" in card(r, case.id)


def test_action_date_answer_follow_up_and_lot_checks_have_clocks(running) -> None:
    r = running
    at(r, sh(9, 15, 10))  # Monday
    case = file_complaint(r)
    walk_to_approval(
        r,
        case.id,
        unit="production",
        member=PROD,
        reason="stencil",
        containment="sorted",
        corrective=corrective("2025-09-17"),
        preventive=PREVENTIVE,
    )
    c = case_now(r, case.id)
    assert c.action_due_at == sh(9, 17, 17, 30) and c.action_owner == PROD
    # the owner is nudged before the planned date …
    before_prod, before_tq = len(dms(r, PROD)), len(dms(r, TQ))
    tick(r, sh(9, 17, 15, 30))
    assert any("planned completion" in d for d in dms(r, PROD)[before_prod:])
    # … and Technical Quality is told when it has passed
    tick(r, sh(9, 17, 17, 30))
    told = dms(r, TQ)[before_tq:]
    assert any("planned completion date has passed" in d for d in told)

    at(r, sh(9, 18, 9))
    take(r, MGR, case.id, "approve_report")
    take(r, TQ, case.id, "send_to_customer", {"method": "email"})
    c = case_now(r, case.id)
    # the customer's answer: Marketing is nudged after 5 working days (Thu 25 Sep)
    assert (c.clock_name, c.clock_due_at) == ("answer", sh(9, 25, 17, 30))
    before = len(dms(r, MKT2))
    tick(r, sh(9, 25, 17, 29))
    assert len(dms(r, MKT2)) == before  # no nudges before this clock: it is a follow-up
    tick(r, sh(9, 25, 17, 30))
    assert any("no answer from the customer" in d for d in dms(r, MKT2)[before:])

    at(r, sh(9, 26, 9))
    take(r, MKT, case.id, "record_customer_acceptance", {"accepted": "yes"})
    c = case_now(r, case.id)
    # lot checks: Technical Quality is asked when the next lot is due, 5 working days on:
    # Sun 28 (make-up day), Mon 29, Tue 30 Sep, then after the holiday Thu 9, Fri 10 Oct
    assert c.clock_name == "lot" and c.clock_due_at == sh(10, 10, 17, 30)
    before = len(dms(r, TQ))
    tick(r, sh(10, 10, 17, 30))
    assert any("next lot is due to be checked" in d for d in dms(r, TQ)[before:])
    # a check restarts the clock from then
    at(r, sh(10, 13, 9))
    take(r, TQ, case.id, "record_lot_check", {"lot": "L-1013", "quantity": "50", "result": "ok"})
    c = case_now(r, case.id)
    assert c.clock_name == "lot" and c.clock_due_at == sh(10, 20, 17, 30)


def test_each_corrective_action_has_its_own_owner_and_clock(running) -> None:
    """Issue 12, 3(j): production's action is due Wed 17 Sep, development's Fri 19 Sep;
    each owner is nudged for their own, and Technical Quality told as each passes."""
    from tests.conftest import DEV

    r = running
    at(r, sh(9, 15, 10))  # Monday
    case = file_complaint(r)
    take(r, TQ, case.id, "confirm_information")
    decision = {"party": "ours", "units": ["production", "development"], "reason": "both"}
    take(r, TQ, case.id, "decide_responsibility", decision)
    take(r, TQ, case.id, "classify_severity", {"severity": "B"})
    take(r, PROD, case.id, "record_containment", {"actions": "sorted"})
    # a further row half filled in is refused, naming what is missing
    half = {**corrective("2025-09-17"), "action_2": "new reflow profile"}
    reply = take(r, PROD, case.id, "submit_corrective_action", half)
    errors = reply.json()["errors"]
    assert set(errors) == {"owner_2", "planned_2"}
    both = {**half, "owner_2": DEV, "planned_2": "2025-09-19"}
    take(r, PROD, case.id, "submit_corrective_action", both)
    take(r, PROD, case.id, "submit_preventive_action", PREVENTIVE)
    c = case_now(r, case.id)
    assert [(i["n"], i["owner"]) for i in c.action_items] == [(1, PROD), (2, DEV)]
    text = card(r, case.id)
    assert text.count("Corrective action's planned completion") == 2
    assert f"<@{PROD}>" in text and f"<@{DEV}>" in text
    assert any("new reflow profile" in p and f"<@{DEV}>" in p for p in thread(r, case.id))

    before = {u: len(dms(r, u)) for u in (PROD, DEV, TQ)}

    def new(u: str) -> list[str]:
        return [d for d in dms(r, u)[before[u] :] if "planned completion" in d]

    prod_due, dev_due = "Wed 17 Sept 17:30", "Fri 19 Sept 17:30"  # each owner's own date
    tick(r, sh(9, 17, 15, 30))  # 2 working hours before production's date (and half-way
    # to development's): each owner is nudged about their own action
    assert len(new(PROD)) == 1 and prod_due in new(PROD)[0]
    assert len(new(DEV)) == 1 and dev_due in new(DEV)[0]
    tick(r, sh(9, 17, 17, 30))  # production's date passes: TQ is told, and its owner
    assert len(new(TQ)) == 1 and prod_due in new(TQ)[0] and "has passed" in new(TQ)[0]
    assert len(new(PROD)) == 2 and len(new(DEV)) == 1
    tick(r, sh(9, 19, 15, 30))
    assert len(new(DEV)) == 2 and len(new(PROD)) == 2
    tick(r, sh(9, 19, 17, 30))  # development's passes too
    assert len(new(TQ)) == 2 and dev_due in new(TQ)[1]
    # development's member finds their action on Home
    from tests.test_paths import home_lists, open_home

    waiting = home_lists(open_home(r, DEV))["Waiting for you"]
    assert case.ref in waiting and "You own the corrective action" in waiting
