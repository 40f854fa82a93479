"""`gunmane load CONFIG`: load and validate a scenario, print the asset summary and the report."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gis_data.loading.errors import AssetValidationError, ConfigError
from gis_data.loading.load import Scenario, load_scenario
from gis_data.loading.summary import render_problems, render_table, summarize


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `load` subcommand."""
    p = subparsers.add_parser(
        "load",
        help="load and validate a scenario's asset files; print municipality x field totals",
        description=(
            "Read every municipality's asset files listed in a scenario TOML, validate them all"
            " and print count, km and area per municipality and field, then the warnings."
            " Exits with 1 and the full problem list when any file has an error."
        ),
    )
    p.add_argument("config", type=Path, help="scenario config (TOML)")
    p.add_argument("--json", action="store_true", help="print the summary rows as JSON")
    p.add_argument(
        "--repair",
        action="store_true",
        help="fix invalid geometries with make_valid and drop empty ones (reported as warnings)",
    )
    p.set_defaults(handler=run)


def print_scenario(scenario: Scenario) -> None:
    """Print the summary table and the validation report of a loaded scenario."""
    rows = summarize(scenario.assets, metric_crs=scenario.metric_crs)
    n_towns = len(scenario.municipalities)
    print(f"{scenario.name}: {len(scenario.assets):,d} assets in {n_towns} municipalities")
    print(f"(lengths and areas in {scenario.metric_crs.to_string()})")
    print()
    print(render_table(rows))
    print()
    if scenario.warnings:
        print(f"validation: no errors, {len(scenario.warnings)} warning(s)")
        print(render_problems(scenario.warnings))
    else:
        print("validation: no errors, no warnings")


def run(args: argparse.Namespace) -> int:
    """Load the scenario; 0 when it is valid, 1 with the problem list, 2 for a bad config."""
    try:
        scenario = load_scenario(args.config, repair=args.repair)
    except ConfigError as exc:
        if args.json:
            print(json.dumps({"problems": [exc.problem.to_dict()]}, ensure_ascii=False, indent=1))
        else:
            print(f"error: {exc}", file=sys.stderr)
        return 2
    except AssetValidationError as exc:
        if args.json:
            problems = [p.to_dict() for p in exc.problems]
            print(json.dumps({"problems": problems}, ensure_ascii=False, indent=1))
        else:
            errors = sum(p.severity == "error" for p in exc.problems)
            print(f"{args.config}: {errors} error(s); nothing was loaded", file=sys.stderr)
            print(render_problems(exc.problems), file=sys.stderr)
        return 1
    if args.json:
        rows = summarize(scenario.assets, metric_crs=scenario.metric_crs)
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        for warning in scenario.warnings:
            print(warning, file=sys.stderr)
        return 0
    print_scenario(scenario)
    return 0
