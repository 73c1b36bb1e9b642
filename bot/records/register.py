"""The complaint register (客诉台账): one row per case, as plain values.

Reply times are counted on the company's working calendar from the moment the complaint
was received to the first corrective and the first preventive reply, and flagged against
the procedure's 1 and 3 working days (PROCEDURE.md, Deadlines)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any

from bot.models import Case, CaseFile, Status
from bot.records.words import REGISTER_COLUMNS, Words
from bot.workflow import steps as st
from bot.workflow.calendar import WorkingCalendar

CA_DAYS, PA_DAYS = 1, 3


def headers(words: Words) -> list[str]:
    return [words.text(msgid) for _key, msgid in REGISTER_COLUMNS]


def rows(
    cases: Sequence[Case],
    files: dict[int, list[CaseFile]],
    calendar: WorkingCalendar,
    tz: tzinfo,
    words: Words,
) -> list[list[Any]]:
    """Values typed for a spreadsheet: datetimes are naive local times (Excel has no time
    zones), numbers are numbers, flags are booleans, unknown is None."""
    day = _working_day_seconds(calendar)
    out = []
    for c in cases:
        ca = _first(c, "submit_corrective_action")
        pa = _first(c, "submit_preventive_action")
        ca_days = _days(calendar, c.received_at, ca, day)
        pa_days = _days(calendar, c.received_at, pa, day)
        cause = c.latest_report("corrective")
        values = {
            "ref": c.ref,
            "received": _local(c.received_at, tz),
            "customer": c.customer,
            # issue 12(3e): a service complaint has no product, lot or quantity
            "product": words("service") if c.complaint_kind == "service" else c.product,
            "lots": c.lots,
            "quantity": None if c.complaint_kind == "service" else c.quantity,
            "severity": c.severity or "",
            "responsibility": words.code("responsibility", c.responsibility),
            "units": ", ".join(c.units or []),
            "cause": words.code("category", cause.data.get("category") if cause else None),
            "status": words.code("status", c.status, _STATUS_EN),
            "ca_days": ca_days,
            "ca_on_time": None if ca_days is None else ca_days <= CA_DAYS,
            "pa_days": pa_days,
            "pa_on_time": None if pa_days is None else pa_days <= PA_DAYS,
            "sent": _local(c.sent_at, tz),
            "closure": words.code("closure", c.closure, st.CLOSURE),
            "closed": _local(c.closed_at, tz),
            "rework": c.rework_count,
            "evidence": "; ".join(f.name or f.file_id for f in files.get(c.id, [])),
        }
        out.append([values[key] for key, _msgid in REGISTER_COLUMNS])
    return out


_STATUS_EN = {s.value: label for s, label in st.STATUS_LABEL.items()}


def _first(case: Case, kind: str) -> datetime | None:
    return next((e.at for e in case.events if e.kind == kind), None)


def _days(
    calendar: WorkingCalendar, start: datetime, end: datetime | None, day: float
) -> float | None:
    if end is None:
        return None
    return round(calendar.working_seconds_between(start, end) / day, 2)


def _working_day_seconds(calendar: WorkingCalendar) -> float:
    h = calendar.hours
    return float(
        (h.end.hour * 3600 + h.end.minute * 60) - (h.start.hour * 3600 + h.start.minute * 60)
    )


def _local(value: datetime | None, tz: tzinfo) -> datetime | None:
    return value.astimezone(tz).replace(tzinfo=None) if value else None


def is_open(case: Case) -> bool:
    return Status(case.status).is_open
