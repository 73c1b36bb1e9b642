"""Nothing lost, nothing duplicated: Slack failing 30% of calls and rate-limiting bursts,
permanent errors, and a process killed in the middle of its work. (Two senders racing for
one row are in test_claims.py, deterministically.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bot.app import build
from bot.models import Case, CaseEvent, Outbox, Status
from bot.workflow import Actor, IntakeForm, Role, validate_intake
from bot.workflow.steps import STATUS_LABEL
from bot.workflow.view import EVENT_TITLES
from tests.conftest import COMPLAINTS, MANAGEMENT, make_settings
from tests.test_workflow import ROUTE

TQ = Actor("U0TQ1", frozenset({Role.QUALITY}))
MKT = Actor("U0MKT1", frozenset({Role.MARKETING}))
ROOT = Path(__file__).resolve().parent.parent


def file(desk, now, i: int, **kw) -> Case:
    form = IntakeForm(
        customer=f"Customer {i} <!here>",
        contact="c",
        product="P",
        lots="L",
        quantity=str(i + 1),
        via="email",
        description="d" * (i % 50 + 1),
        **kw,
    )
    return desk.file_complaint(validate_intake(form, today=now.date()), MKT, now)


def test_complaints_through_a_flaky_rate_limited_slack(database_url, slack) -> None:
    """What only this test covers: random 5xx and 429s across many lanes at once, and every
    card, thread (in order), alert and DM still arriving exactly once. 28 cases take every
    route length (i % 7) with and without severity A (i % 4)."""
    now = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
    slack.fail_rate = 0.3
    slack.rate_limit(per_second=200, retry_after=1, method="chat.postMessage")
    bot = build(
        make_settings(database_url, slack.url),
        clock=lambda: now,
        outbox_base_delay=0.01,
        outbox_max_delay=0.2,
        channel_interval=0,
        with_scheduler=False,
    )
    bot.start_background()
    try:
        desk = bot.desk
        cases = []
        for i in range(28):
            case = file(desk, now, i)
            route = (
                ROUTE
                if i % 4
                else [*ROUTE[:2], ("classify_severity", TQ, {"severity": "A"}), *ROUTE[3:]]
            )
            for name, actor, data in route[: 4 + i % 7]:
                case = desk.take(name, case.id, actor, now, data)
            cases.append(case.id)
            bot.sender.wake()
        assert bot.sender.drain(timeout=240), "outbox did not drain"
    finally:
        slack.fail_rate = 0.0
        bot.stop()

    assert slack.rejected, "the fake should have failed some calls"
    assert Counter(c.error for c in slack.rejected).keys() >= {"http_500"}
    posted = slack.calls_to("chat.postMessage")
    with bot.desk.sessions() as s:
        assert s.scalar(select(Outbox.id).where(Outbox.status != "sent")) is None
        for case_id in cases:
            case = s.get(Case, case_id)
            evs = list(
                s.scalars(
                    select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
                )
            )
            cards = [
                c
                for c in posted
                if c.args["channel"] == COMPLAINTS
                and "thread_ts" not in c.args
                and case.ref in c.args["text"]
            ]
            assert len(cards) == 1, case.ref
            # the step posts: the card tells of the filing, and the approval's post is the
            # comment of the report's upload (counted below)
            thread = [
                m["text"] for m in slack.thread(COMPLAINTS, case.card_ts) if not m.get("files")
            ]
            posted_steps = [e for e in evs if e.kind not in ("filed", "approve_report")]
            assert thread == [f"{case.ref}: {EVENT_TITLES[e.kind]}" for e in posted_steps]
            # the approved report: uploaded once, through 500s and retries, with its post
            uploads = [m for m in slack.thread(COMPLAINTS, case.card_ts) if m.get("files")]
            assert len(uploads) == (1 if case.approved_at else 0), case.ref
            assert all(EVENT_TITLES["approve_report"] in m["text"] for m in uploads)
            card = slack.messages[(COMPLAINTS, case.card_ts)]
            assert card["text"].endswith(STATUS_LABEL[Status(case.status)]), case.ref
            alerts = [
                c for c in posted if c.args["channel"] == MANAGEMENT and case.ref in c.args["text"]
            ]
            assert len(alerts) == (1 if case.severity == "A" else 0), case.ref
            # DMs (a unit's turn, approvals): each once, through the failures
            dms = [
                (c.args["channel"], json.dumps(c.args.get("blocks")))
                for c in posted
                if c.args["channel"].startswith("U") and case.ref in json.dumps(c.args)
            ]
            assert len(dms) == len(set(dms)), case.ref


def test_permanent_error_is_recorded_on_the_case_not_retried(database_url, slack) -> None:
    now = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
    bot = build(
        make_settings(database_url, slack.url),
        clock=lambda: now,
        outbox_base_delay=0.01,
        outbox_max_delay=0.2,
        channel_interval=0,
        with_scheduler=False,
    )
    try:
        slack.error_next("chat.postMessage", "channel_not_found")
        case = file(bot.desk, now, 1)
        assert bot.sender.drain(timeout=30)
        case = bot.desk.get_case(case.id)
        assert case.card_ts is None and "channel_not_found" in case.delivery_error
        failed = [e for e in case.events if e.kind == "delivery_failed"]
        assert failed and failed[0].data["what"] == "card_post"
        assert len([c for c in slack.rejected if c.error == "channel_not_found"]) == 1
        with bot.desk.sessions() as s:
            statuses = Counter(o.status for o in s.scalars(select(Outbox)))
        assert statuses["failed"] >= 1
    finally:
        bot.stop()


def test_a_killed_process_leaves_whole_transitions_and_the_outbox_resumes(
    database_url, slack, tmp_path
) -> None:
    """SIGKILL a worker that files and moves cases as fast as it can; every transition
    is then either complete (case row, audit event, outbox rows) or absent."""
    settings = make_settings(database_url, slack.url)
    build(settings, with_scheduler=False).stop()  # migrate once
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SLACK_API_URL": slack.url,
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "crashworker.py")],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(1.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)

    now = datetime.now(UTC) + timedelta(days=1)
    bot = build(
        settings,
        clock=lambda: now,
        outbox_base_delay=0.01,
        outbox_max_delay=0.2,
        channel_interval=0,
        with_scheduler=False,
    )
    try:
        with bot.desk.sessions() as s:
            cases = list(s.scalars(select(Case)))
            assert cases, "the worker did nothing before it was killed"
            for case in cases:
                evs = list(s.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)))
                steps = sorted(e.step for e in evs if e.step is not None)
                assert steps == list(range(1, case.step + 1)), case.ref
                # each step's post is queued with it (an approval's as its upload's
                # comment); the filing is told by the card
                posts = [
                    o.payload["event_id"]
                    for o in s.scalars(
                        select(Outbox).where(
                            Outbox.case_id == case.id, Outbox.kind.in_(("thread_post", "upload"))
                        )
                    )
                ]
                steps_done = [e.id for e in evs if e.kind != "filed"]
                assert sorted(posts) == sorted(steps_done), case.ref
                cards = s.scalars(
                    select(Outbox).where(Outbox.case_id == case.id, Outbox.kind == "card_post")
                ).all()
                assert len(cards) == 1, case.ref
        assert bot.sender.drain(timeout=120)
        with bot.desk.sessions() as s:
            assert s.scalar(select(Outbox.id).where(Outbox.status != "sent")) is None
    finally:
        bot.stop()
