"""Slack's Socket Mode end, on 127.0.0.1: what `apps.connections.open`'s URL leads to.

It speaks the protocol of https://api.slack.com/apis/socket-mode: a `hello` when a
client connects, envelopes (`slash_commands`, `interactive`, `events_api`) each with an
`envelope_id`, acks `{"envelope_id": …, "payload": …}` back, and a `disconnect` message
(`refresh_requested`) before the server closes a connection. Tests (and the sandbox)
send envelopes, read the acks with the time each took, refresh the connection as Slack
does every few hours, or drop it as a network failure would.

Built on the `websockets` library's threaded server: one thread per connection.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

# how long Slack keeps a connection open after telling the client to go (Slack: ~10 s)
REFRESH_GRACE = 10.0


@dataclass
class Envelope:
    """One envelope sent to the bot, and its ack once it came (times: time.monotonic())."""

    envelope_id: str
    type: str
    payload: dict[str, Any]
    sent_at: float
    connection: int
    acked_at: float | None = None
    ack: dict[str, Any] | None = None
    done: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def ack_seconds(self) -> float | None:
        return None if self.acked_at is None else self.acked_at - self.sent_at


class SocketModeServer:
    """The Socket Mode endpoint: hands out one-use URLs, greets, sends and collects acks."""

    def __init__(self, *, app_id: str = "A0000TEST", grace: float = REFRESH_GRACE) -> None:
        self.app_id = app_id
        self.grace = grace
        self.envelopes: list[Envelope] = []
        self._hellos = 0  # connections greeted, ever
        self.refused = 0  # connections with an unknown or used ticket
        # cleared: connections are accepted but not greeted until it is set again
        self.greeting = threading.Event()
        self.greeting.set()
        self._tickets: set[str] = set()
        self._open: dict[int, ServerConnection] = {}  # connection number -> connection
        self._numbers = itertools.count(1)
        self._lock = threading.Condition()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> SocketModeServer:
        self._server = serve(self._serve, "127.0.0.1", 0, compression=None, max_size=None)
        self.port = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-socket-mode", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SocketModeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def new_url(self) -> str:
        """What `apps.connections.open` returns: a URL with a ticket that works once."""
        ticket = uuid.uuid4().hex
        with self._lock:
            self._tickets.add(ticket)
        return f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={self.app_id}"

    # -- what tests do --------------------------------------------------------------------

    @property
    def hellos(self) -> int:
        """Connections greeted since this server started (read under the lock: a client
        that has its hello is always counted)."""
        with self._lock:
            return self._hellos

    @property
    def connections(self) -> int:
        """Connections open right now."""
        with self._lock:
            return len(self._open)

    def wait_for_hellos(self, n: int, timeout: float = 10.0) -> bool:
        """True once `n` connections have been greeted since this server started."""
        with self._lock:
            return self._lock.wait_for(lambda: self._hellos >= n, timeout)

    def send(
        self, kind: str, payload: dict[str, Any], *, accepts_response_payload: bool = True
    ) -> Envelope:
        """Send an envelope on the newest open connection, as Slack picks one of them."""
        with self._lock:
            if not self._open:
                raise ConnectionError("no Socket Mode connection is open")
            number = max(self._open)
            conn = self._open[number]
            env = Envelope(uuid.uuid4().hex, kind, payload, time.monotonic(), number)
            self.envelopes.append(env)
        message: dict[str, Any] = {
            "envelope_id": env.envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        if kind == "events_api":
            message.update(retry_attempt=0, retry_reason="")
        conn.send(json.dumps(message))
        return env

    def request(self, kind: str, payload: dict[str, Any], timeout: float = 10.0) -> Envelope:
        """Send an envelope and wait for its ack (or `timeout`; then `acked_at` is None)."""
        env = self.send(kind, payload, accepts_response_payload=kind != "events_api")
        env.done.wait(timeout)
        return env

    def refresh(self) -> None:
        """Tell every open connection to go, as Slack does before it rotates a connection;
        each is closed by the server `grace` seconds later if the client keeps it."""
        with self._lock:
            conns = list(self._open.values())
        message = json.dumps(
            {
                "type": "disconnect",
                "reason": "refresh_requested",
                "debug_info": {"host": "fake-socket-mode"},
            }
        )
        for conn in conns:
            with contextlib.suppress(ConnectionClosed):
                conn.send(message)
            timer = threading.Timer(self.grace, conn.close)
            timer.daemon = True
            timer.start()

    def drop(self) -> None:
        """Cut every open connection without a close frame, as a network failure does."""
        with self._lock:
            conns = list(self._open.values())
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.socket.shutdown(socket.SHUT_RDWR)

    # -- the server side ------------------------------------------------------------------

    def _serve(self, conn: ServerConnection) -> None:
        query = (conn.request.path if conn.request else "").partition("?")[2]
        params = dict(p.partition("=")[::2] for p in query.split("&") if p)
        with self._lock:
            ticket = params.get("ticket", "")
            if ticket not in self._tickets:
                self.refused += 1
                refused = True
            else:
                self._tickets.discard(ticket)
                refused = False
        if refused:
            conn.close(code=1008, reason="invalid ticket")
            return
        number = next(self._numbers)
        hello = {
            "type": "hello",
            "num_connections": 1,
            "debug_info": {"host": "fake-socket-mode", "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.app_id},
        }
        with self._lock:
            self._open[number] = conn
            hello["num_connections"] = len(self._open)
        try:
            while not self.greeting.wait(0.05):
                if self._server is None:
                    return
            with self._lock:  # counted as it is sent, so a client never sees it first
                conn.send(json.dumps(hello))
                self._hellos += 1
                self._lock.notify_all()
            for raw in conn:
                self._on_ack(raw)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self._open.pop(number, None)
                self._lock.notify_all()

    def _on_ack(self, raw: str | bytes) -> None:
        now = time.monotonic()
        try:
            ack = json.loads(raw)
        except ValueError:
            return
        if not isinstance(ack, dict):
            return
        with self._lock:
            env = next((e for e in self.envelopes if e.envelope_id == ack.get("envelope_id")), None)
            if env is None or env.acked_at is not None:
                return
            env.acked_at, env.ack = now, ack
        env.done.set()
