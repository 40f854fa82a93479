"""A scenario's road network: an OSM XML/PBF file and/or the town's own road layer, stored so
that every job rebuilds the same graph.

`PUT /scenarios/{id}/network` builds the network before anything is stored: a build that fails
leaves the previous network in place. The OSM file is kept once per content (sha256) under the
data folder; its server path is never shown.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import IO, Any

from sqlalchemy.orm import Session

from gis_data.loading.config import detect_format
from gis_data.loading.load import scenario_from_tables
from gis_data.network.graph import NetworkError
from gis_data.network.road_layer import RoadLayerError
from gis_data.network.scenario_network import ScenarioNetwork, scenario_network
from gis_data.network.summary import network_summary
from service import crud
from service.config import Settings
from service.errors import ServiceError
from service.frames import assets_frame
from service.stored_scenario import depots_frame, municipalities_frame
from service.uploads import receive_file, safe_name, scrub_paths, upload_workdir

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
        _layer(session, scenario_id, from_layer)
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
    lines = None
    if from_layer:
        layer = _layer(session, scenario_id, from_layer)
        options.update(
            from_layer=layer.id,
            layer_name=layer.name,
            oneway_column=oneway_column,
            class_column=class_column,
        )
        lines = assets_frame(session, scenario_id, layer_id=layer.id)
    if speeds:
        options["speed_kmh"] = speeds
    assets = assets_frame(session, scenario_id)
    depots = depots_frame(session, scenario_id, towns)
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
            depots=depots,
            network_path=path,
            network_buffer_m=buffer_m,
            network_options=options,
            network_lines=lines,
        )
        built = _build(scenario, workdir, name)
        summary = network_summary(
            built.graph, assets=assets, depots=depots, boundaries=towns
        ).to_dict()
        summary["routable"] = built.network.summary.as_dict()
        if built.report:
            summary["build"] = built.report
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


def _layer(session: Session, scenario_id: int, raw: str) -> Any:
    """The uploaded layer ``raw`` names, or 422."""
    try:
        layer_id = int(raw)
    except ValueError:
        raise ServiceError(
            422, "invalid-layer", f"from_layer must be a layer id, got {raw!r}"
        ) from None
    for layer in crud.list_layers(session=session, scenario_id=scenario_id):
        if layer.id == layer_id:
            return layer
    raise ServiceError(
        422, "invalid-layer", f"layer {layer_id} is not an uploaded layer of scenario {scenario_id}"
    )


def _build(scenario: Any, workdir: Path, name: str) -> ScenarioNetwork:
    """Build the network; every failure becomes a 422 naming the file, never a server path."""
    try:
        return scenario_network(scenario, use_cache=False)
    except RoadLayerError as exc:
        raise ServiceError(
            422,
            "network-build-failed",
            f"the road layer cannot become a network: {len(exc.problems)} problem(s)",
            details=[p.to_dict() for p in scrub_paths(exc.problems, workdir)],
        ) from None
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


def network_public(session: Session, scenario_id: int) -> dict[str, Any]:
    """The stored network summary, or 404 when the scenario has no network yet."""
    crud.get_scenario(session=session, scenario_id=scenario_id)
    row = crud.get_network_source(session=session, scenario_id=scenario_id)
    if row is None:
        raise ServiceError(404, "not-found", f"scenario {scenario_id} has no road network yet")
    return {**row.summary, "options": row.options, "updated_at": row.updated_at.isoformat()}
