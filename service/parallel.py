"""The Dask client that `planning.parallel` fans solves out over, and the priority of job work.

Jobs and their solves run at a lower CPU priority (`Settings.JOB_NICE`) than the API: on a
machine whose cores serve both, requests keep their latency while planning runs, and planning
still gets every cycle the API leaves idle.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from gis_data.planning.parallel import DaskMapper
from service.config import Settings, get_settings

logger = logging.getLogger(__name__)


def local_cluster(settings: Settings, *, dashboard_address: str | None) -> Any:
    """An in-process Dask LocalCluster of ``settings``' workers, threads and processes.

    Its worker processes are not daemons: the routing solver in a job starts search processes
    of its own (parts side by side, a second seed), which a daemonic process may not have, so a
    large solve there would search on one core of the two or more it could use."""
    import dask
    from distributed import LocalCluster

    # Global, not scoped: the nanny reads it whenever it (re)starts a worker process.
    dask.config.set({"distributed.worker.daemon": False})
    return LocalCluster(
        n_workers=settings.DASK_WORKERS,
        threads_per_worker=settings.DASK_THREADS_PER_WORKER,
        processes=settings.DASK_PROCESSES,
        dashboard_address=dashboard_address,
    )


@contextmanager
def solve_client(settings: Settings | None = None) -> Iterator[Any]:
    """A `distributed.Client` for independent solves, closed on exit.

    Inside a Dask task (a job on a worker) this is the worker's own client: the task secedes
    from the worker's thread pool while it waits, so fanned-out solves cannot deadlock a one-thread
    worker. Elsewhere it connects to ``DASK_SCHEDULER_ADDRESS`` or starts an in-process
    LocalCluster with ``DASK_WORKERS`` workers.
    """
    from distributed import Client, get_worker, worker_client

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
    with local_cluster(settings, dashboard_address=":0") as cluster, Client(cluster) as client:
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


@contextmanager
def lowered_priority(nice: int) -> Iterator[None]:
    """Run the block with this thread's nice value raised to at least ``nice``, then restore it.

    Linux keeps a nice value per thread, so only the calling thread (and processes it forks)
    slows down, never the server's request threads. Restoring a lower value needs privileges;
    without them the thread keeps the raised value, which only a job's worker thread ever has.
    """
    if nice <= 0 or not hasattr(os, "setpriority"):
        yield
        return
    tid = threading.get_native_id()
    try:
        before = os.getpriority(os.PRIO_PROCESS, tid)
        if before < nice:
            os.setpriority(os.PRIO_PROCESS, tid, nice)
    except OSError:
        logger.debug("could not lower the priority of thread %d", tid, exc_info=True)
        yield
        return
    try:
        yield
    finally:
        if before < nice:
            with suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, tid, before)


@dataclass(frozen=True)
class _AtPriority:
    """``fn`` run at a lowered priority on whichever worker thread gets the task."""

    fn: Callable[[Any], Any]
    nice: int

    def __call__(self, item: Any) -> Any:
        with lowered_priority(self.nice):
            return self.fn(item)


@dataclass
class JobMapper:
    """A `gis_data.planning.parallel` mapper over ``client`` whose tasks run at nice ``nice``."""

    client: Any
    nice: int

    def __call__(self, fn: Callable[[Any], Any], items: Sequence[Any], /) -> list[Any]:
        """Map ``fn`` over ``items`` as Dask tasks (see `gis_data.planning.parallel.DaskMapper`)."""
        task = _AtPriority(fn, self.nice) if self.nice > 0 else fn
        return DaskMapper(self.client)(task, items)


@contextmanager
def solve_mapper(settings: Settings | None = None) -> Iterator[JobMapper]:
    """What a job passes as ``client`` to `gis_data`: `solve_client` at ``JOB_NICE``."""
    settings = settings or get_settings()
    with solve_client(settings) as client:
        yield JobMapper(client, settings.JOB_NICE)
