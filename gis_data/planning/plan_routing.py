"""Routed patrol time of a contract-region plan, and of each town patrolling alone.

Each region's patrol work (every matched asset of the region once: one patrol cycle) is routed
from the region's depot(s) with the engine of the routes plan (`patrol_plan.solve_plan`: the
network helper's tasks, `to_carp_data`, `solve_arc_routing`, traced on the roads). Each town
alone is its own work from its own depot(s) (`patrol_plan.silo_depots`), routed with the same
settings, so the saving of a plan against the towns alone is a like-for-like comparison.
A region whose depot cannot reach its work is an error with the solver's reason, never a score.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
from shapely.geometry import MultiPoint

from gis_data.network.adapters import Depot
from gis_data.planning.depot_choice import depot_choice_problems
from gis_data.planning.evaluate import region_order
from gis_data.planning.patrol_plan import (
    PlanSettings,
    scenario_depots,
    silo_depots,
    solve_plan,
)
from optimizer.stop import MaxIterations

if TYPE_CHECKING:
    from gis_data.planning.plan_engine import PlanSetup

# Called after each region or town is routed: (done, total, label).
RoutingProgress = Callable[[int, int, str], None]


# Each solve gets its limit once per this many tasks (at least once, at most MAX_SCALE times):
# one region holding every town gets about the search the towns alone get together, so a big
# region is not judged on a rushed solve against well-searched small ones.
TASKS_PER_LIMIT = 200
MAX_SCALE = 10.0


@dataclass(frozen=True)
class RoutingEffort:
    """The search of every solve, the same for a plan's regions and for the towns alone.

    ``seconds`` (or ``iterations``: count-based, the same figures on every machine) per
    ``per_tasks`` tasks of the solve; ``seed`` and ``shift_hours`` as in `PlanSettings`.
    """

    seconds: float = 2.0
    iterations: int | None = None
    per_tasks: int = TASKS_PER_LIMIT
    seed: int = 0
    shift_hours: float = 8.0

    def __post_init__(self) -> None:
        too_few = self.iterations is not None and self.iterations < 1
        if self.seconds <= 0 or self.per_tasks < 1 or too_few:
            msg = f"RoutingEffort needs seconds > 0, per_tasks >= 1, iterations >= 1: {self}"
            raise ValueError(msg)

    def settings(self, tasks: int) -> PlanSettings:
        """The settings of one solve of ``tasks`` tasks."""
        scale = min(MAX_SCALE, max(1.0, tasks / self.per_tasks))
        return PlanSettings(
            silo_time_limit_s=self.seconds * scale,
            seed=self.seed,
            shift_hours=self.shift_hours,
            silo_stop=None
            if self.iterations is None
            else MaxIterations(math.ceil(self.iterations * scale)),
        )


@dataclass(frozen=True)
class RoutedPart:
    """One region (or one town alone) routed from its depots: crew hours and km of one cycle."""

    label: str
    depots: list[str]
    tasks: int
    crews: int
    hours: float | None
    km: float | None
    status: str
    error: str | None = None
    # The depots the solved routes start from (a subset of ``depots``: what was used).
    starts: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RoutedPlan:
    """The routed parts of a plan and their totals (None when a part could not be routed)."""

    parts: list[RoutedPart]

    @property
    def ok(self) -> bool:
        """True when every part has routes."""
        return all(p.error is None for p in self.parts)

    @property
    def hours(self) -> float | None:
        """Crew hours of all parts (None when one failed: a partial sum would flatter the plan)."""
        return sum(p.hours or 0.0 for p in self.parts) if self.ok else None

    @property
    def km(self) -> float | None:
        """Kilometres driven by all parts (None when one failed)."""
        return sum(p.km or 0.0 for p in self.parts) if self.ok else None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data: the parts and the totals."""
        return {
            "parts": [asdict(p) for p in self.parts],
            "hours": None if self.hours is None else round(self.hours, 3),
            "km": None if self.km is None else round(self.km, 3),
            "errors": [f"{p.label}: {p.error}" for p in self.parts if p.error],
        }


def saving(alone: Mapping[str, Any], plan: Mapping[str, Any]) -> dict[str, float | None]:
    """Hours and km saved by ``plan`` against the towns ``alone`` (`RoutedPlan.to_dict` data)."""
    out: dict[str, float | None] = {}
    for what in ("hours", "km"):
        base, mine = alone.get(what), plan.get(what)
        if base is None or mine is None:
            out[what], out[f"{what}_pct"] = None, None
            continue
        out[what] = round(float(base) - float(mine), 3)
        out[f"{what}_pct"] = round(100.0 * (base - mine) / base, 1) if base > 0 else None
    return out


def _route(
    setup: PlanSetup,
    groups: Sequence[tuple[str, list[str], list[Depot]]],
    effort: RoutingEffort,
    progress: RoutingProgress | None,
) -> RoutedPlan:
    parts = []
    for done, (label, asset_ids, depots) in enumerate(groups, start=1):
        tasks = tuple(setup.matching.tasks(sorted(asset_ids)))
        settings = effort.settings(len(tasks))
        plan = solve_plan(
            setup.network, tasks, depots, label=label, settings=settings, bundled=False
        )
        # solve_plan says "error: ..." (e.g. work the depot cannot reach) or no_solution.
        failed = plan.status.startswith("error") or plan.status == "no_solution"
        parts.append(
            RoutedPart(
                label=label,
                depots=[d.depot_id for d in depots],
                tasks=len(tasks),
                crews=plan.crews,
                hours=None if failed else round(plan.hours, 3),
                km=None if failed else round(plan.km, 3),
                status=plan.status,
                error=plan.status.removeprefix("error: ") if failed else None,
                starts=sorted({r.depot_id for r in plan.routes}),
            )
        )
        if progress is not None:
            progress(done, len(groups), label)
    return RoutedPlan(parts)


def region_depots(
    setup: PlanSetup,
    asset_region: Mapping[str, str],
    *,
    crews: int | None = None,
    chosen: Mapping[str, str] | None = None,
) -> dict[str, list[Depot]]:
    """Each region's crew bases: the depot ``chosen`` for it (region -> depot id, any kind),
    else the contractor yards in its towns, else the yard nearest its work, else (a scenario
    without yards) the town depots of its towns.

    Raises ValueError naming every region of ``chosen`` that has no work in ``asset_region``
    and every chosen depot id the scenario does not have (`depot_choice.depot_choice_problems`).
    """
    yards = scenario_depots(setup.scenario, "contractor", crews)
    town = scenario_depots(setup.scenario, "town", crews)
    by_id = {d.depot_id: d for d in [*yards, *town]}
    picks = {str(r): str(d) for r, d in (chosen or {}).items()}
    unknown = depot_choice_problems(picks, depot_ids=by_id, regions=set(asset_region.values()))
    if unknown:
        raise ValueError("; ".join(p.message for p in unknown))
    assets = setup.scenario.assets
    ids = assets["asset_id"].astype(str)
    out: dict[str, list[Depot]] = {}
    for region in sorted(set(asset_region.values())):
        if region in picks:
            out[region] = [by_id[picks[region]]]
            continue
        mine = assets[ids.map(asset_region.get) == region]
        codes = set(mine["municipality_code"].astype(str))
        found = [d for d in yards if d.municipality_code in codes]
        if not found and yards and not mine.empty:
            found = [_nearest(setup, mine, yards)]
        if not found:
            found = [d for d in town if d.municipality_code in codes] or town
        out[region] = found
    return out


def _nearest(setup: PlanSetup, assets: gpd.GeoDataFrame, yards: list[Depot]) -> Depot:
    metric = setup.scenario.metric_crs
    centre = MultiPoint(list(assets.to_crs(metric).geometry.representative_point())).centroid
    places = gpd.GeoSeries([d.location for d in yards], crs=4326).to_crs(metric)
    return yards[int(places.distance(centre).to_numpy().argmin())]


def route_regions(
    setup: PlanSetup,
    asset_region: Mapping[str, str],
    effort: RoutingEffort,
    *,
    depots: Mapping[str, list[Depot]] | None = None,
    progress: RoutingProgress | None = None,
) -> RoutedPlan:
    """Route each region's work (asset id -> region) from its depots (default `region_depots`)."""
    bases = depots if depots is not None else region_depots(setup, asset_region)
    groups: dict[str, list[str]] = {}
    for asset, region in asset_region.items():
        groups.setdefault(str(region), []).append(str(asset))
    order = sorted(groups, key=region_order)
    return _route(setup, [(r, groups[r], list(bases[r])) for r in order], effort, progress)


def route_towns_alone(
    setup: PlanSetup, effort: RoutingEffort, *, progress: RoutingProgress | None = None
) -> RoutedPlan:
    """Route each town's own work (all its fields) from its own depots, with ``effort``."""
    town = scenario_depots(setup.scenario, "town", None)
    yards = scenario_depots(setup.scenario, "contractor", None)
    frame = setup.assets
    groups = []
    for code, group in frame.groupby(frame["municipality_code"].astype(str), sort=True):
        name = str(group["municipality"].iloc[0]) if "municipality" in group else str(code)
        groups.append(
            (
                name,
                group["asset_id"].astype(str).tolist(),
                silo_depots(str(code), town, yards, None),
            )
        )
    return _route(setup, groups, effort, progress)
