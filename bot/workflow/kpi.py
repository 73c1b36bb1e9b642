"""The desk's side of the KPIs (issue 14): the figures of a period, the charts asked for
by `/complaint stats`, and the monthly report to the management channel on the first
working day of each month (the working-day calendar decides which day that is)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.models import ProcessedRequest
from bot.workflow import effects
from bot.workflow.desk import DeskBase
from bot.workflow.stats import Figures, Period, compute, previous_month


class KpiDesk(DeskBase):
    def kpis(self, period: Period, now: datetime) -> Figures:
        with self.readers() as s:
            return compute(s, period, now, self.tz)

    def request_stats(self, period: Period, user_id: str, now: datetime) -> None:
        """The charts of `period`, drawn by the worker and sent to `user_id`."""
        with self.transaction() as s:
            effects.send_file(
                s, now, user=user_id, what="stats", start=period.start.isoformat(),
                end=period.end.isoformat(),
            )  # fmt: skip

    def first_working_day(self, day: date) -> date:
        d = day.replace(day=1)
        while not self.calendar.is_working_day(d):
            d += timedelta(days=1)
        return d

    def monthly_report(self, now: datetime) -> Period | None:
        """Queue last month's report if today is this month's first working day and it is
        not queued yet (once per month, whichever process ticks first)."""
        channel = self.settings.management_channel
        today = now.astimezone(self.tz).date()
        if not self.settings.monthly_report or not channel:
            return None
        if today != self.first_working_day(today):
            return None
        period = previous_month(today)
        key = f"kpi-month:{period.start:%Y-%m}"
        with self.readers() as s:  # every tick of that day asks: a read, not a write
            if s.get(ProcessedRequest, key) is not None:
                return None
        with self.transaction() as s:
            if not self.claim_request(s, key, now):
                return None
            effects.enqueue(
                s, kind="kpi_report", now=now, lane=f"channel:{channel}", channel=channel,
                start=period.start.isoformat(), end=period.end.isoformat(),
            )  # fmt: skip
        return period
