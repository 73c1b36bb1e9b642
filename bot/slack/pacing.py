"""Slack's posting limit, kept per channel by the sender: about one message per second
per channel (a DM is a channel too) with short bursts, and a 429 pausing the whole
channel.

Every `chat.postMessage` the outbox makes goes through `PacedGateway`: card posts, thread
posts, DMs, alerts, reminders. A channel's posts go one at a time, so a 429's
Retry-After pauses that channel for every thread of the sender, not only for the row
that was refused."""

from __future__ import annotations

import heapq
import itertools
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
# posts waiting for the same channel go in this order: a new case's card first, then
# everything else (thread posts, alerts, DMs) in the order it came
CARD_KINDS = frozenset({"card_post"})
FIRST, THEN = 0, 1


def priority_of(kind: str | None) -> int:
    """A row's place among the posts waiting for its channel: cards first, so that after a
    crash or a burst every case is in the channel before the history of any."""
    return FIRST if kind in CARD_KINDS else THEN


class ChannelPacer:
    """Slack's per-channel posting limit as a token bucket: a channel that was quiet may
    take `burst` posts at once, then one every `interval` seconds; a 429 pauses it.

    Slack documents "1 per second" for posting messages, with "short bursts >1 allowed"
    and no promise about how long (docs.slack.dev/apis/web-api/rate-limits). So the
    bucket holds `burst` tokens (SLACK_CHANNEL_BURST) refilled at one per `interval`, and
    adapts when Slack disagrees: a 429 empties it, pauses the channel for Retry-After, and
    then paces it strictly (a burst of 1) for `cooldown` seconds. (Halving the burst at
    each 429 instead cost one 429 per halving against a strict limit: 10, 5, 2, 1.)

    A channel's posts go one at a time, and the refill only counts from the answer to the
    one before: Slack counts a message when it arrives, somewhere between the send and
    the answer, so counting from the send could let two arrive closer than the bucket
    allows when the first was slow on the way. Posts waiting for the same channel go in
    order of `priority` (lower first), then of arrival: new case cards before thread
    posts, so a backlog after a crash or a burst shows every case before its history."""

    def __init__(self, interval: float, burst: int = 1, *, cooldown: float = 600.0) -> None:
        self.interval = interval
        self.burst = max(1, int(burst))
        self.cooldown = cooldown
        self._tokens: dict[str, float] = {}
        self._stamp: dict[str, float] = {}  # when the channel's tokens were last counted
        self._paused: dict[str, float] = {}
        self._strict: dict[str, float] = {}  # channel -> until when it has no burst
        self._busy: set[str] = set()
        self._waiting: dict[str, list[tuple[int, int]]] = {}
        self._seq = itertools.count()
        self._cond = threading.Condition()

    # -- the bucket (called with the condition held) -------------------------------------
    def _capacity(self, channel: str, now: float) -> int:
        until = self._strict.get(channel)
        if until is None:
            return self.burst
        if now >= until:
            del self._strict[channel]
            return self.burst
        return 1

    def _level(self, channel: str, now: float) -> float:
        cap = self._capacity(channel, now)
        tokens = self._tokens.get(channel)
        if tokens is None:
            return float(cap)  # a channel not posted to yet (by this process) is quiet
        since = max(0.0, now - self._stamp.get(channel, now))
        return min(float(cap), tokens + since / self.interval)

    def _wait_for(self, channel: str, now: float) -> float:
        """Seconds until the channel may take its next post (0: now)."""
        paused = self._paused.get(channel, 0.0) - now
        if self.interval <= 0:
            return max(0.0, paused)
        short = 1.0 - self._level(channel, now)
        return max(0.0, paused, short * self.interval if short > 1e-9 else 0.0)

    # -- the API ----------------------------------------------------------------------
    @contextmanager
    def slot(self, channel: str, priority: int = 1) -> Iterator[None]:
        """Wait for the channel's turn, post inside the block; the bucket refills from
        the moment the block ends (a 429 inside it pauses the channel first)."""
        if self.interval <= 0 and not self._paused:
            yield
            return
        ticket = (priority, next(self._seq))
        with self._cond:
            queue = self._waiting.setdefault(channel, [])
            heapq.heappush(queue, ticket)
            self._cond.notify_all()  # a post of higher priority goes before those waiting
            try:
                while True:
                    wait = None
                    if channel not in self._busy and queue[0] == ticket:
                        wait = self._wait_for(channel, time.monotonic())
                        if wait <= 0:
                            break
                    self._cond.wait(wait)
            except BaseException:
                queue.remove(ticket)
                heapq.heapify(queue)
                self._cond.notify_all()
                raise
            heapq.heappop(queue)
            self._busy.add(channel)
            now = time.monotonic()
            if self.interval > 0:
                self._tokens[channel] = self._level(channel, now) - 1.0
                self._stamp[channel] = now
        try:
            yield
        finally:
            with self._cond:
                now = time.monotonic()
                if self.interval > 0:
                    # nothing refills while the post was on its way (see the class)
                    self._tokens[channel] = self._tokens.get(channel, 0.0)
                    self._stamp[channel] = max(now, self._stamp.get(channel, now))
                self._busy.discard(channel)
                if not queue:
                    self._waiting.pop(channel, None)
                self._cond.notify_all()

    def wait(self, channel: str, priority: int = 1) -> None:
        """Take the channel's turn for a post made right away (no call inside)."""
        with self.slot(channel, priority):
            pass

    def pause(self, channel: str, seconds: float) -> None:
        """Slack answered 429 with Retry-After `seconds`: hold the channel that long, then
        go on at one post per interval, without a burst for a while."""
        with self._cond:
            now = time.monotonic()
            until = now + max(0.0, seconds)
            self._paused[channel] = max(self._paused.get(channel, 0.0), until)
            if self.interval > 0:
                # one token when the pause ends, not a whole burst
                self._tokens[channel] = 0.0
                self._stamp[channel] = self._paused[channel] - self.interval
                self._strict[channel] = until + self.cooldown
            self._cond.notify_all()

    def ready_in(self, channel: str) -> float:
        """Seconds until the channel could take a post (0: at once, when none is waiting)."""
        with self._cond:
            return self._wait_for(channel, time.monotonic())

    def burst_of(self, channel: str) -> int:
        """The burst the channel is allowed now (1 for a while after a 429)."""
        with self._cond:
            return self._capacity(channel, time.monotonic())

    def queued(self, channel: str) -> int:
        """Posts waiting for the channel's turn."""
        with self._cond:
            return len(self._waiting.get(channel, ()))

    def paused_for(self, channel: str) -> float:
        """Seconds until the channel's pause ends (0 when it is not paused)."""
        with self._cond:
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
    def attempt(self, row_id: int, unknown: bool, kind: str | None = None) -> Iterator[None]:
        """The outbox row this thread is delivering (whether to look before posting, and
        its kind, which decides its place among the posts waiting for a channel)."""
        self._local.row = (row_id, unknown, priority_of(kind))
        try:
            yield
        finally:
            self._local.row = None

    def call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        channel = str(kwargs.get("channel") or "") if method in PACED_METHODS else ""
        row = getattr(self._local, "row", None)
        priority = row[2] if row is not None else THEN
        if channel and row is not None:
            row_id, unknown, _ = row
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
        with self.pacer.slot(channel, priority):
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
