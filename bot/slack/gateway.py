"""One place for outbound Web API calls and for deciding what a failure means."""

from __future__ import annotations

import io
import logging
import random
import ssl
import threading
import urllib.request
import weakref
from dataclasses import dataclass
from http.client import HTTPConnection, HTTPException, HTTPSConnection, RemoteDisconnected
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

log = logging.getLogger(__name__)

# ok:false errors worth another try; every other error is permanent (channel_not_found,
# not_in_channel, invalid_blocks, …) and is reported on the case instead of retried forever
TRANSIENT_ERRORS = {
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "team_added_to_org",
}


@dataclass(frozen=True)
class Failure:
    retry: bool
    error: str
    retry_after: float | None = None


class KeepAliveWebClient(WebClient):
    """slack_sdk's WebClient, but keeping one HTTP(S) connection open per thread and host.

    slack_sdk's sync client opens a new connection for every call: for slack.com a TCP and
    a TLS handshake each time, 20-odd times over one complaint's life, and most of the CPU
    a `views.open` costs the web process. Everything else (request building, retries,
    errors, `SlackResponse`) is slack_sdk's own; only the transport of one request is
    replaced, and a proxy setting falls back to slack_sdk's."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._conns = threading.local()
        self._context: ssl.SSLContext | None = None
        # every connection opened, in any thread, so that stopping can close them all
        self._opened: weakref.WeakSet[HTTPConnection] = weakref.WeakSet()

    def disconnect(self) -> None:
        """Close the kept-alive connections of every thread (the bot is stopping)."""
        for conn in list(self._opened):
            conn.close()

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        parts = urlsplit(url)
        if self.proxy is not None or parts.scheme not in ("http", "https"):
            return super()._perform_urllib_http_request_internal(url, req)
        pool: dict[tuple[str, str], HTTPConnection] = self._conns.__dict__.setdefault("pool", {})
        key = (parts.scheme, parts.netloc)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = dict(req.header_items())
        for attempt in (0, 1):
            conn = pool.get(key)
            reused = conn is not None
            if conn is None:
                conn = pool[key] = self._connect(parts.scheme, parts.hostname or "", parts.port)
            try:
                conn.request(req.get_method(), path, body=req.data, headers=headers)
                resp = conn.getresponse()
                body = resp.read()
            except (OSError, HTTPException) as exc:
                conn.close()
                pool.pop(key, None)
                # a connection Slack closed while idle: once more on a new one; any other
                # failure goes to slack_sdk's retry handlers as urllib's own would
                if reused and attempt == 0 and isinstance(exc, _STALE):
                    continue
                raise URLError(exc) from exc
            break
        if resp.will_close:
            conn.close()
            pool.pop(key, None)
        if resp.status >= 400:  # slack_sdk handles these (429, 5xx) as urllib raises them
            raise HTTPError(url, resp.status, resp.reason, resp.headers, io.BytesIO(body))
        if resp.headers.get_content_type() == "application/gzip":
            return {"status": resp.status, "headers": resp.headers, "body": body}
        charset = resp.headers.get_content_charset() or "utf-8"
        return {"status": resp.status, "headers": resp.headers, "body": body.decode(charset)}

    def _connect(self, scheme: str, host: str, port: int | None) -> HTTPConnection:
        if scheme == "https":
            if self._context is None:  # loading the CA bundle once, not per connection
                self._context = self.ssl or ssl.create_default_context()
            conn: HTTPConnection = HTTPSConnection(
                host, port, timeout=self.timeout, context=self._context
            )
        else:
            conn = HTTPConnection(host, port, timeout=self.timeout)
        self._opened.add(conn)
        return conn


_STALE = (RemoteDisconnected, ConnectionResetError, BrokenPipeError)


def _sdk_logger() -> logging.Logger:
    """slack_sdk's logger, with its own level set to the level in force.

    slack_sdk decides whether to build its debug lines from `logger.level`, not from the
    effective level; with the level unset (0) it formats the whole request, blocks and
    all, before every call and then throws the line away: about a third of the CPU a
    `views.open` costs."""
    logger = logging.getLogger("slack_sdk.web.base_client")
    if logger.level == logging.NOTSET:
        logger.setLevel(logger.getEffectiveLevel())
    return logger


class Gateway:
    """Wraps `WebClient`. Calls here never sleep on a 429: the outbox decides when to try
    again, so a request handler is never held up by Slack's rate limits."""

    def __init__(self, token: str, base_url: str | None = None, *, timeout: int = 10) -> None:
        self.client = KeepAliveWebClient(
            logger=_sdk_logger(),
            token=token,
            base_url=base_url or WebClient.BASE_URL,
            timeout=timeout,
            retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1)],
        )
        self._workspace_url: str | None = None
        self._url_lock = threading.Lock()

    def close(self) -> None:
        """Close this thread's kept-alive connections (before a fork, say)."""
        for conn in self.client._conns.__dict__.pop("pool", {}).values():
            conn.close()

    def call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        """Call a Web API method through slack_sdk's own method (which knows whether Slack
        wants JSON, a form or a GET for it); raises SlackApiError or OSError."""
        resp = getattr(self.client, method.replace(".", "_"))(**kwargs)
        return dict(resp.data) if isinstance(resp.data, dict) else {}

    def post_bytes(self, url: str, data: bytes) -> None:
        """Send a file's bytes to the upload URL files.getUploadURLExternal gave (not a Web
        API method: no token, the URL itself authorises). Raises OSError on failure, which
        the outbox retries."""
        req = urllib.request.Request(
            url, data=data, method="POST", headers={"Content-Type": "application/octet-stream"}
        )
        with urllib.request.urlopen(req, timeout=max(30, self.client.timeout)) as resp:
            resp.read()

    def permalink(self, channel: str, ts: str) -> str | None:
        """The link of a message, built from the workspace's URL (auth.test, once per
        process) as Slack builds it, instead of one chat.getPermalink per message sent;
        an exception (so the outbox retries) when Slack is only briefly unavailable."""
        try:
            base = self.workspace_url()
        except (SlackApiError, OSError) as exc:
            if classify(exc).retry:
                raise
            base = None
        if base:
            return f"{base}archives/{channel}/p{ts.replace('.', '')}"
        try:
            return self.call("chat.getPermalink", channel=channel, message_ts=ts).get("permalink")
        except (SlackApiError, OSError) as exc:
            if classify(exc).retry:
                raise
            log.info("no permalink for %s/%s: %s", channel, ts, exc)
            return None

    def workspace_url(self) -> str | None:
        """`https://acme.slack.com/`, from auth.test, asked once."""
        with self._url_lock:
            if self._workspace_url is None:
                url = str(self.call("auth.test").get("url") or "")
                self._workspace_url = url if not url or url.endswith("/") else url + "/"
            return self._workspace_url or None


def classify(exc: BaseException) -> Failure:
    """Turn an exception from a call into retry/permanent, honouring Retry-After."""
    if isinstance(exc, SlackApiError):
        resp = exc.response
        status = getattr(resp, "status_code", 200)
        error = str((resp.data or {}).get("error", "")) if isinstance(resp.data, dict) else ""
        if status == 429:
            headers = {k.lower(): v for k, v in (resp.headers or {}).items()}
            raw = headers.get("retry-after", "1")
            raw = raw[0] if isinstance(raw, list) else raw
            try:
                after = float(raw)
            except ValueError:
                after = 1.0
            return Failure(True, "ratelimited", after)
        if status >= 500:
            return Failure(True, f"http_{status}")
        return Failure(error in TRANSIENT_ERRORS, error or f"http_{status}")
    if getattr(exc, "retry", False):  # says so itself: the records helper stuck or died
        return Failure(True, str(exc))
    if isinstance(exc, OSError | TimeoutError):
        return Failure(True, f"connection: {exc.__class__.__name__}")
    return Failure(False, f"{exc.__class__.__name__}: {exc}")


def backoff(attempt: int, base: float, cap: float = 300.0) -> float:
    """Exponential backoff with full jitter."""
    return min(cap, base * (2 ** min(attempt, 16))) * (0.5 + random.random() / 2)
