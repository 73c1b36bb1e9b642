"""Slack Web API calls one complaint causes over its whole life, counted on the fake.

A fresh fake Slack and a fresh SQLite database; the bot served over HTTP in this process;
one complaint walked from `/complaint new` to closure through signed clicks and modal
submissions, the way tests/test_procedure_e2e.py walks the severity-A case (without the
rejection loop): urgent intake, confirm, ours, severity A, containment, corrective and
preventive reports, approval, sent, accepted, three clean lots, closed on criterion B.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench.common import MGR, MKT, PROD, SECRET, TQ, TQ2, bot_env, setup_fake
from bot.app import build
from bot.config import load_settings
from bot.handlers.views import intake_view
from bot.models import Case
from bot.sandbox.fakeslack import FakeSlack
from tests.slackclient import SlackClient
from tests.test_intake import GOOD
from tests.test_procedure_e2e import CA as TEST_CA
from tests.test_procedure_e2e import CONTAIN, PA

# the same complaint and reports as the end-to-end tests; the tests' clock is fixed, here it
# is the real one, so the corrective action is planned a month ahead
CA = {**TEST_CA, "planned": (date.today() + timedelta(days=30)).isoformat()}
WALK: list[tuple[str, str, dict[str, Any] | None]] = [
    (TQ, "confirm_information", None),
    (
        TQ,
        "decide_responsibility",
        {"party": "ours", "units": ["production"], "reason": "Solder bridges: our process"},
    ),
    (TQ2, "classify_severity", {"severity": "A", "note": "Function lost"}),
    (PROD, "record_containment", CONTAIN),
    (PROD, "submit_corrective_action", CA),
    (PROD, "submit_preventive_action", PA),
    (MGR, "approve_report", None),
    (TQ, "send_to_customer", {"method": "email"}),
    (MKT, "record_customer_acceptance", {"accepted": "yes", "note": "OK"}),
    (TQ, "record_lot_check", {"lot": "L030", "quantity": "500", "result": "ok"}),
    (TQ, "record_lot_check", {"lot": "L031", "quantity": "500", "result": "ok"}),
    (TQ, "record_lot_check", {"lot": "L032", "quantity": "500", "result": "ok"}),
    (TQ, "close_case", {"criterion": "B"}),
]


def _walk(bot: Any, fake: FakeSlack, client: SlackClient) -> dict[str, Any]:
    def settle() -> None:
        # the inbox worker takes what the handlers acked, then the outbox drains
        if not (bot.wait_idle(30) and bot.sender.drain(30)):
            raise RuntimeError("the bot's work did not finish")

    def case_now(case_id: int) -> Case:
        return bot.desk.get_case(case_id)

    requests = 0
    reply = client.command(MKT, "new")
    requests += 1
    assert reply.status == 200, reply.body
    bot.wait_idle(30)  # views.open is called after the ack
    view = fake.calls_to("views.open")[-1].args["view"]
    assert view["callback_id"] == intake_view()["callback_id"]
    reply = client.submit(MKT, view, {**GOOD, "urgent": ["urgent"]})
    requests += 1
    assert reply.status == 200 and not reply.body, reply.body
    settle()
    with bot.desk.sessions() as s:
        case_id = s.scalars(select(Case.id).order_by(Case.id.desc())).first()
    after_intake = Counter(c.method for c in fake.calls)
    for user, name, answers in WALK:
        case = case_now(case_id)
        before = len(fake.calls_to("views.open"))
        reply = client.click(
            user, f"step:{name}", f"{case.id}:{case.step}", message_ts=case.card_ts or "1.1"
        )
        requests += 1
        assert reply.status == 200, reply.body
        bot.wait_idle(30)  # a form is opened after the ack
        opened = fake.calls_to("views.open")[before:]
        if opened:
            reply = client.submit(user, opened[-1].args["view"], answers or {})
            requests += 1
            assert reply.status == 200 and not reply.body, (name, reply.body)
        settle()
        if case_now(case_id).step == case.step:
            raise RuntimeError(f"step {name} did not happen")
    final = case_now(case_id)
    calls = Counter(c.method for c in fake.calls)
    # what the transitions cause; forms opened (views.*) answer a click, and auth.test and
    # user-group look-ups are per process, cached
    caused = sum(
        n
        for method, n in calls.items()
        if not method.startswith("views.") and method not in ("auth.test", "usergroups.users.list")
    )
    transitions = 1 + len(WALK)  # filing, then each step
    return {
        "transitions": transitions,
        "calls_caused_by_transitions": caused,
        "calls_per_transition": round(caused / transitions, 2),
        "final_status": final.status,
        "closure": final.closure,
        "steps": len(WALK),
        "signed_requests": requests,
        "calls_total": sum(calls.values()),
        "calls_by_method": dict(sorted(calls.items())),
        "calls_at_intake": sum(after_intake.values()),
        "calls_at_intake_by_method": dict(sorted(after_intake.items())),
        "rejected": len(fake.rejected),
    }


def count_calls_per_complaint() -> dict[str, Any]:
    """Walk one complaint to closure and count the fake's accepted Web API calls."""
    from waitress import create_server

    with tempfile.TemporaryDirectory(prefix="bench-life-") as tmp, FakeSlack(seed=7) as fake:
        setup_fake(fake)
        url = f"sqlite:///{Path(tmp) / 'life.sqlite3'}"
        settings = load_settings(bot_env(url, fake.url), dotenv=False)
        bot = build(settings, outbox_base_delay=0.02, channel_interval=0, with_scheduler=False)
        try:
            from bot.scheduler import install_reminders

            install_reminders(bot)
        except ImportError:
            pass
        bot.start_background()
        server = create_server(bot.wsgi(), host="127.0.0.1", port=0, threads=8)
        threading.Thread(target=server.run, daemon=True).start()
        t0 = time.perf_counter()
        try:
            url = f"http://127.0.0.1:{server.effective_port}/slack/events"
            client = SlackClient(url, SECRET, triggers=fake.issue_trigger)
            out = _walk(bot, fake, client)
        finally:
            server.close()
            bot.stop()
        out["wall_s"] = round(time.perf_counter() - t0, 2)
        return out
