"""Service load: req/s and p50/p95 latency of two reads under 50 clients (wrk), SQLite and PostGIS.

The reads are a contractor's daily routes (`GET /api/v1/patrols`, routes with their steps) and
an OGC API - Features items page (`GET /ogc/collections/assets/items?limit=100`). The four-town
demo is stored and planned (regions, then one day's routes) in a fresh database per backend; the
API runs under uvicorn (`--workers`, default 2) on 127.0.0.1 and wrk drives 50 connections.
PostGIS is measured when `GUNMANE_BENCH_POSTGRES_URL` is set (its tables are emptied first).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from sqlalchemy import text

from service import crud
from service.config import Settings
from service.db import get_engine, migrate, session_scope
from service.importer import import_scenario
from service.jobs import run_job

DEMO = Path(__file__).resolve().parents[1] / "gis_data" / "demo" / "four_towns.toml"
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


def prepare(url: str) -> dict[str, str]:
    """Store and plan the demo in the database at `url`; returns a contractor and a gis key."""
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
        contractor = crud.create_api_key(
            session=session, role="contractor", name="bench", region_ids=[region_id]
        )[1]
        gis = crud.create_api_key(session=session, role="gis", name="bench")[1]
        count = sum(1 for r in routes if r.region_id == region_id)
    print(f"  prepared: {count} routes in the contractor's region", file=sys.stderr)
    return {"contractor": contractor, "gis": gis}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": url}
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
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ogc/conformance", timeout=2):
                return process
        except OSError:
            time.sleep(0.3)
    process.terminate()
    raise RuntimeError("the server did not start")


def _wrk(url: str, key: str, *, seconds: int, connections: int, threads: int) -> list[float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_LUA)
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
        "-H", f"X-API-Key: {key}", "-s", script.name, url,
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    os.unlink(script.name)
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    return [float(x) for x in line.split()[1:]]


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


def main(argv: list[str]) -> int:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench service_load")
    parser.add_argument("--seconds", type=int, default=10, help="duration of each run (10)")
    parser.add_argument("--connections", type=int, default=50, help="concurrent clients (50)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers (2)")
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
        f" wrk threads {args.threads}"
    )
    print(
        f"{'backend':<8} {'read':<38} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'errors':>6}"
        f" {'in-proc ms':>10}"
    )
    for backend, url in backends:
        keys = prepare(url)
        port = _free_port()
        server = _server(url, port, args.workers)
        try:
            base = f"http://127.0.0.1:{port}"
            for label, path, role in (
                ("contractor routes /api/v1/patrols", "/api/v1/patrols", "contractor"),
                ("OGC items assets limit=100", "/ogc/collections/assets/items?limit=100", "gis"),
            ):
                _wrk(base + path, keys[role], seconds=2, connections=10, threads=1)  # warm up
                _requests, errors, p50, p95, rps = _wrk(
                    base + path,
                    keys[role],
                    seconds=args.seconds,
                    connections=args.connections,
                    threads=args.threads,
                )
                inproc = in_process_ms(url, path, keys[role])
                print(
                    f"{backend:<8} {label:<38} {rps:>8.1f} {p50:>8.1f} {p95:>8.1f}"
                    f" {int(errors):>6} {inproc:>10.2f}",
                    flush=True,
                )
        finally:
            server.terminate()
            server.wait(timeout=30)
    shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
