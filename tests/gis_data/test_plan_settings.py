"""Plan settings TOML: defaults, every table read, unknown keys and bad values named."""

from __future__ import annotations

from pathlib import Path

import pytest

from gis_data.planning.plan_settings import PlanSettings, read_settings


def test_defaults_without_a_file() -> None:
    """No file: FY2026, 8-hour shifts, weekly local roads, 3-year performance-based contract."""
    s = read_settings(None)
    assert isinstance(s, PlanSettings)
    assert (s.horizon, s.shift_hours, s.frequencies.local_road) == ("FY2026", 8.0, 5)
    assert s.report.contract_years == 3
    assert s.report.performance_spec
    assert s.phases == ()


def test_every_table_is_read(tmp_path: Path) -> None:
    """Horizon, calendar, work days, costs, phases and report options come from the file."""
    path = tmp_path / "plan.toml"
    path.write_text(
        """
horizon = "2026-04"
shift_hours = 7.5
[calendar]
river = 10
growing_months = [5, 6]
[work_days]
weekend = [6]
year_end_off = false
[costs]
crew_hour_yen = 7000
[[phase]]
label = "第1期"
start = "FY2027"
towns = ["LI-7001"]
[report]
contract_years = 0
performance_spec = false
scope = { road = ["巡回", "点検"] }
""",
        encoding="utf-8",
    )
    s = read_settings(path)
    assert s.horizon == "2026-04"
    assert s.shift_hours == 7.5
    assert s.frequencies.river == 10
    assert s.frequencies.growing_months == frozenset({5, 6})
    assert s.rules.weekend == frozenset({6})
    assert not s.rules.year_end_off
    assert s.costs.crew_hour_yen == 7000
    assert s.phases[0].towns == ("LI-7001",)
    assert s.phases[0].start == "FY2027"
    assert s.report.scope == {"road": ["巡回", "点検"]}
    assert s.report.contract_years == 0


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("horizon = 'FY26'", "horizon"),
        ("colour = 1", "colour"),
        ("[calendar]\nrivers = 3", "rivers"),
        ("[calendar]\nriver = 0", "river"),
        ("[costs]\ncrew_hour_yen = -1", "crew_hour_yen"),
        ("[[phase]]\nlabel = 'x'", "towns"),
        ("[report]\ncolor = 'red'", "color"),
    ],
)
def test_bad_settings_are_named(tmp_path: Path, text: str, match: str) -> None:
    """Unknown keys and bad values are refused with the key in the message."""
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=match):
        read_settings(path)


def test_cooperation_cost_share_and_budget_tables(tmp_path) -> None:
    """The structured scheme, the council formula and the budget rates come from their tables;
    a typo names the table."""
    path = tmp_path / "plan.toml"
    path.write_text(
        """
[cooperation]
pattern = "cooperative_road"
lead = "prefecture"
prefecture = "静岡県"
admin_fee_rate = 0.03

[cost_share]
equal = 1
population = 1
actual = 2
basis = "asset_km"
departments = { park = "都市計画課" }

[budget]
management_fee_rate = 0.08
""",
        encoding="utf-8",
    )
    s = read_settings(path)
    assert s.cooperation.label == "連携協力道路制度"
    assert s.cooperation.lead == "prefecture"
    assert s.cost_share.weights == (0.25, 0.25, 0.5)
    assert s.cost_share.departments == {"park": "都市計画課"}
    assert s.budget.management_fee_rate == 0.08
    assert s.budget.overhead_rate == 0.30
    path.write_text("[cost_share]\nequl = 1\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"\[cost_share\].*equl"):
        read_settings(path)
