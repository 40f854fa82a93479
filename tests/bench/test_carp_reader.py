"""CARP benchmark readers: CARPLIB and MCGRP files, best known values, discovery, JSON solutions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bench.carp import (
    InstanceFormatError,
    find_instances,
    format_table,
    load_bks,
    read_instance,
    run_instance,
    solution_from_json,
    solution_json,
)
from optimizer.carp_data import TaskKind
from optimizer.checker import check_solution


@pytest.fixture(scope="module")
def carp_dir(shared_dir: Path) -> Path:
    return shared_dir / "bench" / "carp"


def test_read_gdb1(carp_dir: Path) -> None:
    """gdb1: 12 nodes, 22 required edges (both directions as links), capacity 5, depot 1."""
    inst = read_instance(carp_dir / "gdb" / "gdb1.dat")
    data = inst.data
    assert (inst.name, inst.fmt, inst.offset) == ("gdb1", "carplib", 0)
    assert data.num_nodes == 12
    assert data.num_tasks == 22
    assert data.num_links == 44
    assert set(data.task_kind.tolist()) == {TaskKind.EDGE}
    assert int(data.task_serve_cost.sum()) == 252  # COSTE_TOTAL_REQ of gdb1
    assert data.vehicle_types[0].capacity == 5
    assert data.vehicle_types[0].count is None  # CARPLIB benchmarks: unlimited fleet
    assert data.node_label(data.vehicle_types[0].depot) == "1"


def test_read_bmcv_depot_is_not_node_one(carp_dir: Path) -> None:
    """C01 has its depot at vertex 40 and non-required edges as extra links."""
    data = read_instance(carp_dir / "bmcv" / "C01.dat").data
    assert data.node_label(data.vehicle_types[0].depot) == "40"
    assert data.num_links > 2 * data.num_tasks


def test_read_mcgrp_bhw1(carp_dir: Path) -> None:
    """BHW1: 7 nodes, 11 edges and 11 arcs required; offset = traversal - service costs."""
    inst = read_instance(carp_dir / "mcgrp" / "bhw" / "BHW1.dat")
    data = inst.data
    kinds = data.task_kind.tolist()
    assert (kinds.count(TaskKind.NODE), kinds.count(TaskKind.EDGE), kinds.count(TaskKind.ARC)) == (
        7,
        11,
        11,
    )
    node_tasks = data.task_kind == TaskKind.NODE
    assert np.array_equal(data.task_u[node_tasks], data.task_v[node_tasks])
    # E1 is "2 3 18 1 19": traversal 18, service 19; every served element adds T - S.
    first_edge = int(np.flatnonzero(data.task_kind == TaskKind.EDGE)[0])
    assert data.node_label(int(data.task_u[first_edge])) == "2"
    assert int(data.task_serve_cost[first_edge]) == 19
    assert inst.offset < 0
    assert data.vehicle_types[0].count is None  # "#Vehicles: -1"
    # Links: 11 edges both ways, 22 arcs one way.
    assert data.num_links == 2 * 11 + 22


def test_mcgrp_offset_matches_reported_optimum(carp_dir: Path) -> None:
    """mggdb_0.25_1 has a proven optimum of 280 in the MCGRP convention; a solve lands on it."""
    from optimizer.arc_routing import solve_arc_routing
    from optimizer.stop import MaxIterations

    inst = read_instance(carp_dir / "mcgrp" / "mggdb" / "mggdb_0.25_1.dat")
    result = solve_arc_routing(inst.data, stop=MaxIterations(2000), seed=0)
    assert result.feasible
    assert inst.reported_cost(result.cost or 0) == 280


def test_mcgrp_fleet_limit_is_kept(carp_dir: Path) -> None:
    """mggdb_0.50_21 allows 6 vehicles; its optimum 86 holds for that fleet (with more vehicles
    a cheaper plan exists, so ignoring the limit would "beat" a proven optimum)."""
    from optimizer.arc_routing import solve_arc_routing
    from optimizer.stop import MaxIterations

    inst = read_instance(carp_dir / "mcgrp" / "mggdb" / "mggdb_0.50_21.dat")
    assert inst.data.vehicle_types[0].count == 6
    result = solve_arc_routing(inst.data, stop=MaxIterations(3000), seed=0)
    assert result.feasible
    assert result.num_routes <= 6
    assert inst.reported_cost(result.cost or 0) >= 86


def test_bks_found_in_parent_folder(carp_dir: Path) -> None:
    """The MCGRP subfolders have no bks.csv: the one two levels up is used."""
    bks = load_bks(carp_dir / "mcgrp" / "bhw")
    assert bks["BHW2"] == (470, True)
    assert bks["BHW1"] == (None, False)
    assert bks["gdb1"] == (316, True)


def test_find_instances_recursive_natural_order(carp_dir: Path) -> None:
    """gdb2 sorts before gdb10; subfolders are searched."""
    names = [p.stem for p in find_instances(carp_dir / "gdb")]
    assert names[:3] == ["gdb1", "gdb2", "gdb3"]
    assert len(names) == 23
    assert len(find_instances(carp_dir / "mcgrp")) > 300


def test_malformed_files_name_file_and_line(tmp_path: Path) -> None:
    """A bad number names the file, line and field; an unknown format is refused."""
    bad = tmp_path / "bad.dat"
    bad.write_text(
        " NOMBRE : bad\n VERTICES : twelve\n ARISTAS_REQ : 0\n CAPACIDAD : 5\n DEPOSITO : 1\n",
        encoding="utf-8",
    )
    with pytest.raises(InstanceFormatError, match=r"bad\.dat:2: field 'VERTICES'"):
        read_instance(bad)
    odd = tmp_path / "odd.dat"
    odd.write_text("hello\n", encoding="utf-8")
    with pytest.raises(InstanceFormatError, match="neither CARPLIB"):
        read_instance(odd)
    short = tmp_path / "short.dat"
    short.write_text(
        "Name:\tshort\nCapacity:\t5\nDepot Node:\t1\n#Nodes:\t3\n#Required E:\t1\n"
        "ReE.\tFrom N.\tTo N.\tT. COST\tDEMAND\tS. COST\nE1\t1\t2\t4\n",
        encoding="utf-8",
    )
    with pytest.raises(InstanceFormatError, match=r"short\.dat:7: a E line needs 5"):
        read_instance(short)


def test_solution_json_rescores_to_the_same_cost(carp_dir: Path, tmp_path: Path) -> None:
    """A benchmark run writes a JSON solution that, read back, the checker scores the same."""
    inst = read_instance(carp_dir / "mcgrp" / "bhw" / "BHW1.dat")
    row = run_instance(inst, seconds=1.0, seed=0, bks=None, solutions=tmp_path)
    payload = json.loads((tmp_path / "BHW1.json").read_text(encoding="utf-8"))
    assert payload["instance"] == "BHW1"
    assert payload["cost"] == row.cost
    steps = [s for route in payload["routes"] for s in route]
    assert {s["kind"] for s in steps} == {"node", "edge", "arc"}
    assert all(s["from"] == s["to"] for s in steps if s["kind"] == "node")
    solution = solution_from_json(inst, payload)
    report = check_solution(inst.data, solution)
    assert report.feasible
    assert inst.reported_cost(report.cost) == row.cost
    assert solution_json(inst, solution, row.cost or 0) == payload
    table = format_table([row])
    assert "| BHW1 |" in table
    assert "1/1" in table
