"""Issue 9, points 1 and 5–8: text that can be stored, requests that cannot hurt, a
health check that writes, who may read a case, and LOG_LEVEL. All over signed HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.app import build
from bot.doctor import run_checks
from bot.handlers.views import intake_view
from bot.models import Case
from bot.workflow.access import refusal
from bot.workflow.text import clean_text
from tests.conftest import COMPLAINTS, MKT, OUTSIDER, PROD, SECRET, TQ, make_settings, serve
from tests.procedure import case_now, events, take
from tests.slackclient import SlackClient, sign
from tests.test_intake import GOOD, file_complaint, open_form


# --- 1. text is cleaned at validation ----------------------------------------------------
def test_clean_text_drops_controls_keeps_tab_newline_and_composes() -> None:
    assert clean_text("a\x00b\x07c\x1b[31m\x7f\x85d") == "abc[31md"
    assert clean_text("line\r\nnext\rlast\tcol") == "line\nnext\nlast\tcol"
    assert clean_text("e\u0301") == "\u00e9"  # NFC
    assert clean_text("\u200f\u200d👩‍🔧\ud800") == "\u200f\u200d👩‍🔧"  # RTL, ZWJ kept
    assert clean_text(None) == "" and clean_text(12) == "12"


def test_nul_in_intake_step_form_and_thread_reply_is_stored_without_it(running) -> None:
    r = running
    case = file_complaint(r, customer="Acme\x00 Motors", description="bad\x00 solder\x01")
    c = case_now(r, case.id)
    assert (c.customer, c.description) == ("Acme Motors", "bad solder")
    assert c.card_ts, "the card was posted"
    reply = take(r, TQ, case.id, "request_information", {"missing": "lot\x00 photos"})
    assert reply.status == 200 and not reply.body
    assert events(r, case.id)[-1].data["missing"] == "lot photos"
    r.client.event(
        {
            "type": "message",
            "channel": COMPLAINTS,
            "user": TQ,
            "text": "root\x00 cause",
            "ts": "1700000000.000200",
            "thread_ts": c.card_ts,
        }
    )
    r.settle()
    comments = [e.data["text"] for e in events(r, case.id) if e.kind == "comment"]
    assert comments == ["root cause"]


_CHARS = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=())
_SPECIAL = st.sampled_from(
    [
        "\x00",
        "\u200f",
        "\u202e",
        "\u200d",
        "👩\u200d🔧",
        "\U0001f600",
        "e\u0301",
        "\r\n",
        "<!channel>",
    ]
)
_FIELD = st.one_of(
    st.text(_CHARS, max_size=40),
    st.lists(st.one_of(_SPECIAL, st.text(_CHARS, max_size=4)), max_size=20).map("".join),
    st.text(_CHARS, min_size=1, max_size=8).map(lambda t: (t * 3000)[:3000]),
)
INTAKE_TEXT = ("customer", "contact", "product", "lots", "description", "notes")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@example(
    answers={
        "customer": "\x00Acme\u200f 客户 👩\u200d🔧",
        "contact": "\u202eLi\x00",
        "product": "e\u0301\ud800",
        "lots": "L1\r\nL2",
        "description": ("缺陷\x00😀" * 1000)[:3000],
        "notes": "\x1b[31m",
        "quantity": "12",
    }
)
@given(
    answers=st.fixed_dictionaries(
        {
            **{name: _FIELD for name in INTAKE_TEXT},
            "quantity": st.one_of(st.just("12"), _FIELD),
        }
    )
)
def test_any_unicode_in_every_intake_field_files_one_case_with_one_card_or_an_inline_error(
    running, answers
) -> None:
    r = running
    view = open_form(r)
    with r.desk.sessions() as s:
        before = s.scalar(select(func.count(Case.id)))
    reply = r.client.submit(MKT, view, {**GOOD, **answers})
    assert reply.status == 200, reply
    r.settle()
    with r.desk.sessions() as s:
        cases = list(s.scalars(select(Case).order_by(Case.id)))
    if reply.body:  # refused inline, on the fields: nothing filed
        assert set(reply.json()["errors"]) <= set(answers)
        assert len(cases) == before
        return
    assert len(cases) == before + 1  # acknowledged: exactly one case
    new = cases[-1]
    assert new.card_ts and "\x00" not in new.customer + new.description + new.notes
    top = [
        m
        for (ch, ts), m in r.fake.messages.items()
        if ch == COMPLAINTS and m.get("thread_ts") in (None, ts)
    ]
    assert len(top) == len(cases)  # exactly one card per case
    assert sum(1 for m in top if m["ts"] == new.card_ts) == 1


def test_a_quantity_in_unicode_digits_is_an_inline_error_not_a_crash(running) -> None:
    r = running
    view = open_form(r)
    reply = r.client.submit(MKT, view, {**GOOD, "quantity": "²"})
    assert reply.status == 200 and "quantity" in reply.json()["errors"]


# --- 5. no request can exhaust memory or cause a 500 -------------------------------------
def _raw(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_a_body_over_1_mb_is_refused_unread(running) -> None:
    status, _ = _raw(
        running.url + "/slack/events",
        b"x" * (1024 * 1024 + 1),
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 413


def test_malformed_signed_payloads_get_400_or_a_polite_answer(running) -> None:
    r = running
    form = "application/x-www-form-urlencoded"
    bad_json = "payload=" + urllib.parse.quote("{not json")
    assert r.client.post(bad_json, form).status == 400
    assert r.client.post("{also not json", "application/json").status == 400
    shapes: list[Any] = [
        {"type": "view_submission", "user": {"id": MKT}, "view": {"callback_id": "x"}},
        {"type": "view_submission", "view": {"callback_id": "complaint_new", "id": "V1"}},
        {"type": "view_submission", "user": "U1", "view": {"callback_id": "step:close_case"}},
        {"type": "block_actions", "user": {"id": TQ}, "actions": "step:close_case"},
        {"type": "block_actions", "user": {"id": TQ}, "actions": [{"action_id": "step:x"}]},
        {"type": "block_actions", "actions": [{"action_id": "step:close_case", "value": "1:1"}]},
        {
            "type": "view_submission",
            "user": {"id": MKT},
            "view": {
                "id": "V2",
                "callback_id": "complaint_new",
                "state": {"values": {"customer": {"a": "not an object"}, "lots": []}},
            },
        },
        {
            "type": "view_submission",
            "user": {"id": TQ},
            "view": {
                "id": "V3",
                "callback_id": "step:close_case",
                "private_metadata": "1:99999999999",
                "state": {"values": []},
            },
        },
        [],
        "a string",
    ]
    for payload in shapes:
        reply = r.client.post("payload=" + urllib.parse.quote(json.dumps(payload)), form)
        assert reply.status in (200, 400), (payload, reply)
    r.settle()
    with r.desk.sessions() as s:
        assert s.scalar(select(func.count(Case.id))) == 0


def test_a_timestamp_that_is_not_a_number_gets_401(running) -> None:
    body = "command=%2Fcomplaint&text=help&user_id=U0MKT1"
    for stamp in ("not-a-number", "1e9", "", " 17", "-1"):
        sig = sign(SECRET, stamp, body)  # a valid signature over the bad timestamp
        status, _ = _raw(
            running.url + "/slack/events",
            body.encode(),
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": sig,
            },
        )
        assert status == 401, stamp


def test_ephemeral_answers_escape_what_the_user_typed(running) -> None:
    r = running
    for text in ("show <!channel>", "<!here> &", "show <@U0TQ1|boss>"):
        body = r.client.command(TQ, text).body
        assert "<!" not in body and "<@" not in body, body
        assert "&lt;" in body


# --- 6. /healthz writes ----------------------------------------------------------------------
def _read_only(url: str) -> str:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1]
        return f"sqlite:///file:{path}?mode=ro&uri=true"
    sep = "&" if "?" in url else "?"
    return url + sep + "options=" + urllib.parse.quote("-c default_transaction_read_only=on")


def _healthz(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=30) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_healthz_fails_when_the_database_can_be_read_but_not_written(running, slack) -> None:
    file_complaint(running)
    assert _healthz(running.url) == (200, "ok")
    url = _read_only(str(running.bot.engine.url.render_as_string(hide_password=False)))
    ro = build(make_settings(url, slack.url), run_migrations=False, role="web")
    server, ro_url = serve(ro)
    try:
        assert len(ro.desk.open_cases()) == 1  # it reads
        assert _healthz(ro_url) == (503, "database cannot be written")
    finally:
        server.close()
        ro.stop()


# --- 7. who may read a case ---------------------------------------------------------------
def _blocks(reply: Any) -> str:
    return json.dumps(
        reply.json() if reply.body.startswith("{") else reply.body, ensure_ascii=False
    )


def test_a_case_is_read_only_by_roles_its_units_and_its_reporter(running) -> None:
    r = running
    case = file_complaint(r, customer="秘密客户 Secret Customer")
    # outsider: the same answer as for a case that does not exist
    shown = r.client.command(OUTSIDER, f"show {case.ref}").body
    missing = r.client.command(OUTSIDER, "show CC-2026-9999").body
    assert "Secret" not in shown and "秘密" not in shown
    assert shown == refusal(case.ref) and missing == refusal("CC-2026-9999")
    assert case.ref not in _blocks(r.client.command(OUTSIDER, "list"))
    # a production engineer sees it only once production is a responsible unit
    assert "Secret" not in r.client.command(PROD, f"show {case.ref}").body
    take(r, TQ, case.id, "confirm_information")
    take(
        r,
        TQ,
        case.id,
        "decide_responsibility",
        {"party": "ours", "units": ["production"], "reason": "ours"},
    )
    assert "Secret" in _blocks(r.client.command(PROD, f"show {case.ref}"))
    assert case.ref in _blocks(r.client.command(PROD, "list all"))
    # the Home tab lists a unit's case once it waits for the unit (issue 12's to-do)
    take(r, TQ, case.id, "classify_severity", {"severity": "B"})
    for who in (MKT, TQ):
        assert "Secret" in _blocks(r.client.command(who, f"show {case.ref}"))
    # the Home tab: the outsider's lists hold no case, the unit member's do
    for who, sees in ((OUTSIDER, False), (PROD, True)):
        r.client.event({"type": "app_home_opened", "user": who, "tab": "home"})
        r.settle()
        view = r.fake.calls_to("views.publish")[-1].args
        assert view["user_id"] == who
        assert (case.ref in json.dumps(view["view"])) is sees, who


def test_case_visibility_workspace_opens_cases_to_everyone(database_url, slack, clock) -> None:
    bot = build(
        make_settings(database_url, slack.url, CASE_VISIBILITY="workspace"),
        clock=clock,
        channel_interval=0,
        outbox_base_delay=0.02,
    )
    bot.start_background()
    server, url = serve(bot)
    try:
        client = SlackClient(url + "/slack/events", SECRET)
        view = json.loads(json.dumps(intake_view(COMPLAINTS)))
        assert client.submit(MKT, view, GOOD).status == 200
        assert bot.wait_idle() and bot.sender.drain()
        ref = bot.desk.open_cases()[0].ref
        assert "Acme Motors" in client.command(OUTSIDER, f"show {ref}").body
    finally:
        server.close()
        bot.stop()


def test_doctor_warns_when_the_complaints_channel_is_public(database_url, slack) -> None:
    settings = make_settings(database_url, slack.url)
    check = {c.name: c for c in run_checks(settings)}["complaints channel privacy"]
    assert not check.ok and "private" in check.fix and "CASE_VISIBILITY" in check.fix
    slack.set_channel(COMPLAINTS, name="complaints", members=["UBOT000001"], is_private=True)
    check = {c.name: c for c in run_checks(settings)}["complaints channel privacy"]
    assert check.ok
    open_settings = make_settings(database_url, slack.url, CASE_VISIBILITY="workspace")
    assert "complaints channel privacy" not in {c.name for c in run_checks(open_settings)}


# --- 8. LOG_LEVEL ----------------------------------------------------------------------------
def test_log_level_is_honoured(tmp_path, slack) -> None:
    from tests.test_ops import _start_run, _stop

    quiet, loud = tmp_path / "quiet", tmp_path / "loud"
    quiet.mkdir()
    loud.mkdir()
    proc, _, log_path = _start_run(quiet, slack, LOG_LEVEL="ERROR")
    out = _stop(proc, log_path)
    assert proc.returncode == 0 and " INFO " not in out and " WARNING " not in out, out
    proc, _, log_path = _start_run(loud, slack, LOG_LEVEL="debug")
    out = _stop(proc, log_path)
    assert proc.returncode == 0 and " DEBUG " in out and " INFO " in out, out


# --- the interactive payload, decoded in C (bot/httpguard.py) -------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def bolt_reading(body: str, content_type: str = "application/x-www-form-urlencoded") -> Any:
    """What Bolt itself makes of a body: its parsed body and context, or the error."""
    from slack_bolt import BoltRequest

    try:
        req = BoltRequest(body=body, headers={"content-type": content_type})
    except Exception as exc:  # noqa: BLE001 - compared, not hidden
        return type(exc)
    return req.body, dict(req.context)


def ours(body: str, content_type: str = "application/x-www-form-urlencoded") -> Any:
    from bot.httpguard import FormRequest

    try:
        req = FormRequest(body=body, headers={"content-type": content_type})
    except Exception as exc:  # noqa: BLE001 - compared, not hidden
        return type(exc)
    assert req.raw_body == body  # the signature is checked on the body as it came
    return req.body, dict(req.context)


@settings(max_examples=300, deadline=None)
@given(
    payload=st.dictionaries(st.text(), JSON_VALUES, max_size=6),
    ascii_only=st.booleans(),
    quote_plus=st.booleans(),
)
@example(
    payload={"type": "view_submission", "user": {"id": "U1", "team_id": "T1"}, "t": "中 +%&\\"},
    ascii_only=False,
    quote_plus=True,
)  # noqa: E501
def test_a_form_payload_reads_as_bolt_reads_it(
    payload: dict[str, Any], ascii_only: bool, quote_plus: bool
) -> None:
    """Any JSON object Slack could send as a form's `payload`, however it is url-encoded,
    is read to the same body and context as Bolt's own parse_qsl reads it."""
    text = json.dumps(payload, ensure_ascii=ascii_only)
    quote = urllib.parse.quote_plus if quote_plus else urllib.parse.quote
    body = urllib.parse.urlencode({"payload": text}, quote_via=quote)
    from bot.httpguard import form_payload

    assert form_payload(body) == payload  # the fast path itself, not Bolt's fallback
    assert ours(body) == bolt_reading(body)


@settings(max_examples=300, deadline=None)
@given(
    body=st.one_of(
        st.text(max_size=60),
        st.text(alphabet="payload=%{}\"'+&\\:,[]09afAFzé中 ", max_size=60),
        st.text(alphabet="%0123456789abcdefABCDEFxyz", max_size=30).map(lambda t: "payload=" + t),
    ),
    content_type=st.sampled_from(["application/x-www-form-urlencoded", "application/json"]),
)
def test_any_other_body_reads_as_bolt_reads_it(body: str, content_type: str) -> None:
    """Malformed escapes, other fields, raw non-ASCII, a JSON content type: the same reading
    (or the same error) as Bolt's."""
    assert ours(body, content_type) == bolt_reading(body, content_type)
