"""Japanese official wording: Reiwa years and dates, signed changes, road classes."""

from __future__ import annotations

import datetime as dt

from gis_data.workbench.ja_format import (
    change,
    date_ja,
    fiscal_year,
    horizon_ja,
    road_class_ja,
)


def test_reiwa_years_and_dates() -> None:
    """令和8年度 = FY2026; 2019 is 令和元年; months and dates in the era."""
    assert fiscal_year(2026) == "令和8年度"
    assert horizon_ja("FY2026") == "令和8年度"
    assert horizon_ja("2026-04") == "令和8年4月"
    assert date_ja(dt.date(2019, 5, 1)) == "令和元年5月1日"
    assert date_ja(dt.date(2026, 12, 5)) == "令和8年12月5日"


def test_a_negative_saving_is_an_increase() -> None:
    """No minus sign in the text: the direction is a word."""
    assert change(1234.4, "円") == "1,234円の削減"
    assert change(-1234.4, "円") == "1,234円の増加"
    assert change(-2.5, "時間", digits=1) == "2.5時間の増加"


def test_road_classes_from_the_ledger_or_osm() -> None:
    """The town's 道路種別 wins; OSM tags map by role in the network."""
    assert road_class_ja("1級") == "1級"
    assert road_class_ja("二級市町村道") == "2級"
    assert road_class_ja("その他") == "その他"
    assert road_class_ja("tertiary_link") == "1級"
    assert road_class_ja("unclassified") == "2級"
    assert road_class_ja("residential") == "その他"
    assert road_class_ja(None) == "その他"
