"""China's working days from a kept calendar library: public holidays and 调休 make-up days.

The library's data covers the years whose holiday schedule the State Council has published
(2004 to 2026 in the version locked); for a later year it answers Monday to Friday, and says so
once in the log, until the library is updated. Communities' own closed days are added by the
workflow (workflows.worktime.WithClosedDays).
"""

from __future__ import annotations

import logging
from datetime import date

import chinese_calendar  # type: ignore[import-untyped]

log = logging.getLogger(__name__)


class ChinaCalendar:
    """Working days in mainland China: weekdays, less public holidays, plus 调休 weekend days."""

    def __init__(self) -> None:
        self._unknown_years: set[int] = set()

    def is_workday(self, day: date) -> bool:
        """Return whether people work on this date in China."""
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            if day.year not in self._unknown_years:
                self._unknown_years.add(day.year)
                log.warning(
                    "calendar: no holiday data for %d; counting Monday to Friday as working days "
                    "(update the chinesecalendar package)",
                    day.year,
                )
            return day.weekday() < 5


CHINA = ChinaCalendar()
