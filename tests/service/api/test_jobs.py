"""Job lifecycle on Dask: 201 + Location, progress, results, cancel, failure, atomicity, restart."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient
from shapely.geometry import LineString, Point
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from service import crud
from service.config import Settings
from service.db import session_scope
from service.jobs import JobContext, JobInputError, JobOutcome, JobRunner, Process, register_process
from service.main import create_app
from service.models import Job, Plan
from service.schemas import ScenarioCreate


def slow_process(ctx: JobContext, inputs: dict[str, Any]) -> JobOutcome:
    """Reports progress in steps until done or dismissed (a real cooperative job)."""
    steps = int(inputs.get("steps", 200))
    for i in range(steps):
        ctx.progress(100 * i / steps, f"step {i} of {steps}")
        time.sleep(0.02)
    return JobOutcome(result={"steps": steps})


def bad_input_process(ctx: JobContext, inputs: dict[str, Any]) -> JobOutcome:
    """Fails on its input, as a planning step does on an unusable scenario."""
    ctx.progress(10, "checking inputs")
    raise JobInputError(f"crews must be positive, got {inputs.get('crews')}")


def store_fails_process(ctx: JobContext, inputs: dict[str, Any]) -> JobOutcome:
    """Its store writes a plan then fails: nothing of it may remain."""
    assert ctx.scenario_id is not None
    scenario_id = ctx.scenario_id

    def store(session: Session) -> int:
        crud.create_plan(session=session, scenario_id=scenario_id, kind="routes", name="partial")
        raise RuntimeError("disk full while writing routes")

    return JobOutcome(result={"never": "seen"}, store=store)


for _id, _fn, _needs in (
    ("test-slow", "slow_process", False),
    ("test-bad-input", "bad_input_process", False),
    ("test-store-fails", "store_fails_process", True),
):
    register_process(Process(_id, _id, "test process", f"{__name__}:{_fn}", needs_scenario=_needs))


def _scenario_with_assets(engine: Engine) -> int:
    with session_scope(engine) as session:
        scenario = crud.create_scenario(session=session, scenario_in=ScenarioCreate(name="jobs"))
        features = [
            {
                "geometry": LineString([(138.94, 34.67), (138.95, 34.68)]),
                "asset_id": f"r{i}",
                "municipality_code": "22219",
                "municipality": "下田市",
                "field": "road",
                "kind": "road_segment",
            }
            for i in range(3)
        ]
        features.append(
            {
                "geometry": Point(138.94, 34.67),
                "asset_id": "p1",
                "municipality_code": "22219",
                "municipality": "下田市",
                "field": "park",
                "kind": "playground",
            }
        )
        crud.add_layer(session=session, scenario_id=scenario.id, name="roads", features=features)
        return scenario.id


def _wait(client: TestClient, url: str, headers: dict[str, str], until: set[str]) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = client.get(url, headers=headers).json()
        if status["status"] in until:
            return status
        time.sleep(0.05)
    raise AssertionError(f"job at {url} never reached {until}")


def test_summary_job_lifecycle(
    client: TestClient, api: str, planner: dict[str, str], engine: Engine
) -> None:
    """A solve answers 201 + Location; the record exists at once; results are the real summary."""
    scenario_id = _scenario_with_assets(engine)
    response = client.post(
        f"{api}/processes/summary/execution",
        json={"inputs": {"scenario_id": scenario_id}},
        headers=planner,
    )
    assert response.status_code == 201, response.text
    job = response.json()
    location = response.headers["Location"]
    assert location == f"{api}/jobs/{job['jobID']}"
    assert job["status"] in {"accepted", "running", "successful"}
    with session_scope(engine) as session:
        assert session.get(Job, job["jobID"]) is not None  # committed before the response
    done = _wait(client, location, planner, {"successful", "failed"})
    assert done["status"] == "successful", done["message"]
    assert done["progress"] == 100
    assert any(link["rel"].endswith("/results") for link in done["links"])
    results = client.get(f"{location}/results", headers=planner).json()
    assert results["asset_count"] == 4
    by_field = {row["field"]: row for row in results["rows"]}
    assert by_field["road"]["count"] == 3
    assert by_field["park"]["count"] == 1
    assert by_field["road"]["km"] > 1.0  # three ~1.4 km diagonals
    with session_scope(engine) as session:
        plan = session.get(Plan, results["plan_id"])
        assert plan is not None
        assert plan.job_id == job["jobID"]
        assert plan.kind == "summary"
    listed = client.get(f"{api}/jobs", headers=planner).json()["jobs"]
    assert [j["jobID"] for j in listed] == [job["jobID"]]


def test_results_not_ready_then_cancel(
    client: TestClient, api: str, planner: dict[str, str], runner: JobRunner
) -> None:
    """While running: progress moves and results are 404 result-not-ready; DELETE stops the job."""
    response = client.post(
        f"{api}/processes/test-slow/execution", json={"inputs": {"steps": 500}}, headers=planner
    )
    job_url = response.headers["Location"]
    job_id = response.json()["jobID"]
    running = _wait(client, job_url, planner, {"running"})
    deadline = time.monotonic() + 10
    while running["progress"] == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
        running = client.get(job_url, headers=planner).json()
    assert running["progress"] > 0
    assert running["message"].startswith("step ")
    not_ready = client.get(f"{job_url}/results", headers=planner)
    assert not_ready.status_code == 404
    assert not_ready.json()["code"] == "result-not-ready"
    dismissed = client.delete(job_url, headers=planner)
    assert dismissed.status_code == 200
    assert dismissed.json()["status"] == "dismissed"
    runner.wait(job_id, timeout=10)
    final = client.get(job_url, headers=planner).json()
    assert final["status"] == "dismissed"
    assert final["progress"] < 100
    gone = client.get(f"{job_url}/results", headers=planner)
    assert gone.status_code == 404
    assert gone.json()["code"] == "job-dismissed"


def test_dismissed_queued_job_never_starts(
    settings: Settings, engine: Engine, planner: dict[str, str]
) -> None:
    """With the only worker thread busy, a queued job that is dismissed never runs."""
    one_slot = JobRunner(Settings(DASK_WORKERS=1, DASK_THREADS_PER_WORKER=1, DASK_PROCESSES=False))
    try:
        with TestClient(create_app(settings, jobs_runner=one_slot)) as client:
            url = f"{settings.API_PREFIX}/processes/test-slow/execution"
            busy = client.post(url, json={"inputs": {"steps": 500}}, headers=planner)
            _wait(client, busy.headers["Location"], planner, {"running"})
            queued = client.post(url, json={"inputs": {"steps": 5}}, headers=planner)
            queued_url = queued.headers["Location"]
            assert client.get(queued_url, headers=planner).json()["status"] == "accepted"
            assert client.delete(queued_url, headers=planner).json()["status"] == "dismissed"
            assert client.delete(busy.headers["Location"], headers=planner).status_code == 200
            for response in (busy, queued):
                one_slot.wait(response.json()["jobID"], timeout=10)
        with session_scope(engine) as session:
            job = session.get(Job, queued.json()["jobID"])
            assert job is not None
            assert (job.status, job.started_at, job.progress) == ("dismissed", None, 0)
    finally:
        one_slot.close()


def test_failed_job_reports_input_error(
    client: TestClient, api: str, planner: dict[str, str]
) -> None:
    """A job failing on its input ends failed with the input message, and no result."""
    response = client.post(
        f"{api}/processes/test-bad-input/execution", json={"inputs": {"crews": 0}}, headers=planner
    )
    final = _wait(client, response.headers["Location"], planner, {"failed", "successful"})
    assert final["status"] == "failed"
    assert "crews must be positive, got 0" in final["message"]
    results = client.get(f"{response.headers['Location']}/results", headers=planner)
    assert results.status_code == 404
    assert results.json()["code"] == "job-failed"


def test_result_is_stored_atomically(
    client: TestClient, api: str, planner: dict[str, str], engine: Engine
) -> None:
    """When storing the result fails, neither rows nor a successful status remain."""
    scenario_id = _scenario_with_assets(engine)
    response = client.post(
        f"{api}/processes/test-store-fails/execution",
        json={"inputs": {"scenario_id": scenario_id}},
        headers=planner,
    )
    final = _wait(client, response.headers["Location"], planner, {"failed", "successful"})
    assert final["status"] == "failed"
    assert "disk full" not in final["message"]  # internal errors are not shown
    assert final["plan_id"] is None
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Plan)) == 0


def test_unknown_process_and_job(client: TestClient, api: str, planner: dict[str, str]) -> None:
    """Unknown processes and jobs are 404 with their own codes."""
    missing = client.post(f"{api}/processes/nope/execution", json={"inputs": {}}, headers=planner)
    assert missing.status_code == 404
    assert missing.json()["code"] == "no-such-process"
    job = client.get(f"{api}/jobs/0123", headers=planner)
    assert job.status_code == 404
    assert job.json()["code"] == "no-such-job"
    no_scenario = client.post(
        f"{api}/processes/summary/execution",
        json={"inputs": {"scenario_id": 999}},
        headers=planner,
    )
    assert no_scenario.status_code == 404


def test_crash_recovery_marks_running_jobs_failed(
    settings: Settings, runner: JobRunner, engine: Engine, planner: dict[str, str]
) -> None:
    """Jobs left running or accepted by a crash are failed with a message when the app starts."""
    with session_scope(engine) as session:
        crud.create_job(session=session, job_id="crashed1", process_id="summary", inputs={})
        crud.create_job(session=session, job_id="queued1", process_id="summary", inputs={})
        crud.create_job(session=session, job_id="done1", process_id="summary", inputs={})
        session.flush()
        session.get_one(Job, "crashed1").status = "running"
        done = session.get_one(Job, "done1")
        done.status, done.result = "successful", {"ok": True}
    app = create_app(settings, jobs_runner=runner)
    with TestClient(app) as client:
        api = settings.API_PREFIX
        crashed = client.get(f"{api}/jobs/crashed1", headers=planner).json()
        queued = client.get(f"{api}/jobs/queued1", headers=planner).json()
        kept = client.get(f"{api}/jobs/done1", headers=planner).json()
    assert crashed["status"] == "failed"
    assert "interrupted" in crashed["message"]
    assert queued["status"] == "failed"
    assert kept["status"] == "successful"
