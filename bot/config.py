"""Settings from the environment and `.env`, validated once at start.

Every problem is collected and reported together, so an operator fixes a
deployment in one pass instead of one restart per typo.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_DATABASE_URL = "sqlite:///complaints.sqlite3"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DEFAULT_UNITS = ("production", "development", "purchasing", "warehouse")

_USER_RE = re.compile(r"^[UW][A-Z0-9]{2,}$")
_GROUP_RE = re.compile(r"^S[A-Z0-9]{2,}$")
_CHANNEL_RE = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_UNIT_RE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_HOURS_RE = re.compile(r"^\d{1,2}:\d{2}-\d{1,2}:\d{2}$")


class SettingsError(ValueError):
    """Raised with every problem found, one per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("Invalid settings:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class RoleMembers:
    """Slack user ids and user-group ids that hold one role."""

    users: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()

    @property
    def empty(self) -> bool:
        return not self.users and not self.groups


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str
    slack_signing_secret: str
    complaints_channel: str
    management_channel: str
    slack_app_token: str | None = None
    slack_api_url: str | None = None
    database_url: str = DEFAULT_DATABASE_URL
    port: int = 3000
    timezone: str = "Asia/Shanghai"
    marketing: RoleMembers = RoleMembers()
    quality: RoleMembers = RoleMembers()
    management: RoleMembers = RoleMembers()
    units: dict[str, RoleMembers] = field(default_factory=dict)
    alert_channels: tuple[str, ...] = ()
    holiday_country: str = "CN"
    working_hours: str = "08:30-17:30"
    extra_holidays: tuple[date, ...] = ()
    extra_workdays: tuple[date, ...] = ()
    urgent_reply_hours: float = 4.0
    rework_working_days: int = 3
    reminder_points: tuple[str, ...] = ("half", "2h")
    escalation_working_days: tuple[int, ...] = (1, 2)
    digest_time: str = "08:45"
    scheduler_enabled: bool = True
    scheduler_interval_seconds: float = 30.0
    worker_process: bool = True
    log_level: str = "INFO"
    case_visibility: str = "roles"

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    @property
    def roles_configured(self) -> bool:
        return not (self.marketing.empty and self.quality.empty and self.management.empty)


def _split(value: str) -> list[str]:
    return [p for p in re.split(r"[\s,]+", value.strip()) if p]


def _members(name: str, value: str, problems: list[str]) -> RoleMembers:
    users, groups = set(), set()
    for item in _split(value):
        if _USER_RE.match(item):
            users.add(item)
        elif _GROUP_RE.match(item):
            groups.add(item)
        else:
            problems.append(
                f"{name}: {item!r} is neither a user id (U…/W…) nor a user-group id (S…)"
            )
    return RoleMembers(frozenset(users), frozenset(groups))


def _dates(name: str, value: str, problems: list[str]) -> tuple[date, ...]:
    out = []
    for item in _split(value):
        try:
            out.append(date.fromisoformat(item))
        except ValueError:
            problems.append(f"{name}: {item!r} is not a date like 2026-10-09")
    return tuple(sorted(out))


def _units(value: str, problems: list[str]) -> dict[str, RoleMembers]:
    """`production=U01,S02;development=U03` — the names are what TQ picks from."""
    if not value.strip():
        return {u: RoleMembers() for u in DEFAULT_UNITS}
    units: dict[str, RoleMembers] = {}
    for part in value.split(";"):
        if not part.strip():
            continue
        name, _, ids = part.partition("=")
        name = name.strip().lower()
        if not _UNIT_RE.match(name):
            problems.append(
                f"RESPONSIBLE_UNITS: {name!r} is not a unit name (lower-case letters, digits, -)"
            )
            continue
        units[name] = _members(f"RESPONSIBLE_UNITS[{name}]", ids, problems)
    return units


def _bool(name: str, value: str, problems: list[str]) -> bool:
    v = value.strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off"):
        return False
    problems.append(f"{name}: {value!r} is not true/false")
    return True


def load_settings(env: Mapping[str, str] | None = None, *, dotenv: bool = True) -> Settings:
    """Read settings from `env` (default: the process environment, after `.env`)."""
    if env is None:
        if dotenv:
            from dotenv import find_dotenv, load_dotenv

            # the .env of the directory the bot is started in, not of the installed package
            load_dotenv(find_dotenv(usecwd=True), override=False)
        env = os.environ
    problems: list[str] = []

    def get(name: str, default: str = "") -> str:
        return (env.get(name) or default).strip()

    bot_token = get("SLACK_BOT_TOKEN")
    if not bot_token:
        problems.append("SLACK_BOT_TOKEN is missing (Slack app > OAuth & Permissions, xoxb-…)")
    elif not bot_token.startswith("xoxb-"):
        problems.append("SLACK_BOT_TOKEN must be a bot token starting with xoxb-")
    app_token = get("SLACK_APP_TOKEN") or None
    if app_token and not app_token.startswith("xapp-"):
        problems.append("SLACK_APP_TOKEN must be an app-level token starting with xapp-")
    secret = get("SLACK_SIGNING_SECRET")
    if not secret and not app_token:
        problems.append(
            "SLACK_SIGNING_SECRET is missing (Slack app > Basic Information); "
            "HTTP mode needs it to verify requests"
        )
    api_url = get("SLACK_API_URL") or None
    if api_url:
        if not re.match(r"^https?://", api_url):
            problems.append("SLACK_API_URL must be an http(s) URL like https://slack.com/api/")
        elif not api_url.endswith("/"):
            api_url += "/"

    complaints = get("COMPLAINTS_CHANNEL")
    if not complaints:
        problems.append(
            "COMPLAINTS_CHANNEL is missing (the channel id, C…, where cases are posted)"
        )
    elif not _CHANNEL_RE.match(complaints):
        problems.append(f"COMPLAINTS_CHANNEL: {complaints!r} is not a channel id like C0123ABCD")
    management = get("MANAGEMENT_CHANNEL") or complaints
    if management and not _CHANNEL_RE.match(management):
        problems.append(f"MANAGEMENT_CHANNEL: {management!r} is not a channel id like C0123ABCD")
    alert_channels = tuple(_split(get("ALERT_CHANNELS")))
    for ch in alert_channels:
        if not _CHANNEL_RE.match(ch):
            problems.append(f"ALERT_CHANNELS: {ch!r} is not a channel id")

    port_s = get("PORT", "3000")
    port = 3000
    if not port_s.isdigit() or not 0 < int(port_s) < 65536:
        problems.append(f"PORT: {port_s!r} is not a TCP port number")
    else:
        port = int(port_s)

    tz = get("TIMEZONE", "Asia/Shanghai")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"TIMEZONE: {tz!r} is not an IANA time zone like Asia/Shanghai")

    hours = get("WORKING_HOURS", "08:30-17:30")
    if not _HOURS_RE.match(hours):
        problems.append(f"WORKING_HOURS: {hours!r} is not like 08:30-17:30")

    def number(name: str, default: str, kind: type = float, minimum: float = 0) -> float:
        raw = get(name, default)
        try:
            val = kind(raw)
        except ValueError:
            problems.append(f"{name}: {raw!r} is not a number")
            return kind(default)
        if val < minimum:
            problems.append(f"{name}: must be at least {minimum}")
        return val

    points = tuple(_split(get("REMINDER_POINTS", "half,2h")))
    for p in points:
        if p != "half" and not re.match(r"^\d+(\.\d+)?h$", p):
            problems.append(
                f"REMINDER_POINTS: {p!r} is neither 'half' nor a number of hours like 2h"
            )
    ladder_raw = _split(get("ESCALATION_WORKING_DAYS", "1,2"))
    ladder = []
    for p in ladder_raw:
        if p.isdigit() and int(p) > 0:
            ladder.append(int(p))
        else:
            problems.append(f"ESCALATION_WORKING_DAYS: {p!r} is not a positive whole number")
    digest = get("DIGEST_TIME", "08:45")
    if not re.match(r"^\d{1,2}:\d{2}$", digest):
        problems.append(f"DIGEST_TIME: {digest!r} is not like 08:45")

    log_level = get("LOG_LEVEL", "INFO").upper()
    if log_level not in LOG_LEVELS:
        problems.append(f"LOG_LEVEL: {log_level!r} is not one of {', '.join(LOG_LEVELS)}")

    visibility = get("CASE_VISIBILITY", "roles").lower()
    if visibility not in ("roles", "workspace"):
        problems.append(f"CASE_VISIBILITY: {visibility!r} is neither roles nor workspace")

    settings = Settings(
        slack_bot_token=bot_token,
        slack_signing_secret=secret,
        slack_app_token=app_token,
        slack_api_url=api_url,
        database_url=get("DATABASE_URL", DEFAULT_DATABASE_URL),
        port=port,
        complaints_channel=complaints,
        management_channel=management,
        alert_channels=alert_channels,
        timezone=tz,
        marketing=_members("MARKETING_USERS", get("MARKETING_USERS"), problems),
        quality=_members("QUALITY_USERS", get("QUALITY_USERS"), problems),
        management=_members("MANAGEMENT_USERS", get("MANAGEMENT_USERS"), problems),
        units=_units(get("RESPONSIBLE_UNITS"), problems),
        holiday_country=get("HOLIDAY_COUNTRY", "CN").upper(),
        working_hours=hours,
        extra_holidays=_dates("EXTRA_HOLIDAYS", get("EXTRA_HOLIDAYS"), problems),
        extra_workdays=_dates("EXTRA_WORKDAYS", get("EXTRA_WORKDAYS"), problems),
        urgent_reply_hours=number("URGENT_REPLY_HOURS", "4", float, 0.25),
        rework_working_days=int(number("REWORK_WORKING_DAYS", "3", int, 1)),
        reminder_points=points,
        escalation_working_days=tuple(ladder),
        digest_time=digest,
        scheduler_enabled=_bool("SCHEDULER_ENABLED", get("SCHEDULER_ENABLED", "true"), problems),
        scheduler_interval_seconds=number("SCHEDULER_INTERVAL_SECONDS", "30", float, 1),
        worker_process=_bool("WORKER_PROCESS", get("WORKER_PROCESS", "true"), problems),
        log_level=log_level,
        case_visibility=visibility,
    )
    if problems:
        raise SettingsError(problems)
    return settings
