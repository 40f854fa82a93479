"""API schemas (Pydantic): a Create/Update/Public family per resource; tables are never returned."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["admin", "planner", "contractor", "gis"]
JobStatus = Literal["accepted", "running", "successful", "failed", "dismissed"]
PlanKind = Literal["summary", "regions", "routes", "calendar", "effects", "cost_shares"]


class _Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# -- scenarios ---------------------------------------------------------------------------------


class Municipality(BaseModel):
    """A municipality of a scenario: its national code (全国地方公共団体コード) and name."""

    code: str = Field(min_length=1, max_length=20)
    name: str = Field(default="", max_length=200)
    population: int | None = Field(default=None, ge=0, description="inhabitants")
    population_year: int | None = Field(
        default=None, ge=1900, le=2200, description="year of the population figure"
    )


# Fields shared by creation and reading.
class ScenarioBase(BaseModel):
    """What a scenario is made of: a name, municipalities and free settings."""

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    municipalities: list[Municipality] = Field(default_factory=list)
    settings: dict[str, Any] = Field(default_factory=dict)


# Body of POST /scenarios.
class ScenarioCreate(ScenarioBase):
    """A new scenario."""


# Body of PUT/PATCH /scenarios/{id}: `version` is the one read; a stale version gets 409.
class ScenarioUpdate(BaseModel):
    """Changes to a scenario; only the fields sent are changed (PATCH)."""

    version: int = Field(ge=1)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    municipalities: list[Municipality] | None = None
    settings: dict[str, Any] | None = None


# Returned by every scenario endpoint.
class ScenarioPublic(_Public, ScenarioBase):
    """A scenario as the API shows it."""

    id: int
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    asset_count: int = 0
    layer_count: int = 0


class ScenariosPublic(BaseModel):
    """A page of scenarios."""

    data: list[ScenarioPublic]
    count: int


# -- asset layers (uploads) --------------------------------------------------------------------


class LayerPublic(_Public):
    """An asset layer loaded into a scenario."""

    id: int
    scenario_id: int
    name: str
    municipality_code: str
    municipality: str
    field: str
    kind: str
    feature_count: int
    created_at: dt.datetime


class LayersPublic(BaseModel):
    """The layers of a scenario."""

    data: list[LayerPublic]
    count: int


class UploadPublic(BaseModel):
    """The result of an accepted upload: the layer made and any warnings."""

    layer: LayerPublic
    warnings: list[dict[str, Any]] = Field(default_factory=list)


# -- stop checks -------------------------------------------------------------------------------


MAX_NOTE_CHARS = 1000


# The fields of a stop ticked done by hand, in a JSON body or a form (the form may add a photo).
class StopCheckCreate(BaseModel):
    """One stop of a route ticked done by hand, with what the crew saw."""

    model_config = ConfigDict(extra="forbid")

    task_id: str = Field(max_length=200, description="the stop's task id (from the route)")
    note: str | None = Field(default="", max_length=MAX_NOTE_CHARS, description="what the crew saw")


# -- plans, regions, routes --------------------------------------------------------------------


class PlanCreate(BaseModel):
    """Parameters of a planning job; which ones apply depends on the kind."""

    name: str = Field(default="", max_length=200)
    parameters: dict[str, Any] = Field(default_factory=dict)


class PlanPublic(_Public):
    """A stored plan: its kind, parameters, summary and the job that made it."""

    id: int
    scenario_id: int
    name: str
    kind: str
    parameters: dict[str, Any]
    summary: dict[str, Any]
    job_id: str | None
    created_at: dt.datetime


class PlansPublic(BaseModel):
    """Plans of a scenario."""

    data: list[PlanPublic]
    count: int


class RegionPublic(_Public):
    """A contract region of a plan."""

    id: int
    plan_id: int
    scenario_id: int
    code: str
    name: str
    municipalities: list[Any]
    properties: dict[str, Any]


class RegionsPublic(BaseModel):
    """Regions of a plan."""

    data: list[RegionPublic]
    count: int


class RoutePublic(_Public):
    """One crew's route on one day: figures, steps and geometry as GeoJSON."""

    id: int
    plan_id: int
    scenario_id: int
    region_id: int | None
    crew: str
    day: int
    service_date: dt.date | None
    properties: dict[str, Any]
    steps: list[Any]
    geometry: dict[str, Any] | None = None


class RoutesPublic(BaseModel):
    """Routes of a region or plan."""

    data: list[RoutePublic]
    count: int


# -- jobs (OGC API - Processes) ----------------------------------------------------------------


class Link(BaseModel):
    """A web link as in the OGC APIs."""

    href: str
    rel: str
    type: str | None = None
    title: str | None = None


class JobPublic(BaseModel):
    """A job's status info (OGC API - Processes `statusInfo`)."""

    jobID: str  # noqa: N815 - OGC API - Processes names
    processID: str  # noqa: N815
    type: Literal["process"] = "process"
    status: JobStatus
    message: str
    progress: int = Field(ge=0, le=100)
    created: dt.datetime
    started: dt.datetime | None = None
    finished: dt.datetime | None = None
    updated: dt.datetime | None = None
    scenario_id: int | None = None
    plan_id: int | None = None
    links: list[Link] = Field(default_factory=list)


class JobsPublic(BaseModel):
    """A job list (OGC API - Processes `jobList`)."""

    jobs: list[JobPublic]
    links: list[Link] = Field(default_factory=list)


class ProcessSummary(BaseModel):
    """A process that can be executed as a job."""

    id: str
    title: str
    description: str
    version: str = "1.0.0"
    jobControlOptions: list[str] = Field(default_factory=lambda: ["async-execute"])  # noqa: N815
    links: list[Link] = Field(default_factory=list)


class ProcessDescription(ProcessSummary):
    """A process with its inputs and outputs, each with a JSON Schema (OGC process description)."""

    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, Any] = Field(default_factory=dict)


class Conformance(BaseModel):
    """The conformance classes the API implements."""

    conformsTo: list[str]  # noqa: N815


class ProcessList(BaseModel):
    """The processes offered."""

    processes: list[ProcessSummary]
    links: list[Link] = Field(default_factory=list)


class Execute(BaseModel):
    """Body of an execution request: the process inputs."""

    inputs: dict[str, Any] = Field(default_factory=dict)


# -- API keys ----------------------------------------------------------------------------------


class ApiKeyCreate(BaseModel):
    """A new key: its role, a name, and for contractors the region ids it may read."""

    role: Role
    name: str = Field(default="", max_length=200)
    region_ids: list[int] = Field(default_factory=list)


class ApiKeyPublic(_Public):
    """A key as listed (never the secret)."""

    id: int
    name: str
    role: str
    prefix: str
    region_ids: list[int]
    active: bool
    created_at: dt.datetime


class ApiKeyCreated(ApiKeyPublic):
    """A key just created: the secret is shown this once."""

    key: str


class ApiKeysPublic(BaseModel):
    """The keys."""

    data: list[ApiKeyPublic]
    count: int
