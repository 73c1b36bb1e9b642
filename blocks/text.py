"""Safe text for Block Kit: escaping user input, keeping within Slack's limits."""

from __future__ import annotations

import re
from typing import Any

from bot.i18n import _, fmt_datetime

SECTION_TEXT = 3000
FIELD_TEXT = 2000
HEADER_TEXT = 150
BUTTON_TEXT = 75
OPTION_TEXT = 75
MODAL_TITLE = 24
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_ID_RE = re.compile(r"^[A-Z0-9]{2,30}$")


def escape(text: Any) -> str:
    """Escape user text for mrkdwn: `&`, `<`, `>` (Slack's own rule). With `<` gone no
    `<!channel>`, `<@U…>` or `<http://…|link>` can be forged; a bare `@here` typed as
    text is not a mention in API-posted messages."""
    return str(text if text is not None else "").translate(_ESCAPES)


def truncate(text: str, limit: int, *, more: str = "…") -> str:
    """Cut to at most `limit` characters (Slack counts characters, not bytes), never in the
    middle of an escape sequence."""
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - len(more))]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + more


def user_text(text: Any, limit: int = SECTION_TEXT) -> str:
    """Escaped and truncated: the only way user input goes into mrkdwn."""
    return truncate(escape(text), limit)


def plain(text: str, limit: int = SECTION_TEXT, *, emoji: bool = True) -> dict[str, Any]:
    t = truncate(str(text) or " ", limit)
    return {"type": "plain_text", "text": t, "emoji": emoji}


def mrkdwn(text: str, limit: int = SECTION_TEXT) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": truncate(text or " ", limit)}


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(text), **extra}


def fields(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """A section of up to 10 `*label*\\nvalue` fields (values already safe)."""
    return {
        "type": "section",
        "fields": [mrkdwn(f"*{k}*\n{v or '—'}", FIELD_TEXT) for k, v in pairs[:10]],
    }


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [mrkdwn(text)]}


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": plain(text, HEADER_TEXT)}


def user(user_id: str) -> str:
    """A mention of a user id we stored (validated shape, so nothing can be injected)."""
    return f"<@{user_id}>" if _ID_RE.match(user_id or "") else escape(user_id)


def group(group_id: str) -> str:
    return f"<!subteam^{group_id}>" if _ID_RE.match(group_id or "") else escape(group_id)


def when(dt: Any, fallback: str = "—") -> str:
    """A date and time as people say it in the current language, in the company's time
    zone: `Sun 6 Dec 17:30`, `12月6日 周日 17:30`. Written out rather than as Slack's
    `<!date^…>` token, whose words Slack renders in English whatever the language."""
    if dt is None:
        return fallback
    return fmt_datetime(dt)


def cap_blocks(blocks: list[dict[str, Any]], limit: int = MESSAGE_BLOCKS) -> list[dict[str, Any]]:
    """Keep a message within Slack's block cap, saying that something was left out."""
    if len(blocks) <= limit:
        return blocks
    return blocks[: limit - 1] + [context(_("…more in `/complaint show` — this view is full."))]


def option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text, OPTION_TEXT), "value": value[:150]}
