"""What a step declaration is made of (bot/workflow/steps.py holds the declarations).

A `Step` is this project's django-fsm `@transition`; `Move` is a step being applied under
the case's lock; `Show` is one line of its thread post; `Effect` names what it causes
besides the card update and the thread post; `validate` checks a step's form answers."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from bot.models import Case, Report, Status
from bot.workflow.errors import InvalidInput
from bot.workflow.fields import Field, clean_fields
from bot.workflow.options import TABLES
from bot.workflow.roles import Actor

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class Fmt(enum.StrEnum):
    """How a thread post shows one recorded value."""

    TEXT = "text"
    OPTION = "option"  # a value (or list of values) of an option table
    USER = "user"
    DATE = "date"
    NUMBER = "number"
    FLAG = "flag"  # a line with the label alone when true
    WHYS = "whys"  # numbered lines
    STOCK = "stock"  # containment: quantity and disposition per place
    MEASURES = "measures"  # preventive: one line per 4M1E direction
    ACTIONS = "actions"  # corrective: the actions after the first, with owners and dates
    NOT_COUNTED = "not_counted"  # a clean lot that does not count towards criterion B


@dataclass(frozen=True)
class Show:
    """One line of a step's thread post: `data[key]` under `label`."""

    key: str
    label: str
    fmt: Fmt = Fmt.TEXT
    table: str = ""


class Effect(enum.StrEnum):
    """What a step causes besides the card update and the thread post (procedure.py)."""

    ALERT_SEVERITY_A = "alert_severity_a"  # management is alerted to a severity-A case
    ASK_APPROVAL = "ask_approval"  # managers get the approval DM while it awaits approval
    UPLOAD_REPORT = "upload_report"  # the approved report goes into the thread
    UPLOAD_ARCHIVE = "upload_archive"  # the closing records go into the thread
    # issue 12(3f): every approval DM is updated to say who decided, its buttons gone
    CLOSE_APPROVAL_DMS = "close_approval_dms"


class Clocks(Protocol):
    """What a step may ask of the desk's calendar (bot/workflow/procedure.Desk)."""

    def rework(self, case: Case, now: datetime) -> None: ...

    def restart(self, case: Case, now: datetime) -> None: ...

    def today(self, now: datetime) -> date: ...


@dataclass
class Move:
    """A step being applied under the case's lock: `data` is the checked input and becomes
    the audit event's data; `apply` functions change the case and add to it."""

    case: Case
    actor: Actor
    now: datetime
    data: dict[str, Any]
    session: Session
    clocks: Clocks  # the desk

    def rework(self) -> None:
        """Back to the responsible unit for new countermeasures, with fresh due dates."""
        self.clocks.rework(self.case, self.now)
        self.data["loop"] = self.case.rework_count

    def add_report(self, kind: str) -> Report:
        report = add_report(self.case, kind, dict(self.data), self.actor, self.now)
        self.data["version"] = report.version
        return report


Check = Callable[[dict[str, Any], dict[str, str], Case, tuple[str, ...]], dict[str, Any]]


@dataclass(frozen=True)
class Step:
    name: str
    sources: frozenset[Status]
    targets: frozenset[Status]  # where it may lead (`apply` says which)
    who: Callable[[Actor, Case], bool]
    who_text: str
    label: str  # the button, ≤ 30 characters in both languages
    event: str  # "<person> <event>" in the thread and the timeline
    apply: Callable[[Move], Status]
    fields: tuple[Field, ...] = ()
    check: Check | None = None  # rules across fields; shapes the recorded data
    title: str = ""  # modal title, ≤ 24
    submit: str = ""  # modal submit, ≤ 24
    intro: str = ""  # a line above the form; may use {report_version}, {clean_lots}…
    explain: str = ""  # an option table listed above the form (severity)
    confirm: tuple[str, str] | None = None  # no form: Slack's confirm dialog (title, text)
    main_in: frozenset[Status] = frozenset()  # the card's one primary button in these states
    danger: bool = False
    effects: tuple[Effect, ...] = ()
    shows: tuple[Show, ...] = ()
    needs_reports: bool = False  # its form names the report version
    # issue 12(3g): the report its form writes; a rework opens it filled with the latest
    report: str = ""

    @property
    def has_form(self) -> bool:
        """Steps with a confirm dialog act on the click; the others open their form."""
        return self.confirm is None


def validate(
    step: Step,
    data: dict[str, Any],
    *,
    case: Case,
    today: date,
    units: tuple[str, ...],
    tables: dict[str, dict[str, str]] | None = None,
) -> dict[str, Any]:
    """The step's form answers, checked: its fields, then its own rules. Raises
    InvalidInput with one translated message per bad field; returns the recorded data."""
    errors: dict[str, str] = {}
    # tables: option tables that come from the settings (the complaint categories)
    known = {**TABLES, **(tables or {}), "units": {u: u for u in units}}
    clean = clean_fields(step.fields, data or {}, today=today, tables=known, errors=errors)
    if step.check is not None:
        clean = step.check(clean, errors, case, units)
    if errors:
        raise InvalidInput(errors)
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in clean.items()}


def add_report(case: Case, kind: str, data: dict[str, Any], actor: Actor, now: datetime) -> Report:
    """A new version of one of the case's reports (also used when a linked complaint takes
    the report of the investigation it joined, bot/workflow/investigation.py)."""
    report = Report(
        case_id=case.id,
        kind=kind,
        version=1 + sum(1 for r in case.reports if r.kind == kind),
        data=data,
        author=actor.user_id,
        created_at=now,
    )
    case.reports.append(report)
    return report
