"""The processes jobs run: summary, regions, daily routes, calendar, effects and cost shares."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from gis_data.loading.summary import summarize
from service import crud
from service.frames import assets_frame, json_value
from service.job_support import (
    _ENGINE_INPUTS,
    _plan_setup,
    _scenario_id,
    _store_plan,
    has_network,
    job_settings,
    load_job_scenario,
    plain,
    route_row_figures,
    workflow_request,
)
from service.jobs import (
    JobContext,
    JobInputError,
    JobMessage,
    JobOutcome,
    Process,
    register_process,
)
from service.models import Plan
from service.process_inputs import (
    EffectsInputs,
    RegionsInputs,
    RoutesInputs,
    SharesInputs,
    SummaryInputs,
)

logger = logging.getLogger(__name__)


# -- summary -----------------------------------------------------------------------------------


def run_summary(ctx: JobContext, inputs: dict[str, Any]) -> JobOutcome:
    """Count, km and km² of the scenario's assets per municipality and field."""
    scenario_id = _scenario_id(ctx)
    ctx.progress(5, "reading assets")
    with ctx.session() as session:
        assets = assets_frame(session, scenario_id)
    ctx.progress(50, f"summarising {len(assets)} assets")
    rows = summarize(assets) if not assets.empty else []
    result = {"scenario_id": scenario_id, "asset_count": len(assets), "rows": rows}
    name = str(inputs.get("name") or "summary")

    def store(session: Session) -> int:
        plan = crud.create_plan(
            session=session,
            scenario_id=scenario_id,
            kind="summary",
            name=name,
            summary={"asset_count": len(assets)},
            result={"rows": rows},
            job_id=ctx.job_id,
        )
        return plan.id

    return JobOutcome(result=result, store=store)


# -- regions -----------------------------------------------------------------------------------


def run_regions(ctx: JobContext, inputs: dict[str, Any]) -> JobOutcome:
    """Balanced, contiguous contract regions (planning.regions) stored as a regions plan."""
    from gis_data.planning.plan_engine import asset_regions
    from gis_data.planning.regions import RegionRequest, plan_regions
    from gis_data.planning.workflows import RegionsRequest
    from optimizer.errors import InfeasibleError
    from optimizer.stop import MaxRuntime

    scenario_id = _scenario_id(ctx)
    request = workflow_request(RegionsRequest, inputs)
    k, whole_towns, seed = request.k, request.whole_towns, request.seed
    time_limit, balance, unit_km = request.time_limit, request.balance, request.unit_km
    straight_line = request.straight_line
    ctx.progress(2, "loading the scenario")
    scenario = load_job_scenario(ctx, need_network=False)
    graph = None
    if not straight_line and has_network(scenario):
        from gis_data.network.scenario_network import scenario_network

        ctx.progress(10, "building the road network")
        graph = scenario_network(scenario).network.graph
    ctx.progress(30, f"partitioning {len(scenario.assets)} assets into {k} regions")
    try:
        from service.workbench_jobs import survey_limits

        plan = plan_regions(
            scenario,
            RegionRequest(
                k=k,
                whole_towns=whole_towns,
                balance_tolerance=balance,
                limits=survey_limits(ctx, inputs),
            ),
            graph=graph,
            target_km=unit_km,
            stop=MaxRuntime(time_limit),
            seed=seed,
        )
    except (InfeasibleError, ValueError) as exc:
        raise JobInputError(str(exc)) from exc
    ctx.progress(90, "storing the regions")
    evaluation = plan.evaluation.to_dict()
    code_of = dict(
        zip(
            scenario.municipalities["municipality"].astype(str),
            scenario.municipalities["municipality_code"].astype(str),
            strict=True,
        )
    )
    by_region = {r["region"]: r for r in evaluation["regions"]}
    regions = []
    for row in plan.regions.itertuples(index=False):
        values = row._asdict()
        label = str(values["region"])
        towns = list(by_region.get(label, {}).get("towns", []))
        properties = {
            k2: json_value(v) for k2, v in values.items() if k2 not in ("geometry", "region")
        }
        properties["towns"] = towns
        regions.append((label, towns, properties, values["geometry"]))
    summary = {
        "k": k,
        "whole_towns": whole_towns,
        "balance": evaluation.get("balance"),
        "max_deviation_pct": evaluation.get("max_deviation_pct"),
        "mean_polsby_popper": evaluation.get("mean_polsby_popper"),
        "cut_edges": evaluation.get("cut_edges"),
        "contiguous": evaluation.get("contiguous"),
        "status": str(plan.result.status),
    }
    parameters = {
        "k": k,
        "whole_towns": whole_towns,
        "time_limit": time_limit,
        "seed": seed,
        "balance": balance,
        "unit_km": unit_km,
        "straight_line": straight_line,
    }
    assets_by_region = asset_regions(plan)
    name = str(inputs.get("name") or f"{k} regions")

    def store(session: Session) -> int:
        stored = crud.create_plan(
            session=session,
            scenario_id=scenario_id,
            kind="regions",
            name=name,
            parameters=parameters,
            summary=summary,
            result={"evaluation": evaluation, "asset_regions": assets_by_region},
            job_id=ctx.job_id,
        )
        for label, towns, properties, geom in regions:
            municipalities = (
                [{"code": code_of.get(t, t), "name": t} for t in towns] if whole_towns else []
            )
            crud.add_region(
                session=session,
                plan=stored,
                code=label,
                name=f"{label}: {', '.join(towns)}" if towns else label,
                municipalities=municipalities,
                properties=properties,
                geom=geom,
            )
        return stored.id

    return JobOutcome(
        result={"kind": "regions", "summary": summary, "evaluation": evaluation}, store=store
    )


# -- routes ------------------------------------------------------------------------------------


def _regions_plan(session: Session, scenario_id: int, plan_id: Any) -> Any:
    if plan_id is None:
        return crud.latest_plan(session=session, scenario_id=scenario_id, kind="regions")
    if not isinstance(plan_id, int):
        raise JobInputError(f"inputs.regions_plan_id must be an integer, got {plan_id!r}")
    plan = session.get(Plan, plan_id)
    if plan is None or plan.scenario_id != scenario_id or plan.kind != "regions":
        raise JobInputError(f"plan {plan_id} is not a regions plan of scenario {scenario_id}")
    return plan


@dataclass
class BestSoFar:
    """The routes job's listener of the bundled solve: its best cost so far and bound as the
    job's message (picklable: it runs where the bundled solve runs, a Dask worker)."""

    write: JobMessage
    bounded: bool = False

    def __call__(self, cost_s: int, bound_s: int | None, seconds: float) -> None:
        from gis_data.planning.patrol_plan import best_so_far_message

        # The first message with the bound is always written (it follows the first answer at
        # once, within the writer's interval).
        first_bound = bound_s is not None and not self.bounded
        self.bounded = self.bounded or bound_s is not None
        self.write(best_so_far_message(cost_s, bound_s), force=first_bound)


def run_routes(ctx: JobContext, inputs: dict[str, Any]) -> JobOutcome:
    """One day's patrol routes, bundled against each town x field alone (planning.patrol_plan).

    Each bundled crew route is stored with its ordered steps and assigned to the region of a
    regions plan (the given one or the latest) that holds most of the assets it serves.
    """
    from gis_data.planning.patrol_plan import PlanSettings, plan_patrols
    from gis_data.planning.workflows import RoutesRequest
    from optimizer.stop import MaxIterations
    from service.parallel import solve_mapper

    scenario_id = _scenario_id(ctx)
    request = workflow_request(RoutesRequest, inputs)
    time_limit, silo_time_limit = request.time_limit, request.silo_time_limit
    seed, shift_hours, iterations = request.seed, request.shift_hours, request.iterations
    raw_date = request.date
    try:
        service_date = dt.date.fromisoformat(str(raw_date)) if raw_date else dt.date.today()
    except ValueError:
        raise JobInputError(f"inputs.date must be YYYY-MM-DD, got {raw_date!r}") from None
    with ctx.session() as session:
        regions_plan = _regions_plan(session, scenario_id, inputs.get("regions_plan_id"))
        region_ids: dict[str, int] = {}
        asset_region: dict[str, str] = {}
        if regions_plan is not None:
            region_ids = {
                r.code: r.id for r in crud.list_regions(session=session, plan_id=regions_plan.id)
            }
            asset_region = dict(regions_plan.result.get("asset_regions") or {})
        regions_plan_id = regions_plan.id if regions_plan is not None else None
    ctx.progress(2, "loading the scenario")
    scenario = load_job_scenario(ctx, need_network=True)
    stages = iter((10, 25, 35, 60, 70, 75, 80, 85, 88, 90, 92, 94, 95, 96, 97, 98))

    def progress(message: str) -> None:
        ctx.progress(next(stages, 98), message)

    settings = PlanSettings(
        time_limit_s=time_limit,
        silo_time_limit_s=silo_time_limit,
        seed=seed,
        shift_hours=shift_hours,
        bundled_stop=None if iterations is None else MaxIterations(iterations),
        silo_stop=None if iterations is None else MaxIterations(iterations),
    )
    try:
        # The bundled plan and every town x field silo are independent Dask tasks.
        with solve_mapper() as client:
            comparison = plan_patrols(
                scenario,
                settings,
                progress=progress,
                client=client,
                on_best=BestSoFar(ctx.message_writer()),
            )
    except ValueError as exc:
        raise JobInputError(str(exc)) from exc
    bundled = comparison.bundled.totals()
    siloed = comparison.siloed_totals()
    saving = None
    if siloed["hours"]:
        saving = round(100.0 * (siloed["hours"] - bundled["hours"]) / siloed["hours"], 1)
    summary = {
        "bundled": bundled,
        "separate": siloed,
        "effect_vs_siloed_pct": saving,
        "unmatched": len(comparison.unmatched),
        "date": service_date.isoformat(),
        "regions_plan_id": regions_plan_id,
    }
    routes: list[dict[str, Any]] = []
    for route in comparison.bundled.routes:
        served = Counter(
            asset_region[a]
            for t in route.traversals
            if t.kind == "serve"
            for a in t.asset_ids
            if a in asset_region
        )
        label = served.most_common(1)[0][0] if served else None
        row = route_row_figures(route)
        row["properties"]["region"] = label
        routes.append({"region_id": region_ids.get(label) if label is not None else None, **row})
    parameters = {
        "time_limit": time_limit,
        "silo_time_limit": silo_time_limit,
        "seed": seed,
        "shift_hours": shift_hours,
        "iterations": iterations,
        "date": service_date.isoformat(),
        "regions_plan_id": regions_plan_id,
    }
    name = str(inputs.get("name") or f"routes {service_date.isoformat()}")

    def store(session: Session) -> int:
        stored = crud.create_plan(
            session=session,
            scenario_id=scenario_id,
            kind="routes",
            name=name,
            parameters=parameters,
            summary=summary,
            result={"separate": [p.totals() for p in comparison.siloed]},
            job_id=ctx.job_id,
        )
        for route in routes:
            crud.add_route(session=session, plan=stored, day=0, service_date=service_date, **route)
        return stored.id

    return JobOutcome(
        result={"kind": "routes", "summary": summary, "routes": len(routes)}, store=store
    )


# -- calendar, effects, cost shares (the `gunmane plan ...` engines) -------------------------------


def run_effects(ctx: JobContext, inputs: dict[str, Any]) -> JobOutcome:
    """The effect estimate (導入効果試算): siloed status quo against bundled patrols."""
    from gis_data.planning.workflows import EffectsRequest, compute_effects, effects_json
    from service.parallel import solve_mapper

    request = workflow_request(EffectsRequest, inputs)
    settings = job_settings(ctx)
    setup = _plan_setup(ctx)
    ctx.progress(20, "planning and routing the siloed and bundled calendars")
    with solve_mapper() as client:
        effects = compute_effects(setup, settings, request, client=client)
    data = plain(effects_json(effects, setup.town_names()))
    summary = {
        "horizon": data["horizon"],
        "comparison": data["comparison"],
        "routing_solves": data["routing_solves"],
    }
    parameters = request.model_dump(exclude_defaults=True)
    name = str(inputs.get("name") or f"effects {data['horizon']}")
    return _store_plan(ctx, "effects", name, parameters, summary, {"effects": data})


def run_cost_shares(ctx: JobContext, inputs: dict[str, Any]) -> JobOutcome:
    """Cost shares among towns: Shapley value of routed coalition costs, with the core check."""
    from gis_data.planning.workflows import SharesRequest, compute_shares, shares_json
    from service.parallel import solve_mapper

    request = workflow_request(SharesRequest, inputs)
    settings = job_settings(ctx)
    setup = _plan_setup(ctx)
    ctx.progress(20, "costing the coalitions of towns")
    with solve_mapper() as client:
        result = compute_shares(setup, settings, request, client=client)
    data = plain(shares_json(result))
    summary = {
        "total_yen": data["total_yen"],
        "towns": [
            {k: row.get(k) for k in ("code", "name", "alone_yen", "shapley_yen")}
            for row in data["towns"]
        ],
        "core_violations": data["core_violations"],
    }
    parameters = request.model_dump(exclude_defaults=True)
    name = str(inputs.get("name") or "cost shares")
    return _store_plan(ctx, "cost_shares", name, parameters, summary, {"shares": data})


for _process in (
    Process(
        id="summary",
        title="Scenario summary",
        description="Count, km of lines and km² of polygons per municipality and field.",
        function="service.processes:run_summary",
        schema=SummaryInputs,
        inputs={"scenario_id": "the scenario (integer)"},
    ),
    Process(
        id="regions",
        title="Contract regions",
        description="Partition the scenario into k balanced, contiguous contract regions.",
        function="service.processes:run_regions",
        schema=RegionsInputs,
        inputs={
            "scenario_id": "the scenario (integer)",
            "k": "number of regions (2)",
            "whole_towns": "keep every municipality whole (false)",
            "balance": "largest workload deviation from the mean, a fraction (0.05)",
            "time_limit": "seconds for the solver (10)",
            "seed": "random seed (0)",
            "straight_line": "straight-line travel instead of the road network (false)",
            "size_limit": "local-firm size limit from the contractor surveys: largest, median"
            " or jv (none)",
        },
    ),
    Process(
        id="routes",
        title="Daily patrol routes",
        description="One day's crew routes on the road network, bundled versus each town x "
        "field alone; routes are assigned to the regions of a regions plan.",
        function="service.processes:run_routes",
        schema=RoutesInputs,
        inputs={
            "scenario_id": "the scenario (integer)",
            "regions_plan_id": "regions plan to assign routes to (latest)",
            "date": "service date YYYY-MM-DD (today)",
            "time_limit": "seconds for the bundled solve (10)",
            "silo_time_limit": "seconds per separate solve (1)",
            "iterations": "stop each solve after N iterations instead (reproducible)",
            "shift_hours": "shift length (8)",
            "seed": "random seed (0)",
        },
    ),
    Process(
        id="effects",
        title="Effect estimate (導入効果試算)",
        description="Siloed status quo against bundled patrols: km, hours, crew-days, vehicles, "
        "yen, CO2 and staff hours, overall and per phase.",
        function="service.processes:run_effects",
        schema=EffectsInputs,
        inputs=_ENGINE_INPUTS,
    ),
    Process(
        id="cost_shares",
        title="Cost shares (費用分担)",
        description="Shapley value of routed coalition costs and simpler keys; core check.",
        function="service.processes:run_cost_shares",
        schema=SharesInputs,
        inputs={
            **_ENGINE_INPUTS,
            "sample_days": "working days routed per coalition (5; 0: all)",
            "exact_max": "exact Shapley up to N towns (10)",
            "permutations": "permutations of the sampled Shapley value (30)",
        },
    ),
):
    register_process(_process)

from service import calendar_jobs as _calendar_jobs  # noqa: E402, F401 - "calendar", "replan"
from service import plan_routing_jobs as _plan_routing_jobs  # noqa: E402, F401 - "plan_routing"
from service import workbench_jobs as _workbench_jobs  # noqa: E402, F401 - registers "frontier"
