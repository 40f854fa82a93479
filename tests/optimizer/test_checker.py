"""The independent checker: hand-computed costs, and each kind of broken solution is rejected."""

from __future__ import annotations

import pytest

from optimizer.carp_data import CarpData, CarpModel
from optimizer.carp_solution import CarpSolution, Route, Service
from optimizer.checker import check_solution


def _square(
    *, capacity: int | None = 2, shift: int | None = None, count: int | None = None
) -> CarpData:
    """Square 0-1-2-3 (streets of cost 10 both ways) plus a one-way 3 -> 0 shortcut of cost 1.

    Tasks: edge 0-1 (serve 12, demand 1), arc 1 -> 2 (serve 11, demand 1), node 3 (serve 5,
    demand 1). Depot at node 0; a second vehicle type sits at node 2.
    """
    m = CarpModel(name="square")
    for _ in range(4):
        m.add_node()
    for a, b in [(0, 1), (1, 2), (2, 3), (3, 0)]:
        m.add_link(a, b, 10, both_ways=True)
    m.add_link(3, 0, 1)
    m.add_required_edge(0, 1, serve_cost=12, demand=1, label="e01")
    m.add_required_arc(1, 2, serve_cost=11, demand=1, label="a12")
    m.add_required_node(3, serve_cost=5, demand=1, label="n3")
    m.add_vehicle_type(0, capacity=capacity, shift_limit=shift, count=count)
    m.add_vehicle_type(2, capacity=capacity, count=1)
    return m.data()


def _sol(*routes: tuple[int, list[tuple[int, bool]]]) -> CarpSolution:
    return CarpSolution(
        routes=tuple(
            Route(vehicle_type=vt, services=tuple(Service(t, r) for t, r in services))
            for vt, services in routes
        )
    )


def test_valid_solution_cost_by_hand() -> None:
    """Two routes from depot 0: costs and demands computed by hand."""
    data = _square()
    # A: serve e01 0 -> 1 (12), serve a12 1 -> 2 (11), back 2 -> 3 -> 0 (10 + 1).
    # B: 0 -> 3 (10), serve n3 (5), 3 -> 0 (1).
    report = check_solution(data, _sol((0, [(0, False), (1, False)]), (0, [(2, False)])))
    assert report.violations == ()
    assert report.feasible
    assert report.route_costs == (12 + 11 + 11, 10 + 5 + 1)
    assert report.route_durations == report.route_costs
    assert report.route_demands == (2, 1)
    assert report.cost == 34 + 16


def test_edge_served_backwards_costs_the_walk() -> None:
    """Serving edge 0-1 as 1 -> 0 needs a deadhead to 1 first and ends at the depot."""
    data = _square(capacity=None)
    report = check_solution(data, _sol((0, [(0, True), (1, False), (2, False)])))
    # 0->1 (10), serve 1->0 (12), 0->1 (10), serve 1->2 (11), 2->3 (10), n3 (5), 3->0 (1)
    assert report.feasible
    assert report.cost == 10 + 12 + 10 + 11 + 10 + 5 + 1


@pytest.mark.parametrize(
    ("solution", "message"),
    [
        (_sol((0, [(0, False), (1, False)])), "'n3' is not served"),
        (_sol((0, [(0, False), (1, False)]), (0, [(2, False), (0, True)])), "'e01' is served 2"),
        (_sol((0, [(0, False), (1, True)]), (0, [(2, False)])), "arc task 'a12' served against"),
        (_sol((0, [(0, False), (1, False)]), (0, [(2, True)])), "node task 'n3' served against"),
        (_sol((0, [(0, False), (1, False)]), (7, [(2, False)])), "vehicle type 7 does not exist"),
        (_sol((0, [(0, False), (1, False), (2, False)])), "demand 3 exceeds capacity 2"),
        (_sol((0, [(0, False), (1, False)]), (0, [(9, False)])), "task 9 does not exist"),
    ],
)
def test_broken_solutions_are_rejected(solution: CarpSolution, message: str) -> None:
    """Missing, duplicate, wrong direction, unknown vehicle type or task, over capacity."""
    report = check_solution(_square(), solution)
    assert not report.feasible
    assert any(message in v for v in report.violations), report.violations


def test_shift_limit_exceeded() -> None:
    """A 35-unit shift cannot hold the 39-unit route serving everything."""
    data = _square(capacity=None, shift=35)
    report = check_solution(data, _sol((0, [(0, False), (1, False), (2, False)])))
    assert report.violations == ("route 0: duration 39 exceeds shift limit 35",)


def test_too_many_vehicles_of_a_type() -> None:
    """Type 0 has one crew here; two routes of that type break the count."""
    data = _square(count=1)
    report = check_solution(data, _sol((0, [(0, False), (1, False)]), (0, [(2, False)])))
    assert report.violations == ("vehicle type 0: 2 routes for 1 vehicles",)


def test_route_of_other_depot_returns_to_its_own_depot() -> None:
    """A type-1 route starts and ends at node 2: its cost changes with the depot."""
    data = _square(capacity=None)
    at_0 = check_solution(data, _sol((0, [(2, False)])))
    at_2 = check_solution(data, _sol((1, [(2, False)])))
    assert at_0.route_costs == (10 + 5 + 1,)
    assert at_2.route_costs == (10 + 5 + 10,)


def test_unreachable_leg_is_a_violation() -> None:
    """With only one-way links there is no way back to the depot."""
    m = CarpModel()
    for _ in range(2):
        m.add_node()
    m.add_link(0, 1, 3)
    m.add_required_arc(0, 1, serve_cost=3)
    m.add_vehicle_type(0)
    report = check_solution(m.data(), _sol((0, [(0, False)])))
    assert not report.feasible
    assert report.violations == ("route 0: no deadheading path from node 1 to 0",)
