"""Jobs (OGC API - Processes model) on Dask: submit, progress, cancel, atomic results, recovery."""

from __future__ import annotations

import importlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import CancelledError
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from service import crud
from service.config import Settings, get_settings
from service.db import get_engine, session_factory
from service.models import Job, utcnow
from service.parallel import local_cluster, lowered_priority

logger = logging.getLogger(__name__)

RECOVERY_MESSAGE = "interrupted: the server stopped while this job was running; submit it again"
LOST_MESSAGE = (
    "failed: the job's task ended without recording an outcome (its worker was lost, or the"
    " database stayed unreachable); submit it again"
)
# Waits (s) before retrying a job's final write that met a locked SQLite file or a dropped
# PostgreSQL connection. The write is one transaction, so a retry never stores half a result.
WRITE_RETRY_DELAYS: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)

_T = TypeVar("_T")


def _with_retry(action: Callable[[], _T], what: str) -> _T:
    """Run a write transaction, retrying on OperationalError (busy or unreachable database)."""
    for delay in WRITE_RETRY_DELAYS:
        try:
            return action()
        except OperationalError as exc:
            logger.warning("%s: database busy or unreachable (%s); retry in %g s", what, exc, delay)
            time.sleep(delay)
    return action()


class JobDismissedError(Exception):
    """Raised inside a job when it has been dismissed; unwinds the job function."""


class JobInputError(ValueError):
    """A job input the process cannot use; its message is shown to the user."""


@dataclass
class JobOutcome:
    """What a process returns: its JSON result and how to store rows with it.

    `store` runs inside the transaction that marks the job successful, so the rows it
    writes and the status appear together or not at all; it returns the new plan id.
    """

    result: dict[str, Any]
    store: Callable[[Session], int | None] | None = None


@dataclass(frozen=True)
class Process:
    """A process that jobs execute: its id, texts and the dotted path of its function.

    The function is `f(ctx: JobContext, inputs: dict) -> JobOutcome`; it is looked up by
    path on the worker, so it must be a module-level function.
    """

    id: str
    title: str
    description: str
    function: str
    needs_scenario: bool = True
    inputs: dict[str, str] = field(default_factory=dict)
    # The pydantic model of the inputs (`service.process_inputs`): JSON Schemas in the process
    # description and validation at submission. None: inputs are checked by the job alone.
    schema: Any = None


PROCESSES: dict[str, Process] = {}


def register_process(process: Process) -> Process:
    """Add (or replace) a process in the registry."""
    PROCESSES[process.id] = process
    return process


def _resolve(path: str) -> Callable[[JobContext, dict[str, Any]], JobOutcome]:
    module_name, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


@dataclass
class JobMessage:
    """Writes a running job's progress message from wherever a solve runs: it pickles (job id
    and database URL only), so a Dask task in a worker process can report through it. Writes
    at most every ``min_interval`` seconds unless forced; advisory, like `JobContext.progress`
    (an unreachable database or a dismissed job is not an error here: the job itself notices
    at its next progress report)."""

    job_id: str
    database_url: str
    min_interval: float = 1.0
    _last: float = field(default=0.0, repr=False, compare=False)

    def __call__(self, message: str, *, force: bool = False) -> None:
        """Set the message of the job (while it runs)."""
        now = time.monotonic()
        if not force and now - self._last < self.min_interval:
            return
        self._last = now
        try:
            with session_factory(get_engine(self.database_url))() as session, session.begin():
                session.execute(
                    update(Job)
                    .where(Job.id == self.job_id, Job.status == "running")
                    .values(message=message[:2000], updated_at=utcnow())
                )
        except OperationalError:
            logger.debug("job %s: message not recorded", self.job_id, exc_info=True)


class JobContext:
    """Handed to a process: reading sessions, progress reports and the cancellation check."""

    # Progress is written at most this often (seconds) unless the percentage jumps.
    MIN_INTERVAL = 0.3

    def __init__(self, *, job_id: str, database_url: str, scenario_id: int | None) -> None:
        self.job_id = job_id
        self.database_url = database_url
        self.scenario_id = scenario_id
        self._factory = session_factory(get_engine(database_url))
        self._last_write = 0.0
        self._last_percent = -1
        # True while the database is unreachable (logged once per outage, not per report).
        self._outage = False

    def message_writer(self) -> JobMessage:
        """A picklable writer of this job's progress message (for solves on Dask workers)."""
        return JobMessage(self.job_id, self.database_url)

    def session(self) -> Session:
        """A new session on the job's database (close it, or use it in `with`)."""
        return self._factory()

    def progress(self, percent: float, message: str) -> None:
        """Record progress (0-100) and a message; raise JobDismissedError once dismissed."""
        pct = max(0, min(99, int(percent)))
        now = time.monotonic()
        if now - self._last_write < self.MIN_INTERVAL and pct - self._last_percent < 10:
            return
        self._last_write, self._last_percent = now, pct
        try:
            with self._factory() as session, session.begin():
                changed = session.execute(
                    update(Job)
                    .where(Job.id == self.job_id, Job.status == "running")
                    .values(progress=pct, message=message[:2000], updated_at=utcnow())
                )
        except OperationalError as exc:
            # Progress is advisory: a database restart or lock must not fail the job. The
            # failed connection is invalidated, so a later report reconnects.
            self._unreachable("progress not recorded", exc)
            return
        self._reachable()
        if not getattr(changed, "rowcount", 0):
            raise JobDismissedError(self.job_id)
        logger.debug("job %s: %d%% %s", self.job_id, pct, message)

    def check_cancelled(self) -> None:
        """Raise JobDismissedError when the job is no longer running.

        An unreachable database counts as "not dismissed": the next check will tell.
        """
        try:
            with self._factory() as session:
                job = session.get(Job, self.job_id)
                status = None if job is None else job.status
        except OperationalError as exc:
            self._unreachable("status not readable", exc)
            return
        self._reachable()
        if status != "running":
            raise JobDismissedError(self.job_id)

    def _unreachable(self, what: str, exc: OperationalError) -> None:
        if not self._outage:
            self._outage = True
            first_line = str(exc.orig).strip().split("\n", 1)[0]
            logger.warning("job %s: %s; database unreachable (%s)", self.job_id, what, first_line)

    def _reachable(self) -> None:
        if self._outage:
            self._outage = False
            logger.info("job %s: database reachable again", self.job_id)


def _user_message(exc: BaseException) -> str:
    """A failure message safe to show: input errors verbatim, anything else generic."""
    from gis_data.loading.errors import AssetValidationError, ConfigError

    if isinstance(exc, AssetValidationError | ConfigError | JobInputError):
        text = str(exc)
        # File paths of server-side configs are reduced to file names.
        return text.replace("\\", "/")[:2000]
    if isinstance(exc, OperationalError):
        return "failed: the database stayed busy or unreachable while storing the result; retry"
    return f"failed: {type(exc).__name__}; see the server log"


def run_job(job_id: str, database_url: str) -> str:
    """Run one job to its end on a Dask worker (or any thread); returns the final status."""
    factory = session_factory(get_engine(database_url))

    def start() -> tuple[str, dict[str, Any], int | None] | str:
        with factory() as session, session.begin():
            # "running" here means an earlier attempt's worker died (Dask runs the task again).
            previous = session.scalar(select(Job.status).where(Job.id == job_id))
            started = session.execute(
                update(Job)
                .where(Job.id == job_id, Job.status.in_(("accepted", "running")))
                .values(
                    status="running",
                    started_at=utcnow(),
                    message="running" if previous == "accepted" else "restarted: a worker was lost",
                    updated_at=utcnow(),
                )
            )
            job = session.get(Job, job_id)
            if job is None or not getattr(started, "rowcount", 0):
                return job.status if job is not None else "missing"
            return job.process_id, dict(job.inputs), job.scenario_id

    # A database restarting just as the job starts is waited for like at the result write.
    begun = _with_retry(start, f"job {job_id}: starting")
    if isinstance(begun, str):
        return begun
    process_id, inputs, scenario_id = begun
    ctx = JobContext(job_id=job_id, database_url=database_url, scenario_id=scenario_id)
    try:
        # Registers the processes in worker processes that only imported this module.
        importlib.import_module("service.processes")
        process = PROCESSES[process_id]
        # Below the API's priority: on shared cores, reads stay fast while a job computes.
        with lowered_priority(get_settings().JOB_NICE):
            outcome = _resolve(process.function)(ctx, inputs)

        def finish() -> None:
            with factory() as session, session.begin():
                job = session.get(Job, job_id, with_for_update=True)
                if job is not None and job.status == "successful":
                    # A retry after a COMMIT whose reply was lost (the connection dropped):
                    # the result is stored already and must not be stored twice.
                    logger.warning("job %s: the result was stored by an earlier attempt", job_id)
                    return
                if job is None or job.status != "running":
                    raise JobDismissedError(job_id)
                plan_id = outcome.store(session) if outcome.store is not None else None
                job.result = outcome.result
                job.plan_id = plan_id
                job.status = "successful"
                job.progress = 100
                job.message = "done"
                job.finished_at = utcnow()

        _with_retry(finish, f"job {job_id}: storing the result")
        logger.info("job %s (%s) successful", job_id, process_id)
        return "successful"
    except JobDismissedError:
        logger.info("job %s (%s) stopped: dismissed", job_id, process_id)
        return "dismissed"
    except Exception as exc:
        logger.exception("job %s (%s) failed", job_id, process_id)
        message = _user_message(exc)
        _with_retry(
            lambda: _fail_unfinished(factory, job_id, message), f"job {job_id}: marking it failed"
        )
        return "failed"


def _fail_unfinished(factory: Callable[[], Session], job_id: str, message: str) -> bool:
    """Mark a job that is still accepted or running as failed; True when it was."""
    with factory() as session, session.begin():
        changed = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status.in_(("accepted", "running")))
            .values(status="failed", message=message, finished_at=utcnow(), updated_at=utcnow())
        )
    return bool(getattr(changed, "rowcount", 0))


def settle_lost_job(job_id: str, database_url: str) -> bool:
    """A job whose Dask task erred outside `run_job` (its worker died): mark it failed."""
    factory = session_factory(get_engine(database_url))
    try:
        lost = _with_retry(
            lambda: _fail_unfinished(factory, job_id, LOST_MESSAGE), f"job {job_id}: lost"
        )
    except OperationalError:
        logger.exception("job %s: could not mark it failed; recovery at startup will", job_id)
        return False
    if lost:
        logger.error("job %s: its Dask task failed (worker lost); marked failed", job_id)
    return lost


class JobRunner:
    """Submits jobs to a Dask cluster: an in-process LocalCluster or a scheduler address."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: Any = None
        self._cluster: Any = None
        self._futures: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _ensure_client(self) -> Any:
        with self._lock:
            if self._client is None:
                from distributed import Client

                if self.settings.DASK_SCHEDULER_ADDRESS:
                    self._client = Client(self.settings.DASK_SCHEDULER_ADDRESS)
                else:
                    self._cluster = local_cluster(self.settings, dashboard_address=None)
                    self._client = Client(self._cluster)
            return self._client

    def start(self) -> None:
        """Connect or start the cluster now rather than on the first job."""
        self._ensure_client()

    def submit(self, job_id: str, database_url: str) -> None:
        """Queue an accepted job (its record must be committed already)."""
        client = self._ensure_client()
        future = client.submit(
            run_job, job_id, database_url, key=f"gunmane-job-{job_id}", pure=False
        )
        with self._lock:
            # Dask cancels tasks whose futures are garbage collected: keep them until done.
            self._futures[job_id] = future
        future.add_done_callback(lambda f: self._settle(job_id, database_url, f))

    def _forget(self, job_id: str) -> None:
        with self._lock:
            self._futures.pop(job_id, None)

    def _settle(self, job_id: str, database_url: str, future: Any) -> None:
        """Done callback (own thread): a task that erred leaves no job running."""
        self._forget(job_id)
        if future.status == "error":
            settle_lost_job(job_id, database_url)

    def cancel(self, job_id: str) -> None:
        """Cancel a queued task (a running one stops itself at its next progress report)."""
        with self._lock:
            future = self._futures.get(job_id)
        if future is not None and not future.done():
            future.cancel()

    def wait(self, job_id: str, timeout: float | None = None) -> None:
        """Block until a submitted job's task has finished (tests and the demo)."""
        with self._lock:
            future = self._futures.get(job_id)
        if future is not None:
            from distributed import wait

            # A cancelled task is finished as far as its job goes.
            with suppress(CancelledError):
                wait([future], timeout=timeout)

    def close(self) -> None:
        """Close the client and any local cluster."""
        with self._lock:
            client, cluster = self._client, self._cluster
            self._client = self._cluster = None
            self._futures.clear()
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()


def new_job_id() -> str:
    """A fresh job id."""
    return uuid.uuid4().hex


def submit_job(
    *,
    session: Session,
    runner: JobRunner,
    process_id: str,
    inputs: dict[str, Any],
    scenario_id: int | None,
    created_by: int | None = None,
) -> Job:
    """Save the job record (committed), then hand it to Dask.

    The commit comes first so that the job exists before any response names it and before
    a worker looks for it.
    """
    job = crud.create_job(
        session=session,
        job_id=new_job_id(),
        process_id=process_id,
        inputs=inputs,
        scenario_id=scenario_id,
        created_by=created_by,
    )
    session.commit()
    bind = session.get_bind()
    try:
        runner.submit(job.id, bind.engine.url.render_as_string(hide_password=False))
    except Exception:
        logger.exception("could not submit job %s to Dask", job.id)
        job.status = "failed"
        job.message = "could not start the job: the task cluster is not available"
        job.finished_at = utcnow()
        session.commit()
    return job


def dismiss_job(*, session: Session, runner: JobRunner, job: Job) -> Job:
    """Dismiss a job: stop it if it is queued or running, drop its result if it finished."""
    if job.status in ("accepted", "running"):
        queued = job.status == "accepted"
        session.execute(
            update(Job)
            .where(Job.id == job.id, Job.status.in_(("accepted", "running")))
            .values(
                status="dismissed",
                message="dismissed",
                finished_at=utcnow(),
                updated_at=utcnow(),
            )
        )
        session.commit()
        session.refresh(job)
        # Cancelling a running Dask task only detaches its future (the task runs on), so
        # `wait` could no longer see it end: a running job stops itself at its next report.
        if queued:
            runner.cancel(job.id)
    elif job.status != "dismissed":
        job.status = "dismissed"
        job.message = "dismissed; its result was removed"
        job.result = None
        session.commit()
    return job


def recover_jobs(database_url: str) -> int:
    """After a restart: mark jobs left accepted or running as failed; returns how many."""
    factory = session_factory(get_engine(database_url))
    with factory() as session, session.begin():
        count = crud.fail_unfinished_jobs(session=session, message=RECOVERY_MESSAGE)
    if count:
        logger.warning("%d job(s) interrupted by a restart were marked failed", count)
    return count
