"""What the HTTP endpoint refuses before Bolt sees a request, and how Bolt's errors on a
malformed payload are answered.

Slack's payloads are a few kilobytes; a body of hundreds of megabytes is an attack, and
reading it to check its signature would cost its size in memory. Slack signs every
request with a numeric timestamp; anything else is not from Slack. A payload that passes
the signature check but is not the shape Slack sends (bad JSON, a missing field, a list
where an object belongs) is a client error, answered 400, not a server error (500)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import BoltResponse

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
