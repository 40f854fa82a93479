"""A plan drawn on the planner page, stored as a regions plan with the depot chosen per region.

Stored like the regions job's plans (regions with outlines, towns for a plan of whole towns,
``asset_regions`` for the routes and calendar jobs), so that it is compared, mapped and routed
like any other; ``parameters.depots`` keeps the planner's depot per region (region -> depot
id), used whenever the stored plan is routed and shown wherever its depots are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import shapely
from shapely.geometry import shape

from gis_data.planning.evaluate import region_order
from service import crud

if TYPE_CHECKING:
    import geopandas as gpd
    from shapely.geometry.base import BaseGeometry
    from sqlalchemy.orm import Session

    from service.models import Plan

# ``parameters.source`` of a plan stored from the planner page (the regions job's have none).
DRAWN_SOURCE = "planner"


def stored_plan_depots(plan: Plan) -> dict[str, str]:
    """Region -> depot id the planner chose for a stored plan (a region not named: automatic)."""
    chosen = (plan.parameters or {}).get("depots")
    if not isinstance(chosen, dict):
        return {}
    return {str(region): str(depot) for region, depot in chosen.items()}


def is_drawn(plan: Plan) -> bool:
    """True for a plan stored from the planner page (not made by the regions job)."""
    return (plan.parameters or {}).get("source") == DRAWN_SOURCE


def _outlines(
    polygons: Mapping[str, Any] | None,
    towns: Mapping[str, int | str],
    municipalities: gpd.GeoDataFrame | None,
) -> dict[str, BaseGeometry]:
    """Region -> outline (EPSG:4326): its drawn polygons, or its towns' boundaries."""
    parts: dict[str, list[BaseGeometry]] = {}
    if polygons and polygons.get("features"):
        for feature in polygons["features"]:
            region = str(feature["properties"]["region"])
            parts.setdefault(region, []).append(shapely.make_valid(shape(feature["geometry"])))
    elif municipalities is not None and not municipalities.empty:
        bounds = municipalities.to_crs(4326)
        by_code = dict(zip(bounds["municipality_code"].astype(str), bounds.geometry, strict=True))
        for code, label in towns.items():
            if str(code) in by_code:
                parts.setdefault(str(label), []).append(by_code[str(code)])
    return {region: shapely.union_all(geoms) for region, geoms in parts.items()}


def store_drawn_plan(
    session: Session,
    *,
    scenario_id: int,
    name: str,
    k: int | None,
    polygons: Mapping[str, Any] | None,
    towns: Mapping[str, int | str],
    evaluation: Mapping[str, Any],
    figures: Mapping[str, Any],
    region_assets: Mapping[str, Sequence[str]],
    depots: Mapping[str, str],
    depot_names: Mapping[str, str],
    municipalities: gpd.GeoDataFrame | None,
) -> Plan:
    """Store a drawn plan that was scored without errors (``evaluation``: the whole
    `PlanEvaluation.to_dict`, ``figures``: the page's headline figures) with its regions;
    committed by the caller."""
    drawn = bool(polygons and polygons.get("features"))
    chosen = {str(r): str(d) for r, d in depots.items()}
    names_of_towns: dict[str, str] = {}
    if municipalities is not None and not municipalities.empty:
        names_of_towns = dict(
            zip(
                municipalities["municipality_code"].astype(str),
                municipalities["municipality"].astype(str),
                strict=True,
            )
        )
    plan = crud.create_plan(
        session=session,
        scenario_id=scenario_id,
        kind="regions",
        name=name,
        parameters={
            "source": DRAWN_SOURCE,
            "k": k,
            "plan_kind": "polygons" if drawn else "towns",
            "depots": chosen,
        },
        summary={
            **{key: value for key, value in figures.items() if value is not None},
            # Every region's depot name for the comparison tables (None: automatic).
            "depots": {
                r: depot_names.get(chosen[r], chosen[r]) if r in chosen else None
                for r in sorted(region_assets, key=region_order)
            },
        },
        result={
            "evaluation": dict(evaluation),
            "asset_regions": {
                str(a): str(region) for region, ids in region_assets.items() for a in ids
            },
        },
    )
    outlines = _outlines(polygons, towns, municipalities)
    rows = {str(r.get("region")): r for r in evaluation.get("regions") or []}
    for region in sorted(region_assets, key=region_order):
        row = rows.get(region, {})
        town_names = [str(t) for t in row.get("towns") or []]
        # Towns only for a plan of whole towns: `stored_plan_towns` reads it as one.
        members = [] if drawn else sorted(str(c) for c, r in towns.items() if str(r) == region)
        depot = chosen.get(region)
        crud.add_region(
            session=session,
            plan=plan,
            code=region,
            name=f"{region}: {', '.join(town_names)}" if town_names else region,
            municipalities=[{"code": c, "name": names_of_towns.get(c, c)} for c in members],
            properties={
                "towns": town_names,
                "workload_h": row.get("workload_h"),
                "depot_id": depot,
                "depot": depot_names.get(depot, depot) if depot is not None else None,
            },
            geom=outlines.get(region),
        )
    return plan
