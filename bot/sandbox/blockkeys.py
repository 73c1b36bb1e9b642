"""What Slack allows in Block Kit, property by property, for the fake Slack.

Slack refuses a block, element or composition object with a property it does not know
(``invalid_blocks`` with ``invalid additional property: <key>``), so a typo such as
``acessory`` or a key copied from another element type fails in Slack and must fail in the
fake too. One dict entry per type: a new block or element type is one line here (keys from
the Block Kit reference, docs.slack.dev/reference/block-kit).

Also here: the ``rich_text`` structure check, and a second opinion from slack_sdk's own
Block Kit models (written by Slack), which know each type's properties and limits.
"""

from __future__ import annotations

import functools
import json
from typing import Any

_FOCUS = ("focus_on_load", "placeholder")


def _names(words: str) -> frozenset[str]:
    return frozenset(words.split())


BLOCK_KEYS: dict[str, frozenset[str]] = {
    k: frozenset({"type", "block_id", *v.split()})
    for k, v in {
        "section": "text fields accessory expand",
        "divider": "",
        "header": "text",
        "actions": "elements",
        "context": "elements",
        "input": "label element dispatch_action hint optional",
        "image": "image_url slack_file alt_text title",
        "rich_text": "elements",
        "file": "external_id source",
        "video": "alt_text author_name description provider_icon_url provider_name title "
        "title_url thumbnail_url video_url",
    }.items()
}

_TEXT_INPUT = "initial_value dispatch_action_config"
ELEMENT_KEYS: dict[str, frozenset[str]] = {
    k: frozenset({"type", *v.split()})
    for k, v in {
        "button": "text action_id url value style confirm accessibility_label",
        "checkboxes": "action_id options initial_options confirm focus_on_load",
        "radio_buttons": "action_id options initial_option confirm focus_on_load",
        "overflow": "action_id options confirm",
        "datepicker": "action_id initial_date confirm " + " ".join(_FOCUS),
        "datetimepicker": "action_id initial_date_time confirm focus_on_load",
        "timepicker": "action_id initial_time confirm timezone " + " ".join(_FOCUS),
        "image": "image_url slack_file alt_text",
        "plain_text_input": f"action_id {_TEXT_INPUT} multiline min_length max_length "
        + " ".join(_FOCUS),
        "email_text_input": f"action_id {_TEXT_INPUT} " + " ".join(_FOCUS),
        "url_text_input": f"action_id {_TEXT_INPUT} " + " ".join(_FOCUS),
        "number_input": f"action_id {_TEXT_INPUT} is_decimal_allowed min_value max_value "
        + " ".join(_FOCUS),
        "rich_text_input": f"action_id {_TEXT_INPUT} " + " ".join(_FOCUS),
        "file_input": "action_id filetypes max_files",
        "static_select": "action_id options option_groups initial_option confirm "
        + " ".join(_FOCUS),
        "external_select": "action_id initial_option min_query_length confirm " + " ".join(_FOCUS),
        "users_select": "action_id initial_user confirm " + " ".join(_FOCUS),
        "conversations_select": "action_id initial_conversation "
        "default_to_current_conversation confirm response_url_enabled filter " + " ".join(_FOCUS),
        "channels_select": "action_id initial_channel confirm response_url_enabled "
        + " ".join(_FOCUS),
        "multi_static_select": "action_id options option_groups initial_options confirm "
        "max_selected_items " + " ".join(_FOCUS),
        "multi_external_select": "action_id initial_options min_query_length confirm "
        "max_selected_items " + " ".join(_FOCUS),
        "multi_users_select": "action_id initial_users confirm max_selected_items "
        + " ".join(_FOCUS),
        "multi_conversations_select": "action_id initial_conversations "
        "default_to_current_conversation confirm max_selected_items filter " + " ".join(_FOCUS),
        "multi_channels_select": "action_id initial_channels confirm max_selected_items "
        + " ".join(_FOCUS),
    }.items()
}

# composition objects, by the role they play where they appear
OBJECT_KEYS: dict[str, frozenset[str]] = {
    "text": frozenset({"type", "text", "emoji", "verbatim"}),
    "option": frozenset({"text", "value", "description", "url"}),
    "option_group": frozenset({"label", "options"}),
    "confirm": frozenset({"title", "text", "confirm", "deny", "style"}),
    "modal": _names(
        "type title blocks close submit private_metadata callback_id clear_on_close "
        "notify_on_close external_id"
    ),
    "home": _names("type blocks private_metadata callback_id external_id"),
}

# rich_text: containers hold inline elements; a list holds sections
RICH_CONTAINERS: dict[str, frozenset[str]] = {
    "rich_text_section": frozenset({"type", "elements"}),
    "rich_text_list": frozenset({"type", "elements", "style", "indent", "offset", "border"}),
    "rich_text_quote": frozenset({"type", "elements", "border"}),
    "rich_text_preformatted": frozenset({"type", "elements", "border", "language"}),
}
RICH_INLINE: dict[str, frozenset[str]] = {
    k: frozenset({"type", *v.split()})
    for k, v in {
        "text": "text style",
        "link": "url text unsafe style",
        "emoji": "name unicode skin_tone",
        "user": "user_id style",
        "usergroup": "usergroup_id style",
        "channel": "channel_id style",
        "broadcast": "range",
        "date": "timestamp format url fallback",
        "color": "value",
    }.items()
}
RICH_STYLES = frozenset({"bold", "italic", "strike", "code", "underline"})
# what each inline element must carry (Slack refuses it without)
RICH_REQUIRED = {
    "text": ("text", str),
    "link": ("url", str),
    "emoji": ("name", str),
    "user": ("user_id", str),
    "usergroup": ("usergroup_id", str),
    "channel": ("channel_id", str),
    "broadcast": ("range", str),
    "date": ("timestamp", int),
    "color": ("value", str),
}


def unknown_keys(obj: dict, allowed: frozenset[str]) -> list[str]:
    """The properties of `obj` Slack would call additional, in a stable order."""
    return sorted(k for k in obj if k not in allowed)


def rich_text_errors(block: dict, ptr: str) -> list[tuple[str, str]]:
    """(pointer, message) pairs for a rich_text block's elements."""
    out: list[tuple[str, str]] = []
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements:
        return [(f"{ptr}/elements", "must provide at least 1 item")]
    for i, el in enumerate(elements):
        out += _rich_container(el, f"{ptr}/elements/{i}", top=True)
    return out


def _rich_container(el: Any, ptr: str, *, top: bool) -> list[tuple[str, str]]:
    if not isinstance(el, dict) or el.get("type") not in RICH_CONTAINERS:
        kind = el.get("type") if isinstance(el, dict) else el
        return [(f"{ptr}/type", f"rich text element type {kind!r} is not allowed here")]
    kind = el["type"]
    out = [
        (f"{ptr}/{k}", "invalid additional property")
        for k in unknown_keys(el, RICH_CONTAINERS[kind])
    ]
    items = el.get("elements")
    if not isinstance(items, list):
        return [*out, (f"{ptr}/elements", "must be an array")]
    if kind == "rich_text_list":
        if el.get("style") not in ("bullet", "ordered"):
            out.append((f"{ptr}/style", "must be one of bullet, ordered"))
        for i, item in enumerate(items):
            iptr = f"{ptr}/elements/{i}"
            if not isinstance(item, dict) or item.get("type") != "rich_text_section":
                out.append((f"{iptr}/type", "a list holds rich_text_section elements"))
            else:
                out += _rich_container(item, iptr, top=False)
        return out
    for i, item in enumerate(items):
        out += _rich_inline(item, f"{ptr}/elements/{i}")
    return out


def _rich_inline(el: Any, ptr: str) -> list[tuple[str, str]]:
    if not isinstance(el, dict) or el.get("type") not in RICH_INLINE:
        kind = el.get("type") if isinstance(el, dict) else el
        return [(f"{ptr}/type", f"rich text element type {kind!r} is not allowed here")]
    kind = el["type"]
    out = [
        (f"{ptr}/{k}", "invalid additional property") for k in unknown_keys(el, RICH_INLINE[kind])
    ]
    key, typ = RICH_REQUIRED[kind]
    if not isinstance(el.get(key), typ) or el.get(key) in ("", None):
        out.append((f"{ptr}/{key}", "missing required field"))
    if kind == "broadcast" and el.get("range") not in ("here", "channel", "everyone"):
        out.append((f"{ptr}/range", "must be one of here, channel, everyone"))
    style = el.get("style")
    if style is not None and (
        not isinstance(style, dict)
        or any(k not in RICH_STYLES or not isinstance(v, bool) for k, v in style.items())
    ):
        out.append((f"{ptr}/style", "must be an object of boolean text styles"))
    return out


# --- slack_sdk's opinion ------------------------------------------------------------------


def _normal(value: Any) -> Any:
    """Drop what slack_sdk adds or leaves out without changing the meaning: empty values."""
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


def _lost(sent: Any, kept: Any, ptr: str) -> list[str]:
    """Pointers to what slack_sdk's model did not carry over: properties it does not know."""
    if isinstance(sent, dict) and isinstance(kept, dict):
        out = [f"{ptr}/{k}" for k in sent if k not in kept]
        for k in sent.keys() & kept.keys():
            out += _lost(sent[k], kept[k], f"{ptr}/{k}")
        return out
    if isinstance(sent, list) and isinstance(kept, list) and len(sent) == len(kept):
        return [
            p
            for i, (a, b) in enumerate(zip(sent, kept, strict=True))
            for p in _lost(a, b, f"{ptr}/{i}")
        ]
    return []


# slack_sdk's models cost 1-2 ms a view: what they say of a block or a view is kept per
# JSON text (the same modal opened again, the same buttons on every card), so the fake's
# CPU, which on these machines shares the bot's cores, is not spent twice on one answer.
# Errors are kept with a placeholder where the block's or view's pointer goes.
_HERE = "\x00"


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=repr)


def sdk_block_errors(blocks: Any, ptr: str = "/blocks") -> list[str]:
    """What slack_sdk.models.blocks says about each block: a type it cannot parse, a limit
    its `validate_json` enforces, or a property its model drops (it does not know it)."""
    if not isinstance(blocks, list):
        return []
    out: list[str] = []
    for i, raw in enumerate(blocks):
        if isinstance(raw, dict):
            out += [e.replace(_HERE, f"{ptr}/{i}") for e in _block_verdict(_key(raw))]
    return out


@functools.lru_cache(maxsize=1024)
def _block_verdict(text: str) -> tuple[str, ...]:
    from slack_sdk.errors import SlackObjectFormationError
    from slack_sdk.models.blocks import Block

    raw = json.loads(text)
    try:
        block = Block.parse(raw)
        if block is None:
            return (f"slack_sdk: unknown block type {raw.get('type')!r} [{_HERE}]",)
        block.validate_json()
        kept = block.to_dict()
    except (SlackObjectFormationError, TypeError, KeyError, ValueError) as exc:
        return (f"slack_sdk: {exc} [{_HERE}]",)
    return tuple(f"slack_sdk: unknown property [{p}]" for p in _lost(_normal(raw), kept, _HERE))


def sdk_view_errors(view: Any) -> list[str]:
    """The same for a view, through slack_sdk.models.views.View."""
    if not isinstance(view, dict):
        return []
    return list(_view_verdict(_key(view))) + sdk_block_errors(view.get("blocks"), "/view/blocks")


@functools.lru_cache(maxsize=256)
def _view_verdict(text: str) -> tuple[str, ...]:
    """slack_sdk's View on the view's own properties (its blocks are judged one by one)."""
    from slack_sdk.errors import SlackObjectFormationError
    from slack_sdk.models.views import View

    view = json.loads(text)
    try:
        model = View(**view)
        model.validate_json()
        kept = {k: v for k, v in model.to_dict().items() if k != "blocks"}
    except (SlackObjectFormationError, TypeError, KeyError, ValueError) as exc:
        return (f"slack_sdk: {exc} [/view]",)
    sent = _normal({k: v for k, v in view.items() if k != "blocks"})
    return tuple(f"slack_sdk: unknown property [{p}]" for p in _lost(sent, kept, "/view"))
