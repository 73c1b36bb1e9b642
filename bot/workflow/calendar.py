"""Working-time arithmetic for complaint deadlines.

The complaint procedure states its deadlines in *working* time: a corrective-action reply is
due within 1 working day of receiving a complaint, a preventive-action reply within 3 working
days, and urgent cases within N working hours.  Counting calendar time instead would give a
customer "tomorrow" on the eve of a week-long public holiday, and would make reminders fire at
night or on weekends.

Which days are working days depends on the company's country: weekends, public holidays and,
in China, the make-up working days (调休) on which a Saturday or Sunday is worked to bridge a
holiday.  The ``holidays`` library knows all three; on top of that the company can declare its
own extra holidays and extra working days in its settings.

Every instant handled here is timezone-aware: a complaint logged at 01:00 UTC on a Friday was
received on a Friday morning in Shanghai, and the local date is what decides the deadline.
Internally all arithmetic and comparisons are done in UTC so that daylight-saving transitions
(e.g. in Europe/Berlin) never distort durations.
"""

from __future__ import annotations

import contextlib
import math
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

__all__ = ["DEFAULT_HOURS", "MAX_SCAN_DAYS", "WorkingCalendar", "WorkingHours", "preload"]

#: How far (in calendar days) any walk over the calendar may go before giving up.  A year and a
#: bit covers every realistic deadline and reminder; beyond that an input is almost certainly a
#: bug (e.g. a wrong year), and failing loudly beats looping for a long time.
MAX_SCAN_DAYS = 400

_HOURS_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-\u2013]\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class WorkingHours:
    """The daily working period ``[start, end)`` in local wall-clock time.

    Only a single period per day is supported (no lunch break): the procedure measures reply
    times against the office day, and a single span keeps reminder maths predictable.
    """

    start: time
    end: time

    def __post_init__(self) -> None:
        if not isinstance(self.start, time) or not isinstance(self.end, time):
            raise TypeError("WorkingHours.start and .end must be datetime.time values")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("WorkingHours must use naive times; the calendar supplies the zone")
        if self.end <= self.start:
            raise ValueError(
                f"working hours must end after they start, got {self.start:%H:%M}-{self.end:%H:%M}"
            )

    @classmethod
    def parse(cls, text: str) -> WorkingHours:
        """Parse ``"HH:MM-HH:MM"`` (as written in settings), e.g. ``"08:30-17:30"``.

        Raises ``ValueError`` with the offending text so a bad setting is easy to spot at start-up.
        """
        if not isinstance(text, str):
            raise ValueError(f"working hours must be a string like '08:30-17:30', got {text!r}")
        match = _HOURS_RE.match(text)
        if match is None:
            raise ValueError(f"invalid working hours {text!r}: expected 'HH:MM-HH:MM'")
        sh, sm, eh, em = (int(g) for g in match.groups())
        for hour, minute in ((sh, sm), (eh, em)):
            if not (0 <= hour <= 23 and 0 <= minute <= 59):
                raise ValueError(
                    f"invalid working hours {text!r}: {hour:02d}:{minute:02d} is not a valid time"
                )
        start, end = time(sh, sm), time(eh, em)
        if end <= start:
            raise ValueError(f"invalid working hours {text!r}: the end must be after the start")
        return cls(start, end)

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


DEFAULT_HOURS = WorkingHours(time(8, 30), time(17, 30))


def _require_aware(value: datetime, name: str) -> datetime:
    """Reject naive datetimes: without a zone we cannot know which local day they fall on."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value!r}")
    return value


def _require_hours(hours: float) -> timedelta:
    """Validate a working-hours amount and turn it into an exact ``timedelta``."""
    if isinstance(hours, bool) or not isinstance(hours, int | float):
        raise TypeError(f"hours must be a number, got {type(hours).__name__}")
    if not math.isfinite(hours) or hours < 0:
        raise ValueError(f"hours must be a finite number >= 0, got {hours!r}")
    return timedelta(hours=hours)


def _as_dates(values: Iterable[date], name: str) -> frozenset[date]:
    """Normalise configured dates; a ``datetime`` would never compare equal to a ``date``."""
    result: set[date] = set()
    for value in values:
        if isinstance(value, datetime):
            value = value.date()
        if not isinstance(value, date):
            raise TypeError(f"{name} must contain dates, got {value!r}")
        result.add(value)
    return frozenset(result)


def preload(country: str) -> None:
    """Load the holidays library's country classes. Its loader imports every country it
    knows (some 150 modules, ~30 MB of RSS) on the first `country_holidays`; the supervisor
    calls this before it forks, so that the web and worker processes share one copy
    instead of loading one each when they build their calendar (issue 10, 7(e))."""
    with contextlib.suppress(NotImplementedError, KeyError, ValueError):
        holidays.country_holidays(country)


class WorkingCalendar:
    """Working days and hours of one company site, and deadline arithmetic on top of them.

    Precedence for deciding whether a day is worked: ``extra_workdays`` win over everything,
    then ``extra_holidays``, then the ``holidays`` library for the country (weekends, public
    holidays and make-up working days).  The library only knows make-up days that have been
    officially announced, so settings can patch gaps with ``extra_workdays``.

    All public methods accept timezone-aware datetimes in any zone and return aware datetimes
    in :attr:`tz`.  Instances are safe to share between threads.
    """

    tz: ZoneInfo

    def __init__(
        self,
        *,
        country: str = "CN",
        timezone: str = "Asia/Shanghai",
        hours: WorkingHours = DEFAULT_HOURS,
        extra_holidays: Iterable[date] = (),
        extra_workdays: Iterable[date] = (),
        subdiv: str | None = None,
    ) -> None:
        if not isinstance(hours, WorkingHours):
            raise TypeError(f"hours must be a WorkingHours, got {type(hours).__name__}")
        try:
            self.tz = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
            raise ValueError(f"unknown timezone {timezone!r}") from exc
        try:
            # No years are pre-computed: with expand=True the library fills in each year the
            # first time a date from it is looked up, so next year's deadlines just work.
            self._holidays = holidays.country_holidays(country, subdiv=subdiv, expand=True)
        except NotImplementedError as exc:
            where = f"{country!r}" if subdiv is None else f"{country!r} subdivision {subdiv!r}"
            raise ValueError(f"unknown or unsupported holiday country {where}: {exc}") from exc
        self.country = country
        self.subdiv = subdiv
        self.timezone_name = timezone
        self.hours = hours
        self.extra_holidays = _as_dates(extra_holidays, "extra_holidays")
        self.extra_workdays = _as_dates(extra_workdays, "extra_workdays")
        # The holidays object populates years lazily (it mutates itself), and a Slack bot answers
        # events on several threads, so lookups go through a lock and a small per-day cache.
        self._lock = threading.Lock()
        self._day_cache: dict[date, bool] = {}

    # ------------------------------------------------------------------ days

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is worked, applying the company overrides before the country rules.

        An aware ``datetime`` is accepted and judged by its local date in :attr:`tz`.
        """
        if isinstance(day, datetime):
            day = _require_aware(day, "day").astimezone(self.tz).date()
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        with self._lock:
            cached = self._day_cache.get(day)
            if cached is None:
                # Handles weekends, public holidays and weekend make-up days (调休) in one go,
                # expanding the holidays object to day.year if it was not loaded yet.
                cached = bool(self._holidays.is_working_day(day))
                self._day_cache[day] = cached
        return cached

    def _next_working_day(self, day: date, *, include_self: bool = False) -> date:
        """First working day after ``day`` (or ``day`` itself if allowed), bounded search."""
        candidate = day if include_self else day + timedelta(days=1)
        for _ in range(MAX_SCAN_DAYS):
            if self.is_working_day(candidate):
                return candidate
            candidate += timedelta(days=1)
        raise ValueError(f"no working day within {MAX_SCAN_DAYS} days after {day.isoformat()}")

    def _previous_working_day(self, day: date) -> date:
        """Last working day strictly before ``day``, bounded search."""
        candidate = day - timedelta(days=1)
        for _ in range(MAX_SCAN_DAYS):
            if self.is_working_day(candidate):
                return candidate
            candidate -= timedelta(days=1)
        raise ValueError(f"no working day within {MAX_SCAN_DAYS} days before {day.isoformat()}")

    def _period(self, day: date) -> tuple[datetime, datetime]:
        """The working period of ``day`` as UTC instants (correct across DST changes)."""
        start = datetime.combine(day, self.hours.start, tzinfo=self.tz).astimezone(UTC)
        end = datetime.combine(day, self.hours.end, tzinfo=self.tz).astimezone(UTC)
        return start, end

    def _local_date(self, instant: datetime) -> date:
        return instant.astimezone(self.tz).date()

    def _out(self, instant: datetime) -> datetime:
        return instant.astimezone(self.tz)

    # ------------------------------------------------------------- moments

    def next_working_moment(self, when: datetime) -> datetime:
        """``when`` itself if it lies inside working hours of a working day, else the start of
        the next working period.

        Working periods are half-open ``[start, end)``: at exactly ``hours.end`` the office is
        closed, so the next moment is the following working morning.
        """
        moment = _require_aware(when, "when").astimezone(UTC)
        day = self._local_date(moment)
        if self.is_working_day(day):
            start, end = self._period(day)
            if moment < start:
                return self._out(start)
            if moment < end:
                return self._out(moment)
        return self._out(self._period(self._next_working_day(day))[0])

    def add_working_days(self, when: datetime, days: int) -> datetime:
        """Deadline for "within ``days`` working days of receiving" a complaint at ``when``.

        Rule (the procedure counts whole working days, not hours):

        * the result is the end of working hours (``hours.end``) on the ``days``-th working day
          *after* the local date of ``when``;
        * the time of day does not matter for ``days >= 1``: a complaint received Friday at
          10:00 or at 20:00, or on Saturday, with ``days=1`` is due Monday at end of day
          (assuming Monday is worked) -- a late or weekend arrival never gets an extra day,
          because counting always starts at the next working day anyway;
        * ``days == 0`` means "by the end of the day of receipt": the end of that same day if it
          is a working day and ``when`` is before its end, otherwise the end of the next working
          day (so the deadline is never before the complaint arrived).
        """
        moment = _require_aware(when, "when").astimezone(UTC)
        if isinstance(days, bool) or not isinstance(days, int):
            raise TypeError(f"days must be an int, got {type(days).__name__}")
        if days < 0:
            raise ValueError(f"days must be >= 0, got {days}")
        if days > MAX_SCAN_DAYS:
            raise ValueError(f"days must be <= {MAX_SCAN_DAYS}, got {days}")
        day = self._local_date(moment)
        if days == 0:
            if self.is_working_day(day) and moment < self._period(day)[1]:
                return self._out(self._period(day)[1])
            return self._out(self._period(self._next_working_day(day))[1])
        for _ in range(days):
            day = self._next_working_day(day)
        return self._out(self._period(day)[1])

    def add_working_hours(self, when: datetime, hours: float) -> datetime:
        """The earliest instant by which ``hours`` of working time have elapsed since ``when``.

        Used for urgent cases ("reply within 4 working hours"): only time inside working hours
        of working days is consumed, so a case opened Friday 16:00 with 4 hours is due Monday
        11:00 with 08:30-17:30 hours.  A period that is used up exactly ends at ``hours.end``
        (not the next morning).  ``hours == 0`` returns ``when`` itself.
        """
        moment = _require_aware(when, "when").astimezone(UTC)
        remaining = _require_hours(hours)
        if remaining <= timedelta(0):
            return self._out(moment)
        return self._out(self._add(moment, remaining))

    def _add(self, moment: datetime, remaining: timedelta) -> datetime:
        """Walk forward from UTC ``moment`` consuming ``remaining`` (> 0) working time."""
        origin = self._local_date(moment)
        cursor = self.next_working_moment(moment).astimezone(UTC)
        day = self._local_date(cursor)
        while True:
            end = self._period(day)[1]
            available = end - cursor
            if remaining <= available:
                return cursor + remaining
            remaining -= available
            day = self._next_working_day(day)
            if (day - origin).days > MAX_SCAN_DAYS:
                raise ValueError(
                    f"working-time walk from {moment.isoformat()} exceeds {MAX_SCAN_DAYS} days"
                )
            cursor = self._period(day)[0]

    def subtract_working_hours(self, when: datetime, hours: float) -> datetime:
        """The latest instant that lies ``hours`` of working time before ``when``.

        Used for reminders such as "2 working hours before the deadline".  "Latest" matters at
        period boundaries: 2 hours before Monday 10:30 is Monday 08:30, not Friday 17:30, even
        though no working time separates the two.  If ``when`` is outside working hours the
        count starts from the end of the last working period before it.  ``hours == 0`` returns
        ``when``.  Raises ``ValueError`` if the walk would go back more than ``MAX_SCAN_DAYS``.
        """
        moment = _require_aware(when, "when").astimezone(UTC)
        remaining = _require_hours(hours)
        if remaining <= timedelta(0):
            return self._out(moment)
        origin = self._local_date(moment)
        day = origin
        start, end = self._period(day)
        if self.is_working_day(day) and start < moment:
            cursor = min(moment, end)
        else:
            day = self._previous_working_day(day)
            cursor = self._period(day)[1]
        while True:
            start = self._period(day)[0]
            available = cursor - start
            if remaining <= available:
                return self._out(cursor - remaining)
            remaining -= available
            day = self._previous_working_day(day)
            if (origin - day).days > MAX_SCAN_DAYS:
                raise ValueError(
                    f"working-time walk back from {moment.isoformat()} exceeds {MAX_SCAN_DAYS} days"
                )
            cursor = self._period(day)[1]

    def _between(self, start: datetime, end: datetime) -> timedelta:
        """Exact working time between two UTC instants (zero if ``end <= start``)."""
        if end <= start:
            return timedelta(0)
        total = timedelta(0)
        day = self._local_date(start)
        last = self._local_date(end)
        while day <= last:
            if self.is_working_day(day):
                period_start, period_end = self._period(day)
                overlap = min(period_end, end) - max(period_start, start)
                if overlap > timedelta(0):
                    total += overlap
            day += timedelta(days=1)
        return total

    def working_seconds_between(self, start: datetime, end: datetime) -> float:
        """Working time in seconds between two instants; ``0.0`` if ``end <= start``.

        Reminder scheduling uses this to find "half-way" points and to check how much working
        time is left before a deadline.  Cost is linear in the calendar span.
        """
        a = _require_aware(start, "start").astimezone(UTC)
        b = _require_aware(end, "end").astimezone(UTC)
        return self._between(a, b).total_seconds()

    def working_midpoint(self, start: datetime, end: datetime) -> datetime:
        """The earliest instant at which half the working time between ``start`` and ``end`` has
        elapsed -- where the "half-way" reminder goes.

        If there is no working time between them (e.g. both on one weekend), ``start`` is
        returned: nothing is left to split, so the reminder is due immediately.
        """
        a = _require_aware(start, "start").astimezone(UTC)
        b = _require_aware(end, "end").astimezone(UTC)
        total = self._between(a, b)
        if total <= timedelta(0):
            return self._out(a)
        # Integer microseconds keep the halving exact; min() guards against any rounding drift.
        half = timedelta(microseconds=(total // timedelta(microseconds=1)) // 2)
        if half <= timedelta(0):
            return self._out(a)
        return self._out(min(self._add(a, half), b))

    # ------------------------------------------------------------- logging

    def describe(self) -> str:
        """One line for start-up logs, so the effective calendar is visible in production."""
        place = self.country if self.subdiv is None else f"{self.country}-{self.subdiv}"
        nh, nw = len(self.extra_holidays), len(self.extra_workdays)
        holidays_text = f"{nh} extra holiday{'s' if nh != 1 else ''}"
        workdays_text = f"{nw} extra working day{'s' if nw != 1 else ''}"
        return f"{place}, {self.timezone_name}, {self.hours}, {holidays_text}, {workdays_text}"

    def __repr__(self) -> str:
        return f"WorkingCalendar({self.describe()})"
