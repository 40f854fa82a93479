"""Fan-out of independent solves: inline, or as tasks on a Dask `distributed.Client`.

A *mapper* is ``mapper(fn, items) -> [fn(item) for item in items]``: results come back in the
order of ``items`` whatever the number of workers, and every solve is seeded with a count-based
stop by default, so a plan is the same with one worker or many. `inline_map` runs the calls in
this process; `DaskMapper` ships ``fn`` once to every worker (`Client.scatter`, broadcast) and maps
the items as Dask tasks. The functions below take an optional ``client`` (a Dask client, any
mapper, or None for inline) so that `gis_data` never needs the service's settings; the service
builds the client (in-process LocalCluster or ``DASK_SCHEDULER_ADDRESS``).

Uses: the distinct days of a patrol calendar (`route_calendar_parallel`), one route set per
contract region (`region_routes`), contract regions for several ``k`` (`sweep_regions`), the
bundled plan and each silo of `planning.patrol_plan.plan_patrols`, and the days behind the effect
estimate and the coalition costs of cost sharing (`presolve_days`, through the ``client`` of
`gis_data.planning.effects.estimate_effects` and `gis_data.planning.cost_share.share_costs`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from gis_data.planning.day_routes import (
    EMPTY_DAY,
    CachingRouter,
    DayRouter,
    DayRoutes,
    PresolvedRouter,
)

if TYPE_CHECKING:
    from gis_data.planning.patrol_calendar import CalendarRoutes, PatrolCalendar
    from gis_data.planning.plan_engine import PlanSetup, RegionChoice
    from gis_data.planning.regions import RegionPlan
    from gis_data.planning.units import PlanningUnits
    from optimizer.stop import StoppingCriterion

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")
DayKey = tuple[frozenset[str], str]


class Mapper(Protocol):
    """``mapper(fn, items)`` returns ``[fn(item) for item in items]`` in the order of ``items``."""

    def __call__(self, fn: Callable[[Any], Any], items: Sequence[Any], /) -> list[Any]:
        """Apply ``fn`` to every item."""
        ...


def inline_map(fn: Callable[[T], R], items: Sequence[T], /) -> list[R]:
    """Apply ``fn`` to every item here, one after the other."""
    return [fn(item) for item in items]


def _apply(item: Any, fn: Callable[[Any], Any]) -> Any:
    return fn(item)


@dataclass
class DaskMapper:
    """Maps over a `distributed.Client`: one task per item, results in input order.

    ``fn`` (a router with its road network, a coalition cost) is scattered to every worker once
    instead of being pickled into each task. A failing task raises its exception here and the
    other tasks of the batch are cancelled, so no half batch is ever returned.
    """

    client: Any
    name: str = "gunmane-solve"

    def __call__(self, fn: Callable[[Any], Any], items: Sequence[Any], /) -> list[Any]:
        """Run ``fn(item)`` for every item as Dask tasks and gather the results in order."""
        items = list(items)
        if not items:
            return []
        shared = self.client.scatter(fn, broadcast=True, hash=False)
        futures = self.client.map(_apply, items, fn=shared, pure=False, key=self._keys(len(items)))
        try:
            return list(self.client.gather(futures))
        except BaseException:
            self.client.cancel(futures)
            raise
        finally:
            del shared

    def _keys(self, n: int) -> list[str]:
        import uuid

        batch = uuid.uuid4().hex[:12]
        return [f"{self.name}-{batch}-{i}" for i in range(n)]


def as_mapper(client: Any | None) -> Mapper:
    """A mapper for ``client``: None runs inline, a Dask client maps as tasks, a mapper is kept."""
    if client is None:
        return inline_map
    if hasattr(client, "scatter") and hasattr(client, "gather") and hasattr(client, "map"):
        return DaskMapper(client)
    if callable(client):
        return client
    raise TypeError(f"client must be a dask Client, a mapper or None, got {type(client).__name__}")


@dataclass(frozen=True)
class _RouteDay:
    """Picklable ``(assets, depot) -> DayRoutes`` for one router (sent once per worker)."""

    router: DayRouter

    def __call__(self, key: DayKey) -> DayRoutes:
        assets, depot = key
        return self.router.route(assets, depot) if assets else EMPTY_DAY


def _day_order(key: DayKey) -> tuple[str, tuple[str, ...]]:
    return key[1], tuple(sorted(key[0]))


def route_days(
    router: DayRouter, days: Sequence[DayKey], *, client: Any | None = None
) -> dict[DayKey, DayRoutes]:
    """Route every distinct non-empty ``(asset ids, depot)`` day; solves fan out over ``client``.

    The distinct days are solved in a fixed order (depot, sorted ids) so the result does not
    depend on how the caller listed them or on the number of workers.
    """
    inner = router.inner if isinstance(router, CachingRouter) else router
    distinct = sorted({(frozenset(a), d) for a, d in days if a}, key=_day_order)
    results = as_mapper(client)(_RouteDay(inner), distinct)
    return dict(zip(distinct, results, strict=True))


def presolve_days(
    router: CachingRouter, days: Iterable[DayKey], *, client: Any | None = None
) -> int:
    """Route the ``days`` ``router`` has not seen yet as one batch over ``client``, ahead of use.

    The results wait behind the router (a `PresolvedRouter`), so each day still counts as one
    solve when the caller first asks for it and the solve counts match a serial run. Returns the
    number of days solved now.
    """
    if not isinstance(router.inner, PresolvedRouter):
        router.inner = PresolvedRouter(router.inner)
    presolved = router.inner
    todo = [
        (frozenset(a), d)
        for a, d in days
        if a and (frozenset(a), d) not in router.cache and (frozenset(a), d) not in presolved.solved
    ]
    solved = route_days(presolved.inner, todo, client=client)
    presolved.solved.update(solved)
    return len(solved)


def route_calendar_parallel(
    calendar: PatrolCalendar, router: DayRouter, *, client: Any | None = None
) -> CalendarRoutes:
    """`planning.patrol_calendar.route_calendar` with the distinct days solved over ``client``.

    A `CachingRouter` keeps its days: those it already holds are not solved again (a calendar
    planned again with more crews shares most of its days with the first plan).
    """
    from gis_data.planning.patrol_calendar import route_calendar

    caching = router if isinstance(router, CachingRouter) else CachingRouter(router)
    keys = [
        key
        for _, region, assets in calendar.day_sets()
        if assets
        and (key := (assets, calendar.depots[calendar.regions.index(region)])) not in caching.cache
    ]
    solved = route_days(caching, keys, client=client)
    caching.cache.update(solved)
    routed = route_calendar(calendar, caching)
    # Every day was a cache hit above; report the real solves like the serial version does.
    return dataclasses.replace(routed, solves=len(solved), reused=routed.reused - len(solved))


def region_routes(
    setup: PlanSetup, choice: RegionChoice, router: DayRouter, *, client: Any | None = None
) -> dict[str, DayRoutes]:
    """Routes serving every asset of each contract region once, one solve per region."""
    members: dict[str, set[str]] = {}
    for asset, region in choice.asset_region.items():
        members.setdefault(region, set()).add(asset)
    regions = sorted(choice.region_depot)
    keys = [(frozenset(members.get(r, set())), choice.region_depot[r]) for r in regions]
    solved = route_days(router, keys, client=client)
    return {
        r: solved.get(k, EMPTY_DAY) if k[0] else EMPTY_DAY
        for r, k in zip(regions, keys, strict=True)
    }


@dataclass(frozen=True)
class _RegionsForK:
    """Picklable ``k -> RegionPlan`` on fixed planning units (sent once per worker)."""

    scenario_depots: Any
    units: PlanningUnits
    stop: StoppingCriterion
    seed: int
    whole_towns: bool
    balance_tolerance: float

    def __call__(self, k: int) -> RegionPlan | str:
        from gis_data.planning.regions import RegionRequest, solve_regions

        request = RegionRequest(
            k=k, whole_towns=self.whole_towns, balance_tolerance=self.balance_tolerance
        )
        try:
            return solve_regions(
                self.units, request, depots=self.scenario_depots, stop=self.stop, seed=self.seed
            )
        except (ValueError, ArithmeticError) as exc:
            # Infeasible k (too many regions for the towns, say) is a result of the sweep.
            return f"k={k}: {exc}"


def sweep_regions(
    units: PlanningUnits,
    ks: Sequence[int],
    *,
    stop: StoppingCriterion,
    seed: int = 0,
    depots: Any = None,
    whole_towns: bool = False,
    balance_tolerance: float = 0.2,
    client: Any | None = None,
) -> dict[int, RegionPlan | str]:
    """Contract regions for each ``k`` (a scenario sweep) on shared units, solved over ``client``.

    Build ``units`` once (`gis_data.planning.regions.scenario_units`); ``depots`` are the scenario's
    depots. A ``k`` the request cannot meet maps to the reason as a string. Use a count-based
    ``stop`` for results independent of the number of workers.
    """
    fn = _RegionsForK(depots, units, stop, seed, whole_towns, balance_tolerance)
    ordered = sorted(set(ks))
    return dict(zip(ordered, as_mapper(client)(fn, ordered), strict=True))
