"""The message catalog: every user-facing string in zh-CN and en (Babel / gettext).

English source strings are the msgids (gettext's convention), so the code reads in
plain English; the Chinese lives in `bot/locale/zh_CN/LC_MESSAGES/messages.po`, read
once per process with Babel's PO reader. Placeholders are `str.format` names:
`_("Due {when}", when=...)`.

Which language a string is rendered in is a context, not an argument threaded through
every renderer: shared channels (cards, thread posts, alerts, digest) render in the
`LANGUAGE` setting, personal surfaces (modals, ephemeral replies, DMs, Home) in the
person's Slack locale when it is one of ours. It is set in a few places only:
- every Slack request: `bot.app.DeskApp` + its `personal_language` middleware (the
  person who clicked or typed; `Directory.request_locale`, cached, never holding an ack);
- every outbox row: `Delivery.deliver` renders in LANGUAGE, and `Delivery.personal(uid)`
  around what one person receives (DMs, the reporter's confirmation, files by DM);
- the inbox worker: the requester's language for refusals (`Services.personal`);
- the command line and the settings' problems: LANGUAGE.
Anything else renders inside `with use_locale(...)`.

Extraction: `pybabel extract -F babel.cfg ...` (see babel.cfg); tests/test_catalog.py
checks every extracted msgid has its Chinese with the same placeholders.

`N_()` only marks a string for extraction (tables and step declarations); it is
translated where it is shown, with `_(value)`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, tzinfo
from functools import cache, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

LOCALES = ("en", "zh-CN")
DEFAULT = "en"
_HERE = Path(__file__).parent / "locale"
_current: ContextVar[str] = ContextVar("locale", default=DEFAULT)
# times are shown in the company's time zone (the TIMEZONE setting): a plant's team works
# to one clock, and a text date reads the same in the channel, a DM and an export
_zone: list[tzinfo] = [ZoneInfo("Asia/Shanghai")]


def configure(timezone: str) -> None:
    """Set the time zone dates are shown in (called once when the bot is built)."""
    _zone[0] = ZoneInfo(timezone)


def normalise(tag: str | None) -> str | None:
    """Slack's `en-US`/`zh-CN`/`zh-TW` etc. to one of ours, or None."""
    if not tag:
        return None
    t = tag.replace("_", "-").lower()
    if t.startswith("zh-cn") or t in ("zh", "zh-hans", "zh-hans-cn"):
        return "zh-CN"
    if t.startswith("en"):
        return "en"
    return None


def current_locale() -> str:
    return _current.get()


@contextmanager
def use_locale(locale: str | None) -> Iterator[str]:
    """Render everything inside in `locale` (one of LOCALES; anything else means en)."""
    loc = locale if locale in LOCALES else DEFAULT
    token = _current.set(loc)
    try:
        yield loc
    finally:
        _current.reset(token)


def set_locale(locale: str | None) -> None:
    """Switch the language for the rest of the current scope (a `use_locale` block around
    it restores the previous one): for code that cannot wrap what follows in a `with`."""
    _current.set(locale if locale in LOCALES else DEFAULT)


@cache
def _catalog(locale: str) -> dict[str, str | tuple[str, ...]]:
    if locale == DEFAULT:
        return {}
    path = _HERE / locale.replace("-", "_") / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return {}
    from babel.messages.pofile import read_po

    with path.open("rb") as fh:
        cat = read_po(fh, locale=locale.replace("-", "_"))
    out: dict[str, str | tuple[str, ...]] = {}
    for msg in cat:
        if not msg.id or not msg.string or msg.fuzzy:
            continue
        key = msg.id[0] if isinstance(msg.id, tuple | list) else msg.id
        out[key] = tuple(msg.string) if isinstance(msg.string, tuple | list) else msg.string
    return out


def _(msgid: str, **kwargs: object) -> str:
    """`msgid` in the current language, with `{placeholders}` filled from kwargs."""
    found = _catalog(_current.get()).get(msgid, msgid)
    text = found if isinstance(found, str) else found[0]
    return text.format(**kwargs) if kwargs else text


def ngettext(singular: str, plural: str, n: int, **kwargs: object) -> str:
    found = _catalog(_current.get()).get(singular)
    # Chinese has one plural form
    text = found[0] if isinstance(found, tuple) else (singular if n == 1 else plural)
    return text.format(n=n, **kwargs)


def N_(msgid: str) -> str:
    """Mark for extraction only; translate where shown with `_(msgid)`."""
    return msgid


def in_locale(locale: str, msgid: str, **kwargs: object) -> str:
    """`msgid` in a given language, whatever the current one (bilingual documents)."""
    with use_locale(locale):
        return _(msgid, **kwargs)


# Dates, times and numbers per language (Babel's CLDR data): "12月6日 周日 17:30" and
# "Sun 6 Dec 17:30".
_PATTERNS = {
    "en": {"datetime": "EEE d MMM HH:mm", "date": "EEE d MMM", "long_date": "d MMM y"},
    "zh-CN": {"datetime": "M月d日 EEE HH:mm", "date": "M月d日 EEE", "long_date": "y年M月d日"},
}


def preload() -> None:
    """Load Babel's date and number code, the CLDR data of our two locales and the
    catalogs now: the supervisor calls this before it forks, so the web and worker
    processes share these pages (some 6 MB) instead of each loading its own copy on its
    first formatted date."""
    from babel import Locale
    from babel.dates import format_date  # noqa: F401
    from babel.numbers import format_decimal  # noqa: F401

    for locale in LOCALES:
        _catalog(locale)
        with use_locale(locale):
            fmt_datetime(datetime(2026, 1, 1))  # touches the patterns, names, time zones
            fmt_date(date(2026, 1, 1), long=True)
            fmt_number(1234.5, digits=1)
            Locale.parse(_babel_locale())


def _babel_locale(language: str | None = None) -> str:
    return "zh_Hans_CN" if (language or _current.get()) == "zh-CN" else "en_GB"


def local(value: datetime) -> datetime:
    """An aware time in the company's time zone (a naive one is taken as UTC)."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(_zone[0])


def fmt_datetime(value: datetime) -> str:
    """`Sun 6 Dec 17:30` / `12月6日 周日 17:30`, in the company's time zone."""
    return _fmt_datetime(value, _current.get(), _zone[0])


@lru_cache(maxsize=2048)
def _fmt_datetime(value: datetime, language: str, zone: tzinfo) -> str:
    """Babel's formatting costs some 40 µs a date, and a card or a Home shows the same
    received and due times at every update: kept by (time, language, zone)."""
    from babel.dates import format_datetime

    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    pattern = _PATTERNS[language]["datetime"]
    locale = _babel_locale(language)
    return format_datetime(aware.astimezone(zone), pattern, tzinfo=zone, locale=locale)


def fmt_date(value: date, *, long: bool = False) -> str:
    from babel.dates import format_date

    key = "long_date" if long else "date"
    return format_date(value, _PATTERNS[_current.get()][key], locale=_babel_locale())


def fmt_period(start: date, end: date) -> str:
    """A period of days, as people say it: `March 2026` / `2026年3月` for a whole month,
    else `29 Dec 2025 – 9 Jan 2026` / `2025年12月29日 – 2026年1月9日` (both days included),
    never the ISO `2026-03-01..2026-03-31` a command is typed with."""
    from calendar import monthrange

    from babel.dates import format_date

    loc = _babel_locale()
    whole_month = (
        start.day == 1
        and (start.year, start.month) == (end.year, end.month)
        and end.day == monthrange(end.year, end.month)[1]
    )
    if whole_month:
        pattern = "y年M月" if _current.get() == "zh-CN" else "MMMM y"
        return format_date(start, pattern, locale=loc)
    if start == end:
        return fmt_date(start, long=True)
    return f"{fmt_date(start, long=True)} – {fmt_date(end, long=True)}"


def fmt_number(value: float | int, *, digits: int = 0) -> str:
    from babel.numbers import format_decimal

    fmt = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, fmt, locale=_babel_locale())
