"""Concurrent signed requests, timed from sending to the complete response.

Payloads are built and signed by the tests' SlackClient (tests/slackclient.py), the same
shapes Slack sends; only `post` is replaced, to start the clock after signing.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from bench.common import summarize
from tests.slackclient import Reply, SlackClient


class TimedClient(SlackClient):
    """SlackClient whose `send` records, per thread, the seconds from sending the signed
    request to having read the whole response."""

    def __init__(self, url: str, secret: str) -> None:
        super().__init__(url, secret)
        self.local = threading.local()

    def send(self, req: urllib.request.Request) -> Reply:
        t0 = time.perf_counter()
        reply = super().send(req)
        self.local.elapsed = time.perf_counter() - t0
        return reply


# a request: given the client and its index, send it; raises BadReply if the reply is wrong
Request = Callable[[TimedClient, int], None]


class BadReply(Exception):
    """The server answered, but not what Slack needs (wrong status, error body)."""


def expect(reply: Reply, *, empty: bool = True) -> None:
    """HTTP 200, and an empty body when the request only needs an ack."""
    if reply.status != 200 or (empty and reply.body):
        raise BadReply(f"HTTP {reply.status}: {reply.body[:200]}")


@dataclass
class PhaseResult:
    kind: str
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    def summary(self) -> dict[str, Any]:
        out = summarize(self.latencies_ms, self.errors)
        out["wall_s"] = round(self.wall_s, 2)
        out["throughput_rps"] = round(len(self.latencies_ms) / self.wall_s, 1) if self.wall_s else 0
        if self.error_samples:
            out["error_samples"] = self.error_samples[:5]
        return out


def run_phase(
    kind: str,
    client: TimedClient,
    request: Request,
    indexes: Sequence[int],
    concurrency: int,
) -> PhaseResult:
    """Send one request per index from `concurrency` threads; every request is timed
    (errors too: a refusal is as slow as it is)."""
    result = PhaseResult(kind)
    lock = threading.Lock()

    def one(i: int) -> None:
        ok, note = False, ""
        try:
            request(client, i)
            ok = True
        except Exception as exc:  # noqa: BLE001 - counted as an error
            note = f"{exc.__class__.__name__}: {exc}"
        elapsed = getattr(client.local, "elapsed", None)
        client.local.elapsed = None
        with lock:
            if elapsed is not None:
                result.latencies_ms.append(elapsed * 1000)
            if not ok:
                result.errors += 1
                if len(result.error_samples) < 5:
                    result.error_samples.append(note or f"request {i}: unexpected reply")

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=f"load-{kind}") as pool:
        list(pool.map(one, indexes))
    result.wall_s = time.perf_counter() - t0
    return result
