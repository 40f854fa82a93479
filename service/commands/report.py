"""`gunmane report`: the implementation-policy draft (実施方針（案）): HTML, Markdown, .xlsx."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from gis_data.planning.cost_share import DEFAULT_PERMUTATIONS, DEFAULT_SAMPLE_DAYS, EXACT_MAX_TOWNS
from gis_data.planning.workflows import (
    EffectsRequest,
    SharesRequest,
    compute_effects,
    compute_shares,
    effects_json,
    shares_json,
)
from gis_data.workbench.report import ReportInputs, write_report
from service.commands.plan_calendar import add_common_arguments, load_plan_inputs, request_fields
from service.parallel import workers_client


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the top-level `report` command."""
    p = subparsers.add_parser(
        "report",
        help="write the 実施方針 draft (HTML, Markdown, region map, .xlsx tables)",
        description=(
            "Compute the effect estimate and the cost shares of a scenario and write the"
            " implementation-policy draft in Japanese: issues and expected effects, scope"
            " matrix, multi-year contract, performance spec, the bundle with its phases and"
            " region map, cost sharing, engineer and data collaboration."
        ),
    )
    add_common_arguments(p)
    p.add_argument("--out", type=Path, required=True, help="folder for the report files")
    p.add_argument("--no-shares", action="store_true", help="leave out the cost sharing")
    p.add_argument("--sample-days", type=int, default=DEFAULT_SAMPLE_DAYS, metavar="N")
    p.add_argument("--exact-max", type=int, default=EXACT_MAX_TOWNS, metavar="N")
    p.add_argument("--permutations", type=int, default=DEFAULT_PERMUTATIONS, metavar="N")
    p.add_argument(
        "--intake",
        type=Path,
        nargs="+",
        help="the filled workbench template (workbench.xlsx or staff.csv/ordering.csv)",
    )
    p.add_argument("--frontier", type=Path, help="frontier.json of gunmane workbench frontier")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Compute the figures and write the report."""
    started = time.perf_counter()
    request = EffectsRequest(**request_fields(args))
    settings, setup, regions = load_plan_inputs(args, request)
    with workers_client(args.workers) as client:
        effects = compute_effects(setup, settings, request, regions=regions, client=client)
        shares = None
        if not args.no_shares:
            # Coalitions are routed by construction only (iterations 0), as `plan shares` does.
            fields = {**request_fields(args), "iterations": 0}
            shares = compute_shares(setup, settings, SharesRequest(**fields), client=client)
    inputs = ReportInputs.for_setup(
        setup,
        effects=effects,
        settings=settings,
        shares=shares,
        regions=regions.frame,
        region_method=regions.method,
        workbench=_workbench(args, effects, setup.town_names()),
        intake=_intake(args, setup.town_names()),
    )
    files = write_report(inputs, args.out)
    data = {
        "effects": effects_json(effects, setup.town_names()),
        "shares": shares_json(shares) if shares is not None else None,
    }
    (args.out / "figures.json").write_text(
        json.dumps(data, ensure_ascii=False, indent=1, default=str), encoding="utf-8"
    )
    for path in (files.html, files.markdown, files.docx, files.xlsx, *files.figures):
        print(path)
    print(f"{time.perf_counter() - started:.1f} s")
    return 0


def _intake(args: argparse.Namespace, names: dict[str, str]) -> Any:
    """The filled intake of ``--intake`` (None without it); bad cells were reported above."""
    if not args.intake:
        return None
    from gis_data.workbench.intake import read_intake

    return read_intake(list(args.intake), known_towns=names)


def _workbench(args: argparse.Namespace, effects: Any, names: dict[str, str]) -> Any:
    """The workbench section from ``--intake`` and ``--frontier`` (None when neither is given)."""
    if not args.intake and not args.frontier:
        return None
    from gis_data.workbench.frontier import frontier_png
    from gis_data.workbench.intake import IntakeError, read_intake
    from gis_data.workbench.workbench_report import workbench_section

    try:
        intake = read_intake(list(args.intake), known_towns=names) if args.intake else None
    except IntakeError as exc:
        print(f"{exc.source}: {len(exc.problems)} bad cell(s):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        raise SystemExit(2) from None
    frontier = json.loads(args.frontier.read_text(encoding="utf-8")) if args.frontier else None
    return workbench_section(
        intake=intake,
        frontier=frontier,
        effects=effects,
        town_names=names,
        frontier_png=frontier_png(frontier) if frontier else None,
    )
