"""Working days of a patrol horizon: a month or a Japanese fiscal year, holidays and weekends off.

Japanese public holidays (国民の祝日, including substitute holidays 振替休日) come from the
maintained ``jpholiday`` package; weekends are off unless configured; the year-end closure of
public offices (年末年始, Dec 29 - Jan 3) is off by default and can be kept as working days.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

import jpholiday

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_FISCAL_YEAR = re.compile(r"^FY(\d{4})$", re.IGNORECASE)
_WEEKDAY_NAMES = ("月曜日", "火曜日", "水曜日", "木曜日", "金曜日", "土曜日", "日曜日")


@dataclass(frozen=True)
class Horizon:
    """A span of calendar days ``first .. last`` (both included) with a label like '2026-04'."""

    label: str
    first: dt.date
    last: dt.date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError(f"horizon {self.label!r}: last day {self.last} before {self.first}")

    def dates(self) -> list[dt.date]:
        """Every calendar day of the horizon."""
        n = (self.last - self.first).days + 1
        return [self.first + dt.timedelta(days=k) for k in range(n)]


def parse_horizon(text: str) -> Horizon:
    """A month ``YYYY-MM`` or a fiscal year ``FYYYYY`` (April 1 to March 31 of the next year)."""
    text = text.strip()
    if m := _MONTH.match(text):
        year, month = int(m.group(1)), int(m.group(2))
        if not 1 <= month <= 12:
            raise ValueError(f"horizon {text!r}: month must be 01..12")
        last_day = calendar.monthrange(year, month)[1]
        return Horizon(
            f"{year}-{month:02d}", dt.date(year, month, 1), dt.date(year, month, last_day)
        )
    if m := _FISCAL_YEAR.match(text):
        year = int(m.group(1))
        return Horizon(f"FY{year}", dt.date(year, 4, 1), dt.date(year + 1, 3, 31))
    raise ValueError(f"horizon {text!r}: expected a month 'YYYY-MM' or a fiscal year 'FYYYYY'")


def is_year_end_closure(day: dt.date) -> bool:
    """Whether ``day`` falls in the year-end closure of public offices (Dec 29 - Jan 3)."""
    return (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3)


@dataclass(frozen=True)
class WorkRules:
    """Which days are off: weekdays in ``weekend`` (Monday = 0), public holidays, year-end."""

    weekend: frozenset[int] = frozenset({5, 6})
    public_holidays_off: bool = True
    year_end_off: bool = True

    def day_off_reason(self, day: dt.date) -> str | None:
        """Why ``day`` is off ('土曜', a holiday's name, '年末年始'), or None for a working day."""
        if self.public_holidays_off:
            name = jpholiday.is_holiday_name(day)
            if name:
                return str(name)
        if self.year_end_off and is_year_end_closure(day):
            return "年末年始"
        if day.weekday() in self.weekend:
            return _WEEKDAY_NAMES[day.weekday()]
        return None


def working_days(horizon: Horizon, rules: WorkRules | None = None) -> list[dt.date]:
    """The working days of ``horizon``, in order."""
    rules = rules or WorkRules()
    return [d for d in horizon.dates() if rules.day_off_reason(d) is None]
