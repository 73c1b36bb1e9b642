"""Tests for the fake Slack server, driven through a real ``slack_sdk.WebClient``.

Why: every other test trusts this fake, so it must itself be shown to answer like Slack (shapes,
errors, Block Kit limits) and to inject faults exactly as configured.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler

from bot.sandbox.fakeslack import DEFAULT_SCOPES, FakeSlack, validate_blocks, validate_view

CHANNEL = "C0000COMPL"
# the fake's own tests also call the methods other parts of the project may need
SCOPES = DEFAULT_SCOPES + ",users:read,files:read"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    channels = {CHANNEL: {"name": "complaints", "members": ["UBOT000001"]}}
    with FakeSlack(channels=channels, scopes=SCOPES) as f:
        yield f


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake.url)


@pytest.fixture
def raw(fake: FakeSlack) -> WebClient:
    """A client that never retries, so each injected fault surfaces as exactly one error."""
    return WebClient(token="xoxb-test", base_url=fake.url, retry_handlers=[])


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def button(action_id: str, label: str = "Go") -> dict[str, Any]:
    return {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": label}}


def modal(title: str = "File a complaint", **extra: Any) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": "complaint",
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Send"},
        "blocks": [
            {
                "type": "input",
                "block_id": "what",
                "label": {"type": "plain_text", "text": "What happened?"},
                "element": {"type": "plain_text_input", "action_id": "body", "multiline": True},
            }
        ],
    }
    view.update(extra)
    return view


def expect_error(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        call()
    return info.value


# -- basics -----------------------------------------------------------------------------------


def test_url_shape_and_auth_test_scopes_header(fake: FakeSlack, client: WebClient) -> None:
    assert fake.url.startswith("http://127.0.0.1:") and fake.url.endswith("/api/")
    resp = client.auth_test()
    assert resp["user_id"] == "UBOT000001" and resp["team_id"] == "T0000TEST"
    assert resp["bot_id"] == "B0000TEST" and resp["is_enterprise_install"] is False
    assert resp.headers["x-oauth-scopes"] == SCOPES
    assert "chat:write" in resp.headers["x-oauth-scopes"].split(",")
    assert [c.method for c in fake.calls] == ["auth.test"]


def test_custom_scopes_header() -> None:
    with FakeSlack(scopes="chat:write") as f:
        resp = WebClient(token="xoxb-t", base_url=f.url).auth_test()
    assert resp.headers["x-oauth-scopes"] == "chat:write"


def test_missing_token_is_not_authed(fake: FakeSlack) -> None:
    err = expect_error(WebClient(base_url=fake.url).auth_test)
    assert err.response["error"] == "not_authed"
    assert fake.calls == [] and fake.rejected[0].error == "not_authed"


def test_unknown_method_is_rejected(fake: FakeSlack, client: WebClient) -> None:
    err = expect_error(lambda: client.api_call("complaints.fileForMe"))
    assert err.response.status_code == 200 and err.response["error"] == "unknown_method"
    assert fake.calls == []
    assert [(c.method, c.error) for c in fake.rejected] == [
        ("complaints.fileForMe", "unknown_method")
    ]


# -- messages ---------------------------------------------------------------------------------


def test_post_update_thread_permalink_round_trip(fake: FakeSlack, client: WebClient) -> None:
    blocks = [section("*New complaint*", block_id="head"), {"type": "divider"}]
    posted = client.chat_postMessage(channel=CHANNEL, text="New complaint", blocks=blocks)
    ts = posted["ts"]
    assert posted["channel"] == CHANNEL and posted["message"]["blocks"] == blocks
    assert fake.messages[(CHANNEL, ts)]["user"] == "UBOT000001"

    updated = client.chat_update(channel=CHANNEL, ts=ts, text="Complaint (claimed)")
    assert updated["ts"] == ts and updated["text"] == "Complaint (claimed)"
    assert fake.messages[(CHANNEL, ts)]["text"] == "Complaint (claimed)"

    r1 = client.chat_postMessage(channel=CHANNEL, thread_ts=ts, text="first reply")
    r2 = client.chat_postMessage(channel=CHANNEL, thread_ts=ts, text="second reply")
    assert float(ts) < float(r1["ts"]) < float(r2["ts"])
    assert [m["text"] for m in fake.thread(CHANNEL, ts)] == ["first reply", "second reply"]
    replies = client.conversations_replies(channel=CHANNEL, ts=ts)["messages"]
    assert [m["ts"] for m in replies] == [ts, r1["ts"], r2["ts"]]
    assert replies[0]["reply_count"] == 2

    link = client.chat_getPermalink(channel=CHANNEL, message_ts=ts)["permalink"]
    assert link == f"https://fake.slack.com/archives/{CHANNEL}/p{ts.replace('.', '')}"
    reply_link = client.chat_getPermalink(channel=CHANNEL, message_ts=r1["ts"])["permalink"]
    assert reply_link.endswith(f"?thread_ts={ts}&cid={CHANNEL}")
    assert [c.method for c in fake.calls].count("chat.postMessage") == 3
    assert fake.calls_to("chat.update")[0].args["ts"] == ts


def test_form_encoded_blocks_are_decoded(fake: FakeSlack, client: WebClient) -> None:
    blocks = [section("hi")]
    resp = client.api_call(
        "chat.postMessage", params={"channel": CHANNEL, "blocks": json.dumps(blocks)}
    )
    assert resp["message"]["blocks"] == blocks
    assert fake.calls_to("chat.postMessage")[0].args["blocks"] == blocks


def test_message_errors(fake: FakeSlack, client: WebClient) -> None:
    assert expect_error(lambda: client.chat_postMessage(channel=CHANNEL)).response["error"] == (
        "no_text"
    )
    missing = expect_error(lambda: client.chat_postMessage(channel="CNOPE", text="x"))
    assert missing.response["error"] == "channel_not_found"
    gone = expect_error(lambda: client.chat_update(channel=CHANNEL, ts="1.000001", text="x"))
    assert gone.response["error"] == "message_not_found"
    long = expect_error(lambda: client.chat_postMessage(channel=CHANNEL, text="x" * 40001))
    assert long.response["error"] == "msg_too_long"
    assert fake.calls == [] and len(fake.rejected) == 4


def test_channel_names_users_and_dms(fake: FakeSlack, client: WebClient) -> None:
    assert client.chat_postMessage(channel="#complaints", text="x")["channel"] == CHANNEL
    dm = client.chat_postMessage(channel="U0000ALICE", text="hi")["channel"]  # a user id: a DM
    assert dm.startswith("D")
    assert client.conversations_open(users="U0000ALICE")["channel"]["id"] == dm
    with FakeSlack(scopes=fake.scopes.replace("im:write", "")) as narrower:
        other = WebClient(token="xoxb-t", base_url=narrower.url)
        with pytest.raises(SlackApiError, match="missing_scope"):
            other.conversations_open(users="U0000ALICE")
    eph = client.chat_postEphemeral(channel=CHANNEL, user="U0000ALICE", text="only you")
    assert "message_ts" in eph


def test_lenient_channels_when_none_configured() -> None:
    with FakeSlack() as f:
        resp = WebClient(token="xoxb-t", base_url=f.url).chat_postMessage(channel="CANY", text="x")
    assert resp["channel"] == "CANY"


def test_directory_methods(fake: FakeSlack, client: WebClient) -> None:
    fake.set_user("U0000ALICE", real_name="Alice Wang", email="alice@example.com")
    user = client.users_info(user="U0000ALICE")["user"]
    assert user["real_name"] == "Alice Wang" and user["tz"] == "Asia/Shanghai"
    assert user["profile"]["email"] == "alice@example.com"
    assert client.users_info(user="U0000BOB")["user"]["name"] == "user_u0000bob"

    fake.set_usergroup("S0000OPS", ["U1", "U2"])
    assert client.usergroups_users_list(usergroup="S0000OPS")["users"] == ["U1", "U2"]
    err = expect_error(lambda: client.usergroups_users_list(usergroup="S404"))
    assert err.response["error"] == "no_such_subteam"

    fake.set_channel("C0000OTHER", name="other", members=["U1"])
    assert client.conversations_info(channel=CHANNEL)["channel"]["is_member"] is True
    assert client.conversations_info(channel="C0000OTHER")["channel"]["is_member"] is False
    assert client.conversations_members(channel="C0000OTHER")["members"] == ["U1"]
    err = expect_error(lambda: client.conversations_info(channel="C404"))
    assert err.response["error"] == "channel_not_found"
    assert client.files_info(file="F123")["file"]["id"] == "F123"


# -- views ------------------------------------------------------------------------------------


def test_views_open_update_and_single_use_trigger(fake: FakeSlack, client: WebClient) -> None:
    trigger = fake.issue_trigger()
    view = client.views_open(trigger_id=trigger, view=modal())["view"]
    assert view["id"].startswith("V") and view["type"] == "modal"
    assert view["callback_id"] == "complaint" and view["state"] == {"values": {}}
    err = expect_error(lambda: client.views_open(trigger_id=trigger, view=modal()))
    assert err.response["error"] == "exchanged_trigger_id"

    upd = client.views_update(view_id=view["id"], hash=view["hash"], view=modal("Thanks"))["view"]
    assert upd["id"] == view["id"] and upd["title"]["text"] == "Thanks"
    stale = expect_error(
        lambda: client.views_update(view_id=view["id"], hash=view["hash"], view=modal())
    )
    assert stale.response["error"] == "hash_conflict"

    home = {"type": "home", "blocks": [section("Your complaints")]}
    first = client.views_publish(user_id="U0000ALICE", view=home)["view"]
    again = client.views_publish(user_id="U0000ALICE", view=home)["view"]
    assert first["type"] == "home" and first["id"] == again["id"]
    assert len(fake.calls_to("views.open")) == 1


def test_invalid_modal_title_rejected(fake: FakeSlack, client: WebClient) -> None:
    trigger = fake.issue_trigger()
    err = expect_error(lambda: client.views_open(trigger_id=trigger, view=modal("x" * 25)))
    assert err.response["error"] == "invalid_arguments"
    assert any("/view/title/text" in e for e in err.response["errors"])
    # The trigger was not consumed by the rejected attempt.
    assert client.views_open(trigger_id=trigger, view=modal("x" * 24))["ok"] is True


def test_modal_with_input_needs_submit(fake: FakeSlack, client: WebClient) -> None:
    view = modal()
    del view["submit"]
    err = expect_error(lambda: client.views_open(trigger_id=fake.issue_trigger(), view=view))
    assert any("submit" in e for e in err.response["errors"])


# -- Block Kit --------------------------------------------------------------------------------


def test_51_blocks_rejected_but_50_accepted(fake: FakeSlack, client: WebClient) -> None:
    err = expect_error(
        lambda: client.chat_postMessage(channel=CHANNEL, blocks=[{"type": "divider"}] * 51)
    )
    assert err.response["error"] == "invalid_blocks"
    assert err.response["errors"] == ["no more than 50 items allowed [json-pointer:/blocks]"]
    assert client.chat_postMessage(channel=CHANNEL, blocks=[{"type": "divider"}] * 50)["ok"]
    assert len(fake.messages) == 1


def test_long_option_text_rejected(client: WebClient) -> None:
    def select(text: str) -> list[dict[str, Any]]:
        opt = {"text": {"type": "plain_text", "text": text}, "value": "v"}
        return [section("Pick", accessory={"type": "static_select", "options": [opt]})]

    err = expect_error(lambda: client.chat_postMessage(channel=CHANNEL, blocks=select("o" * 76)))
    assert err.response["error"] == "invalid_blocks"
    assert "/blocks/0/accessory/options/0/text/text" in err.response["errors"][0]
    assert client.chat_postMessage(channel=CHANNEL, blocks=select("o" * 75))["ok"]


def test_duplicate_action_id_and_empty_text_rejected(client: WebClient) -> None:
    dup = [{"type": "actions", "elements": [button("claim"), button("claim")]}]
    err = expect_error(lambda: client.chat_postMessage(channel=CHANNEL, blocks=dup))
    assert any("duplicate action_id 'claim'" in e for e in err.response["errors"])
    err = expect_error(lambda: client.chat_postMessage(channel=CHANNEL, blocks=[section("")]))
    assert err.response["errors"] == [
        "must be more than 0 characters [json-pointer:/blocks/0/text/text]"
    ]


def test_validator_accepts_realistic_layouts() -> None:
    opts = [{"text": {"type": "plain_text", "text": n}, "value": n} for n in ("low", "high")]
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Complaint #12", "emoji": True}},
        section("*From* <@U1>", fields=[{"type": "mrkdwn", "text": "a"}], accessory=button("b1")),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "filed today"}]},
        {
            "type": "actions",
            "elements": [
                button("claim", "Claim") | {"style": "primary", "value": "12"},
                {"type": "static_select", "action_id": "sev", "options": opts},
                {"type": "overflow", "action_id": "more", "options": opts},
            ],
        },
        {
            "type": "input",
            "label": {"type": "plain_text", "text": "Severity"},
            "element": {
                "type": "radio_buttons",
                "action_id": "r",
                "options": opts,
                "initial_option": opts[1],
            },
            "optional": True,
        },
        {
            "type": "input",
            "label": {"type": "plain_text", "text": "When"},
            "element": {"type": "datepicker", "action_id": "d", "initial_date": "2024-02-29"},
        },
    ]
    assert validate_blocks(blocks, surface="message") == []
    assert validate_view(modal(blocks=blocks)) == []
    assert validate_view({"type": "home", "blocks": [{"type": "divider"}] * 100}) == []


@pytest.mark.parametrize(
    ("block", "fragment"),
    [
        ({"type": "carousel"}, "unknown block type"),
        ({"type": "divider", "block_id": "x" * 256}, "/blocks/0/block_id"),
        ({"type": "section"}, "must provide text or fields"),
        (section("x" * 3001), "less than 3001"),
        ({"type": "header", "text": {"type": "mrkdwn", "text": "h"}}, "must be one of plain_text"),
        ({"type": "context", "elements": []}, "between 1 and 10"),
        ({"type": "actions", "elements": [button(f"a{i}") for i in range(26)]}, "between 1 and 25"),
        (section("x", accessory={"type": "plain_text_input"}), "not allowed here"),
        (section("x", accessory=button("b") | {"style": "blue"}), "primary, danger"),
        ({"type": "section", "text": {"type": "mrkdwn", "text": "x", "emoji": True}}, "emoji"),
        (
            {
                "type": "input",
                "label": {"type": "plain_text", "text": "L"},
                "element": {"type": "number_input"},
            },
            "is_decimal_allowed",
        ),
        (
            {
                "type": "input",
                "label": {"type": "plain_text", "text": "L"},
                "element": {"type": "datepicker", "initial_date": "2024-2-1"},
            },
            "YYYY-MM-DD",
        ),
        (
            {
                "type": "input",
                "label": {"type": "plain_text", "text": "L"},
                "element": {"type": "file_input", "max_files": 11},
            },
            "max_files",
        ),
        (
            section(
                "x",
                accessory={
                    "type": "static_select",
                    "options": [{"text": {"type": "plain_text", "text": "a"}, "value": "a"}],
                    "initial_option": {"text": {"type": "plain_text", "text": "b"}, "value": "b"},
                },
            ),
            "must match one of the provided options",
        ),
    ],
)
def test_validator_rejects(block: dict[str, Any], fragment: str) -> None:
    errors = validate_blocks([block], surface="message")
    assert errors and any(fragment in e for e in errors), errors


def test_duplicate_block_ids_and_view_limits() -> None:
    assert any(
        "duplicate block_id" in e
        for e in validate_blocks(
            [{"type": "divider", "block_id": "a"}, {"type": "divider", "block_id": "a"}],
            surface="modal",
        )
    )
    assert validate_view({"type": "home", "blocks": [{"type": "divider"}] * 101})
    assert validate_view(modal(private_metadata="m" * 3001))
    assert validate_view(modal(callback_id="c" * 256))
    assert validate_view(modal(close={"type": "plain_text", "text": "c" * 25}))
    no_title = modal()
    del no_title["title"]
    assert validate_view(no_title)


# -- fault injection --------------------------------------------------------------------------


def test_fail_next_returns_status_and_is_not_applied(fake: FakeSlack, raw: WebClient) -> None:
    fake.fail_next(2, status=503, method="chat.postMessage")
    assert raw.auth_test()["ok"]  # other methods unaffected
    for _ in range(2):
        err = expect_error(lambda: raw.chat_postMessage(channel=CHANNEL, text="x"))
        assert err.response.status_code == 503
    assert raw.chat_postMessage(channel=CHANNEL, text="x")["ok"]
    assert len(fake.calls_to("chat.postMessage")) == 1 and len(fake.messages) == 1
    assert [(c.status, c.method) for c in fake.rejected] == [(503, "chat.postMessage")] * 2


def test_fail_next_any_method_and_bad_status(fake: FakeSlack, raw: WebClient) -> None:
    fake.fail_next(1)
    assert expect_error(raw.auth_test).response.status_code == 500
    assert raw.auth_test()["ok"] and len(fake.calls) == 1
    with pytest.raises(ValueError):
        fake.fail_next(1, status=404)


def test_sdk_retry_handler_recovers_from_one_5xx(fake: FakeSlack) -> None:
    retrying = WebClient(
        token="xoxb-test",
        base_url=fake.url,
        retry_handlers=[ServerErrorRetryHandler(max_retry_count=1)],
    )
    fake.fail_next(1, status=503)
    assert retrying.chat_postMessage(channel=CHANNEL, text="x")["ok"]
    assert [c.status for c in fake.rejected] == [503] and len(fake.messages) == 1


def test_error_next(fake: FakeSlack, raw: WebClient) -> None:
    fake.error_next("chat.postMessage", "channel_not_found", n=2)
    for _ in range(2):
        err = expect_error(lambda: raw.chat_postMessage(channel=CHANNEL, text="x"))
        assert err.response.status_code == 200 and err.response["error"] == "channel_not_found"
    assert raw.chat_postMessage(channel=CHANNEL, text="x")["ok"]
    assert len(fake.calls) == 1 and len(fake.rejected) == 2 and len(fake.messages) == 1


def test_rate_limit_per_method_and_channel(fake: FakeSlack, raw: WebClient) -> None:
    fake.rate_limit(per_second=1, retry_after=7, method="chat.postMessage")
    assert raw.chat_postMessage(channel=CHANNEL, text="1")["ok"]
    err = expect_error(lambda: raw.chat_postMessage(channel=CHANNEL, text="2"))
    assert err.response.status_code == 429
    assert err.response.headers["Retry-After"] == "7"
    assert err.response["error"] == "ratelimited"
    assert raw.chat_postMessage(channel="U0000ALICE", text="other channel")["ok"]
    assert raw.auth_test()["ok"] and raw.auth_test()["ok"]  # other methods not limited
    assert len(fake.calls_to("chat.postMessage")) == 2 and len(fake.messages) == 2
    assert [(c.status, c.error) for c in fake.rejected] == [(429, "ratelimited")]


def _failure_pattern(seed: int, rate: float, n: int) -> list[bool]:
    with FakeSlack(seed=seed) as f:
        f.fail_rate = rate
        c = WebClient(token="xoxb-test", base_url=f.url, retry_handlers=[])
        pattern = []
        for _ in range(n):
            try:
                c.auth_test()
                pattern.append(False)
            except SlackApiError as e:
                assert e.response.status_code == 500
                pattern.append(True)
        assert len(f.calls) == pattern.count(False) and len(f.rejected) == pattern.count(True)
    return pattern


def test_fail_rate_is_seeded_and_reproducible() -> None:
    first = _failure_pattern(42, 0.5, 30)
    assert first == _failure_pattern(42, 0.5, 30)
    rng = random.Random(42)
    assert first == [rng.random() < 0.5 for _ in range(30)]
    assert 0 < first.count(True) < 30
    assert first != _failure_pattern(7, 0.5, 30)


def test_reset_clears_state_but_keeps_serving(fake: FakeSlack, client: WebClient) -> None:
    client.chat_postMessage(channel=CHANNEL, text="x")
    fake.fail_next(5)
    fake.error_next("auth.test", "invalid_auth")
    fake.fail_rate = 1.0
    fake.reset()
    assert fake.calls == [] and fake.rejected == [] and fake.messages == {}
    assert client.auth_test()["ok"] and len(fake.calls) == 1
    assert client.conversations_info(channel=CHANNEL)["channel"]["name"] == "complaints"


def test_stop_then_no_server() -> None:
    f = FakeSlack().start()
    url = f.url
    f.stop()
    with pytest.raises(OSError):  # URLError/ConnectionRefusedError: nothing listens any more
        WebClient(token="xoxb-t", base_url=url, retry_handlers=[], timeout=2).auth_test()


def test_concurrent_posts_get_unique_ts(fake: FakeSlack, client: WebClient) -> None:
    with ThreadPoolExecutor(8) as pool:
        results = list(
            pool.map(lambda i: client.chat_postMessage(channel=CHANNEL, text=str(i)), range(40))
        )
    assert len({r["ts"] for r in results}) == 40 == len(fake.calls) == len(fake.messages)
