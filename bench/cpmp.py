"""Capacitated p-median benchmark: instance reader (OR-Library, Lorena-Senne, spain737) and table.

Distance conventions follow ``../shared/bench/cpmp/FORMAT.md``: floored Euclidean for the
OR-Library ``pmedcap`` files, real Euclidean for the Lorena-Senne/Stefanello files, and the
``spain.grd`` matrix for ``spain737_*``. Best values come from the ``optima.csv`` found in the
instance folder or one of its parents.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from optimizer.errors import InfeasibleError
from optimizer.p_median import PMedianData, PMedianResult, solve_p_median
from optimizer.stop import MaxRuntime

_SUFFIXES = (".txt", ".dat")
DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "shared" / "bench" / "cpmp"


class InstanceFormatError(ValueError):
    """An instance file does not follow the expected format; the message names file and line."""


@dataclass(frozen=True)
class CpmpInstance:
    """One benchmark instance: its name, source path and problem data."""

    name: str
    path: Path
    data: PMedianData


@dataclass(frozen=True)
class Optimum:
    """A row of ``optima.csv``: best known value and whether it is proved optimal."""

    best: float
    proved_optimal: str


def _numbers(path: Path, line_no: int, line: str, count: int) -> list[float]:
    parts = line.split()
    if len(parts) < count:
        raise InstanceFormatError(f"{path}: line {line_no}: expected {count} numbers, got {line!r}")
    try:
        return [float(v) for v in parts[:count]]
    except ValueError as exc:
        raise InstanceFormatError(f"{path}: line {line_no}: not a number in {line!r}") from exc


def _lines(path: Path) -> list[tuple[int, str]]:
    text = path.read_text(encoding="utf-8", errors="replace")
    return [(k + 1, ln) for k, ln in enumerate(text.splitlines()) if ln.strip()]


def read_orlib(path: Path) -> PMedianData:
    """Read an OR-Library ``pmedcap`` block (format A): floored Euclidean distances."""
    lines = _lines(path)
    if len(lines) < 2:
        raise InstanceFormatError(f"{path}: too short for an OR-Library pmedcap block")
    no, hdr = lines[1]
    n_f, p_f, q_f = _numbers(path, no, hdr, 3)
    n, p, q = int(n_f), int(p_f), int(q_f)
    rows = lines[2 : 2 + n]
    if len(rows) != n:
        raise InstanceFormatError(f"{path}: header says {n} nodes, found {len(rows)} node lines")
    vals = np.array([_numbers(path, k, ln, 4) for k, ln in rows])
    return PMedianData(
        demands=vals[:, 3].astype(np.int64),
        capacities=np.full(n, q, dtype=np.int64),
        p=p,
        coordinates=vals[:, 1:3],
        distance="floor",
    )


def read_format_b(path: Path, matrix: np.ndarray | None = None) -> PMedianData:
    """Read a ``n p`` + ``x y capacity demand`` file (format B); matrix overrides distances."""
    lines = _lines(path)
    if not lines:
        raise InstanceFormatError(f"{path}: empty file")
    no, hdr = lines[0]
    n_f, p_f = _numbers(path, no, hdr, 2)
    n, p = int(n_f), int(p_f)
    rows = lines[1 : 1 + n]
    if len(rows) != n:
        raise InstanceFormatError(f"{path}: header says {n} nodes, found {len(rows)} node lines")
    vals = np.array([_numbers(path, k, ln, 4) for k, ln in rows])
    demands, caps = vals[:, 3], vals[:, 2]
    if matrix is not None:
        if matrix.shape != (n, n):
            raise InstanceFormatError(f"{path}: distance matrix is {matrix.shape}, need {n}x{n}")
        return PMedianData(demands=demands, capacities=caps, p=p, cost=matrix)
    return PMedianData(demands=demands, capacities=caps, p=p, coordinates=vals[:, :2])


def read_grd(path: Path) -> np.ndarray:
    """Read ``spain.grd``: n*n integers, one per line, row-major."""
    vals = np.loadtxt(path, dtype=np.float64).reshape(-1)
    n = math.isqrt(len(vals))
    if n * n != len(vals):
        raise InstanceFormatError(f"{path}: {len(vals)} values is not a square matrix")
    return vals.reshape(n, n)


def read_instance(path: Path) -> CpmpInstance:
    """Read one instance file, choosing the format and distance convention from its name."""
    name = path.stem
    if name.startswith("pmedcap"):
        data = read_orlib(path)
    elif name.startswith("spain737"):
        grd = path.parent / "spain.grd"
        if not grd.is_file():
            raise InstanceFormatError(f"{path}: needs the distance matrix {grd} beside it")
        data = read_format_b(path, read_grd(grd))
    else:
        data = read_format_b(path)
    return CpmpInstance(name, path, data)


def discover(folder: Path) -> list[Path]:
    """Instance files in ``folder`` and its subfolders, sorted by set and size."""
    found = [
        f
        for f in folder.rglob("*")
        if f.is_file() and f.suffix in _SUFFIXES and f.name not in ("spain.grd",)
    ]
    return sorted(found, key=lambda f: (str(f.parent), f.name))


def read_optima(folder: Path) -> dict[str, Optimum]:
    """The ``optima.csv`` in ``folder`` or its nearest parent holding one (empty if none)."""
    for d in (folder, *folder.parents):
        f = d / "optima.csv"
        if f.is_file():
            with f.open(encoding="utf-8") as fh:
                return {
                    row["instance"]: Optimum(float(row["best"]), row["proved_optimal"])
                    for row in csv.DictReader(fh)
                }
    return {}


@dataclass(frozen=True)
class BenchRow:
    """One line of the benchmark table."""

    instance: str
    n: int
    p: int
    cost: float
    best: float | None
    proved_optimal: bool
    seconds: float
    group: str = ""

    @property
    def gap(self) -> float | None:
        """Relative gap to the best known value in percent."""
        if self.best is None or self.best == 0:
            return None
        return 100.0 * (self.cost - self.best) / self.best


def run_instance(inst: CpmpInstance, time_limit: float, seed: int) -> PMedianResult:
    """Solve one instance under a wall-time limit."""
    return solve_p_median(inst.data, stop=MaxRuntime(time_limit), seed=seed)


def write_solution(folder: Path, inst: CpmpInstance, result: PMedianResult) -> Path:
    """Write ``{instance, cost, medians, assignment}`` as JSON (0-based point positions)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{inst.name}.json"
    out.write_text(
        json.dumps(
            {
                "instance": inst.name,
                "cost": result.cost,
                "medians": list(result.medians),
                "assignment": [int(a) for a in result.assignment],
            }
        ),
        encoding="utf-8",
    )
    return out


def format_table(rows: list[BenchRow]) -> str:
    """Markdown table: instance, n, p, cost, best, gap %, proved optimal?, seconds."""
    lines = [
        "| instance | n | p | cost | best | gap % | proved optimal? | seconds |",
        "|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in rows:
        best = "" if r.best is None else f"{r.best:.2f}"
        gap = "" if r.gap is None else f"{r.gap:.3f}"
        lines.append(
            f"| {r.instance} | {r.n} | {r.p} | {r.cost:.2f} | {best} | {gap} | "
            f"{'yes' if r.proved_optimal else 'no'} | {r.seconds:.1f} |"
        )
    groups = sorted({r.group for r in rows})
    lines.append("")
    for g in [*groups, None] if len(groups) > 1 else [None]:
        gaps = [r.gap for r in rows if r.gap is not None and (g is None or r.group == g)]
        if gaps:
            lines.append(
                f"{g or 'all'}: mean gap {sum(gaps) / len(gaps):.3f} %, worst {max(gaps):.3f} %"
                f" over {len(gaps)} instances"
            )
    return "\n".join(lines)


def run_folder(
    folder: Path,
    *,
    seconds: float,
    seed: int,
    solutions: Path | None = None,
    limit: int | None = None,
    on_row: Callable[[BenchRow], None] | None = None,
) -> list[BenchRow]:
    """Solve every instance under ``folder`` (or the one file) and return the table rows."""
    files = [folder] if folder.is_file() else discover(folder)
    if limit is not None:
        files = files[:limit]
    optima = read_optima(folder if folder.is_dir() else folder.parent)
    rows: list[BenchRow] = []
    for f in files:
        inst = read_instance(f)
        opt = optima.get(inst.name)
        started = time.perf_counter()
        try:
            result = run_instance(inst, seconds, seed)
        except InfeasibleError as exc:  # one failure must not hide the other rows
            print(f"{inst.name}: no solution: {exc}", file=sys.stderr)
            cost, proved, took = math.inf, False, time.perf_counter() - started
        else:
            if solutions is not None:
                write_solution(solutions, inst, result)
            cost, proved, took = result.cost, result.proved_optimal, result.runtime
        row = BenchRow(
            instance=inst.name,
            n=inst.data.n,
            p=inst.data.p,
            cost=cost,
            best=None if opt is None else opt.best,
            proved_optimal=proved,
            seconds=took,
            group=f.parent.name,
        )
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.cpmp [DIR]`: run the CPMP benchmark and print its table."""
    parser = argparse.ArgumentParser(prog="python -m bench.cpmp", description=__doc__)
    parser.add_argument("folder", type=Path, nargs="?", default=DEFAULT_FOLDER)
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds per instance")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="only the first N instances")
    parser.add_argument("--solutions", type=Path, default=None, help="write JSON solutions here")
    args = parser.parse_args(argv)
    if not args.folder.exists():
        print(f"no CPMP instances at {args.folder}")
        return 0
    rows = run_folder(
        args.folder,
        seconds=args.time_limit,
        seed=args.seed,
        solutions=args.solutions,
        limit=args.limit,
        on_row=lambda r: print(f"{r.instance}: {r.cost:.2f} in {r.seconds:.1f} s", flush=True),
    )
    print(f"\n{args.folder}: {args.time_limit:g} s per instance, seed {args.seed}\n")
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
