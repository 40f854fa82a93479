"""Route first, cluster second: one giant tour over all tasks, cut optimally into routes.

Why: on city-scale problems (thousands of streets, nearly every street required) path scanning
leaves long deadhead runs between routes' pieces of work, and the search improves a poor start
slowly at that size. The street network itself nearly is a tour: made Eulerian, the required
edges are walked one after the other with little deadheading (the same parity matching that the
lower bound relaxes). Cutting that walk into capacity-feasible routes at the best points (the
split, Ulusoy 1985 / Beasley 1983, as in Prins' route-first algorithms) gives a start whose
deadhead is that matching plus the depot legs.

How (`giant_tour_routes`):
- **tour**: the task nodes' distances come from the task graph's deadhead matrix (every node of
  an edge task starts and ends an option). Pieces of required work that do not touch are joined
  by a spanning tree on shortest-path distances (Prim over the pieces); the nodes then of odd
  degree are paired by a near-minimum matching (`_match`: on li11's 1,256 odd nodes 147 km
  in 0.6 s, where networkx's exact matching over each node's 8 nearest gives 118 km in 8 s;
  the routes cut from either tour cost the same within 1 %); an Euler circuit (Hierholzer)
  over required edges and these deadhead links gives the order and direction of every task.
- **split**: a shortest path over the tour positions, an arc i -> j being one route serving
  tasks i..j-1 (depot legs from the deadhead matrices, capacity and shift limit respected);
  the circuit is a cycle, so a few starting positions and both directions are tried.

Only for edge and node tasks (a one-way arc cannot be walked either way) and one vehicle type
with a free fleet; otherwise `giant_tour_routes` returns None and path scanning stands alone.
"""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from optimizer._construct import Routes
from optimizer._orientation import orient_route
from optimizer._task_graph import TaskGraph
from optimizer.carp_data import TaskKind
from optimizer.shortest_paths import UNREACHABLE

IntArray = npt.NDArray[np.int64]
#: Candidate partners per odd node for the matching (its nearest odd nodes).
MATCH_NEIGHBOURS = 12
#: Starting positions tried per direction when cutting the circular tour.
ROTATIONS = 8


def _node_distances(tg: TaskGraph, options: IntArray) -> tuple[IntArray, IntArray] | None:
    """The nodes of ``options`` and their symmetric distance matrix (the shorter way of each
    pair), from the deadhead matrix; None when some node starts or ends none of them."""
    nodes = np.unique(np.concatenate([tg.start[options], tg.end[options]]))
    ends = np.full(len(nodes), -1, dtype=np.int64)
    ends[np.searchsorted(nodes, tg.end[options])] = options
    starts = np.full(len(nodes), -1, dtype=np.int64)
    starts[np.searchsorted(nodes, tg.start[options])] = options
    if (ends < 0).any() or (starts < 0).any():
        return None
    dist = tg.deadhead[np.ix_(ends, starts)]
    return nodes, np.minimum(dist, dist.T)


def _connect(num: int, edges: IntArray, dist: IntArray) -> list[tuple[int, int]]:
    """Links (Prim over pieces) joining the pieces of the graph ``edges`` on ``num`` nodes."""
    parent = list(range(num))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a, b in edges.tolist():
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[ra] = rb
    piece = np.array([find(a) for a in range(num)], dtype=np.int64)
    members: dict[int, list[int]] = {}
    for a, p in enumerate(piece.tolist()):
        members.setdefault(p, []).append(a)
    if len(members) <= 1:
        return []
    inside = np.zeros(num, dtype=bool)
    best = np.full(num, np.iinfo(np.int64).max, dtype=np.int64)
    via = np.zeros(num, dtype=np.int64)
    links: list[tuple[int, int]] = []

    def add(p: int) -> None:
        rows = np.asarray(members[p], dtype=np.int64)
        inside[rows] = True
        block = dist[rows]
        near = block.argmin(axis=0)
        value = block[near, np.arange(num)]
        better = value < best
        best[better] = value[better]
        via[better] = rows[near[better]]

    add(int(piece[0]))
    for _ in range(len(members) - 1):
        masked = np.where(inside, np.iinfo(np.int64).max, best)
        b = int(masked.argmin())
        links.append((int(via[b]), b))
        add(int(piece[b]))
    return links


def _pair_path(path: list[int]) -> list[tuple[int, int]]:
    """Consecutive pairs of an even-length node sequence."""
    return [(path[i], path[i + 1]) for i in range(0, len(path) - 1, 2)]


def _assignment_matching(sub: IntArray) -> IntArray:
    """Partners from a minimum-cost assignment (``sub`` symmetric, its diagonal prohibitive).

    The assignment is a set of cycles: a cycle of two is a pair; an even cycle gives the cheaper
    of its two alternating pairings. Odd cycles (mostly triangles of close nodes) are joined two
    by two, nearest first: one link u-v between them, the rest of each paired along its cycle
    from u and from v, the cheapest such u, v. Nodes left over (-1) are rare."""
    n = len(sub)
    rows, cols = linear_sum_assignment(sub)
    succ = np.empty(n, dtype=np.int64)
    succ[rows] = cols
    mate = np.full(n, -1, dtype=np.int64)
    seen = np.zeros(n, dtype=bool)
    odd_cycles: list[list[int]] = []
    for s in range(n):
        if seen[s]:
            continue
        cycle = [s]
        seen[s] = True
        nxt = int(succ[s])
        while nxt != s:
            cycle.append(nxt)
            seen[nxt] = True
            nxt = int(succ[nxt])
        m = len(cycle)
        if m % 2:
            odd_cycles.append(cycle)
            continue
        options = [_pair_path(cycle), _pair_path(cycle[1:] + cycle[:1])]
        best = min(options, key=lambda pairs: sum(int(sub[a, b]) for a, b in pairs))
        for a, b in best:
            mate[a], mate[b] = b, a
    if len(odd_cycles) < 2:
        return mate

    def rest(cycle: list[int], k: int) -> tuple[int, list[tuple[int, int]]]:
        pairs = _pair_path(cycle[k + 1 :] + cycle[:k])
        return sum(int(sub[a, b]) for a, b in pairs), pairs

    members = np.concatenate([np.asarray(c, dtype=np.int64) for c in odd_cycles])
    owner = np.repeat(np.arange(len(odd_cycles)), [len(c) for c in odd_cycles])
    gap = sub[np.ix_(members, members)]
    near = np.full((len(odd_cycles), len(odd_cycles)), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(near, (owner[:, None], owner[None, :]), gap)
    np.fill_diagonal(near, np.iinfo(np.int64).max)
    k = min(MATCH_NEIGHBOURS, len(odd_cycles) - 1)
    candidates: list[tuple[int, int, int, list[tuple[int, int]]]] = []
    for i in range(len(odd_cycles)):
        for j in np.argpartition(near[i], k - 1)[:k].tolist():
            if j <= i and i in np.argpartition(near[j], k - 1)[:k].tolist():
                continue  # the pair is met from j's side
            best_join: tuple[int, list[tuple[int, int]]] | None = None
            ci, cj = odd_cycles[i], odd_cycles[j]
            for x in range(len(ci)):
                cost_x, pairs_x = rest(ci, x)
                for y in range(len(cj)):
                    cost_y, pairs_y = rest(cj, y)
                    cost = int(sub[ci[x], cj[y]]) + cost_x + cost_y
                    if best_join is None or cost < best_join[0]:
                        best_join = (cost, [(ci[x], cj[y]), *pairs_x, *pairs_y])
            assert best_join is not None
            candidates.append((best_join[0], min(i, j), max(i, j), best_join[1]))
    joined = np.zeros(len(odd_cycles), dtype=bool)
    for _, i, j, pairs in sorted(candidates, key=lambda c: c[:3]):
        if not joined[i] and not joined[j]:
            joined[i] = joined[j] = True
            for a, b in pairs:
                mate[a], mate[b] = b, a
    for i in np.flatnonzero(~joined).tolist():
        cycle = odd_cycles[i]
        for a, b in _pair_path(cycle[1:]):
            mate[a], mate[b] = b, a
    return mate


#: Labels a search for an augmenting path may settle before it takes the best path so far.
AUGMENT_STEPS = 20_000


def _augment(
    x: int, free: list[int], mates: list[int], near: list[list[int]], dist: list[list[int]]
) -> int:
    """Match the free node ``x`` to one of ``free`` along the cheapest alternating path found
    (x - v1, v1's partner u1 - v2, ..., uk - w: each step re-pairs a partner to a near node),
    updating ``mates`` in place; returns w. A label-correcting search over the near lists,
    bounded by `AUGMENT_STEPS`; a path that would repeat a node falls back to x - w directly."""
    cost = {x: 0}
    back: dict[int, tuple[int, int]] = {}
    best_end = min(free, key=lambda w: (dist[x][w], w))
    best = (dist[x][best_end], x, best_end)
    queue = [x]
    steps = 0
    while queue and steps < AUGMENT_STEPS:
        p = queue.pop(0)
        steps += 1
        here = cost[p]
        for w in free:
            if here + dist[p][w] < best[0]:
                best = (here + dist[p][w], p, w)
        for v in near[p]:
            u = mates[v]
            if v == x or u < 0 or u == p:
                continue
            c = here + dist[p][v] - dist[v][u]
            if c < cost.get(u, best[0]):
                cost[u] = c
                back[u] = (p, v)
                queue.append(u)
    _, p, w = best
    path = [w]
    while p != x:
        path.append(p)
        p, v = back[p]
        path.append(v)
        if len(path) > 2 * len(mates):
            break
    path.append(x)
    if p != x or len(set(path)) != len(path):
        mates[x], mates[w] = w, x
        return w
    # path = w, uk, vk, ..., u1, v1, x: pair (w, uk), (vk, u(k-1)), ..., (v1, x).
    for a, b in zip(path[0::2], path[1::2], strict=True):
        mates[a], mates[b] = b, a
    return w


def _match(odd: IntArray, dist: IntArray) -> list[tuple[int, int]]:
    """A near-minimum perfect matching of the ``odd`` nodes (even count): from a minimum-cost
    assignment (`_assignment_matching`), nodes left over matched along augmenting paths
    (`_augment`), then partner exchanges between two pairs over each node's nearest while they
    gain. Seconds at most on a city's 2,500 odd nodes (the exact blossom matching takes tens)."""
    n = len(odd)
    if n == 0:
        return []
    sub = dist[np.ix_(odd, odd)].astype(np.int64)
    np.fill_diagonal(sub, np.iinfo(np.int64).max // 4)
    k = min(MATCH_NEIGHBOURS, n - 1)
    near = np.argpartition(sub, k - 1, axis=1)[:, :k] if k < n - 1 else np.argsort(sub, axis=1)
    near = np.take_along_axis(near, np.argsort(np.take_along_axis(sub, near, 1), 1), 1)
    mate = _assignment_matching(sub)
    near_list = near.tolist()
    mates = mate.tolist()
    sub_rows = sub.tolist()
    free = [a for a in range(n) if mates[a] < 0]
    while free:
        a = free.pop(0)
        b = _augment(a, free, mates, near_list, sub_rows)
        free.remove(b)
    improved = True
    passes = 0
    while improved and passes < 20:
        improved, passes = False, passes + 1
        for a in range(n):
            b = mates[a]
            row_a = sub_rows[a]
            for c in near_list[a]:
                d = mates[c]
                if c == b or d == a:
                    continue
                now = row_a[b] + sub_rows[c][d]
                # a-c with b-d, or a-c and d-b are the same pairing; a-d with b-c is c's own turn.
                if row_a[c] + sub_rows[b][d] < now:
                    mates[a], mates[c], mates[b], mates[d] = c, a, d, b
                    b = c
                    row_a = sub_rows[a]
                    improved = True
    return [(int(odd[a]), int(odd[mates[a]])) for a in range(n) if a < mates[a]]


def _euler(num: int, ends_a: list[int], ends_b: list[int], first: int) -> list[tuple[int, bool]]:
    """An Euler circuit of the connected, even multigraph (edge e joins ends_a[e] and
    ends_b[e]) from node ``first``: the edges in order, True when walked from ends_b to ends_a."""
    adj: list[list[int]] = [[] for _ in range(num)]
    for e, (a, b) in enumerate(zip(ends_a, ends_b, strict=True)):
        adj[a].append(e)
        adj[b].append(e)
    used = [False] * len(ends_a)
    stack: list[tuple[int, int, bool]] = [(first, -1, False)]
    circuit: list[tuple[int, bool]] = []
    while stack:
        node = stack[-1][0]
        edges = adj[node]
        while edges and used[edges[-1]]:
            edges.pop()
        if edges:
            e = edges.pop()
            used[e] = True
            backward = ends_a[e] != node
            nxt = ends_a[e] if backward else ends_b[e]
            stack.append((nxt, e, backward))
        else:
            _, e, backward = stack.pop()
            if e >= 0:
                circuit.append((e, backward))
    circuit.reverse()
    return circuit


def giant_tour(tg: TaskGraph, tasks: list[int] | None = None) -> list[int] | None:
    """Every task (of ``tasks``, default all) once, as options in the order and direction of an
    Euler circuit over the required edges and the connecting and matching deadhead links (see
    the module docstring); None when a task is an arc or some node starts or ends no option."""
    chosen = list(range(tg.data.num_tasks)) if tasks is None else tasks
    if not chosen or (np.asarray(tg.data.task_kind)[chosen] == TaskKind.ARC).any():
        return None
    options = np.array([o for t in chosen for o in tg.task_options[t]], dtype=np.int64)
    nd = _node_distances(tg, options)
    if nd is None:
        return None
    nodes, dist = nd
    first_opt = np.array([tg.task_options[t][0] for t in chosen], dtype=np.int64)
    a_end = np.searchsorted(nodes, tg.start[first_opt])
    b_end = np.searchsorted(nodes, tg.end[first_opt])
    num = len(nodes)
    links = _connect(num, np.stack([a_end, b_end], axis=1), dist)
    degree = np.zeros(num, dtype=np.int64)
    np.add.at(degree, a_end, 1)
    np.add.at(degree, b_end, 1)
    for a, b in links:
        degree[a] += 1
        degree[b] += 1
    pairs = _match(np.flatnonzero(degree % 2 == 1), dist)
    ends_a = a_end.tolist() + [a for a, _ in links] + [a for a, _ in pairs]
    ends_b = b_end.tolist() + [b for _, b in links] + [b for _, b in pairs]
    count = len(chosen)
    circuit = _euler(num, ends_a, ends_b, int(a_end[0]))
    tour: list[int] = []
    for e, backward in circuit:
        if e < count:
            opts = tg.task_options[chosen[e]]
            tour.append(opts[1] if backward and len(opts) > 1 else opts[0])
    return tour if len(tour) == count else None


def retour_route(tg: TaskGraph, vehicle_type: int, route: list[int]) -> list[int]:
    """The route's tasks walked as its own Euler tour (`giant_tour` over them), cut open where
    the depot legs cost least, each task then in its best direction (`orient_route`); the
    given route when that is not cheaper. The search's moves shift a few tasks at a time, so a
    long route's order keeps detours that a tour over its streets does not have."""
    tour = giant_tour(tg, sorted({int(tg.task[o]) for o in route}))
    if tour is None or len(tour) != len(route):
        return route
    depot = int(tg.vehicle_depot[vehicle_type])
    best, best_cost = route, tg.route_cost(vehicle_type, route)
    for cycle in (tour, _reversed(tg, tour)):
        seq = np.asarray(cycle, dtype=np.int64)
        prev = np.roll(seq, 1)
        gap = tg.deadhead[prev, seq]
        # Cut before position i: the step prev[i] -> seq[i] becomes the two depot legs.
        cut = tg.from_depot[depot, seq] + tg.to_depot[prev, depot] - gap
        i = int(cut.argmin())
        candidate = orient_route(tg, vehicle_type, np.roll(seq, -i).tolist())
        cost = tg.route_cost(vehicle_type, candidate)
        if cost < best_cost:
            best, best_cost = candidate, cost
    return best


def retour_routes(tg: TaskGraph, routes: Routes) -> Routes:
    """Every route by `retour_route` (the same tasks per route: loads unchanged, durations
    never longer)."""
    return [(vt, retour_route(tg, vt, list(seq))) for vt, seq in routes]


def split_tour(tg: TaskGraph, tour: list[int], vehicle_type: int = 0) -> Routes | None:
    """Optimal cut of the option sequence ``tour`` (its order kept) into routes of
    ``vehicle_type`` within its capacity and shift limit, at least total cost (fixed costs
    included); None when no cut fits (a task that no route starting at or before it can
    carry, or a step of the tour with no way between)."""
    vt = tg.data.vehicle_types[vehicle_type]
    depot = int(tg.vehicle_depot[vehicle_type])
    n = len(tour)
    if n == 0:
        return []
    seq = np.asarray(tour, dtype=np.int64)
    serve = tg.serve[seq]
    between = np.zeros(n, dtype=np.int64)
    between[1:] = tg.deadhead[seq[:-1], seq[1:]]
    if (between >= UNREACHABLE).any():  # a one-way street's dead end: no use as a tour
        return None
    # walk[j] - walk[i] = serving i+1..j and the deadhead between i and j.
    walk = np.cumsum(serve + between)
    load = np.concatenate([[0], np.cumsum(tg.demand[seq])])
    out_leg = tg.from_depot[depot, seq]
    back_leg = tg.to_depot[seq, depot]
    cap = int(load[-1]) if vt.capacity is None else int(vt.capacity)
    shift = np.iinfo(np.int64).max if vt.shift_limit is None else int(vt.shift_limit)
    inf = np.iinfo(np.int64).max
    value = np.full(n + 1, inf, dtype=np.int64)
    pred = np.full(n + 1, -1, dtype=np.int64)
    value[0] = 0
    for i in range(n):
        if value[i] == inf or out_leg[i] >= UNREACHABLE:
            continue
        last = int(np.searchsorted(load, load[i] + cap, side="right")) - 1  # tasks i..last-1
        if vt.shift_limit is not None:  # serving and the way between never shrink
            reach = shift - int(out_leg[i]) + int(walk[i]) - int(serve[i])
            last = min(last, int(np.searchsorted(walk, reach, side="right")))
        if last <= i:
            continue
        inner = walk[i:last] - walk[i] + serve[i]
        duration = out_leg[i] + inner + back_leg[i:last]
        ok = (duration <= shift) & (back_leg[i:last] < UNREACHABLE)
        if not ok.any():
            continue
        cost = np.where(ok, value[i] + duration + vt.fixed_cost, inf)
        better = cost < value[i + 1 : last + 1]
        value[i + 1 : last + 1][better] = cost[better]
        pred[i + 1 : last + 1][better] = i
    if value[n] == inf:
        return None
    routes: Routes = []
    j = n
    while j > 0:
        i = int(pred[j])
        routes.append((vehicle_type, seq[i:j].tolist()))
        j = i
    routes.reverse()
    return routes


def _reversed(tg: TaskGraph, tour: list[int]) -> list[int]:
    """The tour walked backwards: tasks in reverse order, each edge in its other direction."""
    out = []
    for o in reversed(tour):
        options = tg.task_options[int(tg.task[o])]
        out.append(options[1] if len(options) > 1 and options[0] == o else options[0])
    return out


def _cost(tg: TaskGraph, routes: Routes) -> int:
    fixed = [vt.fixed_cost for vt in tg.data.vehicle_types]
    return sum(tg.route_cost(vt, seq) + fixed[vt] for vt, seq in routes)


def giant_tour_routes(tg: TaskGraph, seconds: float | None = None) -> Routes | None:
    """Routes cut from the giant tour (`giant_tour`, `split_tour`), the best over `ROTATIONS`
    starting positions in each direction (fewer once ``seconds`` are spent); None when the
    problem has arcs, several vehicle types or a fixed fleet, or no tour fits."""
    types = tg.data.vehicle_types
    if len(types) != 1 or types[0].count is not None or tg.data.num_tasks == 0:
        return None
    started = time.perf_counter()
    tour = giant_tour(tg)
    if tour is None:
        return None
    n = len(tour)
    # Start where the tour is nearest the depot, then at evenly spaced positions.
    depot = int(tg.vehicle_depot[0])
    home = int(np.argmin(tg.from_depot[depot, np.asarray(tour, dtype=np.int64)]))
    shifts = sorted(
        {(home + k * n // ROTATIONS) % n for k in range(ROTATIONS)}, key=lambda s: (s - home) % n
    )
    best: Routes | None = None
    best_cost = 0
    for s in shifts:
        turned = tour[s:] + tour[:s]
        for candidate in (turned, _reversed(tg, turned)):
            routes = split_tour(tg, candidate)
            if routes is not None:
                cost = _cost(tg, routes)
                if best is None or cost < best_cost:
                    best, best_cost = routes, cost
        if seconds is not None and time.perf_counter() - started > seconds:
            break
    return best
