"""The calendar and re-plan jobs: every working day's routes stored per region and crew.

`run_calendar` plans the patrol calendar of a horizon (a month or a fiscal year) over the contract
regions of a regions plan, routes every working day (identical days share one solve) and stores
each crew-day as a route row with its steps, geometry, service date and the assets it serves; the
calendar itself (tasks and visits, `gis_data.planning.replan.CalendarSchedule`) is kept in the
plan's result for re-planning. `run_replan` applies the days marked unavailable
(`service.patrol_day_models.PatrolDayMark`) and the visits patrol logs show missed: the work moves
to later working days inside its interval windows, only the changed days are re-routed (their
rows get a new version and change time) and assets that cannot fit are reported late.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from typing import TYPE_CHECKING, Any

from pydantic import Field
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, defer

from gis_data.planning.workflows import CalendarRequest
from service import crud
from service.job_support import (
    _ENGINE_INPUTS,
    _plan_setup,
    _scenario_id,
    job_settings,
    plain,
    route_row_figures,
    workflow_request,
)
from service.jobs import JobContext, JobInputError, JobOutcome, Process, register_process
from service.models import Plan, Route, utcnow
from service.patrol_day_models import PatrolDayMark
from service.process_inputs import CalendarInputs, ReplanInputs

if TYPE_CHECKING:
    from gis_data.planning.day_routes import DayRoutes
    from gis_data.planning.plan_engine import PlanSetup, RegionChoice

logger = logging.getLogger(__name__)

KIND = "calendar"
REPLAN_KIND = "replan"


def _setup(ctx: JobContext) -> PlanSetup:
    """The loaded scenario with its network and matching (`service.processes`)."""
    setup: PlanSetup = _plan_setup(ctx)
    return setup


def _day_key(assets: frozenset[str], depot: str) -> str:
    """A short fingerprint of a day solve (same assets and depot: the same routes)."""
    text = depot + "\n" + "\n".join(sorted(assets))
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


def _stored_regions(
    session: Session, setup: PlanSetup, scenario_id: int, plan_id: Any
) -> tuple[RegionChoice, dict[str, int], int]:
    """The regions of a stored regions plan as a `RegionChoice`, label -> region id, plan id."""
    from gis_data.planning.plan_engine import RegionChoice

    if not isinstance(plan_id, int) or isinstance(plan_id, bool):
        raise JobInputError(f"inputs.regions_plan_id must be an integer, got {plan_id!r}")
    plan = session.get(Plan, plan_id)
    if plan is None or plan.scenario_id != scenario_id or plan.kind != "regions":
        raise JobInputError(f"plan {plan_id} is not a regions plan of scenario {scenario_id}")
    mapping = {str(k): str(v) for k, v in (plan.result.get("asset_regions") or {}).items()}
    ids = setup.assets["asset_id"].astype(str)
    missing = sorted(a for a in ids if a not in mapping)
    if missing:
        raise JobInputError(
            f"regions plan {plan_id} leaves {len(missing)} assets without a region"
            f" (first: {', '.join(missing[:5])}); plan the regions again"
        )
    regions = crud.list_regions(session=session, plan_id=plan.id)
    by_name = {d.name: d.depot_id for d in setup.depots.values()}
    region_depot: dict[str, str] = {}
    for region in regions:
        depot = region.properties.get("depot")
        found = by_name.get(str(depot)) if depot else None
        region_depot[region.code] = found or setup.bundle_depot()
    return (
        RegionChoice(
            asset_region={a: mapping[a] for a in ids},
            region_depot=region_depot,
            frame=None,
            method=f"the contract regions of regions plan {plan_id}",
        ),
        {r.code: r.id for r in regions},
        plan.id,
    )


def _route_rows(
    routes: DayRoutes, *, date: dt.date, day: int, region: str, key: str
) -> list[dict[str, Any]]:
    """The stored rows of one region's day: one per crew route."""
    rows = []
    for route in routes.traced:
        served = sorted({a for t in route.traversals if t.kind == "serve" for a in t.asset_ids})
        row = route_row_figures(route)
        row["properties"].update(
            stops=len(served),
            region=region,
            assets=served,
            solve=key,
            version=1,
            changed_at=None,
        )
        rows.append({**row, "day": day, "service_date": date})
    return rows


def _insert_routes(
    session: Session, plan: Plan, region_id: int | None, rows: list[dict[str, Any]]
) -> None:
    """Insert many route rows at once (a year is thousands of rows: one flush)."""
    session.add_all(
        Route(
            plan_id=plan.id,
            scenario_id=plan.scenario_id,
            region_id=region_id,
            **row,
            **crud.bounds_columns(row["geom"]),
        )
        for row in rows
    )
    session.flush()


class StoredCalendarRequest(CalendarRequest):
    """A calendar whose every crew-day is stored, over the regions of a stored regions plan."""

    regions_plan_id: int | None = Field(
        default=None,
        ge=1,
        description="regions plan whose contract regions the calendar follows (the latest; "
        "without one, `regions` whole-town regions that contractors cannot read)",
    )


def run_calendar(ctx: JobContext, inputs: dict[str, Any]) -> JobOutcome:
    """The patrol calendar over a horizon, every working day routed and stored per crew."""
    from gis_data.planning.replan import CalendarSchedule
    from gis_data.planning.workflows import plan_regions_for, routed_region_calendar
    from optimizer.stop import MaxIterations
    from service.parallel import solve_mapper

    started = time.perf_counter()
    scenario_id = _scenario_id(ctx)
    request = workflow_request(StoredCalendarRequest, inputs)
    settings = job_settings(ctx)
    seed = request.seed_in(settings)
    try:
        horizon = request.horizon_in(settings)
    except ValueError as exc:
        raise JobInputError(f"inputs.horizon: {exc}") from None
    setup = _setup(ctx)
    region_ids: dict[str, int] = {}
    regions_plan_id: int | None = None
    plan_id = request.regions_plan_id
    with ctx.session() as session:
        if plan_id is None and "regions" not in inputs:
            latest = crud.latest_plan(session=session, scenario_id=scenario_id, kind="regions")
            plan_id = latest.id if latest is not None else None
        if plan_id is not None:
            regions, region_ids, regions_plan_id = _stored_regions(
                session, setup, scenario_id, plan_id
            )
    if regions_plan_id is None:
        regions = plan_regions_for(setup, request, settings)
    ctx.progress(20, f"calendar {horizon.label}: {len(setup.assets)} assets, routing every day")
    router = setup.router(
        stop=MaxIterations(request.iterations),
        seed=seed,
        shift_hours=settings.shift_hours,
        keep_geometry=True,
        orphans=True,
    )
    with solve_mapper() as client:
        # Planned again while a routed day needs more vehicles than the calendar's crews.
        routed = routed_region_calendar(
            setup, horizon, regions, settings, seed, router, client=client
        )
    calendar = routed.calendar
    ctx.progress(90, "storing the routes of every working day")
    schedule = CalendarSchedule.from_calendar(calendar)
    stored_rows: list[tuple[int | None, list[dict[str, Any]]]] = []
    unrouted: dict[str, list[str]] = {}
    for d, region, day_routes in routed.days:
        due = calendar.day_assets(d, region)
        depot = calendar.depots[calendar.regions.index(region)]
        date = calendar.dates[d]
        rows = _route_rows(day_routes, date=date, day=d, region=region, key=_day_key(due, depot))
        served = {a for row in rows for a in row["properties"]["assets"]}
        if due - served:
            unrouted[f"{date.isoformat()}/{region}"] = sorted(due - served)
        stored_rows.append((region_ids.get(region), rows))
    res = calendar.result
    summary = {
        "horizon": horizon.label,
        "working_days": len(calendar.dates),
        "regions": list(calendar.regions),
        "regions_plan_id": regions_plan_id,
        "crews": list(calendar.crews),
        "calendar_plans": routed.rounds,
        "required_visits": res.required_visits,
        "visits_made": res.made_visits,
        "coverage_pct": round(100.0 * res.coverage, 2),
        "km": round(routed.total_km(), 1),
        "crew_hours": round(routed.total_minutes() / 60.0, 1),
        "crew_days": routed.crew_days(),
        "vehicles": routed.vehicles(),
        "routing_solves": routed.solves,
        "days_reused": routed.reused,
        "routes_stored": sum(len(rows) for _, rows in stored_rows),
        "days_with_unrouted_assets": len(unrouted),
        "seconds": round(time.perf_counter() - started, 1),
    }
    days = [
        {
            "date": calendar.dates[d].isoformat(),
            "region": region,
            "assets": len(calendar.day_assets(d, region)),
            "routes": r.num_routes,
            "km": round(r.km, 2),
            "crew_hours": round(r.minutes / 60.0, 2),
        }
        for d, region, r in routed.days
    ]
    parameters = request.model_dump(exclude_defaults=True)
    if regions_plan_id is not None:
        parameters["regions_plan_id"] = regions_plan_id
    name = str(inputs.get("name") or f"calendar {horizon.label}")
    result = {
        "days": days,
        "region_ids": region_ids,
        "unrouted": unrouted,
        "schedule": schedule.to_json(),
        # How the days were routed: a re-plan routes changed days the same way.
        "routing": {
            "iterations": request.iterations,
            "seed": seed,
            "shift_hours": settings.shift_hours,
        },
        "replans": [],
    }

    def store(session: Session) -> int:
        plan = crud.create_plan(
            session=session,
            scenario_id=scenario_id,
            kind=KIND,
            name=name,
            parameters=parameters,
            summary=plain(summary),
            result=result,
            job_id=ctx.job_id,
        )
        for region_id, rows in stored_rows:
            if rows:
                _insert_routes(session, plan, region_id, rows)
        return plan.id

    return JobOutcome(result={"kind": KIND, "summary": plain(summary), "days": days}, store=store)


# -- re-plan -----------------------------------------------------------------------------------


def _calendar_plan(session: Session, scenario_id: int, plan_id: Any) -> Plan:
    if plan_id is None:
        plan = crud.latest_plan(session=session, scenario_id=scenario_id, kind=KIND)
        if plan is None or "schedule" not in plan.result:
            raise JobInputError(f"scenario {scenario_id} has no stored calendar to re-plan")
        return plan
    if not isinstance(plan_id, int) or isinstance(plan_id, bool):
        raise JobInputError(f"inputs.calendar_plan_id must be an integer, got {plan_id!r}")
    plan = session.get(Plan, plan_id)
    if plan is None or plan.scenario_id != scenario_id or plan.kind != KIND:
        raise JobInputError(f"plan {plan_id} is not a calendar plan of scenario {scenario_id}")
    if "schedule" not in plan.result:
        raise JobInputError(f"calendar plan {plan_id} has no stored schedule (planned before)")
    return plan


def pending_marks(session: Session, plan: Plan) -> list[PatrolDayMark]:
    """Marks of the calendar's regions and dates not applied yet by a re-plan."""
    region_ids = [int(v) for v in (plan.result.get("region_ids") or {}).values()]
    if not region_ids:
        return []
    dates = plan.result["schedule"]["dates"]
    query = (
        select(PatrolDayMark)
        .where(
            PatrolDayMark.region_id.in_(region_ids),
            PatrolDayMark.applied_plan_id.is_(None),
            PatrolDayMark.service_date >= dt.date.fromisoformat(dates[0]),
            PatrolDayMark.service_date <= dt.date.fromisoformat(dates[-1]),
        )
        .order_by(PatrolDayMark.id)
    )
    return list(session.scalars(query).all())


def _light_routes(plan_id: int) -> Any:
    """The routes of a plan without their steps and geometry (a year is 100+ MB of them)."""
    return (
        select(Route).where(Route.plan_id == plan_id).options(defer(Route.steps), defer(Route.geom))
    )


def _missed_from_logs(
    session: Session, plan: Plan, applied: set[int]
) -> tuple[list[tuple[dt.date, str]], list[int]]:
    """Visits the calendar's patrol logs (not applied yet) show were not made: the assets of
    the crew-day's route that the track did not cover."""
    planned = {
        r.id: (r.service_date, set(r.properties.get("assets") or []))
        for r in session.scalars(_light_routes(plan.id))
    }
    logs = crud.list_plans(session=session, scenario_id=plan.scenario_id, kind="patrol_log")
    visited: dict[int, set[str]] = {}
    used: list[int] = []
    for log in sorted(logs, key=lambda p: p.id):
        route_id = log.parameters.get("route_id")
        if log.id in applied or not isinstance(route_id, int) or route_id not in planned:
            continue
        # Every asset of a covered task is a key (its time may be None without timestamps).
        report = log.result.get("report") or {}
        visited.setdefault(route_id, set()).update(report.get("asset_visits") or {})
        used.append(log.id)
    missed: set[tuple[dt.date, str]] = set()
    for route_id, seen in visited.items():
        date, assets = planned[route_id]
        if date is not None:
            missed |= {(date, a) for a in assets - seen}
    return sorted(missed), used


def run_replan(ctx: JobContext, inputs: dict[str, Any]) -> JobOutcome:
    """Move the work of days marked unavailable and of missed visits; re-route changed days."""
    from gis_data.planning.parallel import route_days
    from gis_data.planning.replan import CalendarSchedule, replan_schedule
    from optimizer.stop import MaxIterations

    started = time.perf_counter()
    scenario_id = _scenario_id(ctx)
    with ctx.session() as session:
        plan = _calendar_plan(session, scenario_id, inputs.get("calendar_plan_id"))
        calendar_id = plan.id
        schedule = CalendarSchedule.from_json(plan.result["schedule"])
        label_of = {int(v): str(k) for k, v in (plan.result.get("region_ids") or {}).items()}
        applied_logs = {int(i) for r in plan.result.get("replans", []) for i in r.get("logs", [])}
        marks = pending_marks(session, plan)
        mark_ids = [m.id for m in marks]
        missed, log_ids = _missed_from_logs(session, plan, applied_logs)
        routing = plan.result.get("routing") or {}
        iterations = int(routing.get("iterations", 10))
        seed = int(routing.get("seed", 0))
        shift_hours = float(routing.get("shift_hours", 8.0))
        # Crews out on each (date, region): a whole-region mark counts as all of them.
        crews_out: dict[tuple[dt.date, str], set[str]] = {}
        reasons: dict[tuple[dt.date, str], list[str]] = {}
        for mark in marks:
            key = (mark.service_date, label_of[mark.region_id])
            crews_out.setdefault(key, set()).add(mark.crew or "*")
            reasons.setdefault(key, []).append(mark.reason)
        old_versions: dict[tuple[dt.date, str], int] = {}
        for route in session.scalars(_light_routes(calendar_id)):
            if route.service_date is not None and route.region_id in label_of:
                key = (route.service_date, label_of[route.region_id])
                version = int(route.properties.get("version", 1))
                old_versions[key] = max(old_versions.get(key, 1), version)
    lost: dict[tuple[dt.date, str], int] = {}
    for (date, region), crews in crews_out.items():
        if date not in schedule.dates:
            continue  # not a working day of the calendar: nothing planned to lose
        pool = schedule.crews[schedule.regions.index(region)]
        lost[(date, region)] = pool if "*" in crews else min(pool, len(crews))
    ctx.progress(10, f"re-planning {len(lost)} lost days and {len(missed)} missed visits")
    try:
        replanned = replan_schedule(schedule, lost=lost, missed=missed)
    except ValueError as exc:
        raise JobInputError(str(exc)) from exc
    # Days that changed only because a log showed visits missed are past: their routes stay.
    region_of_asset = {
        a: schedule.regions[t.pool]
        for a, t in zip(schedule.task_assets, schedule.tasks, strict=True)
    }
    logged_only = (
        {(d, region_of_asset[a]) for d, a in missed}
        - set(lost)
        - {(m[3], m[1]) for m in replanned.moves}
    )
    reroute = sorted(replanned.changed - logged_only)
    keys = []
    for date, region in reroute:
        day = schedule.day_index(date)
        assets = replanned.schedule.day_assets(day, region)
        keys.append((assets, schedule.depots[schedule.regions.index(region)]))
    routed: dict[tuple[frozenset[str], str], Any] = {}
    if any(a for a, _ in keys):
        setup = _setup(ctx)
        router = setup.router(
            stop=MaxIterations(iterations),
            seed=seed,
            shift_hours=shift_hours,
            keep_geometry=True,
            orphans=True,
        )
        ctx.progress(40, f"re-routing {len(reroute)} days")
        from service.parallel import solve_mapper

        with solve_mapper() as client:
            routed = route_days(router, keys, client=client)
    now = utcnow()
    late = [x.to_dict() for x in replanned.late]
    summary = {
        "calendar_plan_id": calendar_id,
        "lost_days": [
            {"date": d.isoformat(), "region": r, "crews": n} for (d, r), n in lost.items()
        ],
        "missed_visits": len(missed),
        "first_changed_date": replanned.first_date.isoformat() if replanned.first_date else None,
        "days_rerouted": len(reroute),
        "moves": len(replanned.moves),
        "late_assets": len(late),
        "seconds": round(time.perf_counter() - started, 2),
    }
    region_id_of = {v: k for k, v in label_of.items()}
    record = {
        "at": now.isoformat(),
        "marks": mark_ids,
        "logs": log_ids,
        "days": [f"{d.isoformat()}/{r}" for d, r in reroute],
        "late": late,
    }

    def store(session: Session) -> int:
        replan_plan = crud.create_plan(
            session=session,
            scenario_id=scenario_id,
            kind=REPLAN_KIND,
            name=f"re-plan of calendar {calendar_id}",
            parameters={"calendar_plan_id": calendar_id},
            summary=summary,
            result={
                **record,
                "moves": [
                    {"asset_id": a, "region": r, "from": s.isoformat(), "to": t.isoformat()}
                    for a, r, s, t in replanned.moves
                ],
            },
            job_id=ctx.job_id,
        )
        calendar = session.get(Plan, calendar_id)
        assert calendar is not None
        for (date, region), key in zip(reroute, keys, strict=True):
            region_id = region_id_of.get(region)
            day = schedule.day_index(date)
            session.execute(
                delete(Route).where(
                    Route.plan_id == calendar_id,
                    Route.service_date == date,
                    Route.region_id == region_id
                    if region_id is not None
                    else Route.region_id.is_(None),
                )
            )
            routes = routed.get(key)
            rows = (
                _route_rows(routes, date=date, day=day, region=region, key=_day_key(*key))
                if routes is not None
                else []
            )
            changes = replanned.changes_of(date, region, schedule)
            changes["reasons"] = reasons.get((date, region), [])
            for row in rows:
                row["properties"].update(
                    version=old_versions.get((date, region), 1) + 1,
                    changed_at=now.isoformat(),
                    changes=changes,
                    replan_id=replan_plan.id,
                )
            if rows:
                _insert_routes(session, calendar, region_id, rows)
        calendar.result = {
            **calendar.result,
            "schedule": replanned.schedule.to_json(),
            "replans": [*calendar.result.get("replans", []), {**record, "id": replan_plan.id}],
        }
        for mark in session.scalars(select(PatrolDayMark).where(PatrolDayMark.id.in_(mark_ids))):
            mark.applied_plan_id = replan_plan.id
        return replan_plan.id

    return JobOutcome(result={"kind": REPLAN_KIND, "summary": summary, "late": late}, store=store)


register_process(
    Process(
        id=KIND,
        title="Patrol calendar",
        description="Which assets each region's crews patrol on each working day, routed; every"
        " crew-day's route is stored for the contractors (identical days share one solve).",
        function="service.calendar_jobs:run_calendar",
        schema=CalendarInputs,
        inputs={
            **_ENGINE_INPUTS,
            "regions_plan_id": "regions plan whose contract regions the calendar follows (the"
            " latest; without one, `regions` whole-town regions that contractors cannot read)",
        },
    )
)
register_process(
    Process(
        id=REPLAN_KIND,
        title="Re-plan the patrol calendar",
        description="Move the work of days marked unavailable and of visits the patrol logs show"
        " missed to later working days inside their intervals; re-route only the changed days;"
        " report the assets that will be late.",
        function="service.calendar_jobs:run_replan",
        schema=ReplanInputs,
        inputs={
            "scenario_id": "the scenario (integer)",
            "calendar_plan_id": "the calendar plan to re-plan (the latest)",
        },
    )
)
