"""service.parallel: a client from the settings outside Dask, the worker's client inside a task."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from distributed import Client, LocalCluster

from gis_data.planning.parallel import as_mapper
from service import crud
from service.config import Settings, get_settings
from service.db import get_engine, migrate, session_scope
from service.jobs import run_job
from service.models import Job
from service.parallel import JobMapper, local_cluster, lowered_priority, solve_client
from tests.service import _fault_processes  # noqa: F401  (registers the probe process)

T = TypeVar("T")

pytestmark = pytest.mark.xdist_group("dask")


def _double(x: int) -> int:
    return 2 * x


def _fan_out_inside_a_task(n: int) -> list[int]:
    with solve_client() as client:
        return as_mapper(client)(_double, list(range(n)))


def test_local_cluster_from_settings() -> None:
    """Without a scheduler address the client runs an in-process cluster of DASK_WORKERS."""
    settings = Settings(DASK_WORKERS=2, DASK_THREADS_PER_WORKER=1, DASK_PROCESSES=False)
    with solve_client(settings) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        assert as_mapper(client)(_double, [3, 1, 2]) == [6, 2, 4]


def _search_workers(_: object = None) -> tuple[int, str | None]:
    from optimizer.arc_routing import _process_context, _workers

    ctx = _process_context()
    return _workers(), None if ctx is None else ctx.get_start_method()


@pytest.mark.parametrize("processes", [True, False])
def test_a_routes_solve_in_a_job_may_use_every_core(processes: bool) -> None:
    """In the service's own cluster, a solve running as a Dask task may start search workers
    (parts side by side, a second seed): worker processes are not daemons, and beside the
    worker's threads the search workers come from a fork server."""
    settings = Settings(DASK_WORKERS=1, DASK_THREADS_PER_WORKER=2, DASK_PROCESSES=processes)
    with local_cluster(settings, dashboard_address=None) as cluster, Client(cluster) as client:
        workers, method = client.submit(_search_workers, pure=False).result(timeout=60)
    assert workers == len(os.sched_getaffinity(0))
    assert method == "forkserver"


def test_nested_fan_out_on_a_one_thread_worker() -> None:
    """A job task that fans out on its own single-thread worker finishes (no deadlock)."""
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        assert client.submit(_fan_out_inside_a_task, 4).result(timeout=30) == [0, 2, 4, 6]


def _thread_nice(_: object = None) -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def _in_thread(fn: Callable[[], T]) -> T:
    """Run ``fn`` on a fresh thread (nice values are per thread) and return its result."""
    out: list[T] = []
    thread = threading.Thread(target=lambda: out.append(fn()))
    thread.start()
    thread.join(60)
    return out[0]


needs_thread_nice = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="per-thread nice values are Linux behaviour"
)


@needs_thread_nice
def test_lowered_priority_is_per_thread_and_restored() -> None:
    """Only the calling thread slows down; with privileges its old value comes back."""

    caller = threading.get_native_id()

    def probe() -> tuple[int, int, int, int]:
        before = _thread_nice()
        with lowered_priority(before + 7):
            inside = _thread_nice()
            other = os.getpriority(os.PRIO_PROCESS, caller)
        return before, inside, other, _thread_nice()

    before, inside, other, after = _in_thread(probe)
    assert inside == before + 7
    assert other == _thread_nice() == before  # the calling thread kept its priority
    if os.geteuid() == 0:
        assert after == before


@needs_thread_nice
def test_job_mapper_runs_tasks_at_the_job_priority() -> None:
    """Fanned-out solves run niced on the worker's threads, which are normal again afterwards."""
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        base = max(as_mapper(client)(_thread_nice, [0, 1]))
        assert JobMapper(client, base + 5)(_thread_nice, list(range(4))) == [base + 5] * 4
        if os.geteuid() == 0:
            assert as_mapper(client)(_thread_nice, [0, 1]) == [base, base]


@needs_thread_nice
def test_a_job_runs_below_the_api_priority(tmp_path: Path) -> None:
    """`run_job` runs the process at JOB_NICE (the API threads keep theirs)."""
    url = f"sqlite:///{tmp_path / 'nice.sqlite'}"
    migrate(url)
    with session_scope(get_engine(url)) as session:
        crud.create_job(session=session, job_id="nice1", process_id="probe-priority", inputs={})
    base = _thread_nice()
    assert _in_thread(lambda: run_job("nice1", url)) == "successful"
    with session_scope(get_engine(url)) as session:
        job = session.get(Job, "nice1")
        assert job is not None
        assert job.result == {"nice": max(base, get_settings().JOB_NICE)}
