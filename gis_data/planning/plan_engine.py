"""The routing engine behind calendars, effects and shares: a `DayRouter` on the road network.

`EngineRouter.route(asset_ids, depot)` builds the day's required streets and visits with the
network helper's matching (`network.patrol_arcs.Matching.tasks`), the optimizer problem with
`network.adapters.to_carp_data` (crews from the depot or depots, '|'-joined ids, shift limit),
solves it with `optimizer.arc_routing.solve_arc_routing` under a short, count-based stop by
default (reproducible), and traces the routes on the real roads for km and geometry
(`gis_data.network.adapters.trace_routes`). `PlanSetup` loads what every plan command needs once.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gis_data.network.adapters import Depot, to_carp_data, trace_routes
from gis_data.planning.day_routes import EMPTY_DAY, DayRoutes
from optimizer.arc_routing import solve_arc_routing
from optimizer.stop import (
    MaxIterations,
    MaxRuntime,
    MultipleCriteria,
    NoImprovement,
    StoppingCriterion,
)

if TYPE_CHECKING:
    import geopandas as gpd

    from gis_data.loading.load import Scenario
    from gis_data.network.graph import RoadNetwork
    from gis_data.network.patrol_arcs import Matching

logger = logging.getLogger(__name__)

# Default stop per day solve: the constructive heuristic plus a few improving iterations; the
# calendar repeats its day sets, so a year is a few dozen solves per crew unit.
DEFAULT_DAY_STOP = MaxIterations(10)


@dataclass
class EngineRouter:
    """Routes one day's assets on the road network from one or more depots ('|'-joined ids)."""

    network: RoadNetwork
    matching: Matching
    depots: dict[str, Depot]
    shift_hours: float | None = 8.0
    stop: StoppingCriterion = DEFAULT_DAY_STOP
    seed: int = 0
    keep_geometry: bool = False
    # Serve road assets that own no street on their own days too (stored calendars).
    orphans: bool = False
    seconds: float = 0.0
    solves: int = 0

    def route(self, asset_ids: frozenset[str], depot: str) -> DayRoutes:
        """Solve the day; assets the matching could not place add no work."""
        try:
            depots = [self.depots[d] for d in depot.split("|")]
        except KeyError as exc:
            raise ValueError(f"depot {exc.args[0]!r} is not a depot of the scenario") from None
        tasks = self.matching.tasks(sorted(asset_ids), orphans=self.orphans)
        if not tasks:
            return EMPTY_DAY
        started = time.perf_counter()
        instance = to_carp_data(
            self.network,
            tasks,
            depots,
            shift_hours=self.shift_hours,
            street_names=self.matching.street_names(),
        )
        result = solve_arc_routing(instance.data, stop=self.stop, seed=self.seed)
        self.seconds += time.perf_counter() - started
        self.solves += 1
        if result.solution is None:
            raise ValueError(
                f"no routes found for {len(tasks)} tasks from {depot}: {result.status}"
            )
        routes = trace_routes(instance, result.solution)
        return DayRoutes(
            route_km=tuple(r.km for r in routes),
            route_minutes=tuple(r.total_s / 60.0 for r in routes),
            method=f"arc routing ({result.backend}, {describe_stop(self.stop)}, seed {self.seed})",
            feasible=result.feasible,
            traced=tuple(routes) if self.keep_geometry else (),
        )


def describe_stop(stop: StoppingCriterion) -> str:
    """A stopping criterion in words for reports ('10 iterations', '2.0 s')."""
    if isinstance(stop, MultipleCriteria):
        return " or ".join(describe_stop(c) for c in stop.criteria)
    if isinstance(stop, MaxIterations):
        return f"{stop.count} iterations"
    if isinstance(stop, NoImprovement):
        return f"{stop.count} iterations without improvement"
    assert isinstance(stop, MaxRuntime)
    return f"{stop.seconds:g} s"


@dataclass
class PlanSetup:
    """A loaded scenario with its network, matching, depots and matched assets."""

    scenario: Scenario
    network: RoadNetwork
    matching: Matching
    depots: dict[str, Depot]
    assets: gpd.GeoDataFrame  # the scenario's assets the network can serve
    unmatched: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def load(cls, config: str | Path) -> PlanSetup:
        """Load the scenario TOML, build its network and match its assets once."""
        from gis_data.loading.load import load_scenario

        return cls.from_scenario(load_scenario(config))

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> PlanSetup:
        """Build the network of a loaded (or stored) scenario and match its assets once."""
        from gis_data.network.patrol_arcs import match_assets
        from gis_data.network.scenario_network import scenario_network

        network = scenario_network(scenario).network
        matching = match_assets(network, scenario.assets)
        unmatched = {u.asset_id for u in matching.unmatched}
        assets = scenario.assets[~scenario.assets["asset_id"].astype(str).isin(unmatched)]
        depots = {
            str(row.depot_id): Depot(str(row.depot_id), str(row.name), row.geometry)
            for row in scenario.depots.itertuples()
        }
        logger.info(
            "%s: %d assets, %d unmatched, %d depots",
            scenario.name,
            len(scenario.assets),
            len(unmatched),
            len(depots),
        )
        return cls(
            scenario=scenario,
            network=network,
            matching=matching,
            depots=depots,
            assets=assets.reset_index(drop=True),
            unmatched=matching.unmatched_frame(),
        )

    def router(
        self,
        *,
        stop: StoppingCriterion = DEFAULT_DAY_STOP,
        seed: int = 0,
        shift_hours: float | None = 8.0,
        keep_geometry: bool = False,
        orphans: bool = False,
    ) -> EngineRouter:
        """A day router on this scenario's network (``orphans``: see `Matching.tasks`)."""
        return EngineRouter(
            self.network,
            self.matching,
            self.depots,
            shift_hours=shift_hours,
            stop=stop,
            seed=seed,
            keep_geometry=keep_geometry,
            orphans=orphans,
        )

    def depots_of_kind(self, kind: str) -> list[str]:
        """Depot ids of ``kind`` ('town' or 'contractor'), in scenario order."""
        frame = self.scenario.depots
        return [str(d) for d in frame.loc[frame["kind"] == kind, "depot_id"]]

    def town_depots(self) -> dict[str, str]:
        """Municipality code -> its town depot id (the first one when several)."""
        out: dict[str, str] = {}
        for row in self.scenario.depots.itertuples():
            if row.kind == "town" and row.municipality_code not in out:
                out[str(row.municipality_code)] = str(row.depot_id)
        return out

    def bundle_depot(self, *, with_towns: bool = False) -> str:
        """All contractor yards ('|'-joined), or every town depot when there is no yard.

        ``with_towns`` adds the town depots: a consortium of local firms working from bases in
        every town rather than from the yards alone.
        """
        yards = self.depots_of_kind("contractor")
        if with_towns or not yards:
            yards = yards + self.depots_of_kind("town")
        return "|".join(yards)

    def town_names(self) -> dict[str, str]:
        """Municipality code -> name."""
        m = self.scenario.municipalities
        return dict(
            zip(m["municipality_code"].astype(str), m["municipality"].astype(str), strict=True)
        )

    def populations(self) -> dict[str, float]:
        """Municipality code -> population (NaN when unknown)."""
        m = self.scenario.municipalities
        if "population" not in m:
            return {str(c): float("nan") for c in m["municipality_code"]}
        return {
            str(c): float(p) if p is not None else float("nan")
            for c, p in zip(m["municipality_code"], m["population"], strict=True)
        }


# Local-search rounds of the whole-town region solve: on Liechtenstein's 11 towns (k = 2, 3) this
# gives the regions a 10 s wall-time run found, in about a second.
REGION_ROUNDS = 20


@dataclass(frozen=True)
class RegionChoice:
    """Contract regions of a bundled plan: asset -> region, region -> depot id(s), polygons."""

    asset_region: dict[str, str]
    region_depot: dict[str, str]
    frame: gpd.GeoDataFrame | None
    method: str


def choose_regions(
    setup: PlanSetup,
    k: int,
    *,
    seed: int = 0,
    stop: StoppingCriterion | None = None,
    balance: float = 0.5,
    with_towns: bool = False,
) -> RegionChoice:
    """``k`` contract regions of whole towns by the regions helper, each served from its yard.

    ``k == 1`` is one region for everything from all contractor yards (no solve). Whole towns
    keep the cost shares and phases per municipality meaningful; the balance is loose because
    towns differ in size. ``with_towns`` adds each region's town depots to its crew bases.
    The default ``stop`` counts local-search rounds (`REGION_ROUNDS`), so a plan's regions are
    the same on every run, machine and number of Dask workers; a `MaxRuntime` trades that for
    a wall-time bound.
    """
    ids = setup.assets["asset_id"].astype(str)
    if k <= 1:
        return RegionChoice(
            asset_region=dict.fromkeys(ids, "1"),
            region_depot={"1": setup.bundle_depot(with_towns=with_towns)},
            frame=None,
            method="one region for all towns, crews from every contractor yard"
            + (" and town depot" if with_towns else ""),
        )
    from gis_data.planning.regions import RegionRequest, plan_regions

    plan = plan_regions(
        setup.scenario,
        RegionRequest(k=k, whole_towns=True, balance_tolerance=balance),
        graph=setup.network.graph,
        stop=stop or MaxIterations(REGION_ROUNDS),
        seed=seed,
    )
    by_name = {d.name: d.depot_id for d in setup.depots.values()}
    mapping = asset_regions(plan)
    town_of = dict(zip(ids, setup.assets["municipality_code"].astype(str), strict=True))
    region_depot = {}
    for region in sorted(set(plan.labels)):
        depot = plan.depots.get(region)
        bases = [by_name.get(str(depot), str(depot))] if depot else setup.bundle_depot().split("|")
        if with_towns:
            towns = {town_of[a] for a, r in mapping.items() if r == region and a in town_of}
            bases += [d for code, d in setup.town_depots().items() if code in towns]
        region_depot[region] = "|".join(dict.fromkeys(bases))
    missing = [a for a in ids if a not in mapping]
    if missing:
        raise ValueError(f"the region plan leaves {len(missing)} assets without a region")
    return RegionChoice(
        asset_region={a: mapping[a] for a in ids},
        region_depot=region_depot,
        frame=plan.regions,
        method=f"{k} regions of whole towns (gis_data.planning.regions,"
        f" {describe_stop(stop or MaxIterations(REGION_ROUNDS))}, seed {seed})",
    )


def asset_regions(plan: Any) -> dict[str, str]:
    """Asset id -> region label of a `gis_data.planning.regions.RegionPlan`."""
    units = plan.units
    index = {u: i for i, u in enumerate(units.unit_ids)}
    return {a: plan.labels[index[u]] for a, u in units.asset_unit.items() if u in index}
