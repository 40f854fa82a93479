"""Municipality boundaries of a scenario from an uploaded file (GeoJSON, GeoPackage, Shapefile).

Every municipality of the scenario must get a polygon, else nothing is stored and the 422 lists
the missing codes. MLIT N03 files (国土数値情報 行政区域) are read without options: their code is
`N03_007` and their name `N03_004`.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

from sqlalchemy.orm import Session

from gis_data.loading.boundaries import BoundaryError, missing_codes, read_boundaries
from gis_data.loading.config import detect_format
from gis_data.loading.errors import AssetValidationError
from service import crud
from service.config import Settings
from service.errors import ServiceError
from service.uploads import receive_file, safe_name, scrub_paths, upload_workdir


def store_boundaries(
    *,
    session: Session,
    settings: Settings,
    scenario_id: int,
    stream: IO[bytes],
    filename: str | None,
    code_column: str | None = None,
    name_column: str | None = None,
    encoding: str | None = None,
) -> list[dict[str, Any]]:
    """Read the boundaries file and give each municipality of the scenario its polygon.

    Returns the municipalities as stored (code, name, population, area). Raises 415 for a
    format that holds no polygons, 422 with every problem of the file or every missing code.
    """
    crud.get_scenario(session=session, scenario_id=scenario_id)
    rows = crud.list_municipalities(session=session, scenario_id=scenario_id)
    if not rows:
        raise ServiceError(
            422, "no-municipalities", "the scenario lists no municipality: add them first"
        )
    name = safe_name(filename)
    fmt = detect_format(Path(name))
    if fmt not in ("geojson", "gpkg", "shapefile_zip"):
        raise ServiceError(
            415,
            "unsupported-format",
            f"{name}: boundaries come as GeoJSON (.geojson), GeoPackage (.gpkg) or a zipped"
            " Shapefile (.zip)",
        )
    with upload_workdir(settings) as workdir:
        path = receive_file(stream=stream, filename=filename, workdir=workdir, settings=settings)
        try:
            table = read_boundaries(
                path, code_column=code_column, name_column=name_column, encoding=encoding,
                label=name,
            )  # fmt: skip
        except BoundaryError as exc:
            raise AssetValidationError(scrub_paths(exc.problems, workdir)) from None
    polygons = table[table.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
    missing = missing_codes(polygons, [r.code for r in rows])
    if missing:
        raise ServiceError(
            422,
            "missing-boundaries",
            f"{name} has no polygon for {len(missing)} municipality code(s): {', '.join(missing)}",
            details={"missing_codes": missing, "file_codes": sorted(map(str, table["code"]))[:200]},
        )
    by_code = dict(zip(polygons["code"].astype(str), polygons.geometry, strict=True))
    names = dict(zip(polygons["code"].astype(str), polygons["name"], strict=True))
    for row in rows:
        if not row.name and names.get(row.code):
            row.name = str(names[row.code])
    stored = crud.set_boundaries(session=session, scenario_id=scenario_id, boundaries=by_code)
    crud.touch_scenario(session=session, scenario_id=scenario_id)
    return [municipality_public(r) for r in stored]


def municipality_public(row: Any) -> dict[str, Any]:
    """A municipality row as the API shows it (the polygon itself is a feature elsewhere)."""
    return {
        "code": row.code,
        "name": row.name,
        "population": None if row.population is None else round(row.population),
        "population_year": row.population_year,
        "has_boundary": row.geom is not None,
        "bbox": None if row.geom is None else [row.minx, row.miny, row.maxx, row.maxy],
    }
