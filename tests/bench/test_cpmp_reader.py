"""CPMP reader: both formats, the three distance conventions, optima lookup, discovery, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bench.cpmp import (
    InstanceFormatError,
    discover,
    read_instance,
    read_optima,
    run_folder,
)


def test_orlib_block_uses_floored_distances(shared_dir: Path) -> None:
    """pmedcap01: 50 nodes, p=5, capacity 120, distances truncated to integers."""
    inst = read_instance(shared_dir / "bench" / "cpmp" / "orlib_pmedcap" / "pmedcap01.txt")
    d = inst.data
    assert (d.n, d.p) == (50, 5)
    assert set(d.capacities.tolist()) == {120}
    m = d.matrix()
    assert np.all(m == np.floor(m))
    xy = d.coordinates
    assert xy is not None
    assert m[0, 1] == np.floor(np.hypot(*(xy[0] - xy[1])))


def test_format_b_real_euclidean_with_tabs(tmp_path: Path) -> None:
    """Format B with tab separators keeps real-valued Euclidean distances and per-node values."""
    f = tmp_path / "toy.dat"
    f.write_text("3\t2\t\n0 0 10 4\n3\t4\t11\t5\n1 1 12 6\n")
    d = read_instance(f).data
    assert (d.n, d.p) == (3, 2)
    assert d.capacities.tolist() == [10, 11, 12]
    assert d.demands.tolist() == [4, 5, 6]
    assert d.matrix()[0, 1] == pytest.approx(5.0)
    assert d.matrix()[0, 2] == pytest.approx(np.sqrt(2))


def test_spain_matrix_overrides_coordinates(tmp_path: Path) -> None:
    """spain737_* files take distances from spain.grd beside them, not from coordinates."""
    (tmp_path / "spain.grd").write_text("\n".join(["0", "7", "7", "0"]) + "\n")
    (tmp_path / "spain737_1_1.txt").write_text("2 1\n-3.7 40.4 10 1\n2.1 41.4 10 1\n")
    d = read_instance(tmp_path / "spain737_1_1.txt").data
    assert d.matrix().tolist() == [[0, 7], [7, 0]]


def test_optima_found_in_parent_and_discovery_recurses(tmp_path: Path) -> None:
    """Instances in subfolders are found; optima.csv is read from the nearest parent."""
    sub = tmp_path / "set" / "inner"
    sub.mkdir(parents=True)
    (sub / "a.dat").write_text("2 1\n0 0 5 1\n0 1 5 1\n")
    (tmp_path / "optima.csv").write_text(
        "set,instance,n,p,capacity,best,proved_optimal,source\nx,a,2,1,5,1,yes,test\n"
    )
    assert discover(tmp_path) == [sub / "a.dat"]
    assert read_optima(sub)["a"].best == 1.0
    out = tmp_path / "sol"
    rows = run_folder(tmp_path, seconds=5, seed=0, solutions=out)
    assert rows[0].cost == 1.0
    assert rows[0].gap == 0.0
    sol = json.loads((out / "a.json").read_text())
    assert sol["instance"] == "a"
    assert sol["assignment"][0] == sol["assignment"][1]
    assert len(sol["medians"]) == 1


def test_bad_line_names_file_and_line(tmp_path: Path) -> None:
    """A malformed node line raises an error naming the file and the line number."""
    f = tmp_path / "bad.dat"
    f.write_text("2 1\n0 0 5 1\n0 x 5 1\n")
    with pytest.raises(InstanceFormatError, match=r"bad\.dat: line 3"):
        read_instance(f)
