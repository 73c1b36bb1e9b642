"""Slack's posting limit, kept per channel by the sender: about one message per second
per channel (a DM is a channel too), with a 429 pausing the whole channel.

Every `chat.postMessage` the outbox makes goes through `PacedGateway`: card posts, thread
posts, DMs, alerts, reminders. A 429's Retry-After pauses that channel for every thread
of the sender, not only for the row that was refused; a thread that had already reserved
a later slot sees the pause when it wakes and queues again behind it."""

from __future__ import annotations

import threading
import time
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.slack.gateway import Gateway, classify

# methods that post a message into a channel: Slack limits these per channel
PACED_METHODS = frozenset({"chat.postMessage"})


class ChannelPacer:
    """At most one message per `interval` seconds per channel; `pause` holds a channel."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._next: dict[str, float] = {}
        self._paused: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, channel: str) -> None:
        """Sleep until this channel may take a message, and take its slot."""
        if self.interval <= 0 and not self._paused:
            return
        while True:
            with self._lock:
                now = time.monotonic()
                slot = max(now, self._next.get(channel, 0.0), self._paused.get(channel, 0.0))
                self._next[channel] = slot + self.interval
            if slot > now:
                time.sleep(slot - now)
            with self._lock:
                if time.monotonic() >= self._paused.get(channel, 0.0):
                    return
            # paused while this thread slept for its slot: queue again behind the pause

    def pause(self, channel: str, seconds: float) -> None:
        with self._lock:
            until = time.monotonic() + max(0.0, seconds)
            self._paused[channel] = max(self._paused.get(channel, 0.0), until)
            self._next[channel] = max(self._next.get(channel, 0.0), until)

    def paused_for(self, channel: str) -> float:
        """Seconds until the channel's pause ends (0 when it is not paused)."""
        with self._lock:
            return max(0.0, self._paused.get(channel, 0.0) - time.monotonic())


class PacedGateway:
    """The sender's view of the gateway: posts wait for their channel's turn."""

    def __init__(self, gateway: Gateway, pacer: ChannelPacer) -> None:
        self.inner = gateway
        self.pacer = pacer
        self.client = gateway.client

    def call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        channel = str(kwargs.get("channel") or "") if method in PACED_METHODS else ""
        if channel:
            self.pacer.wait(channel)
        try:
            return self.inner.call(method, **kwargs)
        except SlackApiError as exc:
            failure = classify(exc)
            if channel and failure.error == "ratelimited":
                self.pacer.pause(channel, failure.retry_after or 1.0)
            raise

    def permalink(self, channel: str, ts: str) -> str | None:
        return self.inner.permalink(channel, ts)
