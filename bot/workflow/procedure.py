"""`Desk`: the named steps of the procedure, each one transaction with its audit event."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Case, CaseEvent, Status
from bot.workflow import effects, lots
from bot.workflow import steps as st
from bot.workflow.desk import DeskBase
from bot.workflow.errors import NotAllowed, WrongState
from bot.workflow.evidence import record_files
from bot.workflow.kpi import KpiDesk
from bot.workflow.records import RecordsDesk
from bot.workflow.recurrence import RecurrenceDesk
from bot.workflow.roles import SYSTEM, Actor
from bot.workflow.taxonomy import check_category
from bot.workflow.text import clean_text
from bot.workflow.view import owners, report_version

log = logging.getLogger(__name__)
S = Status


class Desk(RecurrenceDesk, KpiDesk, RecordsDesk, DeskBase):
    """The complaint desk. Handlers, the scheduler, the CLI and tests all drive it."""

    def run(
        self,
        name: str,
        case_id: int,
        actor: Actor,
        now: datetime,
        apply: Callable[[Session, Case], tuple[Status, dict[str, Any]]],
        *,
        expected_step: int | None = None,
        request_key: str | None = None,
    ) -> Case:
        """Take step `name` on a case: lock, check state/permission/staleness, apply,
        record. `apply` returns the new status and the data for the audit event."""
        step = st.STEPS[name]
        with self.transaction() as s:
            case = self._lock(s, case_id)
            if expected_step is not None and case.step != expected_step:
                raise WrongState(
                    f"{case.ref} has moved on since this was shown "
                    f"(now: {st.STATUS_LABEL[Status(case.status)]}). Nothing was changed."
                )
            if Status(case.status) not in step.sources:
                raise WrongState(
                    f"“{step.label}” does not apply to {case.ref} now "
                    f"(it is at: {st.STATUS_LABEL[Status(case.status)]}). Nothing was changed."
                )
            if not step.who(actor, case):
                log.warning("refused %s on %s by %s: not allowed", name, case.ref, actor.user_id)
                raise NotAllowed(f"Only {step.who_text} can do “{step.label}” on {case.ref}.")
            if request_key and not self.claim_request(s, request_key, now):
                raise WrongState("This was already submitted. Nothing was changed.")
            before = case.status
            new_status, data = apply(s, case)
            case.status = new_status.value
            case.is_open = new_status is not S.CLOSED
            case.step += 1
            data = {**data, "from": before, "to": new_status.value}
            ev = self._event(s, case, actor, name, data, now, step=case.step)
            effects.card_update(s, case, now)
            effects.thread_post(s, case, now, event_id=ev.id, mention=owners(case))
            self._extra_effects(s, case, name, ev, now)
            self._after_change(s, case, now)
            s.flush()
            return self._reload(s, case.id)

    def _extra_effects(
        self, s: Session, case: Case, name: str, ev: CaseEvent, now: datetime
    ) -> None:
        if name == "classify_severity" and case.severity == "A":
            for channel in self.alert_channels():
                effects.channel_alert(s, case, now, channel=channel, alert="severity_a")
        if Status(case.status) is S.APPROVAL and name != "approve_report":
            effects.direct_message(
                s, case, now, to=["role:management"], message="approval", event_id=ev.id
            )

    def _rework(self, case: Case, now: datetime) -> None:
        """Back to the responsible unit for new countermeasures, with fresh due dates."""
        case.rework_count += 1
        case.clean_lots = 0
        case.approved_by = case.approved_at = None
        case.sent_at = case.accepted_at = None
        self.set_reply_deadlines(case, now, rework=True)

    def _today(self, now: datetime) -> Any:
        return now.astimezone(self.tz).date()

    # --- flow step 1 ------------------------------------------------------------
    def confirm_information(
        self,
        case_id: int,
        actor: Actor,
        now: datetime,
        data: dict[str, Any] | None = None,
        **kw: Any,
    ) -> Case:
        note = st.reason_only(data or {}, "note", required=False)
        # issue 14 hook: the category chosen on the form, which always has the field (a
        # caller without the form, such as the CLI or an older queued click, sets none)
        form = data is not None and "category" in data

        def apply(s: Session, c: Case) -> tuple[Status, dict[str, Any]]:
            # checked once the state is known right (a stale form says so, not "choose")
            category = check_category(data or {}, self.settings.categories) if form else None
            c.category = category
            return S.RESPONSIBILITY, {"note": note, "category": category}

        return self.run("confirm_information", case_id, actor, now, apply, **kw)

    def request_information(
        self, case_id: int, actor: Actor, now: datetime, data: dict[str, Any], **kw: Any
    ) -> Case:
        missing = st.reason_only(data, "missing")
        return self.run(
            "request_information",
            case_id,
            actor,
            now,
            lambda s, c: (S.INFO_REQUESTED, {"missing": missing}),
            **kw,
        )

    def provide_information(
        self, case_id: int, actor: Actor, now: datetime, data: dict[str, Any], **kw: Any
    ) -> Case:
        info = st.reason_only(data, "info")

        def apply(s: Session, c: Case) -> tuple[Status, dict[str, Any]]:
            c.notes = (c.notes + "\n\n" if c.notes else "") + info
            return S.RECEIVED, {"info": info}

        return self.run("provide_information", case_id, actor, now, apply, **kw)

    # --- flow steps 2–3 ------------------------------------------------------------
    def decide_responsibility(
        self, case_id: int, actor: Actor, now: datetime, data: dict[str, Any], **kw: Any
    ) -> Case:
        clean = st.check_responsibility(data, list(self.settings.units))

        def apply(s: Session, c: Case) -> tuple[Status, dict[str, Any]]:
            c.responsibility = clean["party"]
            c.responsibility_reason = clean["reason"]
            c.units = clean["units"]
            return (S.SEVERITY if clean["party"] == "ours" else S.CUSTOMER_NOTICE), clean

        return self.run("decide_responsibility", case_id, actor, now, apply, **kw)

    def confirm_customer_informed(
        self,
        case_id: int,
        actor: Actor,
        now: datetime,
        data: dict[str, Any] | None = None,
        **kw: Any,
    ) -> Case:
        note = st.reason_only(data or {}, "note", required=False)

        def apply(s: Session, c: Case) -> tuple[Status, dict[str, Any]]:
            c.closure, c.closed_at, c.closed_by = "not_ours", now, actor.user_id
            c.ca_done_at = c.pa_done_at = now
            return S.CLOSED, {"note": note, "criterion": "not_ours"}

        return self.run("confirm_customer_informed", case_id, actor, now, apply, **kw)

    # --- flow step 4 -------------------------------------------------------------------
    def classify_severity(
        self, case_id: int, actor: Actor, now: datetime, data: dict[str, Any], **kw: Any
    ) -> Case:
        clean = st.check_severity(data)

        def apply(s: Session, c: Case) -> tuple[Status, dict[str, Any]]:
            c.severity = clean["severity"]
            return S.CONTAINMENT, clean

        return self.run("classify_severity", case_id, actor, now, apply, **kw)

    def record_containment(
        self, case_id: int, actor: Actor, now: datetime, data: dict[str, Any], **kw: Any
    ) -> Case:
        clean = st.check_containment(data)

        def apply(s: Session, c: Case) -> tuple[Status, dict[str, Any]]:
            r = st.add_report(c, "containment", clean, actor, now)
            c.containment_at = now
            return S.CORRECTIVE, {**clean, "version": r.version}

        return self.run("record_containment", case_id, actor, now, apply, **kw)

    def submit_corrective_action(
        self, case_id: int, actor: Actor, now: datetime, data: dict[str, Any], **kw: Any
    ) -> Case:
        clean = st.check_corrective(data, self._today(now))

        def apply(s: Session, c: Case) -> tuple[Status, dict[str, Any]]:
            r = st.add_report(c, "corrective", clean, actor, now)
            if c.ca_done_at is None:
                c.ca_done_at = now
            nxt = S.PREVENTIVE if Status(c.status) is S.CORRECTIVE else Status(c.status)
            return nxt, {**clean, "version": r.version}

        return self.run("submit_corrective_action", case_id, actor, now, apply, **kw)

    def submit_preventive_action(
        self, case_id: int, actor: Actor, now: datetime, data: dict[str, Any], **kw: Any
    ) -> Case:
        clean = st.check_preventive(data)

        def apply(s: Session, c: Case) -> tuple[Status, dict[str, Any]]:
            r = st.add_report(c, "preventive", clean, actor, now)
            if c.pa_done_at is None:
                c.pa_done_at = now
            return S.APPROVAL, {**clean, "version": r.version}

        return self.run("submit_preventive_action", case_id, actor, now, apply, **kw)

    # --- flow step 5 -------------------------------------------------------------------
    def approve_report(
        self,
        case_id: int,
        actor: Actor,
        now: datetime,
        data: dict[str, Any] | None = None,
        **kw: Any,
    ) -> Case:
        note = st.reason_only(data or {}, "note", required=False)

        def apply(s: Session, c: Case) -> tuple[Status, dict[str, Any]]:
            c.approved_by, c.approved_at = actor.user_id, now
            ca, pa = c.latest_report("corrective"), c.latest_report("preventive")
            # the approved report goes into the thread once, made and sent by the worker
            effects.upload(s, c, now, what="report", version=report_version(c))
            return S.APPROVED, {
                "note": note,
                "corrective_version": ca.version if ca else None,
                "preventive_version": pa.version if pa else None,
                "signature": f"approved by {actor.user_id} at {now.isoformat()}",
            }

        return self.run("approve_report", case_id, actor, now, apply, **kw)

    def reject_report(
        self, case_id: int, actor: Actor, now: datetime, data: dict[str, Any], **kw: Any
    ) -> Case:
        reason = st.reason_only(data, "reason")

        def apply(s: Session, c: Case) -> tuple[Status, dict[str, Any]]:
            self._rework(c, now)
            return S.CORRECTIVE, {"reason": reason, "loop": c.rework_count}

        return self.run("reject_report", case_id, actor, now, apply, **kw)

    def send_to_customer(
        self,
        case_id: int,
        actor: Actor,
        now: datetime,
        data: dict[str, Any] | None = None,
        **kw: Any,
    ) -> Case:
        def apply(s: Session, c: Case) -> tuple[Status, dict[str, Any]]:
            clean = st.check_sent(data or {}, self._today(now))
            c.sent_at = now
            return S.CUSTOMER_REVIEW, {**clean, "version": report_version(c)}

        return self.run("send_to_customer", case_id, actor, now, apply, **kw)

    # --- flow steps 6–8 ----------------------------------------------------------------
    def record_customer_acceptance(
        self, case_id: int, actor: Actor, now: datetime, data: dict[str, Any], **kw: Any
    ) -> Case:
        accepted = data.get("accepted") in (True, "yes", "true")
        note = st.reason_only(data, "note", required=not accepted)

        def apply(s: Session, c: Case) -> tuple[Status, dict[str, Any]]:
            if accepted:
                c.accepted_at = now
                return S.VERIFICATION, {"accepted": True, "note": note}
            self._rework(c, now)
            return S.CORRECTIVE, {"accepted": False, "note": note, "loop": c.rework_count}

        return self.run("record_customer_acceptance", case_id, actor, now, apply, **kw)

    def record_lot_check(
        self, case_id: int, actor: Actor, now: datetime, data: dict[str, Any], **kw: Any
    ) -> Case:
        clean = st.check_lot(data)

        def apply(s: Session, c: Case) -> tuple[Status, dict[str, Any]]:
            skip = lots.why_not_counted(c, clean["lot"])  # issue 12(3a), before adding it
            st.add_lot(c, clean, actor, now)
            if clean["result"] == "same_problem":
                self._rework(c, now)
                return S.CORRECTIVE, {**clean, "effective": False, "loop": c.rework_count}
            c.clean_lots = lots.clean_lots(c)  # distinct lots, the complained ones aside
            counted = {"not_counted": skip} if skip else {}
            return S.VERIFICATION, {**clean, "clean_lots": c.clean_lots, **counted}

        return self.run("record_lot_check", case_id, actor, now, apply, **kw)

    def close_case(
        self, case_id: int, actor: Actor, now: datetime, data: dict[str, Any], **kw: Any
    ) -> Case:
        def apply(s: Session, c: Case) -> tuple[Status, dict[str, Any]]:
            clean = st.check_close(data, c)
            c.closure, c.closed_at, c.closed_by = clean["criterion"], now, actor.user_id
            # records control: final report, timeline PDF and JSON go into the thread and
            # are kept (bot/models/records.py), made by the worker after this commit
            effects.upload(s, c, now, what="archive", version=report_version(c))
            return S.CLOSED, {**clean, "clean_lots": c.clean_lots, "archived": True}

        return self.run("close_case", case_id, actor, now, apply, **kw)

    def reopen_case(
        self, case_id: int, actor: Actor, now: datetime, data: dict[str, Any], **kw: Any
    ) -> Case:
        reason = st.reason_only(data, "reason")

        def apply(s: Session, c: Case) -> tuple[Status, dict[str, Any]]:
            previous = c.closure
            c.closure = c.closed_at = c.closed_by = None
            if c.responsibility != "ours":
                c.responsibility = None
                self.set_reply_deadlines(c, now, rework=True)
                return S.RESPONSIBILITY, {"reason": reason, "previous_closure": previous}
            self._rework(c, now)
            return S.CORRECTIVE, {
                "reason": reason,
                "previous_closure": previous,
                "loop": c.rework_count,
            }

        return self.run("reopen_case", case_id, actor, now, apply, **kw)

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

    def record_card(self, case_id: int, channel: str, ts: str) -> None:
        with self.transaction() as s:
            case = s.get(Case, case_id)
            if case is not None:
                case.channel_id, case.card_ts = channel, ts

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

    def allowed(self, name: str, case: Case, actor: Actor) -> bool:
        step = st.STEPS[name]
        return Status(case.status) in step.sources and step.who(actor, case)
