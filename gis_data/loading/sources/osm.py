"""OSM XML/PBF reader (pyosmium): each drivable way becomes a road_segment with its road_class.

The drive filter is the osmnx 2.x ``network_type="drive"`` filter written as a predicate on
way tags (see ``shared/data/SOURCES.md``), so assets and the osmnx road network agree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import osmium
import shapely

from gis_data.loading.errors import Problem
from gis_data.loading.sources import ReadOptions, SourceError

_EXCLUDED = {
    "highway": re.compile(
        r"abandoned|bridleway|bus_guideway|construction|corridor|cycleway|elevator|escalator|"
        r"footway|no|path|pedestrian|planned|platform|proposed|raceway|razed|service|steps|track"
    ),
    "area": re.compile(r"yes"),
    "access": re.compile(r"private"),
    "motor_vehicle": re.compile(r"no"),
    "motorcar": re.compile(r"no"),
    "service": re.compile(r"alley|driveway|emergency_access|parking|parking_aisle|private"),
}
# Way tags kept as asset columns (road_class is the highway value).
KEPT_TAGS = ("name", "ref", "oneway", "maxspeed", "lanes", "bridge", "tunnel", "surface")


def is_drivable(tags: Mapping[str, str]) -> bool:
    """The osmnx "drive" filter: a highway way that is not excluded by any of its tags.

    Like osmnx's Overpass regex filters, a pattern excludes a way when it matches anywhere
    in the tag value.
    """
    if "highway" not in tags:
        return False
    return not any(key in tags and pattern.search(tags[key]) for key, pattern in _EXCLUDED.items())


def read(path: Path, label: str, options: ReadOptions) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Read the drivable ways of an OSM file as lines in EPSG:4326."""
    rows: list[dict[str, object]] = []
    geoms: list[shapely.Geometry] = []
    problems: list[Problem] = []
    try:
        processor = (
            osmium.FileProcessor(str(path))
            .with_locations()
            .with_filter(osmium.filter.KeyFilter("highway"))
        )
        for obj in processor:
            if not isinstance(obj, osmium.osm.Way):
                continue
            tags = {t.k: t.v for t in obj.tags}
            if not is_drivable(tags):
                continue
            try:
                coords = [(n.lon, n.lat) for n in obj.nodes]
            except osmium.InvalidLocationError:
                msg = f"way {obj.id} refers to nodes missing from the file; way skipped"
                problems.append(Problem(label, f"way {obj.id}", "geometry", msg, "warning"))
                continue
            if len(coords) < 2:
                msg = f"way {obj.id} has fewer than 2 nodes; way skipped"
                problems.append(Problem(label, f"way {obj.id}", "geometry", msg, "warning"))
                continue
            row: dict[str, object] = {"osm_id": int(obj.id), "road_class": tags["highway"]}
            row.update({tag: tags.get(tag) for tag in KEPT_TAGS})
            rows.append(row)
            geoms.append(shapely.LineString(coords))
    except RuntimeError as exc:
        raise SourceError(f"cannot read the OSM file: {exc}") from exc
    columns = ["osm_id", "road_class", *KEPT_TAGS]
    frame = gpd.GeoDataFrame(rows, columns=columns, geometry=geoms, crs="EPSG:4326")
    if frame.empty:
        problems.append(Problem(label, None, None, "no drivable ways in the OSM file", "warning"))
    return frame, problems
