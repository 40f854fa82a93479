"""Benchmark: the plan a council approves, on the four-town demo with a filled intake.

The four Liechtenstein towns of the demo (FY2026, default settings, routing `MaxIterations(0)`
per day solve) with an intake filled the way the template's example row is (tool 1: staff by
age and the actual split of working time; tool 2: the patrol and cleaning contracts per town
and field, with amount, firms, method and tender counts). Steps: the effect estimate (siloed
and bundled calendars routed for every working day, default phases), the Shapley shares (exact,
5 sample days), the report's figures (one computation: council formula, fees, maintenance,
budget per town and year) and the four exports. Measured: the time of each step and the budget
table with each line's source.

The intake's figures are invented for the benchmark (realistic orders of magnitude for small
towns), not data of the towns.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

from gis_data.planning.cost_share import build_coalition_cost, share_costs
from gis_data.planning.effects import PlanCosting, estimate_effects
from gis_data.planning.plan_engine import PlanSetup, choose_regions
from gis_data.planning.plan_settings import PlanSettings, default_phases
from gis_data.planning.work_calendar import parse_horizon
from gis_data.workbench.intake import Intake, OrderRecord, StaffRecord
from gis_data.workbench.report import ReportInputs, report_figures, write_report
from optimizer.stop import MaxIterations

DEMO = Path(__file__).resolve().parents[1] / "gis_data" / "demo"
_PCT_ACTUAL = {"planning": 5, "inspection": 25, "works": 20, "maintenance": 35, "counter": 15}
_PCT_IDEAL = {"planning": 25, "inspection": 20, "works": 25, "maintenance": 15, "counter": 15}
# (town code, field, process, method, annual amount in yen, firms, tenders in 3 years, failed)
_ORDERS = (
    ("LI-7001", "road", "patrol", "annual", 3_200_000, ("A建設", "B土木"), 3, 2),
    ("LI-7001", "road", "cleaning", "per_job", 6_500_000, ("A建設",), 12, 1),
    ("LI-7001", "park", "cleaning", "per_job", 2_400_000, ("C造園",), 9, 0),
    ("LI-7005", "road", "patrol", "annual", 2_800_000, ("D建設",), 3, 1),
    ("LI-7005", "road", "cleaning", "annual", 5_900_000, ("D建設",), 3, 0),
    ("LI-7005", "river", "cleaning", "annual", 3_100_000, ("D建設",), 3, 0),
    ("LI-7005", "park", "cleaning", "per_job", 1_200_000, ("C造園",), 6, 0),
    ("LI-7002", "road", "patrol", "annual", 2_100_000, ("E土木",), 3, 0),
    ("LI-7002", "river", "cleaning", "per_job", 4_000_000, ("E土木",), 6, 2),
    ("LI-7004", "road", "patrol", "annual", 1_500_000, ("F建設",), 3, 3),
)
_STAFF = {
    "LI-7001": {"under30": 1, "30s": 1, "40s": 2, "50s": 3, "60plus": 1},
    "LI-7005": {"under30": 1, "30s": 2, "40s": 1, "50s": 3, "60plus": 1},
    "LI-7002": {"under30": 0, "30s": 1, "40s": 1, "50s": 2, "60plus": 1},
    "LI-7004": {"under30": 0, "30s": 0, "40s": 1, "50s": 1, "60plus": 1},
}


def filled_intake(names: dict[str, str]) -> Intake:
    """The benchmark's intake: one staff row per town, the patrol contracts of `_ORDERS`."""
    return Intake(
        staff=tuple(
            StaffRecord(code, names.get(code, code), ages, dict(_PCT_ACTUAL), dict(_PCT_IDEAL))
            for code, ages in _STAFF.items()
            if code in names
        ),
        orders=tuple(
            OrderRecord("建設課" if f != "park" else "都市計画課", code, f, process, method,
                        float(amount), firms, False, failed, tenders)
            for code, f, process, method, amount, firms, tenders, failed in _ORDERS
            if code in names
        ),
    )  # fmt: skip


def main(argv: list[str]) -> int:
    """Compute, write and print the figures with their sources and the step times."""
    parser = argparse.ArgumentParser(prog="python -m bench council_report")
    parser.add_argument("--horizon", default="FY2026")
    parser.add_argument("--out", type=Path, help="keep the report files here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    times: dict[str, float] = {}
    started = time.perf_counter()
    setup = PlanSetup.load(DEMO / "four_towns.toml")
    times["load"] = time.perf_counter() - started
    settings = PlanSettings(horizon=args.horizon)
    horizon = parse_horizon(args.horizon)
    names = setup.town_names()
    t = time.perf_counter()
    regions = choose_regions(setup, 1, seed=0)
    router = setup.router(stop=MaxIterations(0), seed=0, shift_hours=settings.shift_hours)
    costing = PlanCosting(
        setup.assets, router, horizon, metric_crs=setup.scenario.metric_crs, seed=0
    )
    effects = estimate_effects(
        costing,
        town_depots=setup.town_depots(),
        bundle_depots=regions.region_depot,
        region_of=regions.asset_region,
        phases=default_phases(setup.populations()),
        costs=settings.costs,
    )
    times["effects"] = time.perf_counter() - t
    t = time.perf_counter()
    cost = build_coalition_cost(
        setup.assets,
        setup.router(stop=MaxIterations(0), seed=0),
        horizon,
        depot=setup.bundle_depot(),
        metric_crs=setup.scenario.metric_crs,
    )
    shares = share_costs(
        cost, setup.assets, names=names, populations=setup.populations(), exact_max_towns=10
    )
    times["shares"] = time.perf_counter() - t
    inputs = ReportInputs.for_setup(
        setup, effects=effects, settings=settings, shares=shares, intake=filled_intake(names)
    )
    t = time.perf_counter()
    fig = report_figures(inputs)
    times["figures"] = time.perf_counter() - t
    t = time.perf_counter()
    out = args.out or Path(tempfile.mkdtemp(prefix="council_report_"))
    write_report(inputs, out)
    times["exports"] = time.perf_counter() - t
    print(
        f"four towns {args.horizon}: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in times.items())
        + f"; {effects.solves} routing solves (effects), {shares.solves} (shares); files in {out}"
    )
    print()
    print("| town | line | unit | status quo / yr | bundled / yr | source |")
    print("|---|---|---|---:|---:|---|")
    for town in fig.budget.towns:
        for x in town.lines:
            before = "" if x.before is None else f"{x.before:,.0f}"
            after = "" if x.after is None else f"{x.after:,.0f}"
            print(f"| {town.name} | {x.item} | {x.unit} | {before} | {after} | {x.source} |")
        print(
            f"| {town.name} | total | 円 | {town.total('before'):,.0f} | "
            f"{town.total('after'):,.0f} | |"
        )
    b = fig.budget
    years = len(b.years)
    print(f"| all | total per year | 円 | {b.total('before'):,.0f} | {b.total('after'):,.0f} | |")
    for y in fig.years:
        print(
            f"| all | FY{y.year} ({y.phase or 'status quo'}: {len(y.members)} towns) | 円 | "
            f"{y.total_before:,.0f} | {y.total_after:,.0f} | |"
        )
    print(
        f"| all | contract term ({years} years, phased) | 円 | "
        f"{sum(y.total_before for y in fig.years):,.0f} | "
        f"{sum(y.total_after for y in fig.years):,.0f} | |"
    )
    print()
    print(
        f"bundled engine cost {fig.total_yen:,.0f} yen = council shares "
        f"{sum(c.total_yen for c in fig.council):,.0f} = Shapley "
        f"{sum(t.shares['shapley'] for t in fig.shares.towns) if fig.shares else 0:,.0f}"
    )
    print("| town | 均等割 | 人口割 | 実績割 | share | Shapley | alone |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    alone = {x.code: x for x in fig.shares.towns} if fig.shares else {}
    for c in fig.council:
        s = alone.get(c.code)
        print(
            f"| {c.name} | {c.equal_yen:,.0f} | {c.population_yen:,.0f} | {c.actual_yen:,.0f} | "
            f"{c.total_yen:,.0f} | {s.shares['shapley'] if s else 0:,.0f} | "
            f"{s.alone_yen if s else 0:,.0f} |"
        )
    return 0
