"""How many contracts? The frontier over k: regions, routes, cost and local-firm capacity per k.

For every k (and for whole-town and cross-border regions) one *independent* task plans the
contract regions with `planning.regions.solve_regions` on shared planning units, then routes one
patrol round of each region (every asset once) from its yard with the routing engine (a
`planning.day_routes.DayRouter`), and reports: total patrol crew hours, km and cost (unit costs of
`planning.effects.UnitCosts`), the saving against the siloed status quo (each town x field routed
alone from its town depot by the same engine), the largest region's workload and crews, and how
many surveyed local firms (`workbench.survey.FirmCapacity`) could carry it. A k is *within local
capacity* when every region of it has at least one firm able to carry it.

Tasks fan out over a Dask client or any mapper (`gis_data.planning.parallel.as_mapper`); with a
count-based stop each point equals a single run at that k with the same seed (`frontier_point`).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gis_data.planning.day_routes import EMPTY_DAY, DayRouter, DayRoutes
from gis_data.planning.effects import UnitCosts
from gis_data.planning.parallel import as_mapper
from gis_data.planning.regions import RegionRequest, solve_regions

if TYPE_CHECKING:
    import geopandas as gpd

    from gis_data.planning.plan_engine import PlanSetup
    from gis_data.planning.regions import RegionPlan
    from gis_data.planning.units import PlanningUnits
    from gis_data.workbench.survey import FirmCapacity
    from optimizer.stop import StoppingCriterion

logger = logging.getLogger(__name__)

ProgressFn = Callable[[int, str], None]


@dataclass(frozen=True)
class RoundFigures:
    """One patrol round (every asset once): crew hours, km, routes and their cost."""

    crew_hours: float
    km: float
    routes: int
    cost_yen: float

    @classmethod
    def of(cls, days: Sequence[DayRoutes], costs: UnitCosts) -> RoundFigures:
        """Sum route sets and cost them (labour, running km, one vehicle-day per route)."""
        hours = sum(d.minutes for d in days) / 60.0
        km = sum(d.km for d in days)
        routes = sum(d.num_routes for d in days)
        cost = (
            hours * costs.crew_hour_yen + km * costs.vehicle_km_yen + routes * costs.vehicle_day_yen
        )
        return cls(crew_hours=hours, km=km, routes=routes, cost_yen=cost)


@dataclass(frozen=True)
class RegionFigures:
    """One region of a frontier point."""

    region: str
    towns: tuple[str, ...]  # municipality codes
    workload_h: float
    crews: int
    km: float
    patrol: RoundFigures
    firms: int  # surveyed firms able to carry it


@dataclass(frozen=True)
class FrontierPoint:
    """The plan at one k (``reason`` set when k is impossible)."""

    k: int
    whole_towns: bool
    seed: int
    reason: str = ""
    labels: tuple[str, ...] = ()
    regions: tuple[RegionFigures, ...] = ()
    bundled: RoundFigures | None = None
    siloed: RoundFigures | None = None
    total_workload_h: float = 0.0

    @property
    def feasible(self) -> bool:
        """A plan exists at this k."""
        return not self.reason

    @property
    def largest(self) -> RegionFigures | None:
        """The region with the most workload."""
        return max(self.regions, key=lambda r: (r.workload_h, r.region), default=None)

    @property
    def saving_yen(self) -> float | None:
        """Siloed cost minus bundled cost for one round."""
        if self.bundled is None or self.siloed is None:
            return None
        return self.siloed.cost_yen - self.bundled.cost_yen

    @property
    def saving_pct(self) -> float | None:
        """Saving in % of the siloed cost."""
        s = self.saving_yen
        if s is None or self.siloed is None or self.siloed.cost_yen <= 0:
            return None
        return 100.0 * s / self.siloed.cost_yen

    def within_capacity(self, firms_surveyed: int) -> bool | None:
        """Every region carried by at least one local firm (None: no firm surveyed)."""
        if not self.feasible or firms_surveyed == 0:
            return None
        return all(r.firms > 0 for r in self.regions)

    def row(self, firms_surveyed: int) -> dict[str, Any]:
        """A table row (plain values)."""
        big = self.largest
        b = self.bundled
        return {
            "k": self.k,
            "whole_towns": self.whole_towns,
            "feasible": self.feasible,
            "reason": self.reason,
            "crew_hours": None if b is None else round(b.crew_hours, 2),
            "km": None if b is None else round(b.km, 2),
            "routes": None if b is None else b.routes,
            "cost_yen": None if b is None else round(b.cost_yen),
            "siloed_cost_yen": None if self.siloed is None else round(self.siloed.cost_yen),
            "saving_yen": None if self.saving_yen is None else round(self.saving_yen),
            "saving_pct": None if self.saving_pct is None else round(self.saving_pct, 2),
            "total_workload_h": round(self.total_workload_h, 2),
            "largest_workload_h": None if big is None else round(big.workload_h, 2),
            "largest_crews": None if big is None else big.crews,
            "largest_towns": None if big is None else list(big.towns),
            "firms_for_largest": None if big is None or not firms_surveyed else big.firms,
            "within_capacity": self.within_capacity(firms_surveyed),
        }


@dataclass(frozen=True)
class Frontier:
    """All points, the siloed baseline and the firms they were checked against."""

    points: tuple[FrontierPoint, ...]
    siloed: RoundFigures
    firms: tuple[FirmCapacity, ...] = ()
    method: str = ""

    def rows(self) -> list[dict[str, Any]]:
        """One table row per (variant, k)."""
        return [p.row(len(self.firms)) for p in self.points]

    def point(self, k: int, *, whole_towns: bool) -> FrontierPoint:
        """The point at ``k`` of a variant."""
        for p in self.points:
            if p.k == k and p.whole_towns == whole_towns:
                return p
        raise KeyError(f"no frontier point k={k} whole_towns={whole_towns}")

    def within_capacity_ks(self, *, whole_towns: bool) -> list[int]:
        """The k values whose every region some local firm can carry."""
        n = len(self.firms)
        return [p.k for p in self.points if p.whole_towns == whole_towns and p.within_capacity(n)]

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "rows": self.rows(),
            "siloed": {
                "crew_hours": round(self.siloed.crew_hours, 2),
                "km": round(self.siloed.km, 2),
                "routes": self.siloed.routes,
                "cost_yen": round(self.siloed.cost_yen),
            },
            "firms_surveyed": len(self.firms),
            "max_firm_crews": max((f.crews for f in self.firms), default=None),
            "within_capacity": {
                "whole_towns": self.within_capacity_ks(whole_towns=True),
                "cross_border": self.within_capacity_ks(whole_towns=False),
            },
            "method": self.method,
        }


def _region_towns(units: PlanningUnits, labels: Sequence[str]) -> dict[str, tuple[str, ...]]:
    codes = units.units["municipality_code"].astype(str).tolist()
    out: dict[str, set[str]] = {}
    for code, label in zip(codes, labels, strict=True):
        out.setdefault(label, set()).add(code)
    return {r: tuple(sorted(c)) for r, c in out.items()}


def _region_assets(units: PlanningUnits, labels: Sequence[str]) -> dict[str, frozenset[str]]:
    index = {u: labels[i] for i, u in enumerate(units.unit_ids)}
    out: dict[str, set[str]] = {}
    for asset, unit in units.asset_unit.items():
        if unit in index:
            out.setdefault(index[unit], set()).add(str(asset))
    return {r: frozenset(a) for r, a in out.items()}


@dataclass(frozen=True)
class _PointTask:
    """Picklable ``(k, whole_towns) -> FrontierPoint`` (sent once per worker)."""

    units: PlanningUnits
    router: DayRouter
    depots: gpd.GeoDataFrame | None
    bundle_depot: str
    stop: StoppingCriterion
    seed: int
    balance_tolerance: float
    whole_towns_balance: float
    costs: UnitCosts
    firms: tuple[FirmCapacity, ...]
    siloed: RoundFigures

    def __call__(self, item: tuple[int, bool]) -> FrontierPoint:
        k, whole = item
        band = (
            max(self.balance_tolerance, self.whole_towns_balance)
            if whole
            else (self.balance_tolerance)
        )
        request = RegionRequest(k=k, whole_towns=whole, balance_tolerance=band, use_depots=True)
        total = float(self.units.units["workload_h"].sum())
        try:
            plan = solve_regions(
                self.units, request, depots=self.depots, stop=self.stop, seed=self.seed
            )
        except (ValueError, ArithmeticError) as exc:
            # Infeasible k (more regions than towns, say) is a result of the sweep.
            return FrontierPoint(k, whole, self.seed, reason=str(exc), total_workload_h=total)
        return self._point(plan, k, whole, total)

    def _point(self, plan: RegionPlan, k: int, whole: bool, total: float) -> FrontierPoint:
        towns = _region_towns(self.units, plan.labels)
        assets = _region_assets(self.units, plan.labels)
        regions = []
        days = []
        for ev in plan.evaluation.regions:
            depot = plan.depot_ids.get(ev.region) or self.bundle_depot
            members = assets.get(ev.region, frozenset())
            day = self.router.route(members, depot) if members else EMPTY_DAY
            days.append(day)
            crews = ev.crews_needed
            town_codes = towns.get(ev.region, ())
            regions.append(
                RegionFigures(
                    region=ev.region,
                    towns=town_codes,
                    workload_h=ev.workload_h,
                    crews=crews,
                    km=ev.km,
                    patrol=RoundFigures.of([day], self.costs),
                    firms=sum(1 for f in self.firms if f.can_carry(crews=crews, towns=town_codes)),
                )
            )
        return FrontierPoint(
            k=k,
            whole_towns=whole,
            seed=self.seed,
            labels=tuple(plan.labels),
            regions=tuple(regions),
            bundled=RoundFigures.of(days, self.costs),
            siloed=self.siloed,
            total_workload_h=total,
        )


def siloed_round(
    units: PlanningUnits,
    assets: gpd.GeoDataFrame,
    router: DayRouter,
    town_depots: Mapping[str, str],
    *,
    costs: UnitCosts,
    client: Any | None = None,
) -> RoundFigures:
    """One round of the status quo: each town x field routed alone from its town depot."""
    planned = {str(a) for a in units.asset_unit}
    frame = assets[assets["asset_id"].astype(str).isin(planned)]
    keys = []
    for (code, _), group in frame.groupby(["municipality_code", "field"], sort=True):
        if str(code) not in town_depots:
            raise ValueError(f"municipality {code!r} has no town depot for the siloed status quo")
        keys.append((frozenset(group["asset_id"].astype(str)), town_depots[str(code)]))
    days = as_mapper(client)(_RouteKey(router), keys)
    return RoundFigures.of(days, costs)


@dataclass(frozen=True)
class _RouteKey:
    router: DayRouter

    def __call__(self, key: tuple[frozenset[str], str]) -> DayRoutes:
        return self.router.route(*key)


#: The region variants a planner asks for by name (True: whole towns, False: cross-border).
VARIANTS: dict[str, tuple[bool, ...]] = {
    "both": (True, False),
    "whole_towns": (True,),
    "cross_border": (False,),
}


@dataclass(frozen=True)
class FrontierRequest:
    """What to sweep: ks, variants (whole towns and/or cross-border) and the solver settings."""

    ks: tuple[int, ...]
    variants: tuple[bool, ...] = (True, False)
    seed: int = 0
    balance_tolerance: float = 0.2
    # Whole towns differ in size, so their balance band is looser (as planning.plan_engine's).
    whole_towns_balance: float = 0.5
    costs: UnitCosts = field(default_factory=UnitCosts)

    def balance(self, *, whole_towns: bool) -> float:
        """The balance band of a variant."""
        return (
            max(self.balance_tolerance, self.whole_towns_balance)
            if whole_towns
            else (self.balance_tolerance)
        )

    def items(self) -> list[tuple[int, bool]]:
        """The independent tasks, whole-town variant first, k ascending."""
        return [(k, whole) for whole in self.variants for k in sorted(set(self.ks))]


def _task(
    units: PlanningUnits,
    router: DayRouter,
    request: FrontierRequest,
    *,
    stop: StoppingCriterion,
    depots: gpd.GeoDataFrame | None,
    bundle_depot: str,
    firms: Sequence[FirmCapacity],
    siloed: RoundFigures,
) -> _PointTask:
    return _PointTask(
        units=units,
        router=router,
        depots=depots,
        bundle_depot=bundle_depot,
        stop=stop,
        seed=request.seed,
        balance_tolerance=request.balance_tolerance,
        whole_towns_balance=request.whole_towns_balance,
        costs=request.costs,
        firms=tuple(firms),
        siloed=siloed,
    )


def sweep_frontier(
    units: PlanningUnits,
    assets: gpd.GeoDataFrame,
    router: DayRouter,
    request: FrontierRequest,
    *,
    stop: StoppingCriterion,
    town_depots: Mapping[str, str],
    bundle_depot: str,
    depots: gpd.GeoDataFrame | None = None,
    firms: Sequence[FirmCapacity] = (),
    client: Any | None = None,
    progress: ProgressFn | None = None,
) -> Frontier:
    """Every (variant, k) of ``request`` as independent tasks over ``client``.

    ``units`` are built once (`planning.regions.scenario_units`); ``assets`` are the scenario's
    assets (for the siloed baseline); ``depots`` the scenario's depots (regions centred on
    yards); ``bundle_depot`` serves regions without a yard of their own ('|' joins several).
    Use a count-based ``stop`` so each point equals `frontier_point` at its k.
    """
    report = progress or (lambda pct, msg: None)
    report(5, "routing the siloed status quo")
    siloed = siloed_round(units, assets, router, town_depots, costs=request.costs, client=client)
    items = request.items()
    report(20, f"planning and routing {len(items)} region plans")
    fn = _task(
        units,
        router,
        request,
        stop=stop,
        depots=depots,
        bundle_depot=bundle_depot,
        firms=firms,
        siloed=siloed,
    )
    points = as_mapper(client)(fn, items)
    report(95, "frontier done")
    logger.info("frontier: %d points, %d firms", len(points), len(firms))
    return Frontier(
        points=tuple(points),
        siloed=siloed,
        firms=tuple(firms),
        method=(
            f"regions (planning.regions, balance {request.balance_tolerance:g}, whole towns "
            f"{request.balance(whole_towns=True):g}, seed {request.seed}) + one patrol round per"
            " region by the routing engine"
        ),
    )


def frontier_point(
    units: PlanningUnits,
    router: DayRouter,
    k: int,
    *,
    whole_towns: bool,
    stop: StoppingCriterion,
    siloed: RoundFigures,
    bundle_depot: str,
    depots: gpd.GeoDataFrame | None = None,
    firms: Sequence[FirmCapacity] = (),
    seed: int = 0,
    balance_tolerance: float = 0.2,
    whole_towns_balance: float = 0.5,
    costs: UnitCosts | None = None,
) -> FrontierPoint:
    """A single run at ``k``: the same computation as one task of `sweep_frontier`."""
    request = FrontierRequest(
        ks=(k,),
        variants=(whole_towns,),
        seed=seed,
        balance_tolerance=balance_tolerance,
        whole_towns_balance=whole_towns_balance,
        costs=costs or UnitCosts(),
    )
    fn = _task(
        units,
        router,
        request,
        stop=stop,
        depots=depots,
        bundle_depot=bundle_depot,
        firms=firms,
        siloed=siloed,
    )
    return fn((k, whole_towns))


def frontier_png(frontier: Frontier | Mapping[str, Any], *, lang: str = "ja") -> bytes:
    """Cost per round and the largest region's crews against k, per variant.

    Takes a `Frontier` or its `Frontier.to_dict` (a stored plan). Filled markers are the k
    within local-firm capacity; the dashed line in the lower panel is the biggest surveyed
    firm's crews.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gis_data.workbench.cjk_font import use_japanese_font

    data = frontier.to_dict() if isinstance(frontier, Frontier) else frontier
    idx = 0 if lang == "ja" and use_japanese_font(plt) else 1
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7.0, 6.0), sharex=True)
    names = {True: ("自治体単位", "whole towns"), False: ("境界をまたぐ", "cross-border")}
    for whole, colour in ((True, "tab:blue"), (False, "tab:orange")):
        rows = [r for r in data["rows"] if r["whole_towns"] == whole and r["feasible"]]
        if not rows:
            continue
        ks = [r["k"] for r in rows]
        cost = [r["cost_yen"] / 1000.0 for r in rows]
        crews = [r["largest_crews"] for r in rows]
        top.plot(ks, cost, "-", color=colour, label=names[whole][idx])
        bottom.plot(ks, crews, "-", color=colour, label=names[whole][idx])
        for r, c, w in zip(rows, cost, crews, strict=True):
            face = colour if r["within_capacity"] else "white"
            top.plot([r["k"]], [c], "o", color=colour, markerfacecolor=face)
            bottom.plot([r["k"]], [w], "o", color=colour, markerfacecolor=face)
    top.axhline(
        data["siloed"]["cost_yen"] / 1000.0,
        color="grey",
        linestyle=":",
        label=("現状（個別巡回）", "siloed status quo")[idx],
    )
    top.set_ylabel(("巡回1回の費用（千円）", "Cost per patrol round (thousand yen)")[idx])
    top.legend(fontsize=8)
    if data.get("max_firm_crews"):
        bottom.axhline(
            data["max_firm_crews"],
            color="green",
            linestyle="--",
            label=("地元事業者の最大班数", "largest local firm's crews")[idx],
        )
    bottom.set_ylabel(("最大区域の必要班数", "Crews of the largest region")[idx])
    bottom.set_xlabel(("契約区域の数 k", "Number of contract regions k")[idx])
    bottom.legend(fontsize=8)
    bottom.xaxis.get_major_locator().set_params(integer=True)
    top.set_title(
        ("契約数と費用・地元事業者の受注可能性", "How many contracts? Cost and local capacity")[idx]
    )
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def frontier_for_setup(
    setup: PlanSetup,
    request: FrontierRequest,
    *,
    firms: Sequence[FirmCapacity] = (),
    region_iterations: int = 30,
    route_iterations: int = 10,
    unit_km: float = 1.5,
    client: Any | None = None,
    progress: ProgressFn | None = None,
) -> Frontier:
    """The frontier of a loaded scenario (`planning.plan_engine.PlanSetup`) with count stops.

    Units are built once on the road network; regions stop after ``region_iterations`` solver
    iterations and each route solve after ``route_iterations``, so results are reproducible.
    """
    from gis_data.planning.regions import scenario_units
    from optimizer.stop import MaxIterations

    report = progress or (lambda pct, msg: None)
    report(2, "building planning units on the road network")
    units = scenario_units(setup.scenario, graph=setup.network.graph, target_km=unit_km)
    router = setup.router(stop=MaxIterations(route_iterations), seed=request.seed)
    return sweep_frontier(
        units,
        setup.assets,
        router,
        request,
        stop=MaxIterations(region_iterations),
        town_depots=setup.town_depots(),
        bundle_depot=setup.bundle_depot(),
        depots=setup.scenario.depots,
        firms=firms,
        client=client,
        progress=report,
    )
