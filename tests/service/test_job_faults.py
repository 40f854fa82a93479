"""Faults: a worker killed mid-job, a locked SQLite file at the result write, integrity after."""

from __future__ import annotations

import importlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask
import pytest
from distributed import LocalCluster
from distributed.diagnostics.plugin import WorkerPlugin
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

import service.db
import service.jobs
from service import crud
from service.config import Settings
from service.db import get_engine, migrate, session_scope
from service.jobs import LOST_MESSAGE, JobRunner, recover_jobs, run_job, submit_job
from service.models import Job, Plan, Route
from service.schemas import ScenarioCreate
from tests.service import _fault_processes  # noqa: F401  (registers the fault processes here)

pytestmark = pytest.mark.xdist_group("dask")


class _ImportFaultProcesses(WorkerPlugin):
    """Registers the fault processes in each worker process, restarted ones included."""

    def setup(self, worker: Any) -> None:
        importlib.import_module("tests.service._fault_processes")


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'faults.sqlite'}"
    migrate(url)
    return url


def _job(url: str, job_id: str) -> Job:
    with session_scope(get_engine(url)) as session:
        job = session.get(Job, job_id)
        assert job is not None
        session.expunge(job)
        return job


def _wait_for(predicate: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def runner_on(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A factory: a JobRunner on a process LocalCluster with the given allowed failures."""
    made: list[tuple[LocalCluster, JobRunner]] = []

    def make(allowed_failures: int) -> tuple[JobRunner, Any]:
        with dask.config.set({"distributed.scheduler.allowed-failures": allowed_failures}):
            cluster = LocalCluster(
                n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0"
            )
        runner = JobRunner(Settings(DASK_SCHEDULER_ADDRESS=cluster.scheduler_address))
        client = runner._ensure_client()
        client.register_plugin(_ImportFaultProcesses())
        made.append((cluster, runner))
        return runner, client

    yield make
    for cluster, runner in made:
        runner.close()
        cluster.close()


def _submit_blocking(url: str, runner: JobRunner, tmp_path: Path) -> tuple[str, dict[str, Path]]:
    files = {k: tmp_path / k for k in ("marker", "release", "attempts")}
    with session_scope(get_engine(url)) as session:
        job = submit_job(
            session=session,
            runner=runner,
            process_id="fault-block",
            inputs={k: str(v) for k, v in files.items()},
            scenario_id=None,
        )
        job_id = job.id
    return job_id, files


def _kill_worker(client: Any) -> None:
    (pid,) = client.run(os.getpid).values()
    os.kill(pid, signal.SIGKILL)


def test_killed_worker_fails_the_job_cleanly(db: str, runner_on: Any, tmp_path: Path) -> None:
    """With no retries left, a worker killed mid-job leaves the job failed, with no result."""
    runner, client = runner_on(0)
    job_id, files = _submit_blocking(db, runner, tmp_path)
    _wait_for(files["marker"].exists)
    assert _job(db, job_id).status == "running"
    _kill_worker(client)
    _wait_for(lambda: _job(db, job_id).status != "running")
    job = _job(db, job_id)
    assert job.status == "failed"
    assert job.message == LOST_MESSAGE
    assert job.result is None
    assert job.finished_at is not None
    files["release"].touch()


@pytest.mark.slow
def test_killed_worker_job_is_retried_to_success(db: str, runner_on: Any, tmp_path: Path) -> None:
    """With retries allowed, the task runs again on the restarted worker and succeeds once."""
    runner, client = runner_on(3)
    job_id, files = _submit_blocking(db, runner, tmp_path)
    _wait_for(files["marker"].exists)
    files["marker"].unlink()
    _kill_worker(client)
    _wait_for(files["marker"].exists)  # the second attempt has started
    assert _job(db, job_id).status == "running"
    files["release"].touch()
    _wait_for(lambda: _job(db, job_id).status != "running")
    job = _job(db, job_id)
    assert job.status == "successful"
    assert job.result == {"attempts": 2}


def _short_busy_timeout(monkeypatch: pytest.MonkeyPatch, delays: tuple[float, ...]) -> None:
    """SQLite waits 0.1 s for a lock (not 10 s) and job writes retry quickly: a fast test."""
    original = service.db._sqlite_pragmas

    def pragmas(dbapi_connection: Any, record: Any) -> None:
        original(dbapi_connection, record)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=100")
        cursor.close()

    monkeypatch.setattr(service.db, "_sqlite_pragmas", pragmas)
    monkeypatch.setattr(service.jobs, "WRITE_RETRY_DELAYS", delays)


def _lock_job(url: str, path: Path, hold: float) -> str:
    with session_scope(get_engine(url)) as session:
        crud.create_job(
            session=session,
            job_id="locked1",
            process_id="fault-lock",
            inputs={"database": str(path), "hold": hold},
        )
    return "locked1"


def _check_clean(url: str) -> None:
    with session_scope(get_engine(url)) as session:
        assert session.scalar(select(func.count()).select_from(Plan)) == 0
        assert session.execute(text("PRAGMA integrity_check")).scalar() == "ok"


def test_locked_database_at_the_result_write_is_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exclusive lock held through the result write: retried until it is free, stored once."""
    _short_busy_timeout(monkeypatch, (0.2, 0.4, 0.8, 1.6))
    path = tmp_path / "locked.sqlite"
    url = f"sqlite:///{path}"
    migrate(url)
    job_id = _lock_job(url, path, hold=1.0)
    started = time.monotonic()
    assert run_job(job_id, url) == "successful"
    assert time.monotonic() - started >= 0.9  # it really waited for the lock
    job = _job(url, job_id)
    assert (job.status, job.result) == ("successful", {"rows": 3})


def test_database_locked_past_the_retries_fails_the_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Locked past the result write's retries: the job is failed with a clear message, no result."""
    _short_busy_timeout(monkeypatch, (0.2, 0.4, 0.8, 1.6))
    path = tmp_path / "busy.sqlite"
    url = f"sqlite:///{path}"
    migrate(url)
    # The result write gives up after about 3.5 s; marking the job failed retries past 5 s.
    job_id = _lock_job(url, path, hold=5.0)
    assert run_job(job_id, url) == "failed"
    job = _job(url, job_id)
    assert job.status == "failed"
    assert "database stayed busy" in job.message
    assert job.result is None
    _check_clean(url)


def test_database_locked_for_good_gives_an_error_not_corruption(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Locked past every retry: run_job raises OperationalError; nothing half-written; recovery."""
    _short_busy_timeout(monkeypatch, (0.1,))
    path = tmp_path / "stuck.sqlite"
    url = f"sqlite:///{path}"
    migrate(url)
    job_id = _lock_job(url, path, hold=2.5)
    with pytest.raises(OperationalError, match="locked"):
        run_job(job_id, url)
    _wait_for(lambda: _lock_free(url), timeout=10)
    job = _job(url, job_id)
    assert job.status == "running"
    assert job.result is None
    _check_clean(url)
    assert recover_jobs(url) == 1
    assert _job(url, job_id).status == "failed"


def _lock_free(url: str) -> bool:
    try:
        with session_scope(get_engine(url)) as session:
            session.execute(text("BEGIN IMMEDIATE"))
    except OperationalError:
        return False
    return True


def test_result_committed_but_its_reply_lost_is_stored_once(db: str, tmp_path: Path) -> None:
    """The connection drops after the result's COMMIT went through: the retry stores nothing."""
    files = {k: tmp_path / k for k in ("marker", "release", "attempts", "in_store", "go")}
    files["release"].touch()
    files["attempts"].touch()
    with session_scope(get_engine(db)) as session:
        scenario = crud.create_scenario(session=session, scenario_in=ScenarioCreate(name="s"))
        crud.create_job(
            session=session,
            job_id="reply1",
            process_id="fault-store-plan",
            inputs={k: str(v) for k, v in files.items()},
            scenario_id=scenario.id,
        )
    lost: list[str] = []

    def lose_the_reply(session: Session) -> None:
        stored = [o for o in session.identity_map.values() if isinstance(o, Job)]
        if not lost and stored and stored[0].status == "successful":
            lost.append(stored[0].id)
            raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    event.listen(Session, "after_commit", lose_the_reply)
    try:
        assert run_job("reply1", db) == "successful"
    finally:
        event.remove(Session, "after_commit", lose_the_reply)
    assert lost == ["reply1"]
    assert files["attempts"].read_text().count("store") == 1
    job = _job(db, "reply1")
    assert (job.status, job.result) == ("successful", {"steps": 0, "routes": 3})
    with session_scope(get_engine(db)) as session:
        assert session.scalars(select(Plan.id)).all() == [job.plan_id]
        assert session.scalar(select(func.count()).select_from(Route)) == 3


def test_lost_task_after_dismissal_keeps_the_dismissal(db: str) -> None:
    """A job dismissed before its task died stays dismissed (settling only fails live jobs)."""
    with session_scope(get_engine(db)) as session:
        crud.create_job(session=session, job_id="gone1", process_id="fault-block", inputs={})
        session.flush()
        session.get_one(Job, "gone1").status = "dismissed"
    assert service.jobs.settle_lost_job("gone1", db) is False
    assert _job(db, "gone1").status == "dismissed"


def test_threads_do_not_leak() -> None:
    """No lock-holding thread from the fault processes outlives its test by long."""
    _wait_for(
        lambda: not [t for t in threading.enumerate() if t.name.startswith("hold")], timeout=10
    )
