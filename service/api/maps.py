"""Map endpoints: plan map HTML, evaluation of drawn plans, route downloads (GPX track, KML)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from gis_data.network.adapters import PatrolRoute
from gis_data.network.export import routes_to_gpx, routes_to_kml
from gis_data.planning.depot_choice import depot_choice_problems
from service import auth, crud
from service.api.jobs import job_public, start_job
from service.browser_keys import cookie_key
from service.deps import JobsDep, SessionDep, SettingsDep, principal_of
from service.drawn_plans import store_drawn_plan, stored_plan_depots
from service.errors import ServiceError
from service.i18n import Lang, check_lang, export_words, t
from service.map_data import (
    PlanningContext,
    evaluate_drawn,
    patrol_route,
    plan_asset_regions,
    plan_layers,
    planning_context,
    step_name,
    stored_plan_figures,
    stored_plan_polygons,
    stored_plan_towns,
)
from service.maps import Tiles, plan_map_html
from service.models import Route, Scenario
from service.plan_routing_jobs import (
    PROCESS_ID,
    cached_routing,
    routing_key,
    routing_settings,
    running_routing,
    scenario_stamp,
)
from service.schemas import JobPublic, PlanPublic

router = APIRouter(tags=["maps"])


def page_key(
    request: Request,
    session: SessionDep,
    key: Annotated[str | None, Query(description="API key (download links, scripts)")] = None,
    x_api_key: Annotated[str | None, Header(description="API key")] = None,
    authorization: Annotated[str | None, Header(description="Bearer <API key>")] = None,
) -> auth.Principal:
    """The caller from a header, `?key=` (browsers exchange it for the cookie) or the cookie."""
    found = auth.key_from_headers(x_api_key, authorization) or key or cookie_key(request)
    return principal_of(session, found)


PageKey = Annotated[auth.Principal, Depends(page_key)]


def require(principal: auth.Principal, roles: frozenset[str]) -> None:
    """403 unless the caller has one of ``roles``."""
    if principal.role not in roles:
        raise ServiceError(403, "forbidden", f"the role {principal.role!r} may not do this")


def readable_route(session: SessionDep, principal: auth.Principal, route_id: int) -> Any:
    """The route if the caller may read it; 404 for a contractor asking for another region."""
    require(principal, auth.READ_ROUTES)
    route = crud.get_route(session=session, route_id=route_id)
    if not principal.may_read_region(route.region_id):
        raise ServiceError(404, "not-found", f"route {route_id} not found")
    return route


class EvaluateRequest(BaseModel):
    """A plan drawn on the planner page: polygons with a region each, or towns per region."""

    scenario: int = Field(description="scenario id")
    k: int | None = Field(default=None, ge=1, le=100, description="regions the planner uses")
    polygons: dict[str, Any] | None = Field(
        default=None, description="GeoJSON FeatureCollection; properties.region on each polygon"
    )
    towns: dict[str, int | str] = Field(
        default_factory=dict, description="municipality code -> region"
    )
    compare_plan: int | None = Field(
        default=None, description="a stored regions plan whose figures come back as `optimized`"
    )
    depots: dict[str, str] = Field(
        default_factory=dict,
        description="region -> id of the scenario depot its crews start from; a region not"
        " named gets the contractor yards in its towns, else the yard nearest its work",
    )
    lang: str = Field(default="ja", pattern="^(ja|en)$", description="language of `errors`")


class EvaluateResponse(BaseModel):
    """Headline figures (page keys), one row per region and the problems found."""

    plan_kind: str | None
    figures: dict[str, Any]
    regions: list[dict[str, Any]]
    problems: list[str]
    errors: list[dict[str, str]] = Field(
        default_factory=list,
        description="why the plan is not scored (overlaps, double or missing work, empty regions)",
    )
    optimized: dict[str, Any] | None = None


ErrorLang = Annotated[
    str | None,
    Query(pattern="^(ja|en)$", description="language of error messages (else the body's `lang`)"),
]


def plan_labels(
    polygons: Mapping[str, Any] | None, towns: Mapping[str, int | str], k: int | None
) -> set[str]:
    """The regions a drawn plan speaks of: 1..k, the clicked towns' and the drawn polygons'."""
    found = {str(r) for r in range(1, (k or 0) + 1)} | {str(r) for r in towns.values()}
    features = (polygons or {}).get("features")
    for feature in features if isinstance(features, list) else []:
        # A malformed feature is named by the evaluation itself (422 invalid-plan).
        properties = feature.get("properties") if isinstance(feature, dict) else None
        if isinstance(properties, dict) and properties.get("region") is not None:
            found.add(str(properties["region"]))
    return found


_DEPOT_PROBLEM_KEYS = {"region": "depot_unknown_region", "depot": "depot_unknown"}


def chosen_depots(
    session: SessionDep, scenario_id: int, depots: Mapping[str, str], regions: set[str], lang: Lang
) -> dict[str, str]:
    """Region -> name of each depot chosen for a region; 422 ``invalid-depot`` naming every
    region that is not in the plan and every depot id the scenario does not have."""
    stored = crud.list_depots(session=session, scenario_id=scenario_id)
    names = {d.depot_id: d.name or d.depot_id for d in stored}
    problems = [
        {
            "region": p.region,
            "depot": p.depot,
            "code": p.code,
            "message": t(_DEPOT_PROBLEM_KEYS[p.code], lang).format(region=p.region, depot=p.depot),
        }
        for p in depot_choice_problems(depots, depot_ids=names, regions=regions)
    ]
    if problems:
        detail = " / ".join(p["message"] for p in problems)
        raise ServiceError(422, "invalid-depot", detail, details=problems)
    return {region: names[depot] for region, depot in depots.items()}


@dataclasses.dataclass(frozen=True)
class _Evaluated:
    """A drawn plan checked and evaluated: what Evaluate and storing a plan both start from."""

    lang: Lang
    scenario: Scenario
    context: PlanningContext
    answer: dict[str, Any]


def _evaluate_body(
    session: SessionDep, body: EvaluateRequest, lang: str | None, **out: Any
) -> _Evaluated:
    """The language, the scenario, the depots chosen per region (422 invalid-depot), the
    planning units and `evaluate_drawn`'s answer (``out``: its out-parameters)."""
    language = check_lang(lang or body.lang)
    scenario = crud.get_scenario(session=session, scenario_id=body.scenario)
    regions = plan_labels(body.polygons, body.towns, body.k)
    names = chosen_depots(session, scenario.id, body.depots, regions, language)
    context = planning_context(session, scenario)
    answer = evaluate_drawn(
        context,
        polygons=body.polygons,
        towns=body.towns,
        k=body.k,
        lang=language,
        depots=names,
        **out,
    )
    return _Evaluated(language, scenario, context, answer)


@router.post(
    "/plans/evaluate",
    response_model=EvaluateResponse,
    responses={422: {"description": "invalid-plan, invalid-depot (names region and depot)"}},
)
def evaluate(
    body: EvaluateRequest, session: SessionDep, principal: PageKey, lang: ErrorLang = None
) -> dict[str, Any]:
    """Evaluate a drawn plan: balance, contiguity, compactness, size, the depot chosen per
    region (routed figures come from ``/plans/evaluate/routing``)."""
    require(principal, auth.WRITE_PLANS)
    done = _evaluate_body(session, body, lang)
    if body.compare_plan is not None:
        plan = crud.get_plan(
            session=session, plan_id=body.compare_plan, scenario_id=done.scenario.id
        )
        done.answer["optimized"] = stored_plan_figures(session, plan, done.context)
    return done.answer


class RoutingJob(JobPublic):
    """The routing job of a plan; ``cached``: an earlier job of the same plan, already done."""

    cached: bool = False


@router.post(
    "/plans/evaluate/routing",
    response_model=RoutingJob,
    status_code=201,
    responses={200: {"model": RoutingJob, "description": "the plan was routed before (cached)"}},
)
def evaluate_routing(
    body: EvaluateRequest,
    session: SessionDep,
    jobs: JobsDep,
    settings: SettingsDep,
    principal: PageKey,
    response: Response,
    lang: ErrorLang = None,
) -> Any:
    """Route a drawn plan region by region from its depots, and each town alone (a job).

    201 with ``Location`` of the new job; 200 with the finished job when the same plan was
    routed before with the same data and settings (``cached``), or with the same plan's job still
    running (``cached`` false: its figures come when it ends). A plan that Evaluate does not
    score (overlaps, double or missing work, empty regions) is a 422 naming why. With nothing
    drawn and ``compare_plan`` given, the stored regions plan is routed (from the depots chosen
    when it was stored, unless ``depots`` names others). A region named in ``depots`` is routed
    from that depot (a 422 ``invalid-depot`` names an unknown one).
    """
    require(principal, auth.WRITE_PLANS)
    language = check_lang(lang or body.lang)
    scenario = crud.get_scenario(session=session, scenario_id=body.scenario)
    polygons, towns = body.polygons, body.towns
    drawn = bool(polygons and polygons.get("features"))
    chosen = body.depots
    if not towns and not drawn and body.compare_plan is not None:
        # Nothing drawn: route the stored plan, so both columns of the page are routed alike,
        # from the depots chosen when it was stored (unless the body names others).
        stored = crud.get_plan(session=session, plan_id=body.compare_plan, scenario_id=scenario.id)
        towns = stored_plan_towns(session, stored)
        polygons = None if towns else stored_plan_polygons(session, stored)
        chosen = body.depots or stored_plan_depots(stored)
    labels = plan_labels(polygons, towns, body.k)
    chosen_depots(session, scenario.id, chosen, labels, language)
    context = planning_context(session, scenario)
    unit_regions: dict[str, list[str]] = {}
    answer = evaluate_drawn(
        context,
        polygons=polygons,
        towns=towns,
        k=body.k,
        lang=language,
        unit_regions=unit_regions,
    )
    if answer["errors"]:
        detail = " / ".join(e["message"] for e in answer["errors"])
        raise ServiceError(422, "plan-not-scored", detail, details=answer["errors"])
    regions = plan_asset_regions(context, unit_regions)
    inputs: dict[str, Any] = {
        "scenario_id": scenario.id,
        "regions": regions,
        "time_limit": settings.EVALUATE_ROUTE_SECONDS,
        "seed": 0,
    }
    if settings.EVALUATE_ROUTE_ITERATIONS:
        inputs["iterations"] = settings.EVALUATE_ROUTE_ITERATIONS
    # Only regions that have work are routed (an empty one is an error above).
    depots = {r: d for r, d in chosen.items() if r in regions}
    if depots:
        inputs["depots"] = depots
    key = routing_key(
        scenario_stamp(session, scenario.id),
        routing_settings(inputs, settings.EVALUATE_ROUTE_SECONDS),
        regions,
        depots,
    )
    done = cached_routing(session, scenario.id, key)
    job = done if done is not None else running_routing(session, scenario.id, inputs)
    if job is not None:
        # The finished job of this plan (cached), or the same plan's job still running: no
        # second solve either way.
        public = job_public(job, settings.API_PREFIX).model_dump(mode="json")
        headers = {"Location": f"{settings.API_PREFIX}/jobs/{job.id}"}
        body_out = {**public, "cached": done is not None}
        return JSONResponse(body_out, status_code=200, headers=headers)
    started = start_job(
        session=session,
        jobs=jobs,
        settings=settings,
        principal=principal,
        response=response,
        process_id=PROCESS_ID,
        inputs=inputs,
        scenario_id=scenario.id,
    )
    return RoutingJob(**started.model_dump(), cached=False)


class DrawnPlanCreate(EvaluateRequest):
    """A drawn plan to store: the body of ``/plans/evaluate`` and the stored plan's name."""

    name: str = Field(default="", max_length=200, description="name of the stored plan")


@router.post(
    "/plans/drawn",
    response_model=PlanPublic,
    status_code=201,
    responses={
        422: {"description": "invalid-plan, invalid-depot, plan-not-scored (names why)"},
    },
)
def store_drawn(
    body: DrawnPlanCreate,
    session: SessionDep,
    settings: SettingsDep,
    principal: PageKey,
    response: Response,
    lang: ErrorLang = None,
) -> PlanPublic:
    """Store a drawn plan as a regions plan with the depot chosen per region (201, `Location`).

    It is checked as ``/plans/evaluate`` checks it, and stored only when it can be scored (else
    a 422 naming why, nothing stored). The stored plan is compared, mapped and routed like the
    regions job's plans: ``parameters.depots`` keeps the depots, and routing it
    (``/plans/evaluate/routing`` with ``compare_plan``) starts each region from its depot.
    """
    require(principal, auth.WRITE_PLANS)
    unit_regions: dict[str, list[str]] = {}
    evaluation: dict[str, Any] = {}
    done = _evaluate_body(session, body, lang, unit_regions=unit_regions, evaluation_out=evaluation)
    language, scenario, context, answer = done.lang, done.scenario, done.context, done.answer
    if answer["errors"]:
        detail = " / ".join(e["message"] for e in answer["errors"])
        raise ServiceError(422, "plan-not-scored", detail, details=answer["errors"])
    region_assets = plan_asset_regions(context, unit_regions)
    drawn = bool(body.polygons and body.polygons.get("features"))
    plan = store_drawn_plan(
        session,
        scenario_id=scenario.id,
        name=body.name.strip() or t("drawn_plan", language),
        k=body.k,
        polygons=body.polygons if drawn else None,
        towns=body.towns,
        evaluation=evaluation,
        figures=answer["figures"],
        region_assets=region_assets,
        depots={r: d for r, d in body.depots.items() if r in region_assets},
        depot_names={
            d.depot_id: d.name or d.depot_id
            for d in crud.list_depots(session=session, scenario_id=scenario.id)
        },
        municipalities=context.municipalities,
    )
    session.commit()
    response.headers["Location"] = f"{settings.API_PREFIX}/plans/{plan.id}"
    return PlanPublic.model_validate(plan)


@router.get("/plans/{plan_id}/map", response_class=HTMLResponse)
def plan_map(
    request: Request,
    plan_id: int,
    session: SessionDep,
    principal: PageKey,
    lang: Annotated[str, Query(pattern="^(ja|en)$")] = "ja",
) -> HTMLResponse:
    """The plan map (HTML, Folium): regions, routes, depots, assets by field, towns."""
    require(principal, auth.READ_PLANS | auth.READ_FEATURES)
    return HTMLResponse(render_plan_map(session, plan_id, lang, tiles=page_tiles(request)))


def page_tiles(request: Request) -> Tiles:
    """The background tiles the app's settings configure for map pages."""
    return Tiles.of(request.app.state.settings)


def render_plan_map(
    session: SessionDep, plan_id: int, lang: str, *, tiles: Tiles | None = None
) -> str:
    """The plan map page of a stored plan."""
    plan = crud.get_plan(session=session, plan_id=plan_id)
    title = plan.name or f"{plan.kind} {plan.id}"
    layers = plan_layers(session, plan)
    return plan_map_html(title=title, lang=lang, tiles=tiles or Tiles(), **layers)


def named_stops(patrol: PatrolRoute, lang: Lang) -> PatrolRoute:
    """The route with every stop named in ``lang`` (a bank walk in its words, an unnamed stop
    'stop'): downloads never show internal task ids."""
    steps = tuple(
        dataclasses.replace(tr, street=step_name(tr.street, lang, tr.asset_ids) or t("stop", lang))
        if tr.kind == "serve" and tr.task_kind == "node"
        else tr
        for tr in patrol.traversals
    )
    return dataclasses.replace(patrol, traversals=steps)


def route_download(
    route: Route, fmt: str, *, missing_code: str = "not-found", lang: str = "ja"
) -> Response:
    """A readable route as a GPX or KML attachment; 404 ``missing_code`` when it has no line."""
    language = check_lang(lang)
    name = f"route-{route.id}-{route.service_date or route.day}-crew{route.crew}"
    patrol = patrol_route(route)
    if patrol.geometry.is_empty:
        raise ServiceError(404, missing_code, f"route {route.id} has no geometry")
    patrol = named_stops(patrol, language)
    words = export_words(language)
    # The name a map app lists the file by, in the crew's words (the file name stays ASCII).
    title = t("export_title", language).format(day=route.service_date or route.day, crew=route.crew)
    if fmt == "gpx":
        text, media = routes_to_gpx([patrol], name=title, words=words), "application/gpx+xml"
    else:
        text = routes_to_kml([patrol], name=title, words=words)
        media = "application/vnd.google-earth.kml+xml"
    headers = {"Content-Disposition": f'attachment; filename="{name}.{fmt}"'}
    return Response(text, media_type=media, headers=headers)


@router.get("/routes/{route_id}/gpx", response_class=Response)
def route_gpx(
    route_id: int,
    session: SessionDep,
    principal: PageKey,
    lang: Annotated[str, Query(pattern="^(ja|en)$")] = "ja",
) -> Response:
    """The route as GPX 1.1: one track (apps follow it, no re-routing) and waypoints for stops."""
    return route_download(readable_route(session, principal, route_id), "gpx", lang=lang)


@router.get("/routes/{route_id}/kml", response_class=Response)
def route_kml(
    route_id: int,
    session: SessionDep,
    principal: PageKey,
    lang: Annotated[str, Query(pattern="^(ja|en)$")] = "ja",
) -> Response:
    """The route as KML 2.2: the line and a placemark per stop."""
    return route_download(readable_route(session, principal, route_id), "kml", lang=lang)
