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
