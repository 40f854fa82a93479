"""The planning workflows as functions of typed requests over a scenario: one layer for the CLI
(`gunmane plan ...`), the API's jobs and the notebook.

A request holds the choices of one run, with defaults and validation (pydantic: a bad value
raises `pydantic.ValidationError` listing every bad field, and the request's JSON Schema is what
the OGC process descriptions publish). The scenario side is a `PlanSetup` (scenario, network,
matching, depots) and the scenario's `PlanSettings` (frequencies, work rules, costs, phases).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gis_data.planning.cost_share import (
    DEFAULT_PERMUTATIONS,
    DEFAULT_SAMPLE_DAYS,
    EXACT_MAX_TOWNS,
    ShareResult,
    build_coalition_cost,
    share_costs,
)
from gis_data.planning.day_routes import CachingRouter, DayRouter
from gis_data.planning.effects import (
    EffectEstimate,
    PlanCosting,
    estimate_effects,
    phase_units_json,
)
from gis_data.planning.parallel import route_calendar_parallel
from gis_data.planning.patrol_calendar import (
    CalendarRoutes,
    PatrolCalendar,
    build_patrol_calendar,
    fit_crews_to_routes,
)
from gis_data.planning.plan_engine import PlanSetup, RegionChoice, choose_regions, describe_stop
from gis_data.planning.plan_settings import PlanSettings, default_phases
from gis_data.planning.work_calendar import Horizon, parse_horizon
from optimizer.stop import MaxIterations

HORIZON_PATTERN = r"^(FY\d{4}|\d{4}-\d{2})$"


class EngineRequest(BaseModel):
    """Choices shared by the calendar, effects, cost shares and report workflows."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    horizon: str | None = Field(
        default=None,
        pattern=HORIZON_PATTERN,
        description="a month YYYY-MM or a fiscal year FYYYYY (FY2026); default: the settings'",
    )
    regions: int = Field(
        default=1, ge=1, le=50, description="contract regions of whole towns for the bundled plan"
    )
    iterations: int = Field(
        default=10, ge=0, le=100_000, description="routing iterations per day solve"
    )
    seed: int | None = Field(
        default=None, ge=0, le=2**31 - 1, description="random seed; default: the settings' (0)"
    )
    bases: Literal["yards", "yards+towns"] = Field(
        default="yards",
        description="crew bases of the bundled plan: contractor yards, or yards and town depots",
    )

    def seed_in(self, settings: PlanSettings) -> int:
        """The request's seed, else the settings'."""
        return settings.seed if self.seed is None else self.seed

    def horizon_in(self, settings: PlanSettings) -> Horizon:
        """The request's horizon, else the settings'."""
        return parse_horizon(self.horizon or settings.horizon)


class CalendarRequest(EngineRequest):
    """A patrol calendar over a horizon and, unless `routes` is false, every day routed."""

    routes: bool = Field(default=True, description="route every working day")
    keep_geometry: bool = Field(default=False, description="keep the route lines (exports)")


class EffectsRequest(EngineRequest):
    """The effect estimate (導入効果試算): siloed status quo against bundled patrols."""


class SharesRequest(EngineRequest):
    """Cost shares among towns (費用分担)."""

    iterations: int = Field(
        default=0, ge=0, le=100_000, description="routing iterations per day solve"
    )
    sample_days: int = Field(
        default=DEFAULT_SAMPLE_DAYS,
        ge=0,
        le=400,
        description="working days routed per coalition (0: all)",
    )
    exact_max: int = Field(
        default=EXACT_MAX_TOWNS, ge=1, le=20, description="exact Shapley up to N towns"
    )
    permutations: int = Field(
        default=DEFAULT_PERMUTATIONS,
        ge=1,
        le=10_000,
        description="permutations of the sampled Shapley",
    )


def plan_regions_for(
    setup: PlanSetup, request: EngineRequest, settings: PlanSettings
) -> RegionChoice:
    """The contract regions of whole towns a request asks for, each served from its yard(s)."""
    return choose_regions(
        setup,
        request.regions,
        seed=request.seed_in(settings),
        with_towns=request.bases == "yards+towns",
    )


def region_calendar(
    setup: PlanSetup,
    horizon: Horizon,
    regions: RegionChoice,
    settings: PlanSettings,
    seed: int,
    *,
    crews: int | Mapping[str, int] | None = None,
    region_load_factor: Mapping[str, float] | None = None,
) -> PatrolCalendar:
    """The patrol calendar of ``setup``'s assets over ``horizon``, per chosen region and yard."""
    return build_patrol_calendar(
        setup.assets,
        horizon,
        region_of=regions.asset_region,
        depot_of=regions.region_depot,
        crews=crews,
        shift_minutes=settings.shift_hours * 60.0,
        frequencies=settings.frequencies,
        rules=settings.rules,
        metric_crs=setup.scenario.metric_crs,
        seed=seed,
        region_load_factor=region_load_factor,
    )


def routed_region_calendar(
    setup: PlanSetup,
    horizon: Horizon,
    regions: RegionChoice,
    settings: PlanSettings,
    seed: int,
    router: DayRouter,
    *,
    client: Any | None = None,
) -> CalendarRoutes:
    """`region_calendar` with every distinct day routed, planned again until no routed day needs
    more vehicles than the calendar's crews (`patrol_calendar.fit_crews_to_routes`)."""
    caching = CachingRouter(router)  # the days a second plan shares with the first are reused
    return fit_crews_to_routes(
        lambda crews, factors: region_calendar(
            setup, horizon, regions, settings, seed, crews=crews, region_load_factor=factors
        ),
        lambda calendar: route_calendar_parallel(calendar, caching, client=client),
    )


@dataclass(frozen=True)
class CalendarOutcome:
    """A planned (and routed) calendar with the regions it was planned for."""

    routed: CalendarRoutes
    regions: RegionChoice
    method: str


def plan_calendar(
    setup: PlanSetup,
    settings: PlanSettings,
    request: CalendarRequest,
    *,
    regions: RegionChoice | None = None,
    client: Any | None = None,
) -> CalendarOutcome:
    """Plan the calendar and route each distinct day (on ``client``'s Dask workers if given)."""
    seed = request.seed_in(settings)
    regions = regions or plan_regions_for(setup, request, settings)
    horizon = request.horizon_in(settings)
    stop = MaxIterations(request.iterations)
    if request.routes:
        router = setup.router(
            stop=stop,
            seed=seed,
            shift_hours=settings.shift_hours,
            keep_geometry=request.keep_geometry,
        )
        routed = routed_region_calendar(
            setup, horizon, regions, settings, seed, router, client=client
        )
    else:
        calendar = region_calendar(setup, horizon, regions, settings, seed)
        routed = CalendarRoutes(calendar=calendar, days=(), solves=0, reused=0)
    method = f"{regions.method}; routes: arc routing, {describe_stop(stop)} per distinct day"
    return CalendarOutcome(routed=routed, regions=regions, method=method)


def compute_effects(
    setup: PlanSetup,
    settings: PlanSettings,
    request: EngineRequest,
    *,
    regions: RegionChoice | None = None,
    client: Any | None = None,
) -> EffectEstimate:
    """The effect estimate of a scenario under ``settings``.

    ``client`` (a Dask client or None) routes the distinct days of all units in parallel.
    """
    seed = request.seed_in(settings)
    regions = regions or plan_regions_for(setup, request, settings)
    router = setup.router(
        stop=MaxIterations(request.iterations), seed=seed, shift_hours=settings.shift_hours
    )
    costing = PlanCosting(
        setup.assets,
        router,
        request.horizon_in(settings),
        frequencies=settings.frequencies,
        rules=settings.rules,
        metric_crs=setup.scenario.metric_crs,
        shift_minutes=settings.shift_hours * 60.0,
        seed=seed,
    )
    phases = settings.phases or default_phases(setup.populations())
    present = set(setup.assets["municipality_code"].astype(str))
    phases = tuple(p for p in phases if set(p.towns) <= present)
    return estimate_effects(
        costing,
        town_depots=setup.town_depots(),
        bundle_depots=regions.region_depot,
        region_of=regions.asset_region,
        phases=phases,
        costs=settings.costs,
        client=client,
    )


def effects_json(effects: EffectEstimate, names: dict[str, str]) -> dict[str, Any]:
    """The estimate as plain data."""
    return {
        "horizon": effects.horizon,
        "comparison": effects.comparison_rows(),
        "phases": [
            {**r, "town_names": [names.get(c, c) for c in r["towns"].split(", ")]}
            for r in effects.phase_rows()
        ],
        "method": effects.siloed.method,
        "routing_solves": effects.solves,
        "units": {
            "siloed": [u.__dict__ for u in effects.siloed.units],
            "bundled": [u.__dict__ for u in effects.bundled.units],
        },
        # The phases' units, so the report page rebuilds the estimate (estimate_from_json).
        "phase_units": phase_units_json(effects),
    }


def compute_shares(
    setup: PlanSetup,
    settings: PlanSettings,
    request: SharesRequest,
    *,
    client: Any | None = None,
) -> ShareResult:
    """Coalition costs and shares of a scenario.

    ``client`` (a Dask client or None) routes the days of every coalition in parallel.
    """
    seed = request.seed_in(settings)
    router = setup.router(
        stop=MaxIterations(request.iterations), seed=seed, shift_hours=settings.shift_hours
    )
    cost = build_coalition_cost(
        setup.assets,
        router,
        request.horizon_in(settings),
        depot=setup.bundle_depot(with_towns=request.bases == "yards+towns"),
        costs=settings.costs,
        sample_days=request.sample_days or None,
        frequencies=settings.frequencies,
        rules=settings.rules,
        metric_crs=setup.scenario.metric_crs,
        shift_minutes=settings.shift_hours * 60.0,
        seed=seed,
    )
    return share_costs(
        cost,
        setup.assets,
        names=setup.town_names(),
        populations=setup.populations(),
        metric_crs=setup.scenario.metric_crs,
        exact_max_towns=request.exact_max,
        permutations=request.permutations,
        seed=seed,
        client=client,
    )


def shares_json(result: ShareResult) -> dict[str, Any]:
    """The shares as plain data."""
    std = result.shapley.std_error
    return {
        "total_yen": result.total_yen,
        "rules": list(result.rules),
        "towns": result.rows(),
        "core_violations": result.violations,
        "core_checked": result.core_checked,
        "shapley_exact": result.shapley.exact,
        "shapley_std_error_yen": [float(x) for x in std] if std is not None else [],
        "method": result.method,
        "routing_solves": result.solves,
        "coalitions_costed": result.coalitions,
        "seconds": round(result.runtime, 1),
    }


class RegionsRequest(BaseModel):
    """Balanced, contiguous contract regions (`gis_data.planning.regions.plan_regions`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    k: int = Field(default=2, ge=1, le=50, description="number of regions")
    whole_towns: bool = Field(default=False, description="keep every municipality whole")
    balance: float = Field(
        default=0.05, ge=0.0, le=1.0, description="largest workload deviation from the mean"
    )
    time_limit: float = Field(default=10.0, ge=0.5, le=600.0, description="solver seconds")
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="random seed")
    unit_km: float = Field(
        default=1.5, ge=0.2, le=20.0, description="target km of road per planning unit"
    )
    straight_line: bool = Field(
        default=False, description="straight-line travel instead of the road network"
    )
    size_limit: Literal["largest", "median", "jv"] | None = Field(
        default=None, description="local-firm size limit from the contractor surveys"
    )


class RoutesRequest(BaseModel):
    """One day's patrol routes, bundled against each town x field alone (`patrol_plan`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    regions_plan_id: int | None = Field(
        default=None, ge=1, description="regions plan the routes are assigned to (the latest)"
    )
    date: str | None = Field(
        default=None, pattern=r"^\d{4}-\d{2}-\d{2}$", description="service date (today)"
    )
    time_limit: float = Field(default=10.0, ge=0.5, le=600.0, description="bundled solve seconds")
    silo_time_limit: float = Field(
        default=1.0, ge=0.1, le=120.0, description="seconds per separate solve"
    )
    iterations: int | None = Field(
        default=None, ge=1, le=10**7, description="stop each solve after N iterations instead"
    )
    shift_hours: float = Field(default=8.0, ge=1.0, le=24.0, description="shift length")
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="random seed")
