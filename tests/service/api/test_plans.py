"""Planning jobs end to end on a tiny routable scenario: regions, then daily routes per region."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from service.db import session_scope
from service.importer import import_scenario
from tests.service.api.job_runs import run_job
from tests.service.grid_scenario import STREETS, write_grid_scenario


@pytest.fixture
def grid_id(engine: Engine, tmp_path: Path) -> int:
    """The grid scenario stored from its TOML."""
    with session_scope(engine) as session:
        return import_scenario(session=session, config=write_grid_scenario(tmp_path / "grid")).id


def test_regions_then_routes(
    client: TestClient, api: str, planner: dict[str, str], grid_id: int
) -> None:
    """Two regions cover every asset; the day's routes serve every asset, each in a region."""
    base = f"{api}/scenarios/{grid_id}/plans"
    regions_result = run_job(
        client, f"{base}/regions", planner, {"k": 2, "time_limit": 2, "unit_km": 0.3}
    )
    regions_plan = regions_result["plan_id"]
    assert regions_result["summary"]["k"] == 2
    regions = client.get(f"{api}/plans/{regions_plan}/regions", headers=planner).json()
    assert regions["count"] == 2
    geojson = client.get(f"{api}/plans/{regions_plan}/regions.geojson", headers=planner)
    assert geojson.headers["content-type"].startswith("application/geo+json")
    assert all(
        f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in geojson.json()["features"]
    )

    routes_result = run_job(
        client, f"{base}/routes", planner, {"iterations": 20, "date": "2026-04-01"}
    )
    summary = routes_result["summary"]
    assert summary["regions_plan_id"] == regions_plan
    assert summary["bundled"]["status"] == "feasible"
    assert summary["separate"]["hours"] >= summary["bundled"]["hours"] > 0
    # The proved floor of the day's routed time, and the comparison page's figure for it.
    bundled = summary["bundled"]
    assert 0 < bundled["bound_hours"] <= bundled["hours"]
    assert bundled["gap_to_bound_pct"] >= 0
    page = client.get(f"/compare?plans={routes_result['plan_id']}&lang=ja", headers=planner)
    assert page.status_code == 200
    row = page.text.split("下限との差（%）", 1)[1].split("</tr>", 1)[0]
    assert f"{bundled['gap_to_bound_pct']:.1f}" in row
    routes = client.get(f"{api}/plans/{routes_result['plan_id']}/routes", headers=planner).json()
    assert routes["count"] == summary["bundled"]["crews"] >= 1
    region_ids = {r["id"] for r in regions["data"]}
    served: set[str] = set()
    for route in routes["data"]:
        assert route["region_id"] in region_ids
        assert route["service_date"] == "2026-04-01"
        assert route["geometry"]["type"] == "LineString"
        for step in route["steps"]:
            if step["kind"] == "serve":
                served.update(step["asset_ids"])
    expected = {f"{code}-{name}" for code, streets in STREETS.items() for name, _ in streets}
    assert served == expected
    first = routes["data"][0]
    patrols = client.get(
        f"{api}/patrols",
        params={"region_id": first["region_id"], "steps": "true"},
        headers=planner,
    ).json()
    by_id = {r["id"]: r for r in patrols["data"]}
    assert by_id[first["id"]]["steps"] == first["steps"]
    assert by_id[first["id"]]["geometry"] == first["geometry"]
    plans = client.get(f"{api}/scenarios/{grid_id}/plans", headers=planner).json()
    assert [p["kind"] for p in plans["data"]] == ["routes", "regions"]


def test_routes_job_progress_shows_best_so_far_and_bound(
    client: TestClient,
    api: str,
    planner: dict[str, str],
    grid_id: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While the bundled plan is solved (a Dask task), the routes job's message states the best
    cost so far and the lower bound with the gap; the last one is the stored plan's figure. The
    listener pickles (a worker process gets a copy)."""
    import pickle

    from service.jobs import JobMessage
    from service.processes import BestSoFar

    messages: list[str] = []
    original = JobMessage.__call__

    def recording(self: JobMessage, message: str, *, force: bool = False) -> None:
        messages.append(message)
        original(self, message, force=force)

    monkeypatch.setattr(JobMessage, "__call__", recording)
    result = run_job(client, f"{api}/scenarios/{grid_id}/plans/routes", planner, {"iterations": 20})
    best = [m for m in messages if m.startswith("bundled: best so far")]
    assert best, messages
    assert "bound" not in best[0]  # the first answer comes before its bound
    assert "bound" in best[1]
    assert "gap" in best[1]
    hours = [float(m.split("best so far ")[1].split(" h")[0]) for m in best]
    assert hours == sorted(hours, reverse=True)
    assert hours[-1] == pytest.approx(result["summary"]["bundled"]["hours"], abs=0.01)
    listener = BestSoFar(JobMessage("job-1", "sqlite:///nowhere.db"))
    copy = pickle.loads(pickle.dumps(listener))
    assert copy.write.job_id == "job-1"
    assert not copy.bounded


def test_plan_inputs_are_checked(
    client: TestClient, api: str, planner: dict[str, str], grid_id: int
) -> None:
    """An unknown plan kind is 404; bad inputs are refused at submission (400), every one listed,
    and no job is made."""
    unknown = client.post(f"{api}/scenarios/{grid_id}/plans/nope", json={}, headers=planner)
    assert unknown.status_code == 404
    before = len(client.get(f"{api}/jobs", headers=planner).json()["jobs"])
    response = client.post(
        f"{api}/scenarios/{grid_id}/plans/regions",
        json={"parameters": {"k": -3, "balance": "lots", "colour": "red"}},
        headers=planner,
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid-inputs"
    assert {p["input"] for p in body["details"]} == {"k", "balance", "colour"}
    assert "inputs.k" in body["detail"]
    assert len(client.get(f"{api}/jobs", headers=planner).json()["jobs"]) == before
    horizon = client.post(
        f"{api}/scenarios/{grid_id}/plans/effects",
        json={"parameters": {"horizon": "next year", "iterations": -1}},
        headers=planner,
    )
    assert horizon.status_code == 400
    assert {p["input"] for p in horizon.json()["details"]} == {"horizon", "iterations"}


@pytest.mark.parametrize(
    ("kind", "check"),
    [
        ("calendar", lambda s: s["working_days"] > 0 and s["coverage_pct"] > 0),
        ("effects", lambda s: {r["label"] for r in s["comparison"]} and s["routing_solves"] > 0),
        ("cost_shares", lambda s: {t["code"] for t in s["towns"]} == {"T1", "T2"}),
    ],
)
def test_calendar_effects_and_shares_jobs(
    client: TestClient, api: str, planner: dict[str, str], grid_id: int, kind: str, check
) -> None:
    """The calendar, effect estimate and cost shares run as jobs over one month and are stored."""
    result = run_job(
        client,
        f"{api}/scenarios/{grid_id}/plans/{kind}",
        planner,
        {"horizon": "2026-04", "iterations": 3},
    )
    assert check(result["summary"])
    plan = client.get(f"{api}/plans/{result['plan_id']}", headers=planner).json()
    assert plan["kind"] == kind
    assert plan["parameters"] == {"horizon": "2026-04", "iterations": 3}
