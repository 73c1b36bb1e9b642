"""Socket Mode: the bot's WebSocket to Slack, on the `websockets` library's threaded client.

Not slack_sdk's built-in client, for two reasons measured against a local endpoint: on
Slack's `disconnect` (`refresh_requested`, every few hours) it closes the old connection
before it reads from the new one, and that close waits up to 3 s for the old reader, so
the first request after each refresh was acked after Slack's 3-second limit; and it
noticed a dropped connection only at its next health check (up to ~10 s). Here each
connection has its own reader thread: on a refresh the new connection is opened and read
at once while the old one keeps being read until the new one's `hello`, and only then
closed, in its own thread; a dropped connection is replaced at once.

Envelopes run through Bolt exactly as its own Socket Mode adapters do (`run_bolt_app`):
the ack goes back when the listener calls `ack()`, with its payload (a form's inline
errors) if any.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.socket_mode.internals import run_bolt_app
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.request import SocketModeRequest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect

log = logging.getLogger("bot.socketmode")

OPEN_TIMEOUT = 5.0  # a connection attempt that hangs longer is given up and retried
CLOSE_TIMEOUT = 1.0  # for Slack's close frame: a stop waits at most this long
PING_INTERVAL = 10.0  # a half-open connection (no RST ever comes) is noticed within 20 s
MAX_PAUSE = 30.0  # between failed connection attempts; the first retry is immediate


def app_token_refusal(app_token: str, api_url: str | None) -> str | None:
    """Slack's error when it refuses `app_token` for `apps.connections.open`, else None.
    A network failure is not a refusal: it raises OSError."""
    client = WebClient(base_url=api_url or WebClient.BASE_URL, timeout=10)
    try:
        client.apps_connections_open(app_token=app_token)
    except SlackApiError as exc:
        return str(exc.response.get("error") or exc)
    return None


def refusal_fix(error: str) -> str:
    """What to do about Slack's refusal of the app-level token."""
    if error == "not_allowed_token_type":
        return (
            "SLACK_APP_TOKEN must be an app-level token (xapp-…), not a bot or user token: "
            "Basic Information > App-Level Tokens"
        )
    if error == "missing_scope":
        return "give the app-level token the connections:write scope (Basic Information)"
    return (
        "generate an app-level token with the connections:write scope under Basic "
        "Information > App-Level Tokens, put it (xapp-…) in SLACK_APP_TOKEN, and check that "
        "Socket Mode is on under Settings > Socket Mode"
    )


class SocketModeClient:
    """Keeps one Socket Mode connection to Slack open and feeds its envelopes to Bolt."""

    def __init__(
        self, app: App, app_token: str, api_url: str | None = None, *, workers: int = 16
    ) -> None:
        self.app = app
        self.app_token = app_token
        self.api_url = api_url
        self.hellos = 0  # connections Slack has greeted
        self._current: ClientConnection | None = None
        self._links: set[ClientConnection] = set()  # every open one, greeted or not yet
        self._pause = 0.0  # before the next connection attempt
        self._connected = threading.Event()  # the current connection has had its hello
        self._wanted = threading.Event()  # a new connection is needed
        self._closed = threading.Event()
        self._lock = threading.Lock()
        # Bolt waits for the listener's ack() here, so acks never queue behind each other
        self._workers = ThreadPoolExecutor(workers, thread_name_prefix="socket-mode")
        self._keeper: threading.Thread | None = None

    # -- what the process uses --------------------------------------------------------------

    def connect(self) -> None:
        """Start connecting in the background; `connected` says when Slack has said hello."""
        self._wanted.set()
        self._keeper = threading.Thread(target=self._keep, name="socket-mode-keeper", daemon=True)
        self._keeper.start()

    @property
    def connected(self) -> bool:
        return self._connected.is_set() and not self._closed.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def close(self) -> None:
        self._closed.set()
        self._wanted.set()
        with self._lock:
            links, self._current = list(self._links), None
            self._connected.clear()
        # each close waits up to CLOSE_TIMEOUT for Slack's close frame: in parallel, and
        # not for the keeper (it may be in a 5-second connection attempt), so that Ctrl-C
        # stops the process within about a second whatever the network does
        closing = [threading.Thread(target=ws.close, daemon=True) for ws in links]
        for thread in closing:
            thread.start()
        deadline = time.monotonic() + CLOSE_TIMEOUT
        for thread in closing:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._workers.shutdown(wait=False, cancel_futures=True)

    # -- connections ----------------------------------------------------------------------

    def _keep(self) -> None:
        """Open a connection whenever one is needed: at start, on Slack's `disconnect`, and
        when the current one drops. The first attempt after a greeted connection is
        immediate; attempts that fail (or connect but get no hello) pause 0.5 s, 1 s … 30 s."""
        while True:
            self._wanted.wait()
            if self._closed.wait(self._pause):
                return
            self._wanted.clear()
            self._pause = min(MAX_PAUSE, self._pause * 2 or 0.5)  # a hello resets it
            try:
                ws = self._open()
            except SlackApiError as exc:
                error = str(exc.response.get("error") or exc)
                log.error("Slack refused SLACK_APP_TOKEN (%s): %s", error, refusal_fix(error))
                self._wanted.set()
                continue
            except Exception as exc:  # noqa: BLE001 - network, timeout, handshake: retried
                log.warning("could not connect to Slack in Socket Mode: %r", exc)
                self._wanted.set()
                continue
            with self._lock:
                self._links.add(ws)
            if self._closed.is_set():  # close() came while this one was opening
                ws.close()
                return
            threading.Thread(
                target=self._read, args=(ws,), name="socket-mode-reader", daemon=True
            ).start()

    def _open(self) -> ClientConnection:
        client = WebClient(base_url=self.api_url or WebClient.BASE_URL, timeout=OPEN_TIMEOUT)
        url = client.apps_connections_open(app_token=self.app_token)["url"]
        return ws_connect(
            url,
            open_timeout=OPEN_TIMEOUT,
            close_timeout=CLOSE_TIMEOUT,
            ping_interval=PING_INTERVAL,
            ping_timeout=PING_INTERVAL,
            compression=None,  # Slack's messages are small; zlib would cost memory per link
            max_size=None,
        )

    def _read(self, ws: ClientConnection) -> None:
        try:
            with ws:  # closed on the way out, whatever ends the reading
                for raw in ws:
                    self._on_message(ws, raw)
        except ConnectionClosed:
            pass
        except Exception:  # noqa: BLE001 - this connection is finished; another is opened
            log.exception("Socket Mode connection failed")
        finally:
            with self._lock:
                self._links.discard(ws)
                was_current = self._current is ws
                if was_current:
                    self._current = None
                    self._connected.clear()
            if was_current and not self._closed.is_set():
                log.warning("Socket Mode connection lost; reconnecting")
                self._wanted.set()

    def _on_message(self, ws: ClientConnection, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            log.warning("ignored a Socket Mode message that is not a JSON object")
            return
        kind = message.get("type")
        if kind == "hello":
            self._greeted(ws)
        elif kind == "disconnect":
            # keep reading this one until the new connection's hello: Slack may still
            # send envelopes here meanwhile
            log.info("Slack asked to reconnect (%s)", message.get("reason"))
            if ws is self._current:
                self._wanted.set()
        elif message.get("envelope_id"):
            self._workers.submit(self._handle, ws, message)

    def _greeted(self, ws: ClientConnection) -> None:
        with self._lock:
            if self._closed.is_set():
                return
            old, self._current = self._current, ws
            self._pause = 0.0
            self.hellos += 1
            first = self.hellos == 1
        log.info("connected to Slack in Socket Mode" if first else "reconnected to Slack")
        self._connected.set()
        if old is not None and old is not ws:
            threading.Thread(target=old.close, name="socket-mode-close", daemon=True).start()

    def _handle(self, ws: ClientConnection, message: dict[str, Any]) -> None:
        request = SocketModeRequest.from_dict(message)
        if request is None:
            return
        try:
            response = run_bolt_app(self.app, request)
        except Exception:  # noqa: BLE001 - not acked, as an HTTP 500 would not be
            log.exception("Bolt failed on a %s envelope", request.type)
            return
        if response.status != 200:
            # as over HTTP: Slack retries an event that was not accepted
            log.info("not acknowledged: %s %s", response.status, response.body)
            return
        ack: dict[str, Any] = {"envelope_id": request.envelope_id}
        if response.body:
            content_type = (response.headers.get("content-type") or [""])[0]
            if content_type.startswith("application/json"):
                ack["payload"] = json.loads(response.body)
            else:
                ack["payload"] = {"text": response.body}
        self._send(ws, json.dumps(ack))

    def _send(self, ws: ClientConnection, text: str) -> None:
        """On the connection the envelope came on; if that one has just gone, on the
        current one (Slack matches acks by envelope_id)."""
        try:
            ws.send(text)
            return
        except ConnectionClosed:
            pass
        current = self._current
        if current is not None and current is not ws:
            with contextlib.suppress(ConnectionClosed):
                current.send(text)
                return
        log.warning("an ack was lost: the Socket Mode connection closed before it was sent")
