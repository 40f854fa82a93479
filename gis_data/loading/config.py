"""The scenario config (TOML): municipalities, asset files, CRS, column mappings, depots, network.

A scenario file looks like this (paths are relative to the TOML file)::

    name = "Four towns"
    metric_crs = "EPSG:32632"          # optional; chosen from the area when absent
    outside_tolerance_m = 2000         # optional; how far an asset may lie outside its town

    [network]
    osm = "roads_drive.osm.bz2"        # OSM XML (.osm, .osm.bz2) or PBF for the road network
    buffer_m = 1000

    [boundaries]                       # one polygon per municipality
    file = "municipalities.geojson"
    code_column = "muni_id"
    name_column = "name"
    population_column = "pop"          # optional

    [[municipality]]
    code = "LI-7001"
    name = "Vaduz"                     # optional when the boundaries give it
    population = 5750                  # optional (approximate official figure)
    depot = { name = "Vaduz town depot", lon = 9.52, lat = 47.14 }   # optional

    [[municipality.source]]
    file = "vaduz.geojson"
    format = "geojson"                 # optional; from the extension otherwise
    field = "road"                     # default field where no column gives it
    kind = "road_segment"              # default kind where no column gives it
    crs = "EPSG:2056"                  # where the file has none (else overrides it, warning)
    encoding = "cp932"                 # attribute table encoding (Shapefile .dbf, CSV)
    layer = "roads"                    # GeoPackage layer, or .shp name inside a zip
    wkt = "wkt"                        # CSV: the WKT column, or:
    lon = "lon"                        # CSV: longitude and latitude columns (EPSG:4326 by default)
    lat = "lat"
    clip = false                       # clip geometries to the municipality boundary
    defaults = { patrol_interval_days = 7, side = "both" }
    columns = { "路線名" = "name", "ID" = "asset_id" }   # source column -> schema column

    [[depot]]                          # contractor yards shared by the scenario
    id = "yard-1"
    name = "Contractor yard"
    kind = "contractor"
    lon = 9.51
    lat = 47.17
    municipality_code = "LI-7005"      # optional

    [road_classes]                     # optional; gis_data.planning.road_classes
    column = "道路種別"                 # the road assets' class column (default "road_class")
    classes = { "1級" = "arterial_road", "2級" = "arterial_road" }   # value -> patrol class
    speeds_kmh = { "1級" = 15, "その他" = 8 }                        # value -> patrol speed

Without ``[road_classes]`` the default table applies (1級 arterial: every 2 working days; 2級,
その他 local: every 5; OSM highway values as before) to the ``road_class`` column, or to a column
found holding 1級/2級/その他 values, with a warning saying so.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import Any

from gis_data.loading.errors import ConfigError
from gis_data.loading.schema import FIELD_ALIASES, FIELDS, MAPPABLE_COLUMNS, NUMERIC_COLUMNS, SIDES

FORMATS = ("geojson", "gpkg", "shapefile_zip", "csv", "osm")

_TOP_KEYS = {
    "name",
    "description",
    "metric_crs",
    "outside_tolerance_m",
    "network",
    "boundaries",
    "municipality",
    "depot",
    "notes",
    "road_classes",
}
_SOURCE_KEYS = {
    "file",
    "format",
    "field",
    "kind",
    "crs",
    "encoding",
    "layer",
    "wkt",
    "lon",
    "lat",
    "delimiter",
    "clip",
    "defaults",
    "columns",
}
_MUNICIPALITY_KEYS = {"code", "name", "population", "population_year", "depot", "source"}
_DEPOT_KEYS = {"id", "name", "kind", "lon", "lat", "municipality_code"}
_BOUNDARY_KEYS = {
    "file",
    "format",
    "layer",
    "crs",
    "encoding",
    "code_column",
    "name_column",
    "population_column",
}


@dataclass(frozen=True)
class SourceConfig:
    """One asset file of one municipality and how to read it."""

    file: Path
    label: str
    format: str
    field: str | None = None
    kind: str | None = None
    crs: str | None = None
    encoding: str | None = None
    layer: str | None = None
    wkt: str | None = None
    lon: str | None = None
    lat: str | None = None
    delimiter: str = ","
    clip: bool = False
    defaults: dict[str, Any] = dc_field(default_factory=dict)
    columns: dict[str, str] = dc_field(default_factory=dict)


@dataclass(frozen=True)
class DepotConfig:
    """A depot point: a town's own depot or a contractor's yard."""

    depot_id: str
    name: str
    kind: str
    lon: float
    lat: float
    municipality_code: str | None = None


@dataclass(frozen=True)
class MunicipalityConfig:
    """A municipality of the scenario with its population, depot and asset files."""

    code: str
    name: str | None
    population: int | None
    depot: DepotConfig | None
    sources: tuple[SourceConfig, ...]


@dataclass(frozen=True)
class BoundariesConfig:
    """The file of municipality polygons and the columns holding code, name and population."""

    file: Path
    label: str
    format: str
    code_column: str
    name_column: str | None = None
    population_column: str | None = None
    layer: str | None = None
    crs: str | None = None
    encoding: str | None = None


@dataclass(frozen=True)
class ScenarioConfig:
    """A parsed scenario TOML (paths resolved against the TOML's folder)."""

    path: Path
    name: str
    description: str
    municipalities: tuple[MunicipalityConfig, ...]
    boundaries: BoundariesConfig | None
    depots: tuple[DepotConfig, ...]
    network_osm: Path | None
    network_buffer_m: float
    metric_crs: str | None
    outside_tolerance_m: float
    # The [road_classes] table as written (checked); None: the defaults.
    road_classes: dict[str, Any] | None = None


def detect_format(path: Path) -> str | None:
    """The source format implied by a file name, or None when unknown."""
    name = path.name.lower()
    if name.endswith((".geojson", ".json")):
        return "geojson"
    if name.endswith(".gpkg"):
        return "gpkg"
    if name.endswith((".zip", ".shp")):
        return "shapefile_zip"
    if name.endswith((".csv", ".tsv", ".txt")):
        return "csv"
    if name.endswith((".osm", ".osm.bz2", ".osm.gz", ".pbf", ".osm.pbf")):
        return "osm"
    return None


class _Reader:
    """Typed access to a TOML table that names the file and key path in every error."""

    def __init__(self, file: str, table: dict[str, Any], where: str) -> None:
        self.file = file
        self.table = table
        self.where = where

    def key(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def fail(self, name: str, message: str) -> ConfigError:
        return ConfigError(self.file, self.key(name), message)

    def check_keys(self, allowed: set[str]) -> None:
        unknown = sorted(set(self.table) - allowed)
        if unknown:
            raise self.fail(unknown[0], f"unknown key; allowed keys are {sorted(allowed)}")

    def str_(self, name: str, *, required: bool = False) -> str | None:
        value = self.table.get(name)
        if value is None:
            if required:
                raise self.fail(name, "is required")
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(name, f"must be a non-empty string, got {value!r}")
        return value

    def number(self, name: str, default: float | None = None) -> float | None:
        value = self.table.get(name, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(name, f"must be a number, got {value!r}")
        return float(value)

    def sub(self, name: str) -> dict[str, Any]:
        value = self.table.get(name, {})
        if not isinstance(value, dict):
            raise self.fail(name, f"must be a table, got {value!r}")
        return value

    def tables(self, name: str) -> list[dict[str, Any]]:
        value = self.table.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(name, f"must be an array of tables ([[{name}]])")
        return value


def _path(base: Path, reader: _Reader, name: str) -> tuple[Path, str]:
    label = reader.str_(name, required=True)
    assert label is not None
    path = Path(label)
    return (path if path.is_absolute() else base / path), label


def _parse_source(base: Path, reader: _Reader) -> SourceConfig:
    reader.check_keys(_SOURCE_KEYS)
    path, label = _path(base, reader, "file")
    fmt = reader.str_("format") or detect_format(path)
    if fmt not in FORMATS:
        raise reader.fail("format", f"unknown format {fmt!r} for {label}; use one of {FORMATS}")
    field_value = reader.str_("field")
    if field_value is not None:
        field_value = FIELD_ALIASES.get(field_value, field_value)
    if field_value is not None and field_value not in FIELDS:
        raise reader.fail("field", f"unknown field {field_value!r}; fields are {FIELDS}")
    columns = reader.sub("columns")
    for source_column, target in columns.items():
        if not isinstance(target, str) or not target.strip():
            raise reader.fail(
                f"columns.{source_column}", f"must map to a column name, got {target!r}"
            )
    defaults = reader.sub("defaults")
    for key, value in defaults.items():
        if key in NUMERIC_COLUMNS:
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise reader.fail(f"defaults.{key}", f"must be a number >= 0, got {value!r}")
        elif key == "side":
            if value not in SIDES:
                raise reader.fail("defaults.side", f"must be one of {SIDES}, got {value!r}")
        elif key not in MAPPABLE_COLUMNS:
            raise reader.fail(
                f"defaults.{key}", f"unknown default; allowed: {(*NUMERIC_COLUMNS, 'side')}"
            )
    clip = reader.table.get("clip", False)
    if not isinstance(clip, bool):
        raise reader.fail("clip", f"must be true or false, got {clip!r}")
    return SourceConfig(
        file=path,
        label=label,
        format=fmt,
        field=field_value,
        kind=reader.str_("kind"),
        crs=reader.str_("crs"),
        encoding=reader.str_("encoding"),
        layer=reader.str_("layer"),
        wkt=reader.str_("wkt"),
        lon=reader.str_("lon"),
        lat=reader.str_("lat"),
        delimiter=reader.str_("delimiter") or ",",
        clip=clip,
        defaults=dict(defaults),
        columns={str(k): str(v) for k, v in columns.items()},
    )


def _parse_depot(reader: _Reader, *, default_id: str, default_kind: str) -> DepotConfig:
    reader.check_keys(_DEPOT_KEYS)
    kind = reader.str_("kind") or default_kind
    if kind not in ("town", "contractor"):
        raise reader.fail("kind", f"must be 'town' or 'contractor', got {kind!r}")
    lon = reader.number("lon")
    lat = reader.number("lat")
    if lon is None or lat is None:
        raise reader.fail("lon" if lon is None else "lat", "is required (EPSG:4326 degrees)")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise reader.fail("lon", f"({lon}, {lat}) is not a lon/lat position in EPSG:4326")
    depot_id = reader.str_("id") or default_id
    return DepotConfig(
        depot_id=depot_id,
        name=reader.str_("name") or depot_id,
        kind=kind,
        lon=lon,
        lat=lat,
        municipality_code=reader.str_("municipality_code"),
    )


def parse_config(data: dict[str, Any], path: Path) -> ScenarioConfig:
    """Check and convert a TOML document already parsed into a dict."""
    file = str(path)
    base = path.parent
    top = _Reader(file, data, "")
    top.check_keys(_TOP_KEYS)

    network = _Reader(file, top.sub("network"), "network")
    network.check_keys({"osm", "buffer_m"})
    network_osm = _path(base, network, "osm")[0] if "osm" in network.table else None
    buffer_m = network.number("buffer_m", 1000.0)
    assert buffer_m is not None
    if buffer_m < 0:
        raise network.fail("buffer_m", f"must be >= 0, got {buffer_m}")

    boundaries = None
    if "boundaries" in data:
        b = _Reader(file, top.sub("boundaries"), "boundaries")
        b.check_keys(_BOUNDARY_KEYS)
        b_path, b_label = _path(base, b, "file")
        b_format = b.str_("format") or detect_format(b_path)
        if b_format not in ("geojson", "gpkg", "shapefile_zip"):
            raise b.fail(
                "format", f"boundaries must be GeoJSON, GeoPackage or Shapefile, got {b_format!r}"
            )
        code_column = b.str_("code_column", required=True)
        assert code_column is not None
        boundaries = BoundariesConfig(
            file=b_path,
            label=b_label,
            format=b_format,
            code_column=code_column,
            name_column=b.str_("name_column"),
            population_column=b.str_("population_column"),
            layer=b.str_("layer"),
            crs=b.str_("crs"),
            encoding=b.str_("encoding"),
        )

    municipalities = []
    seen_codes: set[str] = set()
    for i, table in enumerate(top.tables("municipality")):
        m = _Reader(file, table, f"municipality[{i}]")
        m.check_keys(_MUNICIPALITY_KEYS)
        code = m.str_("code", required=True)
        assert code is not None
        if code in seen_codes:
            raise m.fail("code", f"municipality code {code!r} is listed twice")
        seen_codes.add(code)
        population = m.table.get("population")
        if population is not None and (
            isinstance(population, bool) or not isinstance(population, int) or population < 0
        ):
            raise m.fail("population", f"must be a whole number >= 0, got {population!r}")
        depot = None
        if "depot" in table:
            depot_reader = _Reader(file, m.sub("depot"), m.key("depot"))
            depot = _parse_depot(depot_reader, default_id=f"depot-{code}", default_kind="town")
            depot = DepotConfig(
                depot.depot_id, depot.name, "town", depot.lon, depot.lat, municipality_code=code
            )
        sources = tuple(
            _parse_source(base, _Reader(file, s, m.key(f"source[{j}]")))
            for j, s in enumerate(m.tables("source"))
        )
        municipalities.append(
            MunicipalityConfig(
                code=code,
                name=m.str_("name"),
                population=population,
                depot=depot,
                sources=sources,
            )
        )
    if not municipalities and boundaries is None:
        raise top.fail("municipality", "the scenario lists no municipality and no [boundaries]")

    depots = tuple(
        _parse_depot(
            _Reader(file, d, f"depot[{i}]"), default_id=f"yard-{i + 1}", default_kind="contractor"
        )
        for i, d in enumerate(top.tables("depot"))
    )
    tolerance = top.number("outside_tolerance_m", 2000.0)
    assert tolerance is not None
    road_classes = None
    if "road_classes" in data:
        from gis_data.planning.road_classes import RoadClassSetting

        road_classes = top.sub("road_classes")
        try:
            RoadClassSetting.from_mapping(road_classes)
        except (TypeError, ValueError) as exc:
            raise top.fail("road_classes", str(exc)) from None
    return ScenarioConfig(
        path=path,
        name=top.str_("name") or path.stem,
        description=top.str_("description") or "",
        municipalities=tuple(municipalities),
        boundaries=boundaries,
        depots=depots,
        network_osm=network_osm,
        network_buffer_m=buffer_m,
        metric_crs=top.str_("metric_crs"),
        outside_tolerance_m=tolerance,
        road_classes=road_classes,
    )


def read_config(path: str | Path) -> ScenarioConfig:
    """Read and check a scenario TOML; raises ConfigError naming the file and the key."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            str(path), None, f"cannot read the scenario file: {exc.strerror}"
        ) from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), None, f"the scenario file is not UTF-8: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), None, f"invalid TOML: {exc}") from exc
    return parse_config(data, path.resolve())
