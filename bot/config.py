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
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.i18n import N_, _, use_locale

DEFAULT_DATABASE_URL = "sqlite:///complaints.sqlite3"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DEFAULT_UNITS = ("production", "development", "purchasing", "warehouse")

_USER_RE = re.compile(r"^[UW][A-Z0-9]{2,}$")
_GROUP_RE = re.compile(r"^S[A-Z0-9]{2,}$")
_CHANNEL_RE = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_UNIT_FORBIDDEN = "=;,"  # they separate names and members in RESPONSIBLE_UNITS
UNIT_NAME_MAX = 40  # the name is a select option's value and text (Block Kit: 75 chars)

# exit code of a start that cannot succeed until someone edits the settings (sysexits'
# EX_CONFIG): the supervisor does not restart a child that exits with it
EXIT_CONFIG = 78

# README § Slack set-up: where each Slack value comes from
SLACK_SETUP = N_("README § Slack set-up")
WHERE = {
    "SLACK_BOT_TOKEN": N_("the Bot User OAuth Token, xoxb-… (Slack app > OAuth & Permissions)"),
    "SLACK_SIGNING_SECRET": N_("the Signing Secret (Slack app > Basic Information)"),
    "SLACK_APP_TOKEN": N_(
        "an app-level token, xapp-… (Slack app > Basic Information > App-Level Tokens), "
        "or leave it empty for HTTP mode"
    ),
    "channel": N_("the channel's id, C… (channel details > About > Channel ID)"),
    "user": N_("member ids, U… (profile > ⋮ > Copy member ID), or user-group ids, S…"),
}


def where(key: str) -> str:
    """Where a Slack value comes from, in the current language."""
    return _(WHERE[key])


# the placeholders .env.example ships with (a test keeps this list in step with the file):
# a first start with them must say what to fill in, not crash-loop against Slack
EXAMPLE_IDS = frozenset(
    {
        "C0123ABCD",
        "C0456EFGH",
        "C0789IJKL",
        "C0ABCMNOP",
        "U0123AAAA",
        "U0123BBBB",
        "U0123CCCC",
        "S0123DDDD",
        "U0123EEEE",
        "U0123FFFF",
        "S0123GGGG",
        "U0123HHHH",
    }
)
SLACK_SETTINGS = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "COMPLAINTS_CHANNEL",
)
LANGUAGES = ("en", "zh-CN")
# issue 14: complaint categories, `code=English|中文` separated by `;` (COMPLAINT_CATEGORIES)
DEFAULT_CATEGORIES = (
    "appearance=Appearance|外观;dimension=Dimension|尺寸;function=Function|功能;"
    "material=Material|材料;packaging=Packaging|包装;labelling=Labelling|标识;"
    "documents=Documents|文件;delivery=Delivery|交付;service=Service|服务"
)
_CATEGORY_CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


class SettingsError(ValueError):
    """Raised with every problem found, one per line. `no_slack`: not one Slack setting
    holds a real value yet (a first start, straight from .env.example)."""

    def __init__(self, problems: list[str], *, no_slack: bool = False) -> None:
        self.problems = problems
        self.no_slack = no_slack
        head = _("Invalid settings:")
        super().__init__(head + "\n" + "\n".join(f"  - {p}" for p in problems))


def is_example(value: str) -> bool:
    """True for a placeholder of .env.example (`xoxb-your-bot-token`, `C0123ABCD`)."""
    return "your-" in value.lower() or value in EXAMPLE_IDS


def _example(name: str, key: str) -> str:
    return _(
        "{name} still holds the example value from .env.example: put in {where} ({setup})",
        name=name,
        where=where(key),
        setup=_(SLACK_SETUP),
    )


def clock_time(text: str) -> tuple[int, int] | None:
    """(hour, minute) of a real time of day written HH:MM, else None."""
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if m is None:
        return None
    hour, minute = int(m[1]), int(m[2])
    return (hour, minute) if hour <= 23 and minute <= 59 else None


def working_hours_problem(text: str) -> str | None:
    """What is wrong with WORKING_HOURS (the calendar's own parser then accepts it)."""
    start, sep, end = text.partition("-")
    a, b = clock_time(start.strip()), clock_time(end.strip())
    if not sep or a is None or b is None:
        return _(
            "WORKING_HOURS: {value} is not a span of real times like 08:30-17:30", value=repr(text)
        )
    if b <= a:
        return _(
            "WORKING_HOURS: {value} must end after it starts, on the same day", value=repr(text)
        )
    return None


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
    # records that leave Slack (bot/records/): language of the PDF reports and register
    language: str = "en"
    report_bilingual: bool = False
    report_font: str = ""  # a CJK TrueType font file; empty: search the usual places
    records_timeout_seconds: float = 120.0  # longest wait for the helper making a file
    records_idle_seconds: float = 10.0  # the helper exits after this long without a file
    case_visibility: str = "roles"
    # posts Slack takes at once in a channel that was quiet, before 1 per second (pacing.py)
    slack_channel_burst: int = 10
    # a case's change republishes the Home tab of those who opened it within this many
    # hours (issue 10, 7(d)); anyone else's is built when they open it
    home_live_hours: float = 8.0
    # --- step clocks (issue 12): the time each owner has for their step ---
    confirm_working_days: int = 0  # 0 = by the end of the same working day
    info_working_days: int = 1
    decide_working_days: int = 1  # deciding responsibility, classifying severity
    notice_working_days: int = 1  # telling the customer it is their responsibility
    containment_hours: float = 24.0  # clock hours from receipt, as automotive customers expect
    approval_working_days: int = 1
    send_working_days: int = 1
    customer_followup_working_days: int = 5
    lot_check_working_days: int = 5
    step_clock_reminders: bool = True  # false: only the two reply deadlines remind
    # --- end of step clocks ---
    # issue 14: (code, English name, Chinese name) per complaint category; the monthly KPI
    # report to the management channel on the first working day of a month
    categories: tuple[tuple[str, str, str], ...] = field(
        default_factory=lambda: parse_categories(DEFAULT_CATEGORIES, [])
    )
    monthly_report: bool = True

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    def describe(self, port: int | None = None) -> str:
        """Mode, port, database (password masked) and channels: a process's start line."""
        # both modes listen on PORT: Slack's requests (HTTP mode), /healthz (both)
        mode = "Socket Mode" if self.socket_mode else "HTTP mode"
        mode += f", port {port or self.port}"
        db = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", self.database_url)
        channels = f"complaints {self.complaints_channel}"
        if self.management_channel != self.complaints_channel:
            channels += f", management {self.management_channel}"
        if self.alert_channels:
            channels += ", alerts " + " ".join(self.alert_channels)
        return f"{mode}, database {db}, channels: {channels}"

    @property
    def roles_configured(self) -> bool:
        return not (self.marketing.empty and self.quality.empty and self.management.empty)


def _clock_settings(number: Any) -> dict[str, Any]:
    """The step clocks' settings (issue 12): working days each owner has for their step,
    and the containment's clock hours."""
    days = {
        "confirm_working_days": ("CONFIRM_WORKING_DAYS", "0"),
        "info_working_days": ("INFO_WORKING_DAYS", "1"),
        "decide_working_days": ("DECIDE_WORKING_DAYS", "1"),
        "notice_working_days": ("NOTICE_WORKING_DAYS", "1"),
        "approval_working_days": ("APPROVAL_WORKING_DAYS", "1"),
        "send_working_days": ("SEND_WORKING_DAYS", "1"),
        "customer_followup_working_days": ("CUSTOMER_FOLLOWUP_WORKING_DAYS", "5"),
        "lot_check_working_days": ("LOT_CHECK_WORKING_DAYS", "5"),
    }
    out: dict[str, Any] = {k: int(number(env, d, int, 0)) for k, (env, d) in days.items()}
    out["containment_hours"] = number("CONTAINMENT_HOURS", "24", float, 1)
    return out


def _split(value: str) -> list[str]:
    return [p for p in re.split(r"[\s,]+", value.strip()) if p]


def _members(name: str, value: str, problems: list[str]) -> RoleMembers:
    users, groups = set(), set()
    for item in _split(value):
        if item in EXAMPLE_IDS:
            problems.append(_example(name, "user"))
        elif _USER_RE.match(item):
            users.add(item)
        elif _GROUP_RE.match(item):
            groups.add(item)
        else:
            problems.append(
                _(
                    "{name}: {value} is neither a user id (U…/W…) nor a user-group id (S…); "
                    "put in {where}",
                    name=name,
                    value=repr(item),
                    where=where("user"),
                )
            )
    return RoleMembers(frozenset(users), frozenset(groups))


def _channel(name: str, value: str, problems: list[str]) -> None:
    if is_example(value):
        problems.append(_example(name, "channel"))
    elif not _CHANNEL_RE.match(value):
        problems.append(
            _(
                "{name}: {value} is not a channel id (a name like #complaints will not do): "
                "put in {where}",
                name=name,
                value=repr(value),
                where=where("channel"),
            )
        )


def _dates(name: str, value: str, problems: list[str]) -> tuple[date, ...]:
    out = []
    for item in _split(value):
        try:
            out.append(date.fromisoformat(item))
        except ValueError:
            problems.append(
                _("{name}: {value} is not a date like 2026-10-09", name=name, value=repr(item))
            )
    return tuple(sorted(out))


def _units(value: str, problems: list[str]) -> dict[str, RoleMembers]:
    """`production=U01,S02;生产部=U03` — the names are what TQ picks from: any text
    but the separators, in the company's own language."""
    if not value.strip():
        return {u: RoleMembers() for u in DEFAULT_UNITS}
    units: dict[str, RoleMembers] = {}
    for part in value.split(";"):
        if not part.strip():
            continue
        raw, _sep, ids = part.partition("=")
        name = " ".join(raw.split()).lower()
        if not name or any(c in name for c in _UNIT_FORBIDDEN):
            problems.append(
                _(
                    "RESPONSIBLE_UNITS: {value} does not start with a unit name "
                    "(like production=U0123FFFF or 生产部=U0123FFFF)",
                    value=repr(part.strip()),
                )
            )
            continue
        if len(name) > UNIT_NAME_MAX:
            problems.append(
                _(
                    "RESPONSIBLE_UNITS: {value} is longer than {n} characters",
                    value=repr(name),
                    n=UNIT_NAME_MAX,
                )
            )
            continue
        if name in units:
            problems.append(_("RESPONSIBLE_UNITS: {value} is named twice", value=repr(name)))
            continue
        units[name] = _members(f"RESPONSIBLE_UNITS[{name}]", ids, problems)
    return units


def parse_categories(value: str, problems: list[str]) -> tuple[tuple[str, str, str], ...]:
    """`code=English|中文;…`: the code is what is stored, the names are what people see."""
    out: list[tuple[str, str, str]] = []
    for entry in (e.strip() for e in value.split(";")):
        if not entry:
            continue
        code, sep, names = entry.partition("=")
        code = code.strip()
        en, _bar, zh = names.partition("|")
        en, zh = en.strip(), zh.strip() or en.strip()
        if not sep or not _CATEGORY_CODE.match(code) or not en:
            problems.append(
                _(
                    "COMPLAINT_CATEGORIES: {value} is not code=English name|中文名 "
                    "(code: lower-case letters, digits, _)",
                    value=repr(entry[:60]),
                )
            )
        elif len(en) > 60 or len(zh) > 60:
            problems.append(
                _(
                    "COMPLAINT_CATEGORIES: the names of {value} exceed 60 characters",
                    value=repr(code),
                )
            )
        elif any(c == code for c, _e, _z in out):
            problems.append(_("COMPLAINT_CATEGORIES: {value} is given twice", value=repr(code)))
        else:
            out.append((code, en, zh))
    if not out and not problems:
        problems.append(_("COMPLAINT_CATEGORIES: give at least one category"))
    return tuple(out)


def _bool(name: str, value: str, problems: list[str]) -> bool:
    v = value.strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off"):
        return False
    problems.append(_("{name}: {value} is not true/false", name=name, value=repr(value)))
    return True


def _environ(env: Mapping[str, str] | None, dotenv: bool) -> Mapping[str, str]:
    if env is None:
        if dotenv:
            from dotenv import find_dotenv, load_dotenv

            # the .env of the directory the bot is started in, not of the installed package
            load_dotenv(find_dotenv(usecwd=True), override=False)
        env = os.environ
    return env


def load_database_url(env: Mapping[str, str] | None = None, *, dotenv: bool = True) -> str:
    """DATABASE_URL alone: the commands that only read (or migrate) the database need no
    Slack settings."""
    return (_environ(env, dotenv).get("DATABASE_URL") or "").strip() or DEFAULT_DATABASE_URL


def load_language(env: Mapping[str, str] | None = None, *, dotenv: bool = True) -> str:
    """LANGUAGE alone (the command line speaks it before the other settings are read)."""
    return (_environ(env, dotenv).get("LANGUAGE") or "").strip() or LANGUAGES[0]


def load_settings(env: Mapping[str, str] | None = None, *, dotenv: bool = True) -> Settings:
    """Read settings from `env` (default: the process environment, after `.env`). The
    problems are said in the LANGUAGE the settings ask for."""
    env = _environ(env, dotenv)
    with use_locale((env.get("LANGUAGE") or "").strip()):
        return _load(env)


def _load(env: Mapping[str, str]) -> Settings:
    problems: list[str] = []

    def get(name: str, default: str = "") -> str:
        return (env.get(name) or default).strip()

    bot_token = get("SLACK_BOT_TOKEN")
    if not bot_token:
        problems.append(
            _("SLACK_BOT_TOKEN is missing: put in {where}", where=where("SLACK_BOT_TOKEN"))
        )
    elif is_example(bot_token):
        problems.append(_example("SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN"))
    elif not bot_token.startswith("xoxb-"):
        problems.append(_("SLACK_BOT_TOKEN must be a bot token starting with xoxb-"))
    app_token = get("SLACK_APP_TOKEN") or None
    if app_token and is_example(app_token):
        problems.append(_example("SLACK_APP_TOKEN", "SLACK_APP_TOKEN"))
    elif app_token and not app_token.startswith("xapp-"):
        problems.append(_("SLACK_APP_TOKEN must be an app-level token starting with xapp-"))
    secret = get("SLACK_SIGNING_SECRET")
    if secret and is_example(secret):
        problems.append(_example("SLACK_SIGNING_SECRET", "SLACK_SIGNING_SECRET"))
    elif not secret and not app_token:
        problems.append(
            _(
                "SLACK_SIGNING_SECRET is missing: put in {where}; HTTP mode needs it to "
                "verify requests",
                where=where("SLACK_SIGNING_SECRET"),
            )
        )
    api_url = get("SLACK_API_URL") or None
    if api_url:
        if not re.match(r"^https?://", api_url):
            problems.append(_("SLACK_API_URL must be an http(s) URL like https://slack.com/api/"))
        elif not api_url.endswith("/"):
            api_url += "/"

    complaints = get("COMPLAINTS_CHANNEL")
    if not complaints:
        problems.append(
            _(
                "COMPLAINTS_CHANNEL is missing: put in {where}, where cases are posted",
                where=where("channel"),
            )
        )
    else:
        _channel("COMPLAINTS_CHANNEL", complaints, problems)
    management = get("MANAGEMENT_CHANNEL") or complaints
    if get("MANAGEMENT_CHANNEL"):
        _channel("MANAGEMENT_CHANNEL", management, problems)
    alert_channels = tuple(_split(get("ALERT_CHANNELS")))
    for ch in alert_channels:
        _channel("ALERT_CHANNELS", ch, problems)

    port_s = get("PORT", "3000")
    port = 3000
    if not port_s.isdigit() or not 0 < int(port_s) < 65536:
        problems.append(_("PORT: {value} is not a TCP port number", value=repr(port_s)))
    else:
        port = int(port_s)

    tz = get("TIMEZONE", "Asia/Shanghai")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(
            _("TIMEZONE: {value} is not an IANA time zone like Asia/Shanghai", value=repr(tz))
        )

    hours = get("WORKING_HOURS", "08:30-17:30")
    if hours_problem := working_hours_problem(hours):
        problems.append(hours_problem)

    def number(name: str, default: str, kind: type = float, minimum: float = 0) -> float:
        raw = get(name, default)
        try:
            val = kind(raw)
        except ValueError:
            problems.append(_("{name}: {value} is not a number", name=name, value=repr(raw)))
            return kind(default)
        if val < minimum:
            problems.append(_("{name}: must be at least {minimum}", name=name, minimum=minimum))
        return val

    points = tuple(_split(get("REMINDER_POINTS", "half,2h")))
    for p in points:
        if p != "half" and not re.match(r"^\d+(\.\d+)?h$", p):
            problems.append(
                _(
                    "REMINDER_POINTS: {value} is neither 'half' nor a number of hours like 2h",
                    value=repr(p),
                )
            )
    ladder_raw = _split(get("ESCALATION_WORKING_DAYS", "1,2"))
    ladder = []
    for p in ladder_raw:
        if p.isdigit() and int(p) > 0:
            ladder.append(int(p))
        else:
            problems.append(
                _("ESCALATION_WORKING_DAYS: {value} is not a positive whole number", value=repr(p))
            )
    digest = get("DIGEST_TIME", "08:45")
    if clock_time(digest) is None:
        problems.append(
            _("DIGEST_TIME: {value} is not a time of day like 08:45", value=repr(digest))
        )

    language = get("LANGUAGE", "en")
    if language not in LANGUAGES:
        problems.append(
            _(
                "LANGUAGE: {value} is not one of {choices}",
                value=repr(language),
                choices=", ".join(LANGUAGES),
            )
        )
    report_font = get("REPORT_FONT")
    if report_font and not os.path.isfile(report_font):
        problems.append(
            _("REPORT_FONT: {value} is not a file (a CJK .ttf font)", value=repr(report_font))
        )

    log_level = get("LOG_LEVEL", "INFO").upper()
    if log_level not in LOG_LEVELS:
        problems.append(
            _(
                "LOG_LEVEL: {value} is not one of {choices}",
                value=repr(log_level),
                choices=", ".join(LOG_LEVELS),
            )
        )

    visibility = get("CASE_VISIBILITY", "roles").lower()
    if visibility not in ("roles", "workspace"):
        problems.append(
            _("CASE_VISIBILITY: {value} is neither roles nor workspace", value=repr(visibility))
        )

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
        language=language,
        report_bilingual=_bool("REPORT_BILINGUAL", get("REPORT_BILINGUAL", "false"), problems),
        report_font=report_font,
        records_timeout_seconds=number("RECORDS_TIMEOUT_SECONDS", "120", float, 1),
        records_idle_seconds=number("RECORDS_IDLE_SECONDS", "10", float, 1),
        case_visibility=visibility,
        slack_channel_burst=int(number("SLACK_CHANNEL_BURST", "10", int, 1)),
        home_live_hours=number("HOME_LIVE_HOURS", "8", float, 0),
        **_clock_settings(number),
        step_clock_reminders=_bool(
            "STEP_CLOCK_REMINDERS", get("STEP_CLOCK_REMINDERS", "true"), problems
        ),
        categories=parse_categories(get("COMPLAINT_CATEGORIES", DEFAULT_CATEGORIES), problems),
        monthly_report=_bool("MONTHLY_REPORT", get("MONTHLY_REPORT", "true"), problems),
    )
    if problems:
        unset = [n for n in SLACK_SETTINGS if not get(n) or is_example(get(n))]
        raise SettingsError(problems, no_slack=len(unset) == len(SLACK_SETTINGS))
    return settings
