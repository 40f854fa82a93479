"""Property-based loader tests: any file either loads valid or yields located problems, no crash.

Random GeoJSON feature collections (geometries valid, empty, null, degenerate, out of range,
self-intersecting, of unknown type; attributes of any type; any declared CRS) and random CSV
text or bytes go through `load_assets_from_file`. The contract: it returns assets in the
schema with no error, or an empty frame and error `Problem`s naming the file, a 1-based row
within the file (or none) and a field; an `AssetValidationError` is also allowed. Nothing else.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gis_data.loading.errors import AssetValidationError, Problem
from gis_data.loading.load import load_assets_from_file

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

finite_lon = st.floats(9.4, 9.7)
finite_lat = st.floats(47.0, 47.3)
any_number = st.one_of(
    st.floats(allow_nan=True, allow_infinity=False, width=32),
    st.integers(-(10**6), 10**6),
)
point = st.one_of(
    st.tuples(finite_lon, finite_lat),
    st.tuples(any_number, any_number),
).map(list)


def _bowtie(x: float, y: float) -> dict[str, Any]:
    ring = [[x, y], [x + 0.01, y + 0.01], [x + 0.01, y], [x, y + 0.01], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


geometry = st.one_of(
    st.none(),
    st.builds(lambda pts: {"type": "LineString", "coordinates": pts}, st.lists(point, max_size=4)),
    st.builds(lambda p: {"type": "Point", "coordinates": p}, point),
    st.just({"type": "Point", "coordinates": []}),
    st.builds(_bowtie, finite_lon, finite_lat),
    st.builds(
        lambda pts: {"type": "Polygon", "coordinates": [[*pts, pts[0]]] if pts else []},
        st.lists(point, max_size=4),
    ),
    st.just({"type": "Nonsense", "coordinates": [1, 2]}),
)
value = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.integers(-5, 10**4),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)
properties = st.fixed_dictionaries(
    {},
    optional={
        "asset_id": st.one_of(st.text(max_size=8), st.integers(0, 50), st.none()),
        "field": st.one_of(st.sampled_from(["road", "river", "park", "sewer", "other"]), value),
        "kind": value,
        "name": value,
        "patrol_interval_days": value,
        "service_minutes": value,
        "service_speed_kmh": value,
        "side": st.one_of(st.sampled_from(["both", "one"]), value),
    },
)
feature = st.builds(
    lambda g, p: {"type": "Feature", "properties": p, "geometry": g}, geometry, properties
)
declared_crs = st.sampled_from(
    [None, "EPSG:4326", "EPSG:6677", "EPSG:2056", "urn:ogc:def:crs:OGC:1.3:CRS84"]
)
option_crs = st.sampled_from([None, "EPSG:4326", "EPSG:6677", "nonsense", "EPSG:999999"])


def _check(path: Path, label: str, **options: Any) -> None:
    try:
        assets, problems = load_assets_from_file(
            path, municipality_code="LI-7009", municipality="Planken", label=label, **options
        )
    except AssetValidationError as exc:
        problems, assets = exc.problems, None
        assert any(p.severity == "error" for p in problems)
    for p in problems:
        assert isinstance(p, Problem)
        assert p.file == label
        assert p.message
        assert p.feature is None or isinstance(p.feature, int | str)
        if isinstance(p.feature, int):
            assert p.feature >= 1
        assert p.field is None or isinstance(p.field, str)
    if any(p.severity == "error" for p in problems):
        assert assets is None or assets.empty
        return
    assert assets is not None
    if assets.empty:
        return
    ids = assets["asset_id"].astype(str)
    assert ids.is_unique
    geoms = assets.geometry.to_numpy()
    assert not shapely.is_empty(geoms).any()
    assert shapely.is_valid(geoms).all()
    bounds = shapely.bounds(geoms)
    assert np.isfinite(bounds).all()
    assert (np.abs(bounds[:, [0, 2]]) <= 180).all()
    assert (np.abs(bounds[:, [1, 3]]) <= 90).all()
    assert set(assets["field"]) <= {"road", "river", "park", "sewer", "other"}
    intervals = assets["patrol_interval_days"].dropna()
    assert all(math.isfinite(v) and v > 0 for v in intervals)


@SETTINGS
@given(features=st.lists(feature, max_size=5), crs=declared_crs, configured=option_crs)
def test_random_geojson_loads_valid_or_reports_located_problems(
    features: list[dict[str, Any]], crs: str | None, configured: str | None
) -> None:
    """Random feature collections: valid assets, or problems naming file, feature and field."""
    doc: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if crs is not None:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "random.geojson"
        path.write_text(json.dumps(doc), encoding="utf-8")
        _check(path, "random.geojson", crs=configured)


csv_cell = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=10),
    st.floats(allow_nan=True).map(str),
    st.integers(-1000, 1000).map(str),
)


@SETTINGS
@given(
    rows=st.lists(st.lists(csv_cell, min_size=5, max_size=5), max_size=5),
    encoding=st.sampled_from(["utf-8", "cp932", "latin-1"]),
    declared=st.sampled_from([None, "utf-8", "cp932"]),
)
def test_random_csv_text_in_any_encoding(
    rows: list[list[str]], encoding: str, declared: str | None
) -> None:
    """CSV rows of random text, written in one encoding and read as another: no crash."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["asset_id", "field", "kind", "lon", "lat"])
    writer.writerows(rows)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "random.csv"
        path.write_bytes(buffer.getvalue().encode(encoding, errors="replace"))
        _check(path, "random.csv", lon="lon", lat="lat", encoding=declared)


@SETTINGS
@given(
    content=st.binary(max_size=400),
    suffix=st.sampled_from([".geojson", ".csv", ".gpkg", ".zip"]),
)
def test_random_bytes_in_any_format(content: bytes, suffix: str) -> None:
    """Arbitrary bytes under any supported extension: problems, never another exception."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"random{suffix}"
        path.write_bytes(content)
        options = {"lon": "lon", "lat": "lat"} if suffix == ".csv" else {}
        _check(path, path.name, **options)
