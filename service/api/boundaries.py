"""Municipality boundaries of a scenario: upload a polygon file, read the towns back."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from shapely.geometry import mapping

from service import crud
from service.deps import PlannerKey, SessionDep, SettingsDep
from service.town_boundaries import municipality_public, store_boundaries

router = APIRouter(prefix="/scenarios/{scenario_id}", tags=["boundaries"])


@router.put("/boundaries")
def put_boundaries(
    scenario_id: int,
    session: SessionDep,
    settings: SettingsDep,
    _principal: PlannerKey,
    file: Annotated[
        UploadFile,
        File(description="GeoJSON, GeoPackage or zipped Shapefile of municipality polygons"),
    ],
    code_column: Annotated[
        str | None, Form(description="column of the municipality code (N03 files: N03_007)")
    ] = None,
    name_column: Annotated[
        str | None, Form(description="column of the name (N03 files: N03_004)")
    ] = None,
    encoding: Annotated[str | None, Form(description="attribute encoding, e.g. cp932")] = None,
) -> dict[str, Any]:
    """Give every municipality of the scenario its polygon from the file.

    Every municipality must get one: otherwise 422 `missing-boundaries` lists the missing codes
    and nothing is stored. Unreadable files get 422 with every problem (file, feature, field).
    """
    towns = store_boundaries(
        session=session,
        settings=settings,
        scenario_id=scenario_id,
        stream=file.file,
        filename=file.filename,
        code_column=code_column or None,
        name_column=name_column or None,
        encoding=encoding or None,
    )
    session.commit()
    return {"data": towns, "count": len(towns)}


@router.get("/boundaries")
def get_boundaries(scenario_id: int, session: SessionDep, _principal: PlannerKey) -> dict[str, Any]:
    """The stored municipality polygons as a GeoJSON FeatureCollection (EPSG:4326).

    Properties `code`, `name`, `population`; towns without a polygon are left out.
    """
    crud.get_scenario(session=session, scenario_id=scenario_id)
    features = [
        {
            "type": "Feature",
            "id": r.code,
            "geometry": mapping(r.geom),
            "properties": {
                "code": r.code,
                "name": r.name,
                "population": None if r.population is None else round(r.population),
            },
        }
        for r in crud.list_municipalities(session=session, scenario_id=scenario_id)
        if r.geom is not None
    ]
    return {"type": "FeatureCollection", "features": features, "numberReturned": len(features)}


@router.get("/municipalities")
def get_municipalities(
    scenario_id: int, session: SessionDep, _principal: PlannerKey
) -> dict[str, Any]:
    """The scenario's municipalities: code, name, population and whether a boundary is stored."""
    crud.get_scenario(session=session, scenario_id=scenario_id)
    rows = crud.list_municipalities(session=session, scenario_id=scenario_id)
    return {"data": [municipality_public(r) for r in rows], "count": len(rows)}
