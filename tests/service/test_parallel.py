"""service.parallel: a client from the settings outside Dask, the worker's client inside a task."""

from __future__ import annotations

import pytest
from distributed import Client, LocalCluster

from gis_data.parallel import as_mapper
from service.config import Settings
from service.parallel import solve_client

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


def test_nested_fan_out_on_a_one_thread_worker() -> None:
    """A job task that fans out on its own single-thread worker finishes (no deadlock)."""
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        assert client.submit(_fan_out_inside_a_task, 4).result(timeout=30) == [0, 2, 4, 6]
