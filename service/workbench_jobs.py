"""The ``frontier`` job: how many contracts? Regions, routes and local capacity for k = 1..n.

Registered as a process, so ``POST /api/v1/scenarios/{id}/plans/frontier`` (or the OGC
Processes execution) runs it on Dask; the k tasks fan out over the worker's client
(`service.parallel.solve_mapper`). Firms come from the scenario's answered contractor surveys.
"""

from __future__ import annotations

from typing import Any

from service.jobs import JobContext, JobInputError, JobOutcome, Process, register_process
from service.process_inputs import FrontierInputs

MAX_K = 30


def run_frontier(ctx: JobContext, inputs: dict[str, Any]) -> JobOutcome:
    """The k frontier of the scenario, stored as a plan of kind ``frontier``."""
    from pydantic import ValidationError

    from gis_data.workbench.frontier import VARIANTS, FrontierRequest, frontier_for_setup
    from service.job_support import _plan_setup, _scenario_id, _store_plan, input_errors, plain
    from service.parallel import solve_mapper
    from service.workbench import scenario_firms

    try:
        given = FrontierInputs.model_validate({**inputs, "scenario_id": _scenario_id(ctx)})
    except ValidationError as exc:
        raise JobInputError(input_errors(exc)) from None
    setup = _plan_setup(ctx)
    max_k = given.max_k or min(len(setup.town_names()), MAX_K)
    request = FrontierRequest(
        ks=tuple(range(1, max_k + 1)), variants=VARIANTS[given.variants], seed=given.seed
    )
    with ctx.session() as session:
        firms = scenario_firms(session, _scenario_id(ctx))
    with solve_mapper() as client:
        frontier = frontier_for_setup(
            setup,
            request,
            firms=firms,
            region_iterations=given.region_iterations,
            route_iterations=given.iterations,
            client=client,
            progress=ctx.progress,
        )
    data = plain(frontier.to_dict())
    summary = {
        "max_k": max_k,
        "within_capacity": data["within_capacity"],
        "firms_surveyed": data["firms_surveyed"],
        "siloed_cost_yen": data["siloed"]["cost_yen"],
    }
    keys = ("max_k", "variants", "seed", "iterations")
    parameters: dict[str, Any] = {k: inputs[k] for k in keys if k in inputs}
    name = given.name or f"frontier k=1..{max_k}"
    return _store_plan(ctx, "frontier", name, parameters, summary, {"frontier": data})


register_process(
    Process(
        id="frontier",
        title="How many contracts? (k frontier)",
        description="For k = 1..n contract regions (whole towns and cross-border): patrol cost "
        "and time, saving against siloed, the largest region's workload and crews, and the "
        "surveyed local firms able to carry it; each k an independent Dask task.",
        function="service.workbench_jobs:run_frontier",
        schema=FrontierInputs,
        inputs={
            "scenario_id": "the scenario (integer), loaded from a scenario TOML",
            "max_k": "largest k (the number of towns)",
            "variants": "both, whole_towns or cross_border (both)",
            "region_iterations": "region solver iterations per k (30)",
            "iterations": "routing iterations per region solve (10)",
            "seed": "random seed (0)",
        },
    )
)


def survey_limits(ctx: JobContext, inputs: dict[str, Any]) -> Any:
    """The region size limit from the scenario's contractor surveys (input ``size_limit``).

    ``largest`` (the biggest surveyed firm's crews), ``median`` or ``jv`` (see
    `gis_data.workbench.survey.size_limits`); absent: no limit.
    """
    from gis_data.planning.evaluate import SizeLimits
    from gis_data.workbench.survey import size_limits
    from service.job_support import _scenario_id
    from service.workbench import scenario_firms

    rule = inputs.get("size_limit")
    if rule is None:
        return SizeLimits()
    if rule not in ("largest", "median", "jv"):
        raise JobInputError(f"inputs.size_limit must be largest, median or jv, got {rule!r}")
    with ctx.session() as session:
        firms = scenario_firms(session, _scenario_id(ctx))
    if not firms:
        raise JobInputError("inputs.size_limit needs answered contractor surveys; there are none")
    return size_limits(firms, rule=str(rule))
