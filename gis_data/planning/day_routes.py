"""One working day's patrol routes: the `DayRouter` protocol, its result and a caching wrapper.

A day router turns a set of asset ids due on one day (and the depot the crews start from) into
routes from the routing engine. `effects`, `cost_share` and `patrol_calendar` only see this
protocol, so the siloed status quo and the bundled scenario are always costed by the same engine.
`CachingRouter` reuses the solve of a day whose asset set and depot were already routed (a
calendar repeats its day sets every few weeks), and counts the real solves. `PresolvedRouter`
answers days solved ahead in a parallel batch (`gis_data.planning.parallel.presolve_days`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class DayRoutes:
    """The routes of one day for one crew pool.

    Attributes
    ----------
    route_km, route_minutes
        Driven distance (service + deadhead) and duration (depot to depot) of each route.
    method
        How the routes were obtained (engine, backend, stop), for reports.
    traced
        Optional traced routes on the roads (`gis_data.network.adapters.PatrolRoute`: traversals,
        geometry, assets served), kept for the contractors' per-day export.
    """

    route_km: tuple[float, ...]
    route_minutes: tuple[float, ...]
    method: str
    feasible: bool = True
    traced: tuple[Any, ...] = ()

    @property
    def num_routes(self) -> int:
        """Number of crews (vehicles) out that day."""
        return len(self.route_km)

    @property
    def km(self) -> float:
        """Total driven km."""
        return float(sum(self.route_km))

    @property
    def minutes(self) -> float:
        """Total crew minutes."""
        return float(sum(self.route_minutes))

    @property
    def makespan_minutes(self) -> float:
        """Duration of the longest route."""
        return max(self.route_minutes, default=0.0)


EMPTY_DAY = DayRoutes(route_km=(), route_minutes=(), method="no task due")


class DayRouter(Protocol):
    """Routes the assets due on one day from ``depot`` (a depot id of the scenario)."""

    def route(self, asset_ids: frozenset[str], depot: str) -> DayRoutes:
        """Solve the day; an empty set gives `EMPTY_DAY`."""
        ...


@dataclass
class CachingRouter:
    """Wraps a router: identical (asset set, depot) days are solved once.

    ``solves`` counts real solves, ``hits`` cache reuses.
    """

    inner: DayRouter
    cache: dict[tuple[frozenset[str], str], DayRoutes] = field(default_factory=dict)
    solves: int = 0
    hits: int = 0

    def route(self, asset_ids: frozenset[str], depot: str) -> DayRoutes:
        """The cached routes of this day, solving it on first sight."""
        if not asset_ids:
            return EMPTY_DAY
        key = (frozenset(asset_ids), depot)
        if key in self.cache:
            self.hits += 1
            return self.cache[key]
        result = self.inner.route(key[0], depot)
        self.cache[key] = result
        self.solves += 1
        return result

    def warm(self, days: Iterable[tuple[frozenset[str], str]]) -> None:
        """Solve every distinct day in ``days`` (for progress logs and parallel callers)."""
        for asset_ids, depot in days:
            self.route(asset_ids, depot)


@dataclass
class PresolvedRouter:
    """Answers the days solved ahead (a parallel batch) from ``solved``, any other by ``inner``.

    Placed behind a `CachingRouter`, which still counts each distinct day as one solve when it
    first sees it, so figures and solve counts do not depend on where the days were solved.
    """

    inner: DayRouter
    solved: dict[tuple[frozenset[str], str], DayRoutes] = field(default_factory=dict)

    def route(self, asset_ids: frozenset[str], depot: str) -> DayRoutes:
        """The presolved routes of the day, else the inner router's."""
        found = self.solved.get((frozenset(asset_ids), depot))
        return found if found is not None else self.inner.route(asset_ids, depot)
