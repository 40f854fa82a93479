"""Working days: months and fiscal years, weekends, Japanese holidays and the year-end closure."""

from __future__ import annotations

import datetime as dt

import pytest

from gis_data.planning.work_calendar import WorkRules, parse_horizon, working_days


def test_fiscal_year_runs_april_to_march() -> None:
    """FY2026 is 2026-04-01 .. 2027-03-31."""
    h = parse_horizon("FY2026")
    assert (h.first, h.last) == (dt.date(2026, 4, 1), dt.date(2027, 3, 31))
    assert len(h.dates()) == 365


def test_known_holidays_and_weekends_are_off() -> None:
    """こどもの日 2026-05-05 and 文化の日 2026-11-03 are off, as are weekends; a Monday is on."""
    days = set(working_days(parse_horizon("FY2026")))
    assert dt.date(2026, 5, 5) not in days
    assert dt.date(2026, 11, 3) not in days
    assert dt.date(2026, 5, 9) not in days  # Saturday
    assert dt.date(2026, 5, 11) in days  # Monday
    assert all(d.weekday() < 5 for d in days)
    rules = WorkRules()
    assert rules.day_off_reason(dt.date(2026, 5, 5)) == "こどもの日"
    assert rules.day_off_reason(dt.date(2026, 5, 9)) == "土曜日"


def test_golden_week_month_count() -> None:
    """May 2026 has 21 weekdays, 3 of them holidays (May 4, 5, 6): 18 working days."""
    assert len(working_days(parse_horizon("2026-05"))) == 18


def test_year_end_closure_is_optional() -> None:
    """Dec 29-31 2026 are weekdays: off by default, working when the closure is not kept."""
    h = parse_horizon("2026-12")
    default = working_days(h)
    open_all = working_days(h, WorkRules(year_end_off=False))
    closure = {dt.date(2026, 12, 29), dt.date(2026, 12, 30), dt.date(2026, 12, 31)}
    assert not closure & set(default)
    assert closure <= set(open_all)


def test_weekends_can_be_worked() -> None:
    """With no weekend, Saturdays count as working days."""
    days = working_days(parse_horizon("2026-06"), WorkRules(weekend=frozenset()))
    assert dt.date(2026, 6, 6) in days
    assert len(days) == 30


@pytest.mark.parametrize("text", ["2026-13", "FY26", "April", ""])
def test_bad_horizon_is_named(text: str) -> None:
    """An unreadable horizon is refused with the text in the message."""
    with pytest.raises(ValueError, match="horizon"):
        parse_horizon(text)
