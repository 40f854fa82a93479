"""A scenario's depots from a GeoJSON FeatureCollection: town yards and contractor yards.

Each feature is a Point (EPSG:4326 longitude, latitude) with `name`, `kind` (`town` or
`contractor`) and `municipality_code` (required for a town yard); an `id` property or feature id
names it. Every bad feature is reported at once and nothing is replaced then.
"""

from __future__ import annotations

import math
from typing import Any

import shapely
from sqlalchemy.orm import Session

from gis_data.loading.errors import Problem
from service import crud
from service.errors import ServiceError

DEPOT_KINDS = ("town", "contractor")
LABEL = "depots"

# The request body as OpenAPI shows it (the body is parsed by hand to report every feature).
DEPOTS_BODY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {
        "type": {"const": "FeatureCollection"},
        "features": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "geometry", "properties"],
                "properties": {
                    "type": {"const": "Feature"},
                    "id": {"type": ["string", "integer"]},
                    "geometry": {
                        "type": "object",
                        "properties": {
                            "type": {"const": "Point"},
                            "coordinates": {
                                "type": "array",
                                "items": {"type": "number"},
                                "minItems": 2,
                                "maxItems": 3,
                            },
                        },
                    },
                    "properties": {
                        "type": "object",
                        "required": ["name", "kind"],
                        "properties": {
                            "id": {"type": "string"},
                            "name": {"type": "string", "minLength": 1},
                            "kind": {"enum": list(DEPOT_KINDS)},
                            "municipality_code": {"type": "string"},
                        },
                    },
                },
            },
        },
    },
}


def _point(geometry: Any, n: int, problems: list[Problem]) -> shapely.Point | None:
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        kind = geometry.get("type") if isinstance(geometry, dict) else geometry
        problems.append(Problem(LABEL, n, "geometry", f"must be a Point, got {kind!r}"))
        return None
    coords = geometry.get("coordinates")
    if (
        not isinstance(coords, list)
        or len(coords) not in (2, 3)
        or not all(isinstance(c, int | float) and math.isfinite(c) for c in coords)
    ):
        problems.append(Problem(LABEL, n, "geometry", f"bad coordinates {coords!r}"))
        return None
    lon, lat = float(coords[0]), float(coords[1])
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        problems.append(
            Problem(LABEL, n, "geometry", f"({lon}, {lat}) is not a longitude, latitude pair")
        )
        return None
    return shapely.Point(lon, lat)


def parse_depots(body: Any, codes: set[str]) -> tuple[list[dict[str, Any]], list[Problem]]:
    """`crud.add_depot` arguments per feature, and every problem (feature numbers from 1)."""
    problems: list[Problem] = []
    if not isinstance(body, dict) or body.get("type") != "FeatureCollection":
        return [], [Problem(LABEL, None, "type", "the body must be a GeoJSON FeatureCollection")]
    features = body.get("features")
    if not isinstance(features, list):
        return [], [Problem(LABEL, None, "features", "features must be a list")]
    depots: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for n, feature in enumerate(features, start=1):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            problems.append(Problem(LABEL, n, "type", "not a GeoJSON Feature"))
            continue
        props = feature.get("properties")
        if not isinstance(props, dict):
            problems.append(Problem(LABEL, n, "properties", "properties must be an object"))
            props = {}
        point = _point(feature.get("geometry"), n, problems)
        name = props.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.append(Problem(LABEL, n, "name", "a depot needs a name"))
        kind = props.get("kind")
        if kind not in DEPOT_KINDS:
            problems.append(Problem(LABEL, n, "kind", f"must be town or contractor, got {kind!r}"))
        code = props.get("municipality_code")
        code = None if code in (None, "") else str(code)
        if code is None and kind == "town":
            problems.append(Problem(LABEL, n, "municipality_code", "a town depot needs its town"))
        elif code is not None and code not in codes:
            problems.append(
                Problem(
                    LABEL,
                    n,
                    "municipality_code",
                    f"{code!r} is not a municipality of the scenario ({', '.join(sorted(codes))})",
                )
            )
        depot_id = str(props.get("id") or feature.get("id") or f"depot-{n}")
        if depot_id in seen:
            problems.append(
                Problem(
                    LABEL, n, "id", f"depot id {depot_id!r} is used by feature {seen[depot_id]}"
                )
            )
        seen.setdefault(depot_id, n)
        if point is not None:
            extra = {k: v for k, v in props.items() if k not in ("id", "name", "kind")}
            depots.append(
                {
                    "depot_id": depot_id,
                    "name": str(name or "").strip(),
                    "kind": str(kind),
                    "municipality_code": code or "",
                    "properties": {**extra, "kind": kind},
                    "geom": point,
                }
            )
    if not features:
        problems.append(Problem(LABEL, None, "features", "the collection holds no depot"))
    return depots, problems


def store_depots(*, session: Session, scenario_id: int, body: Any) -> list[Any]:
    """Replace the scenario's depots with the collection's, or 422 listing every bad feature."""
    crud.get_scenario(session=session, scenario_id=scenario_id)
    codes = {m.code for m in crud.list_municipalities(session=session, scenario_id=scenario_id)}
    depots, problems = parse_depots(body, codes)
    if problems:
        raise ServiceError(
            422,
            "invalid-depots",
            f"the depots have {len(problems)} problem(s)",
            details=[p.to_dict() for p in problems],
        )
    stored = crud.replace_depots(session=session, scenario_id=scenario_id, depots=depots)
    crud.touch_scenario(session=session, scenario_id=scenario_id)
    return stored


def depot_feature(depot: Any) -> dict[str, Any]:
    """A stored depot as a GeoJSON Feature."""
    return {
        "type": "Feature",
        "id": depot.depot_id,
        "geometry": {"type": "Point", "coordinates": [depot.geom.x, depot.geom.y]},
        "properties": {
            "id": depot.depot_id,
            "name": depot.name,
            "kind": depot.kind,
            "municipality_code": depot.municipality_code or None,
        },
    }
