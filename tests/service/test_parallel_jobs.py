"""Planning jobs fan their independent solves out on the job's own Dask cluster, same results.

Each job runs as a Dask task (as `service.jobs.JobRunner` submits it) on a one-worker and on a
two-worker LocalCluster; its solves go through `service.parallel.solve_client` (the worker's
client) and must show up as the mapper's tasks, while the stored plan stays the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from distributed import Client, LocalCluster, get_task_stream
from sqlalchemy import Engine

from service import crud
from service.db import session_scope
from service.importer import import_scenario
from service.jobs import new_job_id, run_job
from service.models import Plan
from tests.service.grid_scenario import write_grid_scenario

pytestmark = pytest.mark.xdist_group("dask")

# Figures that measure the run, not the plan.
TIMINGS = {"seconds"}


def _cluster(n_workers: int) -> Iterator[Client]:
    with (
        LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def one_worker() -> Iterator[Client]:
    yield from _cluster(1)


@pytest.fixture(scope="module")
def two_workers() -> Iterator[Client]:
    yield from _cluster(2)


@pytest.fixture
def grid_id(engine: Engine, tmp_path: Path) -> int:
    with session_scope(engine) as session:
        return import_scenario(session=session, config=write_grid_scenario(tmp_path / "grid")).id


def _without_timings(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if k not in TIMINGS}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def _run_on(
    client: Client, engine: Engine, process_id: str, scenario_id: int, inputs: dict[str, Any]
) -> tuple[dict[str, Any], int]:
    """Run the job as a Dask task; its stored plan (no ids or timings) and the solve tasks."""
    with session_scope(engine) as session:
        job = crud.create_job(
            session=session,
            job_id=new_job_id(),
            process_id=process_id,
            inputs=inputs,
            scenario_id=scenario_id,
        )
        job_id = job.id
    url = engine.url.render_as_string(hide_password=False)
    with get_task_stream(client) as stream:
        status = client.submit(run_job, job_id, url, pure=False).result(timeout=120)
    with session_scope(engine) as session:
        job = crud.get_job(session=session, job_id=job_id)
        assert status == "successful", job.message
        plan = session.get(Plan, job.plan_id)
        assert plan is not None
        stored = {
            "kind": plan.kind,
            "parameters": plan.parameters,
            "summary": plan.summary,
            "result": plan.result,
            "routes": [
                {
                    "crew": r.crew,
                    "properties": r.properties,
                    "steps": r.steps,
                    "geom": r.geom.wkt if r.geom is not None else None,
                }
                for r in crud.list_routes(session=session, plan_id=plan.id)
            ],
        }
    solves = sum(1 for t in stream.data if str(t["key"]).startswith("gunmane-solve-"))
    return _without_timings(stored), solves


@pytest.mark.parametrize(
    ("process_id", "inputs", "solves_of"),
    [
        # The bundled plan and the two towns' road silos.
        ("routes", {"iterations": 10, "date": "2026-04-01"}, lambda plan: 3),
        (
            "calendar",
            {"horizon": "2026-04", "iterations": 3, "regions": 2},
            lambda plan: plan["summary"]["routing_solves"],
        ),
        (
            "effects",
            {"horizon": "2026-04", "iterations": 3},
            lambda plan: plan["summary"]["routing_solves"],
        ),
        (
            "cost_shares",
            {"horizon": "2026-04", "sample_days": 2},
            lambda plan: plan["result"]["shares"]["routing_solves"],
        ),
    ],
)
def test_job_fans_out_and_stores_the_same_plan_on_one_and_two_workers(
    engine: Engine, grid_id: int, one_worker: Client, two_workers: Client, process_id: str,
    inputs: dict[str, Any], solves_of: Any,
) -> None:  # fmt: skip
    """Every distinct solve of the job is a task on the job's cluster; 1 or 2 workers, one plan."""
    single, single_tasks = _run_on(one_worker, engine, process_id, grid_id, inputs)
    double, double_tasks = _run_on(two_workers, engine, process_id, grid_id, inputs)
    expected = solves_of(single)
    assert expected > 1
    assert single_tasks == double_tasks == expected
    assert double == single
    if process_id == "routes":
        assert single["routes"]
