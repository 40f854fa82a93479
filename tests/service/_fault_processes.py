"""Job processes for the fault tests; imported on every Dask worker by a worker plugin."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from service import crud
from service.jobs import JobContext, JobOutcome, Process, register_process


def block_until_released(ctx: JobContext, inputs: dict[str, Any]) -> JobOutcome:
    """Note each attempt, touch the marker, then wait for the release file (60 s at most)."""
    attempts = Path(inputs["attempts"])
    with attempts.open("a") as out:
        out.write("attempt\n")
    ctx.progress(10, "blocked")
    Path(inputs["marker"]).touch()
    release = Path(inputs["release"])
    deadline = time.monotonic() + 60
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return JobOutcome(result={"attempts": attempts.read_text().count("attempt")})


def lock_then_finish(ctx: JobContext, inputs: dict[str, Any]) -> JobOutcome:
    """Take an exclusive lock on the SQLite file for ``hold`` seconds, then return a result."""
    taken = threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(inputs["database"], timeout=5, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        taken.set()
        time.sleep(float(inputs["hold"]))
        conn.execute("ROLLBACK")
        conn.close()

    threading.Thread(target=hold, daemon=True).start()
    taken.wait(5)
    return JobOutcome(result={"rows": 3})


def _wait_for_file(path: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)


def report_then_store_plan(ctx: JobContext, inputs: dict[str, Any]) -> JobOutcome:
    """Report progress every 50 ms until released, then store a plan with its routes.

    Progress messages count up ("step N") so a test can see writes land after an outage.
    With ``pause_in_store``, the first attempt of the result transaction stops after the
    plan row (before its routes) until the ``go`` file exists: a test stops the database
    there. Every attempt is logged to the ``attempts`` file.
    """
    release, attempts = Path(inputs["release"]), Path(inputs["attempts"])
    step = 0
    while not release.exists():
        step += 1
        ctx.progress(min(90, step), f"step {step}")
        ctx.check_cancelled()
        if step == 1:
            Path(inputs["marker"]).touch()
        time.sleep(0.05)
    routes = int(inputs.get("routes", 3))

    def store(session: Session) -> int:
        with attempts.open("a") as out:
            out.write("store\n")
        assert ctx.scenario_id is not None
        plan = crud.create_plan(
            session=session, scenario_id=ctx.scenario_id, kind="routes", job_id=ctx.job_id
        )
        if inputs.get("pause_in_store") and attempts.read_text().count("store") == 1:
            Path(inputs["in_store"]).touch()
            _wait_for_file(Path(inputs["go"]))
        for day in range(routes):
            crud.add_route(session=session, plan=plan, region_id=None, crew="1", day=day, geom=None)
        return plan.id

    return JobOutcome(result={"steps": step, "routes": routes}, store=store)


def report_priority(ctx: JobContext, inputs: dict[str, Any]) -> JobOutcome:
    """The nice value of the thread running the job."""
    import os

    return JobOutcome(result={"nice": os.getpriority(os.PRIO_PROCESS, threading.get_native_id())})


for _id, _fn in (
    ("probe-priority", "report_priority"),
    ("fault-block", "block_until_released"),
    ("fault-lock", "lock_then_finish"),
    ("fault-store-plan", "report_then_store_plan"),
):
    register_process(Process(_id, _id, "fault test", f"{__name__}:{_fn}", needs_scenario=False))
