"""How official Japanese documents write years, dates, changes and road classes.

- Fiscal years and dates in the Reiwa era (令和元年 = 2019): ``FY2026`` is 令和8年度 (April 2026
  to March 2027), 2026-12-05 is 令和8年12月5日, the month ``2026-04`` is 令和8年4月.
- A change is written with its direction, never with a minus sign: a saving of -1,234 yen is
  「1,234円の増加」.
- Road classes as town planners know them from the road ledger (道路台帳): 1級, 2級 and その他
  市町村道. The town's own 道路種別 is used when the data carries it; OSM ``highway`` tags are
  mapped by role (trunk roads of the network to 1級, connecting roads to 2級, the rest to その他),
  which is an approximation stated wherever the class is shown.
"""

from __future__ import annotations

import datetime as dt
import re

REIWA_START = 2019

_FY = re.compile(r"^FY(\d{4})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def reiwa_year(year: int) -> str:
    """令和N年 of a Gregorian ``year`` (2019 is 令和元年); years before 2019 stay as they are."""
    if year < REIWA_START:
        return f"{year}年"
    n = year - REIWA_START + 1
    return "令和元年" if n == 1 else f"令和{n}年"


def fiscal_year(year: int) -> str:
    """令和N年度 of the fiscal year starting in April ``year``."""
    return reiwa_year(year) + "度"


def date_ja(day: dt.date) -> str:
    """令和N年M月D日."""
    return f"{reiwa_year(day.year)}{day.month}月{day.day}日"


def horizon_ja(label: str) -> str:
    """A horizon label (``FY2026`` or ``2026-04``) as 令和8年度 or 令和8年4月; others unchanged."""
    m = _FY.match(label)
    if m:
        return fiscal_year(int(m.group(1)))
    m = _MONTH.match(label)
    if m:
        return f"{reiwa_year(int(m.group(1)))}{int(m.group(2))}月"
    return label


def start_year(label: str) -> int | None:
    """The Gregorian year a horizon label starts in (None when it is neither form)."""
    m = _FY.match(label) or _MONTH.match(label)
    return int(m.group(1)) if m else None


def change(
    value: float, unit: str, *, less: str = "削減", more: str = "増加", digits: int = 0
) -> str:
    """``value`` as a signed change: positive is ``less`` (a saving), negative ``more``."""
    word = less if value >= 0 else more
    return f"{abs(value):,.{digits}f}{unit}の{word}"


# The town's 道路種別 as written in ledgers, and the class each stands for.
_LEDGER_CLASSES = {
    "1級": "1級",
    "一級": "1級",
    "1": "1級",
    "2級": "2級",
    "二級": "2級",
    "2": "2級",
    "その他": "その他",
    "3": "その他",
}
# OSM highway tags by role in the network (approximation, see the module docstring).
_OSM_FIRST = {"motorway", "trunk", "primary", "secondary", "tertiary"}
_OSM_SECOND = {"unclassified"}
ROAD_CLASSES = ("1級", "2級", "その他")


def road_class_ja(value: object) -> str:
    """1級, 2級 or その他 for a road_class value (the town's 道路種別 or an OSM highway tag)."""
    text = str(value or "").strip()
    for key, cls in _LEDGER_CLASSES.items():
        if text == key or text.startswith((key + "市", key + "町", key + "村")):
            return cls
    tag = text.lower().removesuffix("_link")
    if tag in _OSM_FIRST:
        return "1級"
    if tag in _OSM_SECOND:
        return "2級"
    return "その他"
