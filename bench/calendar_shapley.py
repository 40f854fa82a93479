"""Benchmark: a fiscal-year patrol calendar and the Shapley cost shares on real data.

Calendar: FY2026 (working days without weekends, Japanese holidays and the year-end closure) on
all 11 Liechtenstein towns, default frequencies, in three pool layouts: one pool per town, three
contract regions of whole towns, one bundle for all. Measured: time to build the calendar,
coverage (required visits made, must be 100 %), the largest gap over the required interval
(must be <= 1), the daily workload per crew (estimate used for leveling: max and mean, minutes)
and, for the three regions, the time to route every distinct day with the engine.

Shapley: the cost of a coalition of towns is its bundled patrol cost over FY2026 from the routing
engine on 5 representative working days (`planning.cost_share`); exact over all coalitions on the
four-town demo, sampled (seeded permutations) on the 11 towns. Measured: time, routing solves and
coalitions costed, and whether the Shapley shares lie in the (checked part of the) core.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from gis_data.planning.cost_share import build_coalition_cost, share_costs
from gis_data.planning.patrol_calendar import PatrolCalendar, build_patrol_calendar, route_calendar
from gis_data.planning.plan_engine import PlanSetup, choose_regions
from gis_data.planning.work_calendar import parse_horizon
from optimizer.stop import MaxIterations

DEMO = Path(__file__).resolve().parents[1] / "gis_data" / "demo"


def _calendar_row(label: str, cal: PatrolCalendar, seconds: float) -> list[str]:
    res = cal.result
    worst = max(res.pools, key=lambda p: p.max_per_crew)
    mean = sum(p.mean_per_crew for p in res.pools) / len(res.pools)
    return [
        label,
        str(len(cal.regions)),
        str(sum(cal.crews)),
        str(len(res.tasks)),
        str(len(cal.dates)),
        f"{seconds:.2f}",
        f"{100 * res.coverage:.1f}",
        f"{res.max_gap_ratio:.2f}",
        f"{worst.max_per_crew:.0f}",
        f"{mean:.0f}",
        str(sum(p.overloaded_days for p in res.pools)),
    ]


def _table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print(
        "  ".join(
            h.rjust(w) if i else h.ljust(w)
            for i, (h, w) in enumerate(zip(header, widths, strict=True))
        )
    )
    for row in rows:
        print(
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )


def calendar_bench(setup: PlanSetup, *, route: bool) -> None:
    """Print the calendar table for the three pool layouts."""
    horizon = parse_horizon("FY2026")
    crs = setup.scenario.metric_crs
    regions = choose_regions(setup, 3, seed=0)
    layouts = [
        ("per town", None, None),
        ("3 regions", regions.asset_region, regions.region_depot),
        (
            "one bundle",
            dict.fromkeys(setup.assets["asset_id"].astype(str), "1"),
            {"1": setup.bundle_depot()},
        ),
    ]
    rows = []
    three = None
    for label, region_of, depots in layouts:
        started = time.perf_counter()
        cal = build_patrol_calendar(
            setup.assets,
            horizon,
            region_of=region_of,
            depot_of=depots or setup.town_depots(),
            metric_crs=crs,
            seed=0,
        )
        rows.append(_calendar_row(label, cal, time.perf_counter() - started))
        if label == "3 regions":
            three = cal
    header = ["pools", "n", "crews", "tasks", "days", "cal s", "cover %", "gap/req",
              "max/crew", "mean/crew", "over"]  # fmt: skip
    _table(header, rows)
    if route and three is not None:
        router = setup.router(stop=MaxIterations(0))
        started = time.perf_counter()
        routed = route_calendar(three, router)
        print(
            f"routes for every working day (3 regions): {routed.solves} solves,"
            f" {routed.reused} reused, {time.perf_counter() - started:.1f} s;"
            f" {routed.total_km():,.0f} km, {routed.total_minutes() / 60:,.0f} crew h,"
            f" {routed.crew_days()} crew-days, {routed.vehicles()} vehicles"
        )


def shapley_bench(setup: PlanSetup, label: str, *, permutations: int, exact_max: int) -> list[str]:
    """Shares of one scenario; returns the table row."""
    router = setup.router(stop=MaxIterations(0))
    started = time.perf_counter()
    cost = build_coalition_cost(
        setup.assets,
        router,
        parse_horizon("FY2026"),
        depot=setup.bundle_depot(),
        sample_days=5,
        metric_crs=setup.scenario.metric_crs,
    )
    result = share_costs(
        cost,
        setup.assets,
        populations=setup.populations(),
        metric_crs=setup.scenario.metric_crs,
        permutations=permutations,
        exact_max_towns=exact_max,
        seed=0,
    )
    seconds = time.perf_counter() - started
    se = result.shapley.std_error
    max_se = float(max(se)) / max(1.0, result.total_yen) * 100 if se is not None else 0.0
    return [
        label,
        str(len(cost.towns)),
        "exact" if result.shapley.exact else f"{permutations} perm.",
        str(result.coalitions),
        str(result.solves),
        f"{seconds:.0f}",
        f"{result.total_yen / 1e6:.2f}",
        f"{max_se:.2f}",
        "yes" if not result.violations["shapley"] else f"no ({len(result.violations['shapley'])})",
        result.core_checked.split(" (")[0],
    ]


def main(argv: list[str]) -> int:
    """Run both parts and print their tables."""
    parser = argparse.ArgumentParser(prog="python -m bench calendar_shapley")
    parser.add_argument("--permutations", type=int, default=10)
    parser.add_argument("--exact-max", type=int, default=0, help="exact Shapley up to N towns")
    parser.add_argument("--no-routes", action="store_true")
    parser.add_argument("--skip-shapley", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("gis_data").setLevel(logging.ERROR)
    li = PlanSetup.load(DEMO / "liechtenstein.toml")
    print("Patrol calendar FY2026, 11 Liechtenstein towns (minutes per crew per day)")
    calendar_bench(li, route=not args.no_routes)
    if args.skip_shapley:
        return 0
    print()
    print("Shapley cost shares from engine coalition costs (FY2026, 5 sample days)")
    header = ["scenario", "towns", "Shapley", "coalitions", "solves", "s", "total M yen",
              "max s.e. %", "in core", "checked"]  # fmt: skip
    rows: list[list[str]] = []
    four = PlanSetup.load(DEMO / "four_towns.toml")
    rows.append(shapley_bench(four, "four towns", permutations=0, exact_max=10))
    _table(header, rows)
    # Sampled on all towns: the exact value would cost 2^n - 1 coalitions of 5 routed days each.
    rows.append(
        shapley_bench(li, "Liechtenstein", permutations=args.permutations, exact_max=args.exact_max)
    )
    print()
    _table(header, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
