"""Evaluation of any contract-region plan: optimized, drawn as polygons, or towns grouped by hand.

A plan is turned into an assignment of planning units to regions (a unit may end up in no region
or in several; both are reported, never dropped), then measured per region: workload and its
deviation from the mean, contiguity on the road network (and the units that break it), compactness
(Polsby-Popper of the region's area in the metric CRS, cut adjacency edges), towns and fields
covered, the local-firm size check, and the patrol time (routing engine when a callback is given,
else the workload estimate, flagged as such). Drawn polygons with holes or detached parts are
flagged.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from gis_data.planning.units import PlanningUnits

if TYPE_CHECKING:
    from gis_data.planning.day_routes import DayRouter

logger = logging.getLogger(__name__)

# A crew works 8 h on 5 days a week: the hours one crew supplies per day of the period.
CREW_HOURS_PER_DAY = 8.0 * 5.0 / 7.0

# Called with a region's asset ids and its label, returns patrol hours per period (or None when
# it cannot).
PatrolTimeFn = Callable[[list[str], str], float | None]


def engine_patrol_time(
    units: PlanningUnits,
    router: DayRouter,
    depot: str,
    *,
    region_depots: Mapping[str, str] | None = None,
) -> PatrolTimeFn:
    """A `PatrolTimeFn` from the routing engine: one full pass of the region, scaled to the period.

    The router routes every asset of the region once from the depot chosen for it in
    ``region_depots`` (region -> depot id), else from ``depot`` ('|'-joined depot ids); the
    crew hours of that pass are scaled by the region's visits per period (weighted by service
    minutes), so that frequent street patrols count more often than monthly bank walks.
    Returns None (the workload estimate is then reported) when the engine finds no routes.
    """
    chosen = dict(region_depots or {})

    def patrol_time(asset_ids: list[str], region: str) -> float | None:
        info = [units.asset_patrol[a] for a in asset_ids if a in units.asset_patrol]
        one_pass = sum(m for m, _ in info)
        per_period = sum(m * v for m, v in info)
        if one_pass <= 0:
            return None
        try:
            day = router.route(frozenset(asset_ids), chosen.get(region, depot))
        except ValueError as exc:
            logger.warning("routing engine failed on a region: %s", exc)
            return None
        if not day.feasible or day.minutes <= 0:
            return None
        return day.minutes / 60.0 * per_period / one_pass

    return patrol_time


class PlanError(ValueError):
    """A plan cannot be read: the message names the feature, region or field at fault."""


@dataclass(frozen=True)
class SizeLimits:
    """What one local firm can carry per region (None: no limit of that kind).

    ``max_crews`` is checked against the crews the workload needs, at ``crew_hours`` per crew
    per period (default: 8 h x 5 days a week over the units' period).
    """

    max_workload_h: float | None = None
    max_km: float | None = None
    max_crews: int | None = None
    crew_hours: float | None = None

    def __post_init__(self) -> None:
        for name in ("max_workload_h", "max_km", "max_crews", "crew_hours"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"SizeLimits.{name} must be > 0, got {value}")

    def any(self) -> bool:
        """True when at least one limit is set."""
        return any(v is not None for v in (self.max_workload_h, self.max_km, self.max_crews))


@dataclass(frozen=True)
class RegionEvaluation:
    """The measures of one region of a plan."""

    region: str
    n_units: int
    workload_h: float
    deviation_pct: float
    km: float
    towns: list[str]
    fields: list[str]
    contiguous: bool
    pieces: int
    islands: list[str]
    polsby_popper: float
    cut_edges: int
    crews_needed: int
    within_size_limit: bool | None
    size_problems: list[str]
    patrol_time_h: float
    patrol_time_source: str
    drawn_parts: int | None = None
    drawn_holes: int | None = None
    depot: str | None = None
    centre: str | None = None
    mean_travel_min: float = 0.0


@dataclass(frozen=True)
class PlanEvaluation:
    """Evaluation of a whole plan; ``to_dict()`` gives plain JSON-ready data."""

    regions: list[RegionEvaluation]
    unassigned: list[str]
    doubly_assigned: dict[str, list[str]]
    problems: list[str]
    cut_edges: int
    balance: float
    max_deviation_pct: float
    mean_polsby_popper: float
    contiguous: bool
    within_size_limits: bool | None
    plan_kind: str
    unit_regions: dict[str, list[str]] = field(repr=False)
    mean_travel_min: float = 0.0
    geometry: gpd.GeoDataFrame | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        """True when every unit is in exactly one region and every region is contiguous."""
        return self.contiguous and not self.unassigned and not self.doubly_assigned

    def table(self) -> pd.DataFrame:
        """One row per region with the main measures (for printing)."""
        rows = []
        for r in self.regions:
            rows.append(
                {
                    "region": r.region,
                    "units": r.n_units,
                    "workload_h": round(r.workload_h, 1),
                    "dev_%": round(r.deviation_pct, 1),
                    "km": round(r.km, 1),
                    "towns": len(r.towns),
                    "fields": ",".join(r.fields),
                    "contiguous": "yes" if r.contiguous else f"no ({r.pieces} pieces)",
                    "polsby_popper": round(r.polsby_popper, 3),
                    "cut_edges": r.cut_edges,
                    "min_to_centre": round(r.mean_travel_min, 1),
                    "crews": r.crews_needed,
                    "patrol_h": round(r.patrol_time_h, 1),
                    "patrol_from": "engine"
                    if r.patrol_time_source == "routing engine"
                    else "estimate",
                    "size_ok": "-" if r.within_size_limit is None else str(r.within_size_limit),
                    "depot": r.depot or "",
                }
            )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (lists, dicts, numbers, strings) for JSON and the API."""
        return {
            "plan_kind": self.plan_kind,
            "ok": self.ok,
            "regions": [asdict(r) for r in self.regions],
            "unassigned": list(self.unassigned),
            "doubly_assigned": {k: list(v) for k, v in self.doubly_assigned.items()},
            "problems": list(self.problems),
            "cut_edges": self.cut_edges,
            "balance": _finite(self.balance),
            "max_deviation_pct": self.max_deviation_pct,
            "mean_polsby_popper": self.mean_polsby_popper,
            "mean_travel_min": self.mean_travel_min,
            "contiguous": self.contiguous,
            "within_size_limits": self.within_size_limits,
            "unit_regions": {k: list(v) for k, v in self.unit_regions.items()},
        }


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def polsby_popper(geom: BaseGeometry | None) -> float:
    """4 pi area / perimeter^2 of a (multi)polygon in a metric CRS: 1 for a disc, 0 when empty."""
    if geom is None or geom.is_empty or geom.length == 0:
        return 0.0
    return float(4.0 * math.pi * geom.area / geom.length**2)


def _parts_and_holes(geom: BaseGeometry) -> tuple[int, int]:
    polys = list(geom.geoms) if geom.geom_type == "MultiPolygon" else [geom]
    polys = [p for p in polys if p.geom_type == "Polygon" and not p.is_empty]
    return len(polys), sum(len(p.interiors) for p in polys)


# ---------------------------------------------------------------- plans -> unit assignment


def assignment_from_labels(
    units: PlanningUnits, labels: Sequence[Any] | Mapping[str, Any]
) -> dict[int, list[str]]:
    """Unit index -> regions from unit labels (a sequence by unit index or unit_id -> region).

    A label of None (or NaN) leaves the unit unassigned.
    """
    ids = units.unit_ids
    out: dict[int, list[str]] = {i: [] for i in range(units.n)}
    if isinstance(labels, Mapping):
        positions = {u: i for i, u in enumerate(ids)}
        unknown = sorted(str(k) for k in labels if str(k) not in positions)
        if unknown:
            raise PlanError(f"plan labels name unknown units: {', '.join(unknown[:10])}")
        items = [(positions[str(k)], v) for k, v in labels.items()]
    else:
        if len(labels) != units.n:
            raise PlanError(f"plan has {len(labels)} labels for {units.n} units")
        items = list(enumerate(labels))
    for i, label in items:
        if label is None or (isinstance(label, float) and math.isnan(label)):
            continue
        out[i].append(str(label))
    return out


def assignment_from_towns(
    units: PlanningUnits, towns: Mapping[str, Sequence[str]]
) -> tuple[dict[int, list[str]], list[str]]:
    """Unit index -> regions from region -> municipality codes (or names); also the problems.

    A town listed in two regions puts its units in both (reported as doubly assigned); a town in
    no region leaves its units unassigned.
    """
    codes = units.units["municipality_code"].astype(str).tolist()
    names = units.units["municipality"].astype(str).tolist()
    name_to_code = dict(zip(names, codes, strict=True))
    known = set(codes)
    problems: list[str] = []
    town_regions: dict[str, list[str]] = {}
    for region, members in towns.items():
        if isinstance(members, str):
            raise PlanError(f"region {region!r}: give a list of municipality codes, not a string")
        for town in members:
            code = str(town) if str(town) in known else name_to_code.get(str(town))
            if code is None:
                problems.append(f"region {region!r}: unknown municipality {town!r} (no units)")
                continue
            if str(region) not in town_regions.setdefault(code, []):
                town_regions[code].append(str(region))
    for code, regions in sorted(town_regions.items()):
        if len(regions) > 1:
            problems.append(f"municipality {code} is in several regions: {', '.join(regions)}")
    for code in sorted(known - set(town_regions)):
        problems.append(f"municipality {code} is in no region")
    out = {i: list(town_regions.get(code, [])) for i, code in enumerate(codes)}
    return out, problems


def _region_column(plan: gpd.GeoDataFrame, region_column: str | None) -> str | None:
    if region_column is not None:
        if region_column not in plan.columns:
            raise PlanError(f"drawn plan has no {region_column!r} column")
        return region_column
    for name in ("region", "region_id", "name", "id"):
        if name in plan.columns:
            return name
    return None


def drawn_regions(plan: gpd.GeoDataFrame, *, region_column: str | None = None) -> list[str]:
    """Each drawn feature's region, in order: ``region_column`` or the first column named
    region/region_id/name/id, else the feature's 1-based number."""
    col = _region_column(plan, region_column)
    if col is None:
        return [str(k + 1) for k in range(len(plan))]
    return [str(v) for v in plan[col]]


def assignment_from_polygons(
    units: PlanningUnits, plan: gpd.GeoDataFrame, *, region_column: str | None = None
) -> tuple[dict[int, list[str]], gpd.GeoDataFrame, list[str]]:
    """Unit index -> regions from drawn polygons (a unit belongs where its representative point is).

    Returns the assignment, the regions dissolved in the metric CRS, and the problems found in
    the drawing (empty or non-areal features, repaired geometry, holes, detached parts).
    """
    problems: list[str] = []
    if len(plan) == 0:
        raise PlanError("drawn plan has no features")
    if plan.crs is None:
        warnings.warn(
            "drawn plan has no CRS; reading its coordinates as EPSG:4326 (GeoJSON's default)",
            UserWarning,
            stacklevel=2,
        )
        plan = plan.set_crs(4326)
    drawn = plan.to_crs(units.metric_crs).reset_index(drop=True)
    region_of = drawn_regions(drawn, region_column=region_column)
    geoms: dict[str, list[BaseGeometry]] = {}
    for k, raw in enumerate(drawn.geometry):
        geom = raw
        label = f"feature {k + 1} (region {region_of[k]!r})"
        if geom is None or geom.is_empty:
            problems.append(f"{label}: empty geometry, ignored")
            continue
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            problems.append(f"{label}: {geom.geom_type} is not a polygon, ignored")
            continue
        if not geom.is_valid:
            problems.append(f"{label}: invalid polygon ({shapely.is_valid_reason(geom)}), repaired")
            geom = shapely.make_valid(geom)
            geom = shapely.union_all([g for g in getattr(geom, "geoms", [geom]) if g.area > 0])
        geoms.setdefault(region_of[k], []).append(geom)
    if not geoms:
        raise PlanError("drawn plan has no usable polygon")
    regions = sorted(geoms)
    dissolved = gpd.GeoDataFrame(
        {"region": regions},
        geometry=[shapely.union_all(geoms[r]) for r in regions],
        crs=units.metric_crs,
    )
    for r, geom in zip(regions, dissolved.geometry, strict=True):
        parts, holes = _parts_and_holes(geom)
        if holes:
            problems.append(f"region {r!r}: drawn with {holes} hole(s)")
        if parts > 1:
            problems.append(f"region {r!r}: drawn in {parts} separate parts (islands)")
    points = shapely.points(units.units[["rep_x", "rep_y"]].to_numpy(dtype=float))
    out: dict[int, list[str]] = {i: [] for i in range(units.n)}
    for r, geom in zip(regions, dissolved.geometry, strict=True):
        inside = np.flatnonzero(shapely.covered_by(points, geom))
        for i in inside:
            out[int(i)].append(r)
    return out, dissolved, problems


# ---------------------------------------------------------------- measures


def _pieces(members: list[int], nbrs: list[list[int]]) -> list[list[int]]:
    """Connected pieces of the units ``members`` on the unit graph, largest first."""
    inside = set(members)
    seen: set[int] = set()
    pieces: list[list[int]] = []
    for start in sorted(members):
        if start in seen:
            continue
        stack = [start]
        seen.add(start)
        piece = []
        while stack:
            cur = stack.pop()
            piece.append(cur)
            for nb in nbrs[cur]:
                if nb in inside and nb not in seen:
                    seen.add(nb)
                    stack.append(nb)
        pieces.append(sorted(piece))
    return sorted(pieces, key=lambda p: (-len(p), p[0]))


def evaluate_assignment(
    units: PlanningUnits,
    assignment: Mapping[int, Sequence[str]],
    *,
    plan_kind: str = "labels",
    region_geometry: Mapping[str, BaseGeometry] | None = None,
    problems: Sequence[str] = (),
    limits: SizeLimits | None = None,
    depots: Mapping[str, str] | None = None,
    patrol_time: PatrolTimeFn | None = None,
    drawn: Mapping[str, tuple[int, int]] | None = None,
) -> PlanEvaluation:
    """Measure a unit -> regions assignment (the common core of every `evaluate_*` entry point).

    ``region_geometry`` gives each region's area in the metric CRS for Polsby-Popper (drawn
    polygons, town boundaries); regions without one use the union of their units' cells.
    """
    limits = limits or SizeLimits()
    ids = units.unit_ids
    table = units.units
    nbrs = units.neighbours()
    problems = list(problems)
    members: dict[str, list[int]] = {}
    for i in range(units.n):
        for r in assignment.get(i, []):
            members.setdefault(str(r), []).append(i)
    unassigned = [ids[i] for i in range(units.n) if not assignment.get(i)]
    doubly = {ids[i]: list(assignment[i]) for i in range(units.n) if len(assignment.get(i, [])) > 1}
    if unassigned:
        problems.append(f"{len(unassigned)} unit(s) in no region")
    if doubly:
        problems.append(f"{len(doubly)} unit(s) in more than one region")

    # Cut edges: adjacent units whose region sets differ (units in no region are not counted).
    cut_total = 0
    cut_by_region: dict[str, int] = dict.fromkeys(members, 0)
    for i, j in units.adjacency:
        ri, rj = set(assignment.get(i, [])), set(assignment.get(j, []))
        if not ri or not rj or ri == rj:
            continue
        cut_total += 1
        for r in ri ^ rj:
            cut_by_region[r] = cut_by_region.get(r, 0) + 1

    workload = table["workload_h"].to_numpy(dtype=float)
    km = table["km"].to_numpy(dtype=float)
    loads = {r: float(workload[m].sum()) for r, m in members.items()}
    mean = float(np.mean(list(loads.values()))) if loads else 0.0
    crew_hours = limits.crew_hours or CREW_HOURS_PER_DAY * units.period_days
    regions: list[RegionEvaluation] = []
    for r in sorted(members, key=region_order):
        m = members[r]
        pieces = _pieces(m, nbrs)
        islands = sorted(ids[i] for piece in pieces[1:] for i in piece)
        if len(pieces) > 1:
            problems.append(
                f"region {r!r} is not contiguous on the road network: {len(pieces)} pieces;"
                f" units apart from the main piece: {', '.join(islands[:10])}"
                + (" ..." if len(islands) > 10 else "")
            )
        geom = (region_geometry or {}).get(r)
        if geom is None:
            geom = shapely.union_all(units.cells.values[m])
        load = loads[r]
        region_km = float(km[m].sum())
        crews = math.ceil(load / crew_hours - 1e-9) if load > 0 else 0
        size_problems = []
        if limits.max_workload_h is not None and load > limits.max_workload_h + 1e-9:
            size_problems.append(f"workload {load:.1f} h > {limits.max_workload_h:g} h")
        if limits.max_km is not None and region_km > limits.max_km + 1e-9:
            size_problems.append(f"{region_km:.1f} km > {limits.max_km:g} km")
        if limits.max_crews is not None and crews > limits.max_crews:
            size_problems.append(f"needs {crews} crews > {limits.max_crews}")
        for text in size_problems:
            problems.append(f"region {r!r} too big for a local firm: {text}")
        asset_ids = [a for i in m for a in table["asset_ids"].iloc[i]]
        routed = patrol_time(asset_ids, r) if patrol_time is not None else None
        d_parts, d_holes = (drawn or {}).get(r, (None, None))
        centre, travel_min = _centre(units, m, workload)
        regions.append(
            RegionEvaluation(
                region=r,
                n_units=len(m),
                workload_h=load,
                deviation_pct=100.0 * (load - mean) / mean if mean > 0 else 0.0,
                km=region_km,
                towns=sorted(set(table["municipality"].astype(str).iloc[m])),
                fields=sorted({f for i in m for f in str(table["fields"].iloc[i]).split(",")}),
                contiguous=len(pieces) <= 1,
                pieces=len(pieces),
                islands=islands,
                polsby_popper=polsby_popper(geom),
                cut_edges=cut_by_region.get(r, 0),
                crews_needed=crews,
                within_size_limit=None if not limits.any() else not size_problems,
                size_problems=size_problems,
                patrol_time_h=routed if routed is not None else load,
                patrol_time_source="routing engine" if routed is not None else "workload estimate",
                drawn_parts=d_parts,
                drawn_holes=d_holes,
                depot=(depots or {}).get(r),
                centre=ids[centre],
                mean_travel_min=travel_min,
            )
        )
    values = [r.workload_h for r in regions]
    positive = [v for v in values if v > 0]
    balance = max(values) / min(positive) if positive and min(values) > 0 else math.inf
    if not regions:
        balance = math.nan
    geometry = None
    if regions:
        geoms = [
            (region_geometry or {}).get(r.region)
            or shapely.union_all(units.cells.values[members[r.region]])
            for r in regions
        ]
        geometry = gpd.GeoDataFrame(
            {"region": [r.region for r in regions]}, geometry=geoms, crs=units.metric_crs
        )
    return PlanEvaluation(
        regions=regions,
        unassigned=unassigned,
        doubly_assigned=doubly,
        problems=problems,
        cut_edges=cut_total,
        balance=balance,
        max_deviation_pct=max((abs(r.deviation_pct) for r in regions), default=0.0),
        mean_polsby_popper=float(np.mean([r.polsby_popper for r in regions])) if regions else 0.0,
        contiguous=all(r.contiguous for r in regions),
        within_size_limits=None
        if not limits.any()
        else all(bool(r.within_size_limit) for r in regions),
        plan_kind=plan_kind,
        unit_regions={ids[i]: list(assignment.get(i, [])) for i in range(units.n)},
        geometry=geometry,
        mean_travel_min=_weighted_travel(regions),
    )


def _centre(units: PlanningUnits, members: list[int], workload: np.ndarray) -> tuple[int, float]:
    """The region's 1-median unit and the workload-weighted mean travel minutes to it.

    This is the compactness the optimizer minimises (workload x travel time to the centre),
    measured the same way for any plan so that plans from different sources compare.
    """
    idx = np.asarray(members)
    weights = np.maximum(workload[idx], 1e-9)
    to_centre = units.travel_s[np.ix_(idx, idx)]  # row: from unit, column: candidate centre
    totals = weights @ to_centre
    best = int(np.argmin(totals))
    return int(idx[best]), float(totals[best] / weights.sum() / 60.0)


def _weighted_travel(regions: list[RegionEvaluation]) -> float:
    total = sum(r.workload_h for r in regions)
    if total <= 0:
        return 0.0
    return sum(r.mean_travel_min * r.workload_h for r in regions) / total


def region_order(label: str) -> tuple[int, int | str]:
    """Sort key of region labels: numbers numerically (2 before 10), then the others."""
    return (0, int(label)) if label.isdigit() else (1, label)


def evaluate_plan(
    units: PlanningUnits,
    plan: gpd.GeoDataFrame | Mapping[str, Any] | Sequence[Any],
    *,
    municipalities: gpd.GeoDataFrame | None = None,
    region_column: str | None = None,
    limits: SizeLimits | None = None,
    depots: Mapping[str, str] | None = None,
    patrol_time: PatrolTimeFn | None = None,
) -> PlanEvaluation:
    """Evaluate any plan of contract regions over ``units``.

    Parameters
    ----------
    units
        The planning units (`gis_data.planning.units.build_units`).
    plan
        Drawn regions (a GeoDataFrame of polygons, region id in ``region_column`` or a column
        named region/region_id/name/id), towns per region (a mapping region -> list of
        municipality codes or names), or unit labels (a sequence by unit index, or a mapping
        unit_id -> region).
    municipalities
        Town boundaries (``municipality_code`` + polygons), used for the compactness of plans
        given as towns per region.
    region_column
        The region id column of drawn polygons.
    limits
        The local-firm size limits to check.
    depots
        Region -> depot name, shown in the table.
    patrol_time
        Callback giving a region's patrol hours from the routing engine (called with the
        region's asset ids and its label); without it the workload estimate is reported
        (``patrol_time_source``).
    """
    if isinstance(plan, gpd.GeoDataFrame):
        assignment, dissolved, problems = assignment_from_polygons(
            units, plan, region_column=region_column
        )
        drawn_geometry = dict(zip(dissolved["region"], dissolved.geometry, strict=True))
        drawn = {r: _parts_and_holes(g) for r, g in drawn_geometry.items()}
        for r in drawn_geometry:
            if not any(r in regs for regs in assignment.values()):
                problems.append(f"region {r!r}: drawn polygon contains no unit")
        return evaluate_assignment(
            units,
            assignment,
            plan_kind="polygons",
            region_geometry=drawn_geometry,
            problems=problems,
            limits=limits,
            depots=depots,
            patrol_time=patrol_time,
            drawn=drawn,
        )
    if (
        isinstance(plan, Mapping)
        and plan
        and all(isinstance(v, (list, tuple, set)) for v in plan.values())
    ):
        towns = {str(k): [str(t) for t in v] for k, v in plan.items()}
        assignment, problems = assignment_from_towns(units, towns)
        region_geometry: dict[str, BaseGeometry] = {}
        if municipalities is not None:
            munis = municipalities.to_crs(units.metric_crs)
            code_geom = dict(
                zip(munis["municipality_code"].astype(str), munis.geometry, strict=True)
            )
            name_code = dict(
                zip(
                    units.units["municipality"].astype(str),
                    units.units["municipality_code"].astype(str),
                    strict=False,
                )
            )
            for region, members in towns.items():
                shapes = [code_geom.get(t) or code_geom.get(name_code.get(t, "")) for t in members]
                present = [g for g in shapes if g is not None]
                if present:
                    region_geometry[region] = shapely.union_all(present)
        return evaluate_assignment(
            units,
            assignment,
            plan_kind="towns",
            region_geometry=region_geometry,
            problems=problems,
            limits=limits,
            depots=depots,
            patrol_time=patrol_time,
        )
    if isinstance(plan, (Mapping, Sequence, np.ndarray, pd.Series)) and not isinstance(plan, str):
        labels: Sequence[Any] | Mapping[str, Any]
        if isinstance(plan, pd.Series):
            labels = plan.to_dict() if plan.index.dtype == object else plan.tolist()
        elif isinstance(plan, np.ndarray):
            labels = plan.tolist()
        else:
            labels = plan
        return evaluate_assignment(
            units,
            assignment_from_labels(units, labels),
            plan_kind="labels",
            limits=limits,
            depots=depots,
            patrol_time=patrol_time,
        )
    raise PlanError(f"cannot read a plan of type {type(plan).__name__}")
