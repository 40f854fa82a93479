"""`gunmane plan shares`: cost sharing (費用分担) among towns, Shapley and proportional rules."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from gis_data.planning.cost_share import (
    DEFAULT_PERMUTATIONS,
    DEFAULT_SAMPLE_DAYS,
    EXACT_MAX_TOWNS,
    RULE_LABELS_JA,
    ShareResult,
)
from gis_data.planning.plan_engine import PlanSetup
from gis_data.planning.plan_settings import read_settings
from gis_data.planning.workflows import SharesRequest, compute_shares, shares_json
from service.commands.plan_calendar import add_common_arguments, request_fields
from service.parallel import workers_client


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `shares` to the `plan` group."""
    p = subparsers.add_parser(
        "shares",
        help="cost sharing among towns: Shapley value from real coalition costs, core check",
        description=(
            "Cost every coalition of towns with the routing engine (each coalition bundling"
            " alone from the contractor yards), split the grand coalition's cost by the Shapley"
            " value (exact up to --exact-max towns, sampled beyond) and by asset km, workload"
            " and population, check the core and print each town's share and saving."
        ),
    )
    add_common_arguments(p)
    p.add_argument(
        "--sample-days",
        type=int,
        default=DEFAULT_SAMPLE_DAYS,
        metavar="N",
        help=f"representative working days routed per coalition (default {DEFAULT_SAMPLE_DAYS};"
        " 0: every working day)",
    )
    p.add_argument(
        "--exact-max",
        type=int,
        default=EXACT_MAX_TOWNS,
        metavar="N",
        help=f"exact Shapley up to N towns (default {EXACT_MAX_TOWNS})",
    )
    p.add_argument(
        "--permutations",
        type=int,
        default=DEFAULT_PERMUTATIONS,
        metavar="N",
        help=f"permutations for the sampled Shapley value (default {DEFAULT_PERMUTATIONS})",
    )
    p.add_argument("--out", type=Path, help="write shares.json here")
    p.set_defaults(handler=run, iterations=0)


def print_shares(result: ShareResult) -> None:
    """The share table as text."""
    rules = result.rules
    head = "".join(f" {RULE_LABELS_JA.get(r, r):>12}" for r in rules)
    print(f"費用分担: total {result.total_yen:,.0f} yen")
    print(f"{'town':<14} {'alone':>12}{head} {'saving':>12}")
    for t in result.towns:
        cells = "".join(f" {t.shares[r]:>12,.0f}" for r in rules)
        print(f"{t.name:<14} {t.alone_yen:>12,.0f}{cells} {t.saving('shapley'):>12,.0f}")
    print()
    print(f"core check ({result.core_checked}):")
    for rule, found in result.violations.items():
        if not found:
            print(f"  {rule}: in the core")
            continue
        worst = found[0]
        print(
            f"  {rule}: {len(found)} coalitions pay more than alone; worst"
            f" {'+'.join(worst['towns'])} by {worst['excess_yen']:,.0f} yen"
        )
    print(
        f"method: {result.method}; {result.solves} routing solves,"
        f" {result.coalitions} coalitions, {result.runtime:.1f} s"
    )


def run(args: argparse.Namespace) -> int:
    """Compute, print and optionally write the shares."""
    started = time.perf_counter()
    settings = read_settings(args.settings)
    setup = PlanSetup.load(args.config)
    request = SharesRequest(**request_fields(args, "sample_days", "exact_max", "permutations"))
    with workers_client(args.workers) as client:
        result = compute_shares(setup, settings, request, client=client)
    data = shares_json(result)
    data["total_seconds"] = round(time.perf_counter() - started, 1)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "shares.json").write_text(
            json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8"
        )
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print_shares(result)
    return 0
