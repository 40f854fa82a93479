"""Benchmark: contract regions on real data (all 11 Liechtenstein towns) against PySAL spopt.

Our districting (contiguity, workload balance within 5 %, compactness) and classic
regionalization baselines from spopt (SKATER and region k-means on the units' positions) run on the
same planning units, the same road-network adjacency and the same evaluation: balance (max/min
workload), mean Polsby-Popper of the dissolved regions, cut adjacency edges, workload-weighted
mean travel minutes from a unit to its region's 1-median (the optimizer's compactness), contiguity.
Target: k = 3 contiguous regions with workload max/min <= 1.05.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gis_data.planning.evaluate import PlanEvaluation, evaluate_plan
from gis_data.planning.units import PlanningUnits

DEMO = Path(__file__).resolve().parents[1] / "gis_data" / "demo" / "liechtenstein.toml"
TARGET_BALANCE = 1.05


@dataclass(frozen=True)
class Row:
    """One line of the table: a method's plan and its measures."""

    method: str
    evaluation: PlanEvaluation
    seconds: float
    note: str = ""

    def cells(self) -> list[str]:
        """The table cells of this row."""
        ev = self.evaluation
        met = ev.contiguous and ev.balance <= TARGET_BALANCE and not ev.unassigned
        return [
            self.method,
            str(len(ev.regions)),
            f"{ev.balance:.3f}",
            f"{ev.max_deviation_pct:.1f}",
            f"{ev.mean_polsby_popper:.3f}",
            str(ev.cut_edges),
            f"{ev.mean_travel_min:.2f}",
            "yes" if ev.contiguous else "no",
            f"{self.seconds:.1f}",
            "yes" if met else "no",
            self.note,
        ]


HEADER = [
    "method",
    "regions",
    "balance max/min",
    "max dev %",
    "mean Polsby-Popper",
    "cut edges",
    "min to centre",
    "contiguous",
    "time s",
    "target met",
    "note",
]


def _weights(units: PlanningUnits):  # type: ignore[no-untyped-def]
    from libpysal.weights import W

    neighbours = {i: sorted(set(nb)) for i, nb in enumerate(units.neighbours())}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return W(neighbours, silence_warnings=True)


def skater(units: PlanningUnits, k: int, seed: int) -> list[int]:
    """SKATER (spopt) on the units' positions, at least a fifth of the mean region size each."""
    import geopandas as gpd
    from spopt.region import Skater

    np.random.seed(seed)
    frame = gpd.GeoDataFrame(
        {
            "x": units.units["rep_x"].to_numpy() / 1000.0,
            "y": units.units["rep_y"].to_numpy() / 1000.0,
        },
        geometry=units.cells.values,
        crs=units.metric_crs,
    )
    model = Skater(
        frame, _weights(units), ["x", "y"], n_clusters=k, floor=max(1, units.n // (5 * k))
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.solve()
    return [int(v) for v in model.labels_]


def region_kmeans(units: PlanningUnits, k: int, seed: int) -> list[int]:
    """Region k-means (spopt) on the units' positions: contiguous, compact, balance not sought."""
    from spopt.region import RegionKMeansHeuristic

    xy = units.units[["rep_x", "rep_y"]].to_numpy(dtype=float) / 1000.0
    model = RegionKMeansHeuristic(xy, k, _weights(units), seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.solve()
    return [int(v) for v in model.labels_]


def _timed(fn: Callable[[], list[int]]) -> tuple[list[int], float]:
    start = time.perf_counter()
    labels = fn()
    return labels, time.perf_counter() - start


def run(config: Path, *, k: int, time_limit: float, seed: int, unit_km: float) -> list[Row]:
    """Build units for ``config`` and compare our regions with the spopt baselines."""
    from gis_data.loading.load import load_scenario
    from gis_data.network.graph import network_for_scenario
    from gis_data.planning.regions import RegionRequest, scenario_units, solve_regions
    from optimizer.errors import InfeasibleError
    from optimizer.stop import MaxRuntime

    scenario = load_scenario(config)
    graph = network_for_scenario(scenario).graph if scenario.network_path else None
    units = scenario_units(scenario, graph=graph, target_km=unit_km)
    towns = units.units["municipality_code"].nunique()
    print(
        f"{scenario.name}: {towns} towns, {len(scenario.assets)} assets -> {units.n} units,"
        f" {len(units.adjacency)} adjacent pairs, {units.units['workload_h'].sum():.0f} h per"
        f" {units.period_days:g} days; k = {k}, seed {seed}"
    )
    rows: list[Row] = []
    start = time.perf_counter()
    # max/min <= r holds when every region is within t = (r - 1) / (r + 1) of the mean.
    tolerance = (TARGET_BALANCE - 1.0) / (TARGET_BALANCE + 1.0)
    request = RegionRequest(k=k, balance_tolerance=tolerance, use_depots=False)
    try:
        plan = solve_regions(units, request, stop=MaxRuntime(time_limit), seed=seed)
        rows.append(
            Row(
                "gunmane districting",
                plan.evaluation,
                time.perf_counter() - start,
                f"{plan.result.status}: {plan.result.message}",
            )
        )
    except InfeasibleError as exc:
        print(f"gunmane districting: infeasible: {exc.reason}")
    for name, fn in (("spopt SKATER", skater), ("spopt RegionKMeans", region_kmeans)):
        try:
            labels, seconds = _timed(lambda fn=fn: fn(units, k, seed))  # type: ignore[misc]
        except Exception as exc:  # a baseline failing must not hide the others
            print(f"{name}: failed: {exc}")
            continue
        rows.append(Row(name, evaluate_plan(units, labels), seconds))
    return rows


def print_table(rows: Sequence[Row]) -> None:
    """Print the rows as a Markdown table."""
    print("| " + " | ".join(HEADER) + " |")
    print("|" + "|".join("---" for _ in HEADER) + "|")
    for row in rows:
        print("| " + " | ".join(row.cells()) + " |")


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m bench.regions [CONFIG] [-k 3] [--time-limit S] [--seed N]`."""
    parser = argparse.ArgumentParser(prog="bench.regions", description=__doc__)
    parser.add_argument("config", nargs="?", type=Path, default=DEMO)
    parser.add_argument("-k", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--unit-km", type=float, default=1.5)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    rows = run(
        args.config, k=args.k, time_limit=args.time_limit, seed=args.seed, unit_km=args.unit_km
    )
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
