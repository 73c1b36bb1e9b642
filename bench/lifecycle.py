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
    (TQ, "confirm_information", {"category": "function"}),  # issue 14: a form
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


# calls a transition does not cause: forms opened in answer to a click, and look-ups each
# process makes once and caches (the workspace URL, a user group, a person's name/locale)
NOT_CAUSED = frozenset(
    {"views.open", "views.push", "views.update", "auth.test", "usergroups.users.list", "users.info"}
)
# what the counted calls are for: messages in channels (the card, its thread, alerts),
# direct messages (issue 12's "your turn", approval and outcome DMs, issue 12(3f)'s
# approval DMs updated after the decision), Home tabs, and the documents issue 13 uploads
# (`upload` is the POST of the bytes to the URL Slack gave)
CHANNEL_MESSAGES = "channel messages (card, thread, alerts)"
DIRECT_MESSAGES = "direct messages (chat.* to a person)"
GROUPS = (
    CHANNEL_MESSAGES,
    DIRECT_MESSAGES,
    "Home tabs (views.publish)",
    "documents (files.*, upload)",
)


def group_of(call: Any) -> str | None:
    """The group of a counted call (None: not caused by a transition)."""
    m = call.method
    if m in NOT_CAUSED:
        return None
    if m.startswith("chat."):
        # a DM goes to the person's id (U…/W…), or its conversation (D…) once opened
        channel = str(call.args.get("channel") or "")
        return DIRECT_MESSAGES if channel[:1] in ("U", "W", "D") else CHANNEL_MESSAGES
    if m == "views.publish":
        return GROUPS[2]
    return GROUPS[3] if m.startswith("files.") or m == "upload" else "other"


def _caused(calls: Counter) -> Counter:
    return Counter({m: n for m, n in calls.items() if m not in NOT_CAUSED})


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
    per_transition: list[tuple[str, dict[str, int]]] = [("file_complaint", _caused(after_intake))]
    for user, name, answers in WALK:
        mark = Counter(c.method for c in fake.calls)
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
        per_transition.append((name, _caused(Counter(c.method for c in fake.calls) - mark)))
    final = case_now(case_id)
    calls = Counter(c.method for c in fake.calls)
    by_method = _caused(calls)
    caused = sum(by_method.values())
    groups = dict.fromkeys(GROUPS, 0)
    for call in fake.calls:
        group = group_of(call)
        if group is not None:
            groups[group] = groups.get(group, 0) + 1
    transitions = 1 + len(WALK)  # filing, then each step
    return {
        "transitions": transitions,
        "calls_caused_by_transitions": caused,
        "calls_per_transition": round(caused / transitions, 2),
        "caused_by_method": dict(sorted(by_method.items())),
        "caused_by_group": groups,
        "messages_per_transition": round(
            (groups[CHANNEL_MESSAGES] + groups[DIRECT_MESSAGES]) / transitions, 2
        ),
        "channel_messages_per_transition": round(groups[CHANNEL_MESSAGES] / transitions, 2),
        "not_counted_by_method": {m: n for m, n in sorted(calls.items()) if m in NOT_CAUSED},
        "per_transition": per_transition,
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
