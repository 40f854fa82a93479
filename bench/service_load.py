"""Service load: req/s and p50/p95 latency of two reads under 50 clients (wrk), SQLite and PostGIS.

The reads are a contractor's daily routes (`GET /api/v1/patrols`, routes with their steps) and
an OGC API - Features items page (`GET /ogc/collections/assets/items?limit=100`). The four-town
demo is stored and planned (regions, then one day's routes) in a fresh database per backend; the
API runs under uvicorn (`--workers`, default 2) on 127.0.0.1 and wrk drives 50 connections.
PostGIS is measured when `GUNMANE_BENCH_POSTGRES_URL` is set (its tables are emptied first).

Jobs: by default each uvicorn worker runs its jobs on its own in-process Dask LocalCluster (the
service's default settings). `--dask-workers N [N ...]` instead starts a `dask scheduler` and
`dask worker --nworkers N` (worker processes, `--dask-threads` each) and gives the server its
address (`DASK_SCHEDULER_ADDRESS`), the scale-out configuration. `--background-jobs J [J ...]`
submits J routes jobs (`POST /api/v1/processes/routes/execution`, a planner key) right before
each measured wrk run, so the reads are timed while the workers plan; the table says how many
finished within the run and their final status, and the bench waits for the rest before the
next run. Every combination of the listed values is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import importlib
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text

from service import crud
from service.config import Settings
from service.db import get_engine, migrate, session_scope
from service.importer import import_scenario
from service.jobs import run_job

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "gis_data" / "demo" / "four_towns.toml"
_LUA = """
done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %d %d %.3f %.3f %.3f\\n", summary.requests, errors,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    summary.requests / (summary.duration / 1e6)))
end
"""
_TABLES = "api_keys, scenarios, asset_layers, assets, depots, plans, regions, routes, jobs"
_TERMINAL = ("successful", "failed", "dismissed")
READS = (
    ("routes /api/v1/patrols", "/api/v1/patrols", "contractor"),
    ("OGC items assets limit=100", "/ogc/collections/assets/items?limit=100", "gis"),
)


@dataclass(frozen=True)
class Prepared:
    """The planned demo in one database: its scenario and the keys the bench calls with."""

    scenario_id: int
    keys: dict[str, str]


def prepare(url: str) -> Prepared:
    """Store and plan the demo in the database at `url`; contractor, gis and planner keys."""
    migrate(url)
    engine = get_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {_TABLES} RESTART IDENTITY CASCADE"))
    with session_scope(engine) as session:
        scenario_id = import_scenario(session=session, config=DEMO).id
    for process, inputs in (
        ("regions", {"k": 2, "time_limit": 5}),
        ("routes", {"time_limit": 8, "silo_time_limit": 0.5}),
    ):
        with session_scope(engine) as session:
            job = crud.create_job(
                session=session,
                job_id=f"bench-{process}",
                process_id=process,
                inputs={**inputs, "scenario_id": scenario_id},
                scenario_id=scenario_id,
            )
            job_id = job.id
        status = run_job(job_id, url)
        if status != "successful":
            raise RuntimeError(f"demo {process} job {status}")
    with session_scope(engine) as session:
        plan = crud.latest_plan(session=session, scenario_id=scenario_id, kind="routes")
        assert plan is not None
        routes = crud.list_routes(session=session, plan_id=plan.id)
        region_id = next(r.region_id for r in routes if r.region_id is not None)
        keys = {
            "contractor": crud.create_api_key(
                session=session, role="contractor", name="bench", region_ids=[region_id]
            )[1],
            "gis": crud.create_api_key(session=session, role="gis", name="bench")[1],
            "planner": crud.create_api_key(session=session, role="planner", name="bench")[1],
        }
        count = sum(1 for r in routes if r.region_id == region_id)
    print(f"  prepared: {count} routes in the contractor's region", file=sys.stderr)
    return Prepared(scenario_id=scenario_id, keys=keys)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server(
    url: str, port: int, workers: int, scheduler: str | None, *, timeout: float = 60.0
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": url}
    env.pop("DASK_SCHEDULER_ADDRESS", None)
    if scheduler is not None:
        env["DASK_SCHEDULER_ADDRESS"] = scheduler
    command = [
        sys.executable, "-m", "uvicorn", "service.main:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    # The C parser and event loop of uvicorn[standard], when installed.
    for option, module in (("--http", "httptools"), ("--loop", "uvloop")):
        if importlib.util.find_spec(module) is not None:
            command += [option, module]
    process = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ogc/conformance", timeout=2):
                return process
        except OSError:
            time.sleep(0.3)
    process.terminate()
    raise RuntimeError("the server did not start")


def dask_commands(address: str, workers: int, threads: int, folder: Path) -> list[list[str]]:
    """The `dask scheduler` and `dask worker` command lines of a cluster at `address`."""
    host, _, port = address.removeprefix("tcp://").rpartition(":")
    python = sys.executable
    return [
        [python, "-m", "dask", "scheduler", "--host", host, "--port", port, "--no-dashboard"],
        [
            python, "-m", "dask", "worker", address, "--nworkers", str(workers),
            "--nthreads", str(threads), "--no-dashboard", "--local-directory", str(folder),
        ],
    ]  # fmt: skip


def _warm_worker() -> int:
    """Import what a routes job needs (run on each Dask worker); returns the worker's pid."""
    for module in ("service.processes", "gis_data.planning.patrol_plan", "gis_data.network.graph"):
        importlib.import_module(module)
    return os.getpid()


@contextmanager
def dask_cluster(workers: int, threads: int, folder: Path, *, warm: bool = True) -> Iterator[str]:
    """A scheduler and `workers` worker processes on 127.0.0.1; yields the scheduler address.

    `warm` imports the planning code on each worker first. Their output goes to `dask.log` in
    `folder`; every process is stopped on exit.
    """
    from distributed import Client

    address = f"tcp://127.0.0.1:{_free_port()}"
    log = (folder / "dask.log").open("ab")
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for command in dask_commands(address, workers, threads, folder):
            processes.append(subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=log))
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(workers, timeout=120)
            if warm:
                # A running service's workers have imported the planning code already.
                client.run(_warm_worker)
        yield address
    finally:
        # Workers first, so that their nannies close cleanly while the scheduler still runs.
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def parse_wrk(out: str) -> tuple[int, int, float, float, float]:
    """(requests, errors, p50 ms, p95 ms, req/s) from the RESULT line the Lua script writes."""
    line = next((x for x in out.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no RESULT line:\n{out[-2000:]}")
    requests, errors, p50, p95, rps = line.split()[1:]
    return int(requests), int(errors), float(p50), float(p95), float(rps)


def _wrk(
    url: str, key: str, *, seconds: int, connections: int, threads: int
) -> tuple[int, int, float, float, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_LUA)
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
        "-H", f"X-API-Key: {key}", "-s", script.name, url,
    ]  # fmt: skip
    try:
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(script.name)
    return parse_wrk(out)


def _call(base: str, key: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """JSON of a GET (or a POST of `body`) to the API; raises on a non-2xx answer."""
    request = urllib.request.Request(
        base + path,
        data=None if body is None else json.dumps(body).encode(),
        headers={"X-API-Key": key, "Content-Type": "application/json"},
        method="GET" if body is None else "POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def submit_jobs(base: str, key: str, scenario_id: int, count: int, time_limit: float) -> list[str]:
    """Submit `count` routes jobs (seeds 0, 1, ...) through the API; their job ids."""
    ids = []
    for seed in range(count):
        inputs = {
            "scenario_id": scenario_id,
            "time_limit": time_limit,
            "silo_time_limit": 0.5,
            "seed": seed,
        }
        job = _call(base, key, "/api/v1/processes/routes/execution", {"inputs": inputs})
        ids.append(str(job["jobID"]))
    return ids


def job_states(base: str, key: str, ids: Sequence[str]) -> list[dict[str, Any]]:
    """The current status info of each job."""
    return [_call(base, key, f"/api/v1/jobs/{job_id}") for job_id in ids]


def wait_jobs(base: str, key: str, ids: Sequence[str], timeout: float) -> list[dict[str, Any]]:
    """Poll until every job has ended (or `timeout` s passed); their last status info."""
    deadline = time.monotonic() + timeout
    while True:
        states = job_states(base, key, ids)
        if all(s["status"] in _TERMINAL for s in states) or time.monotonic() > deadline:
            return states
        time.sleep(1.0)


@dataclass(frozen=True)
class JobsSummary:
    """Background jobs of one run: how many ended inside it, final statuses, mean run time."""

    submitted: int
    done_in_window: int
    statuses: dict[str, int]
    mean_run_s: float | None

    def cell(self) -> str:
        """'-' without jobs; else 'done/submitted' and 'ok' or the final status counts."""
        if not self.submitted:
            return "-"
        ok = self.statuses == {"successful": self.submitted}
        final = "ok" if ok else ",".join(f"{k}:{n}" for k, n in sorted(self.statuses.items()))
        return f"{self.done_in_window}/{self.submitted} {final}"


def summarize_jobs(
    at_window_end: Sequence[dict[str, Any]], final: Sequence[dict[str, Any]]
) -> JobsSummary:
    """Summary from the jobs' status info when wrk stopped and after they ended."""
    done = sum(1 for s in at_window_end if s["status"] in _TERMINAL)
    runs = [
        (dt.datetime.fromisoformat(s["finished"]) - dt.datetime.fromisoformat(s["started"]))
        for s in final
        if s["status"] == "successful" and s.get("started") and s.get("finished")
    ]
    mean = sum(r.total_seconds() for r in runs) / len(runs) if runs else None
    return JobsSummary(
        submitted=len(final),
        done_in_window=done,
        statuses=dict(Counter(str(s["status"]) for s in final)),
        mean_run_s=mean,
    )


def in_process_ms(url: str, path: str, key: str, *, repeat: int = 300) -> float:
    """Mean ms per request of the ASGI app called directly (no HTTP, no load tool), warm."""
    from service.main import create_app

    app = create_app(Settings(DATABASE_URL=url, RECOVER_JOBS_ON_STARTUP=False))
    raw_path, _, query = path.partition("?")
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": raw_path, "raw_path": raw_path.encode(), "root_path": "",
        "query_string": query.encode(), "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1),
        "headers": [(b"host", b"127.0.0.1"), (b"x-api-key", key.encode())],
    }  # fmt: skip

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.start" and message["status"] != 200:
            raise RuntimeError(f"{path}: status {message['status']}")

    async def loop() -> float:
        await app(dict(scope), receive, send)  # type: ignore[arg-type]
        start = time.perf_counter()
        for _ in range(repeat):
            await app(dict(scope), receive, send)  # type: ignore[arg-type]
        return (time.perf_counter() - start) * 1000 / repeat

    return asyncio.run(loop())


@contextmanager
def _jobs_cluster(workers: int, threads: int, folder: Path) -> Iterator[str | None]:
    """No scheduler for 0 (each uvicorn worker's in-process cluster), else a real one."""
    if workers == 0:
        yield None
    else:
        with dask_cluster(workers, threads, folder) as address:
            yield address


def main(argv: list[str]) -> int:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench service_load")
    parser.add_argument("--seconds", type=int, default=10, help="duration of each run (10)")
    parser.add_argument("--connections", type=int, default=50, help="concurrent clients (50)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers (2)")
    parser.add_argument(
        "--dask-workers", type=int, nargs="+", default=[0], metavar="N",
        help="Dask worker processes behind a `dask scheduler` (0: each uvicorn worker's"
        " in-process LocalCluster, the default settings)",
    )  # fmt: skip
    parser.add_argument("--dask-threads", type=int, default=1, help="threads per Dask worker (1)")
    parser.add_argument(
        "--background-jobs", type=int, nargs="+", default=[0], metavar="J",
        help="routes jobs submitted right before each measured run (0)",
    )  # fmt: skip
    parser.add_argument(
        "--job-time-limit", type=float, default=8.0, help="bundled solve seconds per job (8)"
    )
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("service_load: wrk is not installed (apt-get install wrk); skipped")
        return 0
    folder = Path(tempfile.mkdtemp(prefix="gunmane-bench-"))
    backends = [("sqlite", f"sqlite:///{folder / 'bench.sqlite'}")]
    postgres = os.environ.get("GUNMANE_BENCH_POSTGRES_URL")
    if postgres:
        backends.append(("postgis", Settings(DATABASE_URL=postgres).DATABASE_URL))
    else:
        print("(PostGIS skipped: set GUNMANE_BENCH_POSTGRES_URL)")
    print(
        f"{args.connections} clients, {args.seconds} s per run, uvicorn workers {args.workers},"
        f" wrk threads {args.threads}, Dask threads per worker {args.dask_threads},"
        f" jobs: routes with a {args.job_time_limit:g} s bundled solve"
    )
    print(
        f"{'backend':<8} {'dask':>5} {'jobs':>4} {'read':<27} {'req/s':>8} {'p50 ms':>7}"
        f" {'p95 ms':>7} {'errors':>6} {'jobs done':>11} {'job s':>6} {'load':>5}"
        f" {'in-proc ms':>10}"
    )
    for backend, url in backends:
        prepared = prepare(url)
        keys = prepared.keys
        for dask_workers in args.dask_workers:
            with _jobs_cluster(dask_workers, args.dask_threads, folder) as scheduler:
                port = _free_port()
                server = _server(url, port, args.workers, scheduler)
                base = f"http://127.0.0.1:{port}"
                try:
                    for jobs in args.background_jobs:
                        for label, path, role in READS:
                            _wrk(base + path, keys[role], seconds=2, connections=10, threads=1)
                            ids = submit_jobs(
                                base, keys["planner"], prepared.scenario_id, jobs,
                                args.job_time_limit,
                            )  # fmt: skip
                            _requests, errors, p50, p95, rps = _wrk(
                                base + path,
                                keys[role],
                                seconds=args.seconds,
                                connections=args.connections,
                                threads=args.threads,
                            )
                            load = os.getloadavg()[0]
                            in_window = job_states(base, keys["planner"], ids)
                            final = wait_jobs(base, keys["planner"], ids, timeout=600)
                            summary = summarize_jobs(in_window, final)
                            inproc = in_process_ms(url, path, keys[role])
                            mean = (
                                "-" if summary.mean_run_s is None else f"{summary.mean_run_s:.1f}"
                            )
                            dask = str(dask_workers) if dask_workers else "local"
                            print(
                                f"{backend:<8} {dask:>5} {jobs:>4} {label:<27} {rps:>8.1f}"
                                f" {p50:>7.1f} {p95:>7.1f} {errors:>6} {summary.cell():>11}"
                                f" {mean:>6} {load:>5.1f} {inproc:>10.2f}",
                                flush=True,
                            )
                finally:
                    server.terminate()
                    server.wait(timeout=30)
    shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
