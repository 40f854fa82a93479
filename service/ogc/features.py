"""OGC API - Features (Part 1 core + GeoJSON, Part 2 CRS): assets, regions, routes, depots."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import shapely
from shapely.geometry import Polygon
from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.orm import Session

from gis_data.loading.crs import in_japan, jgd2011_zone, prefecture_of
from service.models import Asset, Depot, Region, Route
from service.ogc import core, crs
from service.ogc.core import OgcError, OgcRequest, OgcResponse

Row = Asset | Depot | Region | Route


@dataclass(frozen=True)
class Collection:
    """One feature collection: its table, texts, extra filters and how rows become properties."""

    id: str
    title: str
    description: str
    model: type[Row]
    filters: tuple[str, ...]
    properties: Callable[[Any], dict[str, Any]]
    temporal: bool = False


def _asset_properties(row: Asset) -> dict[str, Any]:
    return {
        "scenario_id": row.scenario_id,
        "layer_id": row.layer_id,
        "asset_id": row.asset_id,
        "municipality_code": row.municipality_code,
        "municipality": row.municipality,
        "field": row.field,
        "kind": row.kind,
        "name": row.name,
        **row.properties,
    }


def _region_properties(row: Region) -> dict[str, Any]:
    return {
        "scenario_id": row.scenario_id,
        "plan_id": row.plan_id,
        "code": row.code,
        "name": row.name,
        "municipalities": row.municipalities,
        **row.properties,
    }


def _route_properties(row: Route) -> dict[str, Any]:
    return {
        "scenario_id": row.scenario_id,
        "plan_id": row.plan_id,
        "region_id": row.region_id,
        "crew": row.crew,
        "day": row.day,
        "service_date": row.service_date.isoformat() if row.service_date else None,
        **row.properties,
    }


def _depot_properties(row: Depot) -> dict[str, Any]:
    return {
        "scenario_id": row.scenario_id,
        "depot_id": row.depot_id,
        "name": row.name,
        "municipality_code": row.municipality_code,
        **row.properties,
    }


COLLECTIONS: Final = {
    c.id: c
    for c in (
        Collection(
            "assets",
            "Assets",
            "Roads, river banks, parks and structures maintained under the bundled contracts.",
            Asset,
            ("scenario_id", "field", "municipality_code"),
            _asset_properties,
        ),
        Collection(
            "regions",
            "Contract regions",
            "The areas one bundled contract covers, per plan.",
            Region,
            ("scenario_id", "plan_id"),
            _region_properties,
        ),
        Collection(
            "routes",
            "Patrol routes",
            "One crew's patrol route on one day in one region.",
            Route,
            ("scenario_id", "plan_id", "region_id", "day"),
            _route_properties,
            temporal=True,
        ),
        Collection(
            "depots",
            "Depots",
            "Town depots and contractors' yards that crews start from.",
            Depot,
            ("scenario_id", "municipality_code"),
            _depot_properties,
        ),
    )
}

_ITEMS_PARAMS: Final = ("f", "bbox", "bbox-crs", "crs", "limit", "offset", "datetime")
_INT_FILTERS: Final = frozenset({"scenario_id", "plan_id", "region_id", "day"})


def _get_collection(request: OgcRequest, collection_id: str) -> Collection:
    collection = COLLECTIONS.get(collection_id)
    if collection is None:
        message = request.message(
            "ogc_no_collection", collection=collection_id, collections=", ".join(COLLECTIONS)
        )
        raise OgcError(404, "NotFound", message)
    return collection


def _extent(session: Session, collection: Collection) -> dict[str, Any]:
    model = collection.model
    row = session.execute(
        select(
            func.min(model.minx), func.min(model.miny), func.max(model.maxx), func.max(model.maxy)
        )
    ).one()
    bbox = (
        [float(v) for v in row] if all(v is not None for v in row) else [-180.0, -90.0, 180.0, 90.0]
    )
    extent: dict[str, Any] = {"spatial": {"bbox": [bbox], "crs": crs.CRS84}}
    if collection.temporal:
        first, last = session.execute(
            select(func.min(Route.service_date), func.max(Route.service_date))
        ).one()
        extent["temporal"] = {
            "interval": [
                [
                    f"{first.isoformat()}T00:00:00Z" if first else None,
                    f"{last.isoformat()}T23:59:59Z" if last else None,
                ]
            ],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        }
    return extent


def town_zones(session: Session) -> list[int]:
    """The plane rectangular zones of the stored towns, the zone with most assets first.

    A town's zone comes from the prefecture part of its 5-digit 行政区域コード and, where a
    prefecture spans zones (Hokkaido, Tokyo's islands, Okinawa), from where its assets lie.
    """
    rows = session.execute(
        select(
            Asset.municipality_code,
            func.count(),
            func.min(Asset.minx),
            func.min(Asset.miny),
            func.max(Asset.maxx),
            func.max(Asset.maxy),
        ).group_by(Asset.scenario_id, Asset.municipality_code)  # a town per scenario
    ).all()
    counts: dict[int, int] = {}
    for code, n, minx, miny, maxx, maxy in rows:
        lon, lat = (minx + maxx) / 2, (miny + maxy) / 2
        if not in_japan(lon, lat):
            continue
        zone = jgd2011_zone(lon, lat, prefecture_of(code))
        counts[zone] = counts.get(zone, 0) + n
    return sorted(counts, key=lambda zone: (-counts[zone], zone))


def _collection_body(
    request: OgcRequest, session: Session, collection: Collection, zones: list[int]
) -> dict[str, Any]:
    base = f"{request.base_url}/collections/{collection.id}"
    return {
        "id": collection.id,
        "title": collection.title,
        "description": collection.description,
        "itemType": "feature",
        "extent": _extent(session, collection),
        "crs": crs.offered(zones),
        "storageCrs": crs.STORAGE_CRS,
        "links": [
            core.link(base, "self", core.JSON, collection.title),
            core.link(f"{base}/items", "items", core.GEOJSON, f"{collection.title} as GeoJSON"),
        ],
    }


def collections(request: OgcRequest, session: Session) -> OgcResponse:
    """The list of collections with their extents and links."""
    core.check_params(request, ("f",))
    core.check_format(request)
    base = request.base_url
    zones = town_zones(session)
    body = {
        "links": [core.link(f"{base}/collections", "self", core.JSON, "collections")],
        "collections": [_collection_body(request, session, c, zones) for c in COLLECTIONS.values()],
        "crs": crs.offered(zones),
    }
    return OgcResponse(200, {"Content-Type": core.JSON}, body)


def collection(request: OgcRequest, session: Session, collection_id: str) -> OgcResponse:
    """One collection's description."""
    core.check_params(request, ("f",))
    core.check_format(request)
    collection = _get_collection(request, collection_id)
    body = _collection_body(request, session, collection, town_zones(session))
    return OgcResponse(200, {"Content-Type": core.JSON}, body)


def _filters(
    request: OgcRequest, collection: Collection, postgis: bool
) -> tuple[list[ColumnElement[bool]], Polygon | None]:
    """The SQL conditions, and the exact bbox area still to test in Python (SQLite, plane zone)."""
    model = collection.model
    conditions: list[ColumnElement[bool]] = []
    for name in collection.filters:
        raw = request.one(name)
        if raw is None:
            continue
        if name in _INT_FILTERS:
            try:
                value: object = int(raw)
            except ValueError:
                message = request.message("ogc_not_integer", name=name, value=raw)
                raise OgcError(400, "InvalidParameterValue", message) from None
        else:
            value = raw
        conditions.append(getattr(model, name) == value)
    area = crs.parse_bbox(request)
    refine: Polygon | None = None
    if area is not None:
        minx, miny, maxx, maxy = area.bounds
        overlaps = and_(
            model.maxx >= minx, model.minx <= maxx, model.maxy >= miny, model.miny <= maxy
        )
        conditions.append(overlaps)
        if postgis and area.exact is not None:
            shape = func.ST_GeomFromText(area.exact.wkt, 4326)
            conditions.append(func.ST_Intersects(model.geom, shape))
        elif postgis:
            envelope = func.ST_MakeEnvelope(minx, miny, maxx, maxy, 4326)
            conditions.append(func.ST_Intersects(model.geom, envelope))
        else:
            refine = area.exact
    interval = core.parse_datetime(request)
    if interval is not None and collection.temporal:
        start, end = interval
        if start is not None:
            conditions.append(Route.service_date >= start.date())
        if end is not None:
            conditions.append(Route.service_date <= end.date())
        conditions.append(Route.service_date.is_not(None))
    return conditions, refine


def _ids_inside(
    session: Session, collection: Collection, conditions: list[ColumnElement[bool]], area: Polygon
) -> list[int]:
    """Ids (in id order) of the rows whose geometry meets `area`: the exact test SQLite lacks,
    run on the rows the bounding-box conditions let through."""
    model = collection.model
    found = session.execute(
        select(model.id, model.geom).where(*conditions).order_by(model.id)
    ).all()
    if not found:
        return []
    shapely.prepare(area)
    geoms = np.array([geom for _, geom in found], dtype=object)
    inside = shapely.intersects(area, geoms)
    return [ident for (ident, _), keep in zip(found, inside, strict=True) if keep]


def _feature(request: OgcRequest, collection: Collection, row: Any, out_crs: str) -> dict[str, Any]:
    href = f"{request.base_url}/collections/{collection.id}/items/{row.id}"
    return {
        "type": "Feature",
        "id": row.id,
        "geometry": crs.output_geometry(row.geom, out_crs),
        "properties": collection.properties(row),
        "links": [
            core.link(href, "self", core.GEOJSON),
            core.link(f"{request.base_url}/collections/{collection.id}", "collection", core.JSON),
        ],
    }


def items(
    request: OgcRequest,
    session: Session,
    collection_id: str,
    *,
    default_limit: int = 100,
    max_limit: int = 10000,
) -> OgcResponse:
    """A page of features, filtered by bbox, datetime and the collection's own parameters."""
    collection = _get_collection(request, collection_id)
    core.check_params(request, _ITEMS_PARAMS + collection.filters)
    core.check_format(request)
    limit = core.parse_int(request, "limit", default=default_limit, minimum=1, maximum=max_limit)
    offset = core.parse_int(request, "offset", default=0, minimum=0)
    out_crs = crs.parse_crs(request, "crs")
    postgis = session.get_bind().dialect.name == "postgresql"
    conditions, refine = _filters(request, collection, postgis)
    model = collection.model
    query: Select[Any]
    if refine is None:
        matched = session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0
        query = select(model).where(*conditions).order_by(model.id).offset(offset).limit(limit)
    else:
        ids = _ids_inside(session, collection, conditions, refine)
        matched = len(ids)
        query = select(model).where(model.id.in_(ids[offset : offset + limit])).order_by(model.id)
    rows = session.scalars(query).all()
    features = [_feature(request, collection, row, out_crs) for row in rows]
    path = f"/collections/{collection.id}/items"
    links = core.page_links(
        request, path, offset=offset, limit=limit, returned=len(rows), matched=matched
    )
    links.append(
        core.link(f"{request.base_url}/collections/{collection.id}", "collection", core.JSON)
    )
    body = {
        "type": "FeatureCollection",
        "features": features,
        "links": links,
        "numberMatched": matched,
        "numberReturned": len(features),
        "timeStamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    headers = {"Content-Type": core.GEOJSON, "Content-Crs": f"<{out_crs}>"}
    return OgcResponse(200, headers, body)


def item(request: OgcRequest, session: Session, collection_id: str, feature_id: str) -> OgcResponse:
    """One feature by id."""
    collection = _get_collection(request, collection_id)
    core.check_params(request, ("f", "crs"))
    core.check_format(request)
    out_crs = crs.parse_crs(request, "crs")
    missing = OgcError(
        404,
        "NotFound",
        request.message("ogc_no_feature", feature=feature_id, collection=collection_id),
    )
    try:
        ident = int(feature_id)
    except ValueError:
        raise missing from None
    row = session.get(collection.model, ident)
    if row is None:
        raise missing
    body = _feature(request, collection, row, out_crs)
    body["links"].append(
        core.link(f"{request.base_url}/collections/{collection.id}/items", "items", core.GEOJSON)
    )
    return OgcResponse(200, {"Content-Type": core.GEOJSON, "Content-Crs": f"<{out_crs}>"}, body)
