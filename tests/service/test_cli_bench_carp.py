"""`gunmane bench carp`: a run over two gdb files prints the gap table and writes JSON solutions."""

from __future__ import annotations

import json
import shutil

from service.cli import main


def test_bench_carp_table_and_solutions(shared_dir, tmp_path, capsys):
    """Two instances copied beside the set's bks.csv: table rows, means and one JSON each."""
    carp = shared_dir / "bench" / "carp"
    folder = tmp_path / "set"
    folder.mkdir()
    for name in ("gdb1.dat", "gdb14.dat"):
        shutil.copy(carp / "gdb" / name, folder / name)
    shutil.copy(carp / "bks.csv", tmp_path / "bks.csv")  # found in the parent folder
    out = tmp_path / "solutions"
    code = main(
        ["bench", "carp", str(folder), "--time-limit", "1", "--seed", "0", "--solutions", str(out)]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert "| gdb1 |" in printed
    assert "| gdb14 |" in printed
    assert "2/2" in printed
    payload = json.loads((out / "gdb14.json").read_text(encoding="utf-8"))
    assert payload["instance"] == "gdb14"
    assert payload["cost"] >= 100  # gdb14's optimum
    assert all(step["kind"] == "edge" for route in payload["routes"] for step in route)


def test_bench_carp_missing_folder(tmp_path, capsys):
    """A folder that does not exist is reported, with exit code 2."""
    code = main(["bench", "carp", str(tmp_path / "nope"), "--time-limit", "1", "--seed", "0"])
    assert code == 2
    assert "no such folder" in capsys.readouterr().out


def test_bench_carp_selects_instances_and_prints_the_bound(shared_dir, capsys):
    """No --seed (default 0); --instances picks files by name; the bound column is filled and
    never above the proved optimum; a name that is not there is reported with exit code 2."""
    gdb = shared_dir / "bench" / "carp" / "gdb"
    code = main(["bench", "carp", str(gdb), "--time-limit", "0.5", "--instances", "gdb14"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "seed 0" in printed
    rows = [line for line in printed.splitlines() if line.startswith("| gdb")]
    assert len(rows) == 1
    cells = [c.strip() for c in rows[0].strip("|").split("|")]
    cost, best, bound = int(cells[1]), int(cells[2]), int(cells[3])
    assert bound <= best <= cost
    code = main(["bench", "carp", str(gdb), "--time-limit", "0.5", "--instances", "gdb99"])
    assert code == 2
    assert "gdb99" in capsys.readouterr().out


def test_select_every_and_limit(shared_dir):
    """--every N keeps the 1st, (N+1)-th, ... file in natural order; --limit cuts after."""
    from bench.carp import find_instances, select_instances

    paths = find_instances(shared_dir / "bench" / "carp" / "gdb")
    picked = select_instances(paths, every=10)
    assert [p.stem for p in picked] == ["gdb1", "gdb11", "gdb21"]
    assert [p.stem for p in select_instances(paths, every=10, limit=2)] == ["gdb1", "gdb11"]
    assert [p.stem for p in select_instances(paths, names=["gdb3", "gdb2"])] == ["gdb3", "gdb2"]
