"""What the HTTP endpoint refuses before Bolt sees a request, and how Bolt's errors on a
malformed payload are answered.

Slack's payloads are a few kilobytes; a body of hundreds of megabytes is an attack, and
reading it to check its signature would cost its size in memory. Slack signs every
request with a numeric timestamp; anything else is not from Slack. A payload that passes
the signature check but is not the shape Slack sends (bad JSON, a missing field, a list
where an object belongs) is a client error, answered 400, not a server error (500)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.context import BoltContext
from slack_bolt.request.internals import build_context

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # also waitress's max_request_body_size (bot/supervisor.py)
# the errors a payload of the wrong shape raises in a listener (body["user"]["id"], int())
SHAPE_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError)

WSGIApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


def _answer(start_response: Any, status: str, text: str) -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
    return [text.encode()]


def guard(app: WSGIApp) -> WSGIApp:
    """Wrap Bolt's WSGI handler: oversized bodies get 413 unread, a timestamp that is
    not a number 401, a body Bolt cannot even parse 400."""

    def application(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        raw_length = environ.get("CONTENT_LENGTH") or "0"
        if not raw_length.isdigit():
            return _answer(start_response, "400 Bad Request", "bad content length")
        if int(raw_length) > MAX_BODY:
            return _answer(start_response, "413 Payload Too Large", "request body too large")
        stamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP")
        if stamp is not None and not (stamp.isascii() and stamp.isdigit()):
            return _answer(start_response, "401 Unauthorized", "invalid request")
        try:
            return app(environ, start_response)
        except SHAPE_ERRORS as exc:  # Bolt parses the body (JSON) before it checks anything
            log.warning("unparseable request refused: %r", exc)
            return _answer(start_response, "400 Bad Request", "malformed request")

    return application


def bad_payload(error: Exception, body: Any) -> BoltResponse | None:
    """Bolt's error handler: a listener that failed on the payload's shape answers 400;
    any other failure keeps Bolt's 500 (the database is down: Slack should show it)."""
    if isinstance(error, SHAPE_ERRORS):
        kind = body.get("type") if isinstance(body, dict) else None
        log.warning("malformed %s payload refused: %r", kind, error)
        return BoltResponse(status=400, body="")
    log.error("request failed: %r", error, exc_info=error)
    return None


# --- the interactive payload, decoded in C --------------------------------------------------


def form_payload(body: str) -> dict[str, Any] | None:
    """The JSON `payload` of an interactive request's form body (`payload=<url-encoded
    JSON>`, a view submission or a click), decoded as `urllib.parse.parse_qsl` and Bolt
    decode it, but by the interpreter's C codecs: parse_qsl's pure-Python unquoting took a
    tenth of the web process's time per form submitted (0.3 ms for a 9 KB form).

    None, and Bolt decodes the body itself, for anything but exactly that shape: other
    fields (`&`), characters a form encoder escapes (non-ASCII, a backslash), or an escape
    that is not two hex digits. Each `%XX` becomes `\\xXX` for the `unicode_escape`
    codec; the bytes it yields are decoded as UTF-8 with the same `replace` parse_qsl
    uses."""
    if not body.startswith("payload=") or "&" in body or "\\" in body or not body.isascii():
        return None
    text = body[8:].replace("+", " ")
    try:
        escaped = text.replace("%", "\\x").encode("ascii").decode("unicode_escape")
        payload = json.loads(escaped.encode("latin-1").decode("utf-8", "replace"))
    except ValueError:  # UnicodeDecodeError and JSONDecodeError too: Bolt's own way then
        return None
    return payload if isinstance(payload, dict) else None


class FormRequest(BoltRequest):
    """A BoltRequest whose interactive payload is decoded by `form_payload`; any other
    body is left to Bolt. The raw body is kept as it came: Bolt checks the signature on
    it."""

    def __init__(self, *, body: str, query: Any = None, headers: Any = None) -> None:
        payload = form_payload(body)
        if payload is None:
            super().__init__(body=body, query=query, headers=headers)
            return
        super().__init__(body="", query=query, headers=headers)
        if self.content_type == "application/json":  # Bolt reads such a body as JSON
            super().__init__(body=body, query=query, headers=headers)
            return
        self.raw_body = body
        self.body = payload
        self.context = build_context(BoltContext({}), payload)


class SlackHandler(SlackRequestHandler):
    """Bolt's WSGI handler, with interactive payloads decoded by `FormRequest`."""

    def dispatch(self, request: Any) -> BoltResponse:
        return self.app.dispatch(
            FormRequest(
                body=request.get_body(), query=request.query_string, headers=request.get_headers()
            )
        )
