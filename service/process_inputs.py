"""The inputs of every process as pydantic models: the workflow requests of
`gis_data.planning.workflows` plus the job's own keys (scenario, plan name).

They give the JSON Schemas of the OGC process descriptions and validate inputs when a job is
submitted (400 listing every bad input) rather than a job failing a moment later.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from gis_data.planning.workflows import (
    EffectsRequest,
    EngineRequest,
    RegionsRequest,
    RoutesRequest,
    SharesRequest,
)
from service.i18n import Lang, t

# Inputs every process that works on a scenario takes besides its request's fields.
JOB_KEYS = ("scenario_id", "name")


class JobInputs(BaseModel):
    """The scenario a job works on and the name of the plan it stores."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scenario_id: int = Field(ge=1, description="the scenario")
    name: str | None = Field(default=None, max_length=200, description="name of the stored plan")


class SummaryInputs(JobInputs):
    """Inputs of the summary process."""


class RegionsInputs(JobInputs, RegionsRequest):
    """Inputs of the regions process."""


class RoutesInputs(JobInputs, RoutesRequest):
    """Inputs of the routes process."""


class CalendarInputs(JobInputs, EngineRequest):
    """Inputs of the calendar process (routes stored for every crew-day)."""

    iterations: int = Field(default=10, ge=1, le=10**6, description="routing iterations per day")
    regions_plan_id: int | None = Field(
        default=None, ge=1, description="regions plan whose contract regions the calendar follows"
    )


class EffectsInputs(JobInputs, EffectsRequest):
    """Inputs of the effects process."""


class SharesInputs(JobInputs, SharesRequest):
    """Inputs of the cost shares process."""


class FrontierInputs(JobInputs):
    """Inputs of the k-frontier process."""

    max_k: int | None = Field(default=None, ge=1, le=30, description="largest k (the towns)")
    variants: Literal["both", "whole_towns", "cross_border"] = Field(
        default="both", description="whole-town and/or cross-border regions"
    )
    region_iterations: int = Field(default=30, ge=1, le=10_000, description="region iterations")
    iterations: int = Field(default=10, ge=0, le=10_000, description="routing iterations")
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="random seed")


class ReplanInputs(JobInputs):
    """Inputs of the re-plan process."""

    calendar_plan_id: int | None = Field(
        default=None, ge=1, description="the calendar plan to re-plan (the latest)"
    )


class PlanRoutingInputs(JobInputs):
    """Inputs of the plan-routing process: a candidate plan as region -> asset ids."""

    regions: dict[str, list[str]] = Field(
        min_length=1, description="region -> the asset ids of its work (every asset once)"
    )
    depots: dict[str, str] = Field(
        default_factory=dict,
        description="region -> the id of the depot it is routed from (a region not named:"
        " the yards in its towns, else the nearest yard)",
    )
    time_limit: float | None = Field(
        default=None, gt=0, le=120, description="seconds per 200 tasks of a solve (setting)"
    )
    iterations: int | None = Field(
        default=None, ge=1, le=10**6, description="N iterations per 200 tasks instead"
    )
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="random seed")
    shift_hours: float = Field(default=8.0, gt=0, le=24, description="shift length")


# pydantic error types worded in the catalogue (``ogc_input_<kind>``), with their aliases.
_INPUT_KINDS: Final = {
    "missing": "missing",
    "extra_forbidden": "extra_forbidden",
    "int_type": "int_type",
    "int_parsing": "int_type",
    "int_from_float": "int_type",
    "float_type": "float_type",
    "float_parsing": "float_type",
    "string_type": "string_type",
    "bool_type": "bool_type",
    "bool_parsing": "bool_type",
    "dict_type": "dict_type",
    "list_type": "list_type",
    "greater_than": "greater_than",
    "greater_than_equal": "greater_than_equal",
    "less_than": "less_than",
    "less_than_equal": "less_than_equal",
    "string_too_long": "string_too_long",
    "too_short": "too_short",
    "literal_error": "literal_error",
}


def _input_message(error: ErrorDetails, lang: Lang) -> str:
    """A pydantic error in ``lang``; a rare kind keeps pydantic's own words (English)."""
    kind = _INPUT_KINDS.get(error["type"])
    values = {**(error.get("ctx") or {}), "msg": error["msg"]}
    try:
        return t(f"ogc_input_{kind or 'other'}", lang).format(**values)
    except (KeyError, IndexError):  # a context pydantic words differently in some version
        return t("ogc_input_other", lang).format(msg=error["msg"])


def input_problems(
    model: type[BaseModel], inputs: dict[str, Any], lang: Lang = "en"
) -> list[dict[str, str]]:
    """Every bad input as {input, message}, the message in ``lang`` (empty when valid)."""
    try:
        model.model_validate(inputs)
    except ValidationError as exc:
        return [
            {
                "input": ".".join(str(p) for p in error.get("loc", ())) or "inputs",
                "message": _input_message(error, lang),
            }
            for error in exc.errors()
        ]
    return []


def ogc_inputs(model: type[BaseModel]) -> dict[str, Any]:
    """The OGC API - Processes `inputs` of a process description: one JSON Schema per input."""
    schema = model.model_json_schema()
    required = set(schema.get("required", ()))
    defs = schema.get("$defs")
    out: dict[str, Any] = {}
    for name, given in schema.get("properties", {}).items():
        prop = dict(given)
        if defs:
            prop["$defs"] = defs
        out[name] = {
            "title": prop.pop("title", name),
            "description": prop.get("description", ""),
            "schema": prop,
            "minOccurs": 1 if name in required else 0,
            "maxOccurs": 1,
        }
    return out


RESULT_OUTPUT: dict[str, Any] = {
    "result": {
        "title": "Result",
        "description": "The job's result: the kind of plan, its summary and the stored plan's id"
        " (GET /jobs/{id}/results; the plan itself under /plans/{plan_id}).",
        "schema": {
            "type": "object",
            "properties": {
                "kind": {"type": "string"},
                "summary": {"type": "object"},
                "plan_id": {"type": ["integer", "null"]},
            },
        },
    }
}
