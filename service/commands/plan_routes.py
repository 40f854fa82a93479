"""`gunmane plan routes CONFIG`: patrol routes bundled versus separate, per crew, map exports."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

from gis_data.loading.errors import AssetValidationError, ConfigError
from gis_data.loading.load import load_scenario
from gis_data.network.adapters import summarize_route
from gis_data.network.export import export_routes
from gis_data.network.graph import NetworkError
from gis_data.planning.patrol_plan import Plan, PlanComparison, PlanSettings, plan_patrols
from optimizer.stop import MaxIterations
from service.i18n import Lang, export_words, t
from service.parallel import workers_client


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `routes` subcommand (group "plan")."""
    p = subparsers.add_parser(
        "routes",
        help="plan patrol routes on the road network: bundled versus each town x field alone",
        description=(
            "Load a scenario, build its road network from the local OSM file, match the assets"
            " to streets and access nodes, and solve the patrol routing twice: bundled (all towns"
            " and fields together, crews from the contractors' depots) and separate (each town x"
            " field alone from its town depot). Prints per-crew routes and both totals side by"
            " side; with --out writes GeoJSON, GPX and KML. Progress goes to stderr."
        ),
    )
    p.add_argument("config", type=Path, help="scenario config (TOML)")
    p.add_argument(
        "--time-limit", type=float, default=15.0, help="seconds for the bundled solve (15)"
    )
    p.add_argument(
        "--silo-time-limit",
        type=float,
        default=2.0,
        help="seconds for each separate town x field solve (2)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    p.add_argument(
        "--iterations",
        type=int,
        default=None,
        help="stop each solve after N solver iterations instead of the time limits (reproducible)",
    )
    p.add_argument(
        "--crews", type=int, default=None, help="crews per depot at most (default: as needed)"
    )
    p.add_argument("--shift-hours", type=float, default=8.0, help="shift length in hours (8)")
    p.add_argument(
        "--workers",
        type=int,
        default=0,
        metavar="N",
        help="solve the bundled plan and the separate plans on a local Dask cluster of N worker"
        " processes (default 0: one after the other here)",
    )
    p.add_argument("--out", type=Path, default=None, help="write GeoJSON/GPX/KML into DIR")
    p.add_argument(
        "--lang",
        choices=("ja", "en"),
        default="ja",
        help="language of the GPX/KML names a crew's map app shows (ja)",
    )
    p.add_argument(
        "--steps", action="store_true", help="print each bundled crew's streets in order"
    )
    p.add_argument(
        "--json", action="store_true", help="print the plans, totals and unmatched assets as JSON"
    )
    p.set_defaults(handler=run)


def _h(seconds: float) -> str:
    return f"{seconds / 3600:.2f}"


def _print_crews(plan: Plan, *, steps: bool) -> None:
    header = (
        f"  {'crew':>4}  {'depot':<38} {'tasks':>5} {'km':>7} {'served h':>8} {'deadhead h':>10}"
    )
    print(header)
    for route in plan.routes:
        print(
            f"  {route.crew + 1:>4}  {route.depot_name[:38]:<38} {len(route.tasks):>5}"
            f" {route.km:>7.1f} {_h(route.serve_s):>8} {_h(route.deadhead_s):>10}"
        )
        if steps:
            for row in summarize_route(route):
                street = row["street"] or "(unnamed)"
                print(
                    f"          {row['kind']:<8} {street[:34]:<34} {row['length_m']:>7.0f} m"
                    f" {row['time_s']:>6d} s  {', '.join(row['asset_ids'][:4])}"
                )


def _print_comparison(result: PlanComparison) -> None:
    bundled = result.bundled.totals()
    separate = result.siloed_totals()
    print("Bundled versus separate")
    print(f"  {'':<16} {'bundled':>10} {'separate':>10} {'saving':>10} {'%':>6}")
    for key, label in (
        ("crews", "crews (shifts)"),
        ("km", "km"),
        ("hours", "hours"),
        ("serve_hours", "  served h"),
        ("deadhead_hours", "  deadhead h"),
        ("tasks", "tasks"),
    ):
        b, s = float(bundled[key]), float(separate[key])
        pct = f"{100 * (s - b) / s:.1f}" if s else "-"
        fmt = "{:>10.0f}" if key in ("crews", "tasks") else "{:>10.2f}"
        print(f"  {label:<16} {fmt.format(b)} {fmt.format(s)} {fmt.format(s - b)} {pct:>6}")


def file_stem(label: str, taken: set[str]) -> str:
    """A file name stem for ``label`` that keeps Japanese names (下田市_road) and is new in
    ``taken`` (a second label reducing to the same stem gets _2, _3, ...: nothing overwritten)."""
    base = re.sub(r"[^\w]+", "_", label).strip("_").lower() or "plan"
    stem, n = base, 1
    while stem in taken:
        n += 1
        stem = f"{base}_{n}"
    taken.add(stem)
    return stem


def _export(result: PlanComparison, out: Path, title: str, lang: Lang) -> list[Path]:
    words = export_words(lang)
    written = export_routes(
        result.bundled.routes,
        out,
        stem="bundled",
        name=f"{title}: {t('export_bundled', lang)}",
        words=words,
    )
    taken = {"bundled"}
    for plan in result.siloed:
        if plan.routes:
            written += export_routes(
                plan.routes,
                out,
                stem=f"separate_{file_stem(plan.label, taken)}",
                name=f"{title}: {plan.label}",
                words=words,
            )
    return written


def run(args: argparse.Namespace) -> int:
    """Plan and print; 0 on success, 1 when the bundled plan is not feasible, 2 for bad input."""
    started = time.perf_counter()

    def progress(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f} s] {message}", file=sys.stderr, flush=True)

    try:
        scenario = load_scenario(args.config)
    except (ConfigError, AssetValidationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    progress(f"loaded {len(scenario.assets)} assets of {len(scenario.municipalities)} towns")
    settings = PlanSettings(
        time_limit_s=args.time_limit,
        silo_time_limit_s=args.silo_time_limit,
        seed=args.seed,
        crews=args.crews,
        shift_hours=args.shift_hours,
        bundled_stop=None if args.iterations is None else MaxIterations(args.iterations),
        silo_stop=None if args.iterations is None else MaxIterations(args.iterations),
    )
    try:
        with workers_client(args.workers) as client:
            result = plan_patrols(scenario, settings, progress=progress, client=client)
    except (NetworkError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    written = [] if args.out is None else _export(result, args.out, scenario.name, args.lang)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=1))
        progress("done")
        return 0 if result.bundled.status == "feasible" else 1
    net = result.network.summary
    print(f"{scenario.name}: patrol routes, shifts of {args.shift_hours:g} h")
    print(
        f"Road network: {net.nodes} nodes, {net.edges} edges, {net.street_km:.1f} street km"
        f" ({net.scc_nodes_dropped} nodes outside the largest strongly connected part dropped)"
    )
    if result.unmatched:
        print(f"Unmatched assets: {len(result.unmatched)}")
        reasons = Counter((u.field, re.sub(r"\s*\(.*\)", "", u.reason)) for u in result.unmatched)
        for (fld, reason), count in reasons.most_common():
            print(f"  {count:>4} {fld:<6} {reason}")
    print()
    b = result.bundled
    print(
        f"Bundled plan: all towns and fields, {len(b.depots)} depot(s); {b.num_tasks} tasks,"
        f" {b.crews} crew(s), {b.km:.1f} km, {b.hours:.2f} h, longest shift"
        f" {b.makespan_hours:.2f} h ({b.status})"
    )
    _print_crews(b, steps=args.steps)
    print()
    print("Separate plans: each town x field from its town depot")
    for plan in result.siloed:
        depot = plan.depots[0].name if plan.depots else "-"
        print(
            f" {plan.label}: {plan.num_tasks} tasks from {depot}, {plan.crews} crew(s),"
            f" {plan.km:.1f} km, {plan.hours:.2f} h ({plan.status})"
        )
        _print_crews(plan, steps=False)
    print()
    _print_comparison(result)
    if args.out is not None:
        print()
        print(f"Wrote {len(written)} files to {args.out} (GeoJSON, GPX, KML)")
    progress("done")
    return 0 if b.status == "feasible" else 1
