"""Patrol calendar on synthetic towns: frequencies by class, holidays, seasons and daily routes."""

from __future__ import annotations

import datetime as dt

import pytest

from gis_data.planning.patrol_calendar import (
    Frequencies,
    build_patrol_calendar,
    fit_crews_to_routes,
    patrol_class,
    route_calendar,
)
from gis_data.planning.work_calendar import parse_horizon
from tests.gis_data._grid_router import GridRouter, grid_towns


def test_patrol_class_from_field_and_road_class() -> None:
    """Arterial roads by road_class, local roads otherwise; fields map to their class."""
    assert patrol_class({"field": "road", "road_class": "secondary"}) == "arterial_road"
    assert patrol_class({"field": "road", "road_class": "tertiary_link"}) == "arterial_road"
    assert patrol_class({"field": "road", "road_class": "residential"}) == "local_road"
    assert patrol_class({"field": "road"}) == "local_road"
    assert patrol_class({"field": "river"}) == "river"
    assert patrol_class({"field": "other"}) == "other"


def test_month_calendar_meets_frequencies_and_skips_holidays() -> None:
    """May 2026: no patrol on こどもの日; each asset visited per its class interval."""
    towns = grid_towns(("T1", "T2"))
    cal = build_patrol_calendar(towns.assets, parse_horizon("2026-05"), metric_crs="EPSG:2056")
    assert dt.date(2026, 5, 5) not in cal.dates
    assert len(cal.dates) == 18
    assert cal.result.coverage == 1.0
    assert cal.result.gaps_within_interval
    classes = {str(r["asset_id"]): patrol_class(r) for r in towns.assets.to_dict("records")}
    visits: dict[str, int] = {}
    for _, _, assets in cal.day_sets():
        for a in assets:
            visits[a] = visits.get(a, 0) + 1
    # 18 working days: every 2 days -> 9, weekly -> 3 or 4, monthly -> 1 (parks: weekly in May).
    expected = {"arterial_road": {9}, "local_road": {3, 4}, "river": {1}, "park": {3, 4}}
    for asset_id, cls in classes.items():
        assert visits[asset_id] in expected[cls], asset_id
    assert cal.required_by_class()["local_road"] == 3 * sum(
        c == "local_road" for c in classes.values()
    )
    assert set(cal.regions) == {"T1", "T2"}


def test_park_season_switches_interval() -> None:
    """FY2026: parks weekly April-October, monthly November-March, both within their intervals."""
    towns = grid_towns(("T1",))
    freq = Frequencies(arterial_road=2)
    cal = build_patrol_calendar(towns.assets, parse_horizon("FY2026"), frequencies=freq)
    park_days = [cal.dates[d] for d, _, assets in cal.day_sets() if "T1:park" in assets]
    summer = [d for d in park_days if d.month in range(4, 11)]
    winter = [d for d in park_days if d.month not in range(4, 11)]
    n_summer = sum(1 for d in cal.dates if d.month in range(4, 11))
    n_winter = len(cal.dates) - n_summer
    assert len(summer) in (n_summer // 5, n_summer // 5 + 1)
    assert len(winter) in (n_winter // 20, n_winter // 20 + 1)
    assert cal.result.gaps_within_interval


def test_frequencies_from_config_reject_unknown_keys() -> None:
    """A typo in the config table is named."""
    assert Frequencies.from_mapping({"river": 10}).river == 10
    with pytest.raises(ValueError, match="rivr"):
        Frequencies.from_mapping({"rivr": 10}, where="four_towns.toml [calendar]")


def test_routes_per_day_reuse_identical_days() -> None:
    """Every day with work gets routes; repeated day sets are solved once."""
    towns = grid_towns(("T1", "T2"), width=2)
    cal = build_patrol_calendar(
        towns.assets,
        parse_horizon("2026-06"),
        region_of=lambda row: "all",
        depot_of={"all": "yard"},
    )
    router = GridRouter(towns)
    routed = route_calendar(cal, router)
    assert len(routed.days) == len(cal.dates)
    due = {(d, region): assets for d, region, assets in cal.day_sets()}
    assert all((r.num_routes >= 1) == bool(due[(d, g)]) for d, g, r in routed.days)
    assert routed.solves == len(router.calls) < len(cal.dates)
    busy = sum(1 for assets in due.values() if assets)
    assert routed.reused == busy - routed.solves
    assert routed.total_km() > 0
    assert routed.vehicles() >= 1
    estimate = float(cal.result.load.sum())
    assert routed.routed_over_estimate() == pytest.approx(routed.total_minutes() / estimate)


def test_contractor_calendar_works_every_weekday_and_states_the_crews_routes_need() -> None:
    """A contractor region needing several crews a day: every working day of the week carries
    work (no empty Thursdays or Fridays) and the routed calendar plans with the crews its
    busiest day needs. Short shifts make
    the small grid's work need several crews."""
    towns = grid_towns(("T1", "T2", "T3"), width=3)
    horizon = parse_horizon("2026-06")
    shift = 20.0
    cal = build_patrol_calendar(
        towns.assets,
        horizon,
        region_of=lambda row: "all",
        depot_of={"all": "yard"},
        shift_minutes=shift,
    )
    assert cal.result.load.sum() / len(cal.dates) > shift
    busy_weekdays = {cal.dates[d].weekday() for d, _, assets in cal.day_sets() if assets}
    assert busy_weekdays == {0, 1, 2, 3, 4}
    loads = cal.result.load[0]
    assert loads.min() > 0
    routed = route_calendar(cal, GridRouter(towns))
    busiest = max(r.num_routes for _, _, r in routed.days)
    assert routed.calendar.crews == (max(cal.crews[0], busiest),)


def test_a_calendar_whose_routes_need_more_crews_is_planned_again_until_they_fit() -> None:
    """Short shifts from a central yard: the first plan's routed days need more vehicles than
    its crews (the drive to the work is beyond the estimate). The fitted calendar is planned
    again with the crews those days need, and every routed day then fits its crews; the crew-days
    are the routes of the final calendar."""
    towns = grid_towns(("T1", "T2", "T3"), width=3)
    horizon = parse_horizon("2026-06")
    shift = 45.0
    router = GridRouter(towns, shift_s=int(shift * 60))
    plans: list[tuple[object, dict[str, float], tuple[int, ...]]] = []

    def plan(crews, factors):
        cal = build_patrol_calendar(
            towns.assets,
            horizon,
            region_of=lambda row: "all",
            depot_of={"all": "yard"},
            shift_minutes=shift,
            crews=crews,
            region_load_factor=factors,
        )
        plans.append((crews, dict(factors), cal.crews))
        return cal

    first = route_calendar(plan(None, {}), router)
    planned = plans[0][2]
    assert max(r.num_routes for _, _, r in first.days) > planned[0]  # the first pass under-plans
    plans.clear()
    fitted = fit_crews_to_routes(plan, lambda cal: route_calendar(cal, router))
    assert fitted.rounds == len(plans) > 1
    # The returned calendar is the last one planned, with the crews it was planned with.
    assert fitted.calendar.crews == plans[-1][2]
    assert fitted.calendar.crews[0] > planned[0]
    assert all(r.num_routes <= fitted.calendar.crews[0] for _, _, r in fitted.days)
    # Re-planned first with the region's workload scaled by what its routes took, not less.
    assert plans[1][1]["all"] > 1.0
    assert fitted.calendar.result.coverage == 1.0
    assert fitted.calendar.result.gaps_within_interval
    assert fitted.crew_days() == sum(r.num_routes for _, _, r in fitted.days)
    assert fitted.vehicles() == max(r.num_routes for _, _, r in fitted.days)


def test_a_calendar_whose_routes_fit_is_planned_once_and_the_bound_holds() -> None:
    """Routes within the crews: one plan, the same routes as `route_calendar`. With one plan
    allowed, an under-planned calendar states the crews its routed days need."""
    towns = grid_towns(("T1", "T2"), width=2)
    horizon = parse_horizon("2026-06")

    def plan(crews, factors, shift=480.0):
        return build_patrol_calendar(
            towns.assets,
            horizon,
            region_of=lambda row: "all",
            depot_of={"all": "yard"},
            shift_minutes=shift,
            crews=crews,
            region_load_factor=factors,
        )

    router = GridRouter(towns)
    fitted = fit_crews_to_routes(plan, lambda cal: route_calendar(cal, router))
    plain = route_calendar(plan(None, {}), router)
    assert fitted.rounds == 1
    assert fitted.calendar.crews == plain.calendar.crews
    assert [r for _, _, r in fitted.days] == [r for _, _, r in plain.days]
    short = GridRouter(towns, shift_s=45 * 60)
    once = fit_crews_to_routes(
        lambda c, f: plan(c, f, shift=45.0),
        lambda cal: route_calendar(cal, short),
        max_rounds=1,
    )
    assert once.rounds == 1
    assert once.calendar.crews[0] > plan(None, {}, shift=45.0).crews[0]
    assert all(r.num_routes <= once.calendar.crews[0] for _, _, r in once.days)
    with pytest.raises(ValueError, match="max_rounds"):
        fit_crews_to_routes(plan, lambda cal: route_calendar(cal, router), max_rounds=0)


def test_prefecture_roads_follow_the_prefecture_frequency() -> None:
    """T2 holds the prefecture's 県道 ([cooperation] prefecture_code): its roads are patrolled
    at the prefecture's own interval (set in [calendar]), whatever their road class, while T1's
    市町村道 and T2's other fields keep theirs."""
    from gis_data.planning.plan_settings import PlanSettings, settings_from_mapping

    towns = grid_towns(("T1", "T2"), width=2)
    settings = settings_from_mapping(
        {
            "calendar": {"prefectural_road": 10},
            "cooperation": {
                "pattern": "cooperative_road",
                "prefecture": "某県",
                "prefecture_code": "T2",
                "lead": "prefecture",
            },
        }
    )
    freq = settings.frequencies
    assert freq.prefecture_owners == {"T2"}
    assert PlanSettings().frequencies.prefecture_owners == frozenset()
    cal = build_patrol_calendar(
        towns.assets, parse_horizon("2026-06"), metric_crs="EPSG:2056", frequencies=freq
    )
    visits: dict[str, int] = {}
    for _, _, assets in cal.day_sets():
        for a in assets:
            visits[a] = visits.get(a, 0) + 1
    rows = towns.assets.drop(columns="geometry").to_dict("records")
    t2_roads = [r for r in rows if r["municipality_code"] == "T2" and r["field"] == "road"]
    assert any(r["road_class"] == "primary" for r in t2_roads)  # an arterial class for a town
    n = len(cal.dates)  # 22 working days: every 10 -> 2 or 3 visits
    for r in t2_roads:
        assert freq.class_of(r) == "prefectural_road"
        assert visits[r["asset_id"]] in (n // 10, n // 10 + 1), r["asset_id"]
    for r in rows:
        if r["municipality_code"] == "T1" and r["field"] == "road":
            expected = 2 if r["road_class"] == "primary" else 5
            assert visits[r["asset_id"]] in (n // expected, n // expected + 1), r["asset_id"]
    assert visits["T2:river"] == 1  # monthly, as a town's
    assert cal.required_by_class()["prefectural_road"] == 2 * len(t2_roads)
    assert cal.result.gaps_within_interval
    with pytest.raises(ValueError, match="prefectural_road"):
        Frequencies(prefectural_road=0)
