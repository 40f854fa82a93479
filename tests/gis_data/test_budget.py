"""The budget estimate: the intake's contracts and hours as the status quo, new costs of the
bundle, ordering work before and after; each line's source and the totals."""

from __future__ import annotations

import pytest

from gis_data.planning.budget import BudgetRates, budget_estimate
from gis_data.planning.effects import PlanCosting, estimate_effects
from gis_data.planning.work_calendar import parse_horizon
from gis_data.workbench.intake import Intake, OrderRecord, StaffRecord
from tests.gis_data._grid_router import GridRouter, grid_towns

CODES = ("T1", "T2")
NAMES = {"T1": "一町", "T2": "二村"}
PCT = {"planning": 10.0, "inspection": 30.0, "works": 10.0, "maintenance": 40.0, "counter": 10.0}
AGES = {"under30": 0, "30s": 1, "40s": 1, "50s": 2, "60plus": 1}


@pytest.fixture(scope="module")
def effects():
    towns = grid_towns(CODES, width=2)
    costing = PlanCosting(
        towns.assets, GridRouter(towns), parse_horizon("FY2026"), metric_crs="EPSG:2056"
    )
    return estimate_effects(
        costing, town_depots={c: f"depot:{c}" for c in CODES}, bundle_depots="yard"
    )


def _shares(effects):
    total = effects.bundled.cost_yen
    return {"T1": 0.4 * total, "T2": 0.6 * total}


def test_with_an_intake_the_status_quo_is_the_contracts_and_the_reported_hours(effects) -> None:
    """T1 filled the intake: its contracts and staff hours are the status quo (source intake);
    T2 did not: the engine's estimate, labelled. New costs are rates of the modelled work."""
    intake = Intake(
        staff=(StaffRecord("T1", "一町", AGES, PCT, PCT),),
        orders=(
            OrderRecord("建設課", "T1", "road", "patrol", "annual", 3_000_000, tenders=3),
            OrderRecord("建設課", "T1", "park", "patrol", "per_job", 500_000),
            OrderRecord("建設課", "T1", "road", "works", "per_job", 9_000_000),  # not modelled
        ),
    )
    rates = BudgetRates(management_fee_rate=0.1, overhead_rate=0.25, staff_hours_per_tender=40)
    shares = _shares(effects)
    b = budget_estimate(effects, shares=shares, names=NAMES, rates=rates, contract_years=5,
                        first_year=2026, regions=1, intake=intake)  # fmt: skip
    t1, t2 = b.towns
    lines1 = {x.item: x for x in t1.lines}
    assert t1.from_intake
    assert not t2.from_intake
    assert lines1["現行の委託契約"].before == 3_500_000
    assert lines1["現行の委託契約"].source == "intake"
    assert lines1["職員の直営対応時間（点検・日常維持）"].before == pytest.approx(5 * 1860 * 0.7)
    assert lines1["職員の直営対応時間（点検・日常維持）"].source == "intake"
    # 1 annual tender (3 over 3 years) + 6 per-job rounds, before; 1 tender per 5 years for 2.
    assert lines1["発注事務の職員時間"].before == pytest.approx(7 * 40)
    assert lines1["発注事務の職員時間"].after == pytest.approx(40 / 5 / 2)
    assert lines1["全体マネジメント業務費"].after == pytest.approx(0.1 * shares["T1"])
    assert lines1["諸経費"].after == pytest.approx(0.25 * shares["T1"])
    lines2 = {x.item: x for x in t2.lines}
    assert lines2["現状の巡回費用（推計）"].source == "engine"
    assert "記入なし" in lines2["現状の巡回費用（推計）"].note
    assert b.years == (2026, 2027, 2028, 2029, 2030)
    assert b.scale == 1.0
    after = sum(x.after or 0.0 for t in b.towns for x in t.lines if x.unit == "円")
    assert b.total("after") == pytest.approx(after)
    assert [r["saving"] for r in b.year_rows()] == [b.total("before") - b.total("after")] * 5


def test_without_an_intake_every_town_gets_the_engine_estimate(effects) -> None:
    """No intake: the siloed engine cost per town, the engine's staff hours; the modelled work
    adds up to the bundled cost."""
    shares = _shares(effects)
    b = budget_estimate(effects, shares=shares, names=NAMES, rates=BudgetRates(),
                        contract_years=3, first_year=2026, regions=1)  # fmt: skip
    before = sum(x.before or 0.0 for t in b.towns for x in t.lines if x.item.startswith("現状"))
    assert before == pytest.approx(effects.siloed.cost_yen)
    modelled = sum(x.after for t in b.towns for x in t.lines if x.item.startswith("巡回等"))
    assert modelled == pytest.approx(effects.bundled.cost_yen)
    hours = sum(t.lines[-2].before for t in b.towns)
    assert hours == pytest.approx(effects.siloed.staff_hours)
    assert {x.source for t in b.towns for x in t.lines} == {"engine", "setting"}


def test_rates_from_settings_reject_unknown_keys() -> None:
    """A typo in [budget] is named."""
    assert BudgetRates.from_mapping({"overhead_rate": 0.2}).overhead_rate == 0.2
    with pytest.raises(ValueError, match="overhed"):
        BudgetRates.from_mapping({"overhed_rate": 0.2}, where="plan.toml [budget]")
