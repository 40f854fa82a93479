"""A contractor's daily patrol routes: JSON, GeoJSON, GPX (a track) and KML, own regions only."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Response

from service import auth, crud
from service.api.maps import route_download
from service.api.plans import feature_collection, route_feature, route_json, route_public
from service.deps import RouteReaderKey, SessionDep
from service.errors import ServiceError
from service.models import Route
from service.schemas import RoutePublic, RoutesPublic

router = APIRouter(prefix="/patrols", tags=["patrols"])


def _readable(session: SessionDep, principal: auth.Principal, route_id: int) -> Route:
    """The route if the caller may read it; another region's route is 404 for a contractor."""
    route = crud.get_route(session=session, route_id=route_id)
    if not principal.may_read_region(route.region_id):
        raise ServiceError(404, "not-found", f"route {route_id} not found")
    return route


def _routes(
    session: SessionDep,
    principal: auth.Principal,
    region_id: int | None,
    date: dt.date | None,
    plan_id: int | None,
    *,
    steps: bool = False,
) -> list[Route]:
    if region_id is not None:
        if not principal.may_read_region(region_id):
            raise ServiceError(404, "not-found", f"region {region_id} not found")
        regions = [region_id]
    elif principal.role == "contractor":
        regions = sorted(principal.region_ids)
    else:
        raise ServiceError(422, "region-required", "give region_id (admins and planners)")
    found: list[Route] = []
    for rid in regions:
        found += crud.list_routes(
            session=session, region_id=rid, service_date=date, plan_id=plan_id, steps=steps
        )
    if plan_id is None and found:
        # Routes of the newest plan only, so that replanned days do not show twice.
        newest = max(r.plan_id for r in found)
        found = [r for r in found if r.plan_id == newest]
    return found


@router.get("", response_model=RoutesPublic)
def my_routes(
    session: SessionDep,
    principal: RouteReaderKey,
    region_id: int | None = None,
    date: Annotated[dt.date | None, Query(description="service date YYYY-MM-DD")] = None,
    plan_id: int | None = None,
    steps: Annotated[bool, Query(description="include each route's ordered steps")] = False,
) -> Response:
    """The caller's routes (a contractor: its regions), of the newest plan unless one is named.

    Figures and geometry per route; the ordered steps (large) with `steps=true` or per route.
    """
    rows = _routes(session, principal, region_id, date, plan_id, steps=steps)
    # Built as text: validating and re-encoding hundreds of kB of coordinates is the slow part.
    items = ",".join(route_json(r, steps=steps) for r in rows)
    return Response(f'{{"data":[{items}],"count":{len(rows)}}}', media_type="application/json")


@router.get("/routes.geojson", response_class=Response)
def my_routes_geojson(
    session: SessionDep,
    principal: RouteReaderKey,
    region_id: int | None = None,
    date: dt.date | None = None,
    plan_id: int | None = None,
) -> Response:
    """The caller's routes as a GeoJSON FeatureCollection."""
    rows = _routes(session, principal, region_id, date, plan_id)
    return feature_collection([route_feature(r) for r in rows])


@router.get("/{route_id}", response_model=RoutePublic)
def get_route(route_id: int, session: SessionDep, principal: RouteReaderKey) -> RoutePublic:
    """One route with its ordered steps."""
    return route_public(_readable(session, principal, route_id))


@router.get("/{route_id}/geojson", response_class=Response)
def get_route_geojson(route_id: int, session: SessionDep, principal: RouteReaderKey) -> Response:
    """One route as GeoJSON."""
    return feature_collection([route_feature(_readable(session, principal, route_id))])


@router.get("/{route_id}/gpx", response_class=Response)
def get_route_gpx(
    route_id: int,
    session: SessionDep,
    principal: RouteReaderKey,
    lang: Annotated[str, Query(pattern="^(ja|en)$", description="language of names")] = "ja",
) -> Response:
    """One route as GPX 1.1: a track (apps follow it without re-routing) plus stop waypoints."""
    return route_download(
        _readable(session, principal, route_id), "gpx", missing_code="no-geometry", lang=lang
    )


@router.get("/{route_id}/kml", response_class=Response)
def get_route_kml(
    route_id: int,
    session: SessionDep,
    principal: RouteReaderKey,
    lang: Annotated[str, Query(pattern="^(ja|en)$", description="language of names")] = "ja",
) -> Response:
    """One route as KML."""
    return route_download(
        _readable(session, principal, route_id), "kml", missing_code="no-geometry", lang=lang
    )
