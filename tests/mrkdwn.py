"""What Slack makes of mrkdwn, for the safe-text properties: which pings and links it would
parse, and what a reader sees.

Slack's rules (docs.slack.dev, "Formatting text for app surfaces"): a literal `<` opens a
control sequence that runs to the next literal `>` — `<@U…>` and `<!subteam^…>` ping,
`<!here>`, `<!channel>`, `<!everyone>` ping a whole channel, `<#C…>` names a channel,
`<!date^…>` shows a date, anything else (`<https://x|label>`, `<mailto:…>`) is a link whose
label may hide where it goes. `&lt;`, `&gt;` and `&amp;` are shown as `<`, `>` and `&` and
parse as nothing. So that user text can never open a sequence, every literal `<` counts
here, closed or not. Not counted: a bare `https://…` (Slack links it, but the reader sees
the address itself: nothing is disguised) and a bare `@here` (a ping only when a message
asks for `link_names` or `parse=full`, which the bot never sends; tests/test_roles.py
checks every call).
"""

from __future__ import annotations

from collections import Counter
from typing import Any


def control_sequences(text: str) -> list[str]:
    """Each control sequence Slack would parse in `text`, from its `<` to the next `>`
    (or to the end when none closes it)."""
    out = []
    start = text.find("<")
    while start != -1:
        end = text.find(">", start + 1)
        out.append(text[start : (end + 1 if end != -1 else len(text))])
        start = text.find("<", start + 1)
    return out


def sequences(node: Any) -> Counter[str]:
    """Every control sequence in every mrkdwn text of a block tree, counted."""
    if isinstance(node, dict):
        own = (
            Counter(control_sequences(node["text"])) if node.get("type") == "mrkdwn" else Counter()
        )
        for value in node.values():
            own += sequences(value)
        return own
    if isinstance(node, list):
        total: Counter[str] = Counter()
        for value in node:
            total += sequences(value)
        return total
    return Counter()


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def shown(node: Any) -> str:
    """The text a reader sees: plain_text as is, mrkdwn unescaped, all of it joined."""
    if isinstance(node, dict):
        kind, text = node.get("type"), node.get("text")
        own = ""
        if kind == "plain_text" and isinstance(text, str):
            own = text
        elif kind == "mrkdwn" and isinstance(text, str):
            own = unescape(text)
        return "\n".join([own, *(shown(v) for v in node.values())])
    if isinstance(node, list):
        return "\n".join(shown(v) for v in node)
    return ""
