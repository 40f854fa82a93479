"""Contract regions from geodata: scenario -> planning units -> districting -> region GeoDataFrame.

The GeoDataFrame side of `optimizer.districting`: turn the planning units of a scenario into a
`DistrictingData` (unit workloads in minutes, adjacency, unit-to-unit travel seconds, the size
limit of a local firm, depots fixed at contractor yards or chosen among them, towns kept whole or
not, the planner's locked units), solve it, and return the regions dissolved from the unit cells
with their towns, fields, workload, km and depot, plus the evaluation of the plan.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import shapely
from scipy.spatial import cKDTree

from gis_data.planning.evaluate import (
    CREW_HOURS_PER_DAY,
    PatrolTimeFn,
    PlanEvaluation,
    SizeLimits,
    evaluate_plan,
)
from gis_data.planning.units import PlanningUnits, build_units, municipality_units
from optimizer.districting import DistrictingData, DistrictingResult, solve_districting
from optimizer.errors import InfeasibleError
from optimizer.stop import MaxRuntime, StoppingCriterion

if TYPE_CHECKING:
    import networkx as nx

logger = logging.getLogger(__name__)

ATTRIBUTION = "© OpenStreetMap contributors"


@dataclass(frozen=True)
class RegionRequest:
    """What the planner asks for.

    Attributes
    ----------
    k
        Number of contract regions.
    whole_towns
        Keep every municipality in one region (else regions may cross town borders).
    balance_tolerance
        Largest allowed deviation of a region's workload from the mean, as a fraction.
    limits
        The local-firm size limits per region. Max workload hours and crews (at the crew hours
        of the period) bound the optimizer's region weight; max km is checked before solving
        (k regions must be able to hold the network) and on the plan, whose evaluation flags
        any region above it.
    use_depots
        Centre regions on the contractor yards of the scenario: fixed when there are exactly
        ``k``, chosen among them when there are more; ignored when there are fewer.
    locked
        The planner's fixed choices: unit_id or municipality_code -> region label.
    """

    k: int
    whole_towns: bool = False
    balance_tolerance: float = 0.05
    limits: SizeLimits = field(default_factory=SizeLimits)
    use_depots: bool = True
    locked: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"k must be >= 1, got {self.k}")
        if self.balance_tolerance < 0:
            raise ValueError(f"balance_tolerance must be >= 0, got {self.balance_tolerance}")


@dataclass(frozen=True)
class RegionPlan:
    """A solved region plan: units, labels, the optimizer's result, regions and evaluation.

    ``depots`` and ``depot_ids`` map a region to the name and id of the yard it is centred on.
    """

    units: PlanningUnits
    labels: list[str]
    result: DistrictingResult
    regions: gpd.GeoDataFrame
    evaluation: PlanEvaluation
    depots: dict[str, str]
    depot_ids: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON: the region table, unit labels, evaluation and solver status."""
        table = self.regions.drop(columns="geometry")
        return {
            "regions": [
                {k: _plain(v) for k, v in row.items()} for row in table.to_dict(orient="records")
            ],
            "unit_regions": dict(zip(self.units.unit_ids, self.labels, strict=True)),
            "evaluation": self.evaluation.to_dict(),
            "status": str(self.result.status),
            "objective": _plain(self.result.objective),
            "runtime": float(self.result.runtime),
            "seed": int(self.result.seed),
            "attribution": ATTRIBUTION,
        }


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _depot_units(
    units: PlanningUnits, depots: gpd.GeoDataFrame | None
) -> dict[int, tuple[str, str]]:
    """Contractor yards (else all depots) snapped to their nearest unit: unit -> (id, name)."""
    if depots is None or len(depots) == 0 or units.n == 0:
        return {}
    yards = depots.reset_index(drop=True)
    if "kind" in yards.columns and (yards["kind"] == "contractor").any():
        yards = yards[yards["kind"] == "contractor"].reset_index(drop=True)
    pts = yards.to_crs(units.metric_crs).geometry
    xy = np.array([[p.x, p.y] for p in pts])
    _, nearest = cKDTree(units.units[["rep_x", "rep_y"]].to_numpy(dtype=float)).query(xy)
    out: dict[int, tuple[str, str]] = {}
    for i, unit in enumerate(nearest.tolist()):
        depot_id = str(yards["depot_id"].iloc[i]) if "depot_id" in yards.columns else str(i)
        name = yards["name"].iloc[i] if "name" in yards.columns else None
        out.setdefault(int(unit), (depot_id, str(name) if name else depot_id))
    return out


def _locked_indices(
    units: PlanningUnits, locked: Mapping[str, str], k: int
) -> tuple[dict[int, int], list[str]]:
    """Unit index -> region index for the planner's locks, and the region names in index order."""
    ids = {u: i for i, u in enumerate(units.unit_ids)}
    by_town = municipality_units(units)
    names: list[str] = []
    out: dict[int, int] = {}
    for key, raw_label in locked.items():
        label = str(raw_label)
        if label not in names:
            names.append(label)
        r = names.index(label)
        if key in ids:
            targets = [ids[key]]
        elif key in by_town:
            targets = by_town[key]
        else:
            raise InfeasibleError(
                f"locked choice {key!r} names no unit and no municipality of this scenario"
            )
        for i in targets:
            if i in out and out[i] != r:
                raise InfeasibleError(
                    f"unit {units.unit_ids[i]} is locked to two regions: {names[out[i]]!r}"
                    f" and {label!r}"
                )
            out[i] = r
    if len(names) > k:
        raise InfeasibleError(
            f"the locked choices name {len(names)} regions ({', '.join(names)}) but k = {k}"
        )
    free = [str(i) for i in range(1, 2 * k + 1) if str(i) not in names]
    names.extend(free[: k - len(names)])
    return out, names


def _precheck(units: PlanningUnits, request: RegionRequest) -> None:
    """Explain the impossible requests in words before the optimizer runs."""
    k = request.k
    n_towns = len(municipality_units(units))
    if k > units.n:
        raise InfeasibleError(f"k = {k} regions but the scenario has only {units.n} planning units")
    if request.whole_towns and k > n_towns:
        raise InfeasibleError(
            f"k = {k} regions with whole towns, but there are only {n_towns} towns;"
            " allow cross-border regions or lower k"
        )
    total_h = float(units.units["workload_h"].sum())
    total_km = float(units.units["km"].sum())
    lim = request.limits
    if lim.max_workload_h is not None and total_h > k * lim.max_workload_h:
        need = math.ceil(total_h / lim.max_workload_h)
        raise InfeasibleError(
            f"the total workload is {total_h:.1f} h per period; {k} regions of at most"
            f" {lim.max_workload_h:g} h hold only {k * lim.max_workload_h:g} h: at least"
            f" {need} regions are needed"
        )
    if lim.max_km is not None and total_km > k * lim.max_km:
        need = math.ceil(total_km / lim.max_km)
        raise InfeasibleError(
            f"the network to patrol is {total_km:.1f} km; {k} regions of at most {lim.max_km:g} km"
            f" cover only {k * lim.max_km:g} km: at least {need} regions are needed"
        )
    biggest = units.units["workload_h"].max()
    cap = _max_workload_h(units, lim)
    if cap is not None and biggest > cap:
        i = int(units.units["workload_h"].to_numpy().argmax())
        raise InfeasibleError(
            f"unit {units.unit_ids[i]} alone needs {biggest:.1f} h per period, more than the"
            f" size limit of {cap:g} h"
        )


def _max_workload_h(units: PlanningUnits, lim: SizeLimits) -> float | None:
    caps = []
    if lim.max_workload_h is not None:
        caps.append(lim.max_workload_h)
    if lim.max_crews is not None:
        crew_hours = lim.crew_hours or CREW_HOURS_PER_DAY * units.period_days
        caps.append(lim.max_crews * crew_hours)
    return min(caps) if caps else None


def districting_data(
    units: PlanningUnits, request: RegionRequest, *, depots: gpd.GeoDataFrame | None = None
) -> tuple[DistrictingData, list[str], dict[int, tuple[str, str]]]:
    """The optimizer's problem, the region names, and the depot units (index -> (id, name)).

    Raises `InfeasibleError` with a planner-readable reason for requests that cannot be met.
    """
    _precheck(units, request)
    weights = np.maximum(1, np.round(units.units["workload_h"].to_numpy() * 60.0)).astype(int)
    cost = np.round(units.travel_s).astype(int)
    locked, names = _locked_indices(units, request.locked, request.k)
    depot_units = _depot_units(units, depots) if request.use_depots else {}
    fixed: list[int] | None = None
    candidates: list[int] | None = None
    if len(depot_units) == request.k:
        fixed = sorted(depot_units)
    elif len(depot_units) > request.k:
        candidates = sorted(depot_units)
    elif depot_units:
        logger.info(
            "%d contractor yards for k = %d regions: centres chosen among all units",
            len(depot_units),
            request.k,
        )
        depot_units = {}
    cap_h = _max_workload_h(units, request.limits)
    town_index = {code: g for g, code in enumerate(sorted(municipality_units(units)))}
    groups = [town_index[c] for c in units.units["municipality_code"].astype(str)]
    data = DistrictingData(
        num_units=units.n,
        weights=weights,
        adjacency=list(units.adjacency),
        cost=cost,
        k=request.k,
        max_weight=None if cap_h is None else math.floor(cap_h * 60.0),
        balance_tolerance=request.balance_tolerance,
        candidate_centres=candidates,
        fixed_centres=fixed,
        locked=locked,
        groups=groups,
        keep_groups_whole=request.whole_towns,
        unit_labels=units.unit_ids,
    )
    return data, names, depot_units


def regions_frame(
    units: PlanningUnits,
    labels: list[str],
    evaluation: PlanEvaluation,
    depots: Mapping[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """One row per region (EPSG:4326): dissolved cells, towns, fields, workload, km, depot."""
    rows = []
    for r in evaluation.regions:
        members = [i for i, lab in enumerate(labels) if lab == r.region]
        rows.append(
            {
                "region": r.region,
                "towns": ", ".join(r.towns),
                "fields": ", ".join(r.fields),
                "units": r.n_units,
                "workload_h": round(r.workload_h, 2),
                "deviation_pct": round(r.deviation_pct, 2),
                "km": round(r.km, 2),
                "contiguous": r.contiguous,
                "polsby_popper": round(r.polsby_popper, 4),
                "cut_edges": r.cut_edges,
                "crews": r.crews_needed,
                "depot": (depots or {}).get(r.region),
                "geometry": shapely.union_all(units.cells.values[members]),
            }
        )
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=units.metric_crs)
    return frame.to_crs(4326)


def solve_regions(
    units: PlanningUnits,
    request: RegionRequest,
    *,
    depots: gpd.GeoDataFrame | None = None,
    stop: StoppingCriterion | None = None,
    seed: int = 0,
    patrol_time: PatrolTimeFn | None = None,
) -> RegionPlan:
    """Partition ``units`` into ``request.k`` contract regions and evaluate the result.

    ``patrol_time`` (e.g. `planning.evaluate.engine_patrol_time`) gives each region's patrol
    hours from the routing engine; without it the evaluation reports the workload estimate.
    """
    data, names, depot_units = districting_data(units, request, depots=depots)
    result = solve_districting(data, stop=stop or MaxRuntime(30.0), seed=seed)
    if not result.feasible:
        raise InfeasibleError(
            f"no plan meets the request within the time limit ({result.message or result.status})"
        )
    labels = [names[int(r)] for r in result.labels]
    region_depot: dict[str, str] = {}
    region_depot_id: dict[str, str] = {}
    for centre in result.centres:
        if int(centre) in depot_units:
            region = names[int(result.labels[int(centre)])]
            region_depot_id[region], region_depot[region] = depot_units[int(centre)]
    evaluation = evaluate_plan(
        units, labels, limits=request.limits, depots=region_depot, patrol_time=patrol_time
    )
    regions = regions_frame(units, labels, evaluation, region_depot)
    regions["depot_id"] = [region_depot_id.get(r) for r in regions["region"]]
    logger.info(
        "%d regions: balance %.3f, mean Polsby-Popper %.3f, %d cut edges, status %s",
        request.k,
        evaluation.balance,
        evaluation.mean_polsby_popper,
        evaluation.cut_edges,
        result.status,
    )
    return RegionPlan(
        units=units,
        labels=labels,
        result=result,
        regions=regions,
        evaluation=evaluation,
        depots=region_depot,
        depot_ids=region_depot_id,
    )


def scenario_units(
    scenario: Any, *, graph: nx.MultiDiGraph | None = None, target_km: float = 1.5
) -> PlanningUnits:
    """Planning units of a loaded scenario (`loading.load.Scenario`), clipped to its towns."""
    return build_units(
        scenario.assets,
        metric_crs=scenario.metric_crs,
        graph=graph,
        area=scenario.municipalities,
        target_km=target_km,
    )


def plan_regions(
    scenario: Any,
    request: RegionRequest,
    *,
    graph: nx.MultiDiGraph | None = None,
    units: PlanningUnits | None = None,
    target_km: float = 1.5,
    stop: StoppingCriterion | None = None,
    seed: int = 0,
    patrol_time: PatrolTimeFn | None = None,
) -> RegionPlan:
    """Scenario -> units -> regions: the one call for the CLI and API jobs."""
    units = units or scenario_units(scenario, graph=graph, target_km=target_km)
    return solve_regions(
        units, request, depots=scenario.depots, stop=stop, seed=seed, patrol_time=patrol_time
    )
