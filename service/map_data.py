"""Data behind the maps and pages: town outlines, plan layers, routes, evaluations (cached)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import shapely
from shapely.geometry import LineString, shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gis_data.loading.load import Scenario as LoadedScenario
from gis_data.network.adapters import PatrolRoute, Traversal
from gis_data.network.scenario_network import scenario_network
from gis_data.planning.evaluate import PlanError, evaluate_plan, region_order
from gis_data.planning.units import PlanningUnits, build_units
from service import crud
from service.errors import ServiceError
from service.frames import assets_frame
from service.i18n import Lang
from service.i18n import t as label
from service.maps import DailyRoute, RouteStep, Waypoint
from service.models import Asset, Plan, Route, Scenario

logger = logging.getLogger(__name__)

MAX_MAP_ASSETS = 20_000  # beyond this a plan map leaves the asset layers out (browser memory)
_TRAVERSAL_KEYS = frozenset(Traversal.__dataclass_fields__)


# -- scenario files ------------------------------------------------------------------------------

_LOADED: dict[tuple[int, str], LoadedScenario] = {}
_LOAD_LOCK = threading.Lock()


def loaded_scenario(session: Session, scenario: Scenario) -> LoadedScenario | None:
    """The stored scenario with its town boundaries and network source, once per data version;
    None when it has neither (an API scenario with assets only)."""
    from service.stored_scenario import IncompleteScenarioError, load_stored_scenario

    key = (scenario.id, scenario.updated_at.isoformat())
    with _LOAD_LOCK:
        if key in _LOADED:
            return _LOADED[key]
        try:
            loaded = load_stored_scenario(session, scenario.id, need_network=False)
        except IncompleteScenarioError:
            return None
        if (
            loaded.municipalities.empty
            and loaded.network_path is None
            and loaded.network_lines is None
        ):
            return None
        _LOADED[key] = loaded
        return loaded


def is_n03(codes: Sequence[str]) -> bool:
    """Japanese municipality codes (5 digits, 行政区域コード) mean MLIT N03 boundaries."""
    return bool(codes) and all(c.isdigit() and len(c) in (5, 6) for c in codes)


def town_outlines(session: Session, scenario: Scenario) -> tuple[gpd.GeoDataFrame, bool]:
    """Town boundaries (``code``, ``name``) of a scenario and whether they are MLIT N03 data.

    From the scenario's boundary file when it has one, else the hull of each town's assets.
    """
    loaded = loaded_scenario(session, scenario)
    if loaded is not None and not loaded.municipalities.empty:
        munis = loaded.municipalities.to_crs(4326)
        towns = gpd.GeoDataFrame(
            {
                "code": munis["municipality_code"].astype(str),
                "name": munis["municipality"].astype(str),
            },
            geometry=munis.geometry.values,
            crs=4326,
        )
    else:
        assets = assets_frame(session, scenario.id)
        rows = []
        for (code, name), group in assets.groupby(["municipality_code", "municipality"]):
            hull = shapely.union_all(group.geometry.values).convex_hull
            rows.append({"code": str(code), "name": str(name), "geometry": hull})
        towns = gpd.GeoDataFrame(rows, geometry="geometry", crs=4326) if rows else _empty()
    return towns, is_n03(list(towns["code"]))


def _empty() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"code": [], "name": []}, geometry=[], crs=4326)


# -- evaluation of drawn plans -----------------------------------------------------------------


@dataclass(frozen=True)
class PlanningContext:
    """What evaluating a plan of a scenario needs: its planning units and town boundaries."""

    units: PlanningUnits
    municipalities: gpd.GeoDataFrame | None


_ContextKey = tuple[str, int, int, int, int]
_CONTEXTS: dict[_ContextKey, PlanningContext] = {}
_CONTEXT_LOCKS: dict[_ContextKey, threading.Lock] = {}
_CONTEXTS_LOCK = threading.Lock()


def _context_key(session: Session, scenario: Scenario) -> _ContextKey:
    """Database, scenario, its version and its assets' count and last id: uploads invalidate."""
    count, last = session.execute(
        select(func.count(Asset.id), func.max(Asset.id)).where(Asset.scenario_id == scenario.id)
    ).one()
    url = session.get_bind().engine.url.render_as_string(hide_password=True)
    return (url, scenario.id, scenario.version, int(count or 0), int(last or 0))


def planning_context(session: Session, scenario: Scenario) -> PlanningContext:
    """Planning units of a scenario (built once per version of its assets; the first is slow)."""
    key = _context_key(session, scenario)
    with _CONTEXTS_LOCK:
        if key in _CONTEXTS:
            return _CONTEXTS[key]
        lock = _CONTEXT_LOCKS.setdefault(key, threading.Lock())
    with lock:
        if key in _CONTEXTS:
            return _CONTEXTS[key]
        assets = assets_frame(session, scenario.id)
        if assets.empty:
            raise ServiceError(409, "no-assets", f"scenario {scenario.id} has no assets to plan")
        loaded = loaded_scenario(session, scenario)
        graph = None
        munis = None
        metric = None
        if loaded is not None:
            munis = loaded.municipalities
            metric = loaded.metric_crs
            if loaded.network_path is not None or loaded.network_lines is not None:
                graph = scenario_network(loaded).network.graph
        units = build_units(assets, metric_crs=metric, graph=graph, area=munis)
        context = PlanningContext(units=units, municipalities=munis)
        with _CONTEXTS_LOCK:
            _CONTEXTS[key] = context
        logger.info("scenario %s: %d planning units ready", scenario.id, units.n)
        return context


def cached_planning_context(session: Session, scenario: Scenario) -> PlanningContext | None:
    """The planning units of a scenario if already built, else None (never builds)."""
    key = _context_key(session, scenario)
    with _CONTEXTS_LOCK:
        return _CONTEXTS.get(key)


def warm_planning_context(session_factory: Callable[[], Session], scenario_id: int) -> None:
    """Build a scenario's planning units in a background thread (the planner page asks early)."""

    def run() -> None:
        session = session_factory()
        try:
            planning_context(session, crud.get_scenario(session=session, scenario_id=scenario_id))
        except Exception:  # a warm-up failure shows again, with its message, on evaluation
            logger.exception("warming the planning units of scenario %s failed", scenario_id)
        finally:
            session.close()

    threading.Thread(target=run, name=f"warm-units-{scenario_id}", daemon=True).start()


def figures(evaluation: Mapping[str, Any]) -> dict[str, Any]:
    """The headline figures of an evaluation (`PlanEvaluation.to_dict`) under the page keys."""
    regions = evaluation.get("regions") or []
    # Only routed times differ between plans; the workload estimate is the same for every
    # plan of a scenario, so it is never shown as the plan's patrol time.
    patrol = [r.get("patrol_time_h") for r in regions if _routed(r)]
    return {
        "n_regions": len(regions),
        "balance": evaluation.get("balance"),
        "max_deviation_pct": evaluation.get("max_deviation_pct"),
        "contiguous": evaluation.get("contiguous"),
        "compactness": evaluation.get("mean_polsby_popper"),
        "cut_edges": evaluation.get("cut_edges"),
        "patrol_hours": float(sum(patrol)) if patrol and len(patrol) == len(regions) else None,
        "size_ok": evaluation.get("within_size_limits"),
        "unassigned": len(evaluation.get("unassigned") or []),
    }


def _routed(region: Mapping[str, Any]) -> bool:
    return (
        region.get("patrol_time_h") is not None
        and region.get("patrol_time_source") == "routing engine"
    )


def region_rows(evaluation: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per-region rows for the planner page's table."""
    return [
        {
            "region": r.get("region"),
            "workload_hours": r.get("workload_h"),
            "max_deviation_pct": r.get("deviation_pct"),
            "contiguous": r.get("contiguous"),
            "compactness": r.get("polsby_popper"),
            "towns": r.get("towns"),
            "patrol_hours": r.get("patrol_time_h") if _routed(r) else None,
            "size_ok": r.get("within_size_limit"),
            "depot": r.get("depot"),
        }
        for r in evaluation.get("regions") or []
    ]


# Figures that score a plan: shown only when the plan can be scored (no blocking error).
SCORES = (
    "balance",
    "max_deviation_pct",
    "contiguous",
    "compactness",
    "cut_edges",
    "patrol_hours",
    "size_ok",
)
# Drawn regions overlapping by less than this (m², and share of the smaller) are a drawing
# slip along a shared edge, not two regions claiming the same work.
OVERLAP_MIN_M2 = 1000.0
OVERLAP_MIN_SHARE = 0.001


def _drawn_plan(polygons: Mapping[str, Any]) -> gpd.GeoDataFrame:
    rows = []
    for i, feature in enumerate(polygons["features"], start=1):
        try:
            geom = shape(feature["geometry"])
            region = str((feature.get("properties") or {})["region"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            msg = f"polygons: feature {i}: needs a polygon geometry and properties.region ({exc})"
            raise ServiceError(422, "invalid-plan", msg) from None
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            msg = f"polygons: feature {i}: geometry is a {geom.geom_type}, not a polygon"
            raise ServiceError(422, "invalid-plan", msg)
        rows.append({"region": region, "geometry": geom})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)


def _overlaps(plan: gpd.GeoDataFrame, metric_crs: Any) -> list[tuple[str, str, float]]:
    """Pairs of different regions whose drawn polygons overlap: (region, region, hectares)."""
    metric = plan.to_crs(metric_crs)
    by_region = {
        str(r): shapely.union_all([shapely.make_valid(g).buffer(0) for g in group.geometry])
        for r, group in metric.groupby("region", sort=True)
    }
    names = sorted(by_region, key=region_order)
    found = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            shared = by_region[a].intersection(by_region[b]).area
            smaller = min(by_region[a].area, by_region[b].area) or 1.0
            if shared > OVERLAP_MIN_M2 and shared / smaller > OVERLAP_MIN_SHARE:
                found.append((a, b, shared / 10_000.0))
    return found


def blocking_errors(
    evaluation: Mapping[str, Any],
    *,
    lang: Lang,
    overlaps: Sequence[tuple[str, str, float]] = (),
    drawn_regions: Sequence[str] = (),
    k: int | None = None,
    towns_and_drawn: bool = False,
) -> list[dict[str, str]]:
    """What keeps a plan from being scored fairly, as ``{"code", "message"}`` in ``lang``.

    Overlapping drawn regions, work in two regions, towns both clicked and drawn, regions
    with nothing in them (of 1..k, or drawn over no work) and work in no region: scoring such a
    plan would credit shared work twice or leave work out, so the page shows these instead.
    """
    errors: list[dict[str, str]] = []

    def add(code: str, **values: Any) -> None:
        errors.append({"code": code, "message": label(f"eval_{code}", lang).format(**values)})

    if towns_and_drawn:
        add("towns_and_drawn")
    for a, b, hectares in overlaps:
        add("overlap", a=a, b=b, ha=f"{hectares:,.1f}")
    doubly = evaluation.get("doubly_assigned") or {}
    if doubly:
        pairs = sorted({", ".join(sorted(v, key=region_order)) for v in doubly.values()})
        add("double", n=len(doubly), regions=" / ".join(pairs))
    scored = {str(r.get("region")) for r in evaluation.get("regions") or [] if r.get("n_units")}
    for region in sorted(set(drawn_regions) - scored, key=region_order):
        add("drawn_empty", region=region)
    if k is not None:
        missing = [str(r) for r in range(1, k + 1) if str(r) not in scored]
        missing = [r for r in missing if r not in drawn_regions]
        if missing:
            add("region_empty", regions=", ".join(missing), k=k)
    unassigned = evaluation.get("unassigned") or []
    if unassigned:
        add("unassigned", n=len(unassigned))
    return errors


def evaluate_drawn(
    context: PlanningContext,
    *,
    polygons: Mapping[str, Any] | None,
    towns: Mapping[str, int | str],
    k: int | None = None,
    lang: Lang = "ja",
    unit_regions: dict[str, list[str]] | None = None,
    depots: Mapping[str, str] | None = None,
    evaluation_out: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Evaluate drawn polygons (a GeoJSON FeatureCollection with ``properties.region``) or towns.

    ``depots`` (region -> depot name chosen by the planner) fills the rows' ``depot``; None
    there is the automatic choice, made when the plan is routed.

    Returns ``{"plan_kind", "figures", "regions", "problems", "errors"}``. With ``errors`` (see
    :func:`blocking_errors`) the scores are left out (None) and no region rows are given: the
    counts (regions, unassigned) stay. A plan that cannot be read is a 422 naming the feature.
    ``unit_regions``, when given, is filled with each planning unit's regions, and
    ``evaluation_out`` with the whole evaluation (`PlanEvaluation.to_dict`, for storing).
    """
    if unit_regions is None:
        unit_regions = {}
    plan: gpd.GeoDataFrame | dict[str, list[str]]
    drawn = bool(polygons and polygons.get("features"))
    overlaps: list[tuple[str, str, float]] = []
    drawn_regions: list[str] = []
    if polygons is not None and drawn:
        plan = _drawn_plan(polygons)
        overlaps = _overlaps(plan, context.units.metric_crs)
        drawn_regions = sorted({str(r) for r in plan["region"]}, key=region_order)
    elif towns:
        grouped: dict[str, list[str]] = {}
        for code, label in towns.items():
            grouped.setdefault(str(label), []).append(str(code))
        plan = grouped
    else:
        raise ServiceError(422, "invalid-plan", "send drawn polygons or towns per region")
    try:
        evaluation = evaluate_plan(
            context.units,
            plan,
            municipalities=context.municipalities,
            region_column="region" if isinstance(plan, gpd.GeoDataFrame) else None,
            depots=depots,
        ).to_dict()
    except PlanError as exc:
        raise ServiceError(422, "invalid-plan", str(exc)) from None
    unit_regions.update(evaluation.get("unit_regions") or {})
    if evaluation_out is not None:
        evaluation_out.update({k: v for k, v in evaluation.items() if k != "unit_regions"})
    errors = blocking_errors(
        evaluation,
        lang=lang,
        overlaps=overlaps,
        drawn_regions=drawn_regions,
        k=k,
        towns_and_drawn=drawn and bool(towns),
    )
    shown = figures(evaluation)
    rows = region_rows(evaluation)
    if errors:
        shown.update(dict.fromkeys(SCORES))
        rows = []
    return {
        "plan_kind": evaluation.get("plan_kind"),
        "figures": shown,
        "regions": rows,
        "problems": list(evaluation.get("problems") or []),
        "errors": errors,
    }


def plan_asset_regions(
    context: PlanningContext, unit_regions: Mapping[str, Sequence[str]]
) -> dict[str, list[str]]:
    """Region -> asset ids of a plan from its units' regions (units in one region only)."""
    table = context.units.units
    assets_of = dict(zip(context.units.unit_ids, table["asset_ids"], strict=True))
    out: dict[str, list[str]] = {}
    for unit, regions in unit_regions.items():
        if len(regions) == 1:
            out.setdefault(str(regions[0]), []).extend(str(a) for a in assets_of.get(unit, ()))
    return {r: sorted(ids) for r, ids in sorted(out.items())}


def stored_plan_towns(session: Session, plan: Plan) -> dict[str, int | str]:
    """Town -> region of a stored regions plan (from its regions' municipality lists)."""
    out: dict[str, int | str] = {}
    for region in crud.list_regions(session=session, plan_id=plan.id):
        for town in region.municipalities or []:
            code = town.get("code") if isinstance(town, dict) else town
            if code:
                out[str(code)] = region.code
    return out


def stored_plan_polygons(session: Session, plan: Plan) -> dict[str, Any] | None:
    """The outlines of a stored plan's regions as a FeatureCollection (None when none has one)."""
    features = [
        {
            "type": "Feature",
            "properties": {"region": region.code},
            "geometry": shapely.geometry.mapping(region.geom),
        }
        for region in crud.list_regions(session=session, plan_id=plan.id)
        if region.geom is not None and region.geom.geom_type in ("Polygon", "MultiPolygon")
    ]
    return {"type": "FeatureCollection", "features": features} if features else None


def stored_plan_figures(
    session: Session, plan: Plan, context: PlanningContext | None
) -> dict[str, Any] | None:
    """Figures of a stored regions plan (None when it has no regions).

    With the scenario's planning units at hand the plan is evaluated exactly like a drawn one
    (same units, same measures: a fair comparison); without them the evaluation stored with the
    plan, if any, is used.
    """
    out: dict[str, Any] | None = None
    if context is not None:
        towns = stored_plan_towns(session, plan)
        polygons = None if towns else stored_plan_polygons(session, plan)
        if towns or polygons is not None:
            out = evaluate_drawn(context, polygons=polygons, towns=towns)["figures"]
    stored = plan.result.get("evaluation") if isinstance(plan.result, dict) else None
    if out is None and isinstance(stored, dict) and stored.get("regions"):
        out = figures(stored)
    if out is None:
        return None
    effect = effect_vs_siloed(session, plan)
    if effect is not None:
        out["effect_vs_siloed_pct"] = effect
    depots = plan.summary.get("depots") if isinstance(plan.summary, dict) else None
    if isinstance(depots, dict):  # a plan stored from the planner page, its depots chosen
        out["depots"] = dict(depots)
    return out


def effect_vs_siloed(session: Session, plan: Plan) -> float | None:
    """Saving against each town patrolling alone, in percent, when an estimate is stored.

    Read from ``effect_vs_siloed_pct`` in the regions plan's summary, else in the summary of the
    newest effects or routes plan of the scenario made for it (``parameters.regions_plan_id``).
    """
    key = "effect_vs_siloed_pct"
    if isinstance(plan.summary, dict) and plan.summary.get(key) is not None:
        return float(plan.summary[key])
    for other in crud.list_plans(session=session, scenario_id=plan.scenario_id):
        if other.kind not in ("effects", "routes"):
            continue
        made_for = (other.parameters or {}).get("regions_plan_id")
        if made_for == plan.id and (other.summary or {}).get(key) is not None:
            return float(other.summary[key])
    return None


# -- plan map layers ---------------------------------------------------------------------------


def _frame(rows: list[dict[str, Any]]) -> gpd.GeoDataFrame | None:
    rows = [r for r in rows if r.get("geometry") is not None]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=4326) if rows else None


def plan_layers(session: Session, plan: Plan) -> dict[str, Any]:
    """Keyword layers for `service.maps.plan_map` of a stored plan: towns, regions, routes, ..."""
    scenario = crud.get_scenario(session=session, scenario_id=plan.scenario_id)
    regions = list(crud.list_regions(session=session, plan_id=plan.id))
    routes = list(crud.list_routes(session=session, plan_id=plan.id))
    # A routes plan refers to the regions of a regions plan.
    known = {r.id for r in regions}
    for region_id in {r.region_id for r in routes if r.region_id is not None} - known:
        regions.append(crud.get_region(session=session, region_id=region_id))
    code_of = {r.id: r.code for r in regions}
    towns, n03 = town_outlines(session, scenario)
    assets = assets_frame(session, scenario.id)
    if len(assets) > MAX_MAP_ASSETS:
        logger.info("plan %s map: %d assets, asset layers left out", plan.id, len(assets))
        assets = None
    depots = crud.list_depots(session=session, scenario_id=scenario.id)
    return {
        "regions": _frame(
            [
                {
                    "region": r.code,
                    "name": r.name,
                    # The depot chosen for (or, of an optimized plan, the yard at) the region.
                    "depot": (r.properties or {}).get("depot"),
                    "geometry": r.geom,
                }
                for r in regions
                if r.geom is not None
            ]
        ),
        "routes": _frame(
            [
                {
                    "region": code_of.get(r.region_id or -1, ""),
                    "crew": str(r.crew),
                    "route": f"{r.service_date or r.day} / {r.crew}",
                    "geometry": r.geom,
                }
                for r in routes
            ]
        ),
        "depots": _frame([{"name": d.name or d.depot_id, "geometry": d.geom} for d in depots]),
        "assets": assets,
        "towns": towns if not towns.empty else None,
        "n03": n03,
    }


# -- contractor routes -------------------------------------------------------------------------


def patrol_route(route: Route, *, depot_name: str = "") -> PatrolRoute:
    """A stored route as a `network.adapters.PatrolRoute` (steps stored as traversal dicts)."""
    traversals: list[Traversal] = []
    for step in route.steps or []:
        if isinstance(step, dict) and set(step) >= _TRAVERSAL_KEYS:
            values = dict(step)
            values["asset_ids"] = tuple(values.get("asset_ids") or ())
            values["coords"] = tuple(tuple(float(c) for c in xy) for xy in values["coords"] or ())
            traversals.append(Traversal(**{k: values[k] for k in _TRAVERSAL_KEYS}))
    geometry = route.geom if isinstance(route.geom, LineString) else None
    if geometry is None:
        coords = [xy for t in traversals for xy in t.coords]
        geometry = LineString(coords) if len(coords) >= 2 else LineString()
    props = route.properties or {}
    crew = int(route.crew) - 1 if str(route.crew).isdigit() and int(route.crew) > 0 else 0
    return PatrolRoute(
        crew=crew,
        vehicle_type=0,
        depot_id=str(props.get("depot_id", "")),
        depot_name=depot_name or str(props.get("depot_name", "")),
        traversals=tuple(traversals),
        geometry=geometry,
        tasks=tuple(t.task_id for t in traversals if t.kind == "serve" and t.task_id),
    )


BANK_WALK_PREFIX = "bank walk: "  # how network.patrol_arcs names a walk along a river bank


def _kind_word(kind: str, lang: Lang) -> str | None:
    """An asset kind or field in the page's words, None when the catalogue has no such kind."""
    for key in (f"kind_{kind}", f"field_{kind}"):
        try:
            return label(key, lang)
        except KeyError:
            continue
    return None


def step_name(street: str | None, lang: Lang, asset_ids: Sequence[str] = ()) -> str | None:
    """A step's or stop's name in the page's language: a bank walk says so in its words, and a
    stop whose asset has no name of its own (named "playground P0001" by the matching) is
    called by its kind in the page's words and the town's asset id."""
    if not street:
        return None
    if street.startswith(BANK_WALK_PREFIX):
        inner = step_name(street[len(BANK_WALK_PREFIX) :], lang, asset_ids) or ""
        return f"{label('bank_walk', lang)}: {inner}"
    for asset_id in asset_ids:
        kind = street.removesuffix(f" {asset_id}")
        word = _kind_word(kind, lang) if kind != street else None
        if word is not None:
            return f"{word} {asset_id}"
    return street


def daily_route(route: Route, *, region_code: str, lang: Lang = "ja") -> DailyRoute:
    """A stored route for the contractor's page, its names in the page's language."""
    patrol = patrol_route(route)
    steps: list[RouteStep] = []
    merged: list[dict[str, Any]] = []
    for t in patrol.traversals:
        if t.task_kind == "node":
            merged.append({"t": t, "coords": [t.coords[0], t.coords[0]] if t.coords else []})
            continue
        last = merged[-1] if merged else None
        if (
            last is not None
            and last["t"].task_kind != "node"
            and last["t"].kind == t.kind
            and last["t"].street == t.street
        ):
            last["length_m"] += t.length_m
            last["time_s"] += t.time_s
            last["coords"] += list(t.coords[1:] if last["coords"] else t.coords)
            continue
        merged.append(
            {"t": t, "length_m": t.length_m, "time_s": t.time_s, "coords": list(t.coords)}
        )
    for m in merged:
        t = m["t"]
        coords = m["coords"]
        steps.append(
            RouteStep(
                kind="serve" if t.kind == "serve" else "deadhead",
                # never an empty name: the town's 路線名 or OSM's, else a generic label
                street=step_name(t.street, lang, t.asset_ids)
                or label("stop" if t.task_kind == "node" else "unnamed_road", lang),
                length_m=float(m.get("length_m", t.length_m)),
                minutes=float(m.get("time_s", t.time_s)) / 60.0,
                geometry=LineString(coords) if len(coords) >= 2 else LineString(),
                asset_id=", ".join(t.asset_ids) or None,
                task_id=t.task_id if t.task_kind == "node" else None,
            )
        )
    if not steps and not patrol.geometry.is_empty:
        props = route.properties or {}
        steps.append(
            RouteStep(
                "serve",
                None,
                float(props.get("km", 0.0)) * 1000.0,
                float(props.get("minutes", 0.0)),
                patrol.geometry,
            )
        )
    waypoints = tuple(
        # The stop's own name, never its internal task id (n:…#walk0).
        Waypoint(
            name=step_name(t.street, lang, t.asset_ids) or label("stop", lang),
            kind="node",
            lon=t.coords[0][0],
            lat=t.coords[0][1],
        )
        for t in patrol.traversals
        if t.kind == "serve" and t.task_kind == "node" and t.coords
    )
    depot = None
    if not patrol.geometry.is_empty:
        x, y = patrol.geometry.coords[0][:2]
        depot = (float(x), float(y))
    day = route.service_date.isoformat() if route.service_date else str(route.day)
    return DailyRoute(
        region=region_code,
        crew=str(route.crew),
        day=day,
        steps=tuple(steps),
        waypoints=waypoints,
        depot=depot,
    )


def planned_tasks(route: Route) -> list[Any]:
    """The tasks a stored route serves, as `network.patrol_arcs.PatrolTask` (for patrol logs)."""
    from gis_data.network.patrol_arcs import PatrolTask

    tasks: dict[str, PatrolTask] = {}
    for t in patrol_route(route).traversals:
        if t.kind != "serve" or not t.task_id or t.task_id in tasks:
            continue
        tasks[t.task_id] = PatrolTask(
            task_id=t.task_id,
            kind=t.task_kind or "edge",
            u=t.from_node,
            v=t.to_node,
            key=None,
            serve_s=float(t.time_s),
            length_m=t.length_m,
            name=t.street,
            municipality_code="",
            field="",
            asset_ids=t.asset_ids,
        )
    return list(tasks.values())
