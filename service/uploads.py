"""Asset uploads: size limit, safe names, zip checks (traversal, bombs), loader validation."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import IO, Any

import geopandas as gpd
from sqlalchemy import select
from sqlalchemy.orm import Session

from gis_data.loading.config import detect_format
from gis_data.loading.errors import AssetValidationError, Problem
from gis_data.loading.load import load_assets_from_file
from service import crud
from service.config import Settings
from service.errors import ServiceError
from service.frames import asset_features
from service.models import Asset, AssetLayer

_CHUNK = 1024 * 1024
_MAX_ZIP_MEMBERS = 2000
# Ratios are only judged on members big enough to matter (small text files compress a lot).
_RATIO_MIN_BYTES = 1024 * 1024


@dataclass(frozen=True)
class UploadOptions:
    """How to read an uploaded file (the form fields of the upload)."""

    municipality_code: str
    municipality: str = ""
    field: str | None = None
    kind: str | None = None
    crs: str | None = None
    encoding: str | None = None
    layer: str | None = None
    columns: str | None = None
    lon: str | None = None
    lat: str | None = None
    wkt: str | None = None


def safe_name(filename: str | None) -> str:
    """The base name of an uploaded file, stripped of folders and odd characters."""
    raw = PureWindowsPath(PurePosixPath(filename or "upload").name).name
    cleaned = re.sub(r"[^\w.\-]+", "_", raw, flags=re.UNICODE).strip("._") or "upload"
    return cleaned[:120]


def save_upload(stream: IO[bytes], directory: Path, name: str, *, max_bytes: int) -> Path:
    """Copy the upload into `directory`, refusing (413) beyond `max_bytes`."""
    target = directory / name
    written = 0
    with target.open("wb") as out:
        while chunk := stream.read(_CHUNK):
            written += len(chunk)
            if written > max_bytes:
                raise ServiceError(
                    413,
                    "upload-too-large",
                    f"the file is larger than the limit of {max_bytes // (1024 * 1024)} MB",
                )
            out.write(chunk)
    if written == 0:
        raise ServiceError(400, "empty-upload", f"the file {name} is empty")
    return target


def _unsafe_member(member: str) -> bool:
    path = member.replace("\\", "/")
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        return True
    return ".." in PurePosixPath(path).parts


def check_zip(path: Path, *, max_unzipped_bytes: int, max_ratio: float) -> None:
    """Refuse (400) zips with unsafe member paths, too many members, or bomb-like sizes."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile:
        raise ServiceError(400, "bad-zip", f"{path.name} is not a readable zip file") from None
    if len(infos) > _MAX_ZIP_MEMBERS:
        raise ServiceError(400, "zip-too-many-files", f"the zip holds {len(infos)} files")
    unsafe = [info.filename for info in infos if _unsafe_member(info.filename)]
    if unsafe:
        raise ServiceError(
            400,
            "unsafe-zip",
            f"the zip has member paths leaving its folder: {', '.join(unsafe[:5])}",
        )
    total = sum(info.file_size for info in infos)
    if total > max_unzipped_bytes:
        raise ServiceError(
            400,
            "zip-bomb",
            f"the zip unpacks to {total // (1024 * 1024)} MB, "
            f"above the limit of {max_unzipped_bytes // (1024 * 1024)} MB",
        )
    for info in infos:
        if info.file_size >= _RATIO_MIN_BYTES:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > max_ratio:
                raise ServiceError(
                    400,
                    "zip-bomb",
                    f"{info.filename} is compressed {ratio:.0f}:1, above the limit of "
                    f"{max_ratio:.0f}:1",
                )


def scrub_paths(problems: list[Problem], workdir: Path) -> list[Problem]:
    """The problems with the server's temporary folder cut out of their messages.

    GDAL and the readers quote the file path they were given; clients see the file name only.
    """
    prefixes = sorted({str(workdir), str(workdir.resolve())}, key=len, reverse=True)
    cleaned = []
    for problem in problems:
        message = problem.message
        for prefix in prefixes:
            message = message.replace(prefix + "/", "").replace(prefix + "\\", "")
            message = message.replace(prefix, "")
        cleaned.append(dataclasses.replace(problem, message=message))
    return cleaned


@contextlib.contextmanager
def upload_workdir(settings: Settings) -> Iterator[Path]:
    """A private temporary folder under the data folder, removed afterwards."""
    settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="upload-", dir=settings.DATA_DIR))
    try:
        yield workdir
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def receive_file(
    *, stream: IO[bytes], filename: str | None, workdir: Path, settings: Settings
) -> Path:
    """Save an uploaded file into ``workdir`` with the size limit, checking zips for bombs."""
    path = save_upload(stream, workdir, safe_name(filename), max_bytes=settings.max_upload_bytes)
    if path.name.lower().endswith(".zip"):
        check_zip(
            path, max_unzipped_bytes=settings.max_unzipped_bytes, max_ratio=settings.MAX_ZIP_RATIO
        )
    return path


def _columns(raw: str | None) -> dict[str, str] | None:
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ServiceError(
            422, "invalid-columns", 'columns must be a JSON object such as {"ID": "asset_id"}'
        )
    return value


def _duplicates(session: Session, scenario_id: int, label: str, ids: list[str]) -> list[Problem]:
    """Problems for asset ids that already exist in the scenario (ids are scenario-wide)."""
    found: list[Problem] = []
    wanted = set(ids)
    query = (
        select(Asset.asset_id, AssetLayer.name)
        .join(AssetLayer, Asset.layer_id == AssetLayer.id, isouter=True)
        .where(Asset.scenario_id == scenario_id)
    )
    for asset_id, layer_name in session.execute(query):
        if asset_id in wanted:
            message = f"asset_id {asset_id!r} already exists in layer {layer_name!r}"
            found.append(Problem(label, asset_id, "asset_id", message))
    return found


def _road_class_warnings(
    session: Session, scenario_id: int, assets: gpd.GeoDataFrame
) -> list[Problem]:
    """What the scenario's road class setting (or the defaults) makes of the layer's roads:
    unmapped values with their counts, a class column read by default, a missing column."""
    from gis_data.planning.road_classes import classify_roads
    from service.stored_scenario import IncompleteScenarioError, stored_road_classes

    try:
        setting = stored_road_classes(session, scenario_id)
    except IncompleteScenarioError as exc:
        return [Problem("planning settings", None, "road_classes", str(exc), "warning")]
    _, found = classify_roads(assets, setting)
    # A layer without the setting's column is told, not refused: its roads are local roads.
    return [dataclasses.replace(p, severity="warning") for p in found]


def import_upload(
    *,
    session: Session,
    settings: Settings,
    scenario_id: int,
    stream: IO[bytes],
    filename: str | None,
    options: UploadOptions,
) -> tuple[AssetLayer, list[dict[str, Any]]]:
    """Validate an uploaded file with the loaders and store it as a new layer.

    Nothing is stored when any error is found: the loaders' full problem list is raised as
    an AssetValidationError (422). Returns the layer and the warnings.
    """
    name = safe_name(filename)
    if detect_format(Path(name)) in (None, "osm"):
        raise ServiceError(
            415,
            "unsupported-format",
            f"{name}: upload GeoJSON (.geojson), GeoPackage (.gpkg), a zipped Shapefile (.zip) "
            "or CSV (.csv)",
        )
    columns = _columns(options.columns)
    settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="upload-", dir=settings.DATA_DIR))
    try:
        path = save_upload(stream, workdir, name, max_bytes=settings.max_upload_bytes)
        if name.lower().endswith(".zip"):
            check_zip(
                path,
                max_unzipped_bytes=settings.max_unzipped_bytes,
                max_ratio=settings.MAX_ZIP_RATIO,
            )
        assets, problems = load_assets_from_file(
            path,
            municipality_code=options.municipality_code,
            municipality=options.municipality or options.municipality_code,
            field=options.field,
            kind=options.kind,
            crs=options.crs,
            columns=columns,
            encoding=options.encoding,
            layer=options.layer,
            lon=options.lon,
            lat=options.lat,
            wkt=options.wkt,
            label=name,
        )
        problems = scrub_paths(problems, workdir)
        if not any(p.severity == "error" for p in problems):
            problems += _duplicates(session, scenario_id, name, list(assets["asset_id"]))
        if any(p.severity == "error" for p in problems):
            raise AssetValidationError(problems)
        if assets.empty:
            raise AssetValidationError([Problem(name, None, None, "the file holds no features")])
        problems += _road_class_warnings(session, scenario_id, assets)
        layer = crud.add_layer(
            session=session,
            scenario_id=scenario_id,
            name=name,
            municipality_code=options.municipality_code,
            municipality=options.municipality or options.municipality_code,
            field=options.field or "",
            kind=options.kind or "",
            features=asset_features(assets),
        )
        crud.touch_scenario(session=session, scenario_id=scenario_id)
        return layer, [p.to_dict() for p in problems]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
