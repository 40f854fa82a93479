"""A scenario's road network: an OSM XML/PBF file and/or the town's own road layer, stored so
that every job rebuilds the same graph.

`PUT /scenarios/{id}/network` builds the network before anything is stored: a build that fails
leaves the previous network in place. The OSM file is kept once per content (sha256) under the
data folder; its server path is never shown.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path
from typing import IO, Any

import geopandas as gpd
import networkx as nx
import shapely
from sqlalchemy.orm import Session

from gis_data.loading.config import detect_format
from gis_data.loading.load import scenario_from_tables
from gis_data.network.graph import NetworkError, RoadNetwork, network_for_scenario
from service import crud
from service.config import Settings
from service.errors import ServiceError
from service.frames import assets_frame
from service.stored_scenario import depots_frame, municipalities_frame
from service.uploads import receive_file, safe_name, upload_workdir

DEFAULT_BUFFER_M = 1000.0


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _speeds(raw: str | None) -> dict[str, float] | None:
    if raw is None or raw == "":
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, int | float) and 0 < v <= 200 for k, v in value.items()
    ):
        raise ServiceError(
            422,
            "invalid-speed-kmh",
            'speed_kmh must be a JSON object of road class to km/h, e.g. {"1級": 40}',
        )
    return {k: float(v) for k, v in value.items()}


def cut_off_parts(network: RoadNetwork, assets: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    """Streets cut off from the largest strongly connected part, grouped into connected parts,
    each with its length, a location and the assets lying on it."""
    if not network.cut_off:
        return []
    joins = nx.Graph()
    for i, line in enumerate(network.cut_off):
        coords = list(line.coords)
        joins.add_edge(("line", i), ("end", coords[0]))
        joins.add_edge(("line", i), ("end", coords[-1]))
    metric = network.metric_crs
    asset_metric = assets.to_crs(metric) if not assets.empty else assets
    parts = []
    for component in nx.connected_components(joins):
        lines = [network.cut_off[i] for kind, i in component if kind == "line"]
        merged = gpd.GeoSeries([shapely.union_all(lines)], crs=4326).to_crs(metric).iloc[0]
        where = gpd.GeoSeries([shapely.point_on_surface(merged)], crs=metric).to_crs(4326).iloc[0]
        on_part: list[str] = []
        if not asset_metric.empty:
            near = asset_metric.geometry.intersects(merged.buffer(5.0))
            on_part = sorted(map(str, asset_metric.loc[near, "asset_id"]))
        parts.append(
            {
                "km": round(merged.length / 1000.0, 3),
                "lon": round(where.x, 6),
                "lat": round(where.y, 6),
                "asset_ids": on_part[:100],
                "asset_count": len(on_part),
            }
        )
    parts.sort(key=lambda p: (-p["km"], p["lon"], p["lat"]))
    return parts


def network_summary(network: RoadNetwork, assets: gpd.GeoDataFrame) -> dict[str, Any]:
    """Nodes, edges, km, strongly connected parts and every part cut off from the largest one."""
    summary: dict[str, Any] = dict(network.summary.as_dict())
    parts = cut_off_parts(network, assets)
    summary["strongly_connected_components"] = 1 + len(parts) if len(network.graph) else 0
    summary["cut_off_parts"] = parts
    return summary


def store_network(
    *,
    session: Session,
    settings: Settings,
    scenario_id: int,
    stream: IO[bytes] | None,
    filename: str | None,
    from_layer: str | None = None,
    oneway_column: str | None = None,
    class_column: str | None = None,
    speed_kmh: str | None = None,
    buffer_m: float = DEFAULT_BUFFER_M,
) -> dict[str, Any]:
    """Build the network from the given sources and, only when that worked, store it."""
    row = crud.get_scenario(session=session, scenario_id=scenario_id)
    if stream is None and not from_layer:
        raise ServiceError(
            422, "no-network-source", "give an OSM file (file) and/or a road layer (from_layer)"
        )
    speeds = _speeds(speed_kmh)
    if from_layer:
        _check_layer(session, scenario_id, from_layer)
        if importlib.util.find_spec("gis_data.network.road_layer") is None:
            raise ServiceError(
                501,
                "not-implemented",
                "networks from a town's road layer are not available in this version",
            )
    towns = municipalities_frame(session, scenario_id)
    missing = [
        c for c, g in zip(towns["municipality_code"], towns.geometry, strict=True) if g is None
    ]
    if towns.empty or missing:
        raise ServiceError(
            422,
            "missing-boundaries",
            "the network area is the towns' boundaries plus a buffer: PUT"
            f" /scenarios/{scenario_id}/boundaries first (missing: {', '.join(missing) or 'all'})",
            details={"missing_codes": missing},
        )
    options: dict[str, Any] = {"buffer_m": buffer_m}
    if from_layer:
        options.update(from_layer=int(from_layer), oneway_column=oneway_column,
                       class_column=class_column)  # fmt: skip
    if speeds:
        options["speed_kmh"] = speeds
    assets = assets_frame(session, scenario_id)
    with upload_workdir(settings) as workdir:
        path: Path | None = None
        name = ""
        if stream is not None:
            name = safe_name(filename)
            if detect_format(Path(name)) != "osm":
                raise ServiceError(
                    415,
                    "unsupported-format",
                    f"{name}: the network file must be OSM XML (.osm, .osm.bz2) or PBF (.osm.pbf)",
                )
            path = receive_file(
                stream=stream, filename=filename, workdir=workdir, settings=settings
            )
        scenario = scenario_from_tables(
            name=row.name,
            assets=assets,
            municipalities=towns,
            depots=depots_frame(session, scenario_id, towns),
            network_path=path,
            network_buffer_m=buffer_m,
            network_options=options,
        )
        try:
            network = network_for_scenario(scenario, use_cache=False)
        except NetworkError as exc:
            message = str(exc).replace(str(workdir) + os.sep, "").replace(str(workdir), "")
            raise ServiceError(422, "network-build-failed", message) from None
        except Exception as exc:  # osmnx and the PBF reader raise many types for broken files
            raise ServiceError(
                422,
                "network-build-failed",
                f"{name or 'the road layer'}: cannot build a road network"
                f" ({type(exc).__name__}); is it an OSM XML or PBF file?",
            ) from None
        summary = network_summary(network, assets)
        stored_path: str | None = None
        sha = ""
        if path is not None:
            sha = _sha256(path)
            target = settings.DATA_DIR / "networks" / sha / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.is_file():
                os.replace(path, target)
            stored_path = str(target.resolve())
    source = "layer+osm" if from_layer and path is not None else ("layer" if from_layer else "osm")
    summary = {"source": source, "file_name": name, **summary}
    crud.set_network_source(
        session=session,
        scenario_id=scenario_id,
        source=source,
        file_name=name,
        file_path=stored_path,
        sha256=sha,
        options=options,
        summary=summary,
    )
    crud.touch_scenario(session=session, scenario_id=scenario_id)
    return summary


def _check_layer(session: Session, scenario_id: int, raw: str) -> None:
    try:
        layer_id = int(raw)
    except ValueError:
        raise ServiceError(
            422, "invalid-layer", f"from_layer must be a layer id, got {raw!r}"
        ) from None
    if not any(
        layer.id == layer_id for layer in crud.list_layers(session=session, scenario_id=scenario_id)
    ):
        raise ServiceError(
            422,
            "invalid-layer",
            f"layer {layer_id} is not an uploaded layer of scenario {scenario_id}",
        )


def network_public(session: Session, scenario_id: int) -> dict[str, Any]:
    """The stored network summary, or 404 when the scenario has no network yet."""
    crud.get_scenario(session=session, scenario_id=scenario_id)
    row = crud.get_network_source(session=session, scenario_id=scenario_id)
    if row is None:
        raise ServiceError(404, "not-found", f"scenario {scenario_id} has no road network yet")
    return {**row.summary, "options": row.options, "updated_at": row.updated_at.isoformat()}
