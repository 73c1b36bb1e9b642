"""The fake Slack is as strict as Slack where the bot could go wrong: properties Block Kit
does not know, rich_text structure, each method's OAuth scope as the manifest grants it,
not_in_channel, trigger ids that expire after 3 s or on second use, and slack_sdk's own
Block Kit models as a second opinion."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.sandbox import blockkeys
from bot.sandbox.fakeslack import (
    ACTIONS_ELEMENTS,
    BLOCK_TYPES,
    DEFAULT_SCOPES,
    INPUT_ELEMENTS,
    SECTION_ACCESSORIES,
    TRIGGER_SECONDS,
    FakeSlack,
    validate_blocks,
    validate_view,
)
from bot.sandbox.scopes import METHOD_SCOPES, manifest_scopes, missing_scope

ROOT = Path(__file__).resolve().parent.parent
JOINED, OUTSIDE, SECRET_ROOM = "C0JOINED", "C0OUTSIDE", "G0PRIVATE"
T = {"type": "plain_text", "text": "x"}


class ManualClock:
    """Seconds that only move when the test says so."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def fake(clock: ManualClock) -> Iterator[FakeSlack]:
    channels = {
        JOINED: {"name": "complaints", "members": ["UBOT000001", "U0A"]},
        OUTSIDE: {"name": "general", "members": ["U0A"]},
        SECRET_ROOM: {"name": "secret", "members": ["U0A"], "is_private": True},
    }
    with FakeSlack(channels=channels, clock=clock) as f:
        yield f


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake.url, retry_handlers=[])


def error_of(call: Any) -> dict[str, Any]:
    with pytest.raises(SlackApiError) as info:
        call()
    return dict(info.value.response.data)


def modal(**extra: Any) -> dict[str, Any]:
    return {"type": "modal", "title": T, "blocks": [{"type": "divider"}], **extra}


# --- allowed properties ---------------------------------------------------------------------

EXTRA_PROPERTY = [
    ({"type": "divider", "text": T}, "/blocks/0/text"),
    ({"type": "section", "text": {**T, "type": "mrkdwn"}, "acessory": {}}, "/blocks/0/acessory"),
    ({"type": "section", "text": {"type": "mrkdwn", "text": "x", "bold": True}}, "text/bold"),
    (
        {"type": "actions", "elements": [{"type": "button", "text": T, "action_id": "a", "x": 1}]},
        "/blocks/0/elements/0/x",
    ),
    (  # a property of another element type (static_select's) on a button
        {
            "type": "actions",
            "elements": [{"type": "button", "text": T, "action_id": "a", "initial_option": {}}],
        },
        "/elements/0/initial_option",
    ),
    (
        {
            "type": "actions",
            "elements": [
                {
                    "type": "static_select",
                    "action_id": "s",
                    "options": [{"text": T, "value": "v", "emoji": True}],
                }
            ],
        },
        "/options/0/emoji",
    ),
    (
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": T,
                    "action_id": "a",
                    "confirm": {"title": T, "text": T, "confirm": T, "deny": T, "color": "red"},
                }
            ],
        },
        "/confirm/color",
    ),
    (
        {
            "type": "input",
            "label": T,
            "element": {"type": "plain_text_input", "action_id": "p", "multi_line": True},
        },
        "/element/multi_line",
    ),
]


@pytest.mark.parametrize(("block", "where"), EXTRA_PROPERTY)
def test_unknown_properties_are_refused_like_slack(
    client: WebClient, block: dict, where: str
) -> None:
    err = error_of(lambda: client.chat_postMessage(channel=JOINED, text="t", blocks=[block]))
    assert err["error"] == "invalid_blocks"
    (problem,) = [e for e in err["errors"] if "invalid additional property" in e]
    assert re.search(re.escape(where) + r"\]$", problem), problem


def test_unknown_view_properties_are_refused(fake: FakeSlack, client: WebClient) -> None:
    for view, key in ((modal(colour="blue"), "colour"), (modal(submit_label=T), "submit_label")):
        err = error_of(lambda v=view: client.views_open(trigger_id=fake.issue_trigger(), view=v))
        assert err["error"] == "invalid_arguments"
        assert f"invalid additional property: {key} [json-pointer:/view/{key}]" in err["errors"]
    home = {"type": "home", "blocks": [{"type": "divider"}], "title": T}  # only modals have one
    err = error_of(lambda: client.views_publish(user_id="U0A", view=home))
    assert "invalid additional property: title [json-pointer:/view/title]" in err["errors"]
    assert client.views_open(trigger_id=fake.issue_trigger(), view=modal())["ok"]


def test_every_block_and_element_type_has_its_property_table() -> None:
    assert set(blockkeys.BLOCK_KEYS) == BLOCK_TYPES
    elements = SECTION_ACCESSORIES | ACTIONS_ELEMENTS | INPUT_ELEMENTS
    assert elements <= set(blockkeys.ELEMENT_KEYS)
    assert all("type" in keys for keys in blockkeys.BLOCK_KEYS.values())


def test_every_property_in_the_tables_is_one_slack_sdk_knows() -> None:
    """The tables were written from the Block Kit reference; slack_sdk's models (written by
    Slack) carry the same properties, so a typo in a table shows up here."""
    block = {
        "type": "section",
        "block_id": "b",
        "text": {"type": "mrkdwn", "text": "x", "verbatim": True},
        "accessory": {
            "type": "button",
            "text": {"type": "plain_text", "text": "x", "emoji": True},
            "action_id": "a",
            "url": "https://example.com",
            "value": "v",
            "style": "danger",
            "accessibility_label": "go",
            "confirm": {"title": T, "text": T, "confirm": T, "deny": T, "style": "danger"},
        },
    }
    assert validate_blocks([block], surface="message") == []
    assert set(block) <= blockkeys.BLOCK_KEYS["section"]
    assert set(block["accessory"]) <= blockkeys.ELEMENT_KEYS["button"]


# --- rich_text ------------------------------------------------------------------------------


def rich(*elements: dict) -> list[dict]:
    return [{"type": "rich_text", "elements": list(elements)}]


def test_rich_text_is_checked() -> None:
    good = rich(
        {
            "type": "rich_text_section",
            "elements": [
                {"type": "text", "text": "客诉 ", "style": {"bold": True}},
                {"type": "user", "user_id": "U0A"},
                {"type": "link", "url": "https://example.com", "text": "x"},
            ],
        },
        {
            "type": "rich_text_list",
            "style": "bullet",
            "elements": [
                {"type": "rich_text_section", "elements": [{"type": "emoji", "name": "x"}]}
            ],
        },
    )
    assert validate_blocks(good, surface="message") == []
    bad = {
        "no elements": rich(),
        "unknown container": rich({"type": "rich_text_table", "elements": []}),
        "unknown inline": rich({"type": "rich_text_section", "elements": [{"type": "txt"}]}),
        "text without text": rich({"type": "rich_text_section", "elements": [{"type": "text"}]}),
        "bad style": rich(
            {
                "type": "rich_text_section",
                "elements": [{"type": "text", "text": "x", "style": {"blink": True}}],
            }
        ),
        "extra key": rich({"type": "rich_text_quote", "elements": [], "colour": "red"}),
        "list of text": rich(
            {
                "type": "rich_text_list",
                "style": "bullet",
                "elements": [{"type": "text", "text": "x"}],
            }
        ),
        "list style": rich({"type": "rich_text_list", "style": "dashes", "elements": []}),
        "broadcast range": rich(
            {"type": "rich_text_section", "elements": [{"type": "broadcast", "range": "all"}]}
        ),
    }
    for name, blocks in bad.items():
        assert validate_blocks(blocks, surface="message"), name


# --- scopes ---------------------------------------------------------------------------------


def test_the_token_has_the_manifests_scopes() -> None:
    text = (ROOT / "manifest.yml").read_text()
    bot_scopes = text.split("scopes:", 1)[1].split("settings:", 1)[0]
    listed = re.findall(r"^\s+- ([a-z:._]+)", bot_scopes, flags=re.M)
    assert DEFAULT_SCOPES == manifest_scopes() == ",".join(listed)


def test_a_method_without_its_scope_gets_missing_scope() -> None:
    # the manifest grants every scope the bot uses, so a narrower token shows the check
    with FakeSlack(scopes="commands,chat:write") as narrow:
        web = WebClient(token="xoxb-t", base_url=narrow.url, retry_handlers=[])
        err = error_of(lambda: web.users_info(user="U0A"))
        assert err["error"] == "missing_scope" and err["needed"] == "users:read"
        assert err["provided"] == "commands,chat:write"
        err = error_of(lambda: web.files_info(file="F1"))
        assert err["error"] == "missing_scope" and err["needed"] == "files:read"
        assert [c.error for c in narrow.rejected] == ["missing_scope", "missing_scope"]
        assert web.chat_postMessage(channel="C1", text="x")["ok"]
    with FakeSlack(scopes="commands") as narrow:
        web = WebClient(token="xoxb-t", base_url=narrow.url, retry_handlers=[])
        err = error_of(lambda: web.chat_postMessage(channel="C1", text="x"))
        assert err["error"] == "missing_scope" and err["needed"] == "chat:write"
        assert web.auth_test()["ok"]  # auth.test needs no scope


def test_every_method_of_the_fake_has_a_scope_entry() -> None:
    """A method added to the fake (by anyone) must say which scope it needs."""
    methods = {
        name[len("_api_") :].replace("_", ".", 1).replace("_", ".")
        for name in dir(FakeSlack)
        if name.startswith("_api_")
    }
    # chat.postMessage etc. keep their camelCase; the table is keyed the same way
    unknown = {m for m in methods if m not in METHOD_SCOPES}
    assert unknown == set(), f"add these to bot/sandbox/scopes.py METHOD_SCOPES: {unknown}"


def test_every_call_the_bot_makes_is_granted_by_the_manifest() -> None:
    granted = set(manifest_scopes().split(","))
    called: set[str] = set()
    for path in [*(ROOT / "bot").rglob("*.py"), *(ROOT / "blocks").rglob("*.py")]:
        if "sandbox" in path.parts:
            continue
        called |= set(re.findall(r"\.call\(\s*\"([a-z]+\.[A-Za-z.]+)\"", path.read_text()))
    assert {"chat.postMessage", "chat.update", "views.open", "views.publish"} <= called
    assert {m: missing_scope(m, granted) for m in sorted(called)} == dict.fromkeys(sorted(called))
    assert called <= set(METHOD_SCOPES)


# --- not_in_channel -------------------------------------------------------------------------


def test_posting_where_the_bot_is_not_a_member(client: WebClient) -> None:
    assert client.chat_postMessage(channel=JOINED, text="x")["ok"]
    for call in (
        lambda: client.chat_postMessage(channel=OUTSIDE, text="x"),
        lambda: client.chat_postEphemeral(channel=OUTSIDE, user="U0A", text="x"),
    ):
        assert error_of(call)["error"] == "not_in_channel"
    # a private channel the bot is not in does not exist for it
    err = error_of(lambda: client.chat_postMessage(channel=SECRET_ROOM, text="x"))
    assert err["error"] == "channel_not_found"
    assert client.chat_postMessage(channel="U0A", text="a DM")["ok"]


def test_chat_write_public_waives_it_for_chat_post_message_only(clock: ManualClock) -> None:
    channels = {
        OUTSIDE: {"name": "general", "members": ["U0A"]},
        SECRET_ROOM: {"name": "secret", "members": ["U0A"], "is_private": True},
    }
    with FakeSlack(channels=channels, scopes=DEFAULT_SCOPES + ",chat:write.public") as f:
        web = WebClient(token="xoxb-t", base_url=f.url, retry_handlers=[])
        assert web.chat_postMessage(channel=OUTSIDE, text="x")["ok"]
        err = error_of(lambda: web.chat_postEphemeral(channel=OUTSIDE, user="U0A", text="x"))
        assert err["error"] == "not_in_channel"
        err = error_of(lambda: web.chat_postMessage(channel=SECRET_ROOM, text="x"))
        assert err["error"] == "channel_not_found"


# --- trigger ids ----------------------------------------------------------------------------


def test_a_trigger_works_once_within_three_seconds(
    fake: FakeSlack, client: WebClient, clock: ManualClock
) -> None:
    first, late, unknown = fake.issue_trigger(), fake.issue_trigger(), "123.456.made-up"
    clock.t += TRIGGER_SECONDS  # exactly 3 s: still good
    assert client.views_open(trigger_id=first, view=modal())["ok"]
    assert error_of(lambda: client.views_open(trigger_id=first, view=modal()))["error"] == (
        "exchanged_trigger_id"
    )
    clock.t += 0.001
    err = error_of(lambda: client.views_open(trigger_id=late, view=modal()))
    assert err["error"] == "expired_trigger_id"
    err = error_of(lambda: client.views_push(trigger_id=unknown, view=modal()))
    assert err["error"] == "invalid_trigger_id"
    assert len(fake.calls_to("views.open")) == 1


# --- slack_sdk's second opinion -------------------------------------------------------------


def test_slack_sdk_models_are_a_second_opinion(fake: FakeSlack, client: WebClient) -> None:
    # a confirm dialog's style must be primary or danger: the fake's own rules do not say
    # so, slack_sdk's ConfirmObject does, and the fake refuses it
    confirm = {"title": T, "text": T, "confirm": T, "deny": T, "style": "loud"}
    blocks = [
        {
            "type": "actions",
            "elements": [{"type": "button", "text": T, "action_id": "a", "confirm": confirm}],
        }
    ]
    assert validate_blocks(blocks, surface="message", sdk=False) == []
    (problem,) = validate_blocks(blocks, surface="message")
    assert problem.startswith("slack_sdk: style for confirm must be")
    err = error_of(lambda: client.chat_postMessage(channel=JOINED, text="x", blocks=blocks))
    assert err["error"] == "invalid_blocks"
    view = modal(blocks=blocks)
    assert validate_view(view, sdk=False) == [] and validate_view(view)
    # and a property slack_sdk's models do not carry over is reported with its pointer
    errs = blockkeys.sdk_block_errors([{"type": "divider", "colour": "red"}])
    assert errs == ["slack_sdk: unknown property [/blocks/0/colour]"]
    assert blockkeys.sdk_view_errors(modal(colour="red")) == [
        "slack_sdk: unknown property [/view/colour]"
    ]


def test_slack_sdks_verdict_is_kept_per_block_and_points_where_the_block_is() -> None:
    """slack_sdk's opinion of a block is computed once per JSON text (a modal opened again,
    the same buttons on every card: the fake's CPU shares the bot's cores in the bench),
    and a kept verdict still points at the block where it now stands."""
    bad = {"type": "divider", "colour": "red"}
    ok = {"type": "divider"}
    first = blockkeys.sdk_block_errors([bad])
    hits = blockkeys._block_verdict.cache_info().hits
    assert blockkeys.sdk_block_errors([ok, ok, bad]) == [
        "slack_sdk: unknown property [/blocks/2/colour]"
    ]
    assert blockkeys._block_verdict.cache_info().hits >= hits + 1  # `bad` was not judged again
    assert first == ["slack_sdk: unknown property [/blocks/0/colour]"]
    view = modal(blocks=[ok, bad], colour="red")
    expected = [
        "slack_sdk: unknown property [/view/colour]",
        "slack_sdk: unknown property [/view/blocks/1/colour]",
    ]
    assert blockkeys.sdk_view_errors(view) == expected
    assert blockkeys.sdk_view_errors(view) == expected  # the same answer from what was kept
