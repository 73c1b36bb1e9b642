"""Tests for bot.workflow.calendar.

Every expected value below was worked out by hand from the calendar, with the default office
hours 08:30-17:30 (9 working hours a day).  The Chinese holiday facts were checked against
holidays 0.109 (`holidays.country_holidays("CN", years=2025)`), which agrees with the State
Council notices:

* Spring Festival 2025: Tue 28 Jan - Tue 4 Feb off (3 and 4 Feb are substituted days off);
  Sun 26 Jan and Sat 8 Feb are make-up working days.
* National Day / Mid-Autumn 2025: Wed 1 Oct - Wed 8 Oct off; Sun 28 Sep and Sat 11 Oct are
  make-up working days.
* New Year 2026: Thu 1 Jan holiday, Fri 2 Jan substituted day off, Sun 4 Jan worked.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.workflow.calendar import MAX_SCAN_DAYS, WorkingCalendar, WorkingHours

SH = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")

# One shared calendar: construction is cheap, but sharing also exercises the lazy year cache.
CAL = WorkingCalendar()


def sh(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH)


def ber(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=BERLIN)


def assert_same(actual: datetime, expected: datetime) -> None:
    """Equal instant *and* expressed in the calendar's zone (outputs must be in cal.tz)."""
    assert actual == expected
    assert actual.utcoffset() == expected.utcoffset()
    assert actual.tzinfo is not None


# --------------------------------------------------------------------------- working days


class TestWeekends:
    # Fri 13 Jun 2025 .. Mon 16 Jun 2025: an ordinary week (Dragon Boat was 31 May / 2 Jun).

    def test_friday_morning_plus_one_day_is_monday_end_of_day(self) -> None:
        assert_same(CAL.add_working_days(sh(2025, 6, 13, 10), 1), sh(2025, 6, 16, 17, 30))

    def test_friday_evening_plus_one_day_is_still_monday(self) -> None:
        # Received after hours: counting starts from the next working day after Friday,
        # i.e. Monday is day 1 -- a late arrival does not earn an extra day.
        assert_same(CAL.add_working_days(sh(2025, 6, 13, 20), 1), sh(2025, 6, 16, 17, 30))

    def test_saturday_plus_one_day_is_monday(self) -> None:
        assert_same(CAL.add_working_days(sh(2025, 6, 14, 11), 1), sh(2025, 6, 16, 17, 30))

    def test_three_days_from_friday_is_wednesday(self) -> None:
        assert_same(CAL.add_working_days(sh(2025, 6, 13, 10), 3), sh(2025, 6, 18, 17, 30))

    def test_zero_days(self) -> None:
        # Same working day, before the end of hours -> that day's end.
        assert_same(CAL.add_working_days(sh(2025, 6, 13, 10), 0), sh(2025, 6, 13, 17, 30))
        # After hours on a working day -> next working day (never a deadline in the past).
        assert_same(CAL.add_working_days(sh(2025, 6, 13, 20), 0), sh(2025, 6, 16, 17, 30))
        # Weekend -> next working day.
        assert_same(CAL.add_working_days(sh(2025, 6, 15, 9), 0), sh(2025, 6, 16, 17, 30))

    def test_local_date_decides_not_utc_date(self) -> None:
        # Fri 26 Sep 2025 20:00 UTC is Sat 27 Sep 04:00 in Shanghai.  Saturday 27 is off, and
        # the next working day is the make-up Sunday 28 Sep.
        received = datetime(2025, 9, 26, 20, 0, tzinfo=UTC)
        assert_same(CAL.add_working_days(received, 1), sh(2025, 9, 28, 17, 30))

    def test_negative_days_rejected(self) -> None:
        with pytest.raises(ValueError):
            CAL.add_working_days(sh(2025, 6, 13, 10), -1)
        with pytest.raises(ValueError):
            CAL.add_working_days(sh(2025, 6, 13, 10), MAX_SCAN_DAYS + 1)


class TestNationalDay2025:
    def test_library_facts(self) -> None:
        assert CAL.is_working_day(date(2025, 9, 28))  # Sunday, make-up working day
        assert CAL.is_working_day(date(2025, 10, 11))  # Saturday, make-up working day
        for d in range(1, 9):
            assert not CAL.is_working_day(date(2025, 10, d)), f"Oct {d} should be off"
        assert CAL.is_working_day(date(2025, 10, 9))
        assert not CAL.is_working_day(date(2025, 10, 12))  # ordinary Sunday

    def test_eve_of_holiday_plus_one_day_is_after_the_holiday(self) -> None:
        # Tue 30 Sep 10:00 + 1 working day: Oct 1-8 are off -> Thu 9 Oct end of day.
        assert_same(CAL.add_working_days(sh(2025, 9, 30, 10), 1), sh(2025, 10, 9, 17, 30))

    def test_make_up_saturday_counts(self) -> None:
        # From Thu 9 Oct: Fri 10 (1), Sat 11 make-up (2), Mon 13 (3).  Without the make-up
        # Saturday it would have been Tue 14 Oct.
        assert_same(CAL.add_working_days(sh(2025, 10, 9, 9), 3), sh(2025, 10, 13, 17, 30))
        assert_same(CAL.add_working_days(sh(2025, 10, 9, 9), 2), sh(2025, 10, 11, 17, 30))

    def test_make_up_sunday_counts(self) -> None:
        # From Fri 26 Sep: Sun 28 Sep is day 1 (Sat 27 is off).
        assert_same(CAL.add_working_days(sh(2025, 9, 26, 15), 1), sh(2025, 9, 28, 17, 30))

    def test_hours_across_the_holiday(self) -> None:
        # Tue 30 Sep 16:30 + 4h: 1h on 30 Sep, then 3h on Thu 9 Oct -> 11:30.
        assert_same(CAL.add_working_hours(sh(2025, 9, 30, 16, 30), 4), sh(2025, 10, 9, 11, 30))


class TestSpringFestival2025:
    def test_library_facts(self) -> None:
        assert not CAL.is_working_day(date(2025, 1, 25))  # ordinary Saturday
        assert CAL.is_working_day(date(2025, 1, 26))  # Sunday, make-up working day
        assert CAL.is_working_day(date(2025, 1, 27))
        day = date(2025, 1, 28)
        while day <= date(2025, 2, 4):
            assert not CAL.is_working_day(day), day
            day += timedelta(days=1)
        assert CAL.is_working_day(date(2025, 2, 5))
        assert CAL.is_working_day(date(2025, 2, 8))  # Saturday, make-up working day

    def test_saturday_complaint_due_on_make_up_sunday(self) -> None:
        assert_same(CAL.add_working_days(sh(2025, 1, 25, 15), 1), sh(2025, 1, 26, 17, 30))

    def test_before_the_break(self) -> None:
        # Mon 27 Jan + 1 -> Wed 5 Feb (28 Jan - 4 Feb off).
        assert_same(CAL.add_working_days(sh(2025, 1, 27, 9), 1), sh(2025, 2, 5, 17, 30))
        # Mon 27 Jan + 4 -> 5, 6, 7 Feb, Sat 8 Feb.
        assert_same(CAL.add_working_days(sh(2025, 1, 27, 9), 4), sh(2025, 2, 8, 17, 30))

    def test_three_days_over_make_up_saturday(self) -> None:
        # Thu 6 Feb + 3 -> Fri 7 (1), Sat 8 (2), Mon 10 (3).
        assert_same(CAL.add_working_days(sh(2025, 2, 6, 11), 3), sh(2025, 2, 10, 17, 30))

    def test_next_working_moment_skips_the_break(self) -> None:
        assert_same(CAL.next_working_moment(sh(2025, 1, 27, 18)), sh(2025, 2, 5, 8, 30))
        assert_same(CAL.next_working_moment(sh(2025, 1, 25, 12)), sh(2025, 1, 26, 8, 30))


class TestYearBoundary:
    def test_next_year_lookups_work(self) -> None:
        # Wed 31 Dec 2025 + 1: Thu 1 Jan 2026 holiday, Fri 2 Jan substituted day off, Sat 3
        # off, Sun 4 Jan 2026 is a make-up working day.
        cal = WorkingCalendar()
        assert_same(cal.add_working_days(sh(2025, 12, 31, 10), 1), sh(2026, 1, 4, 17, 30))
        assert cal.is_working_day(date(2026, 1, 4))
        assert not cal.is_working_day(date(2026, 1, 2))


class TestOverrides:
    def test_extra_holiday(self) -> None:
        cal = WorkingCalendar(extra_holidays=[date(2025, 6, 16)])
        assert not cal.is_working_day(date(2025, 6, 16))
        assert_same(cal.add_working_days(sh(2025, 6, 13, 10), 1), sh(2025, 6, 17, 17, 30))

    def test_extra_workday_on_weekend(self) -> None:
        cal = WorkingCalendar(extra_workdays=[date(2025, 6, 14)])
        assert cal.is_working_day(date(2025, 6, 14))
        assert_same(cal.add_working_days(sh(2025, 6, 13, 10), 1), sh(2025, 6, 14, 17, 30))

    def test_extra_workday_on_public_holiday(self) -> None:
        cal = WorkingCalendar(extra_workdays=[date(2025, 10, 1)])
        assert_same(cal.add_working_days(sh(2025, 9, 30, 10), 1), sh(2025, 10, 1, 17, 30))

    def test_extra_holiday_on_make_up_day(self) -> None:
        cal = WorkingCalendar(extra_holidays=[date(2025, 10, 11)])
        # From Thu 9 Oct: Fri 10 (1), Mon 13 (2), Tue 14 (3).
        assert_same(cal.add_working_days(sh(2025, 10, 9, 9), 3), sh(2025, 10, 14, 17, 30))

    def test_extra_workdays_win_over_extra_holidays(self) -> None:
        cal = WorkingCalendar(
            extra_holidays=[date(2025, 6, 14)], extra_workdays=[date(2025, 6, 14)]
        )
        assert cal.is_working_day(date(2025, 6, 14))

    def test_describe(self) -> None:
        cal = WorkingCalendar(
            extra_holidays=[date(2025, 6, 16), date(2025, 6, 17)],
            extra_workdays=[date(2025, 6, 14)],
        )
        assert (
            cal.describe()
            == "CN, Asia/Shanghai, 08:30-17:30, 2 extra holidays, 1 extra working day"
        )
        assert (
            CAL.describe()
            == "CN, Asia/Shanghai, 08:30-17:30, 0 extra holidays, 0 extra working days"
        )


# -------------------------------------------------------------------------- working hours


class TestNextWorkingMoment:
    def test_inside_hours_is_unchanged(self) -> None:
        assert_same(CAL.next_working_moment(sh(2025, 6, 13, 10, 15)), sh(2025, 6, 13, 10, 15))

    def test_before_hours_is_that_morning(self) -> None:
        assert_same(CAL.next_working_moment(sh(2025, 6, 13, 7)), sh(2025, 6, 13, 8, 30))

    def test_at_closing_time_is_next_working_morning(self) -> None:
        assert_same(CAL.next_working_moment(sh(2025, 6, 13, 17, 30)), sh(2025, 6, 16, 8, 30))

    def test_output_is_in_calendar_zone(self) -> None:
        # 02:00 UTC = 10:00 Shanghai on Fri 13 Jun.
        result = CAL.next_working_moment(datetime(2025, 6, 13, 2, 0, tzinfo=UTC))
        assert result.tzinfo == SH
        assert_same(result, sh(2025, 6, 13, 10))


class TestAddWorkingHours:
    def test_within_one_day(self) -> None:
        assert_same(CAL.add_working_hours(sh(2025, 6, 12, 9), 4), sh(2025, 6, 12, 13))

    def test_across_the_evening(self) -> None:
        # Thu 15:00 + 4h: 2.5h Thursday, 1.5h Friday -> Fri 10:00.
        assert_same(CAL.add_working_hours(sh(2025, 6, 12, 15), 4), sh(2025, 6, 13, 10))

    def test_across_a_weekend(self) -> None:
        # Fri 16:00 + 4h: 1.5h Friday, 2.5h Monday -> Mon 11:00.
        assert_same(CAL.add_working_hours(sh(2025, 6, 13, 16), 4), sh(2025, 6, 16, 11))

    def test_started_after_hours(self) -> None:
        assert_same(CAL.add_working_hours(sh(2025, 6, 13, 20), 4), sh(2025, 6, 16, 12, 30))

    def test_exactly_filling_a_day_ends_at_closing_time(self) -> None:
        assert_same(CAL.add_working_hours(sh(2025, 6, 13, 8, 30), 9), sh(2025, 6, 13, 17, 30))

    def test_fractional_and_zero(self) -> None:
        assert_same(CAL.add_working_hours(sh(2025, 6, 13, 17), 0.75), sh(2025, 6, 16, 8, 45))
        assert_same(CAL.add_working_hours(sh(2025, 6, 14, 3), 0), sh(2025, 6, 14, 3))

    def test_bad_hours(self) -> None:
        for bad in (-1, float("nan"), float("inf")):
            with pytest.raises(ValueError):
                CAL.add_working_hours(sh(2025, 6, 13, 10), bad)


class TestWorkingSecondsBetween:
    def test_over_a_weekend(self) -> None:
        assert CAL.working_seconds_between(sh(2025, 6, 13, 16), sh(2025, 6, 16, 11)) == 4 * 3600

    def test_whole_day_from_outside_hours(self) -> None:
        assert CAL.working_seconds_between(sh(2025, 6, 13, 7), sh(2025, 6, 13, 20)) == 9 * 3600

    def test_weekend_only_is_zero(self) -> None:
        assert CAL.working_seconds_between(sh(2025, 6, 14, 9), sh(2025, 6, 15, 18)) == 0

    def test_reversed_is_zero(self) -> None:
        assert CAL.working_seconds_between(sh(2025, 6, 16, 11), sh(2025, 6, 13, 16)) == 0

    def test_national_day_week(self) -> None:
        # 30 Sep (9h) + 9 Oct (9h); 1-8 Oct contribute nothing.
        start, end = sh(2025, 9, 30, 8, 30), sh(2025, 10, 9, 17, 30)
        assert CAL.working_seconds_between(start, end) == 18 * 3600

    def test_mixed_zones(self) -> None:
        # 00:30 UTC Fri 13 Jun = 08:30 Shanghai; 09:30 UTC = 17:30 Shanghai.
        start = datetime(2025, 6, 13, 0, 30, tzinfo=UTC)
        assert CAL.working_seconds_between(start, sh(2025, 6, 13, 17, 30)) == 9 * 3600


class TestSubtractWorkingHours:
    def test_back_over_a_weekend(self) -> None:
        assert_same(CAL.subtract_working_hours(sh(2025, 6, 16, 11), 4), sh(2025, 6, 13, 16))

    def test_never_earlier_than_needed(self) -> None:
        # Mon 10:30 - 2h is Mon 08:30, not Fri 17:30 (same working time, but later).
        assert_same(CAL.subtract_working_hours(sh(2025, 6, 16, 10, 30), 2), sh(2025, 6, 16, 8, 30))

    def test_spills_into_previous_working_day(self) -> None:
        assert_same(CAL.subtract_working_hours(sh(2025, 6, 16, 9, 30), 2), sh(2025, 6, 13, 16, 30))

    def test_from_outside_hours(self) -> None:
        # Sat 12:00 - 2h: count back from Fri 17:30 -> Fri 15:30.
        assert_same(CAL.subtract_working_hours(sh(2025, 6, 14, 12), 2), sh(2025, 6, 13, 15, 30))
        # Fri 20:00 - 2h -> Fri 15:30 as well.
        assert_same(CAL.subtract_working_hours(sh(2025, 6, 13, 20), 2), sh(2025, 6, 13, 15, 30))

    def test_two_hours_before_post_holiday_deadline(self) -> None:
        # Deadline Thu 9 Oct 2025 09:30 -> 1h on 9 Oct, 1h on Tue 30 Sep -> 30 Sep 16:30.
        assert_same(CAL.subtract_working_hours(sh(2025, 10, 9, 9, 30), 2), sh(2025, 9, 30, 16, 30))

    def test_bound(self) -> None:
        with pytest.raises(ValueError, match="exceeds"):
            CAL.subtract_working_hours(sh(2025, 6, 16, 11), 9 * (MAX_SCAN_DAYS + 10))


class TestMidpoint:
    def test_over_a_weekend(self) -> None:
        # 4 working hours between Fri 16:00 and Mon 11:00; after 2h: 1.5h Fri + 0.5h Mon.
        assert_same(
            CAL.working_midpoint(sh(2025, 6, 13, 16), sh(2025, 6, 16, 11)), sh(2025, 6, 16, 9)
        )

    def test_earliest_instant_over_national_day(self) -> None:
        # 18 working hours; half (9h) has elapsed at the end of 30 Sep.
        result = CAL.working_midpoint(sh(2025, 9, 30, 8, 30), sh(2025, 10, 9, 17, 30))
        assert_same(result, sh(2025, 9, 30, 17, 30))

    def test_no_working_time_returns_start(self) -> None:
        assert_same(
            CAL.working_midpoint(sh(2025, 6, 14, 9), sh(2025, 6, 15, 9)), sh(2025, 6, 14, 9)
        )


# ----------------------------------------------------------------------- validation, zones


class TestValidation:
    @pytest.mark.parametrize(
        "call",
        [
            lambda naive: CAL.next_working_moment(naive),
            lambda naive: CAL.add_working_days(naive, 1),
            lambda naive: CAL.add_working_hours(naive, 1),
            lambda naive: CAL.subtract_working_hours(naive, 1),
            lambda naive: CAL.working_seconds_between(naive, sh(2025, 6, 16)),
            lambda naive: CAL.working_seconds_between(sh(2025, 6, 10), naive),
            lambda naive: CAL.working_midpoint(naive, sh(2025, 6, 16)),
            lambda naive: CAL.is_working_day(naive),
        ],
    )
    def test_naive_datetime_rejected(self, call) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            call(datetime(2025, 6, 13, 10, 0))

    def test_unknown_country(self) -> None:
        with pytest.raises(ValueError, match="XX"):
            WorkingCalendar(country="XX")

    def test_unknown_subdivision(self) -> None:
        with pytest.raises(ValueError, match="ZZ"):
            WorkingCalendar(country="DE", timezone="Europe/Berlin", subdiv="ZZ")

    def test_unknown_timezone(self) -> None:
        with pytest.raises(ValueError, match="Mars/Olympus"):
            WorkingCalendar(timezone="Mars/Olympus")


class TestWorkingHoursParse:
    def test_valid(self) -> None:
        assert WorkingHours.parse("08:30-17:30") == WorkingHours(time(8, 30), time(17, 30))
        assert WorkingHours.parse(" 9:00 - 18:00 ") == WorkingHours(time(9), time(18))
        assert str(WorkingHours.parse("07:05-16:45")) == "07:05-16:45"

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("", "HH:MM-HH:MM"),
            ("08:30", "HH:MM-HH:MM"),
            ("8.30-17.30", "HH:MM-HH:MM"),
            ("08:30-17:30-18:00", "HH:MM-HH:MM"),
            ("25:00-26:00", "not a valid time"),
            ("08:60-17:00", "not a valid time"),
            ("17:30-08:30", "end must be after"),
            ("08:30-08:30", "end must be after"),
        ],
    )
    def test_invalid(self, text: str, message: str) -> None:
        with pytest.raises(ValueError, match=message) as info:
            WorkingHours.parse(text)
        assert repr(text) in str(info.value)

    def test_constructor_checks_order(self) -> None:
        with pytest.raises(ValueError):
            WorkingHours(time(17), time(9))

    def test_custom_hours_used(self) -> None:
        cal = WorkingCalendar(hours=WorkingHours.parse("09:00-18:00"))
        assert_same(cal.add_working_days(sh(2025, 6, 13, 10), 1), sh(2025, 6, 16, 18))
        assert_same(cal.add_working_hours(sh(2025, 6, 13, 16), 4), sh(2025, 6, 16, 11))


class TestGermany:
    CAL_DE = WorkingCalendar(country="DE", timezone="Europe/Berlin")

    def test_christmas(self) -> None:
        # Wed 24 Dec 2025 + 1: 25 and 26 Dec are holidays, then the weekend -> Mon 29 Dec.
        result = self.CAL_DE.add_working_days(ber(2025, 12, 24, 10), 1)
        assert_same(result, ber(2025, 12, 29, 17, 30))
        assert result.astimezone(UTC) == datetime(2025, 12, 29, 16, 30, tzinfo=UTC)

    def test_no_make_up_days_in_germany(self) -> None:
        assert not self.CAL_DE.is_working_day(date(2025, 10, 11))
        assert not self.CAL_DE.is_working_day(date(2025, 10, 3))  # German Unity Day
        assert self.CAL_DE.is_working_day(date(2025, 10, 1))  # not a holiday here

    def test_across_dst_change(self) -> None:
        # Clocks go forward on Sun 30 Mar 2025.  Fri 28 Mar 16:30 CET + 2h: 1h on Friday, 1h
        # on Monday -> Mon 31 Mar 09:30 CEST (= 07:30 UTC).  The DST hour is not working time.
        start = ber(2025, 3, 28, 16, 30)
        result = self.CAL_DE.add_working_hours(start, 2)
        assert_same(result, ber(2025, 3, 31, 9, 30))
        assert result.astimezone(UTC) == datetime(2025, 3, 31, 7, 30, tzinfo=UTC)
        assert self.CAL_DE.working_seconds_between(start, result) == 2 * 3600

    def test_input_in_other_zone_output_in_berlin(self) -> None:
        # 09:00 Shanghai on Fri 13 Jun 2025 = 03:00 Berlin (CEST) -> office opens 08:30 Berlin.
        result = self.CAL_DE.next_working_moment(sh(2025, 6, 13, 9))
        assert result.tzinfo == BERLIN
        assert_same(result, ber(2025, 6, 13, 8, 30))

    def test_describe(self) -> None:
        assert self.CAL_DE.describe() == (
            "DE, Europe/Berlin, 08:30-17:30, 0 extra holidays, 0 extra working days"
        )


# ------------------------------------------------------------------------------ property

_START = datetime(2024, 12, 1, tzinfo=UTC)


@settings(max_examples=200, deadline=None)
@given(
    offset_minutes=st.integers(min_value=0, max_value=60 * 24 * 420),
    hours=st.floats(min_value=0, max_value=120, allow_nan=False, allow_infinity=False),
)
def test_add_then_measure_round_trips(offset_minutes: int, hours: float) -> None:
    """Adding h working hours to a working moment yields exactly h hours of working time."""
    t = CAL.next_working_moment(_START + timedelta(minutes=offset_minutes))
    result = CAL.add_working_hours(t, hours)
    assert result >= t
    assert abs(CAL.working_seconds_between(t, result) - hours * 3600) <= 1
    # And going back the same amount never lands later than where we started.
    assert CAL.subtract_working_hours(result, hours) >= t
