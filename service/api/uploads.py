"""Asset uploads into a scenario (multipart) and the scenario's layers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, Response, UploadFile

from service import crud
from service.deps import PlannerKey, SessionDep, SettingsDep
from service.errors import ServiceError
from service.schemas import LayerPublic, LayersPublic, UploadPublic
from service.upload_preview import PREVIEW_ROWS, preview_upload
from service.uploads import UploadOptions, import_upload

router = APIRouter(prefix="/scenarios/{scenario_id}", tags=["uploads"])

_Opt = Annotated[str | None, Form()]


@router.post("/uploads", response_model=UploadPublic, status_code=201)
def upload_assets(
    scenario_id: int,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    _principal: PlannerKey,
    file: Annotated[UploadFile, File(description="GeoJSON, GeoPackage, zipped Shapefile or CSV")],
    municipality_code: Annotated[str, Form(min_length=1, max_length=20)],
    municipality: Annotated[str, Form(max_length=200)] = "",
    field: _Opt = None,
    kind: _Opt = None,
    crs: _Opt = None,
    encoding: _Opt = None,
    layer: _Opt = None,
    columns: Annotated[str | None, Form(description='JSON, e.g. {"ID": "asset_id"}')] = None,
    lon: _Opt = None,
    lat: _Opt = None,
    wkt: _Opt = None,
) -> UploadPublic:
    """Validate a file with the loaders and add it as a layer; 422 lists every problem."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > settings.max_upload_bytes + 65536:
        raise ServiceError(413, "upload-too-large", "the upload is larger than the limit")
    crud.get_scenario(session=session, scenario_id=scenario_id)
    options = UploadOptions(
        municipality_code=municipality_code,
        municipality=municipality,
        field=field,
        kind=kind,
        crs=crs,
        encoding=encoding,
        layer=layer,
        columns=columns,
        lon=lon,
        lat=lat,
        wkt=wkt,
    )
    new_layer, warnings = import_upload(
        session=session,
        settings=settings,
        scenario_id=scenario_id,
        stream=file.file,
        filename=file.filename,
        options=options,
    )
    session.commit()
    return UploadPublic(layer=LayerPublic.model_validate(new_layer), warnings=warnings)


@router.post("/uploads/preview")
def preview_assets(
    scenario_id: int,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    _principal: PlannerKey,
    file: Annotated[UploadFile, File(description="GeoJSON, GeoPackage, zipped Shapefile or CSV")],
    encoding: Annotated[
        str | None, Form(description="attribute encoding; empty: the file's own, else cp932")
    ] = None,
    layer: _Opt = None,
) -> dict[str, Any]:
    """Read a file without storing it: columns, first rows, encoding and CRS (mapping step).

    Answers `file`, `format`, `feature_count`, `columns`, `rows` (the first five, one list of
    cells per row in the order of `columns`), `encoding` with `encoding_origin` (`given`,
    `detected`: a table that is not UTF-8 read as cp932, or `file`: the file's own), `crs`,
    `crs_name`, `geometry_types` and the readers' `problems`. 422 lists every problem of a
    file that cannot be read.
    """
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > settings.max_upload_bytes + 65536:
        raise ServiceError(413, "upload-too-large", "the upload is larger than the limit")
    crud.get_scenario(session=session, scenario_id=scenario_id)
    return preview_upload(
        settings=settings,
        stream=file.file,
        filename=file.filename,
        encoding=encoding or None,
        layer=layer or None,
        rows=PREVIEW_ROWS,
    )


@router.get("/layers", response_model=LayersPublic)
def list_layers(scenario_id: int, session: SessionDep, _principal: PlannerKey) -> LayersPublic:
    """The asset layers of a scenario."""
    crud.get_scenario(session=session, scenario_id=scenario_id)
    rows = crud.list_layers(session=session, scenario_id=scenario_id)
    return LayersPublic(data=[LayerPublic.model_validate(r) for r in rows], count=len(rows))


@router.delete("/layers/{layer_id}", status_code=204)
def delete_layer(
    scenario_id: int, layer_id: int, session: SessionDep, _principal: PlannerKey
) -> Response:
    """Delete a layer and its assets."""
    crud.delete_layer(session=session, scenario_id=scenario_id, layer_id=layer_id)
    session.commit()
    return Response(status_code=204)
