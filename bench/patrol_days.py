"""Stored patrol days: a horizon's calendar routes stored, one lost day re-planned, reads by date.

Per backend (SQLite, and PostGIS when `GUNMANE_BENCH_POSTGRES_URL` is set; its tables are
emptied first) the scenario (default the 11-town Liechtenstein demo) is stored, split into
contract regions (the regions job), then the calendar job plans and routes every working day of
the horizon (default FY2026) and stores each crew-day: the table gives its time, the route rows
and the database size. One region's working day mid-horizon is then marked lost (rain) and the
re-plan job timed (days re-routed, visits moved, assets late). Last, uvicorn serves the API and
wrk drives `GET /api/v1/patrols?date=D` for a contractor key with 50 clients, D cycling over the
stored working days (every request a different day than the one before: the read cache holds
the whole horizon or misses) and fixed to one day; p50/p95 and req/s with the load average.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from bench.service_load import _free_port, _server, parse_wrk
from service import crud
from service.config import Settings
from service.db import get_engine, migrate, session_scope
from service.importer import import_scenario
from service.jobs import run_job
from service.models import Route

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "gis_data" / "demo" / "liechtenstein.toml"
_TABLES = (
    "api_keys, scenarios, asset_layers, assets, depots, plans, regions, routes, jobs,"
    " patrol_day_marks"
)
# wrk: each request asks for the next date of the list (per connection thread), RESULT at the end.
_LUA = """
local dates = {%s}
local i = 0
request = function()
  i = i %% #dates + 1
  return wrk.format("GET", "%s?date=" .. dates[i])
end
done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %%d %%d %%.3f %%.3f %%.3f\\n", summary.requests, errors,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    summary.requests / (summary.duration / 1e6)))
end
"""


def _job(url: str, process: str, scenario_id: int, inputs: dict[str, Any]) -> tuple[float, Any]:
    """Run one job here (as the runner would); seconds and its result."""
    with session_scope(get_engine(url)) as session:
        job = crud.create_job(
            session=session,
            job_id=f"bench-{process}-{time.monotonic_ns()}",
            process_id=process,
            inputs={**inputs, "scenario_id": scenario_id},
            scenario_id=scenario_id,
        )
        job_id = job.id
    started = time.perf_counter()
    status = run_job(job_id, url)
    seconds = time.perf_counter() - started
    with session_scope(get_engine(url)) as session:
        job = crud.get_job(session=session, job_id=job_id)
        if status != "successful":
            raise RuntimeError(f"{process} job {status}: {job.message}")
        return seconds, job.result


def database_mb(url: str) -> float:
    """Size of the database: the SQLite file (WAL checkpointed), or the schema's relations."""
    engine = get_engine(url)
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        path = Path(engine.url.database or "")
        return path.stat().st_size / 2**20
    with engine.connect() as conn:
        size = conn.execute(
            text(
                "SELECT sum(pg_total_relation_size(quote_ident(schemaname) || '.' ||"
                " quote_ident(tablename))) FROM pg_tables WHERE schemaname = current_schema()"
            )
        ).scalar()
    return float(size or 0) / 2**20


def _wrk(
    base: str, path: str, key: str, dates: list[str], *, seconds: int, connections: int
) -> Any:
    """wrk on ``base`` asking ``path?date=`` for each of ``dates`` in turn."""
    script = _LUA % (", ".join(f'"{d}"' for d in dates), path)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script)
    command = [
        "wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
        "-H", f"X-API-Key: {key}", "-s", fh.name, base,
    ]  # fmt: skip
    try:
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(fh.name)
    return parse_wrk(out)


def in_process(url: str, key: str, dates: list[str]) -> tuple[float, float, float, float]:
    """The ASGI app called directly: each date's first read (a cache miss: database, JSON) and
    a second one (cached); mean and p95 ms of the misses, mean ms of the hits, mean bytes."""
    import asyncio
    import statistics

    from service.main import create_app

    app = create_app(Settings(DATABASE_URL=url, RECOVER_JOBS_ON_STARTUP=False))
    sizes: list[int] = []

    def scope(date: str) -> dict[str, Any]:
        return {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
            "scheme": "http", "path": "/api/v1/patrols", "raw_path": b"/api/v1/patrols",
            "root_path": "", "query_string": f"date={date}".encode(),
            "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1),
            "headers": [(b"host", b"127.0.0.1"), (b"x-api-key", key.encode())],
        }  # fmt: skip

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start" and message["status"] != 200:
            raise RuntimeError(f"/api/v1/patrols: status {message['status']}")
        if message["type"] == "http.response.body":
            sizes.append(len(message.get("body", b"")))

    async def loop() -> tuple[list[float], list[float]]:
        misses: list[float] = []
        hits: list[float] = []
        for date in dates:
            for times in (misses, hits):
                start = time.perf_counter()
                await app(scope(date), receive, send)  # type: ignore[arg-type]
                times.append((time.perf_counter() - start) * 1000)
        return misses, hits

    misses, hits = asyncio.run(loop())
    p95 = statistics.quantiles(misses, n=20)[-1] if len(misses) > 1 else misses[0]
    return statistics.mean(misses), p95, statistics.mean(hits), statistics.mean(sizes)


class _Lines(list[str]):
    """Table lines, each printed as soon as it is measured (a long run shows its progress)."""

    def append(self, line: str) -> None:
        print(line, flush=True)
        super().append(line)


def measure(url: str, backend: str, args: argparse.Namespace) -> list[str]:
    """The table lines of one backend (printed as they come)."""
    migrate(url)
    engine = get_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {_TABLES} RESTART IDENTITY CASCADE"))
    with session_scope(engine) as session:
        scenario_id = import_scenario(session=session, config=Path(args.scenario)).id
    _job(url, "regions", scenario_id, {"k": args.regions, "time_limit": 10})
    before = database_mb(url)
    seconds, result = _job(
        url, "calendar", scenario_id, {"horizon": args.horizon, "iterations": args.iterations}
    )
    summary = result["summary"]
    size = database_mb(url) - before
    with session_scope(engine) as session:
        plan = crud.latest_plan(session=session, scenario_id=scenario_id, kind="calendar")
        assert plan is not None
        rows = session.scalar(select(func.count()).where(Route.plan_id == plan.id)) or 0
        region_ids = dict(plan.result["region_ids"])
        dates = list(plan.result["schedule"]["dates"])
        region_id = int(next(iter(region_ids.values())))
        contractor = crud.create_api_key(
            session=session, role="contractor", name="bench", region_ids=[region_id]
        )[1]
    lines = _Lines()
    lines.append(
        f"{backend:<8} calendar {args.horizon}: {summary['working_days']} working days,"
        f" {len(region_ids)} regions, {summary['routing_solves']} solves"
        f" ({summary['days_reused']} days reused), plan + store {seconds:.1f} s,"
        f" {rows} route rows, +{size:.1f} MB (database {database_mb(url):.1f} MB),"
        f" unrouted days {summary['days_with_unrouted_assets']}, load {os.getloadavg()[0]:.1f}"
    )
    # One lost day mid-horizon in the first region (a day it has routes), then the re-plan.
    with session_scope(engine) as session:
        lost = min(
            d.isoformat()
            for d in session.scalars(
                select(Route.service_date).where(
                    Route.plan_id == plan.id,
                    Route.region_id == region_id,
                    Route.service_date >= dt.date.fromisoformat(dates[len(dates) // 2]),
                )
            )
            if d is not None
        )
    from service.patrol_day_models import PatrolDayMark

    with session_scope(engine) as session:
        region = crud.get_region(session=session, region_id=region_id)
        session.add(
            PatrolDayMark(
                scenario_id=scenario_id,
                region_id=region.id,
                service_date=dt.date.fromisoformat(lost),
                reason="rain",
                note="bench",
            )
        )
    seconds, result = _job(url, "replan", scenario_id, {})
    r = result["summary"]
    lines.append(
        f"{backend:<8} re-plan after losing {lost} in one region: {seconds:.1f} s,"
        f" {r['days_rerouted']} days re-routed, {r['moves']} visits moved,"
        f" {r['late_assets']} assets late, load {os.getloadavg()[0]:.1f}"
    )
    miss, miss95, hit, size = in_process(url, contractor, dates)
    lines.append(
        f"{backend:<8} GET /patrols?date= in-process, one client: first read of each of"
        f" {len(dates)} days (cache miss) mean {miss:.1f} ms, p95 {miss95:.1f} ms; cached"
        f" {hit:.2f} ms; mean response {size / 1024:.0f} kB, load {os.getloadavg()[0]:.1f}"
    )
    if shutil.which("wrk") is None:
        lines.append(f"{backend:<8} reads: wrk is not installed (apt-get install wrk); skipped")
        return lines
    port = _free_port()
    # Under a shared machine's load the workers may take minutes to import the planning code.
    server = _server(url, port, args.workers, None, timeout=300.0)
    base = f"http://127.0.0.1:{port}"
    try:
        for label, chosen in (("every stored day in turn", dates), ("one day", [dates[3]])):
            _wrk(base, "/api/v1/patrols", contractor, chosen, seconds=2, connections=10)
            _n, errors, p50, p95, rps = _wrk(
                base,
                "/api/v1/patrols",
                contractor,
                chosen,
                seconds=args.seconds,
                connections=args.connections,
            )
            lines.append(
                f"{backend:<8} GET /patrols?date= ({label}, {args.connections} clients):"
                f" {rps:.0f} req/s, p50 {p50:.1f} ms, p95 {p95:.1f} ms, errors {errors},"
                f" load {os.getloadavg()[0]:.1f}"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    return lines


def main(argv: list[str]) -> int:
    """Measure and print the lines."""
    parser = argparse.ArgumentParser(prog="python -m bench patrol_days")
    parser.add_argument("--scenario", default=str(DEMO), help="scenario TOML (Liechtenstein)")
    parser.add_argument("--horizon", default="FY2026", help="YYYY-MM or FYyyyy (FY2026)")
    parser.add_argument("--regions", type=int, default=3, help="contract regions (3)")
    parser.add_argument("--iterations", type=int, default=3, help="iterations per day solve (3)")
    parser.add_argument("--seconds", type=int, default=10, help="duration of each read run (10)")
    parser.add_argument("--connections", type=int, default=50, help="concurrent clients (50)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers (2)")
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgis"])
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="gunmane-bench-days-"))
    backends = []
    if "sqlite" in args.backends:
        backends.append(("sqlite", f"sqlite:///{folder / 'bench.sqlite'}"))
    postgres = os.environ.get("GUNMANE_BENCH_POSTGRES_URL")
    if "postgis" in args.backends and postgres:
        backends.append(("postgis", Settings(DATABASE_URL=postgres).DATABASE_URL))
    elif "postgis" in args.backends:
        print("(PostGIS skipped: set GUNMANE_BENCH_POSTGRES_URL)")
    print(f"{Path(args.scenario).name}, {args.regions} regions, {args.iterations} iterations/day")
    for backend, url in backends:
        measure(url, backend, args)
    shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
