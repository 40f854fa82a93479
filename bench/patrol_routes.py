"""Patrol routes benchmark: network size, matching and bundled versus separate plans on the demos.

For each scenario: the road network (nodes, edges, street km, nodes dropped outside the largest
strongly connected component), the tasks matched (edges, arcs, nodes) and the unmatched assets,
with build times; then the bundled plan against the sum of the separate (town x field) plans:
crews, km, hours and deadhead hours, with the solve seconds.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

from gis_data.loading.load import load_scenario
from gis_data.network.graph import network_for_scenario
from gis_data.network.patrol_arcs import match_assets
from gis_data.planning.patrol_plan import PlanSettings, plan_patrols

DEMO = Path(__file__).resolve().parents[1] / "gis_data" / "demo"
SCENARIOS = {"four": DEMO / "four_towns.toml", "li11": DEMO / "liechtenstein.toml"}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its two tables."""
    parser = argparse.ArgumentParser(prog="python -m bench.patrol_routes", description=__doc__)
    parser.add_argument("--scenarios", nargs="*", default=["four", "li11"], choices=SCENARIOS)
    parser.add_argument("--time-limit", type=float, default=15.0, help="bundled solve seconds")
    parser.add_argument("--silo-time-limit", type=float, default=2.0, help="seconds per silo")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-plans", action="store_true", help="network and matching only")
    args = parser.parse_args(argv)
    net_rows: list[str] = []
    plan_rows: list[str] = []
    for key in args.scenarios:
        t0 = time.perf_counter()
        scenario = load_scenario(SCENARIOS[key])
        t1 = time.perf_counter()
        network = network_for_scenario(scenario, use_cache=False)
        t2 = time.perf_counter()
        matching = match_assets(network, scenario.assets)
        tasks = matching.tasks()
        t3 = time.perf_counter()
        kinds = Counter(t.kind for t in tasks)
        s = network.summary
        net_rows.append(
            f"{scenario.name[:28]:<28} {len(scenario.assets):>6} {s.nodes:>6} {s.edges:>6}"
            f" {s.street_km:>7.1f} {s.scc_nodes_dropped:>5} {kinds['edge']:>5} {kinds['arc']:>4}"
            f" {kinds['node']:>5} {len(matching.unmatched):>5} {t1 - t0:>6.1f} {t2 - t1:>6.1f}"
            f" {t3 - t2:>6.1f}"
        )
        if args.no_plans:
            continue
        settings = PlanSettings(
            time_limit_s=args.time_limit, silo_time_limit_s=args.silo_time_limit, seed=args.seed
        )
        t4 = time.perf_counter()
        result = plan_patrols(scenario, settings, matching=matching)
        seconds = time.perf_counter() - t4
        b, sep = result.bundled.totals(), result.siloed_totals()
        saving = 100 * (sep["hours"] - b["hours"]) / sep["hours"] if sep["hours"] else 0.0
        plan_rows.append(
            f"{scenario.name[:28]:<28} {b['crews']:>4}/{sep['crews']:<4}"
            f" {b['km']:>7.1f}/{sep['km']:<7.1f}"
            f" {b['hours']:>6.1f}/{sep['hours']:<6.1f} {b['deadhead_hours']:>5.1f}/"
            f"{sep['deadhead_hours']:<5.1f} {saving:>6.1f} {result.bundled.runtime_s:>6.1f}"
            f" {seconds:>6.1f}"
        )
    print(
        f"{'scenario':<28} {'assets':>6} {'nodes':>6} {'edges':>6} {'str.km':>7} {'drop':>5}"
        f" {'edge':>5} {'arc':>4} {'node':>5} {'unm.':>5} {'load s':>6} {'net s':>6} {'match s':>6}"
    )
    print("\n".join(net_rows))
    if plan_rows:
        print()
        print(
            f"{'bundled/separate':<28} {'crews':>9} {'km':>15} {'hours':>13} {'deadhead h':>11}"
            f" {'save %':>6} {'bund s':>6} {'all s':>6}"
        )
        print("\n".join(plan_rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
