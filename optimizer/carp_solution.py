"""A solution of an arc routing problem: routes as ordered services, independent of any solver."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Service:
    """One task served on a route.

    ``reverse`` applies to edge tasks: ``False`` serves the edge from ``task_u`` to ``task_v``,
    ``True`` from ``task_v`` to ``task_u``. It must be ``False`` for arcs and nodes.
    """

    task: int
    reverse: bool = False


@dataclass(frozen=True)
class Route:
    """The services of one vehicle (of type ``vehicle_type``), leaving from and returning to its
    depot, with shortest-path deadheading between consecutive services."""

    vehicle_type: int
    services: tuple[Service, ...]


@dataclass(frozen=True)
class CarpSolution:
    """Routes of all vehicles; empty routes are not listed."""

    routes: tuple[Route, ...]
