"""A form field, declared once: what the modal shows and how the answer is checked.

The intake form (bot/workflow/intake.py) and every step form (bot/workflow/steps.py) list
their fields as `Field`s. The modal renderer (blocks/modals.py, blocks/intake.py) draws
them, `clean_fields` checks them, and the thread post shows them: a new field is one line
in one declaration (plus its Chinese in the .po), not an edit in each of those places.

Labels are English msgids marked with `N_`; renderers translate them with `_()`. Error
texts are translated where they are raised, in the language of whoever submitted the form.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.i18n import N_, _
from bot.workflow.errors import InvalidInput
from bot.workflow.text import clean_data, clean_text

MAX_COUNT = 1_000_000_000


class Kind(enum.StrEnum):
    """What the person types or picks; each renders as one Block Kit element."""

    TEXT = "text"  # one line
    LONG = "long"  # several lines
    COUNT = "count"  # a whole number, typed
    CHOICE = "choice"  # a drop-down, one option of `options`
    RADIO = "radio"  # radio buttons, one option of `options`
    MULTI = "multi"  # a drop-down, several options of `options`
    UNITS = "units"  # several of the configured responsible units
    DATE = "date"  # a date picker
    USER = "user"  # a Slack user picker
    FLAG = "flag"  # one checkbox; `options` holds its one value and label
    FILES = "files"  # a file upload
    # a name typed or picked from those on record (customers, products): suggestions load
    # as you type (bot/handlers/quality.py), a new name can still be entered (issue 14)
    NAME = "name"


class DateRule(enum.StrEnum):
    ANY = "any"
    NOT_PAST = "not_past"
    NOT_FUTURE = "not_future"


@dataclass(frozen=True)
class Field:
    """One input of a form. `key` is the modal's block id and the key in the checked data,
    so an error maps straight back onto the form."""

    key: str
    label: str  # N_() msgid
    kind: Kind = Kind.TEXT
    required: bool = True
    limit: int = 3000  # characters (TEXT, LONG, USER) or files (FILES)
    options: str = ""  # the name of an option table (steps.TABLES) for CHOICE/RADIO/MULTI
    hint: str = ""  # N_() msgid shown under the input
    placeholder: str = ""  # N_() msgid
    missing: str = ""  # N_() msgid said when a required field is empty (else a generic one)
    dates: DateRule = DateRule.ANY
    positive: bool = False  # COUNT: zero is refused


def clean_fields(
    fields: tuple[Field, ...] | list[Field],
    data: dict[str, Any],
    *,
    today: date,
    tables: dict[str, dict[str, str]],
    errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Every field's answer, checked and cleaned. Problems go into `errors` (one per field,
    translated); the caller raises once it has added its own cross-field checks."""
    e = errors if errors is not None else {}
    out: dict[str, Any] = {}
    for f in fields:
        out[f.key] = _clean(f, data.get(f.key), e, today, tables)
    if errors is None and e:
        raise InvalidInput(e)
    return out


def _need(f: Field, e: dict[str, str], generic: str) -> None:
    e[f.key] = _(f.missing) if f.missing else _(generic)


def _clean(
    f: Field, value: Any, e: dict[str, str], today: date, tables: dict[str, dict[str, str]]
) -> Any:
    if f.kind in (Kind.TEXT, Kind.LONG, Kind.USER, Kind.NAME):
        v = clean_text(value).strip()
        if f.required and not v:
            _need(f, e, N_("Please fill this in."))
        elif len(v) > f.limit:
            e[f.key] = _(
                "Please keep this under {limit} characters (now {n}).", limit=f.limit, n=len(v)
            )
        return v
    if f.kind is Kind.COUNT:
        raw = clean_text(value).strip().replace(",", "")
        if raw == "":
            if f.required:
                _need(f, e, N_("Please give a whole number."))
            return 0
        # ASCII digits only: "²" is a digit to str.isdigit() and an error to int()
        if not (raw.isascii() and raw.isdigit()) or (f.positive and int(raw) == 0):
            e[f.key] = (
                _("Please give a whole number above zero.")
                if f.positive
                else _("Please give a whole number.")
            )
            return 0
        if int(raw) > MAX_COUNT:
            e[f.key] = _("That number is too large to be right.")
            return 0
        return int(raw)
    if f.kind in (Kind.CHOICE, Kind.RADIO):
        v = clean_text(value).strip() if value is not None else ""
        if v == "" and not f.required:
            return ""
        if v not in tables[f.options]:
            _need(f, e, N_("Please choose one."))
            return ""
        return v
    if f.kind in (Kind.MULTI, Kind.UNITS):
        chosen = [clean_text(v) for v in value or [] if v]
        if f.kind is Kind.MULTI:
            chosen = [v for v in chosen if v in tables[f.options]]
        if f.required and not chosen:
            _need(f, e, N_("Please choose at least one."))
        return chosen
    if f.kind is Kind.DATE:
        if not value:
            if f.required:
                _need(f, e, N_("Please give a date."))
            return None
        try:
            d = date.fromisoformat(clean_text(value))
        except ValueError:
            e[f.key] = _("That is not a date.")
            return None
        if f.dates is DateRule.NOT_PAST and d < today:
            e[f.key] = _("The date cannot be in the past.")
        elif f.dates is DateRule.NOT_FUTURE and d > today:
            e[f.key] = _("The date cannot be in the future.")
        return d
    if f.kind is Kind.FLAG:
        return bool(value) and value not in ("false", "no")
    if f.kind is Kind.FILES:
        files = list(value or [])
        if len(files) > f.limit:
            e[f.key] = _("Attach at most {n} files.", n=f.limit)
        return clean_data(files)
    raise ValueError(f"unknown field kind {f.kind!r}")
