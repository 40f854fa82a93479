"""Best service direction of each task for fixed task sequences (a layered shortest path per route).

For a route's fixed order of tasks, choosing one option (direction) per task is a shortest path
through layers of at most two states each: O(n) per route. Costs and durations share the deadhead
matrix, so the re-oriented route is never longer in cost nor in duration, and loads do not change.
"""

from __future__ import annotations

import itertools

import numpy as np

from optimizer._task_graph import TaskGraph

Routes = list[tuple[int, list[int]]]


def orient_route(tg: TaskGraph, vehicle_type: int, options: list[int]) -> list[int]:
    """The same tasks in the same order, each served in the direction that minimises the cost."""
    if not options:
        return []
    d = int(tg.vehicle_depot[vehicle_type])
    layers = [np.asarray(tg.task_options[int(tg.task[o])], dtype=np.int64) for o in options]
    cost = tg.from_depot[d, layers[0]].astype(np.int64)
    back: list[np.ndarray] = []
    for prev, cur in itertools.pairwise(layers):
        step = cost[:, None] + tg.deadhead[np.ix_(prev, cur)]
        arg = step.argmin(axis=0)
        back.append(arg)
        cost = step[arg, np.arange(len(cur))]
    total = cost + tg.to_depot[layers[-1], d]
    k = int(total.argmin())
    # Keep the given route when re-orienting does not strictly help (ties stay stable).
    if int(total[k]) >= tg.route_cost(vehicle_type, options) - int(tg.serve[options].sum()):
        return list(options)
    chosen = [int(layers[-1][k])]
    for i in range(len(back) - 1, -1, -1):
        k = int(back[i][k])
        chosen.append(int(layers[i][k]))
    chosen.reverse()
    return chosen


def orient_routes(tg: TaskGraph, routes: Routes) -> Routes:
    """Every route of ``routes`` re-oriented by `orient_route`."""
    return [(vt, orient_route(tg, vt, list(seq))) for vt, seq in routes]
