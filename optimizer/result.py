"""The result of an arc routing solve: solution, checker figures, status, runtime and seed."""

from __future__ import annotations

from dataclasses import dataclass

from optimizer.carp_solution import CarpSolution
from optimizer.errors import SpecificationError

STATUSES = ("feasible", "infeasible", "no_solution")


@dataclass(frozen=True)
class ArcRoutingResult:
    """What `solve_arc_routing` returns. Every figure comes from the independent checker.

    Attributes
    ----------
    status
        ``"feasible"``; ``"infeasible"`` when the best solution breaks a limit (``violations``
        says which); ``"no_solution"`` when the solver found none (``solution`` is None).
    cost
        Total cost (deadhead + service + fixed vehicle costs), or None without a solution.
    iterations
        Solutions (OR-Tools) or iterations (PyVRP) the search went through.
    route_costs, route_durations, route_demands
        One entry per route of ``solution.routes``.
    """

    status: str
    solution: CarpSolution | None
    cost: int | None
    feasible: bool
    runtime: float
    seed: int
    backend: str
    iterations: int
    route_costs: tuple[int, ...] = ()
    route_durations: tuple[int, ...] = ()
    route_demands: tuple[int, ...] = ()
    violations: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise SpecificationError(f"status must be one of {STATUSES}, got {self.status!r}")
        if self.runtime < 0 or self.iterations < 0:
            raise SpecificationError("runtime and iterations must be >= 0")
        if self.feasible != (self.status == "feasible"):
            raise SpecificationError("feasible must be True exactly when status is 'feasible'")

    @property
    def num_routes(self) -> int:
        """Number of (non-empty) routes."""
        return 0 if self.solution is None else len(self.solution.routes)

    @property
    def makespan(self) -> int:
        """Duration of the longest route (0 without routes)."""
        return max(self.route_durations, default=0)

    @property
    def balance(self) -> float:
        """Longest over mean route duration: 1.0 is perfectly balanced (1.0 without routes)."""
        if not self.route_durations:
            return 1.0
        mean = sum(self.route_durations) / len(self.route_durations)
        return self.makespan / mean if mean > 0 else 1.0

    def summary(self) -> str:
        """A few lines for logs and the command line."""
        lines = [
            f"status {self.status}, cost {self.cost}, {self.num_routes} routes, "
            f"makespan {self.makespan}, balance {self.balance:.2f}",
            f"backend {self.backend}, seed {self.seed}, {self.iterations} iterations, "
            f"{self.runtime:.1f} s",
        ]
        lines += [f"violation: {v}" for v in self.violations]
        return "\n".join(lines)
