"""Job processes for the fault tests; imported on every Dask worker by a worker plugin."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

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


for _id, _fn in (("fault-block", "block_until_released"), ("fault-lock", "lock_then_finish")):
    register_process(Process(_id, _id, "fault test", f"{__name__}:{_fn}", needs_scenario=False))
