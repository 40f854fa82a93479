"""`gunmane workbench template|import|frontier`: intake template, its import, the k frontier."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

from gis_data.workbench.intake import (
    IntakeError,
    age_pyramid_png,
    ordering_matrix,
    read_intake,
    time_split_png,
    write_template,
)
from gis_data.workbench.survey import FirmCapacity, firm_capacities, size_limits
from service.parallel import workers_client


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the top-level `workbench` command and its subcommands."""
    p = subparsers.add_parser(
        "workbench",
        help="planner's workbench: intake template and import, how many contracts (k frontier)",
        description="The guide's intake tools (current state, ordering status) and the frontier"
        " over the number of contract regions k.",
    )
    sub = p.add_subparsers(dest="workbench_command", metavar="WHAT")
    t = sub.add_parser("template", help="write workbench.xlsx, staff.csv and ordering.csv")
    t.add_argument("--out", type=Path, required=True, help="folder for the template files")
    t.add_argument("--empty", action="store_true", help="headers only, no example rows")
    t.set_defaults(handler=run_template)
    i = sub.add_parser("import", help="check a filled template; every bad cell is listed")
    i.add_argument("files", nargs="+", type=Path, help="workbench.xlsx or staff.csv/ordering.csv")
    i.add_argument("--towns", help="comma-separated municipality codes the rows may name")
    i.add_argument("--out", type=Path, help="folder: intake.json, age_pyramid.png, time_split.png")
    i.add_argument("--json", action="store_true", help="print the intake as JSON")
    i.set_defaults(handler=run_import)
    f = sub.add_parser(
        "frontier",
        help="regions, routes, cost and local-firm capacity for k = 1..n",
        description="For every k (whole-town and cross-border regions) plan the regions, route"
        " one patrol round per region and compare with the siloed status quo; mark the k whose"
        " every region some surveyed local firm can carry.",
    )
    f.add_argument("config", type=Path, help="scenario TOML")
    f.add_argument("--max-k", type=int, default=None, metavar="K", help="largest k (towns)")
    f.add_argument(
        "--variants",
        choices=("both", "whole_towns", "cross_border"),
        default="both",
        help="which kind of regions (both)",
    )
    f.add_argument(
        "--firms",
        type=Path,
        help="the contractor survey export (CSV) or JSON [{firm, crews, towns, jv_interest}]",
    )
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--region-iterations", type=int, default=30, metavar="N")
    f.add_argument("--iterations", type=int, default=10, metavar="N", help="per route solve")
    f.add_argument(
        "--balance",
        type=float,
        default=0.2,
        help="workload balance band (0.2; whole towns at least 0.5)",
    )
    f.add_argument("--workers", type=int, default=1, metavar="N", help="Dask worker processes")
    f.add_argument("--out", type=Path, help="folder: frontier.csv, frontier.json, frontier.png")
    f.add_argument("--json", action="store_true", help="print the frontier as JSON")
    f.set_defaults(handler=run_frontier)

    def usage(_args: argparse.Namespace) -> int:
        p.print_help()
        return 2

    p.set_defaults(handler=usage)


def run_template(args: argparse.Namespace) -> int:
    """Write the template files."""
    for path in write_template(args.out, example=not args.empty):
        print(path)
    return 0


def run_import(args: argparse.Namespace) -> int:
    """Read and check a filled template; exit 2 listing every bad cell."""
    towns = [t.strip() for t in args.towns.split(",")] if args.towns else None
    try:
        intake = read_intake(list(args.files), known_towns=towns)
    except IntakeError as exc:
        print(f"{exc.source}: {len(exc.problems)} bad cell(s), nothing imported:", file=sys.stderr)
        for p in exc.problems:
            print(f"  {p}", file=sys.stderr)
        return 2
    data = intake.to_dict()
    matrix = ordering_matrix(intake.orders)
    data["scope"] = matrix.scope()
    data["patrol_hours_by_town"] = intake.patrol_hours_by_town()
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "intake.json").write_text(
            json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        if intake.staff:
            (args.out / "age_pyramid.png").write_bytes(age_pyramid_png(intake.staff))
            (args.out / "time_split.png").write_bytes(time_split_png(intake.staff))
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=1))
        return 0
    print(f"{len(intake.staff)} towns, {sum(s.staff for s in intake.staff)} staff")
    for s in intake.staff:
        print(f"  {s.municipality_code} {s.municipality}: {s.staff} staff,"
              f" {s.patrol_hours():,.0f} h/year on inspection and maintenance")  # fmt: skip
    print(f"{len(intake.orders)} orders")
    for f, processes in data["scope"].items():
        print(f"  suggested scope {f}: {', '.join(processes) or '-'}")
    return 0


def read_firms(path: Path) -> list[FirmCapacity]:
    """Firms from the survey's CSV export (``towns`` '; '-joined) or a JSON list."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        rows: list[dict[str, Any]] = json.loads(text)
    else:
        rows = []
        for i, r in enumerate(csv.DictReader(io.StringIO(text)), start=2):
            crews = (r.get("crews") or "").strip()
            try:
                number = int(float(crews)) if crews else None
            except ValueError:
                raise ValueError(
                    f"{path}: row {i}, column crews: {crews!r} is not a number"
                ) from None
            rows.append(
                {
                    "firm": r.get("firm") or r.get("recipient"),
                    "crews": number,
                    "towns": [t.strip() for t in (r.get("towns") or "").split(";") if t.strip()],
                    "jv_interest": r.get("jv_interest"),
                }
            )
    return firm_capacities(rows)


def _fmt(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return f"{value:,.{digits}f}"
    return str(value)


def run_frontier(args: argparse.Namespace) -> int:
    """Compute and print (and write) the frontier."""
    from gis_data.planning.plan_engine import PlanSetup
    from gis_data.workbench.frontier import (
        VARIANTS,
        FrontierRequest,
        frontier_for_setup,
        frontier_png,
    )

    started = time.perf_counter()
    firms = read_firms(args.firms) if args.firms else []
    setup = PlanSetup.load(args.config)
    max_k = args.max_k or len(setup.town_names())
    request = FrontierRequest(
        ks=tuple(range(1, max_k + 1)),
        variants=VARIANTS[args.variants],
        seed=args.seed,
        balance_tolerance=args.balance,
    )
    # One worker solves inline (a cluster of one would only add its start-up).
    with workers_client(args.workers if args.workers > 1 else 0) as client:
        frontier = frontier_for_setup(
            setup,
            request,
            firms=firms,
            region_iterations=args.region_iterations,
            route_iterations=args.iterations,
            client=client,
        )
    data = frontier.to_dict()
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "frontier.json").write_text(
            json.dumps(data, ensure_ascii=False, indent=1, default=str), encoding="utf-8"
        )
        with (args.out / "frontier.csv").open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(data["rows"][0]))
            writer.writeheader()
            writer.writerows(data["rows"])
        (args.out / "frontier.png").write_bytes(frontier_png(frontier))
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=1, default=str))
        return 0
    limit = size_limits(firms).max_crews
    print(f"siloed status quo: {_fmt(data['siloed']['cost_yen'])} yen per round,"
          f" {_fmt(data['siloed']['crew_hours'], 1)} crew h; {len(firms)} firms surveyed,"
          f" largest {_fmt(limit)} crews")  # fmt: skip
    head = ("regions", "k", "cost yen", "crew h", "saving %", "largest h", "crews", "firms", "ok")
    print("  ".join(f"{h:>10}" for h in head))
    for r in data["rows"]:
        kind = "whole" if r["whole_towns"] else "cross"
        if not r["feasible"]:
            print(f"{kind:>10}  {r['k']:>10}  not possible: {r['reason']}")
            continue
        cells = (kind, r["k"], _fmt(r["cost_yen"]), _fmt(r["crew_hours"], 1),
                 _fmt(r["saving_pct"], 1), _fmt(r["largest_workload_h"], 1), r["largest_crews"],
                 _fmt(r["firms_for_largest"]), _fmt(r["within_capacity"]))  # fmt: skip
        print("  ".join(f"{c!s:>10}" for c in cells))
    for name, ks in data["within_capacity"].items():
        print(f"within local capacity ({name}): k = {', '.join(map(str, ks)) or '-'}")
    print(f"{time.perf_counter() - started:.1f} s")
    return 0
