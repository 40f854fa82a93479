"""The Dask client that `gis_data.parallel` fans solves out over, chosen from the settings."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from service.config import Settings, get_settings

logger = logging.getLogger(__name__)


@contextmanager
def solve_client(settings: Settings | None = None) -> Iterator[Any]:
    """A `distributed.Client` for independent solves, closed on exit.

    Inside a Dask task (a job on a worker) this is the worker's own client: the task secedes
    from the worker's thread pool while it waits, so fanned-out solves cannot deadlock a one-thread
    worker. Elsewhere it connects to ``DASK_SCHEDULER_ADDRESS`` or starts an in-process
    LocalCluster with ``DASK_WORKERS`` workers.
    """
    from distributed import Client, LocalCluster, get_worker, worker_client

    try:
        get_worker()
    except ValueError:
        pass
    else:
        with worker_client() as client:
            yield client
        return
    settings = settings or get_settings()
    if settings.DASK_SCHEDULER_ADDRESS:
        with Client(settings.DASK_SCHEDULER_ADDRESS) as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=settings.DASK_WORKERS,
            threads_per_worker=settings.DASK_THREADS_PER_WORKER,
            processes=settings.DASK_PROCESSES,
            dashboard_address=":0",
        ) as cluster,
        Client(cluster) as client,
    ):
        logger.info("local Dask cluster with %d worker(s)", settings.DASK_WORKERS)
        yield client


@contextmanager
def workers_client(workers: int) -> Iterator[Any]:
    """The client of a command's ``--workers N``: None (solve inline) for 0, else a LocalCluster
    of N single-thread worker processes (processes: the solver's Python parts hold the GIL)."""
    if workers <= 0:
        yield None
        return
    settings = get_settings().model_copy(
        update={
            "DASK_SCHEDULER_ADDRESS": None,
            "DASK_WORKERS": workers,
            "DASK_THREADS_PER_WORKER": 1,
            "DASK_PROCESSES": True,
        }
    )
    with solve_client(settings) as client:
        yield client
