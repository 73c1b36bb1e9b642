"""Hostile input and access: forged payloads change nothing, user text is shown safely and
within Block Kit limits whatever it is, and the whole record can be exported."""

from __future__ import annotations

import concurrent.futures as cf
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blocks.card import case_card
from blocks.intake import intake_modal
from blocks.modals import DIRECT_STEPS, step_modal
from blocks.posts import alert, case_detail, thread_post
from blocks.text import escape, user_text
from bot.handlers.actions import parse_value
from bot.handlers.views import values
from bot.sandbox.fakeslack import validate_blocks, validate_view
from bot.workflow.steps import STEPS
from bot.workflow.view import LABELS
from tests.conftest import COMPLAINTS, MANAGEMENT, MGR, MGR2, MKT, OUTSIDER, PROD, TQ
from tests.mrkdwn import control_sequences, sequences, shown, unescape
from tests.procedure import CONFIRM, case_now, ephemerals, events, take
from tests.test_intake import file_complaint
from tests.test_procedure_e2e import CA, PA

NOW = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
# user text: anything, including Chinese, emoji, Slack control sequences and escapes
TEXT = st.lists(
    st.one_of(
        st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60),
        st.sampled_from(
            [
                "<!channel>",
                "<!here>",
                "<@U0EVIL1>",
                "<!subteam^S1>",
                "&",
                "<",
                ">",
                "客诉",
                "😀",
                "*",
                "_",
                "`",
                "\n",
                "&amp;",
                "<http://x|y>",
                "客" * 1500,
            ]
        ),
    ),
    max_size=80,
).map("".join)


def vm(**text: str) -> dict:
    base = {
        "id": 7,
        "ref": "CC-2026-0007",
        "step": 3,
        "status": "approval",
        "status_label": "Awaiting management approval",
        "is_open": True,
        "customer": "c",
        "contact": "c",
        "product": "p",
        "lots": "l",
        "quantity": 10**9,
        "via": "E-mail",
        "description": "d",
        "notes": "n",
        "urgent": True,
        "customer_deadline": "2026-03-10",
        "evidence": [],
        "reporter": "U0MKT1",
        "received_at": NOW,
        "responsibility": "ours",
        "responsibility_reason": "r",
        "units": ["production", "development"],
        "severity": "A",
        "severity_text": "x",
        "ca_due_at": NOW,
        "pa_due_at": NOW,
        "ca_done_at": None,
        "pa_done_at": None,
        "overdue": True,
        "rework_count": 3,
        "clean_lots": 2,
        "clean_lots_needed": 3,
        "approved_by": None,
        "approved_at": None,
        "closure": "A",
        "closure_label": "A",
        "closed_at": NOW,
        "next_text": "next",
        "owners": ["role:management", "user:U0MGR1", "group:S0TQGRP"],
        "actions": [{"name": n, "label": s.label, "primary": s.primary} for n, s in STEPS.items()],
        "channel": COMPLAINTS,
        "card_ts": "1.2",
        "delivery_error": "x",
    }
    return {**base, **text}


def safe(blocks: list, baseline: list) -> None:
    """Slack would parse no ping and no link that user text brought: every control sequence
    in the blocks is one the bot also writes for harmless text (`baseline`, the same
    message with "x"-like user text), as often or less (long text may push some out)."""
    brought = sequences(blocks) - sequences(baseline)
    assert not brought, f"user text made Slack parse {sorted(brought)}"


def visible(value: str, blocks: list) -> None:
    """...and the reader still sees what the user wrote (its start: long text is cut)."""
    assert value[:12] in shown(blocks), value[:12]


@given(TEXT)
def test_escaped_text_parses_as_nothing_and_shows_as_written(text) -> None:
    out = escape(text)
    assert control_sequences(out) == [] and unescape(out) == text
    cut = user_text(text, 100)
    assert control_sequences(cut) == [] and len(cut) <= 100
    assert text.startswith(unescape(cut.removesuffix("…")))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(customer=TEXT, product=TEXT, description=TEXT, lots=TEXT)
def test_card_and_detail_stay_valid_and_safe_for_any_text(
    customer, product, description, lots
) -> None:
    model = vm(
        customer=customer, product=product, description=description, lots=lots, notes=description
    )
    plain_model = vm()  # the same case with harmless text
    card = case_card(model)
    assert validate_blocks(card["blocks"], surface="message") == []
    assert len(card["text"]) <= 40000
    safe(card["blocks"], case_card(plain_model)["blocks"])
    visible(customer, card["blocks"])

    def timeline(text: str) -> list[dict]:
        return [
            {
                "id": i,
                "kind": "comment",
                "title": "wrote",
                "actor": "U0PROD1",
                "at": NOW,
                "data": {"text": text},
            }
            for i in range(60)
        ]

    detail = case_detail({**model, "timeline": timeline(description)}, LABELS)
    assert validate_blocks(detail["blocks"], surface="message") == []
    baseline = case_detail({**plain_model, "timeline": timeline("x")}, LABELS)
    safe(detail["blocks"], baseline["blocks"])
    visible(description, detail["blocks"])
    for kind in ("severity_a", "overdue", "escalation", "urgent"):
        msg = alert(model, kind, "https://fake.slack.com/x", {"repeat": 2})
        assert validate_blocks(msg["blocks"], surface="message") == []
        plain_msg = alert(plain_model, kind, "https://fake.slack.com/x", {"repeat": 2})
        safe(msg["blocks"], plain_msg["blocks"])


@settings(max_examples=60, deadline=None)
@given(
    data=st.dictionaries(
        st.sampled_from(
            ["reason", "note", "why", "actions", "lot", "evidence", "text", "missing", "info"]
        ),
        TEXT,
    ),
    kind=st.sampled_from(sorted(STEPS) + ["comment", "filed"]),
)
def test_thread_posts_stay_valid_and_safe(data, kind) -> None:
    event = {
        "id": 1,
        "kind": kind,
        "title": "did",
        "actor": "U0TQ1",
        "at": NOW,
        "data": {**data, "why": [data.get("why", "")], "version": 2},
    }
    msg = thread_post(vm(), event, ["user:U0MGR1", "role:quality"], LABELS)
    assert validate_blocks(msg["blocks"], surface="message") == []
    harmless = {**event, "data": {**{k: "x" for k in data}, "why": ["x"], "version": 2}}
    plain_msg = thread_post(vm(), harmless, ["user:U0MGR1", "role:quality"], LABELS)
    safe(msg["blocks"], plain_msg["blocks"])


@settings(max_examples=30, deadline=None)
@given(customer=TEXT, product=TEXT)
def test_every_modal_is_valid_for_any_case(customer, product) -> None:
    assert validate_view(intake_modal(channel_id="C1")) == []
    model = vm(customer=customer, product=product)
    for name in STEPS:
        if name in DIRECT_STEPS:
            continue
        view = step_modal(name, model, labels=LABELS, units=["production", "development"])
        assert validate_view(view) == [], name
        assert len(view["private_metadata"]) <= 3000


@given(st.integers(1, 10**12 - 1), st.integers(0, 10**9 - 1), st.text(max_size=300))
def test_button_values_parse_to_ids_or_nothing(case_id, step, raw) -> None:
    # what the card writes comes back as its ids...
    assert parse_value(f"{case_id}:{step}") == (case_id, step)
    # ...and anything else is either exactly that form or nothing (never a guess)
    parsed = parse_value(raw)
    assert parsed is None or (raw == f"{parsed[0]}:{parsed[1]}")
    assert parse_value(f" {case_id}:{step}") is None and parse_value(f"{case_id}") is None


@given(
    st.dictionaries(
        st.text(max_size=20),
        st.dictionaries(
            st.text(max_size=10),
            st.fixed_dictionaries(
                {
                    "type": st.sampled_from(
                        [
                            "plain_text_input",
                            "static_select",
                            "multi_static_select",
                            "datepicker",
                            "checkboxes",
                            "radio_buttons",
                            "users_select",
                            "file_input",
                            "number_input",
                        ]
                    )
                },
                optional={
                    "value": st.none() | st.text(),
                    "selected_option": st.none() | st.fixed_dictionaries({"value": st.text()}),
                    "selected_options": st.lists(st.fixed_dictionaries({"value": st.text()})),
                    "selected_date": st.none() | st.text(),
                    "files": st.lists(st.dictionaries(st.sampled_from(["id", "name"]), st.text())),
                },
            ),
            max_size=2,
        ),
        max_size=8,
    )
)
def test_view_state_parser_never_crashes(state) -> None:
    out = values({"state": {"values": state}})
    assert set(out) == {block for block, actions in state.items() if actions}


# (state of one element as Slack sends it, the value the step gets) per element type
STATE_OF = {
    "plain_text_input": (lambda v: {"value": v}, lambda v: v),
    "static_select": (lambda v: {"selected_option": {"value": v}}, lambda v: v),
    "radio_buttons": (lambda v: {"selected_option": {"value": v}}, lambda v: v),
    "datepicker": (lambda v: {"selected_date": v}, lambda v: v),
    "users_select": (lambda v: {"selected_user": v}, lambda v: v),
    "checkboxes": (
        lambda v: {"selected_options": [{"value": v}, {"value": v + "2"}]},
        lambda v: [v, v + "2"],
    ),
    "multi_static_select": (
        lambda v: {"selected_options": [{"value": v}]},
        lambda v: [v],
    ),
}


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=20),
        st.tuples(st.sampled_from(sorted(STATE_OF)), st.text(max_size=40)),
        min_size=1,
        max_size=8,
    )
)
def test_view_state_parser_returns_what_was_chosen(answers) -> None:
    state = {
        block: {f"a_{block}": {"type": kind, **STATE_OF[kind][0](value)}}
        for block, (kind, value) in answers.items()
    }
    expected = {block: STATE_OF[kind][1](value) for block, (kind, value) in answers.items()}
    assert values({"state": {"values": state}}) == expected


# --- forged interactions over signed HTTP -------------------------------------------------


def test_forged_payloads_change_nothing(running, caplog) -> None:
    r = running
    a = file_complaint(r)
    b = file_complaint(r, customer="Other customer")
    take(r, TQ, a.id, "confirm_information")
    a = case_now(r, a.id)
    # a valid signature is not a role: a marketing user clicks Approve-like steps
    r.client.click(MKT, "step:decide_responsibility", f"{a.id}:{a.step}")
    # the value of another case with this case's step number
    r.client.click(TQ, "step:confirm_information", f"{b.id}:{a.step}")
    # rubbish values and an unknown step
    r.client.click(TQ, "step:confirm_information", "1;DROP TABLE cases")
    r.client.click(TQ, "step:delete_everything", f"{a.id}:{a.step}")
    # a tampered private_metadata: a step form pointed at the other case
    view = step_modal(
        "decide_responsibility",
        {**vm(), "id": b.id, "step": 99},
        labels=LABELS,
        units=["production"],
    )
    reply = r.client.submit(TQ, view, {"party": "customer", "reason": "forged"})
    assert "moved on" in reply.body
    view["private_metadata"] = "not-a-case"
    assert "not recognised" in r.client.submit(TQ, view, {"party": "customer"}).body
    r.settle()
    assert case_now(r, a.id).step == a.step and case_now(r, b.id).step == b.step
    assert [e.kind for e in events(r, b.id)] == ["filed"]
    assert any("Only Technical Quality" in t for t in ephemerals(r, MKT))
    assert any("not recognised" in t for t in ephemerals(r, TQ))
    assert any("forged or unknown action" in m for m in caplog.messages)


def test_double_click_and_two_managers_make_one_decision(running) -> None:
    r = running
    case = file_complaint(r)
    # a double click on the confirmation form's submit: two identical requests at once
    r.client.click(TQ, "step:confirm_information", f"{case.id}:{case.step}")
    r.bot.wait_idle()
    view = r.fake.calls_to("views.open")[-1].args["view"]
    with cf.ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: r.client.submit(TQ, view, CONFIRM, view_id="V0DOUBLE"), [1, 2]))
    r.settle()
    assert [e.kind for e in events(r, case.id)].count("confirm_information") == 1
    take(
        r,
        TQ,
        case.id,
        "decide_responsibility",
        {"party": "ours", "units": ["production"], "reason": "ours"},
    )
    take(r, TQ, case.id, "classify_severity", {"severity": "C"})
    take(r, PROD, case.id, "record_containment", {"actions": "hold"})
    take(r, PROD, case.id, "submit_corrective_action", CA)
    take(r, PROD, case.id, "submit_preventive_action", PA)
    c = case_now(r, case.id)
    value = f"{c.id}:{c.step}"
    with cf.ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda u: r.client.click(u, "step:approve_report", value), [MGR, MGR2]))
    r.settle()
    decisions = [e for e in events(r, case.id) if e.kind == "approve_report"]
    assert len(decisions) == 1
    loser = MGR2 if decisions[0].actor == MGR else MGR
    assert any("moved on" in t for t in ephemerals(r, loser))


def test_alert_burst_under_rate_limit_arrives_in_order_once(database_url, slack) -> None:
    from bot.app import build
    from tests.conftest import make_settings
    from tests.test_faults import file

    slack.rate_limit(per_second=5, retry_after=1, method="chat.postMessage")
    bot = build(
        make_settings(database_url, slack.url),
        clock=lambda: NOW,
        outbox_base_delay=0.01,
        outbox_max_delay=0.2,
        channel_interval=0.05,
        with_scheduler=False,
    )
    bot.start_background()
    try:
        refs = [file(bot.desk, NOW, i, urgent=True).ref for i in range(25)]
        assert bot.sender.drain(timeout=120)
    finally:
        bot.stop()
    assert any(c.status == 429 for c in slack.rejected)
    alerts = [
        c.args["text"]
        for c in slack.calls_to("chat.postMessage")
        if c.args["channel"] == MANAGEMENT
    ]
    assert [next(r for r in refs if r in t) for t in alerts] == refs


def test_export_holds_the_whole_record(running, tmp_path) -> None:
    r = running
    case = file_complaint(r)
    take(r, TQ, case.id, "request_information", {"missing": "Photos of U3"})
    record = r.desk.export_case(case.ref)
    assert record["case"]["ref"] == case.ref and record["case"]["customer"] == "Acme Motors"
    assert [e["kind"] for e in record["events"]] == ["filed", "request_information"]
    assert record["events"][1]["data"]["missing"] == "Photos of U3"
    assert {d["status"] for d in record["deliveries"]} == {"sent"}
    json.dumps(record)  # plain JSON
    env = {  # a read-only command needs the database and nothing else
        "DATABASE_URL": r.bot.settings.database_url,
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
    }
    out = subprocess.run(
        [sys.executable, "-m", "bot", "export", case.ref],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["events"][1]["data"]["missing"] == "Photos of U3"
    assert OUTSIDER not in out.stdout
