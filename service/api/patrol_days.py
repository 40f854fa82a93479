"""Patrol days of a stored calendar: week and month views, days marked unavailable, crew-days.

A contractor reads its own regions only (`auth.Principal.may_read_region`); planners and admins
name a region. Each day of a view carries its status: ``off`` (weekend, holiday, 年末年始),
``unavailable`` (marked: rain, 災害対応, sick leave), ``planned``, ``re-planned`` (a re-plan changed
its routes: version, change time and what changed), ``partly done`` or ``done`` (from the patrol
logs uploaded against its crew-days). The GPX of a crew-day is matched against that crew-day's
planned route (`service.api.patrol_logs`).
"""

from __future__ import annotations

import calendar as month_calendar
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Response, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from gis_data.planning.work_calendar import WorkRules
from service import auth, crud
from service.api.maps import PageKey, route_download
from service.api.patrol_logs import upload_patrol_log
from service.deps import RouteReaderKey, SessionDep, SettingsDep
from service.errors import ServiceError
from service.models import Plan, Route
from service.patrol_day_models import REASONS, PatrolDayMark

router = APIRouter(prefix="/patrol-days", tags=["patrol-days"])

# A crew-day counts as done when its logs covered this share of its planned tasks.
DONE_COVERAGE_PCT = 95.0
MAX_SPAN_DAYS = 62


class MarkIn(BaseModel):
    """A day (or one crew's day) that cannot be patrolled."""

    region_id: int = Field(description="contract region")
    date: dt.date = Field(description="service date YYYY-MM-DD")
    crew: str | None = Field(default=None, description="one crew (its label); all crews if null")
    reason: str = Field(description=f"one of {', '.join(REASONS)}")
    note: str = Field(default="", max_length=2000)


def _mark_json(mark: PatrolDayMark) -> dict[str, Any]:
    return {
        "id": mark.id,
        "region_id": mark.region_id,
        "date": mark.service_date.isoformat(),
        "crew": mark.crew,
        "reason": mark.reason,
        "note": mark.note,
        "created_at": mark.created_at.isoformat(),
        "applied_plan_id": mark.applied_plan_id,
    }


def _regions(principal: auth.Principal, region_id: int | None) -> list[int]:
    """The regions a view covers: the one named (if readable), else a contractor's own."""
    if region_id is not None:
        if not principal.may_read_region(region_id):
            raise ServiceError(404, "not-found", f"region {region_id} not found")
        return [region_id]
    if principal.role == "contractor":
        return sorted(principal.region_ids)
    raise ServiceError(422, "region-required", "give region_id (admins and planners)")


@router.post("/unavailable", status_code=201)
def mark_unavailable(
    body: MarkIn, session: SessionDep, principal: RouteReaderKey, response: Response
) -> dict[str, Any]:
    """Mark a region's day (or one crew's) unavailable; the next re-plan moves its work."""
    _regions(principal, body.region_id)
    region = crud.get_region(session=session, region_id=body.region_id)
    if body.reason not in REASONS:
        raise ServiceError(
            422, "invalid-reason", f"reason {body.reason!r}: one of {', '.join(REASONS)}"
        )
    mark = PatrolDayMark(
        scenario_id=region.scenario_id,
        region_id=region.id,
        service_date=body.date,
        crew=body.crew,
        reason=body.reason,
        note=body.note,
        created_by=principal.key_id,
    )
    session.add(mark)
    session.commit()
    response.headers["Location"] = f"/patrol-days/unavailable/{mark.id}"
    return _mark_json(mark)


def _marks(
    session: Session, regions: Sequence[int], start: dt.date, end: dt.date
) -> list[PatrolDayMark]:
    query = (
        select(PatrolDayMark)
        .where(
            PatrolDayMark.region_id.in_(regions),
            PatrolDayMark.service_date >= start,
            PatrolDayMark.service_date <= end,
        )
        .order_by(PatrolDayMark.service_date, PatrolDayMark.id)
    )
    return list(session.scalars(query).all())


@router.get("/unavailable")
def list_unavailable(
    session: SessionDep,
    principal: RouteReaderKey,
    start: dt.date,
    end: dt.date,
    region_id: int | None = None,
) -> dict[str, Any]:
    """The days marked unavailable between ``start`` and ``end`` (both included)."""
    marks = _marks(session, _regions(principal, region_id), start, end)
    return {"count": len(marks), "items": [_mark_json(m) for m in marks]}


def _day_routes(
    session: Session, regions: Sequence[int], start: dt.date, end: dt.date
) -> list[Route]:
    """The stored routes of the dates, of the newest plan per (date, region)."""
    query = (
        select(Route)
        .where(
            Route.region_id.in_(regions),
            Route.service_date >= start,
            Route.service_date <= end,
        )
        .options(defer(Route.steps), defer(Route.geom))
    )
    rows = list(session.scalars(query).all())
    newest: dict[tuple[dt.date | None, int | None], int] = {}
    for r in rows:
        key = (r.service_date, r.region_id)
        newest[key] = max(newest.get(key, 0), r.plan_id)
    kept = [r for r in rows if r.plan_id == newest[(r.service_date, r.region_id)]]
    return sorted(kept, key=lambda r: (r.service_date or start, r.region_id or 0, _crew_order(r)))


def _crew_order(route: Route) -> tuple[int, str]:
    return (int(route.crew), "") if route.crew.isdigit() else (10**6, route.crew)


def _logs_by_route(session: Session, routes: Sequence[Route]) -> dict[int, list[LogSummary]]:
    """Patrol logs uploaded against the routes (kind ``patrol_log``, parameters.route_id); only
    their ids and summaries are read (a stored log keeps its whole GPX)."""
    ids = {r.id for r in routes}
    out: dict[int, list[LogSummary]] = {}
    scenarios = {r.scenario_id for r in routes}
    if not scenarios:
        return out
    query = select(Plan.id, Plan.parameters, Plan.summary).where(
        Plan.kind == "patrol_log", Plan.scenario_id.in_(scenarios)
    )
    for log_id, parameters, summary in session.execute(query.order_by(Plan.id)):
        route_id = (parameters or {}).get("route_id")
        if isinstance(route_id, int) and route_id in ids:
            out.setdefault(route_id, []).append(LogSummary(log_id, dict(summary or {})))
    return out


@dataclass(frozen=True)
class LogSummary:
    """A stored patrol log's id and coverage figures."""

    id: int
    summary: dict[str, Any]


def _crew_json(route: Route, logs: Sequence[LogSummary]) -> dict[str, Any]:
    p = route.properties
    coverage = max((float(log.summary.get("coverage_pct") or 0.0) for log in logs), default=None)
    return {
        "route_id": route.id,
        "crew": route.crew,
        "km": p.get("km"),
        "hours": round(float(p.get("minutes") or 0.0) / 60.0, 2),
        "stops": p.get("stops", len(p.get("assets") or [])),
        "version": p.get("version", 1),
        "changed_at": p.get("changed_at"),
        "changes": p.get("changes"),
        "logs": [log.id for log in logs],
        "coverage_pct": coverage,
    }


def _status(
    crews: Sequence[dict[str, Any]], marks: Sequence[PatrolDayMark], off: str | None
) -> str:
    """The day's status (see the module docstring)."""
    if any(m.crew is None for m in marks):
        return "unavailable"
    if not crews:
        return "off" if off else ("unavailable" if marks else "no routes")
    covered = [c["coverage_pct"] for c in crews]
    if all(c is not None and c >= DONE_COVERAGE_PCT for c in covered):
        return "done"
    if any(c is not None for c in covered):
        return "partly done"
    if any(int(c["version"] or 1) > 1 for c in crews):
        return "re-planned"
    return "planned"


def patrol_days(
    session: Session, regions: Sequence[int], start: dt.date, end: dt.date
) -> list[dict[str, Any]]:
    """Per date and region: status, reason off, marks and the crews with km, hours and stops."""
    if end < start:
        raise ServiceError(422, "invalid-range", f"end {end} is before start {start}")
    if (end - start).days >= MAX_SPAN_DAYS:
        raise ServiceError(422, "range-too-long", f"at most {MAX_SPAN_DAYS} days at once")
    routes = _day_routes(session, regions, start, end)
    logs = _logs_by_route(session, routes)
    marks = _marks(session, regions, start, end)
    rules = WorkRules()
    days: list[dict[str, Any]] = []
    for offset in range((end - start).days + 1):
        date = start + dt.timedelta(days=offset)
        off = rules.day_off_reason(date)
        for region_id in regions:
            crews = [
                _crew_json(r, logs.get(r.id, []))
                for r in routes
                if r.service_date == date and r.region_id == region_id
            ]
            day_marks = [m for m in marks if m.service_date == date and m.region_id == region_id]
            days.append(
                {
                    "date": date.isoformat(),
                    "weekday": date.isoweekday(),
                    "region_id": region_id,
                    "off": off,
                    "status": _status(crews, day_marks, off),
                    "marks": [_mark_json(m) for m in day_marks],
                    "km": round(sum(float(c["km"] or 0.0) for c in crews), 2),
                    "hours": round(sum(c["hours"] for c in crews), 2),
                    "stops": sum(int(c["stops"] or 0) for c in crews),
                    "crews": crews,
                }
            )
    return days


@router.get("/week")
def week(
    session: SessionDep,
    principal: PageKey,
    date: Annotated[dt.date | None, Query(description="any day of the week (today)")] = None,
    region_id: int | None = None,
) -> dict[str, Any]:
    """Monday to Sunday of the week of ``date``: days x crews with km, hours, stops, status."""
    auth_regions = _readable_regions(principal, region_id)
    day = date or dt.date.today()
    monday = day - dt.timedelta(days=day.weekday())
    sunday = monday + dt.timedelta(days=6)
    return {
        "start": monday.isoformat(),
        "end": sunday.isoformat(),
        "days": patrol_days(session, auth_regions, monday, sunday),
    }


@router.get("/month")
def month(
    session: SessionDep,
    principal: PageKey,
    month: Annotated[str, Query(description="YYYY-MM", pattern=r"^\d{4}-\d{2}$")],
    region_id: int | None = None,
) -> dict[str, Any]:
    """Every day of a month per region and crew (the planners' calendar)."""
    auth_regions = _readable_regions(principal, region_id)
    year, number = (int(x) for x in month.split("-"))
    if not 1 <= number <= 12:
        raise ServiceError(422, "invalid-month", f"month {month!r}: 01..12")
    first = dt.date(year, number, 1)
    last = dt.date(year, number, month_calendar.monthrange(year, number)[1])
    return {
        "month": month,
        "start": first.isoformat(),
        "end": last.isoformat(),
        "days": patrol_days(session, auth_regions, first, last),
    }


def _readable_regions(principal: auth.Principal, region_id: int | None) -> list[int]:
    if principal.role not in auth.READ_ROUTES:
        raise ServiceError(403, "forbidden", f"the role {principal.role!r} may not do this")
    return _regions(principal, region_id)


def crew_day_route(
    session: Session, principal: auth.Principal, date: dt.date, crew: str, region_id: int | None
) -> Route:
    """The route of one crew on one day (a contractor with one region need not name it)."""
    regions = _readable_regions(principal, region_id)
    found = [
        r
        for r in _day_routes(session, regions, date, date)
        if r.crew == crew and r.service_date == date
    ]
    if len(found) > 1:
        raise ServiceError(422, "region-required", "several regions have this crew: give region_id")
    if not found:
        raise ServiceError(404, "not-found", f"no route of crew {crew} on {date.isoformat()}")
    return found[0]


@router.get("/{date}/crews/{crew}/gpx", response_class=Response)
def crew_day_gpx(
    date: dt.date,
    crew: str,
    session: SessionDep,
    principal: PageKey,
    region_id: int | None = None,
    lang: Annotated[str, Query(pattern="^(ja|en)$", description="language of names")] = "ja",
) -> Response:
    """The crew-day's route as GPX 1.1 (track and stops)."""
    route = crew_day_route(session, principal, date, crew, region_id)
    return route_download(route, "gpx", missing_code="no-geometry", lang=lang)


@router.get("/{date}/crews/{crew}/kml", response_class=Response)
def crew_day_kml(
    date: dt.date,
    crew: str,
    session: SessionDep,
    principal: PageKey,
    region_id: int | None = None,
    lang: Annotated[str, Query(pattern="^(ja|en)$", description="language of names")] = "ja",
) -> Response:
    """The crew-day's route as KML."""
    route = crew_day_route(session, principal, date, crew, region_id)
    return route_download(route, "kml", missing_code="no-geometry", lang=lang)


@router.post("/{date}/crews/{crew}/patrol-logs", status_code=201)
async def crew_day_log(
    date: dt.date,
    crew: str,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    principal: PageKey,
    file: Annotated[UploadFile, File(description="GPX track of the crew's patrol that day")],
    region_id: int | None = None,
) -> dict[str, Any]:
    """Upload a crew-day's GPX: matched against that crew-day's planned route and stored."""
    route = crew_day_route(session, principal, date, crew, region_id)
    return await upload_patrol_log(route.id, response, session, settings, principal, file)
