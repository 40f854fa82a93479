"""The scenario TOML + files as an exchange format: store one from a folder or zip, write a
stored scenario back as one.

`import_scenario_source` stores what `gunmane demo --config` stores (municipalities with
boundaries and populations, one layer per source file, depots, road network, planning settings
from a `settings.toml` beside the scenario). `export_scenario` writes `scenario.toml`,
`boundaries.geojson`, one GeoJSON per asset layer, the road network file and `settings.toml`
into a zip; importing that zip again gives the same plans for the same seed.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import tempfile
import tomllib
import uuid
import zipfile
from pathlib import Path, PurePath
from typing import Any

import geopandas as gpd
from sqlalchemy.orm import Session

from gis_data.loading.schema import ASSET_CRS
from gis_data.planning.plan_settings import settings_from_mapping
from service import crud
from service.config import Settings
from service.frames import assets_frame
from service.importer import import_scenario
from service.models import Scenario
from service.uploads import check_zip

SCENARIO_FILE = "scenario.toml"
SETTINGS_FILE = "settings.toml"


class ExchangeError(ValueError):
    """A scenario folder or zip that cannot be imported, or a scenario that cannot be exported."""


# -- TOML writing (tomllib reads only) ------------------------------------------------------------

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else json.dumps(name, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ExchangeError(f"cannot write {value!r} to TOML")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise ExchangeError(f"cannot write a {type(value).__name__} to TOML")


def toml_text(data: dict[str, Any]) -> str:
    """A TOML document of ``data``: scalars first, then tables and arrays of tables (one level;
    deeper tables inline). None values are left out."""
    lines: list[str] = []
    tables: list[tuple[str, Any]] = []
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, dict) or (
            isinstance(value, list) and value and all(isinstance(v, dict) for v in value)
        ):
            tables.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in tables:
        for table in value if isinstance(value, list) else [value]:
            header = f"[[{_key(key)}]]" if isinstance(value, list) else f"[{_key(key)}]"
            lines.append("")
            lines.extend(table_lines(header, table))
    return "\n".join(lines) + "\n"


def table_lines(header: str, table: dict[str, Any]) -> list[str]:
    """A TOML table under ``header`` (given as written, e.g. ``[[municipality.source]]``)."""
    return [header] + [f"{_key(k)} = {_value(v)}" for k, v in table.items() if v is not None]


# -- import -----------------------------------------------------------------------------------


def _scenario_toml(folder: Path) -> Path:
    named = folder / SCENARIO_FILE
    if named.is_file():
        return named
    found = [p for p in sorted(folder.glob("*.toml")) if p.name != SETTINGS_FILE]
    if len(found) != 1:
        raise ExchangeError(
            f"{folder.name}: expected {SCENARIO_FILE} (or exactly one scenario TOML), found"
            f" {[p.name for p in found]}"
        )
    return found[0]


def import_scenario_source(*, session: Session, settings: Settings, source: Path) -> Scenario:
    """Store the scenario of a folder or zip (TOML + files); a zip is unpacked under the data
    folder (checked for unsafe paths and bombs) and kept there as the scenario's source."""
    if source.is_file() and source.suffix.lower() == ".zip":
        check_zip(
            source,
            max_unzipped_bytes=settings.max_unzipped_bytes,
            max_ratio=settings.MAX_ZIP_RATIO,
        )
        folder = settings.DATA_DIR / "scenarios" / uuid.uuid4().hex
        folder.mkdir(parents=True)
        with zipfile.ZipFile(source) as archive:
            archive.extractall(folder)
    elif source.is_dir():
        folder = source
    else:
        raise ExchangeError(f"{source.name}: give a scenario folder or a .zip of one")
    config = _scenario_toml(folder)
    planning: dict[str, Any] = {}
    settings_path = config.parent / SETTINGS_FILE
    if settings_path.is_file():
        planning = tomllib.loads(settings_path.read_text(encoding="utf-8"))
        settings_from_mapping(planning, where=SETTINGS_FILE)  # raises naming the bad key
    return import_scenario(
        session=session, config=config, data_dir=settings.DATA_DIR, settings=planning
    )


# -- export -----------------------------------------------------------------------------------


def _file_stem(name: str) -> str:
    stem = PurePath(name).name.split(".")[0]
    return re.sub(r"[^\w\-]+", "_", stem).strip("_") or "layer"


def _layer_frame(session: Session, scenario_id: int, layer_id: int) -> gpd.GeoDataFrame:
    frame = assets_frame(session, scenario_id, layer_id=layer_id)
    # Bookkeeping columns are made again by the loader from the new file.
    drop = [c for c in ("municipality_code", "municipality", "source_file", "source_row")
            if c in frame.columns]  # fmt: skip
    frame = frame.drop(columns=drop)
    empty = [c for c in frame.columns if c != "geometry" and frame[c].isna().all()]
    return gpd.GeoDataFrame(frame.drop(columns=empty), geometry="geometry", crs=ASSET_CRS)


def export_scenario(*, session: Session, scenario_id: int, out: Path) -> Path:
    """Write the stored scenario as a zip of `scenario.toml` and its files; returns ``out``."""
    scenario = crud.get_scenario(session=session, scenario_id=scenario_id)
    towns = crud.list_municipalities(session=session, scenario_id=scenario_id)
    if not towns:
        raise ExchangeError(f"scenario {scenario_id} has no municipalities")
    layers = crud.list_layers(session=session, scenario_id=scenario_id)
    depots = crud.list_depots(session=session, scenario_id=scenario_id)
    network = crud.get_network_source(session=session, scenario_id=scenario_id)
    planning = crud.get_planning_settings(session=session, scenario_id=scenario_id)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data: dict[str, Any] = {"name": scenario.name, "description": scenario.description}
        if network is not None:
            if network.source != "osm" or not network.file_path:
                raise ExchangeError(
                    f"scenario {scenario_id}: a network built from a road layer cannot be written"
                    " to a scenario TOML yet (only an OSM file)"
                )
            (folder / "network").mkdir()
            shutil.copyfile(network.file_path, folder / "network" / network.file_name)
            data["network"] = {
                "osm": f"network/{network.file_name}",
                "buffer_m": float(network.options.get("buffer_m", 1000.0)),
            }
        if all(t.geom is not None for t in towns):
            frame = gpd.GeoDataFrame(
                {"code": [t.code for t in towns], "name": [t.name for t in towns]},
                geometry=[t.geom for t in towns],
                crs=ASSET_CRS,
            )
            frame.to_file(folder / "boundaries.geojson", driver="GeoJSON")
            data["boundaries"] = {
                "file": "boundaries.geojson",
                "code_column": "code",
                "name_column": "name",
            }
        town_depot: dict[str, Any] = {}
        others = []
        for depot in depots:
            if depot.kind == "town" and depot.municipality_code not in town_depot:
                town_depot[depot.municipality_code] = depot
            else:
                others.append(depot)
        municipalities = []
        used: set[str] = set()
        (folder / "assets").mkdir()
        for town in towns:
            entry: dict[str, Any] = {
                "code": town.code,
                "name": town.name,
                "population": None if town.population is None else round(town.population),
                "population_year": town.population_year,
            }
            own = town_depot.get(town.code)
            if own is not None:
                entry["depot"] = {
                    "id": own.depot_id,
                    "name": own.name,
                    "lon": own.geom.x,
                    "lat": own.geom.y,
                }
            sources = []
            for layer in (la for la in layers if la.municipality_code == town.code):
                name = f"{_file_stem(layer.name)}.geojson"
                if f"{town.code}/{name}" in used:
                    name = f"{_file_stem(layer.name)}_{layer.id}.geojson"
                used.add(f"{town.code}/{name}")
                path = folder / "assets" / _file_stem(town.code) / name
                path.parent.mkdir(parents=True, exist_ok=True)
                _layer_frame(session, scenario_id, layer.id).to_file(path, driver="GeoJSON")
                sources.append({"file": path.relative_to(folder).as_posix()})
            municipalities.append((entry, sources))
        lines = [toml_text(data)]
        for entry, sources in municipalities:
            lines += ["", *table_lines("[[municipality]]", entry)]
            for source in sources:
                lines += ["", *table_lines("[[municipality.source]]", source)]
        for depot in others:
            yard = {
                "id": depot.depot_id,
                "name": depot.name,
                "kind": depot.kind,
                "lon": depot.geom.x,
                "lat": depot.geom.y,
                "municipality_code": depot.municipality_code or None,
            }
            lines += ["", *table_lines("[[depot]]", yard)]
        (folder / SCENARIO_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
        if planning:
            (folder / SETTINGS_FILE).write_text(toml_text(planning), encoding="utf-8")
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(folder).as_posix())
    return out
