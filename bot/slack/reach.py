"""Can the bot reach Slack, and does Slack accept its token? Told apart, because the fixes
differ: a refused token needs a person to edit the settings (restarting cannot help), an
unreachable Slack needs the network, proxy or firewall looked at (or just time)."""

from __future__ import annotations

import os
import socket
import ssl
from typing import Any
from urllib.error import URLError

from slack_sdk.errors import SlackApiError

from bot.i18n import _
from bot.slack.gateway import Gateway

# auth.test errors that mean "this token will never work": a person must act
REFUSED_TOKEN_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "not_allowed_token_type",
        "missing_scope",
    }
)


class TokenRefused(Exception):
    """Slack answered, and said no to the token."""


class SlackUnreachable(Exception):
    """No answer from Slack: DNS, connection, TLS or proxy."""


def api_error(exc: BaseException) -> str | None:
    """The `error` of an ok:false answer, else None."""
    if isinstance(exc, SlackApiError) and isinstance(exc.response.data, dict):
        return str(exc.response.data.get("error") or "") or None
    return None


def unreachable_reason(exc: BaseException) -> str | None:
    """'DNS: …', 'TLS: …', 'proxy: …' or 'connection: …' for a network failure, else None."""
    reason: Any = exc.reason if isinstance(exc, URLError) else exc
    while isinstance(reason, URLError):
        reason = reason.reason
    if not isinstance(reason, OSError | TimeoutError | str):
        return None
    text = str(reason) or reason.__class__.__name__
    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
    if isinstance(reason, socket.gaierror):
        return _("DNS: cannot resolve the host ({text})", text=text)
    if isinstance(reason, ssl.SSLError):
        return _("TLS: {text}", text=text)
    if proxy and ("tunnel" in text.lower() or "proxy" in text.lower()):
        return _("proxy {proxy}: {text}", proxy=proxy, text=text)
    if proxy:
        return _("connection (through the proxy {proxy}): {text}", proxy=proxy, text=text)
    return _("connection: {text}", text=text)


def check_token(gateway: Gateway) -> dict[str, Any]:
    """auth.test; raises TokenRefused or SlackUnreachable with a one-line reason."""
    url = gateway.client.base_url
    try:
        return gateway.call("auth.test")
    except SlackApiError as exc:
        error = api_error(exc)
        if error in REFUSED_TOKEN_ERRORS:
            raise TokenRefused(
                f"Slack refused SLACK_BOT_TOKEN ({error}): put in the Bot User OAuth Token, "
                "xoxb-… (Slack app > OAuth & Permissions; README § Slack set-up)"
            ) from exc
        status = getattr(exc.response, "status_code", 200)
        raise SlackUnreachable(f"Slack at {url} answered {error or f'HTTP {status}'}") from exc
    except OSError as exc:
        reason = unreachable_reason(exc) or f"{exc.__class__.__name__}: {exc}"
        raise SlackUnreachable(f"Slack unreachable at {url}: {reason}") from exc
