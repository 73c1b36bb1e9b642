"""Deployment checks: each says what is wrong and exactly what to do about it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from slack_sdk.errors import SlackApiError

from bot.config import RoleMembers, Settings, where
from bot.i18n import N_, _
from bot.slack.reach import REFUSED_TOKEN_ERRORS, api_error, unreachable_reason

if TYPE_CHECKING:
    from bot.slack.gateway import Gateway

# scopes the bot uses; manifest.yml grants exactly these, and tests/test_scopes.py derives
# them from the Web API methods, Block Kit elements and events the code uses
REQUIRED_SCOPES = {
    "commands": N_("the /complaint command"),
    "chat:write": N_("the case card, its thread, alerts and direct messages"),
    "channels:read": N_("checking the bot is in the complaints channel"),
    "groups:read": N_("the same for a private complaints channel"),
    "users:read": N_("checking that the people in the settings exist"),
    "usergroups:read": N_("roles given as user groups"),
    "channels:history": N_("keeping thread replies in the case timeline"),
    "groups:history": N_("thread replies in a private complaints channel"),
    "files:read": N_("evidence files attached in the complaint form (file_input)"),
    "files:write": N_("uploading the improvement report, the archive and the register"),
    "im:write": N_("opening a direct message to send someone the report or the register"),
}


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _privacy(channel: str, info: dict) -> Check:
    """Case cards show the customer, the defect and every step: in a public channel the
    whole workspace reads them, whatever CASE_VISIBILITY=roles keeps out of `show`."""
    name = _("complaints channel privacy")
    if info.get("is_private"):
        return Check(name, True, _("{channel} is private", channel=channel))
    return Check(
        name,
        False,
        _(
            "{channel} (#{name}) is public: everyone in the workspace can read the case cards",
            channel=channel,
            name=info.get("name", "?"),
        ),
        _(
            "make the channel private (channel details > Settings > Change to a private "
            "channel), or set CASE_VISIBILITY=workspace if every case may be public"
        ),
    )


def run_checks(settings: Settings) -> list[Check]:
    from sqlalchemy.exc import SQLAlchemyError

    from bot.db import schema_status
    from bot.models import make_engine
    from bot.slack.gateway import Gateway

    checks = [Check(_("settings"), True, _("all present and well-formed"))]
    try:
        engine = make_engine(settings.database_url)
        current, head = schema_status(engine)
        if current == head:
            checks.append(
                Check(_("database"), True, _("reachable, at the latest revision {head}", head=head))
            )
        else:
            checks.append(
                Check(
                    _("database"),
                    False,
                    _("at revision {current}, code expects {head}", current=current, head=head),
                    _("run `complaint-bot migrate` (or just `complaint-bot run`)"),
                )
            )
    except SQLAlchemyError as exc:
        checks.append(
            Check(
                _("database"),
                False,
                _("unreachable: {error}", error=exc.__class__.__name__),
                _("check DATABASE_URL ({where})", where=settings.database_url.split("@")[-1]),
            )
        )

    if settings.socket_mode:
        checks.append(app_token_check(settings))

    gw = Gateway(settings.slack_bot_token, settings.slack_api_url)
    try:
        resp = gw.client.auth_test()
    except SlackApiError as exc:
        error = api_error(exc)
        if error in REFUSED_TOKEN_ERRORS:
            checks.append(
                Check(
                    _("bot token"),
                    False,
                    _("Slack refused it ({error})", error=error),
                    _(
                        "put in {where}, then reinstall the app if needed",
                        where=where("SLACK_BOT_TOKEN"),
                    ),
                )
            )
        else:
            checks.append(
                Check(
                    "slack",
                    False,
                    _(
                        "{url} answered {error}",
                        url=gw.client.base_url,
                        error=error or exc.response.status_code,
                    ),
                    _(
                        "Slack may be having trouble (https://slack-status.com); check "
                        "SLACK_API_URL if you changed it"
                    ),
                )
            )
        return checks
    except OSError as exc:
        checks.append(
            Check(
                "slack",
                False,
                _(
                    "unreachable at {url}: {reason}",
                    url=gw.client.base_url,
                    reason=unreachable_reason(exc) or exc,
                ),
                _(
                    "this is the network, not the token: check DNS, the firewall, the proxy "
                    "(HTTPS_PROXY) and SLACK_API_URL"
                ),
            )
        )
        return checks
    bot_user = resp.get("user_id")
    checks.append(
        Check(
            _("bot token"),
            True,
            _("valid for team {team} as {user}", team=resp.get("team"), user=bot_user),
        )
    )
    headers = {k.lower(): v for k, v in (resp.headers or {}).items()}
    raw = headers.get("x-oauth-scopes", "")
    raw = raw[0] if isinstance(raw, list) else raw
    granted = {s.strip() for s in raw.split(",") if s.strip()}
    missing = sorted(set(REQUIRED_SCOPES) - granted)
    if missing:
        checks.append(
            Check(
                _("scopes"),
                False,
                _(
                    "missing {scopes}",
                    scopes=", ".join(f"{m} ({_(REQUIRED_SCOPES[m])})" for m in missing),
                ),
                _(
                    "add them under OAuth & Permissions (or re-create the app from "
                    "manifest.yml) and reinstall the app"
                ),
            )
        )
    else:
        checks.append(Check(_("scopes"), True, _("all granted")))

    for kind, label, channel in (
        ("complaints", _("complaints channel"), settings.complaints_channel),
        ("management", _("management channel"), settings.management_channel),
        *(("alert", _("alert channel"), c) for c in settings.alert_channels),
    ):
        try:
            info = gw.call("conversations.info", channel=channel).get("channel", {})
            name = info.get("name", "?")
            if info.get("is_member"):
                checks.append(
                    Check(
                        label,
                        True,
                        _("{channel} (#{name}), bot is a member", channel=channel, name=name),
                    )
                )
            else:
                checks.append(
                    Check(
                        label,
                        False,
                        _("bot is not a member of {channel}", channel=channel),
                        _("type `/invite @complaint-desk` in #{name}", name=name),
                    )
                )
        except (SlackApiError, OSError) as exc:
            err = getattr(getattr(exc, "response", None), "data", {}) or {}
            checks.append(
                Check(
                    label,
                    False,
                    f"{channel}: {err.get('error', exc)}",
                    _("put in {where}", where=where("channel")),
                )
            )
            continue
        if kind == "complaints" and settings.case_visibility == "roles":
            checks.append(_privacy(channel, info))

    roles = {
        "MARKETING_USERS": settings.marketing,
        "QUALITY_USERS": settings.quality,
        "MANAGEMENT_USERS": settings.management,
        **{f"RESPONSIBLE_UNITS[{k}]": v for k, v in settings.units.items()},
    }
    if not settings.roles_configured:
        checks.append(
            Check(
                _("roles"),
                True,
                _("none configured: everyone may take every step (trial mode)"),
            )
        )
    checks.extend(_people(gw, roles))
    for name, members in roles.items():
        for group in sorted(members.groups):
            try:
                users = gw.call("usergroups.users.list", usergroup=group).get("users", [])
                checks.append(
                    Check(
                        _("{name} group {group}", name=name, group=group),
                        True,
                        _("{n} members", n=len(users)),
                    )
                )
            except (SlackApiError, OSError) as exc:
                err = (getattr(getattr(exc, "response", None), "data", {}) or {}).get("error")
                fix = (
                    _("user groups need a paid Slack plan: list user ids (U…) instead")
                    if err == "plan_upgrade_required"
                    else _("check the group id (S…)")
                )
                checks.append(
                    Check(
                        _("{name} group {group}", name=name, group=group),
                        False,
                        str(err or exc),
                        fix,
                    )
                )
    return checks


def _people(gw: Gateway, roles: dict[str, RoleMembers]) -> list[Check]:
    """users.info for each configured person: a typo'd or departed id names nobody, and
    the steps it should unlock would stay locked."""
    missing: dict[str, list[str]] = {}
    seen = 0
    for name, members in roles.items():
        for uid in sorted(members.users):
            seen += 1
            try:
                user = gw.call("users.info", user=uid).get("user", {})
                problem = _("deactivated") if user.get("deleted") else None
            except (SlackApiError, OSError) as exc:
                problem = api_error(exc) or str(exc)
            if problem:
                missing.setdefault(name, []).append(f"{uid} ({problem})")
    if not seen:
        return []
    if not missing:
        return [Check(_("people"), True, _("all {n} configured user ids exist", n=seen))]
    return [
        Check(
            _("people in {name}", name=name),
            False,
            _("no such active user: {ids}", ids=", ".join(ids)),
            _("put in {where}", where=where("user")),
        )
        for name, ids in missing.items()
    ]


def app_token_check(settings: Settings) -> Check:
    """Socket Mode: the app-level token opens a connection (`apps.connections.open`, the
    call the bot makes at each connection; the URL it returns is simply not used)."""
    from bot.socketmode import app_token_refusal, refusal_fix

    try:
        error = app_token_refusal(settings.slack_app_token or "", settings.slack_api_url)
    except OSError as exc:
        return Check(
            _("app token"),
            False,
            _("Slack unreachable: {error}", error=exc),
            _("check the network"),
        )
    if error:
        return Check(
            _("app token"),
            False,
            _("apps.connections.open refused: {error}", error=error),
            refusal_fix(error),
        )
    return Check(_("app token"), True, _("Socket Mode connections can be opened"))
