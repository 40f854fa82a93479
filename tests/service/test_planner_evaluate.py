"""The planner's Evaluate never misleads: plans that would be scored unfairly come back as errors.

Overlapping drawn regions, work in two regions, towns both clicked and drawn, regions with
nothing in them and work in no region are named (in the page's language) and the plan's scores
are left out; a clean plan is scored.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import box, mapping

from service.config import Settings
from service.db import get_engine, migrate, session_factory
from service.main import create_app
from service.map_data import SCORES
from tests.service.api.job_runs import wait_for_job
from tests.service.pages_data import Seeded, loaded, seed, small_scenario_toml

pytestmark = pytest.mark.xdist_group("pages")


@pytest.fixture(scope="module")
def planner(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("evaluate")
    url = f"sqlite:///{folder / 'gunmane.sqlite'}"
    migrate(url)
    toml = small_scenario_toml(folder)
    session = session_factory(get_engine(url))()
    try:
        data = seed(session, toml)
    finally:
        session.close()
    towns = loaded(toml).municipalities.to_crs(4326).set_index("municipality_code").geometry
    # Routed figures from a count of solver iterations: the same on every machine.
    settings = Settings(DATABASE_URL=url, EVALUATE_ROUTE_ITERATIONS=20)
    with TestClient(create_app(settings)) as client:
        yield client, data, towns


def _feature(region: int, geom: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"region": region}, "geometry": mapping(geom)}


def _evaluate(client: TestClient, data: Seeded, **body: Any) -> dict[str, Any]:
    answer = client.post(
        "/api/v1/plans/evaluate",
        json={"scenario": data.scenario_id, **body},
        headers={"X-API-Key": data.keys["planner"]},
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _polygons(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def _codes(result: dict[str, Any]) -> list[str]:
    return [e["code"] for e in result["errors"]]


def _unscored(result: dict[str, Any]) -> None:
    assert all(result["figures"][key] is None for key in SCORES), result["figures"]
    assert result["regions"] == []


def test_a_clean_plan_is_scored(planner):
    client, data, towns = planner
    codes = list(towns.index)
    drawn = _polygons(
        _feature(1, towns[codes[0]]),
        _feature(2, shapely.union_all([towns[c] for c in codes[1:]])),
    )
    result = _evaluate(client, data, polygons=drawn, k=2)
    # The towns touch along their shared borders: touching is not overlapping.
    assert result["errors"] == []
    assert result["figures"]["balance"] >= 1.0
    assert result["figures"]["contiguous"] is not None
    assert len(result["regions"]) == 2


def test_overlapping_regions_are_an_error_not_a_score(planner):
    """Two regions drawn over the same town: both would be credited with its work."""
    client, data, towns = planner
    codes = list(towns.index)
    everything = shapely.union_all(list(towns)).buffer(0.001)
    drawn = _polygons(_feature(1, everything), _feature(2, towns[codes[0]]))
    result = _evaluate(client, data, polygons=drawn, k=2, lang="en")
    assert "overlap" in _codes(result)
    assert "double" in _codes(result)
    overlap = next(e for e in result["errors"] if e["code"] == "overlap")
    assert "Regions 1 and 2 overlap" in overlap["message"]
    _unscored(result)


def test_towns_clicked_and_drawn_is_an_error(planner):
    client, data, towns = planner
    codes = list(towns.index)
    everything = shapely.union_all(list(towns)).buffer(0.001)
    result = _evaluate(
        client, data, polygons=_polygons(_feature(1, everything)), towns={codes[0]: 2}, k=2
    )
    assert "towns_and_drawn" in _codes(result)
    message = next(e for e in result["errors"] if e["code"] == "towns_and_drawn")["message"]
    assert "自治体のクリック" in message  # Japanese by default
    _unscored(result)


def test_region_drawn_outside_every_town_is_an_error(planner):
    """A rectangle where there is no work used to score "contiguous: yes"."""
    client, data, towns = planner
    *_, maxx, maxy = shapely.union_all(list(towns)).bounds
    far = box(maxx + 0.5, maxy + 0.5, maxx + 0.6, maxy + 0.6)
    everything = shapely.union_all(list(towns)).buffer(0.001)
    result = _evaluate(
        client, data, polygons=_polygons(_feature(1, everything), _feature(2, far)), k=2
    )
    assert _codes(result) == ["drawn_empty"]
    _unscored(result)


def test_empty_region_and_unassigned_work_are_errors(planner):
    client, data, towns = planner
    codes = list(towns.index)
    # Three regions chosen, two used: region 3 is empty; the third town is in no region.
    result = _evaluate(client, data, towns={codes[0]: 1, codes[1]: 2}, k=3, lang="en")
    assert _codes(result) == ["region_empty", "unassigned"]
    assert "region 3" in result["errors"][0]["message"]
    assert result["figures"]["unassigned"] > 0  # the count stays, the scores go
    _unscored(result)


def test_every_town_alone_can_be_chosen_on_the_page(planner):
    """The planner page offers any number of regions up to the number of towns."""
    client, data, towns = planner
    page = client.get(
        "/planner",
        params={"scenario": data.scenario_id, "lang": "en"},
        headers={"X-API-Key": data.keys["planner"]},
    )
    options = page.text.split('id="k-select"', 1)[1].split("</select>", 1)[0]
    assert options.count("<option") == len(towns)
    assert f'data-region="{len(towns)}"' in page.text


def _routed(client: TestClient, data: Seeded, **body: Any) -> dict[str, Any]:
    headers = {"X-API-Key": data.keys["planner"]}
    started = client.post(
        "/api/v1/plans/evaluate/routing",
        json={"scenario": data.scenario_id, **body},
        headers=headers,
    )
    assert started.status_code in (200, 201), started.text
    url = started.headers["Location"]
    job = wait_for_job(client, url, headers, timeout=180)
    assert job["status"] == "successful", job["message"]
    return dict(client.get(f"{url}/results", headers=headers).json())


def test_different_plans_get_different_routed_patrol_times(planner):
    """One region for the three towns against each town its own region (drawn): each region is
    routed from its yard, so the plans' patrol times differ; the saving against the towns
    alone is a number for the drawn plan too, alone minus plan."""
    client, data, towns = planner
    codes = list(towns.index)
    one = _routed(client, data, towns=dict.fromkeys(codes, 1), k=1)
    drawn = _polygons(*(_feature(i, towns[c]) for i, c in enumerate(codes, start=1)))
    three = _routed(client, data, polygons=drawn, k=len(codes))
    assert one["errors"] == []
    assert three["errors"] == []
    assert len(one["regions"]) == 1
    assert len(three["regions"]) == len(codes)
    assert one["plan"]["hours"] != three["plan"]["hours"]
    assert three["plan"]["hours"] == pytest.approx(
        sum(r["hours"] for r in three["regions"]), abs=1e-2
    )
    assert three["alone"] == {**one["alone"], "cached": True}
    saving = three["saving"]["hours"]
    assert saving == pytest.approx(three["alone"]["hours"] - three["plan"]["hours"], abs=1e-3)


def test_the_stored_plan_compared_with_is_routed_alike(planner):
    """Nothing drawn and a stored regions plan named: that plan's regions are routed."""
    client, data, _ = planner
    stored = _routed(client, data, compare_plan=data.plan_id)
    assert [r["label"] for r in stored["regions"]] == ["1", "2"]
    assert stored["plan"]["hours"] > 0
    assert stored["saving"]["hours"] == pytest.approx(
        stored["alone"]["hours"] - stored["plan"]["hours"], abs=1e-3
    )


def _depots(client: TestClient, data: Seeded) -> dict[str, dict[str, Any]]:
    answer = client.get(
        f"/api/v1/scenarios/{data.scenario_id}/depots",
        headers={"X-API-Key": data.keys["planner"]},
    )
    assert answer.status_code == 200, answer.text
    return {f["id"]: f for f in answer.json()["features"]}


def test_a_region_is_routed_from_the_depot_the_planner_chose(planner):
    """The three towns as one region: automatically routed from the contractor yard in its
    towns; with a town depot chosen, its routes start there and the patrol differs."""
    client, data, towns = planner
    codes = list(towns.index)
    depots = _depots(client, data)
    body = {"towns": dict.fromkeys(codes, 1), "k": 1}
    auto = _routed(client, data, **body)
    (auto_region,) = auto["regions"]
    assert auto_region["starts"], auto_region
    # A depot of another town than the automatic one's, far from it.
    auto_at = shapely.geometry.shape(depots[auto_region["starts"][0]]["geometry"])
    pick = max(
        (d for d in depots if d not in auto_region["depots"]),
        key=lambda d: shapely.geometry.shape(depots[d]["geometry"]).distance(auto_at),
    )
    chosen = _routed(client, data, **body, depots={"1": pick})
    (region,) = chosen["regions"]
    assert chosen["errors"] == []
    assert region["depots"] == [pick]
    assert region["starts"] == [pick]  # the solved routes leave from it, not just a label
    assert region["hours"] != auto_region["hours"]
    assert region["km"] != auto_region["km"]
    assert chosen["cache_key"] != auto["cache_key"]
    # The instant evaluation names the chosen depot in the region's row; none chosen: null.
    rows = _evaluate(client, data, **body, depots={"1": pick})["regions"]
    assert [r["depot"] for r in rows] == [depots[pick]["properties"]["name"]]
    assert [r["depot"] for r in _evaluate(client, data, **body)["regions"]] == [None]


def test_an_unknown_depot_or_region_is_a_422_naming_both(planner):
    client, data, towns = planner
    codes = list(towns.index)
    known = next(iter(_depots(client, data)))
    body = {
        "scenario": data.scenario_id,
        "towns": {codes[0]: 1, codes[1]: 2, codes[2]: 2},
        "k": 2,
        "depots": {"1": "no-such-yard", "5": known, "2": known},
    }
    headers = {"X-API-Key": data.keys["planner"]}
    for path in ("/api/v1/plans/evaluate", "/api/v1/plans/evaluate/routing"):
        answer = client.post(f"{path}?lang=en", json=body, headers=headers)
        assert answer.status_code == 422, answer.text
        error = answer.json()
        assert error["code"] == "invalid-depot"
        assert "Region 1: depot no-such-yard is not in this scenario" in error["detail"]
        assert f"Region 5 (given depot {known}) is not a region of this plan" in error["detail"]
        assert [(p["region"], p["depot"]) for p in error["details"]] == [
            ("1", "no-such-yard"),
            ("5", known),
        ]
    # Japanese by default (the body's lang), as the page shows it.
    answer = client.post("/api/v1/plans/evaluate", json=body, headers=headers)
    assert "区域 1 の拠点 no-such-yard はこのシナリオにありません" in answer.json()["detail"]


def test_the_planner_page_offers_each_region_the_scenarios_depots(planner):
    """A select per region: automatic first (chosen), then every depot of the scenario;
    regions beyond k hidden until more regions are chosen."""
    client, data, towns = planner
    depots = _depots(client, data)
    page = client.get(
        "/planner",
        params={"scenario": data.scenario_id, "k": 2},
        headers={"X-API-Key": data.keys["planner"]},
    ).text
    assert "区域ごとの拠点" in page
    for region in range(1, len(towns) + 1):
        block = page.split(f'<select id="depot-{region}"', 1)[1].split("</select>", 1)[0]
        options = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', block)
        assert options[0] == ("", " selected", "自動（地域内の車庫、なければ最寄り）")
        assert sorted(v for v, _, _ in options[1:]) == sorted(depots)
        pick = page.split(f'class="depot-pick" data-region="{region}"', 1)[1].split(">", 1)[0]
        assert ("hidden" in pick) == (region > 2)


def _store(client: TestClient, data: Seeded, **body: Any) -> Any:
    return client.post(
        "/api/v1/plans/drawn?lang=en",
        json={"scenario": data.scenario_id, **body},
        headers={"X-API-Key": data.keys["planner"]},
    )


def _regions_plans(client: TestClient, data: Seeded) -> list[int]:
    answer = client.get(
        f"/api/v1/scenarios/{data.scenario_id}/plans",
        params={"kind": "regions"},
        headers={"X-API-Key": data.keys["planner"]},
    )
    return [p["id"] for p in answer.json()["data"]]


def test_a_drawn_plan_is_stored_with_its_depots_and_routed_from_them(planner):
    """A plan drawn as two regions with a depot chosen for the second is stored (201, Location)
    as a regions plan; read back afresh it keeps the depot (parameters, region features, the
    plan map, the comparison tables of the compare and planner pages), routing the stored plan
    starts the second region from that depot and the first from the automatic choice, and the
    planner page still compares with the optimized plan."""
    client, data, towns = planner
    headers = {"X-API-Key": data.keys["planner"]}
    codes = list(towns.index)
    depots = _depots(client, data)
    drawn = _polygons(
        _feature(1, towns[codes[0]]),
        _feature(2, shapely.union_all([towns[codes[1]], towns[codes[2]]])),
    )
    auto = _routed(client, data, polygons=drawn, k=2)
    auto_2 = next(r for r in auto["regions"] if r["label"] == "2")
    pick = next(d for d in depots if d not in auto_2["starts"])
    name = str(depots[pick]["properties"]["name"])
    stored = _store(client, data, polygons=drawn, k=2, depots={"2": pick}, name="north, south")
    assert stored.status_code == 201, stored.text
    plan_id = stored.json()["id"]
    assert stored.headers["Location"] == f"/api/v1/plans/{plan_id}"
    assert plan_id in _regions_plans(client, data)

    plan = client.get(f"/api/v1/plans/{plan_id}", headers=headers).json()
    assert plan["kind"] == "regions"
    assert plan["name"] == "north, south"
    assert plan["parameters"]["depots"] == {"2": pick}
    features = client.get(f"/api/v1/plans/{plan_id}/regions.geojson", headers=headers).json()
    props = {f["properties"]["code"]: f["properties"] for f in features["features"]}
    assert (props["1"]["depot_id"], props["2"]["depot_id"]) == (None, pick)
    assert props["2"]["depot"] == name
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in features["features"])

    routed = _routed(client, data, compare_plan=plan_id)
    by_label = {r["label"]: r for r in routed["regions"]}
    assert by_label["2"]["depots"] == [pick]
    assert by_label["2"]["starts"] == [pick]
    assert (
        by_label["1"]["starts"] == next(r for r in auto["regions"] if r["label"] == "1")["starts"]
    )
    assert by_label["2"]["hours"] != auto_2["hours"]

    compare = client.get("/compare", params={"plans": plan_id, "lang": "en"}, headers=headers)
    # One region per line (the pages show the text's lines: white-space pre-line).
    assert f'<td class="depots">1: automatic\n2: {name}</td>' in compare.text
    page = client.get(
        "/planner", params={"scenario": data.scenario_id, "lang": "en"}, headers=headers
    ).text
    assert "<th>north, south</th>" in page
    assert f'<td class="depots">1: automatic\n2: {name}</td>' in page
    assert f'"comparePlan": {data.plan_id}' in page  # the optimized plan, not the drawn one
    assert name in client.get(f"/plans/{plan_id}/map", headers=headers).text


def test_a_stored_plan_of_whole_towns_is_routed_by_its_towns(planner):
    """Towns clicked into regions are stored as whole towns (no name given: the page's
    word for the drawn plan), so routing the stored plan routes those towns, region 1 from
    its chosen depot."""
    client, data, towns = planner
    codes = list(towns.index)
    depots = _depots(client, data)
    pick = sorted(depots)[-1]
    plan = {codes[0]: 1, codes[1]: 1, codes[2]: 2}
    stored = _store(client, data, towns=plan, k=2, depots={"1": pick})
    assert stored.status_code == 201, stored.text
    assert stored.json()["name"] == "Your plan"
    headers = {"X-API-Key": data.keys["planner"]}
    regions = client.get(f"/api/v1/plans/{stored.json()['id']}/regions", headers=headers).json()
    members = {r["code"]: sorted(m["code"] for m in r["municipalities"]) for r in regions["data"]}
    assert members == {"1": sorted(codes[:2]), "2": [codes[2]]}
    routed = _routed(client, data, compare_plan=stored.json()["id"])
    assert {r["label"]: r["starts"] for r in routed["regions"]}["1"] == [pick]
    assert (
        routed["cache_key"]
        == _routed(client, data, towns=plan, k=2, depots={"1": pick})["cache_key"]
    )


def test_a_drawn_plan_not_scored_or_with_a_bad_depot_is_not_stored(planner):
    """A plan Evaluate would not score (an empty region of 1..k) and an unknown depot are 422s
    naming why; nothing is stored."""
    client, data, towns = planner
    codes = list(towns.index)
    before = _regions_plans(client, data)
    empty = _store(client, data, towns=dict.fromkeys(codes, 1), k=2)
    assert empty.status_code == 422, empty.text
    assert empty.json()["code"] == "plan-not-scored"
    assert [e["code"] for e in empty.json()["details"]] == ["region_empty"]
    bad = _store(client, data, towns=dict.fromkeys(codes, 1), k=1, depots={"1": "no-such-yard"})
    assert bad.status_code == 422, bad.text
    assert bad.json()["code"] == "invalid-depot"
    assert "Region 1: depot no-such-yard is not in this scenario" in bad.json()["detail"]
    assert _regions_plans(client, data) == before
