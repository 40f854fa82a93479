"""Benchmark: the k frontier on the four-town demo, inline against Dask workers (same rows?).

Prints the frontier table (k, variant, cost and saving per patrol round, largest region's
workload and crews) and the wall time of the sweep inline and on a local Dask cluster of
``--workers`` processes, and checks that both give identical rows (count-based stops).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

DEMO = Path(__file__).resolve().parents[1] / "gis_data" / "demo" / "four_towns.toml"


def main(argv: list[str]) -> int:
    """Run the sweep inline and on Dask; print the table and the timings."""
    from distributed import Client, LocalCluster

    from gis_data.planning.plan_engine import PlanSetup
    from gis_data.workbench.frontier import FrontierRequest, frontier_for_setup

    parser = argparse.ArgumentParser(prog="python -m bench frontier")
    parser.add_argument("config", nargs="?", type=Path, default=DEMO)
    parser.add_argument("--max-k", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--region-iterations", type=int, default=30)
    parser.add_argument("--iterations", type=int, default=10)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    setup = PlanSetup.load(args.config)
    load_s = time.perf_counter() - started
    request = FrontierRequest(ks=tuple(range(1, args.max_k + 1)))

    def sweep(client: object | None) -> tuple[dict[str, Any], float]:
        t0 = time.perf_counter()
        frontier = frontier_for_setup(
            setup,
            request,
            region_iterations=args.region_iterations,
            route_iterations=args.iterations,
            client=client,
        )
        return frontier.to_dict(), time.perf_counter() - t0

    inline, inline_s = sweep(None)
    with (
        LocalCluster(
            n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        fanned, fanned_s = sweep(client)
    print(f"{args.config.name}: load {load_s:.1f} s; siloed {inline['siloed']}")
    print("| regions | k | cost/round (yen) | saving % | largest h/30 d | crews |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in inline["rows"]:
        kind = "whole towns" if r["whole_towns"] else "cross-border"
        if not r["feasible"]:
            print(f"| {kind} | {r['k']} | not possible | | | |")
            continue
        print(
            f"| {kind} | {r['k']} | {r['cost_yen']:,} | {r['saving_pct']:.1f} |"
            f" {r['largest_workload_h']:.1f} | {r['largest_crews']} |"
        )
    same = inline["rows"] == fanned["rows"]
    print(f"sweep inline {inline_s:.1f} s; Dask {args.workers} workers {fanned_s:.1f} s;"
          f" identical rows: {same}")  # fmt: skip
    return 0 if same else 1
