"""Working-time arithmetic: lunch, evenings, weekends, China's holidays and 调休, closed days."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

import pytest

from storage.calendar import ChinaCalendar
from workflows.worktime import (
    SHANGHAI,
    WithClosedDays,
    WorkingHours,
    add_working_time,
    working_minutes_between,
)

HOURS = WorkingHours.parse("08:30-12:00, 13:30-17:30")
CHINA = ChinaCalendar()


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """Return a Shanghai local moment."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def deadline(start: datetime, minutes: int, closed: frozenset[date] = frozenset()) -> datetime:
    """Return the deadline `minutes` working minutes after `start`, in Shanghai time."""
    calendar = WithClosedDays(CHINA, closed)
    return add_working_time(start, timedelta(minutes=minutes), HOURS, calendar).astimezone(SHANGHAI)


@pytest.mark.parametrize(
    ("start", "minutes", "expected"),
    [
        # Within the morning: plain arithmetic.
        (local(2026, 11, 3, 9), 60, local(2026, 11, 3, 10)),
        # Across the lunch break: 30 minutes before it, 30 after.
        (local(2026, 11, 3, 11, 30), 60, local(2026, 11, 3, 14)),
        # Exactly at the end of the morning: the deadline is noon, not 13:30.
        (local(2026, 11, 3, 11), 60, local(2026, 11, 3, 12)),
        # Across an evening: 30 minutes on Tuesday, 30 on Wednesday morning.
        (local(2026, 11, 3, 17), 60, local(2026, 11, 4, 9)),
        # Placed at night: the clock starts when work does.
        (local(2026, 11, 3, 22), 60, local(2026, 11, 4, 9, 30)),
        # Across a weekend: Friday 17:00 + 1 working hour is Monday 09:00.
        (local(2026, 11, 6, 17), 60, local(2026, 11, 9, 9)),
        # Two working days (16 hours) from Friday 17:00 end on Wednesday 09:00.
        (local(2026, 11, 6, 17), 16 * 60, local(2026, 11, 11, 9)),
        # National Day 2026 (1–7 October, a Thursday to a Wednesday): nothing counts until the 8th.
        (local(2026, 9, 30, 17), 60, local(2026, 10, 8, 9)),
        # 调休: Saturday 10 October 2026 is worked in place of a National Day day.
        (local(2026, 10, 9, 17), 60, local(2026, 10, 10, 9)),
        # 调休: Saturday 14 February 2026 is worked before the Spring Festival holiday.
        (local(2026, 2, 13, 17), 60, local(2026, 2, 14, 9)),
        # Beyond the library's data (2027): Monday to Friday.
        (local(2027, 3, 5, 17), 60, local(2027, 3, 8, 9)),
    ],
)
def test_deadlines_count_working_minutes_only(
    start: datetime, minutes: int, expected: datetime
) -> None:
    assert deadline(start, minutes) == expected


def test_the_calendar_knows_holidays_and_make_up_saturdays() -> None:
    assert not CHINA.is_workday(date(2026, 10, 1))  # National Day
    assert not CHINA.is_workday(date(2026, 10, 7))
    assert CHINA.is_workday(date(2026, 10, 10))  # a Saturday, worked (调休)
    assert not CHINA.is_workday(date(2026, 11, 7))  # an ordinary Saturday
    assert CHINA.is_workday(date(2026, 11, 6))  # an ordinary Friday


def test_a_community_closed_day_does_not_count() -> None:
    """Monday 17:00 + 1 working hour, with Tuesday closed: Wednesday 09:00."""
    closed = frozenset({date(2026, 11, 3)})
    assert deadline(local(2026, 11, 2, 17), 60, closed) == local(2026, 11, 4, 9)


def test_a_year_beyond_the_data_counts_weekdays_and_says_so_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calendar = ChinaCalendar()
    with caplog.at_level(logging.WARNING, logger="storage.calendar"):
        assert calendar.is_workday(date(2031, 3, 7))  # a Friday
        assert not calendar.is_workday(date(2031, 3, 8))  # a Saturday
        assert calendar.is_workday(date(2031, 3, 10))
    warnings = [r for r in caplog.records if "2031" in r.getMessage()]
    assert len(warnings) == 1


@pytest.mark.parametrize(
    ("start", "end", "minutes"),
    [
        (local(2026, 11, 3, 11, 30), local(2026, 11, 3, 14), 60),
        (local(2026, 11, 6, 17), local(2026, 11, 9, 9), 60),
        (local(2026, 9, 30, 17), local(2026, 10, 8, 9), 60),
        (local(2026, 10, 9, 17), local(2026, 10, 10, 9), 60),
        (local(2026, 11, 3, 12, 15), local(2026, 11, 3, 13, 15), 0),  # lunch only
        (local(2026, 11, 3, 14), local(2026, 11, 3, 9), 0),  # backwards
        (local(2026, 11, 2, 8, 30), local(2026, 11, 2, 17, 30), 450),  # a whole day
    ],
)
def test_working_minutes_between_two_moments(start: datetime, end: datetime, minutes: int) -> None:
    assert working_minutes_between(start, end, HOURS, CHINA) == minutes


def test_deadlines_and_elapsed_time_agree() -> None:
    start = local(2026, 9, 29, 10, 17).astimezone(UTC)
    for minutes in (1, 59, 210, 450, 451, 2000, 9000):
        end = add_working_time(start, timedelta(minutes=minutes), HOURS, CHINA)
        assert working_minutes_between(start, end, HOURS, CHINA) == minutes


@pytest.mark.parametrize(
    "text", ["8:30", "08:30-12:00; 13:30-17:30", "12:00-08:30", "08:30-12:00, 11:00-17:30", ""]
)
def test_working_hours_that_make_no_sense_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        WorkingHours.parse(text)
