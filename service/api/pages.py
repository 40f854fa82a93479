"""HTML pages: index, planner page, plan map and the contractor's daily route page."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from shapely.geometry import LineString

from gis_data.network.patrol_log import read_gpx
from service import auth, crud
from service.api.maps import PageKey, page_tiles, readable_route, render_plan_map, require
from service.api.patrol_logs import (
    list_patrol_logs,
    patrol_coverage,
    photo_url,
    readable_log,
    stop_checks,
)
from service.browser_keys import KEY_COOKIE, set_key_cookie
from service.deps import SessionDep, principal_of
from service.drawn_plans import is_drawn
from service.errors import ServiceError
from service.i18n import check_lang, format_time, labels, other_lang
from service.map_data import (
    cached_planning_context,
    daily_route,
    patrol_route,
    planning_context,
    step_name,
    stored_plan_figures,
    town_outlines,
    warm_planning_context,
)
from service.maps import (
    LoggedTask,
    PlannerDepot,
    attribution_lines,
    comparison_table,
    patrol_log_page_html,
    planner_page_html,
    route_page_html,
)
from service.templating import render_template

logger = logging.getLogger(__name__)

router = APIRouter(tags=["pages"], include_in_schema=False)

Lang = Annotated[str, Query(pattern="^(ja|en)$")]
MAX_INDEX_ROUTES = 200
MAX_COMPARED = 6  # regions plans side by side on the planner page


def _visitor(request: Request, session: SessionDep) -> auth.Principal | None:
    """The start page's caller: a `?key=` (strict) or the session cookie (ignored if stale)."""
    key = request.query_params.get("key")
    if key:
        return principal_of(session, key)
    cookie = request.cookies.get(KEY_COOKIE)
    if not cookie:
        return None
    try:
        return principal_of(session, cookie)
    except ServiceError:
        return None  # a revoked key: show the sign-in form again


@router.post("/session", response_class=RedirectResponse)
def sign_in(
    request: Request,
    session: SessionDep,
    key: Annotated[str, Form(max_length=200)],
    lang: Annotated[str, Form(pattern="^(ja|en)$")] = "ja",
    next_url: Annotated[str, Form(alias="next", max_length=2000)] = "",
) -> RedirectResponse:
    """The sign-in forms (start page, error pages): a valid key goes to the session cookie.

    Back to ``next`` (a path on this site, as the error page's form sends) or the start page.
    """
    key = key.strip()
    try:
        principal = principal_of(session, key)
    except ServiceError:
        return RedirectResponse(f"/?lang={lang}&signin=failed", status_code=303)
    # Only a local path: never an open redirect to another site ("//host", "/\\host").
    local = next_url.startswith("/") and not next_url.startswith(("//", "/\\"))
    response = RedirectResponse(next_url if local else f"/?lang={lang}", status_code=303)
    max_age = request.app.state.settings.session_seconds(principal.role)
    set_key_cookie(response, key, secure=request.url.scheme == "https", max_age=max_age)
    return response


@router.get("/logout", response_class=RedirectResponse)
def sign_out(lang: Lang = "ja") -> RedirectResponse:
    """Forget the session cookie."""
    response = RedirectResponse(f"/?lang={check_lang(lang)}", status_code=303)
    response.delete_cookie(KEY_COOKIE, path="/")
    return response


@router.get("/", response_class=HTMLResponse)
def index(request: Request, session: SessionDep, lang: Lang = "ja") -> HTMLResponse:
    """Start page: scenarios with their planner and plan maps, or a contractor's routes."""
    language = check_lang(lang)
    scenarios: list[dict[str, Any]] = []
    routes: list[dict[str, Any]] = []
    regions_plans: list[int] = []
    routes_plans: list[int] = []
    principal = _visitor(request, session)
    if principal is not None:
        # Planners get every link; the GIS key the plan maps and region logs it may open.
        if principal.role in auth.READ_PLANS | auth.READ_FEATURES:
            rows, _count = crud.list_scenarios(session=session)
            for s in rows:
                plans = crud.list_plans(session=session, scenario_id=s.id)
                latest = next((p for p in plans if p.kind == "regions"), None)
                regions = crud.list_regions(session=session, plan_id=latest.id) if latest else []
                kinds = {p.kind for p in plans}
                scenarios.append(
                    {
                        "id": s.id,
                        "name": s.name,
                        "plans": plans,
                        "regions": regions,
                        # The report needs an effect estimate; the month view a stored calendar.
                        "has_report": "effects" in kinds,
                        "has_calendar": "calendar" in kinds,
                    }
                )
                regions_plans += [p.id for p in plans if p.kind == "regions"]
                routes_plans += [p.id for p in plans if p.kind == "routes"]
        if principal.role == "contractor":
            for region_id in sorted(principal.region_ids):
                region = crud.get_region(session=session, region_id=region_id)
                for r in crud.list_routes(session=session, region_id=region_id)[:MAX_INDEX_ROUTES]:
                    day = r.service_date.isoformat() if r.service_date else str(r.day)
                    routes.append({"id": r.id, "region": region.code, "crew": r.crew, "day": day})
    settings = request.app.state.settings
    html = render_template(
        "index.html",
        lang=language,
        other_lang=other_lang(language),
        t=labels(language),
        scenarios=scenarios,
        routes=routes,
        compare_ids=",".join(str(i) for i in regions_plans + routes_plans),
        signed_in=principal is not None,
        can_plan=principal is not None and principal.role in auth.READ_PLANS,
        can_edit=principal is not None and principal.role in auth.WRITE_PLANS,
        signin_failed=request.query_params.get("signin") == "failed",
        docs_url=request.app.docs_url or "/docs",
        ogc_url=f"{settings.OGC_PREFIX}/",
        attributions=attribution_lines(n03=False),
        map=None,
    )
    return HTMLResponse(html)


@router.get("/planner", response_class=HTMLResponse)
def planner(
    request: Request,
    session: SessionDep,
    principal: PageKey,
    scenario: Annotated[int, Query(description="scenario id")],
    k: Annotated[int | None, Query(ge=1, le=20)] = None,
    lang: Lang = "ja",
) -> HTMLResponse:
    """Draw regions or click towns into regions 1..k; evaluate; compare with the optimized plan."""
    require(principal, auth.WRITE_PLANS)
    row = crud.get_scenario(session=session, scenario_id=scenario)
    towns, n03 = town_outlines(session, row)
    if towns.empty:
        raise ServiceError(409, "no-towns", f"scenario {scenario} has no towns to draw on")
    plans = list(crud.list_plans(session=session, scenario_id=scenario, kind="regions"))
    # The optimized column: the newest plan of the regions job (plans stored from this page
    # are compared below, not taken for the optimum).
    latest = next((p for p in plans if not is_drawn(p)), plans[0] if plans else None)
    regions_of_latest = crud.list_regions(session=session, plan_id=latest.id) if latest else []
    k = k or max(len(regions_of_latest), 2)
    context = cached_planning_context(session, row)
    if context is None:
        warm_planning_context(request.app.state.session_factory, row.id)
    optimized = None
    comparisons: list[tuple[str, dict[str, Any]]] = []
    for plan in plans[:MAX_COMPARED]:
        figures = stored_plan_figures(session, plan, context)
        if figures is not None:
            comparisons.append((plan.name or f"{plan.kind} {plan.id}", figures))
            if plan is latest:
                optimized = figures
    prefix = request.app.state.settings.API_PREFIX
    html = planner_page_html(
        towns,
        k=k,
        evaluate_url=f"{prefix}/plans/evaluate",
        save_url=f"{prefix}/plans/drawn",
        scenario=str(row.id),
        optimized=optimized,
        comparisons=comparisons,
        lang=lang,
        n03=n03,
        compare_plan=latest.id if latest is not None else None,
        title=row.name,
        tiles=page_tiles(request),
        depots=[
            PlannerDepot(depot_id=d.depot_id, name=d.name, kind=d.kind)
            for d in crud.list_depots(session=session, scenario_id=row.id)
        ],
    )
    return HTMLResponse(html)


@router.get("/compare", response_class=HTMLResponse)
def compare(
    session: SessionDep,
    principal: PageKey,
    plans: Annotated[
        str, Query(description="regions or routes plan ids, comma separated", max_length=200)
    ],
    lang: Lang = "ja",
) -> HTMLResponse:
    """Plans of one or several scenarios side by side (figures as on the planner).

    A routes plan shows the figures of the regions plan it was routed for, its routed day
    (hours, km) and its saving against each town alone; other kinds are named as not comparable.
    """
    require(principal, auth.READ_PLANS)
    language = check_lang(lang)
    try:
        ids = [int(p) for p in plans.split(",") if p.strip()]
    except ValueError:
        raise ServiceError(422, "invalid-request", f"plans: not a list of ids: {plans!r}") from None
    columns: list[tuple[str, dict[str, Any]]] = []
    skipped: list[str] = []
    for plan_id in ids[: MAX_COMPARED * 2]:
        plan = crud.get_plan(session=session, plan_id=plan_id)
        scenario = crud.get_scenario(session=session, scenario_id=plan.scenario_id)
        context = cached_planning_context(session, scenario)
        name = f"{scenario.name}: {plan.name or plan.id}"
        figures: dict[str, Any] | None = None
        if context is None and plan.kind in ("regions", "routes"):
            # Measured like a drawn plan once the scenario's units are built (the first time
            # takes a while): built here, as the planner page would.
            context = planning_context(session, scenario)
        if plan.kind == "routes":
            figures = _routes_figures(session, plan, context)
        elif plan.kind == "regions":
            figures = stored_plan_figures(session, plan, context)
        if figures is None:
            skipped.append(name)
        else:
            columns.append((name, figures))
    html = render_template(
        "compare.html",
        lang=language,
        other_lang=other_lang(language),
        t=labels(language),
        rows=comparison_table(columns, lang=language) if columns else [],
        skipped=skipped,
        attributions=attribution_lines(n03=False),
        map=None,
    )
    return HTMLResponse(html)


def _routes_figures(session: SessionDep, plan: Any, context: Any) -> dict[str, Any]:
    """A routes plan's column: its regions plan's figures, its routed day, its saving."""
    summary = plan.summary if isinstance(plan.summary, dict) else {}
    figures: dict[str, Any] = {}
    regions_id = summary.get("regions_plan_id") or (plan.parameters or {}).get("regions_plan_id")
    if regions_id is not None:
        try:
            regions_plan = crud.get_plan(session=session, plan_id=int(regions_id))
        except ServiceError:
            regions_plan = None
        if regions_plan is not None:
            figures.update(stored_plan_figures(session, regions_plan, context) or {})
    bundled = dict(summary.get("bundled") or {})
    if bundled.get("hours") is None:
        # No totals stored with the plan: the sum of its stored routes.
        props = [r.properties or {} for r in crud.list_routes(session=session, plan_id=plan.id)]
        if props:
            bundled["hours"] = sum(float(p.get("minutes") or 0.0) for p in props) / 60.0
            bundled["km"] = sum(float(p.get("km") or 0.0) for p in props)
    if bundled.get("hours") is not None:
        figures["routed_day_hours"] = float(bundled["hours"])
    if bundled.get("km") is not None:
        figures["routed_day_km"] = float(bundled["km"])
    if bundled.get("gap_to_bound_pct") is not None:
        figures["routed_gap_pct"] = float(bundled["gap_to_bound_pct"])
    if summary.get("effect_vs_siloed_pct") is not None:
        figures["effect_vs_siloed_pct"] = float(summary["effect_vs_siloed_pct"])
    return figures


@router.get("/plans/{plan_id}/map", response_class=HTMLResponse)
def plan_map_page(
    request: Request, plan_id: int, session: SessionDep, principal: PageKey, lang: Lang = "ja"
) -> HTMLResponse:
    """The plan map page (same as the API's map, with the key taken from the link)."""
    require(principal, auth.READ_PLANS | auth.READ_FEATURES)
    return HTMLResponse(render_plan_map(session, plan_id, lang, tiles=page_tiles(request)))


@router.get("/contractor/routes/{route_id}", response_class=HTMLResponse)
def contractor_route(
    request: Request, route_id: int, session: SessionDep, principal: PageKey, lang: Lang = "ja"
) -> HTMLResponse:
    """A crew's daily route for a phone: map, step list, GPX (track) and KML downloads."""
    route = readable_route(session, principal, route_id)
    region_code = ""
    if route.region_id is not None:
        region_code = crud.get_region(session=session, region_id=route.region_id).code
    prefix = request.app.state.settings.API_PREFIX
    clock = page_clock(request, lang)
    logs = [
        {
            "created_at": clock(plan.created_at),
            "file": plan.parameters.get("file") or labels(check_lang(lang))["checked_by_hand"],
            "url": f"/patrol-logs/{plan.id}?lang={lang}",
            "photo": photo_url(plan, prefix),
            **plan.summary,
        }
        for plan in crud.list_plans(
            session=session, scenario_id=route.scenario_id, kind="patrol_log"
        )
        if plan.parameters.get("route_id") == route.id
    ]
    html = route_page_html(
        daily_route(route, region_code=region_code, lang=check_lang(lang)),
        lang=lang,
        gpx_url=f"{prefix}/routes/{route.id}/gpx?lang={lang}",
        kml_url=f"{prefix}/routes/{route.id}/kml?lang={lang}",
        upload_url=f"{prefix}/routes/{route.id}/patrol-logs" if principal.role != "gis" else None,
        logs=logs,
        tiles=page_tiles(request),
        time_zone=request.app.state.settings.TIME_ZONE,
        check_url=(
            f"{prefix}/routes/{route.id}/stop-checks?lang={lang}"
            if principal.role != "gis"
            else None
        ),
        checked={
            task: {"time": clock(c["time"]), "note": c["note"], "photo": c["photo"]}
            for task, c in stop_checks(session, route, prefix).items()
        },
    )
    return HTMLResponse(html)


MAX_TRACK_POINTS = 5000  # fixes drawn on a patrol log page (thinned beyond)


def page_clock(request: Request, lang: str) -> Callable[[dt.datetime | str | None], str]:
    """Times as this service's pages show them: the town's zone, one format (see format_time)."""
    settings = request.app.state.settings
    language = check_lang(lang)

    def clock(value: dt.datetime | str | None) -> str:
        return format_time(value, lang=language, zone=settings.TIME_ZONE, era=settings.JAPANESE_ERA)

    return clock


@router.get("/patrol-logs/{log_id}", response_class=HTMLResponse)
def patrol_log_page(
    request: Request, log_id: int, session: SessionDep, principal: PageKey, lang: Lang = "ja"
) -> HTMLResponse:
    """A stored patrol log: the GPS track over the day's tasks, covered or missed, with times."""
    plan = readable_log(session, principal, log_id)
    clock = page_clock(request, lang)
    report = plan.result.get("report") or {}
    places: dict[str, LineString] = {}
    route_id = plan.parameters.get("route_id")
    if route_id is not None:
        route = crud.get_route(session=session, route_id=int(route_id))
        for step in patrol_route(route).traversals:
            if step.kind == "serve" and step.task_id and step.coords:
                coords = list(step.coords) if len(step.coords) >= 2 else [step.coords[0]] * 2
                places.setdefault(step.task_id, LineString(coords))
    language = check_lang(lang)

    def named(task: dict[str, Any]) -> str:
        """The task's name in the page's words (never empty, never its task id)."""
        ids = [str(a) for a in task.get("asset_ids") or ()]
        own = step_name(str(task.get("name") or ""), language, ids)
        return own or labels(language)["stop" if task.get("kind") == "node" else "unnamed_road"]

    tasks = [
        LoggedTask(
            task_id=str(task["task_id"]),
            name=named(task),
            covered=bool(task.get("covered")),
            time=clock(task.get("time")) if task.get("time") else None,
            geometry=places.get(str(task["task_id"])),
            assets=", ".join(str(a) for a in task.get("asset_ids") or ()),
            note=str(task.get("note") or ""),
        )
        for task in report.get("tasks", [])
    ]
    track: list[tuple[float, float]] = []
    if plan.result.get("gpx"):
        fixes = read_gpx(plan.result["gpx"], source=str(plan.parameters.get("file", "track.gpx")))
        stride = max(1, len(fixes) // MAX_TRACK_POINTS)
        track = [(p.lon, p.lat) for p in fixes[::stride]]
    when = plan.parameters.get("service_date") or plan.created_at.date().isoformat()
    title = f"{plan.parameters.get('file') or labels(language)['checked_by_hand']} ({when})"
    summary = dict(plan.summary)
    summary["start"], summary["end"] = clock(summary.get("start")), clock(summary.get("end"))
    html = patrol_log_page_html(
        title=title,
        track=track,
        tasks=tasks,
        summary=summary,
        lang=lang,
        tiles=page_tiles(request),
        photo=photo_url(plan, request.app.state.settings.API_PREFIX),
    )
    return HTMLResponse(html)


MAX_OVERDUE_ROWS = 300


@router.get("/regions/{region_id}/patrol-logs", response_class=HTMLResponse)
def region_logs_page(
    request: Request,
    region_id: int,
    session: SessionDep,
    principal: PageKey,
    lang: Lang = "ja",
    as_of: Annotated[dt.datetime | None, Query(description="check at (default now)")] = None,
    since: Annotated[dt.datetime | None, Query(description="contract start")] = None,
) -> HTMLResponse:
    """A region's patrol logs and, per asset, whether the contract's interval was kept."""
    language = check_lang(lang)
    region = crud.get_region(session=session, region_id=region_id)
    logs = list_patrol_logs(region_id, session, request.app.state.settings, principal)["items"]
    coverage = patrol_coverage(region_id, session, principal, as_of=as_of, since=since)
    overdue = [item for item in coverage["items"] if item["overdue"]][:MAX_OVERDUE_ROWS]
    html = render_template(
        "region_logs.html",
        lang=language,
        other_lang=other_lang(language),
        t=labels(language),
        region=region,
        logs=logs,
        coverage=coverage,
        overdue=overdue,
        when=page_clock(request, language),
        attributions=attribution_lines(n03=False),
        map=None,
    )
    return HTMLResponse(html)
