"""Planning jobs per scenario (summary, regions, routes) and stored plans, regions and routes."""

from __future__ import annotations

import json
from typing import Any

import shapely
from fastapi import APIRouter, Response
from shapely.geometry import mapping
from sqlalchemy.orm import object_session

from service import crud
from service.api.jobs import start_job
from service.deps import JobsDep, PlannerKey, SessionDep, SettingsDep
from service.errors import ServiceError
from service.jobs import PROCESSES
from service.lru import LruCache
from service.models import Region, Route
from service.schemas import (
    JobPublic,
    PlanCreate,
    PlanPublic,
    PlansPublic,
    RegionPublic,
    RegionsPublic,
    RoutePublic,
    RoutesPublic,
)

router = APIRouter(tags=["plans"])

GEOJSON = "application/geo+json"


def route_public(route: Route) -> RoutePublic:
    """A route with its geometry as GeoJSON."""
    public = RoutePublic.model_validate(route)
    geometry = dict(mapping(route.geom)) if route.geom is not None else None
    return public.model_copy(update={"geometry": geometry})


def route_dict(route: Route, *, steps: bool, geometry: bool = True) -> dict[str, Any]:
    """A route as plain JSON data (the RoutePublic fields), steps only when asked for."""
    data = {
        "id": route.id,
        "plan_id": route.plan_id,
        "scenario_id": route.scenario_id,
        "region_id": route.region_id,
        "crew": route.crew,
        "day": route.day,
        "service_date": route.service_date.isoformat() if route.service_date else None,
        "properties": route.properties,
        "steps": route.steps if steps else [],
    }
    if geometry:
        data["geometry"] = dict(mapping(route.geom)) if route.geom is not None else None
    return data


# Route geometries never change once stored: their GeoJSON text is kept per (database, id, plan,
# bbox, version): a re-plan replaces a day's rows (SQLite may reuse their ids) with a new version,
# and two databases in one process (tests, tools) hold different routes under the same ids.
_GEOJSON: LruCache[tuple[Any, ...], str] = LruCache(4096)


def _route_geojson(route: Route) -> str:
    session = object_session(route)
    where = str(session.get_bind().engine.url) if session is not None else ""
    version = route.properties.get("version") if isinstance(route.properties, dict) else None
    key = (where, route.id, route.plan_id, route.minx, route.miny, route.maxx, route.maxy, version)
    return _GEOJSON.get_or_make(
        key, lambda: shapely.to_geojson(route.geom) if route.geom is not None else "null"
    )


def route_json(route: Route, *, steps: bool) -> str:
    """`route_dict` as JSON text; the geometry is written by GEOS (and cached), not by Python.

    Load routes with `crud.list_routes(..., steps=False)` so that neither the steps nor, on a
    cache hit, the geometry are read and parsed.
    """
    data = route_dict(route, steps=steps, geometry=False)
    head = json.dumps(data, ensure_ascii=False, default=str)[:-1]
    return f'{head},"geometry":{_route_geojson(route)}}}'


def feature_collection(features: list[dict[str, Any]]) -> Response:
    """A GeoJSON response."""
    body = {"type": "FeatureCollection", "features": features}
    return Response(json.dumps(body, ensure_ascii=False, default=str), media_type=GEOJSON)


def region_feature(region: Region) -> dict[str, Any]:
    """A region as a GeoJSON feature."""
    return {
        "type": "Feature",
        "id": region.id,
        "geometry": dict(mapping(region.geom)) if region.geom is not None else None,
        "properties": {
            "code": region.code,
            "name": region.name,
            "plan_id": region.plan_id,
            "municipalities": region.municipalities,
            **region.properties,
        },
    }


def route_feature(route: Route) -> dict[str, Any]:
    """A route as a GeoJSON feature (steps left out)."""
    return {
        "type": "Feature",
        "id": route.id,
        "geometry": dict(mapping(route.geom)) if route.geom is not None else None,
        "properties": {
            "plan_id": route.plan_id,
            "region_id": route.region_id,
            "crew": route.crew,
            "day": route.day,
            "service_date": route.service_date.isoformat() if route.service_date else None,
            **route.properties,
        },
    }


@router.post("/scenarios/{scenario_id}/plans/{kind}", response_model=JobPublic, status_code=201)
def start_plan(
    scenario_id: int,
    kind: str,
    plan_in: PlanCreate,
    session: SessionDep,
    jobs: JobsDep,
    settings: SettingsDep,
    principal: PlannerKey,
    response: Response,
) -> JobPublic:
    """Start a planning job (`summary`, `regions`, `routes`): 201 with `Location` of the job."""
    process = PROCESSES.get(kind)
    if process is None or not process.needs_scenario or kind.startswith("test-"):
        kinds = sorted(p for p, v in PROCESSES.items() if v.needs_scenario and "test" not in p)
        raise ServiceError(404, "no-such-plan-kind", f"plan kind {kind!r}; one of {kinds}")
    inputs = {**plan_in.parameters, "scenario_id": scenario_id}
    if plan_in.name:
        inputs["name"] = plan_in.name
    return start_job(
        session=session,
        jobs=jobs,
        settings=settings,
        principal=principal,
        response=response,
        process_id=kind,
        inputs=inputs,
        scenario_id=scenario_id,
    )


@router.get("/scenarios/{scenario_id}/plans", response_model=PlansPublic)
def list_plans(
    scenario_id: int, session: SessionDep, _principal: PlannerKey, kind: str | None = None
) -> PlansPublic:
    """The stored plans of a scenario, newest first."""
    crud.get_scenario(session=session, scenario_id=scenario_id)
    rows = crud.list_plans(session=session, scenario_id=scenario_id, kind=kind)
    return PlansPublic(data=[PlanPublic.model_validate(r) for r in rows], count=len(rows))


@router.get("/plans/{plan_id}")
def get_plan(plan_id: int, session: SessionDep, _principal: PlannerKey) -> dict[str, Any]:
    """A plan with its full result (evaluation, comparison, ...)."""
    plan = crud.get_plan(session=session, plan_id=plan_id)
    body = PlanPublic.model_validate(plan).model_dump(mode="json")
    result = {k: v for k, v in plan.result.items() if k != "asset_regions"}
    return {**body, "result": result}


@router.delete("/plans/{plan_id}", status_code=204)
def delete_plan(plan_id: int, session: SessionDep, _principal: PlannerKey) -> Response:
    """Delete a plan with its regions and routes."""
    plan = crud.get_plan(session=session, plan_id=plan_id)
    session.delete(plan)
    session.commit()
    return Response(status_code=204)


@router.get("/plans/{plan_id}/regions", response_model=RegionsPublic)
def list_regions(plan_id: int, session: SessionDep, _principal: PlannerKey) -> RegionsPublic:
    """The regions of a plan."""
    crud.get_plan(session=session, plan_id=plan_id)
    rows = crud.list_regions(session=session, plan_id=plan_id)
    return RegionsPublic(data=[RegionPublic.model_validate(r) for r in rows], count=len(rows))


@router.get("/plans/{plan_id}/regions.geojson", response_class=Response)
def regions_geojson(plan_id: int, session: SessionDep, _principal: PlannerKey) -> Response:
    """The regions of a plan as GeoJSON."""
    crud.get_plan(session=session, plan_id=plan_id)
    rows = crud.list_regions(session=session, plan_id=plan_id)
    return feature_collection([region_feature(r) for r in rows])


@router.get("/plans/{plan_id}/routes", response_model=RoutesPublic)
def list_routes(plan_id: int, session: SessionDep, _principal: PlannerKey) -> RoutesPublic:
    """The routes of a plan with their steps and geometry."""
    crud.get_plan(session=session, plan_id=plan_id)
    rows = crud.list_routes(session=session, plan_id=plan_id)
    return RoutesPublic(data=[route_public(r) for r in rows], count=len(rows))


@router.get("/plans/{plan_id}/routes.geojson", response_class=Response)
def routes_geojson(plan_id: int, session: SessionDep, _principal: PlannerKey) -> Response:
    """The routes of a plan as GeoJSON."""
    crud.get_plan(session=session, plan_id=plan_id)
    rows = crud.list_routes(session=session, plan_id=plan_id)
    return feature_collection([route_feature(r) for r in rows])
