"""`gunmane plan regions`: balanced, contiguous contract regions, or the check of a drawn plan."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd

from gis_data.loading.errors import AssetValidationError, ConfigError
from gis_data.network.graph import NetworkError
from gis_data.planning.depot_choice import DEPOT_FIELD, drawn_plan_depots
from gis_data.planning.evaluate import (
    PatrolTimeFn,
    PlanError,
    PlanEvaluation,
    SizeLimits,
    drawn_regions,
    engine_patrol_time,
    evaluate_plan,
)
from gis_data.planning.regions import ATTRIBUTION, RegionRequest, scenario_units, solve_regions
from gis_data.planning.units import PlanningUnits
from optimizer.errors import InfeasibleError
from optimizer.stop import MaxRuntime

logger = logging.getLogger(__name__)

# Every region within t = 0.05 / 2.05 = 2.4 % of the mean keeps max/min <= (1 + t) / (1 - t)
# = 1.05; whole towns rarely balance that finely, so their default band is wider.
DEFAULT_BALANCE = 0.024
DEFAULT_WHOLE_TOWN_BALANCE = 0.2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `regions` to the `plan` group."""
    p = subparsers.add_parser(
        "regions",
        help="partition a scenario into k contract regions (or evaluate a drawn plan)",
        description=(
            "Group the scenario's assets into planning units and partition them into k balanced,"
            " contiguous contract regions sized for local firms; print the region table and"
            " write the regions as GeoJSON. With --evaluate, check a drawn plan instead."
        ),
    )
    p.add_argument("config", type=Path, help="scenario config (TOML)")
    p.add_argument("-k", type=int, default=3, help="number of regions (default 3)")
    p.add_argument("--whole-towns", action="store_true", help="keep every municipality whole")
    p.add_argument("--max-workload", type=float, metavar="H", help="max patrol hours per region")
    p.add_argument("--max-km", type=float, metavar="KM", help="max km of assets per region")
    p.add_argument("--max-crews", type=int, metavar="N", help="max crews per region")
    p.add_argument(
        "--balance",
        type=float,
        default=None,
        help="max workload deviation from the mean, as a fraction (default 0.024, which keeps"
        " max/min <= 1.05; 0.2 with --whole-towns)",
    )
    p.add_argument(
        "--lock",
        action="append",
        default=[],
        metavar="UNIT_OR_TOWN=REGION",
        help="keep a unit or a whole municipality in a region (repeatable)",
    )
    p.add_argument("--no-depots", action="store_true", help="ignore the contractor yards")
    p.add_argument("--unit-km", type=float, default=1.5, help="road km per planning unit (1.5)")
    p.add_argument(
        "--straight-line",
        action="store_true",
        help="estimate travel times from straight lines instead of the road network",
    )
    p.add_argument("--time-limit", type=float, default=30.0, metavar="S", help="seconds (30)")
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    p.add_argument("--out", type=Path, help="write the regions as GeoJSON here")
    p.add_argument(
        "--evaluate",
        type=Path,
        metavar="PLAN",
        help="evaluate this plan instead of optimizing: GeoJSON polygons (property 'region'),"
        ' or JSON {"region": ["municipality code or name", ...]}. A polygon may name the depot'
        f" its region's crews start from in the property '{DEPOT_FIELD}' (an id from the"
        " scenario's depots: a contractor yard or a town depot; the column --out writes);"
        " empty means the automatic choice. With --route the region is routed from it. An"
        " unknown depot, or two depots for one region, is an error naming the feature",
    )
    p.add_argument(
        "--route",
        action="store_true",
        help="estimate each region's patrol hours with the routing engine (slower)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(handler=run)


def _balance(args: argparse.Namespace) -> float:
    if args.balance is not None:
        return float(args.balance)
    return DEFAULT_WHOLE_TOWN_BALANCE if args.whole_towns else DEFAULT_BALANCE


def _locks(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ValueError(f"--lock {item!r}: write UNIT_OR_TOWN=REGION")
        out[key.strip()] = value.strip()
    return out


def _read_plan(path: Path) -> gpd.GeoDataFrame | dict[str, list[str]]:
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanError(f"{path}: not JSON ({exc})") from exc
    if isinstance(data, dict) and data.get("type") in ("FeatureCollection", "Feature"):
        return gpd.read_file(path)
    if isinstance(data, dict) and all(isinstance(v, list) for v in data.values()):
        return {str(k): [str(t) for t in v] for k, v in data.items()}
    raise PlanError(f"{path}: expected GeoJSON polygons or {{region: [towns]}}")


def write_geojson(frame: gpd.GeoDataFrame, path: Path) -> None:
    """Write regions as GeoJSON (EPSG:4326) with the OpenStreetMap attribution embedded."""
    doc: dict[str, Any] = json.loads(frame.to_crs(4326).to_json(drop_id=True))
    doc["attribution"] = ATTRIBUTION
    for feature in doc["features"]:
        feature["properties"]["attribution"] = ATTRIBUTION
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def _print(evaluation: PlanEvaluation, header: str) -> None:
    print(header)
    print(evaluation.table().to_string(index=False))
    print(
        f"balance max/min {evaluation.balance:.3f}, max deviation"
        f" {evaluation.max_deviation_pct:.1f} %, mean Polsby-Popper"
        f" {evaluation.mean_polsby_popper:.3f}, cut edges {evaluation.cut_edges},"
        f" contiguous {'yes' if evaluation.contiguous else 'no'}"
    )
    for problem in evaluation.problems:
        print(f"! {problem}")
    print(f"Road data {ATTRIBUTION}")


# Region -> chosen depot id in, the routing engine's patrol time out (with --route).
PatrolTimeFactory = Callable[[Mapping[str, str]], PatrolTimeFn]


def _prepare(
    args: argparse.Namespace,
) -> tuple[Any, PlanningUnits, PatrolTimeFactory | None]:
    """Load the scenario (and the routing engine with --route), build the planning units."""
    from gis_data.loading.load import load_scenario

    patrol_time_for: Callable[[PlanningUnits, Mapping[str, str]], PatrolTimeFn] | None = None
    if args.route:
        from gis_data.planning.plan_engine import PlanSetup

        setup = PlanSetup.load(args.config)
        scenario = setup.scenario
        router = setup.router(seed=args.seed)
        depot = setup.bundle_depot()

        def patrol_time_for(units: PlanningUnits, chosen: Mapping[str, str]) -> PatrolTimeFn:
            return engine_patrol_time(units, router, depot, region_depots=chosen)
    else:
        scenario = load_scenario(args.config)
    graph = None
    if not args.straight_line and scenario.network_path is not None:
        from gis_data.network.graph import network_for_scenario

        graph = network_for_scenario(scenario).graph
    units = scenario_units(scenario, graph=graph, target_km=args.unit_km)
    if patrol_time_for is None:
        return scenario, units, None
    return scenario, units, lambda chosen: patrol_time_for(units, chosen)


def _plan_depots(
    path: Path, plan: gpd.GeoDataFrame | dict[str, list[str]], depots: gpd.GeoDataFrame
) -> tuple[dict[str, str], list[str]]:
    """Region -> depot id chosen in a drawn plan's polygons, and every problem with it."""
    if not isinstance(plan, gpd.GeoDataFrame):
        return {}, []
    chosen, problems = drawn_plan_depots(
        plan, drawn_regions(plan), file=str(path), depot_ids=depots["depot_id"].astype(str)
    )
    return chosen, [str(p) for p in problems]


def run(args: argparse.Namespace) -> int:
    """Build units, then optimize or evaluate: 0 done, 1 impossible request, 2 bad input."""
    try:
        limits = SizeLimits(
            max_workload_h=args.max_workload, max_km=args.max_km, max_crews=args.max_crews
        )
        request = RegionRequest(
            k=args.k,
            whole_towns=args.whole_towns,
            balance_tolerance=_balance(args),
            limits=limits,
            use_depots=not args.no_depots,
            locked=_locks(args.lock),
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        scenario, units, patrol_time_from = _prepare(args)
    except (ConfigError, AssetValidationError, NetworkError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"{scenario.name}: {len(scenario.assets)} assets -> {units.n} planning units"
        f" ({units.travel_source})",
        file=sys.stderr if args.json else sys.stdout,
    )
    if args.evaluate is not None:
        try:
            plan = _read_plan(args.evaluate)
            chosen, problems = _plan_depots(args.evaluate, plan, scenario.depots)
            if problems:
                for problem in problems:
                    print(problem, file=sys.stderr)
                return 2
            names = {
                str(d.depot_id): str(d.name or d.depot_id)
                for d in scenario.depots.itertuples(index=False)
            }
            evaluation = evaluate_plan(
                units,
                plan,
                municipalities=scenario.municipalities,
                limits=limits,
                depots={region: names[depot] for region, depot in chosen.items()},
                patrol_time=patrol_time_from(chosen) if patrol_time_from is not None else None,
            )
        except (PlanError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if args.json:
            print(json.dumps(evaluation.to_dict(), ensure_ascii=False, indent=1))
        else:
            _print(evaluation, f"evaluation of {args.evaluate}")
        return 0
    try:
        plan_result = solve_regions(
            units,
            request,
            depots=scenario.depots,
            stop=MaxRuntime(args.time_limit),
            seed=args.seed,
            patrol_time=patrol_time_from({}) if patrol_time_from is not None else None,
        )
    except InfeasibleError as exc:
        print(f"infeasible: {exc.reason}")
        return 1
    if args.json:
        print(json.dumps(plan_result.to_dict(), ensure_ascii=False, indent=1))
    else:
        _print(
            plan_result.evaluation,
            f"k = {args.k} regions, balance band ±{100 * request.balance_tolerance:.1f} %"
            f" ({plan_result.result.status},"
            f" {plan_result.result.runtime:.1f} s, seed {args.seed})",
        )
    if args.out is not None:
        write_geojson(plan_result.regions, args.out)
        print(f"wrote {args.out}")
    return 0
