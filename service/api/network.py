"""The road network of a scenario: from an OSM file and/or the town's road layer; its summary."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile

from service.deps import PlannerKey, SessionDep, SettingsDep
from service.errors import ServiceError
from service.road_network import network_public, store_network

router = APIRouter(prefix="/scenarios/{scenario_id}", tags=["network"])

_Opt = Annotated[str | None, Form()]


@router.put("/network")
def put_network(
    scenario_id: int,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    _principal: PlannerKey,
    file: Annotated[UploadFile | None, File(description="OSM XML (.osm, .osm.bz2) or PBF")] = None,
    from_layer: Annotated[
        str | None, Form(description="id of an uploaded road centreline layer of the scenario")
    ] = None,
    oneway_column: Annotated[str | None, Form(description="one-way column of the layer")] = None,
    class_column: Annotated[str | None, Form(description="road class column of the layer")] = None,
    speed_kmh: Annotated[
        str | None, Form(description='JSON: road class -> km/h, e.g. {"1級": 40}')
    ] = None,
) -> dict[str, Any]:
    """Build the routable network and store its source; answers the network summary.

    The summary gives nodes, edges, km, the strongly connected parts and every part cut off
    from the largest one with its location and the assets on it. A build that fails (422
    `network-build-failed`) leaves the previous network in place.
    """
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > settings.max_upload_bytes + 65536:
        raise ServiceError(413, "upload-too-large", "the upload is larger than the limit")
    summary = store_network(
        session=session,
        settings=settings,
        scenario_id=scenario_id,
        stream=file.file if file is not None else None,
        filename=file.filename if file is not None else None,
        from_layer=from_layer or None,
        oneway_column=oneway_column or None,
        class_column=class_column or None,
        speed_kmh=speed_kmh or None,
    )
    session.commit()
    return summary


@router.get("/network")
def get_network(scenario_id: int, session: SessionDep, _principal: PlannerKey) -> dict[str, Any]:
    """The summary of the scenario's stored network (404 when it has none yet)."""
    return network_public(session, scenario_id)
