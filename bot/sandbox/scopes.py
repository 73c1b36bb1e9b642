"""Which OAuth scope each Web API method needs, and the scopes the bot's token has.

Slack answers a call whose token lacks the method's scope with ``missing_scope`` (and says
in ``needed`` what was needed), so the fake does too: a new Slack call in the bot that the
manifest does not grant fails in the tests instead of in production. One dict entry per
method (scopes from each method's reference page, docs.slack.dev/reference/methods); any
one of a method's scopes is enough. Methods that need no scope map to an empty tuple.
"""

from __future__ import annotations

import re
from pathlib import Path

_READ = ("channels:read", "groups:read", "im:read", "mpim:read")
_HISTORY = ("channels:history", "groups:history", "im:history", "mpim:history")

METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "auth.test": (),
    "chat.postMessage": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.delete": ("chat:write",),
    "chat.getPermalink": (),
    "views.open": (),
    "views.push": (),
    "views.update": (),
    "views.publish": (),
    "conversations.open": ("im:write", "mpim:write", "channels:manage", "groups:write"),
    "conversations.info": _READ,
    "conversations.members": _READ,
    "conversations.history": _HISTORY,
    "conversations.replies": _HISTORY,
    "users.info": ("users:read",),
    "users.list": ("users:read",),
    "usergroups.users.list": ("usergroups:read",),
    "files.info": ("files:read",),
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
    # Socket Mode: called with the app-level token (xapp-…, connections:write), which has
    # no bot scopes; its own check belongs with the token type, not in this table
    "apps.connections.open": (),
}

# chat:write.public lets chat.postMessage (only it, among the bot's calls) into a public
# channel the bot has not joined; every other call there still gets not_in_channel
PUBLIC_WRITE_METHODS = frozenset({"chat.postMessage", "chat.scheduleMessage"})

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"


def manifest_scopes(path: Path = MANIFEST) -> str:
    """The bot scopes of manifest.yml, comma-separated as Slack's x-oauth-scopes header.

    The manifest is read with a small line parser (the `oauth_config.scopes.bot` list)
    rather than a YAML library: the app needs none, and the list is flat. An installed
    package (the Docker image) has no manifest beside it: doctor's list, which a test keeps
    equal to the manifest's, stands in."""
    if not path.exists():
        from bot.doctor import REQUIRED_SCOPES

        return ",".join(REQUIRED_SCOPES)
    scopes: list[str] = []
    section: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        body = line.split("#", 1)[0].rstrip()
        if not body.strip():
            continue
        indent = len(body) - len(body.lstrip())
        item = re.fullmatch(r"\s*-\s*([a-z:._]+)", body)
        if item:
            if section[-3:] == ["oauth_config", "scopes", "bot"]:
                scopes.append(item.group(1))
            continue
        key = body.strip().rstrip(":").split(":", 1)[0]
        depth = indent // 2
        section = section[:depth] + [key]
    if not scopes:
        raise ValueError(f"no oauth_config.scopes.bot list in {path}")
    return ",".join(scopes)


def missing_scope(method: str, granted: set[str]) -> str | None:
    """The scopes `method` needs, comma-separated, when `granted` has none of them; None
    when the call may go ahead (or the method is not in the table: the fake answers
    `unknown_method` for it anyway)."""
    needed = METHOD_SCOPES.get(method)
    if not needed or granted.intersection(needed):
        return None
    return ",".join(needed)
