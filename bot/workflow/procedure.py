"""`Desk`: the procedure's steps, each one transaction with its audit event.

`Desk.take(name, …)` runs any step declared in bot/workflow/steps.py — confirm_information,
decide_responsibility, classify_severity, submit_corrective_action, approve_report,
record_lot_check, close_case and the rest — in one shape."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from bot.i18n import _
from bot.models import Case, CaseEvent, Status
from bot.workflow import effects
from bot.workflow import steps as st
from bot.workflow.desk import DeskBase
from bot.workflow.errors import NotAllowed, WrongState
from bot.workflow.evidence import record_files
from bot.workflow.kpi import KpiDesk
from bot.workflow.records import RecordsDesk
from bot.workflow.recurrence import RecurrenceDesk
from bot.workflow.roles import SYSTEM, Actor
from bot.workflow.text import clean_text
from bot.workflow.view import owners

log = logging.getLogger(__name__)
S = Status


_CASES = Case.__table__
# built once (every card posted records its ts)
_CARD_IN = (
    _CASES.update()
    .where(_CASES.c.id == bindparam("case_id"))
    .values(channel_id=bindparam("channel"), card_ts=bindparam("ts"))
)


class Desk(RecurrenceDesk, KpiDesk, RecordsDesk, DeskBase):
    """The complaint desk. Handlers, the scheduler, the CLI and tests all drive it."""

    def take(
        self,
        name: str,
        case_id: int,
        actor: Actor,
        now: datetime,
        data: dict[str, Any] | None = None,
        *,
        expected_step: int | None = None,
        request_key: str | None = None,
    ) -> Case:
        """Take the step declared as `name` (bot/workflow/steps.py) on a case, in one
        transaction: lock the case, check who/where/staleness, check the answers, apply,
        record the audit event, queue the card update, the thread post and the step's
        effects. Every step has this one shape; what differs is in its declaration."""
        step = self.declaration(name)
        with self.transaction() as s:
            case = self._lock(s, case_id)
            self.check_may_take(step, case, actor, expected_step)
            clean = self.validate(step, data, case, now)
            if request_key and not self.claim_request(s, request_key, now):
                raise WrongState(_("This was already submitted. Nothing was changed."))
            before = Status(case.status).value
            move = st.Move(case, actor, now, clean, s, self)
            new_status = step.apply(move)
            if new_status not in step.targets:  # the declaration is the contract
                raise RuntimeError(f"{name} led to {new_status}, not one of its targets")
            case.status = new_status
            case.is_open = new_status.is_open
            case.step += 1
            event = {**move.data, "from": before, "to": new_status.value}
            ev = self._event(s, case, actor, name, event, now, step=case.step)
            effects.card_update(s, case, now)
            if not UPLOADS & set(step.effects):
                # a step that uploads a document posts in the thread with it (_upload)
                effects.thread_post(s, case, now, event_id=ev.id, mention=owners(case))
            for effect in step.effects:
                EFFECTS[effect](self, s, case, ev, now)
            self._after_change(s, case, now)
            s.flush()
            return self._reload(s, case.id)

    # --- the one check of who may take a step, where, and whether the click is stale ------
    @staticmethod
    def declaration(name: str) -> st.Step:
        """The step declared as `name`; a refusal a person can read for anything else."""
        found = st.STEPS.get(name)
        if found is None:
            raise WrongState(_("That button is not recognised. Nothing was changed."))
        return found

    def check_may_take(
        self, step: st.Step, case: Case, actor: Actor, seen_step: int | None = None
    ) -> None:
        """Raise the refusal a person reads: the one wording for a click (before a form
        opens, bot/handlers/actions.py) and for the step itself (`take`, under the lock)."""
        if seen_step is not None and case.step != seen_step:
            raise WrongState(
                _(
                    "{ref} has moved on since this was shown (now: {status}). Nothing was changed.",
                    ref=case.ref,
                    status=_(st.STATES[case.status].label),
                )
            )
        if Status(case.status) not in step.sources:
            raise WrongState(
                _(
                    "“{step}” does not apply to {ref} now (it is at: {status}). "
                    "Nothing was changed.",
                    step=_(step.label),
                    ref=case.ref,
                    status=_(st.STATES[case.status].label),
                )
            )
        if not step.who(actor, case):
            log.warning("refused %s on %s by %s: not allowed", step.name, case.ref, actor.user_id)
            raise NotAllowed(
                _(
                    "Only {who} can do “{step}” on {ref}.",
                    who=_(step.who_text),
                    step=_(step.label),
                    ref=case.ref,
                )
            )

    def allowed(self, name: str, case: Case, actor: Actor) -> bool:
        step = st.STEPS[name]
        return Status(case.status) in step.sources and step.who(actor, case)

    def validate(
        self, step: st.Step, data: dict[str, Any] | None, case: Case, now: datetime
    ) -> dict[str, Any]:
        categories = {code: en for code, en, _zh in self.settings.categories}
        return st.validate(
            step,
            data or {},
            case=case,
            today=self.today(now),
            units=tuple(self.settings.units),
            tables={"complaint_category": categories},
        )

    def check_form(
        self, name: str, case_id: int, actor: Actor, data: dict[str, Any], seen_step: int
    ) -> None:
        """A submitted form, checked as `take` will check it, before it is accepted into
        the inbox: a person sees their mistakes on the form, while it is still open."""
        step = self.declaration(name)
        case = self.get_case(case_id, full=step.needs_reports)
        self.check_may_take(step, case, actor, seen_step)
        self.validate(step, data, case, self.now())

    # --- the clocks a step may restart (steps.Move.clocks) --------------------------------
    def rework(self, case: Case, now: datetime) -> None:
        """Back to the responsible unit for new countermeasures, with fresh due dates."""
        case.rework_count += 1
        case.clean_lots = 0
        case.approved_by = case.approved_at = None
        case.sent_at = case.accepted_at = None
        self.set_reply_deadlines(case, now, rework=True)

    def restart(self, case: Case, now: datetime) -> None:
        """Fresh reply deadlines without a rework loop (a reopened not-ours case)."""
        self.set_reply_deadlines(case, now, rework=True)

    def today(self, now: datetime) -> date:
        """The company's local date at `now` (form dates are checked against it)."""
        return now.astimezone(self.tz).date()

    # --- the thread ----------------------------------------------------------------------
    def add_comment(
        self,
        case_id: int,
        actor: Actor,
        now: datetime,
        *,
        text: str,
        message_ts: str,
        files: list[dict[str, Any]] | None = None,
    ) -> bool:
        """A reply in the case thread, kept in the timeline (once per Slack message); the
        files posted with it are recorded as evidence."""
        with self.transaction() as s:
            if not self.claim_request(s, f"msg:{case_id}:{message_ts}", now):
                return False
            case = s.get(Case, case_id)
            if case is None:
                return False
            data: dict[str, Any] = {"text": clean_text(text)[:40000], "ts": message_ts}
            recorded = record_files(s, case, files or [], actor.user_id, now, "thread")
            if recorded:
                data["files"] = recorded
            self._event(s, case, actor, "comment", data, now)
            return True

    def case_for_thread(self, channel: str, thread_ts: str) -> int | None:
        with self.readers() as s:
            return s.scalar(
                select(Case.id).where(Case.channel_id == channel, Case.card_ts == thread_ts)
            )

    def record_delivery_failure(self, case_id: int, error: str, what: str, now: datetime) -> None:
        with self.transaction() as s:
            case = s.get(Case, case_id)
            if case is None:
                return
            if case.delivery_error is None:  # the first failure is the cause; events keep all
                case.delivery_error = f"{what}: {error}"[:1000]
            self._event(s, case, SYSTEM, "delivery_failed", {"what": what, "error": error}, now)

    def record_card_in(self, s: Session, case_id: int, channel: str, ts: str) -> None:
        """Keep the card's message ts with its case, in the caller's transaction `s`."""
        s.execute(_CARD_IN, {"case_id": case_id, "channel": channel, "ts": ts})

    def export_case(self, ref: str) -> dict[str, Any]:
        """The whole record of a case (Records control): every field, every event, every
        report version, every lot check and every Slack delivery, as plain JSON data."""
        from bot.models import Outbox

        case = self.find_case(ref)

        def iso(v: Any) -> Any:
            return v.isoformat() if hasattr(v, "isoformat") else v

        cols = {c.key: iso(getattr(case, c.key)) for c in Case.__table__.columns}
        with self.readers() as s:
            deliveries = [
                {
                    "kind": o.kind,
                    "status": o.status,
                    "attempts": o.attempts,
                    "created_at": iso(o.created_at),
                    "sent_at": iso(o.sent_at),
                    "error": o.last_error,
                }
                for o in s.scalars(
                    select(Outbox).where(Outbox.case_id == case.id).order_by(Outbox.id)
                )
            ]
        return {
            "case": cols,
            "events": [
                {
                    "id": e.id,
                    "at": iso(e.at),
                    "actor": e.actor,
                    "kind": e.kind,
                    "step": e.step,
                    "data": e.data,
                }
                for e in case.events
            ],
            "reports": [
                {
                    "kind": r.kind,
                    "version": r.version,
                    "author": r.author,
                    "created_at": iso(r.created_at),
                    "data": r.data,
                }
                for r in case.reports
            ],
            "lot_checks": [
                {
                    "lot": x.lot,
                    "quantity_inspected": x.quantity_inspected,
                    "result": x.result,
                    "notes": x.notes,
                    "at": iso(x.at),
                    "by": x.by,
                    "loop": x.loop,
                }
                for x in case.lot_checks
            ],
            "deliveries": deliveries,
            **self.export_records(case.id),
        }


# --- effects beyond the card and the thread post, by name (steps.Effect) ------------------


def _alert_severity_a(desk: Desk, s: Session, case: Case, ev: CaseEvent, now: datetime) -> None:
    if case.severity == "A":
        for channel in desk.alert_channels():
            effects.channel_alert(s, case, now, channel=channel, alert="severity_a")


def _ask_approval(desk: Desk, s: Session, case: Case, ev: CaseEvent, now: datetime) -> None:
    if Status(case.status) is S.APPROVAL:
        effects.direct_message(
            s, case, now, to=["role:management"], message="approval", event_id=ev.id
        )


# Steps whose thread post is the upload's comment: the report at approval, the archive at
# closure go into the thread as one message with the step's post, not two (issue 10, 7(d)).
UPLOADS = frozenset({st.Effect.UPLOAD_REPORT, st.Effect.UPLOAD_ARCHIVE})


def _upload(what: str) -> Callable[[Desk, Session, Case, CaseEvent, datetime], None]:
    def upload(desk: Desk, s: Session, case: Case, ev: CaseEvent, now: datetime) -> None:
        # made and sent by the worker after this commit; the records are kept
        # (bot/models/records.py). The step's thread post rides along as the comment.
        effects.upload(
            s,
            case,
            now,
            what=what,
            version=st.report_version(case),
            event_id=ev.id,
            mention=owners(case),
        )

    return upload


def _close_approval_dms(desk: Desk, s: Session, case: Case, ev: CaseEvent, now: datetime) -> None:
    """Issue 12(3f): after the decision, each approval DM says who decided (bot/slack)."""
    effects.enqueue(s, kind="approval_decided", now=now, case=case, event_id=ev.id)


EFFECTS: dict[st.Effect, Callable[[Desk, Session, Case, CaseEvent, datetime], None]] = {
    st.Effect.ALERT_SEVERITY_A: _alert_severity_a,
    st.Effect.ASK_APPROVAL: _ask_approval,
    st.Effect.UPLOAD_REPORT: _upload("report"),
    st.Effect.UPLOAD_ARCHIVE: _upload("archive"),
    st.Effect.CLOSE_APPROVAL_DMS: _close_approval_dms,
}
