"""Patrol logs (巡回記録): contractors upload a day's GPX track; towns read time-stamped records.

A record is stored as a plan of kind ``patrol_log`` of the route's scenario: ``parameters`` say
which route, region and day it is for and who uploaded it, ``summary`` holds the coverage
figures, ``result`` the full report (every planned task with the time it was first passed) and
the GPX text itself, kept as evidence for answering claims.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
import threading
from typing import Annotated, Any

import networkx as nx
from fastapi import APIRouter, File, Query, Request, Response, UploadFile
from starlette.datastructures import UploadFile as FilePart

from gis_data.network.graph import RoadNetwork
from gis_data.network.patrol_log import (
    PatrolLogError,
    coverage_report,
    frequency_status,
    is_bank_walk,
    project_network,
    read_gpx,
)
from gis_data.network.scenario_network import scenario_network
from gis_data.planning.patrol_calendar import Frequencies, patrol_class
from service import auth, crud
from service.api.maps import PageKey, readable_route, require
from service.calendar_intervals import calendar_intervals
from service.deps import SessionDep, SettingsDep
from service.errors import ServiceError
from service.frames import assets_frame
from service.i18n import Lang, check_lang, t
from service.map_data import loaded_scenario, planned_tasks
from service.models import Plan, Region, StopCheckPhoto
from service.photos import (
    EXTENSIONS,
    HEIC,
    JPEG,
    PNG,
    PhotoPreviewError,
    cached_preview,
    image_type,
)
from service.schemas import MAX_NOTE_CHARS, StopCheckCreate
from service.stop_check_body import JSON, MULTIPART, URLENCODED, stop_check_body

logger = logging.getLogger(__name__)

router = APIRouter(tags=["patrol-logs"])

KIND = "patrol_log"
MAX_STORED_GPX_BYTES = 5_000_000
READ_LOGS = frozenset({"admin", "planner", "gis", "contractor"})

_PROJECTED: dict[int, tuple[RoadNetwork, nx.MultiDiGraph]] = {}
_PROJECTED_LOCK = threading.Lock()


def _projected(network: RoadNetwork) -> nx.MultiDiGraph:
    """The projected graph of a network, once per network object."""
    with _PROJECTED_LOCK:
        hit = _PROJECTED.get(id(network))
        if hit is None or hit[0] is not network:
            hit = (network, project_network(network))
            _PROJECTED[id(network)] = hit
        return hit[1]


def _network(session: SessionDep, scenario_id: int) -> RoadNetwork:
    scenario = crud.get_scenario(session=session, scenario_id=scenario_id)
    loaded = loaded_scenario(session, scenario)
    if loaded is None or (loaded.network_path is None and loaded.network_lines is None):
        raise ServiceError(
            409, "no-network", f"scenario {scenario_id} has no road network to match tracks to"
        )
    return scenario_network(loaded).network


def _record(plan: Plan, prefix: str) -> dict[str, Any]:
    """A stored log as the API shows it (without the GPX text; a stop photo by its URL)."""
    return {
        "id": plan.id,
        "scenario_id": plan.scenario_id,
        "created_at": plan.created_at.isoformat(),
        **plan.parameters,
        "photo_url": photo_url(plan, prefix),
        "photo_preview_url": preview_url(photo_url(plan, prefix)),
        "summary": plan.summary,
        "report": plan.result.get("report"),
    }


def readable_log(session: SessionDep, principal: auth.Principal, log_id: int) -> Plan:
    """The stored log if the caller may read it (contractors: only their regions' logs)."""
    require(principal, READ_LOGS)
    plan = crud.get_plan(session=session, plan_id=log_id)
    hidden = principal.role == "contractor" and not principal.may_read_region(
        plan.parameters.get("region_id")
    )
    if plan.kind != KIND or hidden:
        raise ServiceError(404, "not-found", f"patrol log {log_id} not found")
    return plan


@router.post("/routes/{route_id}/patrol-logs", status_code=201)
async def upload_patrol_log(
    route_id: int,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    principal: PageKey,
    file: Annotated[UploadFile, File(description="GPX track of the day's patrol")],
) -> dict[str, Any]:
    """Upload the GPX of a route's patrol: matched to the roads, coverage of the plan stored."""
    route = readable_route(session, principal, route_id)
    if principal.role == "gis":
        raise ServiceError(403, "forbidden", "the role 'gis' may not upload patrol logs")
    limit = int(settings.MAX_UPLOAD_MB * 1024 * 1024)
    data = await file.read(limit + 1)
    name = (file.filename or "track.gpx").replace("\\", "/").rsplit("/", 1)[-1]
    if len(data) > limit:
        raise ServiceError(413, "too-large", f"{name}: larger than {settings.MAX_UPLOAD_MB} MB")
    try:
        points = read_gpx(data, source=name)
        network = _network(session, route.scenario_id)
        tasks = planned_tasks(route)
        report = coverage_report(
            points,
            network,
            tasks,
            projected=_projected(network),
            source=name,
            banks=_bank_lines(session, route.scenario_id, tasks),
        )
    except PatrolLogError as exc:
        raise ServiceError(422, "invalid-gpx", str(exc)) from None
    summary = {
        "planned_tasks": len(report.tasks),
        "covered_tasks": report.covered_tasks,
        "coverage_pct": round(report.coverage_pct, 2),
        "coverage_km_pct": round(report.coverage_km_pct, 2),
        "matched_fraction": round(report.matched_fraction, 4),
        "track_km": round(report.track_km, 3),
        "start": report.start.isoformat() if report.start else None,
        "end": report.end.isoformat() if report.end else None,
    }
    result: dict[str, Any] = {
        "report": report.to_dict(),
        "gpx_sha256": hashlib.sha256(data).hexdigest(),
    }
    if len(data) <= MAX_STORED_GPX_BYTES:
        result["gpx"] = data.decode("utf-8-sig", errors="replace")
    plan = crud.create_plan(
        session=session,
        scenario_id=route.scenario_id,
        kind=KIND,
        name=f"patrol log of route {route.id}",
        parameters={
            "route_id": route.id,
            "region_id": route.region_id,
            "crew": route.crew,
            "service_date": route.service_date.isoformat() if route.service_date else None,
            "file": name,
            "uploaded_by": principal.key_id,
        },
        summary=summary,
        result=result,
    )
    session.commit()
    response.headers["Location"] = f"{settings.API_PREFIX}/patrol-logs/{plan.id}"
    return _record(plan, settings.API_PREFIX)


PHOTO_FORMATS = "JPEG, PNG, HEIC"


async def _photo(
    photo: FilePart | None, settings: SettingsDep, language: Lang
) -> tuple[bytes, str, str] | None:
    """The uploaded photo's bytes, content type (by its magic bytes) and file name, if any."""
    if photo is None:
        return None
    limit = int(settings.MAX_PHOTO_MB * 1024 * 1024)
    data = await photo.read(limit + 1)
    name = (photo.filename or "photo").replace("\\", "/").rsplit("/", 1)[-1]
    if not data and not photo.filename:
        return None  # a form's empty file field: no photo taken
    if len(data) > limit:
        text = t("photo_too_large", language).format(name=name, mb=f"{settings.MAX_PHOTO_MB:g}")
        raise ServiceError(413, "photo-too-large", text)
    kind = image_type(data)
    if kind is None:
        raise ServiceError(422, "not-an-image", t("photo_not_image", language).format(name=name))
    return data, kind, name


def _stop_check_bodies() -> dict[str, Any]:
    """The OpenAPI requestBody of a stop check: the JSON object, or the form with a photo."""
    fields = StopCheckCreate.model_json_schema()
    form: dict[str, Any] = {
        "type": "object",
        "required": ["task_id"],
        "properties": {
            "task_id": fields["properties"]["task_id"],
            "note": {
                "type": "string",
                "maxLength": MAX_NOTE_CHARS,
                "default": "",
                "description": "what the crew saw",
            },
            "photo": {
                "type": "string",
                "contentMediaType": "application/octet-stream",
                "description": f"a photo of the stop ({PHOTO_FORMATS}; at most MAX_PHOTO_MB)",
            },
        },
    }
    text_fields = {k: v for k, v in form["properties"].items() if k != "photo"}
    return {
        "required": True,
        "content": {
            JSON: {"schema": fields},
            MULTIPART: {"schema": form},
            URLENCODED: {"schema": {**form, "properties": text_fields}},
        },
    }


@router.post(
    "/routes/{route_id}/stop-checks",
    status_code=201,
    openapi_extra={"requestBody": _stop_check_bodies()},
    responses={
        413: {"description": "photo-too-large, or a JSON body over 64 KB (too-large)"},
        415: {"description": "unsupported-media-type: neither JSON nor a form"},
        422: {"description": "invalid-request (names each bad field), invalid-stop, not-an-image"},
    },
)
async def check_stop(
    route_id: int,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    principal: PageKey,
    lang: Annotated[str, Query(pattern="^(ja|en)$", description="language of errors")] = "ja",
) -> dict[str, Any]:
    """Tick one stop of a route done by hand, stored as a patrol log of the route.

    The body is JSON (``{"task_id": ..., "note": ...}``, for a town's GIS or a script) or a
    form (``multipart/form-data`` with an optional ``photo``, as the crew's page sends), told
    by the Content-Type; any other body is 415. Both are checked alike: 422 naming every bad
    field in ``lang``; unknown keys of a JSON body are refused rather than dropped.

    For a stop the track cannot prove (no GPS, a walk off the roads): the stop's assets count
    as visited now, like a covered task of an uploaded track, with the crew's note and, if
    taken, a photo (JPEG, PNG or HEIC, checked by its first bytes, kept as uploaded and served
    back at ``/routes/{route_id}/stop-checks/{id}/photo``).
    """
    route = readable_route(session, principal, route_id)
    if principal.role == "gis":
        raise ServiceError(403, "forbidden", "the role 'gis' may not record patrols")
    language = check_lang(lang)
    stops = {stop.task_id: stop for stop in planned_tasks(route) if stop.kind == "node"}
    async with stop_check_body(request, language) as body:
        task = stops.get(body.task_id)
        if task is None:
            text = f"route {route_id} has no stop {body.task_id!r} to tick"
            raise ServiceError(422, "invalid-stop", text)
        picture = await _photo(body.photo, settings, language)
    now = dt.datetime.now(dt.UTC)
    when = now.isoformat()
    entry = {
        "task_id": task.task_id,
        "kind": "node",
        "name": task.name,
        "asset_ids": list(task.asset_ids),
        "length_m": 0.0,
        "covered": True,
        "time": when,
        "note": body.note,
        "by_hand": True,
    }
    parameters: dict[str, Any] = {
        "route_id": route.id,
        "region_id": route.region_id,
        "crew": route.crew,
        "service_date": route.service_date.isoformat() if route.service_date else None,
        "file": "",
        "by_hand": True,
        "task_id": task.task_id,
        "uploaded_by": principal.key_id,
    }
    if picture is not None:
        parameters["photo"] = {"content_type": picture[1], "bytes": len(picture[0])}
    plan = crud.create_plan(
        session=session,
        scenario_id=route.scenario_id,
        kind=KIND,
        name=f"stop checked by hand on route {route.id}",
        parameters=parameters,
        summary={
            "planned_tasks": 1,
            "covered_tasks": 1,
            "coverage_pct": 100.0,
            "coverage_km_pct": 0.0,
            "matched_fraction": 0.0,
            "track_km": 0.0,
            "start": when,
            "end": when,
        },
        result={
            "report": {
                "tasks": [entry],
                "asset_visits": dict.fromkeys(task.asset_ids, when),
            }
        },
    )
    if picture is not None:
        data, kind, name = picture
        session.add(
            StopCheckPhoto(
                plan_id=plan.id,
                content_type=kind,
                file_name=name[:300],
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                data=data,
            )
        )
    session.commit()
    response.headers["Location"] = f"{settings.API_PREFIX}/patrol-logs/{plan.id}"
    return _record(plan, settings.API_PREFIX)


def _stored_photo(
    session: SessionDep, principal: auth.Principal, route_id: int, check_id: int
) -> StopCheckPhoto:
    """The photo of a stop check of the route, if the caller may read the route's logs."""
    plan = readable_log(session, principal, check_id)
    if plan.parameters.get("route_id") != route_id:
        raise ServiceError(404, "not-found", f"route {route_id} has no stop check {check_id}")
    photo = session.get(StopCheckPhoto, check_id)
    if photo is None:
        raise ServiceError(404, "not-found", f"stop check {check_id} has no photo")
    return photo


def _image_response(data: bytes, media_type: str, name: str) -> Response:
    return Response(
        data,
        media_type=media_type,
        headers={
            "Content-Disposition": f'inline; filename="{name}"',
            "Cache-Control": "private, max-age=86400",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get(
    "/routes/{route_id}/stop-checks/{check_id}/photo",
    response_class=Response,
    responses={200: {"content": {JPEG: {}, PNG: {}, HEIC: {}}}},
)
def stop_check_photo(
    route_id: int, check_id: int, session: SessionDep, principal: PageKey
) -> Response:
    """The photo of a stop ticked done by hand, as uploaded: for whoever may read the route's
    patrol logs (contractors their regions' only; the GIS key too, like the log's note)."""
    photo = _stored_photo(session, principal, route_id, check_id)
    name = f"stop-check-{check_id}.{EXTENSIONS.get(photo.content_type, 'bin')}"
    return _image_response(photo.data, photo.content_type, name)


@router.get(
    "/routes/{route_id}/stop-checks/{check_id}/photo/preview",
    response_class=Response,
    responses={
        200: {"content": {JPEG: {}}},
        422: {"description": "photo-not-decodable: no preview; the original is still served"},
    },
)
def stop_check_photo_preview(
    route_id: int,
    check_id: int,
    session: SessionDep,
    principal: PageKey,
    lang: Annotated[str, Query(pattern="^(ja|en)$", description="language of errors")] = "ja",
) -> Response:
    """A JPEG preview of a stop's photo that every browser can draw (iPhones upload HEIC):
    upright, longest side at most 1,024 px; 422 ``photo-not-decodable`` when the photo cannot
    be decoded (the original stays at ``.../photo``). Same readers as the photo."""
    photo = _stored_photo(session, principal, route_id, check_id)
    try:
        preview = cached_preview(photo.sha256, photo.data)
    except PhotoPreviewError:
        kind = EXTENSIONS.get(photo.content_type, "?").upper()
        text = t("photo_no_preview", check_lang(lang)).format(kind=kind)
        raise ServiceError(422, "photo-not-decodable", text) from None
    return _image_response(preview, JPEG, f"stop-check-{check_id}-preview.jpg")


def photo_url(plan: Plan, prefix: str) -> str | None:
    """Where a patrol log's stop photo is served, None when it has none."""
    if not plan.parameters.get("photo"):
        return None
    return f"{prefix}/routes/{plan.parameters.get('route_id')}/stop-checks/{plan.id}/photo"


def preview_url(photo: str | None) -> str | None:
    """Where the JPEG preview of the photo at ``photo`` (a :func:`photo_url`) is served."""
    return None if photo is None else f"{photo}/preview"


def stop_checks(session: SessionDep, route: Any, prefix: str) -> dict[str, dict[str, Any]]:
    """The stops of a route ticked by hand: task id -> the newest tick's ``time``, ``note`` and
    ``photo`` (its URL, None without one)."""
    out: dict[str, dict[str, Any]] = {}
    for plan in crud.list_plans(session=session, scenario_id=route.scenario_id, kind=KIND):
        params = plan.parameters
        if params.get("route_id") != route.id or not params.get("by_hand"):
            continue
        for task in (plan.result.get("report") or {}).get("tasks", []):
            known = out.get(task["task_id"])
            if known is None or str(task.get("time")) > str(known["time"]):
                out[task["task_id"]] = {
                    "time": task.get("time"),
                    "note": task.get("note", ""),
                    "photo": photo_url(plan, prefix),
                }
    return out


@router.get("/patrol-logs/{log_id}")
def get_patrol_log(
    log_id: int, session: SessionDep, settings: SettingsDep, principal: PageKey
) -> dict[str, Any]:
    """One stored patrol log: coverage summary and every planned task with its time."""
    return _record(readable_log(session, principal, log_id), settings.API_PREFIX)


@router.get("/patrol-logs/{log_id}/gpx")
def get_patrol_log_gpx(log_id: int, session: SessionDep, principal: PageKey) -> Response:
    """The GPX file as uploaded (evidence for claims), when it was small enough to keep."""
    plan = readable_log(session, principal, log_id)
    text = plan.result.get("gpx")
    if text is None:
        raise ServiceError(404, "not-found", f"patrol log {log_id}: the GPX was not kept")
    return Response(text, media_type="application/gpx+xml")


def _bank_lines(session: SessionDep, scenario_id: int, tasks: list[Any]) -> dict[str, Any]:
    """The lines (EPSG:4326) of the banks the day's walk tasks are for, by asset id."""
    wanted = {a for task in tasks if is_bank_walk(task.task_id) for a in task.asset_ids}
    if not wanted:
        return {}
    assets = assets_frame(session, scenario_id)
    mine = assets[assets["asset_id"].astype(str).isin(wanted)]
    if mine.crs is not None:
        mine = mine.to_crs(4326)
    return {
        str(a): g
        for a, g in zip(mine["asset_id"], mine.geometry, strict=True)
        if g is not None and g.geom_type in ("LineString", "MultiLineString")
    }


def region_assets(session: SessionDep, region: Region) -> Any:
    """The assets a region's contract covers: the plan's asset -> region map, else its towns,
    else the assets inside its outline."""
    assets = assets_frame(session, region.scenario_id)
    plan = crud.get_plan(session=session, plan_id=region.plan_id)
    by_region = plan.result.get("asset_regions") if isinstance(plan.result, dict) else None
    if isinstance(by_region, dict) and by_region:
        mine = {a for a, label in by_region.items() if str(label) == region.code}
        return assets[assets["asset_id"].astype(str).isin(mine)]
    towns = {str(m.get("code") if isinstance(m, dict) else m) for m in region.municipalities}
    if towns:
        return assets[assets["municipality_code"].astype(str).isin(towns)]
    if region.geom is not None:
        return assets[assets.intersects(region.geom)]
    return assets


def _region_logs(session: SessionDep, principal: auth.Principal, region_id: int) -> list[Plan]:
    require(principal, READ_LOGS)
    region = crud.get_region(session=session, region_id=region_id)
    if principal.role == "contractor" and not principal.may_read_region(region.id):
        raise ServiceError(404, "not-found", f"region {region_id} not found")
    plans = crud.list_plans(session=session, scenario_id=region.scenario_id, kind=KIND)
    return [p for p in plans if p.parameters.get("region_id") == region.id]


@router.get("/regions/{region_id}/patrol-logs")
def list_patrol_logs(
    region_id: int, session: SessionDep, settings: SettingsDep, principal: PageKey
) -> dict[str, Any]:
    """The stored patrol logs of a region, newest first (summaries only)."""
    logs = _region_logs(session, principal, region_id)
    prefix = settings.API_PREFIX
    items = [{k: v for k, v in _record(p, prefix).items() if k != "report"} for p in logs]
    return {"region_id": region_id, "count": len(items), "items": items}


@router.get("/regions/{region_id}/patrol-coverage")
def patrol_coverage(
    region_id: int,
    session: SessionDep,
    principal: PageKey,
    as_of: Annotated[dt.datetime | None, Query(description="check at (default now)")] = None,
    since: Annotated[dt.datetime | None, Query(description="contract start")] = None,
) -> dict[str, Any]:
    """Per asset of the region: visits in the stored logs, last visit, longest gap, overdue?

    Intervals are those of the newest stored calendar covering the region and date (its
    working days turned into calendar days at 7/5); without one, the asset's own
    ``patrol_interval_days``, else its class default (also at 7/5).
    The period runs from ``since`` (the contract start; by default when the region's plan was
    made, or the first logged visit if earlier) to ``as_of``: an asset is overdue only a full
    interval after its last visit, or after the start when never visited.
    """
    logs = _region_logs(session, principal, region_id)
    region = crud.get_region(session=session, region_id=region_id)
    when = as_of or dt.datetime.now(dt.UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    default_start = since is None
    if since is None:
        since = crud.get_plan(session=session, plan_id=region.plan_id).created_at
    start = since.replace(tzinfo=dt.UTC) if since.tzinfo is None else since
    assets = region_assets(session, region)
    frequencies = Frequencies()
    # A stored calendar's intervals when one covers the region and date (what crews work to).
    planned = calendar_intervals(session, region, when.date())
    intervals: dict[str, float] = dict(planned or {})
    for row in assets.drop(columns="geometry").to_dict("records") if planned is None else []:
        own = row.get("patrol_interval_days")
        if isinstance(own, float) and math.isfinite(own) and own > 0:
            intervals[str(row["asset_id"])] = own
        else:
            days = frequencies.interval(patrol_class(row), when.date())
            intervals[str(row["asset_id"])] = days * 7.0 / 5.0
    visits: dict[str, list[dt.datetime]] = {}
    for log in logs:
        for asset, stamp in (log.result.get("report") or {}).get("asset_visits", {}).items():
            if stamp:
                visits.setdefault(asset, []).append(dt.datetime.fromisoformat(stamp))
    if default_start:
        # Patrols logged before the plan was stored: the contract ran from the first of them.
        first = min((t for times in visits.values() for t in times), default=start)
        start = min(start, first if first.tzinfo else first.replace(tzinfo=dt.UTC))
    status = frequency_status(visits, intervals, as_of=when, since=start)
    names = {
        str(a): str(n)
        for a, n in zip(assets["asset_id"], assets.get("name", [None] * len(assets)), strict=True)
        if isinstance(n, str) and n
    }
    overdue = [s for s in status if s.overdue]
    return {
        "region_id": region_id,
        "as_of": when.isoformat(),
        "since": start.isoformat(),
        "logs": len(logs),
        "assets": len(status),
        "visited": sum(1 for s in status if s.visits),
        "overdue": len(overdue),
        "items": [
            {
                "asset_id": s.asset_id,
                "name": names.get(s.asset_id) or None,
                "interval_days": round(s.interval_days, 2),
                "visits": s.visits,
                "last_visit": s.last_visit.isoformat() if s.last_visit else None,
                "days_since": round(s.days_since, 2) if s.days_since is not None else None,
                "longest_gap_days": (
                    round(s.longest_gap_days, 2) if s.longest_gap_days is not None else None
                ),
                "overdue": s.overdue,
            }
            for s in status
        ],
    }
