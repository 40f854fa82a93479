"""Route exports: GeoJSON, GPX 1.1 (track + waypoints) and KML, each carrying the OSM attribution.

Routes are written as *tracks* (GPX ``trk/trkseg``, KML ``LineString``), not as routes to be
re-planned, so navigation apps follow the planned roads exactly. Node visits (parks, structures,
bank walks) become waypoints. Coordinates are written with 7 decimals (about 1 cm).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import gpxpy
import gpxpy.gpx

from gis_data.network.adapters import PatrolRoute

ATTRIBUTION = "© OpenStreetMap contributors"
ATTRIBUTION_URL = "https://www.openstreetmap.org/copyright"
KML_NS = "http://www.opengis.net/kml/2.2"
_DIGITS = 7


def _r(value: float) -> float:
    return round(float(value), _DIGITS)


def _route_properties(route: PatrolRoute) -> dict[str, Any]:
    return {
        "crew": route.crew + 1,
        "depot_id": route.depot_id,
        "depot": route.depot_name,
        "tasks": len(route.tasks),
        "km": round(route.km, 3),
        "serve_km": round(route.serve_m / 1000.0, 3),
        "deadhead_km": round(route.deadhead_m / 1000.0, 3),
        "serve_s": route.serve_s,
        "deadhead_s": route.deadhead_s,
        "total_s": route.total_s,
        "asset_ids": list(route.asset_ids),
        "attribution": ATTRIBUTION,
    }


def routes_to_geojson(
    routes: Sequence[PatrolRoute], *, name: str = "patrol routes"
) -> dict[str, Any]:
    """A FeatureCollection: one LineString per route, one Point per node visit."""
    features: list[dict[str, Any]] = []
    for route in routes:
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[_r(x), _r(y)] for x, y in route.geometry.coords],
                },
                "properties": {"kind": "route", **_route_properties(route)},
            }
        )
        for label, (x, y), asset_ids in route.waypoints():
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [_r(x), _r(y)]},
                    "properties": {
                        "kind": "visit",
                        "crew": route.crew + 1,
                        "name": label,
                        "asset_ids": list(asset_ids),
                        "attribution": ATTRIBUTION,
                    },
                }
            )
    return {
        "type": "FeatureCollection",
        "name": name,
        "attribution": f"{ATTRIBUTION} ({ATTRIBUTION_URL})",
        "features": features,
    }


@dataclass(frozen=True)
class ExportWords:
    """The words of GPX/KML names and descriptions (English by default; pages pass Japanese).

    ``stop`` names a node visit that has no name of its own (never its internal task id).
    """

    crew: str = "crew"
    start_from: str = "from {depot}"
    summary: str = "{tasks} tasks, {km:.1f} km, {hours:.2f} h"
    stop: str = "stop"
    description: str = "Patrol routes planned by gunmane. Map data {attribution}, {url}"

    def about(self) -> str:
        """The file's description: who planned it and the map data's attribution."""
        return self.description.format(attribution=ATTRIBUTION, url=ATTRIBUTION_URL)

    def track(self, route: PatrolRoute) -> str:
        """The name of a route's track: its crew and depot."""
        return f"{self.crew} {route.crew + 1} " + self.start_from.format(depot=route.depot_name)

    def totals(self, route: PatrolRoute) -> str:
        """A route's tasks, km and hours."""
        return self.summary.format(tasks=len(route.tasks), km=route.km, hours=route.total_s / 3600)


ENGLISH: Final = ExportWords()


def routes_to_gpx(
    routes: Sequence[PatrolRoute], *, name: str = "patrol routes", words: ExportWords = ENGLISH
) -> str:
    """GPX 1.1 text: one track (one segment) per route, waypoints for node visits."""
    gpx = gpxpy.gpx.GPX()
    gpx.name = name
    gpx.description = words.about()
    gpx.creator = "gunmane"
    gpx.author_name = "gunmane"
    gpx.copyright_author = "OpenStreetMap contributors"
    gpx.copyright_license = ATTRIBUTION_URL
    gpx.copyright_year = str(datetime.now(UTC).year)
    for route in routes:
        track = gpxpy.gpx.GPXTrack(
            name=words.track(route),
            description=f"{words.totals(route)}; {ATTRIBUTION}",
        )
        segment = gpxpy.gpx.GPXTrackSegment()
        segment.points.extend(
            gpxpy.gpx.GPXTrackPoint(latitude=_r(y), longitude=_r(x))
            for x, y in route.geometry.coords
        )
        track.segments.append(segment)
        gpx.tracks.append(track)
        for label, (x, y), asset_ids in route.waypoints():
            gpx.waypoints.append(
                gpxpy.gpx.GPXWaypoint(
                    latitude=_r(y),
                    longitude=_r(x),
                    name=label or words.stop,
                    description=f"{words.crew} {route.crew + 1}: " + ", ".join(asset_ids),
                )
            )
    return gpx.to_xml(version="1.1")


def routes_to_kml(
    routes: Sequence[PatrolRoute], *, name: str = "patrol routes", words: ExportWords = ENGLISH
) -> str:
    """KML 2.2 text: a Placemark with a LineString per route and a Point per node visit."""
    ET.register_namespace("", KML_NS)
    root = ET.Element(f"{{{KML_NS}}}kml")
    doc = ET.SubElement(root, f"{{{KML_NS}}}Document")
    ET.SubElement(doc, f"{{{KML_NS}}}name").text = name
    ET.SubElement(doc, f"{{{KML_NS}}}description").text = words.about()
    for route in routes:
        mark = ET.SubElement(doc, f"{{{KML_NS}}}Placemark")
        ET.SubElement(mark, f"{{{KML_NS}}}name").text = f"{words.crew} {route.crew + 1}"
        ET.SubElement(mark, f"{{{KML_NS}}}description").text = (
            f"{route.depot_name}: {words.totals(route)}. "
            f"{route.total_s / 3600:.2f} h. {ATTRIBUTION}"
        )
        line = ET.SubElement(mark, f"{{{KML_NS}}}LineString")
        ET.SubElement(line, f"{{{KML_NS}}}tessellate").text = "1"
        ET.SubElement(line, f"{{{KML_NS}}}coordinates").text = " ".join(
            f"{_r(x)},{_r(y)}" for x, y in route.geometry.coords
        )
        for label, (x, y), asset_ids in route.waypoints():
            point_mark = ET.SubElement(doc, f"{{{KML_NS}}}Placemark")
            ET.SubElement(point_mark, f"{{{KML_NS}}}name").text = label or words.stop
            ET.SubElement(
                point_mark, f"{{{KML_NS}}}description"
            ).text = f"{words.crew} {route.crew + 1}: {', '.join(asset_ids)}. {ATTRIBUTION}"
            point = ET.SubElement(point_mark, f"{{{KML_NS}}}Point")
            ET.SubElement(point, f"{{{KML_NS}}}coordinates").text = f"{_r(x)},{_r(y)}"
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def export_routes(
    routes: Sequence[PatrolRoute],
    out_dir: str | Path,
    *,
    stem: str,
    name: str | None = None,
    words: ExportWords = ENGLISH,
) -> list[Path]:
    """Write ``stem``.geojson, .gpx and .kml with all routes, plus one GPX per crew; GPX/KML
    names and descriptions in ``words`` (the CLI passes the planner's language)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    title = name or stem
    written = [out / f"{stem}.geojson", out / f"{stem}.gpx", out / f"{stem}.kml"]
    written[0].write_text(
        json.dumps(routes_to_geojson(routes, name=title), ensure_ascii=False), encoding="utf-8"
    )
    written[1].write_text(routes_to_gpx(routes, name=title, words=words), encoding="utf-8")
    written[2].write_text(routes_to_kml(routes, name=title, words=words), encoding="utf-8")
    for route in routes:
        crew_path = out / f"{stem}_crew{route.crew + 1}.gpx"
        crew_path.write_text(
            routes_to_gpx([route], name=f"{title}, {words.crew} {route.crew + 1}", words=words),
            encoding="utf-8",
        )
        written.append(crew_path)
    return written
