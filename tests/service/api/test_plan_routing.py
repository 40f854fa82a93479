"""The planner's routed patrol time: each region routed from its depot as a job with progress,
cached per plan, and the saving against each town alone (the two grid towns, count-based stops)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gis_data.planning import patrol_plan
from service.config import Settings
from service.db import session_scope
from service.importer import import_scenario
from tests.service.api.job_runs import wait_for_job
from tests.service.grid_scenario import STREETS, write_grid_scenario


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """The test database, with reproducible routing (a count of solver iterations)."""
    return Settings(DATABASE_URL=db_url, DATA_DIR=tmp_path / "data", EVALUATE_ROUTE_ITERATIONS=30)


@pytest.fixture
def grid_id(engine: Engine, tmp_path: Path) -> int:
    """The two-town grid scenario stored from its TOML."""
    with session_scope(engine) as session:
        return import_scenario(session=session, config=write_grid_scenario(tmp_path / "grid")).id


@pytest.fixture
def solves(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The labels of every region or town the routing engine solves (the jobs run in-process)."""
    seen: list[str] = []
    real = patrol_plan.solve_plan

    def counting(*args: Any, **kwargs: Any) -> Any:
        seen.append(str(kwargs.get("label")))
        return real(*args, **kwargs)

    monkeypatch.setattr("gis_data.planning.plan_routing.solve_plan", counting)
    return seen


def _route(
    client: TestClient, api: str, headers: dict[str, str], body: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], list[int]]:
    """Start (or find cached) the routing of a plan; the job, its results and progress seen."""
    started = client.post(f"{api}/plans/evaluate/routing", json=body, headers=headers)
    assert started.status_code in (200, 201), started.text
    job = started.json()
    url = started.headers["Location"]
    seen = [job["progress"]]
    deadline = time.monotonic() + 60
    while job["status"] not in ("successful", "failed", "dismissed"):
        assert time.monotonic() < deadline, "routing job did not finish"
        time.sleep(0.05)
        job = {**client.get(url, headers=headers).json(), "cached": job["cached"]}
        seen.append(job["progress"])
    assert job["status"] == "successful", job["message"]
    return job, client.get(f"{url}/results", headers=headers).json(), seen


def test_plans_routed_per_region_cached_and_saving_vs_towns_alone(
    client: TestClient, api: str, planner: dict[str, str], grid_id: int, solves: list[str]
) -> None:
    one = {"scenario": grid_id, "k": 1, "towns": {"T1": 1, "T2": 1}}
    two = {"scenario": grid_id, "k": 2, "towns": {"T1": 1, "T2": 2}}

    job, first, progress = _route(client, api, planner, one)
    assert job["cached"] is False
    assert first["kind"] == "plan_routing"
    # One region, then the two towns alone: each solved once, progress rising to 100.
    assert solves == ["1", "Aville", "Beetown"]
    assert progress == sorted(progress)
    assert progress[-1] == 100
    assert [r["label"] for r in first["regions"]] == ["1"]
    assert first["regions"][0]["depots"] == ["yard-west", "yard-east"]
    assert first["errors"] == []
    assert first["plan"]["hours"] > 0
    assert first["plan"]["km"] > 0
    alone = first["alone"]
    assert [p["label"] for p in alone["parts"]] == ["Aville", "Beetown"]
    assert alone["cached"] is False
    saving = first["saving"]
    assert saving["hours"] == pytest.approx(alone["hours"] - first["plan"]["hours"], abs=1e-3)
    assert saving["km"] == pytest.approx(alone["km"] - first["plan"]["km"], abs=1e-3)
    assert saving["hours_pct"] == pytest.approx(100 * saving["hours"] / alone["hours"], abs=0.1)

    # The same plan again: the finished job, at once, without solving anything.
    again, cached, _ = _route(client, api, planner, one)
    assert again["cached"] is True
    assert again["jobID"] == job["jobID"]
    assert cached == first
    assert len(solves) == 3

    # Another plan: its two regions are solved; the towns alone come from the cache.
    job2, second, _ = _route(client, api, planner, two)
    assert job2["cached"] is False
    assert job2["jobID"] != job["jobID"]
    assert solves[3:] == ["1", "2"]
    assert [r["depots"] for r in second["regions"]] == [["yard-west"], ["yard-east"]]
    assert second["alone"]["cached"] is True
    assert second["alone"]["hours"] == alone["hours"]
    # (On this symmetric grid both plans route the same streets: the demo towns differ, see
    # tests/service/test_planner_evaluate.py.)
    assert second["saving"]["hours"] == pytest.approx(
        alone["hours"] - second["plan"]["hours"], abs=1e-3
    )


def test_the_same_plan_twice_while_it_runs_is_one_job(
    client: TestClient, api: str, planner: dict[str, str], grid_id: int, solves: list[str]
) -> None:
    """A second click on Evaluate follows the job already routing the plan."""
    body = {"scenario": grid_id, "k": 2, "towns": {"T1": 1, "T2": 2}}
    first = client.post(f"{api}/plans/evaluate/routing", json=body, headers=planner)
    second = client.post(f"{api}/plans/evaluate/routing", json=body, headers=planner)
    assert first.status_code == 201
    # Followed while it runs, or its cached answer if it already ended: the same job either way.
    assert second.status_code == 200
    assert second.json()["jobID"] == first.json()["jobID"]
    _, result, _ = _route(client, api, planner, body)
    assert result["errors"] == []
    assert sorted(solves) == ["1", "2", "Aville", "Beetown"]


def test_a_plan_that_is_not_scored_is_not_routed(
    client: TestClient, api: str, planner: dict[str, str], grid_id: int, solves: list[str]
) -> None:
    body = {"scenario": grid_id, "k": 2, "towns": {"T1": 1}, "lang": "en"}
    answer = client.post(f"{api}/plans/evaluate/routing", json=body, headers=planner)
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "plan-not-scored"
    assert {d["code"] for d in answer.json()["details"]} >= {"region_empty", "unassigned"}
    assert solves == []


def _execute(
    client: TestClient, api: str, headers: dict[str, str], inputs: dict[str, Any]
) -> dict[str, Any]:
    """Run the process through OGC API - Processes execution; the job's final status."""
    started = client.post(
        f"{api}/processes/plan_routing/execution", json={"inputs": inputs}, headers=headers
    )
    assert started.status_code == 201, started.text
    url = started.headers["Location"]
    job = wait_for_job(client, url, headers, timeout=60)
    return {**job, "url": url}


def test_a_gis_client_routes_its_own_regions_and_work_left_out_gives_no_saving(
    client: TestClient, api: str, planner: dict[str, str], grid_id: int
) -> None:
    """The process takes region -> asset ids; a plan that leaves work out is routed, but is not
    compared with the towns alone (it would look cheaper for doing less); an asset in two
    regions is refused naming it."""
    t1 = [f"T1-{name}" for name, _ in STREETS["T1"]]
    job = _execute(
        client, api, planner, {"scenario_id": grid_id, "regions": {"A": t1}, "iterations": 20}
    )
    assert job["status"] == "successful", job["message"]
    result = client.get(f"{job['url']}/results", headers=planner).json()
    assert result["plan"]["hours"] > 0
    assert result["left_out"] == len(STREETS["T2"])
    assert result["saving"]["hours"] is None
    assert any("in no region" in e for e in result["errors"])

    both = {"A": t1, "B": [t1[0], "T2-Col2"]}
    job = _execute(client, api, planner, {"scenario_id": grid_id, "regions": both})
    assert job["status"] == "failed"
    assert f"asset {t1[0]} is in regions A and B" in job["message"]


def test_a_region_its_depot_cannot_serve_is_an_error_not_a_score(
    client: TestClient, api: str, planner: dict[str, str], grid_id: int
) -> None:
    """Work no crew can reach and finish within the shift (a 36-second shift here): each region
    and town says why, and no total or saving is made of the parts that could be routed."""
    regions = {r: [f"{r}-{name}" for name, _ in STREETS[r]] for r in ("T1", "T2")}
    inputs = {"scenario_id": grid_id, "regions": regions, "iterations": 5, "shift_hours": 0.01}
    job = _execute(client, api, planner, inputs)
    assert job["status"] == "successful", job["message"]
    result = client.get(f"{job['url']}/results", headers=planner).json()
    assert all(r["error"] and r["hours"] is None for r in result["regions"])
    assert "cannot be served by any crew" in result["regions"][0]["error"]
    assert result["plan"]["hours"] is None
    assert result["saving"] == {"hours": None, "hours_pct": None, "km": None, "km_pct": None}
    assert len(result["errors"]) == 2 + len(result["alone"]["parts"])


def test_a_gis_client_names_the_depot_a_region_is_routed_from(
    client: TestClient, api: str, planner: dict[str, str], grid_id: int
) -> None:
    """``depots`` routes a region from the yard named for it (its routes leave from there, so
    the west town's work routed from the east yard drives further); the other region keeps its
    automatic yard. An unknown depot id or region fails the job naming both."""
    regions = {r: [f"{r}-{name}" for name, _ in STREETS[r]] for r in ("T1", "T2")}
    inputs: dict[str, Any] = {"scenario_id": grid_id, "regions": regions, "iterations": 20}
    job = _execute(client, api, planner, inputs)
    assert job["status"] == "successful", job["message"]
    auto = client.get(f"{job['url']}/results", headers=planner).json()["regions"]
    assert [(r["depots"], r["starts"]) for r in auto] == [
        (["yard-west"], ["yard-west"]),
        (["yard-east"], ["yard-east"]),
    ]
    job = _execute(client, api, planner, {**inputs, "depots": {"T1": "yard-east"}})
    assert job["status"] == "successful", job["message"]
    chosen = client.get(f"{job['url']}/results", headers=planner).json()["regions"]
    assert [(r["depots"], r["starts"]) for r in chosen] == [
        (["yard-east"], ["yard-east"]),
        (["yard-east"], ["yard-east"]),
    ]
    assert chosen[0]["km"] > auto[0]["km"]
    assert chosen[1]["km"] == pytest.approx(auto[1]["km"])

    bad = {**inputs, "depots": {"T1": "yard-north", "T3": "yard-west"}}
    job = _execute(client, api, planner, bad)
    assert job["status"] == "failed"
    assert "region T3: not a region of the plan (depot 'yard-west')" in job["message"]
    assert "region T1: no depot 'yard-north' in the scenario" in job["message"]
