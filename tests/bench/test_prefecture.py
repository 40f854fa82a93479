"""The generated prefecture: a small one loads cleanly, every asset on the network, sizes add up."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.prefecture import write_prefecture


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory):
    from gis_data.planning.plan_engine import PlanSetup

    folder = tmp_path_factory.mktemp("prefecture")
    return PlanSetup.load(
        write_prefecture(folder, towns=3, block=4, rivers=3, parks=4, spacing_m=300.0)
    )


def test_small_prefecture_loads_and_matches(setup) -> None:
    """Three towns, each with its roads, 3 banks and 4 parks, all matched; yards and depots."""
    assets = setup.scenario.assets
    assert sorted(set(assets["municipality_code"])) == ["09901", "09902", "09903"]
    counts = assets.groupby("field").size().to_dict()
    assert counts["river"] == 9
    assert counts["park"] == 12
    assert counts["road"] > 3 * 2 * 4 * 4 * 0.8  # about 2 x block^2 streets per town, 8 % cut
    assert setup.unmatched == []
    assert len(setup.depots_of_kind("town")) == 3
    assert len(setup.depots_of_kind("contractor")) == 1


def test_road_km_matches_the_network(setup) -> None:
    """Every street is a road asset: their length equals the network's street km (within 5 %)."""
    roads = setup.scenario.assets
    roads = roads[roads["field"] == "road"].to_crs(setup.scenario.metric_crs)
    km = roads.geometry.length.sum() / 1000
    assert km == pytest.approx(setup.network.summary.street_km, rel=0.05)
    assert km == pytest.approx(len(roads) * 0.3, rel=0.1)  # 300 m blocks


def test_generator_is_seeded(tmp_path: Path) -> None:
    """The same seed writes the same files."""
    a = write_prefecture(tmp_path / "a", towns=2, block=3, rivers=1, parks=1)
    b = write_prefecture(tmp_path / "b", towns=2, block=3, rivers=1, parks=1)
    assert (a.parent / "roads.osm").read_bytes() == (b.parent / "roads.osm").read_bytes()
    assert a.read_text().replace("/a", "/b") == b.read_text()


@pytest.mark.slow  # two LocalClusters of worker processes: about 40 s
def test_plan_is_the_same_with_one_and_two_workers(tmp_path: Path) -> None:
    """Count-based stops everywhere: 1 and 2 Dask workers give the same regions and routes."""
    from bench.prefecture import run_pipeline

    config = write_prefecture(tmp_path, towns=4, block=3, rivers=2, parks=2)
    rows = [
        run_pipeline(
            config, workers=w, regions=2, month="2026-06", region_iterations=2, iterations=2
        )
        for w in (1, 2)
    ]
    assert rows[0]["day_solves"] > 1
    assert rows[0]["plan"] == rows[1]["plan"]
    assert rows[0]["month_km"] == rows[1]["month_km"]


def test_fingerprint_sees_a_changed_region_or_route() -> None:
    """Moving one asset to another region or lengthening one route changes the fingerprint."""
    from bench.prefecture import plan_fingerprint
    from gis_data.planning.day_routes import DayRoutes

    day = DayRoutes(route_km=(12.5, 3.25), route_minutes=(300.0, 80.0), method="test")
    longer = DayRoutes(route_km=(12.5, 3.5), route_minutes=(300.0, 80.0), method="test")
    regions = {"a": "1", "b": "2"}
    base = plan_fingerprint(regions, {"1": day}, [(0, "1", day)])
    assert plan_fingerprint(dict(regions), {"1": day}, [(0, "1", day)]) == base
    assert plan_fingerprint({"a": "2", "b": "2"}, {"1": day}, [(0, "1", day)]) != base
    assert plan_fingerprint(regions, {"1": day}, [(0, "1", longer)]) != base
    assert plan_fingerprint(regions, {"1": longer}, [(0, "1", day)]) != base
