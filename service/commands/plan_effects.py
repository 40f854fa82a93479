"""`gunmane plan effects`: the effect estimate (導入効果試算), siloed status quo vs bundling."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from gis_data.planning.effects import EffectEstimate, PlanCosting, estimate_effects
from gis_data.planning.plan_engine import PlanSetup, RegionChoice, describe_stop
from gis_data.planning.plan_settings import PlanSettings, default_phases
from gis_data.planning.work_calendar import parse_horizon
from optimizer.stop import MaxIterations
from service.commands.plan_calendar import add_common_arguments, load_plan_inputs
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


def compute_effects(
    setup: PlanSetup,
    settings: PlanSettings,
    regions: RegionChoice,
    args: argparse.Namespace,
    *,
    client: Any | None = None,
) -> EffectEstimate:
    """The effect estimate of a loaded scenario under ``settings``.

    ``client`` (a Dask client or None) routes the distinct days of all units in parallel.
    """
    horizon = parse_horizon(args.horizon or settings.horizon)
    seed = settings.seed if args.seed is None else args.seed
    router = setup.router(
        stop=MaxIterations(args.iterations), seed=seed, shift_hours=settings.shift_hours
    )
    costing = PlanCosting(
        setup.assets,
        router,
        horizon,
        frequencies=settings.frequencies,
        rules=settings.rules,
        metric_crs=setup.scenario.metric_crs,
        shift_minutes=settings.shift_hours * 60.0,
        seed=seed,
    )
    phases = settings.phases or default_phases(setup.populations())
    present = set(setup.assets["municipality_code"].astype(str))
    phases = tuple(p for p in phases if set(p.towns) <= present)
    return estimate_effects(
        costing,
        town_depots=setup.town_depots(),
        bundle_depots=regions.region_depot,
        region_of=regions.asset_region,
        phases=phases,
        costs=settings.costs,
        client=client,
    )


def effects_json(effects: EffectEstimate, names: dict[str, str]) -> dict[str, Any]:
    """The estimate as plain data."""
    return {
        "horizon": effects.horizon,
        "comparison": effects.comparison_rows(),
        "phases": [
            {**r, "town_names": [names.get(c, c) for c in r["towns"].split(", ")]}
            for r in effects.phase_rows()
        ],
        "method": effects.siloed.method,
        "routing_solves": effects.solves,
        "units": {
            "siloed": [u.__dict__ for u in effects.siloed.units],
            "bundled": [u.__dict__ for u in effects.bundled.units],
        },
    }


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
    settings, setup, regions = load_plan_inputs(args)
    with workers_client(args.workers) as client:
        effects = compute_effects(setup, settings, regions, args, client=client)
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
        inputs = ReportInputs(
            scenario_name=setup.scenario.name,
            town_names=names,
            populations=setup.populations(),
            fields_present=tuple(sorted(set(setup.assets["field"].astype(str)))),
            effects=effects,
            settings=settings,
            municipalities=setup.scenario.municipalities,
        )
        write_xlsx(inputs, args.out / "導入効果.xlsx")
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        print_effects(effects, names)
        print(f"regions: {regions.method}; {data['seconds']} s")
    return 0
