"""`gunmane plan effects`: the effect estimate (導入効果試算), siloed status quo vs bundling."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from gis_data.planning.effects import EffectEstimate
from gis_data.planning.plan_engine import describe_stop
from gis_data.planning.workflows import EffectsRequest, compute_effects, effects_json
from optimizer.stop import MaxIterations
from service.commands.plan_calendar import add_common_arguments, load_plan_inputs, request_fields
from service.parallel import workers_client


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `effects` to the `plan` group."""
    p = subparsers.add_parser(
        "effects",
        help="effect estimate: siloed status quo vs bundled patrols, and per phase",
        description=(
            "Plan the patrol calendar and route every working day for the siloed status quo"
            " (each town x field alone from its town depot) and for the bundled scenario"
            " (contract regions from the contractor yards), with the same engines; print km,"
            " crew hours, crew-days, vehicles, cost (yen), CO2 and town staff hours, overall and"
            " per phase of the phased plan."
        ),
    )
    add_common_arguments(p)
    p.add_argument("--out", type=Path, help="write effects.json and the .xlsx tables here")
    p.set_defaults(handler=run)


def print_effects(effects: EffectEstimate, names: dict[str, str]) -> None:
    """The comparison and phase tables as text."""
    print(f"導入効果試算 {effects.horizon}: {effects.siloed.label} vs {effects.bundled.label}")
    print(f"{'項目':<16} {'単位':<7} {'現状':>14} {'群マネ':>14} {'削減':>14} {'%':>6}")
    for r in effects.comparison_rows():
        print(
            f"{r['label']:<16} {r['unit']:<7} {r['siloed']:>14,.1f} {r['bundled']:>14,.1f}"
            f" {r['saving']:>14,.1f} {r['saving_pct']:>6.1f}"
        )
    if effects.phases:
        print()
        print(
            f"{'段階':<6} {'開始':<7} {'費用(円)':>14} {'削減(円)':>14} {'直営削減(h)':>11}  自治体"
        )
        for r in effects.phase_rows():
            towns = "、".join(names.get(c, c) for c in r["towns"].split(", "))
            print(
                f"{r['phase']:<6} {r['start']:<7} {r['cost_yen']:>14,.0f}"
                f" {r['saving_yen']:>14,.0f} {r['staff_hours_freed']:>11,.0f}  {towns}"
            )
    print()
    print(f"method: {effects.siloed.method}; {effects.solves} routing solves")


def run(args: argparse.Namespace) -> int:
    """Compute, print and optionally write the effect estimate."""
    started = time.perf_counter()
    request = EffectsRequest(**request_fields(args))
    settings, setup, regions = load_plan_inputs(args, request)
    with workers_client(args.workers) as client:
        effects = compute_effects(setup, settings, request, regions=regions, client=client)
    names = setup.town_names()
    data = effects_json(effects, names)
    data["regions"] = regions.method
    data["routing"] = describe_stop(MaxIterations(args.iterations)) + " per day solve"
    data["seconds"] = round(time.perf_counter() - started, 1)
    if args.out:
        from gis_data.workbench.report import ReportInputs, write_xlsx

        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "effects.json").write_text(
            json.dumps(data, ensure_ascii=False, indent=1, default=str), encoding="utf-8"
        )
        inputs = ReportInputs.for_setup(setup, effects=effects, settings=settings)
        write_xlsx(inputs, args.out / "導入効果.xlsx")
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        print_effects(effects, names)
        print(f"regions: {regions.method}; {data['seconds']} s")
    return 0
