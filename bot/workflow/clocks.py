"""Every step with an owner has a clock (issue 12, point 2).

The procedure gives two deadlines in words (the corrective reply in 1 working day, the
preventive one in 3); the other steps had none, so a case could wait for approval or for
the customer's answer with nobody reminded and the card saying "Deadlines: done". Here
each state of the procedure names the clock of the step it waits for:

- confirming the information: the same working day (CONFIRM_WORKING_DAYS=0);
- adding information asked for, deciding responsibility, classifying severity, telling
  the customer it is theirs, sending the approved report: N working days each;
- containment: CONTAINMENT_HOURS clock hours from the receipt (24 h, as automotive
  customers expect);
- corrective and preventive replies: the case's own `ca_due_at`/`pa_due_at`;
- approval: 1 working day, i.e. by the end of the next working day;
- the customer's answer: Marketing is nudged after N working days;
- lot checks: Technical Quality is asked when the next lot is due;
- and, beside the state's clock, the corrective action's planned completion date: its
  owner is nudged, Technical Quality is told when it has passed.

Why columns on the case and not rows: the card, the Home tab and `/complaint list` show a
case's clocks without another query, and the reminders are planned from them by the
same hook that plans the reply deadlines' (bot/workflow/reminders_plan.py). The clock of
a state is set once, when the case enters it (a new `step`), inside the step's own
transaction, so it is as durable as the step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bot.config import Settings
from bot.i18n import N_
from bot.models import Case, Status
from bot.workflow.actions import items_of
from bot.workflow.calendar import WorkingCalendar
from bot.workflow.steps import NEXT_OWNER

S = Status

# the clock each state runs; CORRECTIVE and PREVENTIVE run the reply deadlines ca / pa
CLOCK_OF: dict[Status, str] = {
    S.RECEIVED: "confirm",
    S.INFO_REQUESTED: "info",
    S.RESPONSIBILITY: "decide",
    S.CUSTOMER_NOTICE: "notice",
    S.SEVERITY: "severity",
    S.CONTAINMENT: "containment",
    S.APPROVAL: "approval",
    S.APPROVED: "send",
    S.CUSTOMER_REVIEW: "answer",
    S.VERIFICATION: "lot",
}
# states in which the corrective action is being carried out (its report is in)
ACTION_STATES = frozenset({S.PREVENTIVE, S.APPROVAL, S.APPROVED, S.CUSTOMER_REVIEW, S.VERIFICATION})
REPLIES = ("ca", "pa")


@dataclass(frozen=True)
class ClockSpec:
    """How a clock reminds: `points` — the REMINDER_POINTS nudges before it; `alert` — the
    management channel is told when it passes, and the escalation ladder follows; `told`
    — who else is told when it passes (besides its owners)."""

    name: str
    label: str
    points: bool = True
    alert: bool = True
    told: tuple[str, ...] = ()


SPECS: dict[str, ClockSpec] = {
    s.name: s
    for s in (
        ClockSpec("ca", N_("Corrective-action reply")),
        ClockSpec("pa", N_("Preventive-action reply")),
        ClockSpec("confirm", N_("Confirming the information")),
        ClockSpec("info", N_("Adding the information asked for")),
        ClockSpec("decide", N_("Deciding responsibility")),
        ClockSpec("notice", N_("Telling the customer")),
        ClockSpec("severity", N_("Classifying severity")),
        ClockSpec("containment", N_("Containment")),
        ClockSpec("approval", N_("Approval")),
        ClockSpec("send", N_("Sending the report to the customer")),
        # the customer's pace is not ours to escalate: Marketing is nudged to follow up
        ClockSpec("answer", N_("Following up the customer's answer"), points=False, alert=False),
        # a lot check is due when a lot is: Technical Quality is asked, nobody escalated
        ClockSpec("lot", N_("Checking the next lot"), points=False, alert=False),
        ClockSpec(
            "action",
            N_("Corrective action's planned completion"),
            alert=False,
            told=("role:quality",),
        ),
    )
}

_DAYS_SETTING = {
    "confirm": "confirm_working_days",
    "info": "info_working_days",
    "decide": "decide_working_days",
    "severity": "decide_working_days",
    "notice": "notice_working_days",
    "approval": "approval_working_days",
    "send": "send_working_days",
    "answer": "customer_followup_working_days",
    "lot": "lot_check_working_days",
}

# The settings of this process, for renderers that get only a case (the card): set by
# `configure` when the reminder hook is installed; Settings' defaults until then.
_allowances: dict[str, float] = {
    name: float(getattr(Settings, attr)) for name, attr in _DAYS_SETTING.items()
}
_allowances["containment_hours"] = float(Settings.containment_hours)
_allowances["urgent_reply_hours"] = float(Settings.urgent_reply_hours)
_allowances["rework_working_days"] = float(Settings.rework_working_days)


def configure(settings: Settings) -> None:
    """Make the renderers describe this process's allowances ("1 working day: …")."""
    for name, attr in _DAYS_SETTING.items():
        _allowances[name] = float(getattr(settings, attr))
    _allowances["containment_hours"] = float(settings.containment_hours)
    _allowances["urgent_reply_hours"] = float(settings.urgent_reply_hours)
    _allowances["rework_working_days"] = float(settings.rework_working_days)


def end_of_day(calendar: WorkingCalendar, day: date) -> datetime:
    """The end of working hours on `day` (a planned date is "by that day")."""
    return datetime.combine(day, calendar.hours.end, tzinfo=calendar.tz).astimezone(UTC)


def due_for(
    name: str, case: Case, since: datetime, settings: Settings, calendar: WorkingCalendar
) -> datetime | None:
    """When the clock `name`, started at `since`, runs out."""
    if name == "containment":
        start = case.received_at or since
        return (start + timedelta(hours=settings.containment_hours)).astimezone(UTC)
    attr = _DAYS_SETTING.get(name)
    if attr is None:
        return None
    return calendar.add_working_days(since, int(getattr(settings, attr))).astimezone(UTC)


def _planned_actions(case: Case, calendar: WorkingCalendar) -> list[dict[str, Any]]:
    """Each corrective action's owner and due moment (the end of its planned day), from
    the latest corrective report (needs the case attached to a session, or its reports
    loaded)."""
    report = case.latest_report("corrective")
    if report is None:
        return []
    out = []
    for item in items_of(report.data or {}):
        try:
            day = date.fromisoformat(item["planned"]) if item.get("planned") else None
        except (TypeError, ValueError):
            day = None
        if day is None:
            continue
        owner = str(item.get("owner") or "")[:32] or None
        due = end_of_day(calendar, day).isoformat()
        out.append({"n": int(item.get("n") or 1), "owner": owner, "due": due})
    return out


def sync_clock(
    case: Case, now: datetime, settings: Settings, calendar: WorkingCalendar
) -> tuple[bool, Status | None]:
    """Start the clock of the state the case has just entered (inside the step's
    transaction). Returns whether the case moved since the clock was last set, and the
    status it was in before (None for a new case, or one older than the clocks)."""
    if case.clock_step == case.step and case.clock_status == case.status:
        return False, None
    before = Status(case.clock_status) if case.clock_status else None
    status = Status(case.status)
    name = CLOCK_OF.get(status) if status.is_open else None
    case.clock_step, case.clock_status = case.step, case.status
    case.clock_name = name
    case.clock_since = now if name else None
    case.clock_due_at = due_for(name, case, now, settings, calendar) if name else None
    items = _planned_actions(case, calendar) if status in ACTION_STATES else []
    case.action_items = items or None
    first = min(items, key=lambda i: i["due"]) if items else None
    case.action_due_at = datetime.fromisoformat(first["due"]) if first else None
    case.action_owner = first["owner"] if first else None
    return True, before


def targets_for(status: Status, case: Case) -> list[str]:
    """Who owns the next step in `status`, as targets ("role:quality", "unit:x", "user:U")."""
    out: list[str] = []
    for target in NEXT_OWNER.get(status, []):
        if target == "reporter":
            out.append(f"user:{case.reporter_id}")
        elif target == "units":
            out.extend(f"unit:{u}" for u in case.units or [])
        else:
            out.append(target)
    return out


@dataclass(frozen=True)
class RunningClock:
    """A clock someone still owes: what, by when, owed by whom."""

    name: str
    due_at: datetime
    owners: tuple[str, ...]
    since: datetime | None = None

    def overdue(self, now: datetime | None) -> bool:
        return now is not None and self.due_at <= now

    @property
    def label(self) -> str:
        return spec(self.name).label


def running_clocks(case: Case) -> list[RunningClock]:
    """Every clock of the case still running, earliest first. Reads only the case's own
    columns, so it works on a detached case (the card, the Home tab)."""
    status = Status(case.status)
    if not status.is_open:
        return []
    owners = tuple(targets_for(status, case))
    out: list[RunningClock] = []
    if case.ca_due_at is not None and case.ca_done_at is None:
        out.append(RunningClock("ca", case.ca_due_at, owners))
    if case.pa_due_at is not None and case.pa_done_at is None:
        out.append(RunningClock("pa", case.pa_due_at, owners))
    if (
        case.clock_name
        and case.clock_due_at is not None
        and case.clock_status == case.status
        and case.clock_step == case.step
    ):
        out.append(RunningClock(case.clock_name, case.clock_due_at, owners, case.clock_since))
    if status in ACTION_STATES:
        for name, due, owner in action_clocks(case):
            who = (f"user:{owner}",) if owner else ("role:quality",)
            out.append(RunningClock(name, due, who))
    out.sort(key=lambda c: c.due_at)
    return out


def action_clocks(case: Case) -> list[tuple[str, datetime, str | None]]:
    """(name, due, owner) of each corrective action: "action" for the first, "action2",
    "action3" for the others (a case older than `action_items` has one)."""
    if case.action_items:
        out = []
        for item in case.action_items:
            n = int(item.get("n") or 1)
            due = datetime.fromisoformat(item["due"]).astimezone(UTC)
            out.append(("action" if n == 1 else f"action{n}", due, item.get("owner")))
        return out
    if case.action_due_at is not None:
        return [("action", case.action_due_at, case.action_owner)]
    return []


def action_owners(case: Case) -> set[str]:
    """Who owns one of the case's corrective actions now."""
    if not case.is_open or Status(case.status) not in ACTION_STATES:
        return set()
    return {owner for _, _, owner in action_clocks(case) if owner}


def spec(name: str) -> ClockSpec:
    """The spec of a clock ("action2" is a corrective action's, like "action")."""
    return SPECS.get(name) or SPECS["action" if name.startswith("action") else name]


def clock_due(case: Case, name: str) -> datetime | None:
    """The due moment of clock `name` if it is still running, else None (a tick re-checks
    a reminder against this at claim time)."""
    for clock in running_clocks(case):
        if clock.name == name:
            return clock.due_at
    return None


def clock_owners(case: Case, name: str) -> list[str]:
    for clock in running_clocks(case):
        if clock.name == name:
            return list(clock.owners)
    return []


def is_overdue(case: Case, now: datetime) -> bool:
    return any(c.overdue(now) for c in running_clocks(case))


def allowance(case: Case, name: str) -> dict[str, Any]:
    """What the clock's time means, for the card's "1 working day: by the end of the next
    working day": {"days": n} | {"hours": h} | {"customer": True} | {} (a planned date)."""
    if name in REPLIES:
        due = case.ca_due_at if name == "ca" else case.pa_due_at
        cd = case.customer_deadline
        # the reply falls on the customer's own date (UTC dates: a day either side)
        if cd is not None and due is not None and due.date() <= cd <= (due + timedelta(1)).date():
            return {"customer": True}
        if case.rework_count:
            extra = 2 if name == "pa" else 0
            return {"days": int(_allowances["rework_working_days"]) + extra, "rework": True}
        if case.urgent and name == "ca":
            return {"hours": _allowances["urgent_reply_hours"], "working": True}
        return {"days": 1 if name == "ca" else 3}
    if name == "containment":
        return {"hours": _allowances["containment_hours"], "from_receipt": True}
    if name in _DAYS_SETTING:
        return {"days": int(_allowances[name])}
    return {}


def clock_views(case: Case, now: datetime | None) -> list[dict[str, Any]]:
    """The running clocks as plain data for `blocks/` (the card, the Home tab)."""
    return [
        {
            "name": c.name,
            "label": c.label,
            "due_at": c.due_at,
            "overdue": c.overdue(now),
            "owners": list(c.owners),
            "allowance": allowance(case, c.name),
            # a corrective action's clock names its owner (each action has its own)
            "owner": c.owners[0][5:]
            if c.name.startswith("action") and c.owners[0].startswith("user:")
            else None,
        }
        for c in running_clocks(case)
    ]
