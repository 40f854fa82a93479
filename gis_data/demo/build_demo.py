"""Build the demo data in gis_data/demo from ../shared/data/liechtenstein (deterministic output).

Run as ``python -m gis_data.demo.build_demo [--shared DIR]``. Each municipality's assets are
written in a different format, as real towns deliver them, to exercise every loader:

- Vaduz: GeoJSON, EPSG:4326, schema column names;
- Schaan: GeoPackage, EPSG:2056 (CH1903+/LV95), layers roads / rivers / parks, German column names;
- Triesen: zipped Shapefiles in EPSG:2056 with a cp932 (Shift-JIS) .dbf, no .cpg, Japanese column
  names (路線名, 延長, 種別, 分野 ...), mapped in the scenario TOML;
- Triesenberg: CSV with WKT (roads and rivers), and a CSV of parks as lat/lon points;
- the other 7 municipalities alternate GeoJSON and GeoPackage.

Assets: roads are the drivable OSM ways clipped to each municipality (one asset per clipped
piece, ``road_class`` = OSM highway); river banks are the waterways (river, stream, canal as
``river_bank``; drain and ditch as ``drain``) clipped the same way; parks come from parks.geojson.
Town depots are an assumption: the road point nearest the length-weighted centre of the
municipality's densest 500 m grid cell of road (a stand-in for the town hall's works yard).
Contractor yards are fictitious points on roads in industrial areas.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from gis_data.loading.errors import Problem
from gis_data.loading.sources import ReadOptions, osm

DEMO = Path(__file__).resolve().parent
SHARED_DEFAULT = DEMO.parents[2] / "shared" / "data" / "liechtenstein"
METRIC = "EPSG:2056"
PRECISION = 7  # decimal places of lon/lat written (about 1 cm)
FIXED_DATE = (2015, 7, 27, 0, 0, 0)  # the OSM extract's date, for reproducible zips and dbf headers


@dataclass(frozen=True)
class Town:
    """A municipality of the demo: code, name, output format, approximate population."""

    code: str
    name: str
    fmt: str
    population: int


# Populations: approximate official figures (Amt für Statistik Liechtenstein, end of 2022),
# rounded to tens. Good enough for cost sharing in a demo; not an authoritative source.
TOWNS = (
    Town("LI-7001", "Vaduz", "geojson", 5750),
    Town("LI-7002", "Triesen", "shapefile_zip", 5280),
    Town("LI-7003", "Balzers", "gpkg", 4700),
    Town("LI-7004", "Triesenberg", "csv", 2650),
    Town("LI-7005", "Schaan", "gpkg_de", 6170),
    Town("LI-7006", "Planken", "geojson", 480),
    Town("LI-7007", "Eschen", "gpkg", 4560),
    Town("LI-7008", "Mauren", "geojson", 4470),
    Town("LI-7009", "Gamprin", "gpkg", 1750),
    Town("LI-7010", "Ruggell", "geojson", 2490),
    Town("LI-7011", "Schellenberg", "gpkg", 1130),
)
FOUR_TOWNS = ("LI-7001", "LI-7005", "LI-7002", "LI-7004")

# Fictitious contractor yards: the road point nearest each of these lon/lat positions.
YARDS = (
    ("yard-schaan", "Schaan industrial area contractor yard", (9.5035, 47.1640), True),
    ("yard-triesen", "Triesen contractor yard", (9.5160, 47.1010), True),
    ("yard-eschen", "Eschen-Nendeln contractor yard", (9.5420, 47.2010), False),
)
WATERWAY_KIND = {
    "river": "river_bank",
    "stream": "river_bank",
    "canal": "river_bank",
    "drain": "drain",
    "ditch": "drain",
}
PARK_KIND = {
    "leisure=park": "park",
    "leisure=playground": "playground",
    "leisure=recreation_ground": "recreation_ground",
    "landuse=recreation_ground": "recreation_ground",
}


def _round(geoms: np.ndarray) -> np.ndarray:
    return shapely.set_precision(geoms, 10.0**-PRECISION, mode="pointwise")


def _pieces(lines: gpd.GeoDataFrame, boundary: shapely.Geometry) -> gpd.GeoDataFrame:
    """Lines clipped to a polygon, one row per resulting line piece (order kept)."""
    candidates = lines.iloc[lines.sindex.query(boundary, predicate="intersects")].sort_index()
    clipped = shapely.intersection(candidates.geometry.to_numpy(), boundary)
    out = candidates.set_geometry(clipped).explode(index_parts=False)
    out = out[out.geometry.geom_type == "LineString"]
    out = out[shapely.length(out.geometry.to_numpy()) > 0]
    return out.reset_index(drop=True)


def _depot_point(roads: gpd.GeoDataFrame) -> shapely.Point:
    """The road point nearest the length-weighted centre of the densest 500 m cell of road."""
    metric = roads.geometry.to_crs(METRIC).to_numpy()
    mids = shapely.line_interpolate_point(metric, 0.5, normalized=True)
    x, y = shapely.get_x(mids), shapely.get_y(mids)
    weight = shapely.length(metric)
    cells = pd.DataFrame(
        {"cx": np.floor(x / 500), "cy": np.floor(y / 500), "w": weight, "x": x, "y": y}
    )
    best = cells.groupby(["cx", "cy"])["w"].sum().sort_index().idxmax()
    inside = cells[(cells.cx == best[0]) & (cells.cy == best[1])]
    centre = shapely.Point(
        np.average(inside.x, weights=inside.w), np.average(inside.y, weights=inside.w)
    )
    nearest = int(np.argmin(shapely.distance(metric, centre)))
    on_road = shapely.line_interpolate_point(
        metric[nearest], shapely.line_locate_point(metric[nearest], centre)
    )
    return gpd.GeoSeries([on_road], crs=METRIC).to_crs(4326).iloc[0]


def _nearest_road_point(roads: gpd.GeoDataFrame, lon: float, lat: float) -> shapely.Point:
    metric = roads.geometry.to_crs(METRIC).to_numpy()
    target = gpd.GeoSeries([shapely.Point(lon, lat)], crs=4326).to_crs(METRIC).iloc[0]
    nearest = int(np.argmin(shapely.distance(metric, target)))
    point = shapely.line_interpolate_point(
        metric[nearest], shapely.line_locate_point(metric[nearest], target)
    )
    return gpd.GeoSeries([point], crs=METRIC).to_crs(4326).iloc[0]


def _assets_for(
    town: Town,
    boundary: shapely.Geometry,
    roads: gpd.GeoDataFrame,
    water: gpd.GeoDataFrame,
    parks: gpd.GeoDataFrame,
) -> dict[str, gpd.GeoDataFrame]:
    short = town.code.removeprefix("LI-")
    r = _pieces(roads, boundary)
    road_table = gpd.GeoDataFrame(
        {
            "asset_id": [f"{town.code}-R{i + 1:04d}" for i in range(len(r))],
            "field": "road",
            "kind": "road_segment",
            "name": r["name"],
            "road_class": r["road_class"],
            "ref": r["ref"],
            "oneway": r["oneway"],
            "maxspeed": r["maxspeed"],
            "osm_id": r["osm_id"].astype("int64"),
        },
        geometry=_round(r.geometry.to_numpy()),
        crs=4326,
    )
    w = _pieces(water, boundary)
    river_table = gpd.GeoDataFrame(
        {
            "asset_id": [f"{town.code}-W{i + 1:04d}" for i in range(len(w))],
            "field": "river",
            "kind": w["kind"].map(WATERWAY_KIND),
            "name": w["name"],
            "waterway": w["kind"],
            "osm_id": w["osm_id"].astype("int64"),
        },
        geometry=_round(w.geometry.to_numpy()),
        crs=4326,
    )
    p = parks[parks["muni_id"] == town.code].sort_values("park_id").reset_index(drop=True)
    park_table = gpd.GeoDataFrame(
        {
            "asset_id": [f"{town.code}-P{i + 1:04d}" for i in range(len(p))],
            "field": "park",
            "kind": p["kind"].map(PARK_KIND),
            "name": p["name"],
            "area_m2": p["area_m2"],
            "osm_id": p["osm_id"].astype("int64"),
        },
        geometry=_round(p.geometry.to_numpy()),
        crs=4326,
    )
    del short
    return {"roads": road_table, "rivers": river_table, "parks": park_table}


def _write_geojson(path: Path, layers: dict[str, gpd.GeoDataFrame]) -> None:
    frames = [f for f in layers.values() if not f.empty]
    table = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=4326)
    pyogrio.write_dataframe(
        table, path, driver="GeoJSON", COORDINATE_PRECISION=PRECISION, RFC7946="YES"
    )


def _write_gpkg(path: Path, layers: dict[str, gpd.GeoDataFrame], *, german: bool) -> None:
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2015-07-27T00:00:00.000Z"})
    if path.exists():
        path.unlink()
    for name, frame in layers.items():
        if frame.empty:
            continue
        out = frame.drop(columns=["field"]).to_crs(METRIC)
        if german:
            out = out.rename(
                columns={"asset_id": "objekt_id", "name": "bezeichnung", "kind": "art"}
            )
        pyogrio.write_dataframe(out, path, layer=name, driver="GPKG", append=path.exists())


def _to_cp932(value: object) -> object:
    # Shift-JIS has no umlauts: spell them the Swiss way (ä -> ae) so names survive the encoding.
    if not isinstance(value, str):
        return value
    for src, dst in (
        ("ä", "ae"),
        ("ö", "oe"),
        ("ü", "ue"),
        ("Ä", "Ae"),
        ("Ö", "Oe"),
        ("Ü", "Ue"),
        ("ß", "ss"),
    ):
        value = value.replace(src, dst)
    return value.encode("cp932", errors="replace").decode("cp932")


def _fix_dbf_date(data: bytes) -> bytes:
    # The .dbf header's bytes 1-3 hold the write date (YY-1900, MM, DD): pin it for reproducibility.
    return data[:1] + bytes([FIXED_DATE[0] - 1900, FIXED_DATE[1], FIXED_DATE[2]]) + data[4:]


def _write_shapefile_zip(path: Path, layers: dict[str, gpd.GeoDataFrame]) -> None:
    renames = {
        "roads": {
            "asset_id": "ID",
            "field": "分野",
            "name": "路線名",
            "road_class": "種別",
            "length_m": "延長",
        },
        "rivers": {
            "asset_id": "ID",
            "field": "分野",
            "name": "河川名",
            "kind": "種別",
            "waterway": "水路",
        },
        "parks": {
            "asset_id": "ID",
            "field": "分野",
            "name": "公園名",
            "kind": "種別",
            "area_m2": "面積",
        },
    }
    japanese_field = {"road": "道路", "river": "河川", "park": "公園"}
    with (
        tempfile.TemporaryDirectory() as tmp,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive,
    ):
        for name, frame in layers.items():
            if frame.empty:
                continue
            out = frame.to_crs(METRIC)
            out["field"] = out["field"].map(japanese_field)
            out["name"] = out["name"].map(_to_cp932)
            if name == "roads":
                out["length_m"] = np.round(shapely.length(out.geometry.to_numpy()), 1)
                out = out[["asset_id", "field", "name", "road_class", "length_m", "geometry"]]
            elif name == "rivers":
                out = out[["asset_id", "field", "name", "kind", "waterway", "geometry"]]
            else:
                out = out[["asset_id", "field", "name", "kind", "area_m2", "geometry"]]
            out = out.rename(columns=renames[name])
            shp = Path(tmp) / f"{name}.shp"
            pyogrio.write_dataframe(out, shp, driver="ESRI Shapefile", encoding="cp932")
            for ext in ("shp", "shx", "dbf", "prj"):  # no .cpg: the scenario gives the encoding
                data = (Path(tmp) / f"{name}.{ext}").read_bytes()
                if ext == "dbf":
                    data = _fix_dbf_date(data)
                info = zipfile.ZipInfo(f"{name}.{ext}", date_time=FIXED_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, data)


def _write_csvs(lines_path: Path, parks_path: Path, layers: dict[str, gpd.GeoDataFrame]) -> None:
    lines = pd.concat([layers["roads"], layers["rivers"]], ignore_index=True)
    table = pd.DataFrame(lines.drop(columns="geometry"))
    table["wkt"] = shapely.to_wkt(
        lines.geometry.to_numpy(), rounding_precision=PRECISION, trim=True
    )
    table.to_csv(lines_path, index=False, lineterminator="\n")
    parks = layers["parks"]
    points = shapely.point_on_surface(parks.geometry.to_numpy())
    park_table = pd.DataFrame(parks.drop(columns="geometry"))
    park_table["lat"] = np.round(shapely.get_y(points), PRECISION)
    park_table["lon"] = np.round(shapely.get_x(points), PRECISION)
    park_table.to_csv(parks_path, index=False, lineterminator="\n")


def _sources_toml(
    town: Town, files: dict[str, str], layers: dict[str, gpd.GeoDataFrame]
) -> list[str]:
    """The [[municipality.source]] tables for one town's files."""
    out: list[str] = []
    if town.fmt == "geojson":
        out += ["[[municipality.source]]", f'file = "{files["main"]}"', ""]
    elif town.fmt in ("gpkg", "gpkg_de"):
        for layer, field in (("roads", "road"), ("rivers", "river"), ("parks", "park")):
            if layers[layer].empty:
                continue
            out += [
                "[[municipality.source]]",
                f'file = "{files["main"]}"',
                f'layer = "{layer}"',
                f'field = "{field}"',
            ]
            if town.fmt == "gpkg_de":
                out += [
                    'columns = { "objekt_id" = "asset_id", "bezeichnung" = "name", "art" = "kind" }'
                ]
            out.append("")
    elif town.fmt == "shapefile_zip":
        mapping = {
            "roads": '{ "ID" = "asset_id", "分野" = "field", "路線名" = "name", '
            '"種別" = "road_class", "延長" = "length_m" }',
            "rivers": '{ "ID" = "asset_id", "分野" = "field", "河川名" = "name", '
            '"種別" = "kind", "水路" = "waterway" }',
            "parks": '{ "ID" = "asset_id", "分野" = "field", "公園名" = "name", '
            '"種別" = "kind", "面積" = "area_m2" }',
        }
        for layer in ("roads", "rivers", "parks"):
            if layers[layer].empty:
                continue
            out += [
                "[[municipality.source]]",
                f'file = "{files["main"]}"',
                f'layer = "{layer}"',
                'encoding = "cp932"  # no .cpg in the zip',
            ]
            if layer == "roads":
                out.append('kind = "road_segment"')
            out += [f"columns = {mapping[layer]}", ""]
    else:
        out += [
            "[[municipality.source]]",
            f'file = "{files["main"]}"',
            'wkt = "wkt"',
            'crs = "EPSG:4326"  # WKT carries no CRS',
            "",
        ]
        if not layers["parks"].empty:
            out += [
                "[[municipality.source]]",
                f'file = "{files["parks"]}"',
                'lon = "lon"',
                'lat = "lat"',
                "defaults = { service_minutes = 30 }  # parks given as points: on-site time",
                "",
            ]
    return out


def _toml(
    name: str,
    description: str,
    towns: list[Town],
    depots: dict[str, shapely.Point],
    yards: list[tuple[str, str, shapely.Point, str]],
    sources: dict[str, list[str]],
) -> str:
    lines = [
        "# Generated by `python -m gis_data.demo.build_demo`; edit the script, not this file.",
        "# Data © OpenStreetMap contributors (ODbL 1.0), see SOURCES.md.",
        "# Populations: approximate official figures for end of 2022, rounded to tens.",
        "# Town depots: an assumed works yard on a road in the densest part of each town.",
        "# Contractor yards: fictitious.",
        f'name = "{name}"',
        f'description = "{description}"',
        "",
        "[network]",
        'osm = "roads_drive.osm.bz2"',
        "buffer_m = 1000",
        "",
        "[boundaries]",
        'file = "municipalities.geojson"',
        'code_column = "muni_id"',
        'name_column = "name"',
        "",
    ]
    for town in towns:
        point = depots[town.code]
        lines += [
            "[[municipality]]",
            f'code = "{town.code}"',
            f'name = "{town.name}"',
            f"population = {town.population}",
            "population_year = 2022",
            f'depot = {{ name = "{town.name} town depot", '
            f"lon = {point.x:.6f}, lat = {point.y:.6f} }}",
            "",
            *sources[town.code],
        ]
    for yard_id, yard_name, point, code in yards:
        lines += [
            "[[depot]]",
            f'id = "{yard_id}"',
            f'name = "{yard_name}"',
            'kind = "contractor"',
            f"lon = {point.x:.6f}",
            f"lat = {point.y:.6f}",
            f'municipality_code = "{code}"',
            "",
        ]
    return "\n".join(lines)


def build(shared: Path, out: Path) -> list[Path]:
    """Write every demo file into ``out``; returns the paths written."""
    munis = (
        gpd.read_file(shared / "municipalities.geojson")
        .sort_values("muni_id")
        .reset_index(drop=True)
    )
    roads, problems = osm.read(shared / "roads_drive.osm.bz2", "roads_drive.osm.bz2", ReadOptions())
    if any(isinstance(p, Problem) and p.severity == "error" for p in problems):
        raise SystemExit(f"cannot read the OSM roads: {problems}")
    water = (
        gpd.read_file(shared / "waterways.geojson")
        .sort_values("waterway_id")
        .reset_index(drop=True)
    )
    parks = gpd.read_file(shared / "parks.geojson")
    written: list[Path] = []
    for name in ("municipalities.geojson", "roads_drive.osm.bz2"):
        shutil.copyfile(shared / name, out / name)
        written.append(out / name)
    boundary_of = dict(zip(munis["muni_id"], munis.geometry, strict=True))
    depots: dict[str, shapely.Point] = {}
    sources: dict[str, list[str]] = {}
    town_roads = []
    for town in TOWNS:
        layers = _assets_for(town, boundary_of[town.code], roads, water, parks)
        town_roads.append(layers["roads"])
        depots[town.code] = _depot_point(layers["roads"])
        slug = town.name.lower()
        files: dict[str, str] = {}
        if town.fmt == "geojson":
            files["main"] = f"{slug}.geojson"
            _write_geojson(out / files["main"], layers)
        elif town.fmt in ("gpkg", "gpkg_de"):
            files["main"] = f"{slug}.gpkg"
            _write_gpkg(out / files["main"], layers, german=town.fmt == "gpkg_de")
        elif town.fmt == "shapefile_zip":
            files["main"] = f"{slug}_shp.zip"
            _write_shapefile_zip(out / files["main"], layers)
        else:
            files["main"] = f"{slug}_lines.csv"
            files["parks"] = f"{slug}_parks.csv"
            _write_csvs(out / files["main"], out / files["parks"], layers)
        written += [out / f for f in files.values()]
        sources[town.code] = _sources_toml(town, files, layers)
    all_roads = gpd.GeoDataFrame(pd.concat(town_roads, ignore_index=True), crs=4326)
    yards = []
    for yard_id, yard_name, (lon, lat), in_four in YARDS:
        point = _nearest_road_point(all_roads, lon, lat)
        code = str(munis.loc[munis.contains(point), "muni_id"].iloc[0])
        yards.append((yard_id, yard_name, point, code, in_four))
    four = [t for code in FOUR_TOWNS for t in TOWNS if t.code == code]
    configs = {
        "four_towns.toml": (
            "Four towns of Liechtenstein",
            "Vaduz, Schaan, Triesen and Triesenberg, each delivering its assets in its own format.",
            four,
            [y[:4] for y in yards if y[4]],
        ),
        "liechtenstein.toml": (
            "Liechtenstein",
            "All 11 municipalities of Liechtenstein.",
            list(TOWNS),
            [y[:4] for y in yards],
        ),
    }
    for file_name, (name, description, towns, chosen_yards) in configs.items():
        (out / file_name).write_text(
            _toml(name, description, towns, depots, chosen_yards, sources), encoding="utf-8"
        )
        written.append(out / file_name)
    return written


def main(argv: list[str] | None = None) -> int:
    """Build the demo files and print their sizes and checksums."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--shared", type=Path, default=SHARED_DEFAULT, help="the shared Liechtenstein data folder"
    )
    parser.add_argument(
        "--out", type=Path, default=DEMO, help="output folder (default: gis_data/demo)"
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    total = 0
    for path in build(args.shared, args.out):
        data = path.read_bytes()
        total += len(data)
        digest = hashlib.sha256(data).hexdigest()[:16]
        print(f"{path.name:32s} {len(data):>9,d} B  sha256 {digest}")  # noqa: T201 (script output)
    print(f"{'total':32s} {total:>9,d} B")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
