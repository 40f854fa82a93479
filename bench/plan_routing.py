"""The planner's routing of a plan: time of `POST /plans/evaluate/routing` until its figures are
there, for plans of 1, 2 and 4 regions of whole towns (the four-town demo), first and cached.

The scenario is stored in a temporary SQLite database; the app runs in-process with its own Dask
LocalCluster. One Evaluate first builds the planning units (the page always evaluates before it
routes). Each plan is routed once (the first plan also builds the road network and routes
the towns alone, which later plans take from the cache) and then asked for again: the second call
returns the finished job. Settings as served: `EVALUATE_ROUTE_SECONDS` (default 2) per 200 tasks
of each region's and town's solve, seed 0.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from service import crud
from service.config import Settings
from service.db import get_engine, migrate, session_scope
from service.importer import import_scenario
from service.main import create_app

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "gis_data" / "demo" / "four_towns.toml"


def _plans(codes: list[str]) -> dict[int, dict[str, int]]:
    """Whole-town plans: everything in one region, the towns in two halves, each town alone."""
    half = (len(codes) + 1) // 2
    return {
        1: dict.fromkeys(codes, 1),
        2: {c: 1 if i < half else 2 for i, c in enumerate(codes)},
        len(codes): {c: i + 1 for i, c in enumerate(codes)},
    }


def _route(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    answer = client.post("/api/v1/plans/evaluate/routing", json=body, headers=headers)
    answer.raise_for_status()
    job = answer.json()
    url = answer.headers["Location"]
    while job["status"] in ("accepted", "running"):
        time.sleep(0.05)
        job = client.get(url, headers=headers).json()
    if job["status"] != "successful":
        raise RuntimeError(f"routing job {job['status']}: {job['message']}")
    result = client.get(f"{url}/results", headers=headers).json()
    return {
        "seconds": time.perf_counter() - started,
        "cached": answer.status_code == 200,
        **result,
    }


def main(argv: list[str] | None = None) -> int:
    """Route the plans and print one line per plan and call."""
    parser = argparse.ArgumentParser(prog="python -m bench.plan_routing", description=__doc__)
    parser.add_argument("--config", type=Path, default=DEMO, help="scenario TOML (four towns)")
    parser.add_argument("--seconds", type=float, default=None, help="EVALUATE_ROUTE_SECONDS")
    parser.add_argument("--iterations", type=int, default=None, help="EVALUATE_ROUTE_ITERATIONS")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gunmane-bench-routing-") as folder:
        url = f"sqlite:///{Path(folder) / 'bench.sqlite'}"
        migrate(url)
        with session_scope(get_engine(url)) as session:
            scenario = import_scenario(session=session, config=args.config)
            scenario_id = scenario.id
            rows = crud.list_municipalities(session=session, scenario_id=scenario_id)
            codes = sorted(m.code for m in rows)
            key = crud.create_api_key(session=session, role="planner", name="bench")[1]
        extra: dict[str, Any] = {}
        if args.seconds is not None:
            extra["EVALUATE_ROUTE_SECONDS"] = args.seconds
        if args.iterations is not None:
            extra["EVALUATE_ROUTE_ITERATIONS"] = args.iterations
        settings = Settings(DATABASE_URL=url, DATA_DIR=Path(folder) / "data", **extra)
        headers = {"X-API-Key": key}
        stop = (
            f"{settings.EVALUATE_ROUTE_ITERATIONS} iterations"
            if settings.EVALUATE_ROUTE_ITERATIONS
            else f"{settings.EVALUATE_ROUTE_SECONDS:g} s"
        )
        print(f"{args.config.name}: {len(codes)} towns, {stop} per 200 tasks of a solve, seed 0")
        with TestClient(create_app(settings)) as client:
            # The page evaluates first (its instant figures build the planning units once).
            started = time.perf_counter()
            body = {"scenario": scenario_id, "towns": dict.fromkeys(codes, 1)}
            client.post("/api/v1/plans/evaluate", json=body, headers=headers).raise_for_status()
            print(f"first Evaluate (planning units built): {time.perf_counter() - started:.2f} s")
            print(f"{'regions':>7} {'call':<7} {'seconds':>8} {'alone':<7} {'plan h':>7}"
                  f" {'plan km':>8} {'alone h':>8} {'saving h':>9} {'saving %':>9}")  # fmt: skip
            for k, towns in _plans(codes).items():
                body = {"scenario": scenario_id, "k": k, "towns": towns}
                for call in ("first", "cached"):
                    r = _route(client, headers, body)
                    if (call == "cached") != r["cached"]:
                        raise RuntimeError(f"k={k}: expected a {call} call")
                    alone = "cached" if r["alone"]["cached"] else "routed"
                    print(
                        f"{k:>7} {call:<7} {r['seconds']:>8.2f} {alone:<7}"
                        f" {r['plan']['hours']:>7.2f} {r['plan']['km']:>8.1f}"
                        f" {r['alone']['hours']:>8.2f} {r['saving']['hours']:>9.2f}"
                        f" {r['saving']['hours_pct']:>9.1f}"
                    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
