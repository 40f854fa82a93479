"""solve_arc_routing: brute-force optima, gdb1, one-way arcs, nodes, depots, fleets, seeds."""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from optimizer.arc_routing import solve_arc_routing
from optimizer.carp_data import CarpData, CarpModel, TaskKind
from optimizer.carp_solution import CarpSolution, Route, Service
from optimizer.checker import check_solution
from optimizer.errors import InfeasibleError, SpecificationError
from optimizer.stop import MaxIterations, MaxRuntime, MultipleCriteria, NoImprovement

BACKENDS = ["pyvrp", "ortools"]


def _random_instance(seed: int, num_tasks: int = 6, shift: int | None = None) -> CarpData:
    """A small mixed graph: a two-way ring, a few one-way chords, random edge/arc/node tasks."""
    rng = np.random.default_rng(seed)
    n = 7
    m = CarpModel(name=f"random{seed}")
    for _ in range(n):
        m.add_node()
    links: list[tuple[int, int, int]] = []
    for i in range(n):
        links.append((i, (i + 1) % n, int(rng.integers(1, 10))))
        m.add_link(*links[-1], both_ways=True)
    for _ in range(4):
        a, b = (int(x) for x in rng.choice(n, 2, replace=False))
        links.append((a, b, int(rng.integers(1, 6))))
        m.add_link(*links[-1])
    for k in range(num_tasks):
        kind = k % 3
        demand = int(rng.integers(1, 4))
        if kind == 2:
            m.add_required_node(
                int(rng.integers(n)), serve_cost=int(rng.integers(0, 5)), demand=demand
            )
            continue
        j = int(rng.integers(len(links)))
        a, b, c = links[j]
        if kind == 0:
            m.add_required_edge(a, b, serve_cost=c, demand=demand)
        else:
            m.add_required_arc(a, b, serve_cost=c, demand=demand)
    m.add_vehicle_type(0, capacity=5, shift_limit=shift)
    return m.data()


def _brute_force(data: CarpData) -> int:
    """Optimal cost for one vehicle type and an unlimited fleet, by dynamic programming over
    subsets: best single route per task subset (orders and directions), then best partition."""
    n = data.num_nodes
    dist = np.full((n, n), np.inf)
    np.fill_diagonal(dist, 0)
    for t, h, c in zip(data.link_tail, data.link_head, data.link_cost, strict=True):
        dist[t, h] = min(dist[t, h], c)
    for k, i, j in itertools.product(range(n), repeat=3):
        dist[i, j] = min(dist[i, j], dist[i, k] + dist[k, j])
    vt = data.vehicle_types[0]
    depot = vt.depot
    opts = []  # (task, start, end, serve)
    for t in range(data.num_tasks):
        u, v, s = int(data.task_u[t]), int(data.task_v[t]), int(data.task_serve_cost[t])
        opts.append((t, u, v, s))
        if data.task_kind[t] == TaskKind.EDGE:
            opts.append((t, v, u, s))
    nt = data.num_tasks
    full = 1 << nt
    g = np.full((full, len(opts)), np.inf)
    for o, (t, a, _, s) in enumerate(opts):
        g[1 << t, o] = dist[depot, a] + s
    for mask in range(1, full):
        for o, (_, _, e, _) in enumerate(opts):
            if not np.isfinite(g[mask, o]):
                continue
            for o2, (t2, a2, _, s2) in enumerate(opts):
                if not mask >> t2 & 1:
                    nxt = mask | 1 << t2
                    g[nxt, o2] = min(g[nxt, o2], g[mask, o] + dist[e, a2] + s2)
    route = np.full(full, np.inf)
    for mask in range(1, full):
        demand = sum(int(data.task_demand[t]) for t in range(nt) if mask >> t & 1)
        if vt.capacity is not None and demand > vt.capacity:
            continue
        best = min(g[mask, o] + dist[opts[o][2], depot] for o in range(len(opts)))
        if vt.shift_limit is None or best <= vt.shift_limit:
            route[mask] = best
    part = np.full(full, np.inf)
    part[0] = 0
    for mask in range(1, full):
        low = mask & -mask
        sub = mask
        while sub:
            if sub & low:
                part[mask] = min(part[mask], route[sub] + part[mask ^ sub])
            sub = (sub - 1) & mask
    return int(part[full - 1])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tiny_instances_reach_brute_force_optimum(backend: str, seed: int) -> None:
    """Mixed edges, one-way arcs and nodes with capacity: the solver finds the proven optimum."""
    data = _random_instance(seed, num_tasks=7)
    optimum = _brute_force(data)
    result = solve_arc_routing(data, stop=MaxIterations(300), seed=0, backend=backend)  # type: ignore[arg-type]
    assert result.feasible
    assert result.solution is not None
    report = check_solution(data, result.solution)
    assert report.cost == result.cost == optimum


@pytest.mark.parametrize("backend", BACKENDS)
def test_shift_limit_is_respected(backend: str) -> None:
    """A tight shift limit forces more, shorter routes; the optimum still matches brute force."""
    loose = _random_instance(5, num_tasks=6)
    # The longest single-task round trip must fit, or no solution exists at all.
    trips = [
        min(
            check_solution(loose, CarpSolution((Route(0, (Service(t, rev),)),))).cost
            for rev in ([False, True] if loose.task_kind[t] == TaskKind.EDGE else [False])
        )
        for t in range(loose.num_tasks)
    ]
    unlimited = _brute_force(loose)
    data = _random_instance(5, num_tasks=6, shift=max(*trips, unlimited // 4))
    optimum = _brute_force(data)
    result = solve_arc_routing(data, stop=MaxIterations(300), seed=1, backend=backend)  # type: ignore[arg-type]
    assert result.feasible
    assert max(result.route_durations) <= data.vehicle_types[0].shift_limit  # type: ignore[operator]
    assert result.cost == optimum
    assert optimum > unlimited  # the limit binds


@pytest.mark.parametrize("backend", BACKENDS)
def test_gdb1_reaches_its_optimum(backend: str, shared_dir: Path) -> None:
    """gdb1 (22 edges, optimum 316) within a short count-based run."""
    from bench.carp import read_instance

    instance = read_instance(shared_dir / "bench" / "carp" / "gdb" / "gdb1.dat")
    iterations = 1500 if backend == "pyvrp" else 300
    result = solve_arc_routing(
        instance.data,
        stop=MaxIterations(iterations),
        seed=0,
        backend=backend,  # type: ignore[arg-type]
    )
    assert result.feasible
    assert instance.reported_cost(result.cost or 0) == 316


@pytest.mark.parametrize("backend", BACKENDS)
def test_same_seed_same_result(backend: str) -> None:
    """Count-based stops are reproducible: same seed, same routes and cost."""
    data = _random_instance(7, num_tasks=12)
    stop = MultipleCriteria((MaxIterations(200), NoImprovement(100)))
    first = solve_arc_routing(data, stop=stop, seed=4, backend=backend)  # type: ignore[arg-type]
    second = solve_arc_routing(data, stop=stop, seed=4, backend=backend)  # type: ignore[arg-type]
    assert first.solution == second.solution
    assert first.cost == second.cost


def _two_depots(count: int | None) -> CarpData:
    """A line 0 - 1 - ... - 9 with depots at both ends; every street is a required edge."""
    m = CarpModel()
    for _ in range(10):
        m.add_node()
    for i in range(9):
        m.add_link(i, i + 1, 5, both_ways=True)
        m.add_required_edge(i, i + 1, serve_cost=5, demand=1)
    m.add_vehicle_type(0, count=count, capacity=5, shift_limit=60)
    m.add_vehicle_type(9, count=count, capacity=5, shift_limit=60)
    return m.data()


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_depots_each_serve_their_end(backend: str) -> None:
    """With one crew at each end of the line, each serves its own half and comes back."""
    data = _two_depots(count=1)
    result = solve_arc_routing(data, stop=MaxIterations(300), seed=0, backend=backend)  # type: ignore[arg-type]
    assert result.feasible
    assert result.solution is not None
    assert sorted(r.vehicle_type for r in result.solution.routes) == [0, 1]
    # Crews serve 4 and 5 edges out (45 in all) and deadhead back 20 and 25.
    assert result.cost == 45 + 20 + 25
    assert result.makespan == 50
    assert result.balance == pytest.approx(50 / 45)


@pytest.mark.parametrize("backend", BACKENDS)
def test_too_few_crews_gives_no_feasible_result(backend: str) -> None:
    """One crew per depot with capacity 2 cannot serve nine edges: reported, not hidden."""
    m = CarpModel()
    for _ in range(10):
        m.add_node()
    for i in range(9):
        m.add_link(i, i + 1, 5, both_ways=True)
        m.add_required_edge(i, i + 1, serve_cost=5, demand=1)
    m.add_vehicle_type(0, count=1, capacity=2)
    m.add_vehicle_type(9, count=1, capacity=2)
    result = solve_arc_routing(m.data(), stop=MaxIterations(50), seed=0, backend=backend)  # type: ignore[arg-type]
    assert not result.feasible
    assert result.status in {"no_solution", "infeasible"}


def test_unservable_task_raises() -> None:
    """A task heavier than every vehicle's capacity is named in the error."""
    m = CarpModel()
    a, b = m.add_node(), m.add_node()
    m.add_link(a, b, 1, both_ways=True)
    m.add_required_edge(a, b, serve_cost=1, demand=9, label="heavy street")
    m.add_vehicle_type(a, capacity=5)
    with pytest.raises(InfeasibleError, match="heavy street"):
        solve_arc_routing(m.data(), stop=MaxIterations(10))


def test_unknown_backend_and_empty_problem() -> None:
    """A bad backend name is a specification error; no tasks gives an empty feasible plan."""
    m = CarpModel()
    m.add_node()
    m.add_vehicle_type(0)
    data = m.data()
    with pytest.raises(SpecificationError, match="backend"):
        solve_arc_routing(data, stop=MaxIterations(1), backend="cplex")  # type: ignore[arg-type]
    result = solve_arc_routing(data, stop=MaxIterations(1))
    assert result.feasible
    assert result.cost == 0
    assert result.num_routes == 0


def test_search_workers_beside_other_threads_come_from_a_fork_server() -> None:
    """With other threads running (a web server, a threaded Dask worker) forking is unsafe: the
    search workers come from a fork server instead, and the solver still uses every core."""
    import threading

    from optimizer.arc_routing import _process_context, _workers

    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    thread.start()
    try:
        ctx = _process_context()
        assert ctx is not None
        assert ctx.get_start_method() == "forkserver"
        assert _workers() == len(os.sched_getaffinity(0))
    finally:
        release.set()
        thread.join()


def _report_workers(queue: Any) -> None:
    from optimizer.arc_routing import _process_context, _workers

    queue.put((_workers(), _process_context() is None))


def test_no_search_workers_in_a_daemonic_process() -> None:
    """A daemonic process (a Dask worker process started as a daemon) may not have children:
    the solver searches in that process alone."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    queue = ctx.SimpleQueue()
    child = ctx.Process(target=_report_workers, args=(queue,), daemon=True)
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0
    assert queue.get() == (1, True)


def test_tight_lane_restarts_from_new_seeds_and_keeps_the_cheapest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A small problem's search (here the second lane of a bin-packing-like problem: the fleet
    at the capacity bound, no start solution) restarts from no start solution with a new seed
    whenever a run stalls, until the deadline, and keeps the cheapest routes; with a counted
    stop, or above `RESTART_MAX_OPTIONS` options, it makes a single run."""
    import time

    import optimizer.arc_routing as ar
    from optimizer._construct import total_cost
    from optimizer._task_graph import build_task_graph

    data = _random_instance(3, num_tasks=12)
    tg = build_task_graph(data)
    fleet = [ar._min_fleet(tg) or 1]
    runs: list[tuple[int, int | None]] = []
    original = ar._run_backend

    def recording(*args: Any, **kwargs: Any) -> Any:
        routes, its = original(*args, **kwargs)
        runs.append((args[5], None if routes is None else total_cost(args[1], routes)))
        return routes, its

    monkeypatch.setattr(ar, "_run_backend", recording)
    monkeypatch.setattr(ar, "RESTART_MIN", 50)
    monkeypatch.setattr(ar, "RESTART_PER_OPTION", 0)
    assert tg.num_options <= ar.RESTART_MAX_OPTIONS
    routes, iterations = ar._restarting_run(
        "pyvrp", tg, fleet, None, MaxRuntime(60), 7, time.perf_counter() + 1.5
    )
    assert len(runs) >= 2
    assert [seed for seed, _ in runs] == [7 + 1000 * k for k in range(len(runs))]
    assert routes is not None
    assert total_cost(tg, routes) == min(c for _, c in runs if c is not None)
    assert iterations >= 50 * (len(runs) - 1)
    runs.clear()
    ar._restarting_run("pyvrp", tg, fleet, None, MaxIterations(200), 7, time.perf_counter() + 30)
    assert [seed for seed, _ in runs] == [7]
    runs.clear()
    monkeypatch.setattr(ar, "RESTART_MAX_OPTIONS", tg.num_options - 1)
    ar._restarting_run("pyvrp", tg, fleet, None, MaxRuntime(60), 7, time.perf_counter() + 1.0)
    assert [seed for seed, _ in runs] == [7]


def test_search_workers_run_at_the_calling_threads_priority() -> None:
    """A service lowers its job threads' priority: the search workers such a thread starts run
    at that priority too, also those of a fork server started at another priority."""
    import threading
    from multiprocessing import forkserver

    from optimizer.arc_routing import _process_context, _search_pool, _thread_nice

    seen: list[int | None] = []
    base = _thread_nice()
    assert base is not None
    forkserver.ensure_running()  # started from this thread, at its priority

    def job() -> None:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), min(19, base + 3))
        ctx = _process_context()  # a fork server: the test runner's thread runs beside
        assert ctx is not None
        with _search_pool(ctx, 1) as pool:
            seen.append(pool.submit(_thread_nice).result(timeout=60))

    thread = threading.Thread(target=job)
    thread.start()
    thread.join()
    assert seen == [min(19, base + 3)]
