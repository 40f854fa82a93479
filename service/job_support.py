"""What every job shares: its scenario from the stored rows, its settings, typed inputs, the
stored plan. The process modules (`processes`, `calendar_jobs`, `workbench_jobs`) import this,
never each other."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy.orm import Session

from service import crud
from service.frames import json_value
from service.jobs import JobContext, JobInputError, JobOutcome

_Request = TypeVar("_Request", bound=BaseModel)


def _scenario_id(ctx: JobContext) -> int:
    if ctx.scenario_id is None:
        raise JobInputError("inputs.scenario_id is required")
    return ctx.scenario_id


def load_job_scenario(ctx: JobContext, *, need_network: bool) -> Any:
    """The job's scenario from its stored rows (towns, boundaries, assets, depots, network)."""
    from service.stored_scenario import IncompleteScenarioError, load_stored_scenario

    scenario_id = _scenario_id(ctx)
    with ctx.session() as session:
        try:
            return load_stored_scenario(session, scenario_id, need_network=need_network)
        except IncompleteScenarioError as exc:
            raise JobInputError(str(exc)) from None


def has_network(scenario: Any) -> bool:
    """Whether a loaded scenario names a road network source (an OSM file or a road layer)."""
    return scenario.network_path is not None or scenario.network_lines is not None


def job_settings(ctx: JobContext) -> Any:
    """The scenario's stored planning settings (the defaults when none are stored)."""
    from gis_data.planning.plan_settings import settings_from_mapping

    with ctx.session() as session:
        data = crud.get_planning_settings(session=session, scenario_id=_scenario_id(ctx))
    try:
        return settings_from_mapping(data, where="planning settings")
    except ValueError as exc:
        raise JobInputError(str(exc)) from None


def plain(value: Any) -> Any:
    """Nested results made JSON-safe (NaN -> None, numpy -> Python, tuples -> lists)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return json_value(value)


# Job inputs that are not fields of a workflow request.
_JOB_KEYS = ("scenario_id", "name")


def workflow_request(model: type[_Request], inputs: dict[str, Any]) -> _Request:
    """The typed request of a workflow from job inputs; JobInputError lists every bad input."""
    from pydantic import ValidationError

    fields = {k: v for k, v in inputs.items() if k not in _JOB_KEYS}
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        raise JobInputError(input_errors(exc)) from None


def input_errors(exc: Any) -> str:
    """A pydantic ValidationError as one line per bad input: `inputs.k: message`."""
    lines = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ())) or "inputs"
        lines.append(f"inputs.{where}: {error.get('msg', 'invalid')}")
    return "; ".join(lines)


def _plan_setup(ctx: JobContext) -> Any:
    """The stored scenario with its road network built and its assets matched."""
    from gis_data.network.graph import NetworkError
    from gis_data.planning.plan_engine import PlanSetup

    ctx.progress(5, "loading the scenario, road network and matching")
    scenario = load_job_scenario(ctx, need_network=True)
    try:
        return PlanSetup.from_scenario(scenario)
    except NetworkError as exc:
        raise JobInputError(str(exc)) from None


def _store_plan(
    ctx: JobContext, kind: str, name: str, parameters: dict[str, Any], summary: dict[str, Any],
    result: dict[str, Any],
) -> JobOutcome:  # fmt: skip
    scenario_id = _scenario_id(ctx)

    def store(session: Session) -> int:
        plan = crud.create_plan(
            session=session,
            scenario_id=scenario_id,
            kind=kind,
            name=name,
            parameters=parameters,
            summary=summary,
            result=result,
            job_id=ctx.job_id,
        )
        return plan.id

    return JobOutcome(result={"kind": kind, "summary": summary, **result}, store=store)


_ENGINE_INPUTS = {
    "scenario_id": "the scenario (integer), loaded from a scenario TOML",
    "horizon": "a month YYYY-MM or a fiscal year FYYYYY (FY2026)",
    "regions": "contract regions of whole towns for the bundled plan (1)",
    "iterations": "routing iterations per day solve (10)",
    "seed": "random seed (0)",
}


def route_row_figures(route: Any) -> dict[str, Any]:
    """The figures stored with every route row (a traced `PatrolRoute`): crew, geometry, steps and
    the km/minutes properties that the pages and exports read."""
    from dataclasses import asdict

    return {
        "crew": str(route.crew + 1),
        "geom": route.geometry if not route.geometry.is_empty else None,
        "steps": [asdict(t) for t in route.traversals],
        "properties": {
            "km": round(route.km, 3),
            "minutes": round(route.total_s / 60.0, 1),
            "serve_minutes": round(route.serve_s / 60.0, 1),
            "deadhead_minutes": round(route.deadhead_s / 60.0, 1),
            "tasks": len(route.tasks),
            "depot_id": route.depot_id,
            "depot_name": route.depot_name,
        },
    }
