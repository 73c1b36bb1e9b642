"""A short answer to one person (refusals, stale buttons, failures), through the gateway.

Used by the handlers (`Services.tell`) and by the inbox worker (bot/workflow/inbox.py),
which is given `Notices.tell` instead of reaching back up into the handlers."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from blocks.posts import notice
from blocks.text import escape
from bot.slack.gateway import Gateway

log = logging.getLogger(__name__)


class Notices:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def tell(self, channel: str | None, user: str, text: str) -> None:
        """Ephemeral in the channel the person acted in, else a DM. Escaped: a refusal
        may quote what the person typed."""
        text = escape(text)
        try:
            if channel:
                self.gateway.call("chat.postEphemeral", channel=channel, user=user, **notice(text))
            else:
                self.gateway.call("chat.postMessage", channel=user, **notice(text))
        except (SlackApiError, OSError) as exc:
            log.warning("could not tell %s: %s", user, exc)
