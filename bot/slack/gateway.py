"""One place for outbound Web API calls and for deciding what a failure means."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from typing import Any

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


class Gateway:
    """Wraps `WebClient`. Calls here never sleep on a 429: the outbox decides when to try
    again, so a request handler is never held up by Slack's rate limits."""

    def __init__(self, token: str, base_url: str | None = None, *, timeout: int = 10) -> None:
        self.client = WebClient(
            token=token,
            base_url=base_url or WebClient.BASE_URL,
            timeout=timeout,
            retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1)],
        )

    def call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        """Call a Web API method through slack_sdk's own method (which knows whether Slack
        wants JSON, a form or a GET for it); raises SlackApiError or OSError."""
        resp = getattr(self.client, method.replace(".", "_"))(**kwargs)
        return dict(resp.data) if isinstance(resp.data, dict) else {}

    def permalink(self, channel: str, ts: str) -> str | None:
        """The card's link; None when Slack says it has none, an exception (so the outbox
        retries) when Slack is only briefly unavailable."""
        try:
            return self.call("chat.getPermalink", channel=channel, message_ts=ts).get("permalink")
        except (SlackApiError, OSError) as exc:
            if classify(exc).retry:
                raise
            log.info("no permalink for %s/%s: %s", channel, ts, exc)
            return None


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
    if isinstance(exc, OSError | TimeoutError):
        return Failure(True, f"connection: {exc.__class__.__name__}")
    return Failure(False, f"{exc.__class__.__name__}: {exc}")


def backoff(attempt: int, base: float, cap: float = 300.0) -> float:
    """Exponential backoff with full jitter."""
    return min(cap, base * (2 ** min(attempt, 16))) * (0.5 + random.random() / 2)
