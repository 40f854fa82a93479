"""The CRSs of the OGC API without HTTP: URI forms, axis order, bbox-crs areas, refusals."""

from __future__ import annotations

import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import Point, box

from service.ogc import crs
from service.ogc.core import OgcError, OgcRequest

ZONE_VIII = "http://www.opengis.net/def/crs/EPSG/0/6676"


def _request(lang: str = "ja", **query: str) -> OgcRequest:
    return OgcRequest(
        base_url="http://h/ogc",
        openapi_url="http://h/ogc/api",
        docs_url="http://h/docs",
        query={k.replace("_", "-"): [v] for k, v in query.items()},
        lang=lang,
    )


def test_bbox_parsing_and_axis_order() -> None:
    """bbox is lon/lat in CRS84 and lat/lon when bbox-crs is EPSG 4326 or JGD2011."""
    assert crs.parse_bbox(_request(bbox="138.9,34.6,139.0,34.7")) == crs.BboxArea(
        (138.9, 34.6, 139.0, 34.7)
    )
    flipped = crs.parse_bbox(_request(bbox="34.6,138.9,34.7,139.0", bbox_crs=crs.JGD2011))
    assert flipped is not None
    assert flipped.bounds == (138.9, 34.6, 139.0, 34.7)
    assert flipped.exact is None
    six = crs.parse_bbox(_request(bbox="1,2,0,3,4,9"))
    assert six is not None
    assert six.bounds == (1, 2, 3, 4)
    for bad in ("1,2,3", "a,b,c,d", "0,50,1,40", "0,0,200,1"):
        with pytest.raises(OgcError) as info:
            crs.parse_bbox(_request(bbox=bad))
        assert info.value.status == 400
    assert crs.parse_bbox(_request()) is None


def test_every_plane_zone_is_offered_with_the_towns_zones_first() -> None:
    """CRS84, 4326 and 6668 lead; all 19 zones (6669-6687) follow once, given zones first."""
    plain = crs.offered()
    assert plain[:3] == [crs.CRS84, crs.EPSG4326, crs.JGD2011]
    assert plain[3:] == [f"http://www.opengis.net/def/crs/EPSG/0/{c}" for c in range(6669, 6688)]
    towns_first = crs.offered([8, 9, 8, 42])
    assert towns_first[3:5] == [ZONE_VIII, "http://www.opengis.net/def/crs/EPSG/0/6677"]
    assert sorted(towns_first) == sorted(plain)
    assert crs.STORAGE_CRS in plain


def test_crs_forms_and_refusal() -> None:
    """URI, https URI, EPSG:n, [EPSG:n] and the OGC URN name the same zone; anything else is
    400 naming the parameter, in Japanese or English, with every supported URI listed."""
    for form in (
        ZONE_VIII,
        ZONE_VIII.replace("http://", "https://"),
        "EPSG:6676",
        "[EPSG:6676]",
        "urn:ogc:def:crs:EPSG::6676",
    ):
        assert crs.parse_crs(_request(crs=form), "crs") == ZONE_VIII, form
    assert crs.parse_crs(_request(), "crs") == crs.CRS84
    for bad in ("EPSG:3857", "http://www.opengis.net/def/crs/EPSG/0/2451", "EPSG:6688", "6677"):
        with pytest.raises(OgcError) as info:
            crs.parse_crs(_request(bbox_crs=bad), "bbox-crs")
        error = info.value
        assert error.status == 400
        assert f"bbox-crs={bad}" in error.description
        assert "には対応していません" in error.description
        assert error.details["parameter"] == "bbox-crs"
        assert error.details["supported"] == crs.offered()
        assert all(uri in error.description for uri in crs.SUPPORTED_CRS)
    with pytest.raises(OgcError) as english:
        crs.parse_crs(_request(lang="en", crs="EPSG:3857"), "crs")
    assert english.value.description.startswith("crs=EPSG:3857 is not supported; use one of: ")
    assert english.value.response().body["supported"] == crs.offered()


def test_output_in_a_plane_zone_is_northing_first() -> None:
    """下田公園 in zone VIII: the coordinates pyproj gives from JGD2011, X (north) then Y (east);
    south of the zone origin (36°N) X is negative, east of 138°30'E Y is positive."""
    park = Point(138.9480, 34.6700)
    out = crs.output_geometry(park, ZONE_VIII)
    assert out is not None
    expected = Transformer.from_crs("EPSG:6668", "EPSG:6676").transform(34.6700, 138.9480)
    assert out["coordinates"] == pytest.approx(expected, abs=1e-6)
    x_north, y_east = out["coordinates"]
    assert -150_000 < x_north < -145_000
    assert 40_000 < y_east < 42_000
    stored = crs.output_geometry(park, crs.CRS84)
    assert stored == {"type": "Point", "coordinates": (138.948, 34.67)}
    assert crs.output_geometry(None, ZONE_VIII) is None


def test_plane_bbox_is_the_turned_rectangle_in_lon_lat() -> None:
    """A zone VIII bbox (X north, Y east) becomes the lon/lat polygon of that rectangle: its
    corners convert back to the given metres, and its envelope is wider than the rectangle."""
    area = crs.parse_bbox(_request(bbox="-150000,35000,-140000,45000", bbox_crs="EPSG:6676"))
    assert area is not None
    assert area.exact is not None
    back = Transformer.from_crs("OGC:CRS84", "EPSG:6676", always_xy=True)
    metres = shapely.transform(area.exact, back.transform, interleaved=False)
    rect = box(35000, -150000, 45000, -140000)  # easting, northing
    assert metres.symmetric_difference(rect).area < 1.0  # m², on a 100 km² box
    assert box(*area.bounds).area > area.exact.area
    with pytest.raises(OgcError):  # the corners swapped
        crs.parse_bbox(_request(bbox="-140000,35000,-150000,45000", bbox_crs="EPSG:6676"))
    with pytest.raises(OgcError) as far:
        crs.parse_bbox(_request(lang="en", bbox="0,0,1e12,1e12", bbox_crs="EPSG:6676"))
    assert "does not convert" in far.value.description
