"""Faults: PostgreSQL stopped or restarted while a job runs or the API reads.

A private server (see _private_postgres) is stopped and started under a running job and
under the app: results are stored once or the job fails cleanly, never half a plan, and
reads during the outage get a 503 and recover without restarting anything.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

import service.jobs
from service import crud
from service.config import Settings
from service.db import get_engine, migrate, session_scope
from service.jobs import JobRunner, run_job
from service.main import create_app
from service.models import Job, Plan, Route, Scenario
from service.schemas import ScenarioCreate
from tests.service import _fault_processes  # noqa: F401  (registers the fault processes here)
from tests.service._private_postgres import PrivatePostgres, find_bin_dir, missing

# One worker owns the module's server; `postgis` as for every other PostgreSQL test.
pytestmark = [pytest.mark.postgis, pytest.mark.slow, pytest.mark.xdist_group("private-postgres")]

_TEMPLATE = "gunmane_template"
_NAMES = itertools.count(1)


@pytest.fixture(scope="module")
def server() -> Iterator[PrivatePostgres]:
    """A private PostgreSQL + PostGIS server with a migrated template database."""
    reason = missing()
    if reason is not None:
        pytest.skip(reason)
    bin_dir = find_bin_dir()
    assert bin_dir is not None
    pg = PrivatePostgres(bin_dir)
    try:
        pg.start()
        pg.psql(f"CREATE DATABASE {_TEMPLATE}")
        pg.psql("CREATE EXTENSION postgis", _TEMPLATE)
        migrate(pg.url(_TEMPLATE))
        # CREATE DATABASE ... TEMPLATE needs the template to have no sessions.
        get_engine(pg.url(_TEMPLATE)).dispose()
        yield pg
    finally:
        pg.remove()


@pytest.fixture
def pg(server: PrivatePostgres) -> Iterator[PrivatePostgres]:
    """The server, running; a test that leaves it stopped gets it started again."""
    if not server.running():
        server.start()
    yield server
    if not server.running():
        server.start()


@pytest.fixture
def url(pg: PrivatePostgres) -> Iterator[str]:
    """A fresh migrated database (a copy of the template) with one scenario."""
    name = f"gunmane_{next(_NAMES)}"
    pg.psql(f"CREATE DATABASE {name} TEMPLATE {_TEMPLATE}")
    database_url = pg.url(name)
    with session_scope(get_engine(database_url)) as session:
        crud.create_scenario(session=session, scenario_in=ScenarioCreate(name="restart"))
    yield database_url
    get_engine(database_url).dispose()


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> tuple[float, ...]:
    """Result writes retry for about 6 s: past a restart, short enough for a test."""
    delays = (0.2, 0.4, 0.8, 1.6, 3.2)
    monkeypatch.setattr(service.jobs, "WRITE_RETRY_DELAYS", delays)
    return delays


def _wait_for(predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


class _JobThread:
    """`run_job` on a thread, as a threaded Dask worker runs it; `status` once it returned."""

    def __init__(self, url: str, tmp_path: Path, *, start: bool = True, **extra: Any) -> None:
        self.files = {k: tmp_path / k for k in ("marker", "release", "attempts", "in_store", "go")}
        self.files["attempts"].touch()
        with session_scope(get_engine(url)) as session:
            scenario_id = session.scalars(select(Scenario.id)).one()
            job = crud.create_job(
                session=session,
                job_id=f"restart{next(_NAMES)}",
                process_id="fault-store-plan",
                inputs={**{k: str(v) for k, v in self.files.items()}, **extra},
                scenario_id=scenario_id,
            )
            self.job_id = job.id
        self.status: str | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(url,), daemon=True)
        if start:
            self.start()

    def start(self) -> None:
        self._thread.start()

    def _run(self, url: str) -> None:
        try:
            self.status = run_job(self.job_id, url)
        except BaseException as exc:  # reported by `join`
            self.error = exc

    def join(self, timeout: float = 60.0) -> str:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the job did not finish"
        if self.error is not None:
            raise self.error
        assert self.status is not None
        return self.status

    def store_attempts(self) -> int:
        return self.files["attempts"].read_text().count("store")


def _job(url: str, job_id: str) -> Job:
    with session_scope(get_engine(url)) as session:
        job = session.get(Job, job_id)
        assert job is not None
        session.expunge(job)
        return job


def _counts(url: str) -> tuple[int, int]:
    """(plans, routes) in the database."""
    with session_scope(get_engine(url)) as session:
        plans = session.scalar(select(func.count()).select_from(Plan))
        routes = session.scalar(select(func.count()).select_from(Route))
    return int(plans or 0), int(routes or 0)


def _assert_one_complete_plan(url: str, job: Job) -> None:
    assert job.status == "successful"
    assert job.progress == 100
    assert job.plan_id is not None
    with session_scope(get_engine(url)) as session:
        plans = session.scalars(select(Plan)).all()
        assert [p.id for p in plans] == [job.plan_id]
        assert plans[0].job_id == job.id
        days = session.scalars(select(Route.day).where(Route.plan_id == job.plan_id)).all()
        assert sorted(days) == [0, 1, 2]
    assert _counts(url) == (1, 3)


def _logged(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    return any(text in record.getMessage() for record in list(caplog.records))


def test_restart_while_the_job_runs(
    pg: PrivatePostgres,
    url: str,
    tmp_path: Path,
    fast_retries: tuple[float, ...],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Restarted under a job reporting progress: the job goes on, progress resumes, one plan."""
    job = _JobThread(url, tmp_path)
    _wait_for(job.files["marker"].exists)
    pg.stop()
    # Down until a progress report has met the outage (the restart is never too quick).
    _wait_for(lambda: _logged(caplog, "; database unreachable"))
    pg.start()
    # Progress written after the restart: the job's writes reconnected on their own.
    seen = _job(url, job.job_id).message
    _wait_for(lambda: _job(url, job.job_id).message != seen)
    assert _job(url, job.job_id).status == "running"
    job.files["release"].touch()
    assert job.join() == "successful"
    assert job.store_attempts() == 1
    _assert_one_complete_plan(url, _job(url, job.job_id))


def test_down_as_the_job_starts(
    pg: PrivatePostgres,
    url: str,
    tmp_path: Path,
    fast_retries: tuple[float, ...],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Down when the worker picks the job up: starting it waits for the database, then runs."""
    job = _JobThread(url, tmp_path, start=False)
    pg.stop()
    job.start()
    _wait_for(lambda: _logged(caplog, f"job {job.job_id}: starting: database busy or unreachable"))
    pg.start()
    _wait_for(job.files["marker"].exists)
    job.files["release"].touch()
    assert job.join() == "successful"
    _assert_one_complete_plan(url, _job(url, job.job_id))


def _stop_inside_the_result_write(pg: PrivatePostgres, job: _JobThread) -> None:
    """Let ``job`` solve, hold it between its plan row and its routes, stop the server, go on."""
    _wait_for(job.files["marker"].exists)
    job.files["release"].touch()
    _wait_for(job.files["in_store"].exists)
    pg.stop()
    job.files["go"].touch()


def test_stopped_inside_the_result_write_is_retried(
    pg: PrivatePostgres,
    url: str,
    tmp_path: Path,
    fast_retries: tuple[float, ...],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Stopped between the plan row and its routes, back within the retries: stored once."""
    job = _JobThread(url, tmp_path, pause_in_store=True)
    _stop_inside_the_result_write(pg, job)
    _wait_for(lambda: _logged(caplog, "storing the result: database busy or unreachable"))
    pg.start()
    assert job.join() == "successful"
    assert job.store_attempts() >= 2  # the first transaction was lost and run again
    _assert_one_complete_plan(url, _job(url, job.job_id))


def test_down_past_the_retries_fails_the_job_cleanly(
    pg: PrivatePostgres,
    url: str,
    tmp_path: Path,
    fast_retries: tuple[float, ...],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Down through every result write retry: the job is failed with a clear message, no rows."""
    job = _JobThread(url, tmp_path, pause_in_store=True)
    _stop_inside_the_result_write(pg, job)
    # The result write gave up; the server is back while the job is being marked failed.
    _wait_for(lambda: _logged(caplog, f"job {job.job_id} (fault-store-plan) failed"))
    pg.start()
    assert job.join() == "failed"
    failed = _job(url, job.job_id)
    assert failed.status == "failed"
    assert failed.message == (
        "failed: the database stayed busy or unreachable while storing the result; retry"
    )
    assert (failed.result, failed.plan_id) == (None, None)
    assert failed.finished_at is not None
    assert _counts(url) == (0, 0)
    with session_scope(get_engine(url)) as session:
        assert crud.list_jobs(session=session, status="running") == []


@pytest.fixture
def app_client(url: str, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The app on the private database, and an admin key's headers."""
    settings = Settings(DATABASE_URL=url, DATA_DIR=tmp_path / "data")
    with session_scope(get_engine(url)) as session:
        _row, key = crud.create_api_key(session=session, role="admin", name="restart test")
    app = create_app(settings, jobs_runner=JobRunner(settings))
    with TestClient(app) as client:
        yield client, {"X-API-Key": key}


def _reads(client: TestClient, headers: dict[str, str]) -> list[Any]:
    """A plain read, a read behind the response cache, an OGC read."""
    return [
        client.get("/api/v1/scenarios", headers=headers),
        client.get("/api/v1/patrols/routes.geojson?region_id=1", headers=headers),
        client.get("/ogc/collections/routes/items", headers=headers),
    ]


def test_api_reads_during_an_outage_get_503_then_recover(
    pg: PrivatePostgres, url: str, app_client: tuple[TestClient, dict[str, str]]
) -> None:
    """Down: every read is a 503 with Retry-After and no internals; up again: 200, same app."""
    client, headers = app_client
    assert [r.status_code for r in _reads(client, headers)] == [200, 200, 200]
    pg.stop()
    for response in _reads(client, headers):
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"].isdigit()
        body = response.json()
        assert body["code"] == "database-unavailable"
        for leak in ("psycopg", "127.0.0.1", "Traceback", "postgres", "SELECT"):
            assert leak not in response.text
    pg.start()
    assert [r.status_code for r in _reads(client, headers)] == [200, 200, 200]


def test_api_reads_right_after_a_restart_succeed(
    pg: PrivatePostgres, url: str, app_client: tuple[TestClient, dict[str, str]]
) -> None:
    """Pooled connections killed by a restart are replaced on checkout: no error at all."""
    client, headers = app_client
    assert [r.status_code for r in _reads(client, headers)] == [200, 200, 200]
    pg.restart()
    assert [r.status_code for r in _reads(client, headers)] == [200, 200, 200]
