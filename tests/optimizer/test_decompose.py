"""Large-instance path: local deadhead matrices, geographic decomposition, seam repair, memory."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from optimizer._decompose import TaskRoutes, cross_split, seam_routes, split_tasks, sub_problem
from optimizer._task_graph import build_task_graph
from optimizer.arc_routing import solve_arc_routing
from optimizer.carp_data import CarpData, CarpModel, VehicleType
from optimizer.checker import check_solution
from optimizer.shortest_paths import DeadheadGraph
from optimizer.stop import MaxIterations
from tests.optimizer.test_arc_routing import _random_instance


def _grid(rows: int, cols: int, seed: int = 0, *, mixed: bool = False) -> CarpData:
    """A street grid: every street required (demand = cost = length); with ``mixed``, every
    seventh street is one-way (an arc task), every eleventh crossing a node task, two depots."""
    rng = np.random.default_rng(seed)
    m = CarpModel(name=f"grid{rows}x{cols}")
    node = [[m.add_node() for _ in range(cols)] for _ in range(rows)]
    k = 0
    for r in range(rows):
        for c in range(cols):
            for dr, dc in ((0, 1), (1, 0)):
                if r + dr >= rows or c + dc >= cols:
                    continue
                a, b = node[r][c], node[r + dr][c + dc]
                cost = int(rng.integers(50, 150))
                k += 1
                if mixed and k % 7 == 0:
                    m.add_link(a, b, cost)
                    m.add_link(b, a, cost * 3)  # the long way round for the other direction
                    m.add_required_arc(a, b, serve_cost=cost, demand=cost)
                else:
                    m.add_link(a, b, cost, both_ways=True)
                    m.add_required_edge(a, b, serve_cost=cost, demand=cost)
            if mixed and (r * cols + c) % 11 == 5:
                m.add_required_node(node[r][c], serve_cost=30, demand=40)
    m.add_vehicle_type(node[rows // 2][cols // 2], capacity=2500)
    if mixed:
        m.add_vehicle_type(node[0][0], capacity=2500, shift_limit=20_000)
    return m.data()


def _matrix_fields(data: CarpData, *, local: bool) -> list[np.ndarray]:
    tg = build_task_graph(data, local=local)
    return [tg.deadhead, tg.from_depot, tg.to_depot, tg.depot_to_depot]


@pytest.mark.parametrize("seed", range(4))
def test_local_matrices_equal_dense(seed: int) -> None:
    """Radius-limited Dijkstras give exactly the all-pairs matrices, on a whole mixed graph
    and on a corner part of a grid (where the radius cuts most of the graph away)."""
    whole = _random_instance(seed, num_tasks=9)
    for a, b in zip(
        _matrix_fields(whole, local=True), _matrix_fields(whole, local=False), strict=True
    ):
        assert np.array_equal(a, b)
    grid = _grid(12, 12, seed, mixed=True)
    part = sub_problem(grid, np.arange(0, 40, dtype=np.int64))
    for a, b in zip(
        _matrix_fields(part, local=True), _matrix_fields(part, local=False), strict=True
    ):
        assert np.array_equal(a, b)


def test_same_solution_with_local_matrices(monkeypatch: pytest.MonkeyPatch) -> None:
    """Same seed and counted stop: the solve over local matrices equals the all-pairs one."""
    import optimizer.arc_routing as ar

    data = _grid(6, 6, 3, mixed=True)
    local = solve_arc_routing(data, stop=MaxIterations(200), seed=2)
    original = ar.build_task_graph
    monkeypatch.setattr(ar, "build_task_graph", lambda d, g=None: original(d, g, local=False))
    dense = solve_arc_routing(data, stop=MaxIterations(200), seed=2)
    assert local.solution == dense.solution
    assert local.cost == dense.cost


def test_split_covers_every_task_once_in_compact_parts() -> None:
    data = _grid(16, 16, 1)
    graph = DeadheadGraph.from_data(data)
    deco = split_tasks(data, graph, 60)
    flat = np.sort(np.concatenate(deco.parts))
    assert np.array_equal(flat, np.arange(data.num_tasks))
    assert len(deco.parts) == int(np.ceil(data.num_tasks / 60))
    assert max(deco.sizes) <= 2 * 60
    # Compact: tasks of a part are closer to each other than to random tasks of the whole.
    dist = graph.distances(data.task_u, data.task_u)
    inside = np.mean([dist[np.ix_(p, p)].mean() for p in deco.parts])
    assert inside < 0.6 * dist.mean()


@pytest.mark.parametrize("variant", ["edges", "mixed", "shift only"])
def test_decomposed_solution_passes_the_checker(variant: str) -> None:
    """Many parts, a counted stop: every task served once within the limits (checker), and the
    same result again for the same seed. "shift only": crews without a capacity, as the
    service plans patrols (the seam repair then pools routes by serve time)."""
    data = _grid(10, 12, 2, mixed=variant == "mixed")
    if variant == "shift only":
        depot = data.vehicle_types[0].depot
        data = dataclasses.replace(data, vehicle_types=(VehicleType(depot, shift_limit=9000),))
    stop = MaxIterations(40)
    result = solve_arc_routing(data, stop=stop, seed=1, decompose=True, part_tasks=50)
    assert result.feasible
    assert result.solution is not None
    report = check_solution(data, result.solution)
    assert report.feasible, report.violations
    assert report.cost == result.cost
    served = sorted(s.task for r in result.solution.routes for s in r.services)
    assert served == list(range(data.num_tasks))
    again = solve_arc_routing(data, stop=stop, seed=1, decompose=True, part_tasks=50)
    assert again.solution == result.solution


def test_fixed_fleet_is_not_decomposed() -> None:
    """A fixed crew count cannot be shared out between parts: the whole problem is solved."""
    m = CarpModel()
    for _ in range(4):
        m.add_node()
    for i in range(4):
        m.add_link(i, (i + 1) % 4, 5, both_ways=True)
        m.add_required_edge(i, (i + 1) % 4, serve_cost=5, demand=1)
    m.add_vehicle_type(0, capacity=2, count=2)
    result = solve_arc_routing(m.data(), stop=MaxIterations(50), decompose=True, part_tasks=1)
    assert result.feasible
    assert result.num_routes == 2


def test_seam_routes_pool_the_under_half_full_and_the_emptiest_per_part() -> None:
    m = CarpModel()
    for _ in range(3):
        m.add_node()
    m.add_link(0, 1, 1, both_ways=True)
    m.add_link(1, 2, 1, both_ways=True)
    for q in (600, 700, 100, 900, 800):
        m.add_required_edge(0, 1, serve_cost=1, demand=q)
    m.add_vehicle_type(0, capacity=1000)
    data = m.data()
    routes = [(0, [0], [False]), (0, [2], [False]), (0, [1], [False]), (0, [3], [False])]
    routes.append((0, [4], [False]))
    # Part 0: 600 and 100 (under half); part 1: 700 (its emptiest), 900, 800.
    assert seam_routes(data, routes, [0, 0, 1, 1, 1]) == [1, 2]
    assert seam_routes(data, routes[:1], [0]) == [0]  # a part's only route is its emptiest
    shifts = CarpModel()
    shifts.add_node()
    for serve in (10, 60, 70):
        shifts.add_required_node(0, serve_cost=serve)
    shifts.add_vehicle_type(0, shift_limit=100)
    by_shift = [(0, [0], [False]), (0, [1], [False]), (0, [2], [False])]
    # Without capacities the serve time counts against the shift: 10 of 100 is pooled, 60 and
    # 70 are not, except 60 as the emptiest of its part.
    assert seam_routes(shifts.data(), by_shift, [0, 1, 1]) == [0, 1]
    free = CarpModel()
    free.add_node()
    free.add_required_node(0, serve_cost=1)
    free.add_vehicle_type(0)
    assert seam_routes(free.data(), [(0, [0], [False])], [0]) == []


def _block_routes(data: CarpData, tasks: np.ndarray, cols: int, size: int) -> TaskRoutes:
    """Compact routes over ``tasks`` of a `_grid`: 4 x 4 blocks of crossings, ``size`` tasks
    each (a decomposed solve's routes look like this: areas, not strips)."""
    r, c = np.divmod(data.task_u[tasks], cols)
    order = tasks[np.lexsort((c, r, c // 4, r // 4))]
    return [
        (0, order[i : i + size].tolist(), [False] * len(order[i : i + size]))
        for i in range(0, len(order), size)
    ]


@pytest.mark.parametrize("count", [2, 3, 4])
def test_cross_split_cuts_across_the_first_parts(count: int) -> None:
    """The second round's areas: every route in one area, areas balanced by tasks (within a
    route), and each first-round seam inside an area: every area holds a fair share of work
    from at least two first-round parts."""
    data = _grid(16, 16, 1)
    graph = DeadheadGraph.from_data(data)
    first = split_tasks(data, graph, -(-data.num_tasks // count)).parts
    assert len(first) == count
    routes: TaskRoutes = []
    part_of_task = np.empty(data.num_tasks, dtype=np.int64)
    for p, tasks in enumerate(first):
        routes += _block_routes(data, tasks, 16, 12)
        part_of_task[tasks] = p
    groups = cross_split(data, graph, routes, count)
    assert len(groups) == count
    assert sorted(r for g in groups for r in g) == list(range(len(routes)))
    sizes = [sum(len(routes[r][1]) for r in g) for g in groups]
    assert max(sizes) - min(sizes) <= 2 * 12
    for g in groups:
        tasks = np.concatenate([np.asarray(routes[r][1]) for r in g])
        shares = np.bincount(part_of_task[tasks], minlength=count) / len(tasks)
        assert np.sort(shares)[-2] >= 0.15, shares
    # Two areas: the cut runs across the first one, so each half of the first cut is split too.
    if count == 2:
        for p in range(2):
            mine = [sum(int(part_of_task[routes[r][1][0]] == p) for r in g) for g in groups]
            assert min(mine) >= 0.25 * sum(mine), mine


def test_matrix_entries_grow_linearly_when_decomposed() -> None:
    """Counting, not timing: the entries of all parts' matrices per task stay about constant
    as the grid grows fourfold, where one whole matrix grows with the square."""
    per_task = []
    for rows in (10, 20):
        data = _grid(rows, rows, 0)
        graph = DeadheadGraph.from_data(data)
        entries = 0
        for part in split_tasks(data, graph, 80).parts:
            tg = build_task_graph(sub_problem(data, part), graph)
            entries += tg.deadhead.size + tg.from_depot.size + tg.to_depot.size
        per_task.append(entries / data.num_tasks)
        dense = (2 * data.num_tasks) ** 2
        assert entries < dense
    assert per_task[1] <= 1.25 * per_task[0]
    assert per_task[0] <= 4 * 2 * 80 + 8  # about 2 options x (2 x part size) per task


def test_own_granular_neighbours(monkeypatch: pytest.MonkeyPatch) -> None:
    """The nearest options by the shorter deadhead either way, never the option's own task; the
    search over them (used above OWN_NEIGHBOURS_ABOVE options) still finds brute-force optima."""
    from optimizer import _pyvrp
    from tests.optimizer.test_arc_routing import _brute_force

    data = _grid(5, 5, 4)
    tg = build_task_graph(data)
    near = _pyvrp.granular_neighbours(tg, 6)
    prox = np.minimum(tg.deadhead, tg.deadhead.T)
    for o, row in enumerate(near):
        assert len(row) == 6
        assert all(tg.task[j] != tg.task[o] for j in row)
        others = [j for j in range(tg.num_options) if tg.task[j] != tg.task[o]]
        assert max(prox[o, row]) <= sorted(prox[o, others])[5]
        assert list(prox[o, row]) == sorted(prox[o, row])
    monkeypatch.setattr(_pyvrp, "OWN_NEIGHBOURS_ABOVE", 0)
    for seed in range(3):
        tiny = _random_instance(seed, num_tasks=7)
        result = solve_arc_routing(tiny, stop=MaxIterations(300), seed=0)
        assert result.cost == _brute_force(tiny)


@pytest.mark.parametrize("decompose", [True, False])
def test_progress_reports_falling_costs_then_the_result(decompose: bool) -> None:
    """The progress callback: a first whole answer without the bound, the same cost again with
    the bound, then never a higher cost, the last one the result's cost (checker)."""
    from optimizer.lower_bound import carp_lower_bound

    data = _grid(10, 12, 2)
    calls: list[tuple[int, int | None, float]] = []
    result = solve_arc_routing(
        data,
        stop=MaxIterations(60),
        seed=1,
        decompose=decompose,
        part_tasks=50,
        progress=lambda cost, bound, seconds: calls.append((cost, bound, seconds)),
    )
    assert result.feasible
    assert len(calls) >= 3  # first answer, its bound, at least one improvement
    assert calls[0][1] is None
    assert calls[1][0] == calls[0][0]
    assert calls[1][1] == carp_lower_bound(data).value
    costs = [c for c, _, _ in calls]
    assert all(b < a for a, b in itertools.pairwise(costs[1:]))
    assert all(bound == calls[1][1] for _, bound, _ in calls[1:])
    assert costs[-1] == result.cost
    assert [s for _, _, s in calls] == sorted(s for _, _, s in calls)
    # The same solve without a callback gives the same solution (reporting changes nothing).
    quiet = solve_arc_routing(
        data, stop=MaxIterations(60), seed=1, decompose=decompose, part_tasks=50
    )
    assert quiet.solution == result.solution


_SIDE_BY_SIDE_RUN = """
import json
import sys
import threading
import optimizer.arc_routing as ar
from optimizer.checker import check_solution
from optimizer.stop import MaxRuntime
from tests.optimizer.test_decompose import _grid

if sys.argv[1] == "beside-a-thread":  # as in a web server or a threaded Dask worker
    threading.Thread(target=threading.Event().wait, daemon=True).start()
used = []
original = ar._improve_parts_side_by_side


def counting(*args, **kwargs):
    its = original(*args, **kwargs)
    used.append({"parts": len(args[2]), "calls": len(calls)})
    return its


ar._improve_parts_side_by_side = counting
ar.ROUND_SECONDS = 0.2  # rounds within the test's short limit
data = _grid(10, 12, 4)
calls = []
bounds = []


def told(cost, bound, seconds):
    calls.append(cost)
    bounds.append(bound)


result = ar.solve_arc_routing(
    data, stop=MaxRuntime(4), seed=0, decompose=True, part_tasks=60, progress=told,
)
report = check_solution(data, result.solution)
served = sorted(s.task for r in result.solution.routes for s in r.services)
print(json.dumps({
    "workers": ar._workers(), "used": used, "cross_rounds": ar.CROSS_ROUNDS,
    "start_method": ar._process_context().get_start_method(),
    "feasible": result.feasible,
    "checker": report.feasible, "violations": list(report.violations),
    "served_once": served == list(range(data.num_tasks)), "cost": result.cost,
    "checker_cost": report.cost, "calls": calls, "bounds": bounds,
}))
"""


def test_timed_rounds_one_part_after_the_other(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the side-by-side workers (one core), a time-limited decomposed solve still runs
    its rounds over the routes cut across the parts, one part after the other: every round
    starts from the whole solution so far, and the result passes the checker."""
    import optimizer.arc_routing as ar
    from optimizer.stop import MaxRuntime

    monkeypatch.setattr(ar, "SIDE_BY_SIDE", False)
    monkeypatch.setattr(ar, "ROUND_SECONDS", 0.1)  # rounds within the test's short limit
    seen: list[tuple[int, int, bool]] = []
    original = ar.cross_split

    def counting(
        data: CarpData, graph: DeadheadGraph, routes: TaskRoutes, count: int, *, across: bool
    ) -> list[list[int]]:
        groups = original(data, graph, routes, count, across=across)
        served = sorted(t for _, seq, _ in routes for t in seq)
        seen.append((len(groups), int(served == list(range(data.num_tasks))), across))
        return groups

    monkeypatch.setattr(ar, "cross_split", counting)
    data = _grid(10, 12, 5)
    result = solve_arc_routing(data, stop=MaxRuntime(3), seed=0, decompose=True, part_tasks=60)
    assert [across for _, _, across in seen] == [k % 2 == 0 for k in range(ar.CROSS_ROUNDS)]
    assert all(groups == 4 and whole for groups, whole, _ in seen)
    # Too short for a round of at least ROUND_SECONDS per part: the first parts only.
    seen.clear()
    monkeypatch.setattr(ar, "ROUND_SECONDS", 60.0)
    solve_arc_routing(data, stop=MaxRuntime(3), seed=0, decompose=True, part_tasks=60)
    assert seen == []
    assert result.solution is not None
    report = check_solution(data, result.solution)
    assert report.feasible, report.violations
    assert report.cost == result.cost


@pytest.mark.parametrize("threads", ["alone", "beside-a-thread"])
def test_parts_side_by_side_under_a_time_limit(threads: str) -> None:
    """With two cores and a time limit, the parts are improved in two worker processes: the
    stitched solution passes the checker, serves every task once and is never worse than the
    first answers (told first to the progress callback, then every better cost a worker finds
    while its part still searches). Run in a fresh interpreter, its only thread (the workers
    are forked) or beside another thread (a web server's, a threaded Dask worker's: the workers
    come from a fork server, as forking a multi-threaded process is unsafe)."""
    import json
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    run = subprocess.run(
        [sys.executable, "-c", _SIDE_BY_SIDE_RUN, threads],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout.strip().splitlines()[-1])
    if out["workers"] < 2:
        pytest.skip("one core: the parts are improved one after the other")
    assert out["start_method"] == ("fork" if threads == "alone" else "forkserver")
    # Rounds: the first parts, then the routes cut across them and along (`cross_split`).
    assert len(out["used"]) == 1 + out["cross_rounds"]
    assert out["cross_rounds"] >= 1
    # Better costs reach the callback while the parts search, not only as each part ends (the
    # first answer is told twice, before and with its bound, then at most once per part).
    assert out["used"][0]["calls"] > 2 + out["used"][0]["parts"]
    assert out["feasible"]
    assert out["checker"], out["violations"]
    assert out["served_once"]
    assert out["cost"] == out["checker_cost"]
    assert out["cost"] <= out["calls"][0]
    assert out["calls"] == sorted(out["calls"], reverse=True)
    # The bound follows the first answer once the workers run, then stays.
    assert out["bounds"][0] is None
    assert out["calls"][1] == out["calls"][0]
    assert 0 < out["bounds"][1] <= out["cost"]
    assert set(out["bounds"][1:]) == {out["bounds"][1]}


def test_one_part_gets_no_seam_repair(monkeypatch: pytest.MonkeyPatch) -> None:
    """A decomposed problem that fits one part has no seams: no time is kept for a seam repair
    (it went unused: li11 with every street, 1,806 tasks, returned after 49 of 60 s), and the
    solution passes the checker."""
    import optimizer.arc_routing as ar
    from optimizer.stop import MaxRuntime

    pooled: list[int] = []
    original = ar.seam_routes

    def recording(*args: Any, **kwargs: Any) -> Any:
        found = original(*args, **kwargs)
        pooled.append(len(found))
        return found

    monkeypatch.setattr(ar, "seam_routes", recording)
    data = _grid(6, 7, 3)
    result = ar.solve_arc_routing(
        data, stop=MaxRuntime(1.0), seed=0, decompose=True, part_tasks=data.num_tasks
    )
    assert pooled == []
    assert result.feasible
    assert result.solution is not None
    assert check_solution(data, result.solution).feasible
    two = ar.solve_arc_routing(
        data, stop=MaxRuntime(1.0), seed=0, decompose=True, part_tasks=data.num_tasks // 2 + 1
    )
    assert two.feasible
    assert len(pooled) == 1  # two parts: the repair still pools their seams
