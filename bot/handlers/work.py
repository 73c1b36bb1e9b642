"""The worker's half of intake forms and direct-step clicks: the handlers stored them in
the inbox before acking (bot/workflow/inbox.py); here they are done, in order, one at a
time, and a refusal is told to the person as the handler would have told them."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from bot.handlers import Services
from bot.i18n import set_locale
from bot.slack.gateway import backoff
from bot.wakeup import PollingLoop
from bot.workflow import IntakeForm, WorkflowError, validate_intake
from bot.workflow.inbox import Request
from bot.workflow.steps import STEPS

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # 1-2 minutes of retries with a 1 s base: a database restart, not a bug


def intake_payload(form: IntakeForm) -> dict[str, Any]:
    return {"form": asdict(form)}


def step_payload(name: str, case_id: int, seen_step: int) -> dict[str, Any]:
    return {"step": name, "case_id": case_id, "seen_step": seen_step}


class InboxWorker(PollingLoop):
    name = "inbox-worker"

    def __init__(
        self,
        sv: Services,
        *,
        base_delay: float = 1.0,
        before_each: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__()
        self.sv = sv
        self.before_each = before_each  # lets Slack's requests in flight go first
        self.inbox = sv.desk.inbox
        self.base_delay = base_delay
        self._busy = threading.Lock()

    def round(self) -> int:
        return self.work()

    def work(self, limit: int = 100) -> int:
        """Do up to `limit` due requests; returns how many were taken."""
        done = 0
        with self._busy:
            while done < limit and not self._stop.is_set():
                self.before_each()
                req = self.inbox.next_request()
                if req is None:
                    break
                self.handle(req)
                done += 1
        if done:
            self.sv.wake()  # their Slack effects are in the outbox now
        return done

    def drain(self, timeout: float = 30.0) -> bool:
        """Do every pending request (tests, shutdown); True when none is left."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.work()
            if not self.inbox.pending_requests():
                return True
            time.sleep(0.01)
        return False

    def handle(self, req: Request) -> None:
        # i18n hook (helper C): refusals said to the person in their own language
        set_locale(self.sv.directory.locale(req.user_id))
        try:
            if req.kind == "intake":
                case_id, outcome = self._file(req)
            elif req.kind == "step":
                case_id, outcome = self._step(req)
            else:
                self.inbox.finish_request(req, f"unknown kind {req.kind!r}", failed=True)
                log.error("inbox %s: unknown kind %r", req.id, req.kind)
                return
        except WorkflowError as exc:
            # what the handler used to say right after the ack, said now
            self.sv.tell(req.channel_id, req.user_id, str(exc))
            self.inbox.finish_request(req, f"refused: {exc}")
            return
        except Exception as exc:  # noqa: BLE001 - the database or a bug: retry, then give up
            attempts = req.attempts + 1
            if attempts < MAX_ATTEMPTS:
                delay = backoff(req.attempts, self.base_delay, 60.0)
                log.warning("inbox %s (%s) retry in %.1fs: %r", req.id, req.kind, delay, exc)
                self.inbox.retry_request(req, delay, repr(exc))
                return
            log.exception("inbox %s (%s) failed for good", req.id, req.kind)
            self.inbox.finish_request(req, f"failed: {exc!r}", failed=True)
            self.sv.tell(
                req.channel_id,
                req.user_id,
                "Sorry — the complaint desk could not record that. Nothing was changed; "
                "please try again, and tell Technical Quality if it keeps failing.",
            )
            return
        self.inbox.finish_request(req, outcome, case_id=case_id)

    def _file(self, req: Request) -> tuple[int, str]:
        desk = self.sv.desk
        form = IntakeForm(**req.payload["form"])
        # validated again as on the day it was sent (it passed then; this cannot drift)
        complaint = validate_intake(form, today=req.received_at.astimezone(desk.tz).date())
        actor = self.sv.directory.actor(req.user_id)
        case = desk.file_complaint(complaint, actor, req.received_at, request_key=req.key)
        return case.id, f"filed {case.ref}"

    def _step(self, req: Request) -> tuple[int | None, str]:
        p = req.payload
        name, case_id = str(p["step"]), int(p["case_id"])
        if name not in STEPS:
            return None, f"refused: unknown step {name!r}"
        if req.attempts and self.inbox.request_done(req.key):
            return case_id, "done before a restart"
        actor = self.sv.directory.actor(req.user_id)
        getattr(self.sv.desk, name)(
            case_id,
            actor,
            req.received_at,
            {},
            expected_step=int(p["seen_step"]),
            request_key=req.key,
        )
        return case_id, name
