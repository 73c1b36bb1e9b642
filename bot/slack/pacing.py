"""Slack's posting limit, kept per channel by the sender: about one message per second
per channel (a DM is a channel too), with a 429 pausing the whole channel.

Every `chat.postMessage` the outbox makes goes through `PacedGateway`: card posts, thread
posts, DMs, alerts, reminders. A channel's posts go one at a time, so a 429's
Retry-After pauses that channel for every thread of the sender, not only for the row
that was refused."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.slack.gateway import Gateway, classify

log = logging.getLogger(__name__)

# methods that post a message into a channel: Slack limits these per channel
PACED_METHODS = frozenset({"chat.postMessage"})
EVENT_TYPE = "complaint_desk_outbox"  # message metadata: which outbox row posted it
LOOKBACK = 200  # messages read back when looking for an earlier attempt's post
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


class ChannelPacer:
    """At most one message per `interval` seconds per channel; `pause` holds a channel.

    A channel's posts go one at a time, and each is sent `interval` after the answer to
    the one before: Slack counts a message when it arrives, somewhere between the send
    and the answer, so spacing sends alone lets two arrive closer than `interval` when
    the first was slow on the way (and a strict limit answers 429)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._next: dict[str, float] = {}
        self._paused: dict[str, float] = {}
        self._turns: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    @contextmanager
    def slot(self, channel: str) -> Iterator[None]:
        """Wait for the channel's turn, post inside the block; the next post follows
        `interval` after the block ends (a 429 inside it pauses the channel first)."""
        if self.interval <= 0 and not self._paused:
            yield
            return
        with self._lock:
            turn = self._turns.setdefault(channel, threading.Lock())
        with turn:
            while True:
                with self._lock:
                    ready = max(self._next.get(channel, 0.0), self._paused.get(channel, 0.0))
                wait = ready - time.monotonic()
                if wait <= 0:
                    break
                time.sleep(wait)
            try:
                yield
            finally:
                with self._lock:
                    self._next[channel] = time.monotonic() + max(0.0, self.interval)

    def wait(self, channel: str) -> None:
        """Take the channel's turn for a post made right away (no call inside)."""
        with self.slot(channel):
            pass

    def pause(self, channel: str, seconds: float) -> None:
        with self._lock:
            until = time.monotonic() + max(0.0, seconds)
            self._paused[channel] = max(self._paused.get(channel, 0.0), until)

    def paused_for(self, channel: str) -> float:
        """Seconds until the channel's pause ends (0 when it is not paused)."""
        with self._lock:
            return max(0.0, self._paused.get(channel, 0.0) - time.monotonic())


class PacedGateway:
    """The sender's view of the gateway: posts wait for their channel's turn, and carry
    the id of their outbox row in the message's metadata. When the row's last attempt
    ended without an outcome (its process died mid-call, or the call failed in a way that
    may have come after Slack acted), a post is first looked for in the channel or thread
    and not made again if it is there."""

    def __init__(self, gateway: Gateway, pacer: ChannelPacer) -> None:
        self.inner = gateway
        self.pacer = pacer
        self.client = gateway.client
        self._local = threading.local()

    @contextmanager
    def attempt(self, row_id: int, unknown: bool) -> Iterator[None]:
        """The outbox row this thread is delivering (and whether to look before posting)."""
        self._local.row = (row_id, unknown)
        try:
            yield
        finally:
            self._local.row = None

    def call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        channel = str(kwargs.get("channel") or "") if method in PACED_METHODS else ""
        row = getattr(self._local, "row", None)
        if channel and row is not None:
            row_id, unknown = row
            kwargs["metadata"] = {"event_type": EVENT_TYPE, "event_payload": {"outbox_id": row_id}}
            if unknown:
                found = self._already_posted(row_id, channel, kwargs.get("thread_ts"))
                if found is not None:
                    log.info(
                        "outbox %s: already in %s (ts %s), not posted again",
                        row_id,
                        channel,
                        found["ts"],
                    )
                    return found
        if not channel:
            return self.inner.call(method, **kwargs)
        with self.pacer.slot(channel):
            try:
                return self.inner.call(method, **kwargs)
            except SlackApiError as exc:
                failure = classify(exc)
                if failure.error == "ratelimited":
                    self.pacer.pause(channel, failure.retry_after or 1.0)
                raise

    def permalink(self, channel: str, ts: str) -> str | None:
        return self.inner.permalink(channel, ts)

    def _already_posted(
        self, row_id: int, channel: str, thread_ts: str | None
    ) -> dict[str, Any] | None:
        """The message this row posted before, found by its metadata; None when there is
        none. A DM (a user id) is not looked up: reading DMs would need `im:history`, a
        scope the bot does not ask for, and a DM said twice is the lesser harm."""
        if USER_ID.match(channel):
            return None
        try:
            if thread_ts:
                resp = self.inner.call(
                    "conversations.replies",
                    channel=channel,
                    ts=thread_ts,
                    include_all_metadata=True,
                    limit=LOOKBACK,
                )
            else:
                resp = self.inner.call(
                    "conversations.history",
                    channel=channel,
                    include_all_metadata=True,
                    limit=LOOKBACK,
                )
        except SlackApiError as exc:
            if classify(exc).retry:
                raise  # look again on the next attempt rather than risk a double
            log.warning("outbox %s: cannot look in %s (%s); posting", row_id, channel, exc)
            return None
        for msg in resp.get("messages") or []:
            meta = msg.get("metadata") or {}
            payload = meta.get("event_payload") or {}
            if meta.get("event_type") == EVENT_TYPE and payload.get("outbox_id") == row_id:
                return {"ok": True, "channel": channel, "ts": msg.get("ts"), "message": msg}
        return None
