"""CRSs of the OGC API (Features Part 2): URIs offered, axis order, `crs` and `bbox-crs`."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

import shapely
from pyproj import Transformer
from shapely.geometry import Polygon, box, mapping
from shapely.geometry.base import BaseGeometry

from gis_data.loading.crs import PLANE_ZONE_EPSG
from service.i18n import Lang, t
from service.ogc.core import OgcError, OgcRequest

CRS84: Final = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
_EPSG_URI: Final = "http://www.opengis.net/def/crs/EPSG/0/"
EPSG4326: Final = f"{_EPSG_URI}4326"
JGD2011: Final = f"{_EPSG_URI}6668"
PLANE_ZONES: Final = tuple(f"{_EPSG_URI}{code}" for code in PLANE_ZONE_EPSG.values())
# The storage CRS is CRS84 (lon, lat): what the database holds, served without a transform.
STORAGE_CRS: Final = CRS84
SUPPORTED_CRS: Final = (CRS84, EPSG4326, JGD2011, *PLANE_ZONES)
_EPSG_CODES: Final = {
    f"{_EPSG_URI}{code}": code for code in (4326, 6668, *PLANE_ZONE_EPSG.values())
}

# A side of a plane-zone bbox is cut into this many pieces before it goes to lon/lat, where a
# straight grid line is a slight curve: the polygon then follows it to well under a centimetre.
_DENSIFY_PIECES: Final = 64


def offered(first_zones: Iterable[int] = ()) -> list[str]:
    """Every CRS URI offered: CRS84, EPSG:4326, JGD2011, then the 19 plane zones with
    `first_zones` (the zones of the stored towns) ahead of the others."""
    zones = [z for z in dict.fromkeys(first_zones) if z in PLANE_ZONE_EPSG]
    zones += [z for z in PLANE_ZONE_EPSG if z not in zones]
    return [CRS84, EPSG4326, JGD2011, *(f"{_EPSG_URI}{PLANE_ZONE_EPSG[z]}" for z in zones)]


def normalise(value: str) -> str | None:
    """The canonical URI of a CRS written as a URI, `EPSG:6677`, `[EPSG:6677]` or an OGC URN;
    None when it is not one of the offered CRSs."""
    text = value.strip().strip("[]").strip()
    upper = text.upper()
    if upper in ("CRS84", "OGC:CRS84", "URN:OGC:DEF:CRS:OGC:1.3:CRS84"):
        return CRS84
    code = ""
    if upper.startswith("EPSG:"):
        code = text[5:]
    elif upper.startswith("URN:OGC:DEF:CRS:EPSG:"):
        code = text.rsplit(":", 1)[-1]
    elif text.startswith("https://"):
        text = "http://" + text[len("https://") :]
    candidate = f"{_EPSG_URI}{code.strip()}" if code else text.rstrip("/")
    return candidate if candidate in SUPPORTED_CRS else None


def unsupported(name: str, raw: str, lang: Lang, supported: list[str] | None = None) -> OgcError:
    """400 naming the parameter and its value and listing every CRS URI it may take."""
    values = supported if supported is not None else offered()
    message = t("ogc_crs_unsupported", lang)
    return OgcError(
        400,
        "InvalidParameterValue",
        message.format(name=name, value=raw, values=", ".join(values)),
        details={"parameter": name, "supported": values},
    )


def parse_crs(request: OgcRequest, name: str) -> str:
    """A CRS parameter (`crs`, `bbox-crs`) as its URI; CRS84 when absent; 400 when not offered."""
    raw = request.one(name)
    if raw is None:
        return CRS84
    value = normalise(raw)
    if value is None:
        raise unsupported(name, raw, request.lang)
    return value


def north_first(crs: str) -> bool:
    """True when the CRS's first axis points north: EPSG:4326 and JGD2011 are latitude first and
    the plane zones are X (northing) first, as EPSG defines them; only CRS84 is east first."""
    return crs != CRS84


@lru_cache(maxsize=32)
def _from_storage(crs: str) -> Transformer:
    # Authority axis order on output (lat, lon or X north, Y east): what Part 2 asks for.
    return Transformer.from_crs("OGC:CRS84", f"EPSG:{_EPSG_CODES[crs]}")


@lru_cache(maxsize=32)
def _plane_to_storage(crs: str) -> Transformer:
    # always_xy: (easting, northing) in, (lon, lat) out; bbox parsing swaps the axes itself.
    return Transformer.from_crs(f"EPSG:{_EPSG_CODES[crs]}", "OGC:CRS84", always_xy=True)


def output_geometry(geom: BaseGeometry | None, crs: str) -> dict[str, Any] | None:
    """A stored (CRS84) geometry as GeoJSON coordinates in `crs`, in that CRS's axis order."""
    if geom is None:
        return None
    if crs != STORAGE_CRS:
        geom = shapely.transform(geom, _from_storage(crs).transform, interleaved=False)
    return dict(mapping(geom))


@dataclass(frozen=True)
class BboxArea:
    """A `bbox` in the storage CRS: its bounds, and the exact area when that is not the box
    itself (a plane-zone rectangle is a slightly turned, curved quadrilateral in lon/lat)."""

    bounds: tuple[float, float, float, float]
    exact: Polygon | None = None


def _bbox_numbers(request: OgcRequest, raw: str) -> list[float]:
    try:
        numbers = [float(part) for part in raw.split(",")]
    except ValueError:
        message = request.message("ogc_bbox_not_numbers", bbox=raw)
        raise OgcError(400, "InvalidParameterValue", message) from None
    if len(numbers) == 6:  # minx, miny, minz, maxx, maxy, maxz: heights are ignored
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
        raise OgcError(400, "InvalidParameterValue", request.message("ogc_bbox_count", bbox=raw))
    return numbers


def _plane_area(request: OgcRequest, raw: str, crs: str, numbers: list[float]) -> BboxArea:
    min_e, min_n, max_e, max_n = numbers
    if min_e > max_e or min_n > max_n:
        message = request.message("ogc_bbox_corners", bbox=raw)
        raise OgcError(400, "InvalidParameterValue", message)
    rect = box(min_e, min_n, max_e, max_n)
    step = max(max_e - min_e, max_n - min_n, 1.0) / _DENSIFY_PIECES
    lonlat = shapely.transform(
        shapely.segmentize(rect, step), _plane_to_storage(crs).transform, interleaved=False
    )
    minx, miny, maxx, maxy = lonlat.bounds
    coords_ok = all(math.isfinite(v) for v in lonlat.bounds)
    if not coords_ok or not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        message = request.message("ogc_bbox_outside_crs", bbox=raw, crs=crs)
        raise OgcError(400, "InvalidParameterValue", message)
    exact = lonlat if isinstance(lonlat, Polygon) else None
    return BboxArea((minx, miny, maxx, maxy), exact)


def parse_bbox(request: OgcRequest) -> BboxArea | None:
    """`bbox` (in the axis order of `bbox-crs`, CRS84 when absent) as an area in CRS84."""
    raw = request.one("bbox")
    crs = parse_crs(request, "bbox-crs")
    if raw is None:
        if request.one("bbox-crs") is not None:
            message = request.message("ogc_bbox_crs_alone")
            raise OgcError(400, "InvalidParameterValue", message)
        return None
    numbers = _bbox_numbers(request, raw)
    if north_first(crs):
        numbers = [numbers[1], numbers[0], numbers[3], numbers[2]]
    if crs in PLANE_ZONES:
        return _plane_area(request, raw, crs, numbers)
    minx, miny, maxx, maxy = numbers
    if miny > maxy or not (-90 <= miny <= 90 and -90 <= maxy <= 90):
        message = request.message("ogc_bbox_latitudes", bbox=raw)
        raise OgcError(400, "InvalidParameterValue", message)
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180):
        message = request.message("ogc_bbox_longitudes", bbox=raw)
        raise OgcError(400, "InvalidParameterValue", message)
    return BboxArea((minx, miny, maxx, maxy))
