"""Linked complaints share one investigation (issue 14): the corrective and preventive
report of the case a complaint joined serves it too; each complaint keeps its own
approval, customer reply, acceptance and closure.

A desk hook, run in every change's own transaction (`DeskBase._after_change`): when a
linked complaint stands at the corrective or preventive step and the case it joined has
a report version it has not taken yet, the complaint takes that version (marked with
where it came from) and moves on as if its unit had submitted it; when the joined case
gets a new version, its linked complaints waiting at those steps take it at once. A
complaint sent back (rejection, reopening) is not given the same version again: new
countermeasures come as a new version of the joined case's report, or from its own unit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from bot.models import Case, Report, Status
from bot.workflow import effects
from bot.workflow.roles import SYSTEM
from bot.workflow.transition import add_report

S = Status
TAKES = {S.CORRECTIVE: ("corrective", S.PREVENTIVE), S.PREVENTIVE: ("preventive", S.APPROVAL)}


def _latest(s: Session, case_id: int, kind: str) -> Report | None:
    return s.scalar(
        select(Report)
        .where(Report.case_id == case_id, Report.kind == kind)
        .order_by(Report.version.desc())
        .limit(1)
    )


def take_shared_reports(desk: Any, s: Session, case: Case, now: datetime) -> bool:
    """Give `case` (linked) the joined case's reports it is waiting for; True if it moved."""
    primary = s.get(Case, case.linked_to_id) if case.linked_to_id else None
    if primary is None or not case.is_open:
        return False
    moved_from = case.status
    while Status(case.status) in TAKES:
        kind, nxt = TAKES[Status(case.status)]
        shared = _latest(s, primary.id, kind)
        if shared is None:
            break
        mine = (case.latest_report(kind) or Report(data={})).data or {}
        if (mine.get("shared_from"), mine.get("shared_version")) == (primary.ref, shared.version):
            break  # taken already (and sent back since): not the same version again
        data = {**shared.data, "shared_from": primary.ref, "shared_version": shared.version}
        add_report(case, kind, data, SYSTEM, now)
        if kind == "corrective" and case.ca_done_at is None:
            case.ca_done_at = now
        if kind == "preventive" and case.pa_done_at is None:
            case.pa_done_at = now
        case.status = nxt.value
    if case.status == moved_from:
        return False
    case.step += 1
    ev = desk._event(
        s,
        case,
        SYSTEM,
        "investigation_shared",
        {"from": primary.ref, "to": case.status},
        now,
        step=case.step,
    )
    effects.card_update(s, case, now)
    effects.thread_post(s, case, now, event_id=ev.id)
    if Status(case.status) is S.APPROVAL:
        effects.direct_message(
            s, case, now, to=["role:management"], message="approval", event_id=ev.id
        )
    return True


# the open complaints that joined a case (built once: asked at every step of every case)
_LINKED_OPEN = (
    select(Case)
    .where(Case.linked_to_id == bindparam("case_id"), Case.is_open)
    .order_by(Case.id)
    .with_for_update()
)


def share_investigation(desk: Any, s: Session, case: Case, now: datetime) -> None:
    """The hook: pull for a linked complaint, push for the case others joined."""
    others: list[Case] = []
    if case.linked_to_id is not None:
        take_shared_reports(desk, s, case, now)
    elif case.step > 1:  # a case not moved since its filing has no report to share
        others = list(s.scalars(_LINKED_OPEN, {"case_id": case.id}))
    for other in others:
        if take_shared_reports(desk, s, other, now):
            for hook in desk.scheduler_hooks:  # its reminders follow its new step
                if hook != desk._share_investigation:
                    hook(s, other, now)
