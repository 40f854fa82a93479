"""Cost sharing (費用分担) among municipalities from real coalition costs of the routing engine.

The cost of a coalition S of towns, ``c(S)``, is the patrol cost (yen, `planning.effects.UnitCosts`)
over the horizon if only the towns of S bundled their patrols: one contractor crew pool from the
contractor yard(s), all fields, routed by the engine. How it is estimated (stated in every
result's ``method``):

- one patrol calendar for all towns (`planning.patrol_calendar`), so each town keeps its own
  patrol days whichever towns it bundles with; its load is levelled without batching small work
  into a few days, so every day carries a proportional share of each town's work and a few
  sampled days represent all towns alike;
- ``sample_days`` representative working days, the same for every coalition: day ``3j`` of the
  ``j``-th stretch of the horizon, so the days fall on different phases of the 2-, 5- and 20-day
  patrol cycles and in both park seasons; each day's due assets of S are routed by the engine
  (identical day sets solved once) and the day costs are scaled to the horizon. ``sample_days=None``
  routes every working day (exact for the calendar; a few dozen distinct days per coalition).

Shares: proportional to asset km, to patrol workload (hours over the horizon) and to population,
and the Shapley value (exact up to `EXACT_MAX_TOWNS` towns, evaluating all ``2^n - 1``
coalitions; sampled by seeded permutations beyond; with a ``client`` the distinct days of every
coalition needed are routed first as one batch of parallel solves), each checked against the
core: no group of towns may pay more than it would on its own. Each town sees its share and its
saving against going alone, ``c({i})``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from gis_data.planning.day_routes import CachingRouter, DayRouter, DayRoutes
from gis_data.planning.effects import UnitCosts
from gis_data.planning.patrol_calendar import (
    DEFAULT_SHIFT_MINUTES,
    Frequencies,
    PatrolCalendar,
    build_patrol_calendar,
)
from gis_data.planning.work_calendar import Horizon, WorkRules
from optimizer.cost_sharing import (
    CoalitionCache,
    MapFn,
    ShapleyResult,
    core_violations,
    proportional_shares,
    shapley_exact,
    shapley_sampled,
)

if TYPE_CHECKING:
    import geopandas as gpd
    from pyproj import CRS

logger = logging.getLogger(__name__)

EXACT_MAX_TOWNS = 10
DEFAULT_SAMPLE_DAYS = 5
DEFAULT_PERMUTATIONS = 30


def day_cost(routes: DayRoutes, costs: UnitCosts) -> float:
    """Yen of one day's routes: crew hours, km and vehicle-days at the unit costs."""
    return (
        routes.minutes / 60.0 * costs.crew_hour_yen
        + routes.km * costs.vehicle_km_yen
        + routes.num_routes * costs.vehicle_day_yen
    )


def sample_day_indices(num_days: int, k: int) -> list[int]:
    """``k`` representative working days: ``3j`` into the ``j``-th of ``k`` stretches of 20."""
    if k < 1:
        raise ValueError(f"sample_days must be >= 1, got {k}")
    if k >= num_days:
        return list(range(num_days))
    cycles = num_days // 20
    days = []
    for j in range(k):
        d = 3 * j + 20 * math.floor(j * cycles / k) if cycles else round(j * num_days / k)
        days.append(min(d, num_days - 1))
    return sorted(set(days))


@dataclass
class CoalitionCost:
    """``c(S)`` for coalitions of town indices, from the engine (see the module docstring).

    Callable on a frozenset of indices into ``towns``; picklable when its router is, so a Dask
    ``map`` can evaluate coalitions in parallel.
    """

    calendar: PatrolCalendar
    towns: tuple[str, ...]
    town_of_asset: dict[str, str]
    router: DayRouter
    depot: str
    costs: UnitCosts
    days: tuple[int, ...]
    weights: tuple[float, ...]
    day_assets: tuple[frozenset[str], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.router, CachingRouter):
            self.router = CachingRouter(self.router)
        region = self.calendar.regions[0]
        self.day_assets = tuple(self.calendar.day_assets(d, region) for d in self.days)

    def _due(self, coalition: frozenset[int]) -> list[frozenset[str]]:
        """Per sampled day the assets of the coalition's towns due that day."""
        members = {self.towns[i] for i in coalition}
        return [
            frozenset(a for a in assets if self.town_of_asset[a] in members)
            for assets in self.day_assets
        ]

    def __call__(self, coalition: frozenset[int]) -> float:
        """Cost over the horizon of the towns ``coalition`` bundling on their own."""
        total = 0.0
        for due, weight in zip(self._due(coalition), self.weights, strict=True):
            if due:
                total += weight * day_cost(self.router.route(due, self.depot), self.costs)
        return total

    def day_keys(self, coalition: frozenset[int]) -> list[tuple[frozenset[str], str]]:
        """The ``(asset ids, depot)`` days routed to cost ``coalition`` (none empty)."""
        return [(due, self.depot) for due in self._due(coalition) if due]

    @property
    def solves(self) -> int:
        """Routing solves so far (cache misses)."""
        assert isinstance(self.router, CachingRouter)
        return self.router.solves

    def describe(self) -> str:
        """How c(S) is computed, for reports."""
        n = len(self.calendar.dates)
        if len(self.days) == n:
            how = f"every one of the {n} working days routed"
        else:
            how = f"{len(self.days)} representative working days of {n} routed and scaled"
        return f"c(S): one calendar for all towns ({self.calendar.horizon.label}); {how}"


def build_coalition_cost(
    assets: gpd.GeoDataFrame,
    router: DayRouter,
    horizon: Horizon,
    *,
    depot: str,
    costs: UnitCosts | None = None,
    sample_days: int | None = DEFAULT_SAMPLE_DAYS,
    frequencies: Frequencies | None = None,
    rules: WorkRules | None = None,
    metric_crs: CRS | str | None = None,
    shift_minutes: float = DEFAULT_SHIFT_MINUTES,
    seed: int = 0,
) -> CoalitionCost:
    """The coalition cost function of the towns in ``assets`` (sorted by municipality code)."""
    calendar = build_patrol_calendar(
        assets,
        horizon,
        region_of=lambda row: "all",
        depot_of={"all": depot},
        frequencies=frequencies,
        rules=rules,
        metric_crs=metric_crs,
        shift_minutes=shift_minutes,
        seed=seed,
        batch=False,
        zone_km=None,
    )
    n = len(calendar.dates)
    days = list(range(n)) if sample_days is None else sample_day_indices(n, sample_days)
    weights = [n / len(days)] * len(days)
    towns = tuple(sorted(set(assets["municipality_code"].astype(str))))
    town_of_asset = dict(
        zip(assets["asset_id"].astype(str), assets["municipality_code"].astype(str), strict=True)
    )
    return CoalitionCost(
        calendar=calendar,
        towns=towns,
        town_of_asset=town_of_asset,
        router=router,
        depot=depot,
        costs=costs or UnitCosts(),
        days=tuple(days),
        weights=tuple(weights),
    )


@dataclass(frozen=True)
class TownShare:
    """One town's figures and shares (yen) under each rule."""

    code: str
    name: str
    population: float
    asset_km: float
    workload_h: float
    alone_yen: float
    shares: dict[str, float]

    def saving(self, rule: str) -> float:
        """What the town saves against bundling alone under ``rule``."""
        return self.alone_yen - self.shares[rule]


@dataclass(frozen=True)
class ShareResult:
    """Shares of the grand coalition's cost by every rule, with the core check per rule."""

    towns: tuple[TownShare, ...]
    total_yen: float
    rules: tuple[str, ...]
    shapley: ShapleyResult
    violations: dict[str, list[dict[str, Any]]]
    core_checked: str
    method: str
    solves: int
    coalitions: int
    runtime: float
    extra: dict[str, Any] = field(default_factory=dict)

    def rescaled(self, total_yen: float, *, why: str) -> ShareResult:
        """The same split of another total (every yen figure scaled alike, so the core check and
        each town's saving against going alone keep their meaning); ``why`` goes to ``method``.

        The report splits the effect estimate's bundled cost, so that the shares, the estimate
        and the calendar are one set of numbers.
        """
        if self.total_yen <= 0:
            raise ValueError("cannot rescale shares of a zero total")
        f = total_yen / self.total_yen
        towns = tuple(
            replace(
                t,
                alone_yen=t.alone_yen * f,
                shares={rule: value * f for rule, value in t.shares.items()},
            )
            for t in self.towns
        )
        violations = {
            rule: [
                {
                    **v,
                    "paid_yen": v["paid_yen"] * f,
                    "alone_yen": v["alone_yen"] * f,
                    "excess_yen": v["excess_yen"] * f,
                }
                for v in found
            ]
            for rule, found in self.violations.items()
        }
        return replace(
            self,
            towns=towns,
            total_yen=total_yen,
            violations=violations,
            method=f"{self.method}; {why} (x{f:.4f})",
        )

    def rows(self) -> list[dict[str, Any]]:
        """One row per town: figures, share and saving by rule."""
        out = []
        for t in self.towns:
            row: dict[str, Any] = {
                "code": t.code,
                "name": t.name,
                "population": t.population,
                "asset_km": t.asset_km,
                "workload_h": t.workload_h,
                "alone_yen": t.alone_yen,
            }
            for rule in self.rules:
                row[f"{rule}_yen"] = t.shares[rule]
                row[f"{rule}_saving_yen"] = t.saving(rule)
            out.append(row)
        return out


RULE_LABELS_JA = {
    "shapley": "シャープレイ値",
    "asset_km": "施設延長比",
    "workload": "作業量比",
    "population": "人口比",
    "council": "均等割・人口割・実績割",
}


@dataclass(frozen=True)
class CouncilFormula:
    """The sharing formula councils use: weights of 均等割 (equal), 人口割 (population) and
    実績割 (``basis``: asset km or patrol workload); normalised, settable (``[cost_share]``).

    The default 20 / 40 / 40 is an example, not a norm: each group of towns agrees its own.
    ``departments`` maps a field (road, river, park ...) to the department that pays for it
    when the intake does not say (its ``department`` column wins).
    """

    equal: float = 0.2
    population: float = 0.4
    actual: float = 0.4
    basis: str = "workload"
    departments: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.basis not in ("workload", "asset_km"):
            raise ValueError(
                f"cost_share basis must be 'workload' or 'asset_km', got {self.basis!r}"
            )
        weights = (self.equal, self.population, self.actual)
        if any(not w >= 0 for w in weights) or sum(weights) <= 0:
            raise ValueError(f"cost_share weights must be >= 0 and not all 0, got {weights}")

    @classmethod
    def from_mapping(
        cls, values: Mapping[str, Any], *, where: str = "cost_share"
    ) -> CouncilFormula:
        """The formula from a settings table; unknown keys are an error naming ``where``."""
        known = {"equal", "population", "actual", "basis", "departments"}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"{where}: unknown keys {unknown}; allowed {sorted(known)}")
        try:
            return cls(
                equal=float(values.get("equal", 0.2)),
                population=float(values.get("population", 0.4)),
                actual=float(values.get("actual", 0.4)),
                basis=str(values.get("basis", "workload")),
                departments={str(k): str(v) for k, v in values.get("departments", {}).items()},
            )
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None

    @property
    def weights(self) -> tuple[float, float, float]:
        """(均等割, 人口割, 実績割) normalised to sum to 1."""
        total = self.equal + self.population + self.actual
        return (self.equal / total, self.population / total, self.actual / total)


@dataclass(frozen=True)
class CouncilShare:
    """One town's share under the council formula, by term (yen)."""

    code: str
    name: str
    equal_yen: float
    population_yen: float
    actual_yen: float

    @property
    def total_yen(self) -> float:
        """The town's share."""
        return self.equal_yen + self.population_yen + self.actual_yen


def council_shares(
    total_yen: float,
    towns: Sequence[str],
    *,
    names: Mapping[str, str],
    populations: Mapping[str, float],
    basis: Mapping[str, float],
    formula: CouncilFormula,
) -> list[CouncilShare]:
    """Split ``total_yen`` among ``towns`` by ``formula``; ``basis`` is each town's asset km or
    workload. A town without a known population counts 0 in the population term."""
    from optimizer.cost_sharing import formula_shares

    def pop(code: str) -> float:
        value = float(populations.get(code, 0.0))
        return value if math.isfinite(value) and value >= 0 else 0.0

    weights = formula.weights
    if weights[1] > 0 and sum(pop(c) for c in towns) <= 0:
        raise ValueError("the 人口割 term needs the towns' populations")
    if weights[2] > 0 and sum(float(basis.get(c, 0.0)) for c in towns) <= 0:
        raise ValueError(f"the 実績割 term needs a {formula.basis} above 0 for some town")
    parts = formula_shares(
        total_yen,
        populations=[pop(c) for c in towns],
        actuals=[float(basis.get(c, 0.0)) for c in towns],
        weights=weights,
    )
    return [
        CouncilShare(
            code=c,
            name=str(names.get(c, c)),
            equal_yen=float(parts.equal[i]),
            population_yen=float(parts.population[i]),
            actual_yen=float(parts.actual[i]),
        )
        for i, c in enumerate(towns)
    ]


def department_split(
    town_share: float, field_weights: Mapping[str, float], department_of: Mapping[str, str]
) -> dict[str, float]:
    """A town's share split among its departments in proportion to each field's weight (its
    status-quo cost or workload); fields without a department keep the field's name."""
    total = sum(w for w in field_weights.values() if w > 0)
    out: dict[str, float] = {}
    if total <= 0:
        return out
    for f, w in sorted(field_weights.items()):
        if w > 0:
            dept = department_of.get(f, f)
            out[dept] = out.get(dept, 0.0) + town_share * w / total
    return out


def _town_weights(
    calendar: PatrolCalendar, assets: gpd.GeoDataFrame, towns: Sequence[str], metric_crs: Any
) -> tuple[dict[str, float], dict[str, float]]:
    """Asset km and patrol workload hours (over the horizon) per town."""
    from optimizer.calendar import required_visits

    town_of = dict(
        zip(assets["asset_id"].astype(str), assets["municipality_code"].astype(str), strict=True)
    )
    work = dict.fromkeys(towns, 0.0)
    for i, t in enumerate(calendar.result.tasks):
        start, end = t.window if t.window is not None else (0, len(calendar.dates))
        town = town_of[calendar.task_assets[i]]
        work[town] += t.workload * required_visits(end - start, t.interval) / 60.0
    crs = metric_crs if metric_crs is not None else assets.estimate_utm_crs()
    projected = assets.to_crs(crs)
    lines = projected.geometry.geom_type.isin(["LineString", "MultiLineString"])
    km_series = projected.geometry.length.where(lines, 0.0) / 1000.0
    km = km_series.groupby(projected["municipality_code"].astype(str)).sum()
    return {t: float(km.get(t, 0.0)) for t in towns}, work


def _presolving_map(cost: CoalitionCost, client: Any) -> MapFn:
    """A ``map_fn`` that solves the coalitions' days over ``client``, then costs them here."""
    from gis_data.planning.parallel import presolve_days

    def map_fn(fn: Any, coalitions: Sequence[frozenset[int]]) -> list[float]:
        assert isinstance(cost.router, CachingRouter)
        presolve_days(cost.router, [k for c in coalitions for k in cost.day_keys(c)], client=client)
        return [fn(c) for c in coalitions]

    return map_fn


def share_costs(
    cost: CoalitionCost,
    assets: gpd.GeoDataFrame,
    *,
    names: Mapping[str, str] | None = None,
    populations: Mapping[str, float] | None = None,
    metric_crs: CRS | str | None = None,
    exact_max_towns: int = EXACT_MAX_TOWNS,
    permutations: int = DEFAULT_PERMUTATIONS,
    seed: int = 0,
    map_fn: MapFn | None = None,
    client: Any | None = None,
) -> ShareResult:
    """Shares of the grand coalition's cost by Shapley and proportional rules, core-checked.

    ``client`` (a Dask client or a mapper, `planning.parallel.as_mapper`) routes the distinct
    days of every coalition the Shapley value needs as one batch of parallel solves, then costs
    the coalitions here from them: costs and solve counts are those of the serial run.
    ``map_fn`` instead maps the coalitions themselves (each worker solving its own days).
    """
    started = time.perf_counter()
    if client is not None:
        if map_fn is not None:
            raise ValueError("share_costs takes a client or a map_fn, not both")
        map_fn = _presolving_map(cost, client)
    towns = cost.towns
    n = len(towns)
    cache = CoalitionCache(cost)
    if n <= exact_max_towns:
        shapley = shapley_exact(n, cache, map_fn=map_fn)
        how = f"exact Shapley over all {2**n - 1} coalitions"
    else:
        shapley = shapley_sampled(n, cache, permutations=permutations, seed=seed, map_fn=map_fn)
        how = f"Shapley sampled from {permutations} permutations (seed {seed})"
    total = shapley.grand_cost
    alone = [cache(frozenset({i})) for i in range(n)]
    km, work = _town_weights(cost.calendar, assets, towns, metric_crs)
    pops = {t: float((populations or {}).get(t, math.nan)) for t in towns}
    shares: dict[str, np.ndarray] = {"shapley": shapley.shares}
    shares["asset_km"] = proportional_shares(total, [km[t] for t in towns])
    shares["workload"] = proportional_shares(total, [work[t] for t in towns])
    if all(math.isfinite(p) and p >= 0 for p in pops.values()) and sum(pops.values()) > 0:
        shares["population"] = proportional_shares(total, [pops[t] for t in towns])
    # Core check on every coalition whose cost is known (all of them when exact).
    known = dict(cache.values)
    full = len(known) >= 2**n - 1
    violations = {}
    for rule, x in shares.items():
        found = core_violations(x, known, coalitions=[c for c in known if len(c) < n])
        violations[rule] = [
            {
                "towns": [towns[i] for i in sorted(v.coalition)],
                "paid_yen": v.paid,
                "alone_yen": v.alone,
                "excess_yen": v.excess,
            }
            for v in found
        ]
    town_rows = tuple(
        TownShare(
            code=t,
            name=str((names or {}).get(t, t)),
            population=pops[t],
            asset_km=km[t],
            workload_h=work[t],
            alone_yen=alone[i],
            shares={rule: float(x[i]) for rule, x in shares.items()},
        )
        for i, t in enumerate(towns)
    )
    return ShareResult(
        towns=town_rows,
        total_yen=total,
        rules=tuple(shares),
        shapley=shapley,
        violations=violations,
        core_checked=(
            f"all {2**n - 2} proper coalitions"
            if full
            else f"the {len(known) - 1} coalitions evaluated by the sampling (partial check)"
        ),
        method=f"{cost.describe()}; {how}",
        solves=cost.solves,
        coalitions=cache.calls,
        runtime=time.perf_counter() - started,
    )


def shares_from_json(data: Mapping[str, Any]) -> ShareResult:
    """A `ShareResult` back from its stored JSON (``workflows.shares_json``), for the report."""
    from optimizer.cost_sharing import ShapleyResult

    rules = tuple(str(r) for r in data["rules"])
    towns = tuple(
        TownShare(
            code=str(row["code"]),
            name=str(row["name"]),
            population=float(row["population"]) if row.get("population") is not None else math.nan,
            asset_km=float(row["asset_km"]),
            workload_h=float(row["workload_h"]),
            alone_yen=float(row["alone_yen"]),
            shares={rule: float(row[f"{rule}_yen"]) for rule in rules},
        )
        for row in data["towns"]
    )
    shapley = ShapleyResult(
        shares=np.array([t.shares.get("shapley", 0.0) for t in towns]),
        grand_cost=float(data["total_yen"]),
        exact=bool(data.get("shapley_exact", True)),
        calls=int(data.get("coalitions_costed", 0)),
    )
    return ShareResult(
        towns=towns,
        total_yen=float(data["total_yen"]),
        rules=rules,
        shapley=shapley,
        violations=dict(data.get("core_violations", {})),
        core_checked=str(data.get("core_checked", "")),
        method=str(data.get("method", "")),
        solves=int(data.get("routing_solves", 0)),
        coalitions=int(data.get("coalitions_costed", 0)),
        runtime=float(data.get("seconds", 0.0)),
    )
