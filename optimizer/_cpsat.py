"""Private CP-SAT wrapper, the only module importing ``ortools.sat``: assignment models, settings.

Both the capacitated p-median and the districting solver reduce to one sparse model: open exactly
``p`` candidate centres, assign every point to one open centre along an allowed arc, respect the
(optional) lower and upper load of every open centre, and optionally keep every region contiguous
through predecessor lists (a point assigned to a centre needs a neighbour that is one step closer
to that centre and assigned to it too). Callers pass plain numpy arrays; this module builds the
model, runs CP-SAT with the seed, time limit and worker count they give, and maps the status.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from optimizer.stop import StoppingCriterion, iteration_limit, no_improvement_limit, time_limit

_STATUS = {
    cp_model.OPTIMAL: "optimal",
    cp_model.FEASIBLE: "feasible",
    cp_model.INFEASIBLE: "infeasible",
    cp_model.MODEL_INVALID: "model_invalid",
    cp_model.UNKNOWN: "unknown",
}


@dataclass(frozen=True)
class SolveSettings:
    """How one CP-SAT call runs: wall and deterministic time limits, seed and worker count.

    ``workers == 1`` with no wall-time limit makes CP-SAT deterministic (same seed, same answer).
    ``light`` trims presolve for the many small sub-solves of a neighbourhood search.
    """

    seed: int = 0
    time_limit: float | None = None
    deterministic_time: float | None = None
    workers: int = 2
    light: bool = False

    def limited(self, seconds: float | None, det: float | None = None) -> SolveSettings:
        """A copy with the tighter wall limit of ours and ``seconds`` (and det limit ``det``)."""
        limits = [t for t in (self.time_limit, seconds) if t is not None]
        return SolveSettings(
            seed=self.seed,
            time_limit=min(limits) if limits else None,
            deterministic_time=det if det is not None else self.deterministic_time,
            workers=self.workers,
            light=self.light,
        )


def settings_for(stop: StoppingCriterion, seed: int, *, workers: int = 2) -> SolveSettings:
    """Translate a stopping criterion into solve settings.

    A criterion without a wall-time limit (count-based) asks for reproducibility: one worker.
    """
    seconds = time_limit(stop)
    if seconds is None:
        return SolveSettings(seed=seed, time_limit=None, workers=1)
    return SolveSettings(seed=seed, time_limit=seconds, workers=workers)


def is_count_based(stop: StoppingCriterion) -> bool:
    """True when ``stop`` has no wall-time limit, only iteration or stagnation counts."""
    return time_limit(stop) is None and (
        iteration_limit(stop) is not None or no_improvement_limit(stop) is not None
    )


@dataclass(frozen=True)
class AssignmentModel:
    """A sparse "open p centres, assign every point" model in integer data.

    Parameters
    ----------
    demand
        Integer demand (weight) of each of the ``n`` points.
    centre_point
        For each of the ``m`` candidate centres, the point it sits on (or -1 if none): an open
        centre serves its own point.
    arc_point, arc_centre, arc_cost
        The allowed assignments point -> centre and their integer objective coefficients.
    p
        How many centres to open.
    upper, lower
        Per-centre load bounds applied when the centre is open (``lower`` optional).
    forced_open
        Centres that must be open.
    predecessors
        Optional contiguity: for arc ``a``, the arcs whose points are one step closer to the same
        centre; ``x[a] <= sum(x[b] for b in predecessors[a])`` (skipped for a centre's own point).
    same_region, different_region
        Pairs of points that must share a centre / must not share one.
    hint
        Optional current centre per point (indices into centres) used as a solution hint.
    """

    demand: np.ndarray
    centre_point: np.ndarray
    arc_point: np.ndarray
    arc_centre: np.ndarray
    arc_cost: np.ndarray
    p: int
    upper: np.ndarray
    lower: np.ndarray | None = None
    forced_open: Sequence[int] = ()
    predecessors: Sequence[Sequence[int]] | None = None
    same_region: Sequence[tuple[int, int]] = ()
    different_region: Sequence[tuple[int, int]] = ()
    hint: np.ndarray | None = None


@dataclass(frozen=True)
class AssignmentSolution:
    """The answer of one CP-SAT call on an `AssignmentModel`."""

    status: str
    centre_of_point: np.ndarray | None
    objective: int | None
    bound: float | None
    wall_time: float


def solve_assignment(model_data: AssignmentModel, settings: SolveSettings) -> AssignmentSolution:
    """Build and solve the sparse model; status: optimal, feasible, infeasible or unknown."""
    start = time.perf_counter()
    md = model_data
    n = len(md.demand)
    m = len(md.centre_point)
    model = cp_model.CpModel()
    x = [model.new_bool_var("") for _ in range(len(md.arc_point))]
    y = [model.new_bool_var("") for _ in range(m)]
    by_point: list[list[int]] = [[] for _ in range(n)]
    by_centre: list[list[int]] = [[] for _ in range(m)]
    arc_of: dict[tuple[int, int], int] = {}
    for a, (i, j) in enumerate(zip(md.arc_point.tolist(), md.arc_centre.tolist(), strict=True)):
        by_point[i].append(a)
        by_centre[j].append(a)
        arc_of[(i, j)] = a
    for i in range(n):
        if not by_point[i]:
            return AssignmentSolution("infeasible", None, None, None, time.perf_counter() - start)
        model.add_exactly_one(x[a] for a in by_point[i])
    model.add(sum(y) == md.p)
    for j in range(m):
        own = int(md.centre_point[j])
        if own >= 0:
            if (own, j) not in arc_of:
                model.add(y[j] == 0)
            else:
                model.add(x[arc_of[(own, j)]] == y[j])
        for a in by_centre[j]:
            model.add_implication(x[a], y[j])
        load = sum(int(md.demand[md.arc_point[a]]) * x[a] for a in by_centre[j])
        model.add(load <= int(md.upper[j]) * y[j])
        if md.lower is not None and int(md.lower[j]) > 0:
            model.add(load >= int(md.lower[j]) * y[j])
    for j in md.forced_open:
        model.add(y[j] == 1)
    if md.predecessors is not None:
        for a, preds in enumerate(md.predecessors):
            if int(md.arc_point[a]) == int(md.centre_point[md.arc_centre[a]]):
                continue
            if preds:
                model.add(x[a] <= sum(x[b] for b in preds))
            else:
                model.add(x[a] == 0)
    for u, v in md.same_region:
        for j in range(m):
            au, av = arc_of.get((u, j)), arc_of.get((v, j))
            if au is None and av is None:
                continue
            if au is None:
                model.add(x[av] == 0)  # type: ignore[index]
            elif av is None:
                model.add(x[au] == 0)
            else:
                model.add(x[au] == x[av])
    for u, v in md.different_region:
        for j in range(m):
            au, av = arc_of.get((u, j)), arc_of.get((v, j))
            if au is not None and av is not None:
                model.add(x[au] + x[av] <= 1)
    model.minimize(sum(int(c) * x[a] for a, c in enumerate(md.arc_cost.tolist())))
    if md.hint is not None:
        opened = set(md.hint.tolist())
        for j in range(m):
            model.add_hint(y[j], j in opened)
        for a, (i, j) in enumerate(zip(md.arc_point.tolist(), md.arc_centre.tolist(), strict=True)):
            model.add_hint(x[a], int(md.hint[i]) == j)
    solver = _make_solver(settings)
    status = solver.solve(model)
    name = _STATUS.get(status, "unknown")
    wall = time.perf_counter() - start
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return AssignmentSolution(name, None, None, None, wall)
    # The arc variables were created first, so they are the first entries of the solution vector.
    chosen = np.asarray(solver.response_proto.solution, dtype=np.int64)[: len(x)].astype(bool)
    centre = np.full(n, -1, dtype=np.int64)
    centre[md.arc_point[chosen]] = md.arc_centre[chosen]
    return AssignmentSolution(
        name,
        centre,
        round(solver.objective_value),
        float(solver.best_objective_bound),
        wall,
    )


def _make_solver(settings: SolveSettings) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    params = solver.parameters
    params.random_seed = int(settings.seed) % (2**31 - 1)
    params.num_workers = max(1, int(settings.workers))
    if settings.time_limit is not None:
        params.max_time_in_seconds = max(0.01, float(settings.time_limit))
    if settings.deterministic_time is not None:
        params.max_deterministic_time = max(0.01, float(settings.deterministic_time))
    # Assignment models have a tight LP relaxation: full linearization pays off by far.
    params.linearization_level = 2
    if settings.light:
        # Many small sub-solves: presolve probing and symmetry detection cost more than they save.
        params.cp_model_probing_level = 0
        params.symmetry_level = 0
        params.max_presolve_iterations = 1
    params.log_search_progress = False
    return solver
