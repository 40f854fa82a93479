"""OGC API - Features over HTTP: a thin adapter from FastAPI to service.ogc (no logic here)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from service.deps import FeatureReaderKey, SessionDep, SettingsDep
from service.errors import accept_lang
from service.ogc import core, features
from service.ogc.core import OgcError, OgcRequest, OgcResponse

router = APIRouter(tags=["ogc"])

_Str = Annotated[str | None, Query()]
_CRS_HELP = (
    "output CRS URI: OGC CRS84 (default, lon/lat), EPSG 4326 or 6668 (lat/lon), or a JGD2011"
    " plane rectangular zone EPSG 6669-6687 (X north, Y east, metres); see /collections"
)
_BBOX_HELP = "4 or 6 numbers in the axis order of bbox-crs (CRS84: minLon,minLat,maxLon,maxLat)"
_BBOX_CRS_HELP = "CRS URI of bbox (default CRS84); the same CRSs as crs"


def _request(request: Request, settings: SettingsDep) -> OgcRequest:
    root = str(request.base_url).rstrip("/")
    query: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        query.setdefault(key, []).append(value)
    # Messages worded for people follow Accept-Language (a query `lang` is not an OGC
    # parameter here): English when asked first, else Japanese, as the rest of the API.
    return OgcRequest(
        base_url=f"{root}{settings.OGC_PREFIX}",
        openapi_url=f"{root}{settings.OGC_PREFIX}/api",
        docs_url=f"{root}/docs",
        query=query,
        lang=accept_lang(request),
    )


async def _respond(call: Callable[[], OgcResponse]) -> Response:
    try:
        result = await run_in_threadpool(call)
    except OgcError as error:
        result = error.response()
    headers = dict(result.headers)
    media_type = headers.pop("Content-Type", core.JSON)
    content = json.dumps(result.body, ensure_ascii=False, separators=(",", ":"), default=str)
    return Response(content, status_code=result.status, headers=headers, media_type=media_type)


@router.get("", include_in_schema=False)
@router.get("/", summary="Landing page")
async def landing(request: Request, settings: SettingsDep, f: _Str = None) -> Response:
    """Landing page with links to the API definition, conformance and the collections."""
    ogc_request = _request(request, settings)
    return await _respond(
        lambda: core.landing_page(
            ogc_request,
            title="gunmane OGC API - Features",
            description="Assets, contract regions, patrol routes and depots of 群マネ scenarios.",
        )
    )


@router.get("/api", summary="API definition (OpenAPI 3)")
async def api_definition(request: Request) -> Response:
    """The OpenAPI document as `application/vnd.oai.openapi+json;version=3.0`."""
    document: dict[str, Any] = request.app.openapi()
    return Response(json.dumps(document), media_type=core.OPENAPI)


@router.get("/conformance", summary="Conformance classes")
async def conformance(request: Request, settings: SettingsDep, f: _Str = None) -> Response:
    """The conformance classes implemented."""
    ogc_request = _request(request, settings)
    return await _respond(lambda: core.conformance(ogc_request))


@router.get("/collections", summary="Feature collections")
async def collections(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    _principal: FeatureReaderKey,
    f: _Str = None,
) -> Response:
    """The collections (assets, regions, routes, depots) with extents and links."""
    ogc_request = _request(request, settings)
    return await _respond(lambda: features.collections(ogc_request, session))


@router.get("/collections/{collection_id}", summary="One feature collection")
async def collection(
    collection_id: str,
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    _principal: FeatureReaderKey,
    f: _Str = None,
) -> Response:
    """One collection's description."""
    ogc_request = _request(request, settings)
    return await _respond(lambda: features.collection(ogc_request, session, collection_id))


@router.get("/collections/{collection_id}/items", summary="Features of a collection")
async def items(
    collection_id: str,
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    _principal: FeatureReaderKey,
    f: _Str = None,
    bbox: Annotated[str | None, Query(description=_BBOX_HELP)] = None,
    bbox_crs: Annotated[str | None, Query(alias="bbox-crs", description=_BBOX_CRS_HELP)] = None,
    crs: Annotated[str | None, Query(description=_CRS_HELP)] = None,
    limit: Annotated[str | None, Query(description="page size (1..10000)")] = None,
    offset: Annotated[str | None, Query(description="features to skip")] = None,
    datetime: Annotated[str | None, Query(description="RFC 3339 instant or interval")] = None,
    scenario_id: _Str = None,
    plan_id: _Str = None,
    region_id: _Str = None,
    day: _Str = None,
    field: _Str = None,
    municipality_code: _Str = None,
) -> Response:
    """A page of GeoJSON features with next/prev links, `numberMatched` and `numberReturned`."""
    ogc_request = _request(request, settings)
    return await _respond(
        lambda: features.items(
            ogc_request,
            session,
            collection_id,
            default_limit=settings.OGC_DEFAULT_LIMIT,
            max_limit=settings.OGC_MAX_LIMIT,
        )
    )


@router.get("/collections/{collection_id}/items/{feature_id}", summary="One feature")
async def item(
    collection_id: str,
    feature_id: str,
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    _principal: FeatureReaderKey,
    f: _Str = None,
    crs: Annotated[str | None, Query(description=_CRS_HELP)] = None,
) -> Response:
    """One feature as GeoJSON."""
    ogc_request = _request(request, settings)
    return await _respond(lambda: features.item(ogc_request, session, collection_id, feature_id))
