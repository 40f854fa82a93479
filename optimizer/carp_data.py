"""Arc routing problem data: the builder `CarpModel` and the frozen `CarpData` it produces.

The model is the mixed capacitated general routing problem (MCGRP): on a directed multigraph of
*links* (an undirected street is two links, one per direction) some elements are *tasks* that must
be served exactly once:

- a required **edge** (kind ``EDGE``) between ``u`` and ``v`` may be served in either direction,
- a required **arc** (kind ``ARC``) from ``u`` to ``v`` only in that direction,
- a required **node** (kind ``NODE``) at ``u`` (``v == u``): a park or a bridge visited on site.

Serving a task costs ``serve_cost`` (for an edge or arc: traversing it while serving) and uses
``demand`` of the vehicle's capacity. Moving between tasks (deadheading) follows shortest paths
over all links. Costs are integers (seconds for real data, the instance's units for benchmarks).

Vehicles come in types, each tied to a depot, with an optional count (``None``: as many as needed),
an optional capacity (sum of demands) and an optional shift limit (duration of a route: deadhead +
serve costs, depot to depot). The objective is the total cost of all routes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from optimizer.errors import SpecificationError

IntArray = npt.NDArray[np.int64]


class TaskKind(IntEnum):
    """What a task is: a node visit, an edge served either way, or a one-way arc."""

    NODE = 0
    EDGE = 1
    ARC = 2


@dataclass(frozen=True)
class VehicleType:
    """A kind of crew: where it starts, how many there are and what one route may hold."""

    depot: int
    count: int | None = None
    capacity: int | None = None
    shift_limit: int | None = None
    fixed_cost: int = 0

    def __post_init__(self) -> None:
        if self.count is not None and self.count < 1:
            raise SpecificationError(f"vehicle count must be >= 1 or None, got {self.count}")
        if self.capacity is not None and self.capacity < 0:
            raise SpecificationError(f"vehicle capacity must be >= 0, got {self.capacity}")
        if self.shift_limit is not None and self.shift_limit < 0:
            raise SpecificationError(f"shift_limit must be >= 0, got {self.shift_limit}")
        if self.fixed_cost < 0:
            raise SpecificationError(f"fixed_cost must be >= 0, got {self.fixed_cost}")


def _frozen(values: object) -> IntArray:
    arr = np.array(values, dtype=np.int64).reshape(-1)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class CarpData:
    """Immutable, validated arc routing problem. Build it with `CarpModel`.

    Attributes
    ----------
    num_nodes
        Nodes are numbered ``0 .. num_nodes - 1``.
    link_tail, link_head, link_cost
        Directed links of the deadheading graph and their traversal costs (>= 0).
    task_kind, task_u, task_v, task_serve_cost, task_demand
        One entry per task (see the module docstring); ``task_v == task_u`` for node tasks.
    task_labels
        A caller's name for each task (an asset id, or the instance's own numbering).
    vehicle_types
        At least one; each depot is a node index.
    node_labels
        Optional names of the nodes (OSM ids, or the instance's 1-based numbers).
    """

    num_nodes: int
    link_tail: IntArray
    link_head: IntArray
    link_cost: IntArray
    task_kind: IntArray
    task_u: IntArray
    task_v: IntArray
    task_serve_cost: IntArray
    task_demand: IntArray
    task_labels: tuple[str, ...]
    vehicle_types: tuple[VehicleType, ...]
    node_labels: tuple[str, ...] = field(default=())
    name: str = ""

    def __post_init__(self) -> None:
        problems: list[str] = []
        n = self.num_nodes
        if n < 1:
            problems.append(f"num_nodes must be >= 1, got {n}")
        num_links = len(self.link_tail)
        if not (len(self.link_head) == len(self.link_cost) == num_links):
            problems.append("link_tail, link_head and link_cost must have the same length")
        num_tasks = len(self.task_kind)
        sizes = {
            len(self.task_u),
            len(self.task_v),
            len(self.task_serve_cost),
            len(self.task_demand),
            len(self.task_labels),
        }
        if sizes != {num_tasks}:
            problems.append("every task_* array and task_labels must have one entry per task")
        for name, arr in (("link_tail", self.link_tail), ("link_head", self.link_head)):
            if num_links and (arr.min() < 0 or arr.max() >= n):
                problems.append(f"{name} holds a node outside 0..{n - 1}")
        if num_links and self.link_cost.min() < 0:
            problems.append(f"link_cost must be >= 0 (link {int(self.link_cost.argmin())})")
        if num_tasks and not problems:
            for name, arr in (("task_u", self.task_u), ("task_v", self.task_v)):
                if arr.min() < 0 or arr.max() >= n:
                    problems.append(f"{name} holds a node outside 0..{n - 1}")
            if self.task_serve_cost.min() < 0:
                problems.append(f"task_serve_cost must be >= 0 (task {self.task_labels[0]!r}...)")
            if self.task_demand.min() < 0:
                problems.append("task_demand must be >= 0")
            bad_kind = ~np.isin(self.task_kind, [k.value for k in TaskKind])
            if bad_kind.any():
                problems.append(f"unknown task kind at task {int(np.flatnonzero(bad_kind)[0])}")
            nodes = self.task_kind == TaskKind.NODE
            if (self.task_u[nodes] != self.task_v[nodes]).any():
                problems.append("a node task must have task_v == task_u")
        if len(set(self.task_labels)) != len(self.task_labels):
            problems.append("task_labels must be unique")
        if not self.vehicle_types:
            problems.append("at least one vehicle type is needed")
        for i, vt in enumerate(self.vehicle_types):
            if not 0 <= vt.depot < n:
                problems.append(f"vehicle type {i}: depot {vt.depot} outside 0..{n - 1}")
        if self.node_labels and len(self.node_labels) != n:
            problems.append("node_labels must be empty or have one entry per node")
        if problems:
            raise SpecificationError("invalid CarpData: " + "; ".join(problems))

    @property
    def num_tasks(self) -> int:
        """Number of required elements (nodes, edges and arcs)."""
        return len(self.task_kind)

    @property
    def num_links(self) -> int:
        """Number of directed links in the deadheading graph."""
        return len(self.link_tail)

    @property
    def depots(self) -> tuple[int, ...]:
        """Distinct depot nodes, in the order of the vehicle types."""
        return tuple(dict.fromkeys(vt.depot for vt in self.vehicle_types))

    def node_label(self, node: int) -> str:
        """The caller's name for a node, or its index as text."""
        return self.node_labels[node] if self.node_labels else str(node)


class CarpModel:
    """Builder for `CarpData`: add nodes, links, tasks and vehicle types, then call `data()`.

    Each ``add_*`` checks its own arguments on arrival, so a mistake is reported where it is made.
    """

    def __init__(self, *, name: str = "") -> None:
        self.name = name
        self._node_labels: list[str] = []
        self._node_index: dict[str, int] = {}
        self._links: list[tuple[int, int, int]] = []
        self._tasks: list[tuple[int, int, int, int, int, str]] = []
        self._task_labels: set[str] = set()
        self._vehicle_types: list[VehicleType] = []

    def add_node(self, label: str | None = None) -> int:
        """Add a node and return its index; ``label`` defaults to the index as text."""
        index = len(self._node_labels)
        label = str(index) if label is None else str(label)
        if label in self._node_index:
            raise SpecificationError(f"node label {label!r} is already in this model")
        self._node_labels.append(label)
        self._node_index[label] = index
        return index

    def node(self, label: str) -> int:
        """Index of the node called ``label``."""
        try:
            return self._node_index[str(label)]
        except KeyError:
            raise SpecificationError(f"node {label!r} is not in this model") from None

    def _check_node(self, node: int, what: str) -> None:
        if not 0 <= node < len(self._node_labels):
            raise SpecificationError(f"{what} {node} is not a node of this model")

    def add_link(self, tail: int, head: int, cost: int, *, both_ways: bool = False) -> None:
        """Add a deadheading link tail -> head (and head -> tail when ``both_ways``)."""
        self._check_node(tail, "link tail")
        self._check_node(head, "link head")
        if cost < 0:
            raise SpecificationError(f"link {tail}->{head}: cost must be >= 0, got {cost}")
        self._links.append((tail, head, int(cost)))
        if both_ways:
            self._links.append((head, tail, int(cost)))

    def _add_task(
        self, kind: TaskKind, u: int, v: int, serve_cost: int, demand: int, label: str | None
    ) -> int:
        self._check_node(u, f"{kind.name.lower()} task node")
        self._check_node(v, f"{kind.name.lower()} task node")
        index = len(self._tasks)
        label = f"{kind.name.lower()}{index}" if label is None else str(label)
        if label in self._task_labels:
            raise SpecificationError(f"task label {label!r} is already in this model")
        if serve_cost < 0 or demand < 0:
            raise SpecificationError(
                f"task {label!r}: serve_cost and demand must be >= 0, got {serve_cost}, {demand}"
            )
        self._task_labels.add(label)
        self._tasks.append((int(kind), u, v, int(serve_cost), int(demand), label))
        return index

    def add_required_edge(
        self, u: int, v: int, *, serve_cost: int, demand: int = 0, label: str | None = None
    ) -> int:
        """Require the edge {u, v}, served once in either direction; returns the task index.

        The edge is not added as a deadheading link: add it with `add_link` if it may also be
        traversed without serving (streets always can).
        """
        return self._add_task(TaskKind.EDGE, u, v, serve_cost, demand, label)

    def add_required_arc(
        self, u: int, v: int, *, serve_cost: int, demand: int = 0, label: str | None = None
    ) -> int:
        """Require the one-way arc u -> v; returns the task index."""
        return self._add_task(TaskKind.ARC, u, v, serve_cost, demand, label)

    def add_required_node(
        self, u: int, *, serve_cost: int, demand: int = 0, label: str | None = None
    ) -> int:
        """Require a visit at node u (a park, a bridge); returns the task index."""
        return self._add_task(TaskKind.NODE, u, u, serve_cost, demand, label)

    def add_vehicle_type(
        self,
        depot: int,
        *,
        count: int | None = None,
        capacity: int | None = None,
        shift_limit: int | None = None,
        fixed_cost: int = 0,
    ) -> int:
        """Add crews starting and ending at ``depot``; returns the vehicle type index."""
        self._check_node(depot, "depot")
        self._vehicle_types.append(
            VehicleType(
                depot=depot,
                count=count,
                capacity=capacity,
                shift_limit=shift_limit,
                fixed_cost=fixed_cost,
            )
        )
        return len(self._vehicle_types) - 1

    def data(self) -> CarpData:
        """Freeze the model into validated `CarpData`."""
        links = np.array(self._links, dtype=np.int64).reshape(-1, 3)
        tasks = self._tasks
        return CarpData(
            num_nodes=len(self._node_labels),
            link_tail=_frozen(links[:, 0]),
            link_head=_frozen(links[:, 1]),
            link_cost=_frozen(links[:, 2]),
            task_kind=_frozen([t[0] for t in tasks]),
            task_u=_frozen([t[1] for t in tasks]),
            task_v=_frozen([t[2] for t in tasks]),
            task_serve_cost=_frozen([t[3] for t in tasks]),
            task_demand=_frozen([t[4] for t in tasks]),
            task_labels=tuple(t[5] for t in tasks),
            vehicle_types=tuple(self._vehicle_types),
            node_labels=tuple(self._node_labels),
            name=self.name,
        )
