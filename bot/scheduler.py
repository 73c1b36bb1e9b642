"""The scheduler: an APScheduler interval job that runs the reminder tick.

Two things are kept apart on purpose. `install_reminders` (the desk hook that plans
reminder rows, and the delivery of the reminder outbox kinds) is needed by EVERY process
that changes cases or sends the outbox, whether or not it ticks. `make_scheduler` adds
the ticking, which a deployment may run in only some processes (SCHEDULER_ENABLED);
running it in several is safe because each reminder is claimed atomically.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler

from bot.slack.home import install as install_people
from bot.slack.reminder_delivery import install as install_delivery
from bot.workflow.reminders import TickResult, install_hook, run_tick

log = logging.getLogger(__name__)

JOB_ID = "reminders-tick"


def install_reminders(bot: Any) -> None:
    """Register the reminder hook on the desk and the reminder kinds on the sender's
    delivery. Idempotent; call it in every process, scheduler enabled or not."""
    install_hook(bot.desk)
    delivery = getattr(getattr(bot, "sender", None), "delivery", None)
    if delivery is not None:
        install_delivery(delivery)
        install_people(delivery)  # issue 12: Home refreshes, turns, outcomes, step clocks


class ReminderScheduler:
    """Ticks every SCHEDULER_INTERVAL_SECONDS, the first time right at start (catch-up of
    whatever fell due while no process was running), then wakes the outbox sender so the
    reminders go out without waiting for its next poll."""

    def __init__(self, bot: Any) -> None:
        self.bot = bot
        self.interval = float(bot.settings.scheduler_interval_seconds)
        self._scheduler = BackgroundScheduler(timezone=ZoneInfo(bot.settings.timezone))
        self._lock = threading.Lock()
        self._started = False

    def tick(self) -> TickResult | None:
        """One round; never raises (a bad round is logged and the next one tries again)."""
        try:
            self.bot.in_flight.yield_to_requests()
            result = run_tick(self.bot.desk, self.bot.desk.now())
            if self.bot.desk.monthly_report(self.bot.desk.now()):  # issue 14: once a month
                self.bot.sender.wake()
        except Exception:
            log.exception("reminder tick failed")
            return None
        if result.outbox:
            self.bot.sender.wake()
        return result

    def start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._scheduler.add_job(
                self.tick,
                "interval",
                seconds=self.interval,
                id=JOB_ID,
                next_run_time=datetime.now(self._scheduler.timezone),
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
                replace_existing=True,
            )
            self._scheduler.start()
            self._started = True
        log.info("reminder scheduler started (every %.0fs)", self.interval)

    def shutdown(self) -> None:
        """Stop ticking and wait for a running tick to finish (it holds a transaction)."""
        with self._lock:
            if not self._started:
                return
            self._scheduler.shutdown(wait=True)
            self._started = False

    @property
    def running(self) -> bool:
        return self._started


def make_scheduler(bot: Any) -> ReminderScheduler:
    """The scheduler for `bot.app.build`; also installs the reminders (harmless if the app
    already did)."""
    install_reminders(bot)
    return ReminderScheduler(bot)
