"""Reminders: deadlines that keep themselves (nudges, overdue, escalation, severity-A
repeats, the morning digest), checked against the Chinese calendar with time moved,
never slept.

The running example: a complaint received Tue 30 Sep 2025 10:00 Shanghai, on the eve of
the National Day holiday (1-8 Oct off, Sat 11 Oct a make-up working day). Its corrective
reply (1 working day) is due Thu 9 Oct 17:30, its preventive reply (3 working days) Sat
11 Oct 17:30.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select, text

from blocks import reminders as rb
from blocks.text import MESSAGE_BLOCKS, SECTION_TEXT
from bot.config import load_settings
from bot.models import Base, Case, Outbox, Reminder, make_engine, make_session_factory
from bot.sandbox.fakeslack import FakeSlack, validate_blocks
from bot.slack.delivery import Delivery
from bot.slack.directory import Directory
from bot.slack.gateway import Gateway
from bot.slack.outbox import OutboxSender
from bot.workflow import Actor, Desk, IntakeForm, Role, validate_intake
from bot.workflow.reminders import (
    ReminderHook,
    install_hook,
    plan_deadline,
    run_tick,
)
from tests.procedure import INFORMED

SH = ZoneInfo("Asia/Shanghai")
ENV = {
    "SLACK_BOT_TOKEN": "xoxb-test",
    "SLACK_SIGNING_SECRET": "x",
    "COMPLAINTS_CHANNEL": "C0COMPLAIN",
    "MANAGEMENT_CHANNEL": "C0MANAGE",
    "ALERT_CHANNELS": "C0ALERTS",
    "TIMEZONE": "Asia/Shanghai",
    "HOLIDAY_COUNTRY": "CN",
    # these tests follow the two reply deadlines alone; the steps' clocks have theirs
    # (tests/test_clocks.py)
    "STEP_CLOCK_REMINDERS": "false",
}
MKT = Actor("U0MKT", frozenset({Role.MARKETING}))
TQ = Actor("U0TQ", frozenset({Role.QUALITY}))
BOSS = Actor("U0BOSS", frozenset({Role.MANAGEMENT}))
CORRECTIVE = {
    "category": "method",
    "why": "fixture worn\nno check",
    "disposition": "sort",
    "actions": "new fixture",
    "owner": "U0PROD",
    "planned": "2025-12-01",
}
PREVENTIVE = {"m_method": "check the fixture every shift", "documents": ["work_instruction"]}


def sh(mo: int, d: int, h: int = 0, mi: int = 0, y: int = 2025) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH)


class Clock:
    def __init__(self) -> None:
        self.now = sh(9, 30, 10)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    desk: Desk
    clock: Clock
    settings: Any

    def file(self, at: datetime, **form: Any) -> Case:
        self.clock.now = at
        fields = {
            "customer": "ACME",
            "contact": "li@acme.example",
            "product": "Valve V2",
            "lots": "L-0915",
            "quantity": "120",
            "via": "email",
            "description": "leaks at 3 bar",
            **form,
        }
        complaint = validate_intake(IntakeForm(**fields), today=at.astimezone(SH).date())
        return self.desk.file_complaint(complaint, MKT, at)

    def to_corrective(self, case_id: int, at: datetime, severity: str = "B") -> Case:
        """Steps 1-4 up to the corrective-action report, all at `at`."""
        self.clock.now = at
        self.desk.take("confirm_information", case_id, TQ, at, {"category": "function"})
        self.desk.take(
            "decide_responsibility",
            case_id,
            TQ,
            at,
            {"party": "ours", "units": ["production"], "reason": "fixture"},
        )
        self.desk.take("classify_severity", case_id, TQ, at, {"severity": severity})
        return self.desk.take("record_containment", case_id, TQ, at, {"actions": "sorted"})

    def tick(self, at: datetime) -> Any:
        self.clock.now = at
        return run_tick(self.desk, at, worker="test")

    def reminders(self, case_id: int | None = None, status: str | None = None) -> list[Reminder]:
        with self.desk.sessions() as s:
            q = select(Reminder).order_by(Reminder.due_at, Reminder.id)
            if case_id is not None:
                q = q.where(Reminder.case_id == case_id)
            if status is not None:
                q = q.where(Reminder.status == status)
            return list(s.scalars(q))

    def outbox(self, after: int = 0, kinds: tuple[str, ...] | None = None) -> list[Outbox]:
        kinds = kinds or ("nudge_thread", "nudge_dm", "overdue_thread", "reminder_alert", "digest")
        with self.desk.sessions() as s:
            return list(
                s.scalars(
                    select(Outbox)
                    .where(Outbox.id > after, Outbox.kind.in_(kinds))
                    .order_by(Outbox.id)
                )
            )

    def last_outbox_id(self) -> int:
        with self.desk.sessions() as s:
            return int(s.scalar(select(Outbox.id).order_by(Outbox.id.desc()).limit(1)) or 0)


def make_world(tmp_path: Any, env: dict[str, str] | None = None) -> Iterator[World]:
    engine = make_engine(f"sqlite:///{tmp_path}/reminders.sqlite3")
    Base.metadata.create_all(engine)
    settings = load_settings({**ENV, **(env or {})}, dotenv=False)
    clock = Clock()
    desk = Desk(make_session_factory(engine), settings, clock=clock)
    install_hook(desk)
    yield World(desk, clock, settings)
    engine.dispose()


@pytest.fixture
def world(tmp_path: Any) -> Iterator[World]:
    yield from make_world(tmp_path)


def local(dt: datetime) -> datetime:
    return dt.astimezone(SH)


def summary(rows: list[Outbox]) -> list[tuple[str, str, str | None]]:
    return [(r.kind, r.lane, r.payload.get("alert") or r.payload.get("point")) for r in rows]


# --- planning --------------------------------------------------------------------------------


def test_intake_plans_every_moment_on_the_working_calendar(world: World) -> None:
    case = world.file(sh(9, 30, 10))
    assert local(case.ca_due_at) == sh(10, 9, 17, 30)
    assert local(case.pa_due_at) == sh(10, 11, 17, 30)
    got = [
        (r.kind, r.key.split(":")[1], r.key.rsplit(":", 1)[1], local(r.due_at))
        for r in world.reminders(case.id)
    ]
    assert got == [
        ("nudge", "ca", "half", sh(10, 9, 9, 15)),
        ("nudge", "ca", "2h", sh(10, 9, 15, 30)),
        ("overdue", "ca", "overdue", sh(10, 9, 17, 30)),
        ("nudge", "pa", "half", sh(10, 10, 9, 15)),
        ("escalation", "ca", "esc1", sh(10, 10, 17, 30)),
        ("nudge", "pa", "2h", sh(10, 11, 15, 30)),
        ("escalation", "ca", "esc2", sh(10, 11, 17, 30)),  # Sat 11 Oct is a make-up day
        ("overdue", "pa", "overdue", sh(10, 11, 17, 30)),
        ("escalation", "pa", "esc1", sh(10, 13, 17, 30)),
        ("escalation", "pa", "esc2", sh(10, 14, 17, 30)),
    ]
    assert all(r.status == "pending" for r in world.reminders(case.id))
    # later steps that leave the deadlines alone add nothing
    world.desk.take("confirm_information", case.id, TQ, sh(9, 30, 11), {"category": "function"})
    assert len(world.reminders(case.id)) == 10


def test_urgent_case_keeps_one_nudge_when_two_points_coincide(world: World) -> None:
    case = world.file(sh(10, 9, 10), urgent=True)  # 4 working hours: due 14:00
    assert local(case.ca_due_at) == sh(10, 9, 14)
    ca = [r for r in world.reminders(case.id) if ":ca:" in r.key]
    # half-way (12:00) and 2 working hours before (12:00) are the same moment: one nudge
    assert [(r.kind, local(r.due_at)) for r in ca if r.kind == "nudge"] == [
        ("nudge", sh(10, 9, 12))
    ]


def test_plan_skips_points_before_the_start(world: World) -> None:
    case = SimpleNamespace(id=7, rework_count=0)
    due = sh(10, 9, 9, 30)  # an hour of working time after the start
    planned = plan_deadline(case, "ca", due, sh(10, 9, 8, 30), world.settings, world.desk.calendar)
    assert [(p.kind, p.data.get("point")) for p in planned][:2] == [
        ("nudge", "half"),
        ("overdue", None),
    ]


# --- the moments -------------------------------------------------------------------------------


def test_each_moment_fires_at_its_time_and_not_before(world: World) -> None:
    case = world.file(sh(9, 30, 10))
    lane = f"case:{case.id}"

    mark = world.last_outbox_id()
    world.tick(sh(10, 9, 9, 14))
    assert [r for r in world.outbox(mark) if r.case_id == case.id] == []

    world.tick(sh(10, 9, 9, 15))  # half-way to the corrective reply
    rows = [r for r in world.outbox(mark) if r.case_id == case.id]
    assert summary(rows) == [("nudge_thread", lane, "half"), ("nudge_dm", lane, "half")]
    assert rows[0].payload["deadlines"] == ["ca"]
    assert rows[0].payload["mention"] == ["role:quality"]  # TQ owns the next step
    assert rows[1].payload["to"] == ["role:quality"]
    assert local(datetime.fromisoformat(rows[0].payload["due_at"])) == sh(10, 9, 17, 30)

    mark = world.last_outbox_id()
    world.tick(sh(10, 9, 15, 30))  # 2 working hours left
    assert summary(world.outbox(mark)) == [("nudge_thread", lane, "2h"), ("nudge_dm", lane, "2h")]

    mark = world.last_outbox_id()
    world.tick(sh(10, 9, 17, 30))  # the deadline
    rows = world.outbox(mark)
    assert summary(rows) == [
        ("overdue_thread", lane, None),
        ("reminder_alert", "channel:C0MANAGE", "overdue"),
    ]
    assert rows[1].payload["channel"] == "C0MANAGE"
    assert rows[1].payload["deadline_label"] == "Corrective-action reply"

    mark = world.last_outbox_id()
    world.tick(sh(10, 10, 9, 15))  # half-way to the preventive reply (digest aside)
    rows = [r for r in world.outbox(mark) if r.kind != "digest"]
    assert summary(rows) == [("nudge_thread", lane, "half"), ("nudge_dm", lane, "half")]
    assert rows[0].payload["deadlines"] == ["pa"]

    mark = world.last_outbox_id()
    world.tick(sh(10, 10, 17, 30))  # one working day past the corrective deadline
    rows = world.outbox(mark)
    assert summary(rows) == [
        ("reminder_alert", "channel:C0MANAGE", "escalation"),
        ("reminder_alert", "channel:C0ALERTS", "escalation"),
    ]
    assert all(r.payload["days"] == 1 for r in rows)

    mark = world.last_outbox_id()
    world.tick(sh(10, 11, 17, 30))  # Sat make-up day: esc2 of ca + overdue of pa
    rows = world.outbox(mark)
    got = sorted(
        (r.kind, r.payload.get("alert"), r.payload["deadlines"][0], r.payload.get("days"))
        for r in rows
        if r.kind != "digest"
    )
    assert got == [
        # pa's "2h" nudge was due at 15:30 and is superseded by its overdue notice
        ("overdue_thread", None, "pa", None),
        ("reminder_alert", "escalation", "ca", 2),
        ("reminder_alert", "escalation", "ca", 2),
        ("reminder_alert", "overdue", "pa", None),
    ]
    world.tick(sh(10, 14, 17, 30))
    # pa's two escalations fall due before this tick: the latest one is sent
    assert sorted(r.status for r in world.reminders(case.id)) == ["cancelled"] * 2 + ["sent"] * 8


def test_two_ticks_at_the_same_moment_send_once(world: World) -> None:
    case = world.file(sh(9, 30, 10))
    first = world.tick(sh(10, 9, 17, 30))
    mark = world.last_outbox_id()
    second = world.tick(sh(10, 9, 17, 30))
    # half, 2h and overdue all due: the overdue notice alone (the nudges are superseded)
    assert (first.sent, first.cancelled, second.sent) == (1, 2, 0)
    assert world.outbox(mark) == []
    sent = world.reminders(case.id, "sent")
    assert {r.done_by for r in sent} == {"test"}
    assert all(r.done_at == sh(10, 9, 17, 30) for r in sent)


def test_catch_up_after_downtime_sends_each_moment_once(world: World) -> None:
    case = world.file(sh(9, 30, 10))
    mark = world.last_outbox_id()
    result = world.tick(sh(10, 20, 12))  # the bot was down for the whole ladder
    # one overdue notice and the latest escalation per reply; the nudges and the first
    # escalations are superseded, not sent late
    assert (result.sent, result.cancelled) == (4, 6)
    rows = [r for r in world.outbox(mark) if r.case_id == case.id]
    counts: dict[tuple[str, str | None], int] = {}
    for r in rows:
        k = (r.kind, r.payload.get("alert"))
        counts[k] = counts.get(k, 0) + 1
    assert counts == {
        ("overdue_thread", None): 2,
        ("reminder_alert", "overdue"): 2,  # management channel, per reply
        ("reminder_alert", "escalation"): 4,  # the 2nd step x 2 replies x 2 channels
    }
    mark = world.last_outbox_id()
    assert world.tick(sh(10, 20, 12)).sent == 0
    assert world.tick(sh(10, 20, 13)).sent == 0
    assert world.outbox(mark) == []


def test_catch_up_collapses_even_when_the_batch_cuts_between_nudge_and_overdue(
    world: World,
) -> None:
    """Ticks read due reminders in batches by due time: a batch holding only a case's
    nudges must still see that its overdue notice is due, and not send them."""
    cases = [world.file(sh(9, 30, 10)) for _ in range(3)]
    world.clock.now = sh(10, 9, 17, 30)
    result = run_tick(world.desk, sh(10, 9, 17, 30), worker="test", batch=2)
    assert (result.sent, result.cancelled) == (3, 6)  # one overdue per case; 2 nudges each
    for case in cases:
        assert sorted(r.kind for r in world.reminders(case.id, "sent")) == ["overdue"]


def test_submitting_the_report_cancels_its_reminders(world: World) -> None:
    case = world.file(sh(9, 30, 10))
    world.to_corrective(case.id, sh(9, 30, 11))
    world.clock.now = sh(10, 9, 9)
    world.desk.take("submit_corrective_action", case.id, TQ, sh(10, 9, 9), CORRECTIVE)
    ca = [r for r in world.reminders(case.id) if ":ca:" in r.key]
    assert {r.status for r in ca} == {"cancelled"}
    pa = [r for r in world.reminders(case.id) if ":pa:" in r.key]
    assert {r.status for r in pa} == {"pending"}

    mark = world.last_outbox_id()
    world.tick(sh(10, 9, 18))
    assert [r for r in world.outbox(mark) if r.case_id == case.id] == []
    # the preventive reply is still nudged, mentioning the responsible unit
    world.tick(sh(10, 10, 9, 15))
    rows = [r for r in world.outbox(mark) if r.case_id == case.id]
    assert summary(rows) == [
        ("nudge_thread", f"case:{case.id}", "half"),
        ("nudge_dm", f"case:{case.id}", "half"),
    ]
    assert rows[0].payload["mention"] == ["unit:production"]

    world.clock.now = sh(10, 10, 10)
    world.desk.take("submit_preventive_action", case.id, TQ, sh(10, 10, 10), PREVENTIVE)
    assert world.reminders(case.id, "pending") == []


def test_claim_time_recheck_cancels_a_nudge_whose_report_is_in(world: World) -> None:
    """A process without the hook (or a race) leaves reminders pending; the tick re-reads
    the case when it claims them and cancels instead of nagging."""
    case = world.file(sh(9, 30, 10))
    world.to_corrective(case.id, sh(9, 30, 11))
    world.desk.scheduler_hooks.clear()
    world.desk.take("submit_corrective_action", case.id, TQ, sh(10, 9, 9), CORRECTIVE)
    mark = world.last_outbox_id()
    result = world.tick(sh(10, 9, 17, 30))
    assert result.cancelled == 3 and result.sent == 0
    assert world.outbox(mark) == []


def test_closing_cancels_everything(world: World) -> None:
    case = world.file(sh(9, 30, 10))
    world.desk.take("confirm_information", case.id, TQ, sh(9, 30, 11), {"category": "function"})
    world.desk.take(
        "decide_responsibility",
        case.id,
        TQ,
        sh(9, 30, 11),
        {"party": "customer", "units": [], "reason": "misuse"},
    )
    world.desk.take("confirm_customer_informed", case.id, MKT, sh(9, 30, 12), INFORMED)
    assert world.reminders(case.id, "pending") == []
    assert world.tick(sh(10, 20, 12)).sent == 0


def test_rework_loop_gets_fresh_deadlines_and_reminders(world: World) -> None:
    case = world.file(sh(9, 30, 10))
    world.to_corrective(case.id, sh(9, 30, 11))
    world.desk.take("submit_corrective_action", case.id, TQ, sh(9, 30, 12), CORRECTIVE)
    world.desk.take("submit_preventive_action", case.id, TQ, sh(9, 30, 13), PREVENTIVE)
    assert world.reminders(case.id, "pending") == []
    case = world.desk.take("reject_report", case.id, BOSS, sh(10, 10, 10), {"reason": "too vague"})
    assert case.rework_count == 1
    assert local(case.ca_due_at) == sh(10, 14, 17, 30)  # 3 working days: Sat 11, Mon, Tue
    pending = world.reminders(case.id, "pending")
    assert all(f":{1}:" in r.key for r in pending)
    half = next(r for r in pending if r.key.endswith(":half") and ":ca:" in r.key)
    assert local(half.due_at) == sh(10, 13, 9, 15)  # half of 34.5 working hours from Fri 10:00

    mark = world.last_outbox_id()
    world.tick(sh(10, 13, 9, 15))
    rows = [r for r in world.outbox(mark) if r.case_id == case.id]
    assert summary(rows) == [
        ("nudge_thread", f"case:{case.id}", "half"),
        ("nudge_dm", f"case:{case.id}", "half"),
    ]
    assert rows[0].payload["loop"] == 1


def test_customer_deadline_makes_one_message_for_both_replies(world: World) -> None:
    case = world.file(sh(9, 30, 10), deadline="2025-10-10")
    assert case.ca_due_at == case.pa_due_at
    mark = world.last_outbox_id()
    world.tick(sh(10, 10, 17, 30))
    rows = [r for r in world.outbox(mark) if r.case_id == case.id]
    threads = [r for r in rows if r.kind in ("nudge_thread", "overdue_thread")]
    assert [r.kind for r in threads] == ["overdue_thread"]  # the nudges are superseded
    assert all(r.payload["deadlines"] == ["ca", "pa"] for r in threads)
    assert len(threads[0].payload["reminders"]) == 2
    alert = next(r for r in rows if r.kind == "reminder_alert")
    assert alert.payload["deadline_label"] == "Corrective- and preventive-action replies"


# --- severity A -------------------------------------------------------------------------------


def test_severity_a_repeats_every_working_morning_until_containment(world: World) -> None:
    case = world.file(sh(9, 30, 10))
    world.clock.now = sh(10, 9, 10)
    world.desk.take("confirm_information", case.id, TQ, sh(10, 9, 10), {"category": "function"})
    world.desk.take(
        "decide_responsibility",
        case.id,
        TQ,
        sh(10, 9, 10),
        {"party": "ours", "units": ["production"], "reason": "x"},
    )
    world.desk.take("classify_severity", case.id, TQ, sh(10, 9, 10), {"severity": "A"})
    sev = [r for r in world.reminders(case.id) if r.kind == "severity_a"]
    assert [(local(r.due_at), r.data["day"], r.status) for r in sev] == [
        (sh(10, 10, 8, 30), 2, "pending")
    ]

    def repeats(after: int) -> list[tuple[str, int]]:
        return [
            (r.payload["channel"], r.payload["repeat"])
            for r in world.outbox(after)
            if r.payload.get("alert") == "severity_a"
        ]

    mark = world.last_outbox_id()
    world.tick(sh(10, 10, 8, 29))
    assert repeats(mark) == []
    world.tick(sh(10, 10, 8, 30))
    assert repeats(mark) == [("C0MANAGE", 2), ("C0ALERTS", 2)]
    mark = world.last_outbox_id()
    world.tick(sh(10, 11, 8, 30))  # Saturday 11 Oct is worked (调休)
    assert repeats(mark) == [("C0MANAGE", 3), ("C0ALERTS", 3)]
    nxt = world.reminders(case.id, "pending")
    assert local(next(r for r in nxt if r.kind == "severity_a").due_at) == sh(
        10, 13, 8, 30
    )  # skips Sunday

    world.clock.now = sh(10, 11, 9)
    world.desk.take("record_containment", case.id, TQ, sh(10, 11, 9), {"actions": "quarantined"})
    assert [r for r in world.reminders(case.id, "pending") if r.kind == "severity_a"] == []
    mark = world.last_outbox_id()
    world.tick(sh(10, 13, 9))
    assert repeats(mark) == []


def test_severity_a_catch_up_sends_one_not_a_flood(world: World) -> None:
    case = world.file(sh(10, 9, 10))
    world.desk.take("confirm_information", case.id, TQ, sh(10, 9, 10), {"category": "function"})
    world.desk.take(
        "decide_responsibility",
        case.id,
        TQ,
        sh(10, 9, 10),
        {"party": "ours", "units": ["production"], "reason": "x"},
    )
    world.desk.take("classify_severity", case.id, TQ, sh(10, 9, 10), {"severity": "A"})
    mark = world.last_outbox_id()
    world.tick(sh(10, 16, 12))  # a week later
    sev = [r for r in world.outbox(mark) if r.payload.get("alert") == "severity_a"]
    assert [(r.payload["channel"], r.payload["repeat"]) for r in sev] == [
        ("C0MANAGE", 2),
        ("C0ALERTS", 2),
    ]
    pending = [r for r in world.reminders(case.id, "pending") if r.kind == "severity_a"]
    assert [(local(r.due_at), r.data["day"]) for r in pending] == [
        (sh(10, 17, 8, 30), 8)
    ]  # Sat 11 Oct counts


# --- the digest -------------------------------------------------------------------------------


def test_digest_batches_many_cases_into_one_post_per_channel(world: World) -> None:
    late = world.file(sh(9, 29, 10))  # corrective reply due Tue 30 Sep: overdue by 9 Oct
    for i in range(30):
        world.file(sh(9, 30, 10, i), customer=f"Customer {i}")
    world.tick(sh(10, 1, 12))  # holiday: the next digest is planned for Thu 9 Oct
    assert [(r.key, local(r.due_at)) for r in world.reminders() if r.kind == "digest"] == [
        ("digest:C0COMPLAIN:2025-10-09", sh(10, 9, 8, 45)),
        ("digest:C0MANAGE:2025-10-09", sh(10, 9, 8, 45)),
    ]
    world.tick(sh(10, 9, 8, 44))
    mark = world.last_outbox_id()
    world.tick(sh(10, 9, 8, 45))
    digests = world.outbox(mark, ("digest",))
    assert [(r.lane, r.payload["channel"]) for r in digests] == [
        ("channel:C0COMPLAIN", "C0COMPLAIN"),
        ("channel:C0MANAGE", "C0MANAGE"),
    ]
    p = digests[0].payload
    assert p["date"] == "2025-10-09"
    assert p["overdue_total"] == 1 and p["overdue"][0]["ref"] == late.ref
    assert p["due_today_total"] == 30
    assert {i["deadline"] for i in p["due_today"]} == {"ca"}
    # no post per case at digest time, and nothing twice
    assert [r for r in world.outbox(mark) if r.kind != "digest"] == []
    mark = world.last_outbox_id()
    world.tick(sh(10, 9, 8, 45))
    assert world.outbox(mark, ("digest",)) == []
    assert [r.key for r in world.reminders(status="pending") if r.kind == "digest"] == [
        "digest:C0COMPLAIN:2025-10-10",
        "digest:C0MANAGE:2025-10-10",
    ]


def test_quiet_morning_posts_no_digest(world: World) -> None:
    world.tick(sh(10, 9, 8))
    mark = world.last_outbox_id()
    result = world.tick(sh(10, 9, 8, 45))
    assert result.kinds == {"digest": 2}
    assert world.outbox(mark) == []


def test_one_channel_gets_one_digest_when_both_settings_name_it(tmp_path: Any) -> None:
    gen = make_world(tmp_path, {"MANAGEMENT_CHANNEL": "C0COMPLAIN"})
    w = next(gen)
    w.file(sh(9, 30, 10))
    w.tick(sh(10, 9, 8))
    w.tick(sh(10, 9, 8, 45))
    assert [r.lane for r in w.outbox(0, ("digest",))] == ["channel:C0COMPLAIN"]
    gen.close()


# --- cost ---------------------------------------------------------------------------------------


def test_tick_reads_due_reminders_through_the_status_due_index(world: World) -> None:
    from sqlalchemy.dialects import sqlite

    stmt = (
        select(Reminder.id, Reminder.case_id)
        .where(Reminder.status == "pending", Reminder.due_at <= sh(10, 9))
        .order_by(Reminder.due_at, Reminder.id)
        .limit(200)
    )
    sql = str(stmt.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
    with world.desk.sessions() as s:
        plan = " ".join(str(r[-1]) for r in s.execute(text("EXPLAIN QUERY PLAN " + sql)))
    assert "ix_reminders_due" in plan


# --- rendering and delivery -------------------------------------------------------------------


def _vm(**over: Any) -> dict[str, Any]:
    vm = {
        "id": 1,
        "ref": "CC-2025-0001",
        "customer": "<!channel> & co",
        "product": "<@U1>",
        "lots": "L1",
        "quantity": 10,
        "status_label": "Corrective action",
        "severity": "A",
        "severity_text": "Critical",
        "next_text": "The unit submits the report",
        "is_open": True,
        "step": 5,
    }
    vm.update(over)
    return vm


def _assert_safe(msg: dict[str, Any]) -> None:
    assert validate_blocks(msg["blocks"], surface="message") == []
    assert len(msg["blocks"]) <= MESSAGE_BLOCKS
    dumped = json.dumps(msg)
    assert "<!channel>" not in dumped and "<@U1>" not in dumped
    for b in msg["blocks"]:
        if b["type"] == "section":
            assert len(b["text"]["text"]) <= SECTION_TEXT


def test_digest_with_500_hostile_cases_stays_within_block_kit_limits() -> None:
    due = sh(10, 9, 17, 30).isoformat()
    items = [
        {
            "id": i,
            "ref": f"CC-2025-{i:04d}",
            "customer": "<!channel> " + "x" * 300,
            "severity": "A",
            "status": "<b>",
            "deadline": "ca",
            "due_at": due,
        }
        for i in range(500)
    ]
    msg = rb.digest(
        {
            "date": "2025-10-09",
            "overdue": items,
            "overdue_total": 500,
            "due_today": items,
            "due_today_total": 500,
        }
    )
    _assert_safe(msg)
    texts = " ".join(json.dumps(b) for b in msg["blocks"])
    assert texts.count("and 460 more") == 2
    assert "&lt;!channel&gt;" in texts


def test_reminder_messages_escape_user_text() -> None:
    info = {"deadlines": ["ca"], "point": "2h", "due_at": sh(10, 9, 17, 30).isoformat()}
    now = sh(10, 9, 15, 30)
    for msg in (
        rb.nudge_thread(_vm(), info, ["role:quality", "user:U0TQ"], now),
        rb.overdue_thread(_vm(), info, ["unit:production"], now),
        rb.nudge_dm(_vm(), info, "https://x.slack.com/archives/C1/p1", now),
        rb.reminder_alert(
            _vm(),
            "escalation",
            "https://x.slack.com/a",
            {**info, "days": 2, "deadline_label": "Corrective reply"},
        ),
        rb.reminder_alert(_vm(), "severity_a", None, {"repeat": 3}),
    ):
        _assert_safe(msg)
    nudge = rb.nudge_thread(_vm(), info, ["user:U0TQ"], now)
    assert "2 working hours left" in json.dumps(nudge) and "<@U0TQ>" in json.dumps(nudge)
    late = rb.nudge_thread(_vm(), info, [], sh(10, 9, 18))
    assert "was due" in json.dumps(late)


def test_reminders_reach_slack_through_the_outbox(tmp_path: Any) -> None:
    """End to end through the real sender: the thread gets the nudge, the owner a DM, the
    management channel the overdue alert; a case without a card fails politely."""
    gen = make_world(
        tmp_path,
        {"QUALITY_USERS": "U0TQ", "MARKETING_USERS": "U0MKT", "MANAGEMENT_USERS": "U0BOSS"},
    )
    w = next(gen)
    with FakeSlack() as fake:
        gateway = Gateway("xoxb-test", fake.url)
        delivery = Delivery(w.desk, gateway, Directory(w.settings, gateway))
        bot = SimpleNamespace(
            desk=w.desk, settings=w.settings, sender=SimpleNamespace(delivery=delivery)
        )
        from bot.scheduler import install_reminders

        install_reminders(bot)
        install_reminders(bot)  # idempotent
        assert sum(isinstance(h, ReminderHook) for h in w.desk.scheduler_hooks) == 1
        # the outbox runs on the wall clock; the procedure on the test's clock
        sender = OutboxSender(
            w.desk.sessions,
            delivery,
            clock=lambda: datetime.now(UTC),
            channel_interval=0,
            base_delay=0.01,
        )
        try:
            case = w.file(sh(9, 30, 10), customer="<!channel> Corp")
            assert sender.drain(10)
            case = w.desk.get_case(case.id)
            assert case.card_ts
            w.tick(sh(10, 9, 15, 30))  # after a downtime: half-way and 2h both due
            assert sender.drain(10)
            w.tick(sh(10, 9, 17, 30))
            assert sender.drain(10)
        finally:
            sender.stop()
        thread = fake.thread("C0COMPLAIN", case.card_ts)
        assert any("Reminder" in m["text"] for m in thread)
        assert any("Overdue" in m["text"] for m in thread)
        dms = [
            c
            for c in fake.calls_to("chat.postMessage")
            if c.args["channel"] == "U0TQ" and "Reminder" in str(c.args.get("text"))
        ]
        assert len(dms) == 1  # half-way and 2h before, due together: one nudge
        alerts = [
            c
            for c in fake.calls_to("chat.postMessage")
            if c.args["channel"] == "C0MANAGE" and "Overdue" in str(c.args.get("text"))
        ]
        assert len(alerts) == 1
        assert "&lt;!channel&gt;" in json.dumps(alerts[0].args.get("blocks"))
        with w.desk.sessions() as s:
            failed = list(s.scalars(select(Outbox).where(Outbox.status == "failed")))
        assert failed == []
    gen.close()


def test_scheduler_ticks_at_start_and_wakes_the_sender(tmp_path: Any) -> None:
    from bot.scheduler import make_scheduler
    from bot.wakeup import InFlight

    gen = make_world(tmp_path, {"SCHEDULER_INTERVAL_SECONDS": "3600"})
    w = next(gen)
    w.file(sh(9, 30, 10))
    w.clock.now = sh(10, 9, 17, 30)  # catch-up: the half, 2h and overdue moments have passed
    woken = threading.Event()
    delivery = SimpleNamespace(kinds={})
    bot = SimpleNamespace(
        desk=w.desk,
        settings=w.settings,
        sender=SimpleNamespace(delivery=delivery, wake=woken.set),
        in_flight=InFlight(),
    )
    scheduler = make_scheduler(bot)
    assert set(delivery.kinds) == {
        "nudge_thread",
        "nudge_dm",
        "overdue_thread",
        "reminder_alert",
        "digest",
        # issue 12: Home refreshes, turns, outcomes and the steps' clocks (bot/slack/home.py)
        "home_refresh",
        "turn_dm",
        "outcome_dm",
        "clock_thread",
        "clock_dm",
    }
    scheduler.start()
    try:
        assert woken.wait(10), "the first tick should run at start"
    finally:
        scheduler.shutdown()
    assert not scheduler.running
    sent = [r for r in w.reminders(status="sent") if r.case_id is not None]
    assert len(sent) == 1  # the overdue notice; the two nudges it supersedes are cancelled
    gen.close()


def test_process_id_is_recorded_by_default(world: World) -> None:
    world.file(sh(9, 30, 10))
    run_tick(world.desk, sh(10, 9, 9, 15))
    (row,) = world.reminders(status="sent")
    assert row.done_by and ":" in row.done_by
    assert row.done_at == sh(10, 9, 9, 15).astimezone(UTC)


def test_a_tick_over_many_cases_queues_one_home_refresh(world: World) -> None:
    """With a Home in use, the overdue notices a tick fires refresh the Homes of those who
    owe them: the cases of one tick are merged into one waiting refresh row (found once per
    transaction, not queried per case), which names everyone concerned."""
    from bot.workflow import turns

    cases = [world.file(sh(9, 30, 10), customer=f"Acme {i}") for i in range(3)]
    with world.desk.transaction() as s:
        turns.home_opened(s, "U0TQ", sh(10, 9, 17, 0))
    mark = world.last_outbox_id()
    looked: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, params: Any, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "home_refresh" in str(params):
            looked.append(statement)

    engine = world.desk.sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", seen)
    try:
        world.tick(sh(10, 9, 17, 30))  # each case's corrective reply is overdue
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert len(looked) == 1, looked  # the waiting refresh row, looked for once
    rows = world.outbox(mark, kinds=("home_refresh", "overdue_thread"))
    overdue = {r.case_id for r in rows if r.kind == "overdue_thread"}
    assert overdue == {c.id for c in cases}
    (home,) = [r for r in rows if r.kind == "home_refresh"]
    assert "role:quality" in home.payload["to"]
