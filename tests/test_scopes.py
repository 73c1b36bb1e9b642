"""The manifest's bot scopes are exactly those the code needs, derived from the code.

The Web API methods the bot calls, the Block Kit elements it renders and the events it
handles each need a scope (or none), as Slack's method and element reference pages say.
A method or element this table does not know fails the test: look its scope up on
https://api.slack.com/methods and add it here, then to manifest.yml and doctor's list.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from slack_sdk import WebClient

from bot.doctor import REQUIRED_SCOPES

ROOT = Path(__file__).resolve().parent.parent
# the bot's own code; the fake Slack (bot/sandbox) answers calls, it does not make them
SOURCES = [
    p
    for folder in ("bot", "blocks")
    for p in sorted((ROOT / folder).rglob("*.py"))
    if "sandbox" not in p.parts and "migrations" not in p.parts
]

# bot-token scopes per Web API method (api.slack.com/methods/<method>)
METHOD_SCOPES: dict[str, set[str]] = {
    "auth.test": set(),
    "chat.postMessage": {"chat:write"},  # also to a user id: the app's Messages tab
    "chat.postEphemeral": {"chat:write"},
    "chat.update": {"chat:write"},
    "chat.getPermalink": set(),
    "views.open": set(),
    "views.push": set(),
    "views.update": set(),
    "views.publish": set(),
    # both: the complaints channel may be public (C…) or private
    "conversations.info": {"channels:read", "groups:read"},
    "conversations.open": {"im:write"},
    "conversations.history": {"channels:history", "groups:history"},
    "conversations.replies": {"channels:history", "groups:history"},
    "users.info": {"users:read"},
    "usergroups.users.list": {"usergroups:read"},
    "files.info": {"files:read"},
    "files.upload": {"files:write"},
    "files.getUploadURLExternal": {"files:write"},
    "files.completeUploadExternal": {"files:write"},
    # Socket Mode: called with the app-level token (connections:write), not a bot scope
    "apps.connections.open": set(),
}
# Block Kit elements that need a scope (docs.slack.dev/reference/block-kit/block-elements)
ELEMENT_SCOPES = {"file_input": {"files:read"}}
# Events API subscriptions (api.slack.com/events/<event>)
EVENT_SCOPES = {
    "message.channels": {"channels:history"},
    "message.groups": {"groups:history"},
    "message.im": {"im:history"},
    "app_home_opened": set(),
}


def source() -> str:
    return "\n".join(p.read_text() for p in SOURCES)


def sdk_method(attribute: str) -> str | None:
    """`views_open` → `views.open`, read from slack_sdk's own method."""
    fn = getattr(WebClient, attribute, None)
    if fn is None:
        return None
    m = re.search(r'api_call\(\s*"([^"]+)"', inspect.getsource(fn))
    return m[1] if m else None


def methods_used(text: str) -> set[str]:
    called = set(re.findall(r'\.call\(\s*"([a-zA-Z]+(?:\.[a-zA-Z]+)+)"', text))
    for attribute in re.findall(r"\bclient\.([a-z]+_[a-zA-Z_]+)\(", text):
        method = sdk_method(attribute)
        assert method, f"client.{attribute}() is not a slack_sdk Web API method"
        called.add(method)
    return called


def elements_used(text: str) -> set[str]:
    return set(re.findall(r'"type":\s*"([a-z_]+)"', text))


def manifest() -> tuple[list[str], list[str], str]:
    """(bot scopes, bot events, whole text) of manifest.yml, without a YAML library."""
    text = (ROOT / "manifest.yml").read_text()

    def items(after: str) -> list[str]:
        block = text.split(after, 1)[1]
        out = []
        for line in block.splitlines()[1:]:
            m = re.match(r"\s+-\s+([\w:.]+)", line)
            if not m:
                break
            out.append(m[1])
        return out

    return items("    bot:"), items("    bot_events:"), text


def needed_scopes() -> set[str]:
    text = source()
    scopes: set[str] = set()
    for method in methods_used(text):
        assert method in METHOD_SCOPES, f"{method}: add its scope to METHOD_SCOPES"
        scopes |= METHOD_SCOPES[method]
    for element in elements_used(text):
        scopes |= ELEMENT_SCOPES.get(element, set())
    if re.search(r"@app\.command\(", text):
        scopes.add("commands")
    _, events, _ = manifest()
    for event in events:
        scopes |= EVENT_SCOPES[event]
    return scopes


def test_the_derivation_sees_what_the_code_does() -> None:
    text = source()
    used = methods_used(text)
    # spot checks, so that a broken regex cannot make the test below pass vacuously
    assert {"chat.postMessage", "chat.update", "views.open", "auth.test"} <= used
    assert {"users.info", "usergroups.users.list", "conversations.info"} <= used
    assert "file_input" in elements_used(text)
    assert sdk_method("usergroups_users_list") == "usergroups.users.list"


def test_manifest_and_doctor_ask_exactly_for_the_scopes_the_code_needs() -> None:
    scopes, _, _ = manifest()
    needed = needed_scopes()
    assert "files:read" in needed  # the intake form's evidence upload (file_input)
    assert len(scopes) == len(set(scopes))
    assert set(scopes) == needed, (set(scopes) - needed, needed - set(scopes))
    assert set(REQUIRED_SCOPES) == needed


def test_manifest_subscribes_only_to_events_the_code_handles() -> None:
    _, events, _ = manifest()
    handled = set(re.findall(r'@app\.event\("([a-z_]+)"\)', source()))
    assert {e.split(".")[0] for e in events} == handled


def test_the_messages_tab_is_read_only() -> None:
    """The bot answers nothing typed in its DM, so nobody is offered a box to type in."""
    _, events, text = manifest()
    assert "message.im" not in events
    assert re.search(r"^\s+messages_tab_read_only_enabled:\s*true\s*$", text, re.M)
