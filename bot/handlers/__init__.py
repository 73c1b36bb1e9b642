"""Thin Slack handlers: parse, ack fast, call the desk, render, send."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from blocks.posts import notice
from blocks.text import escape
from bot.config import Settings
from bot.i18n import use_locale
from bot.slack.directory import Directory
from bot.slack.gateway import Gateway
from bot.workflow import Desk

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    desk: Desk
    gateway: Gateway
    directory: Directory
    # tells the worker there is work: the outbox sender and the inbox worker, in this
    # process or in the worker process (bot/wakeup.py)
    wake: Callable[[], None]

    def personal(self, user_id: str) -> Any:
        """`with sv.personal(uid):` renders what only that person sees (a refusal, a modal
        opened outside a request) in their own language."""
        return use_locale(self.directory.locale(user_id))

    def tell(self, channel: str | None, user: str, text: str) -> None:
        """A short ephemeral answer to one person (refusals, stale buttons). Escaped: a
        refusal may quote what the person typed."""
        target = channel or user
        text = escape(text)
        try:
            if channel:
                self.gateway.call("chat.postEphemeral", channel=target, user=user, **notice(text))
            else:
                self.gateway.call("chat.postMessage", channel=user, **notice(text))
        except (SlackApiError, OSError) as exc:
            log.warning("could not tell %s: %s", user, exc)


def register(app: App, services: Services) -> None:
    from bot.handlers import actions, commands, events, quality, views

    commands.register(app, services)
    actions.register(app, services)
    views.register(app, services)
    events.register(app, services)
    quality.register(app, services)  # issue 14
