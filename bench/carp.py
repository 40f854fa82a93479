"""CARP/MCGRP benchmark: readers for CARPLIB `.dat` and MCGRP files, best known values, runs, table.

Formats and cost conventions are described in ``../shared/bench/carp/FORMAT.md``. Every instance is
read into `CarpData` (nodes labelled with the instance's own 1-based numbers) plus an ``offset`` so
that ``reported cost = checker cost + offset`` follows the convention of the set's best known
values. CARPLIB sets treat the fleet as unlimited (``count=None``), as the literature does;
MCGRP files bound it by their ``#Vehicles`` field (-1: unlimited), as their optima assume.
"""

from __future__ import annotations

import contextlib
import csv
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.process_memory import TreePeak
from optimizer.arc_routing import solve_arc_routing
from optimizer.carp_data import CarpData, CarpModel, TaskKind
from optimizer.carp_solution import CarpSolution, Route, Service
from optimizer.checker import check_solution
from optimizer.lower_bound import carp_lower_bound
from optimizer.shortest_paths import service_nodes
from optimizer.stop import MaxRuntime

_EDGE_RE = re.compile(
    r"\(\s*(\d+)\s*,\s*(\d+)\s*\)\s*coste\s+(\d+)(?:\s+demanda\s+(\d+))?", re.IGNORECASE
)


class InstanceFormatError(ValueError):
    """A benchmark file does not follow its format; the message names the file and line."""


@dataclass(frozen=True, eq=False)
class CarpInstance:
    """A benchmark instance: its data and how its costs are reported."""

    name: str
    path: Path
    fmt: str  # "carplib" or "mcgrp"
    data: CarpData
    offset: int = 0

    def reported_cost(self, checker_cost: int) -> int:
        """The cost in the convention of the set's best known values."""
        return checker_cost + self.offset


def _int(value: str, path: Path, lineno: int, field: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise InstanceFormatError(
            f"{path}:{lineno}: field {field!r} must be an integer, got {value.strip()!r}"
        ) from None


def read_carplib(path: Path) -> CarpInstance:
    """Read a CARPLIB ``.dat`` file (gdb, val, bmcv, kshs)."""
    path = Path(path)
    header: dict[str, tuple[str, int]] = {}
    required: list[tuple[int, int, int, int, int]] = []  # u, v, cost, demand, line
    others: list[tuple[int, int, int, int]] = []
    section = ""
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        match = _EDGE_RE.search(line)
        if match:
            u, v, c = int(match[1]), int(match[2]), int(match[3])
            if section == "LISTA_ARISTAS_REQ":
                if match[4] is None:
                    raise InstanceFormatError(f"{path}:{lineno}: required edge without 'demanda'")
                required.append((u, v, c, int(match[4]), lineno))
            elif section == "LISTA_ARISTAS_NOREQ":
                others.append((u, v, c, lineno))
            else:
                raise InstanceFormatError(f"{path}:{lineno}: edge outside an edge list")
            continue
        if ":" in line:
            key, _, value = line.partition(":")
            key = key.strip().upper()
            if key.startswith("LISTA_ARISTAS"):
                section = key
            else:
                header[key] = (value, lineno)
            continue
        raise InstanceFormatError(f"{path}:{lineno}: cannot read {line[:40]!r}")
    for key in ("VERTICES", "CAPACIDAD", "DEPOSITO", "ARISTAS_REQ"):
        if key not in header:
            raise InstanceFormatError(f"{path}: missing header field {key!r}")

    def number(key: str) -> int:
        value, lineno = header[key]
        return _int(value, path, lineno, key)

    n = number("VERTICES")
    if len(required) != number("ARISTAS_REQ"):
        raise InstanceFormatError(
            f"{path}: ARISTAS_REQ says {number('ARISTAS_REQ')} but {len(required)} are listed"
        )
    name = header.get("NOMBRE", (path.stem, 0))[0].strip() or path.stem
    model = CarpModel(name=name)
    for i in range(n):
        model.add_node(str(i + 1))
    for u, v, c, lineno in [*((*r[:3], r[4]) for r in required), *others]:
        if not (1 <= u <= n and 1 <= v <= n):
            raise InstanceFormatError(f"{path}:{lineno}: node outside 1..{n}")
        model.add_link(u - 1, v - 1, c, both_ways=True)
    for k, (u, v, c, q, _) in enumerate(required):
        model.add_required_edge(u - 1, v - 1, serve_cost=c, demand=q, label=f"E{k + 1}")
    depot = number("DEPOSITO")
    if not 1 <= depot <= n:
        raise InstanceFormatError(f"{path}:{header['DEPOSITO'][1]}: depot {depot} outside 1..{n}")
    model.add_vehicle_type(depot - 1, capacity=number("CAPACIDAD"))
    return CarpInstance(name=path.stem, path=path, fmt="carplib", data=model.data())


def read_mcgrp(path: Path) -> CarpInstance:
    """Read an MCGRP file (bhw, cbmix, dinearp, mggdb, mgval).

    Service costs (``S. COST``) are the tasks' serve costs; the offset turns the total into the
    reporting convention (traversal + deadheading, without service costs).
    """
    path = Path(path)
    header: dict[str, tuple[str, int]] = {}
    rows: dict[str, list[tuple[list[str], int]]] = {"N": [], "E": [], "NrE": [], "A": [], "NrA": []}
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if ":" in line:
            key, _, value = line.partition(":")
            header[key.strip()] = (value, lineno)
            continue
        parts = line.split()
        found = re.match(r"(NrE|NrA|N|E|A)(\d+)$", parts[0])
        if found is None:
            continue  # column titles and trailing free text
        # A required node is named by its node number ("N4"): keep that number as a field.
        fields = [found[2], *parts[1:]] if found[1] == "N" else parts[1:]
        rows[found[1]].append((fields, lineno))
    for key in ("Capacity", "Depot Node", "#Nodes"):
        if key not in header:
            raise InstanceFormatError(f"{path}: missing header field {key!r}")

    def number(key: str) -> int:
        value, lineno = header[key]
        return _int(value, path, lineno, key)

    n = number("#Nodes")
    name = header.get("Name", (path.stem, 0))[0].strip() or path.stem
    model = CarpModel(name=name)
    for i in range(n):
        model.add_node(str(i + 1))
    width = {"N": 3, "E": 5, "NrE": 3, "A": 5, "NrA": 3}
    values: dict[str, list[tuple[list[int], int]]] = {}
    for tag, items in rows.items():
        values[tag] = []
        for parts, lineno in items:
            if len(parts) < width[tag]:
                after = width[tag] - (tag == "N")
                raise InstanceFormatError(
                    f"{path}:{lineno}: a {tag} line needs {after} numbers after its name"
                )
            nums = [_int(p, path, lineno, tag) for p in parts[: width[tag]]]
            for node in nums[: 1 if tag == "N" else 2]:
                if not 1 <= node <= n:
                    raise InstanceFormatError(f"{path}:{lineno}: node {node} outside 1..{n}")
            values[tag].append((nums, lineno))
    expected = {"N": "#Required N", "E": "#Required E", "A": "#Required A"}
    for tag, key in expected.items():
        if key in header and number(key) != len(values[tag]):
            raise InstanceFormatError(
                f"{path}: {key} says {number(key)} but {len(values[tag])} are listed"
            )
    offset = 0
    for (u, v, c, *_), _ in values["E"] + values["NrE"]:
        model.add_link(u - 1, v - 1, c, both_ways=True)
    for (u, v, c, *_), _ in values["A"] + values["NrA"]:
        model.add_link(u - 1, v - 1, c)
    for (node, q, s), _ in values["N"]:
        model.add_required_node(node - 1, serve_cost=s, demand=q, label=f"N{node}")
        offset -= s
    for k, ((u, v, c, q, s), _) in enumerate(values["E"]):
        model.add_required_edge(u - 1, v - 1, serve_cost=s, demand=q, label=f"E{k + 1}")
        offset += c - s
    for k, ((u, v, c, q, s), _) in enumerate(values["A"]):
        model.add_required_arc(u - 1, v - 1, serve_cost=s, demand=q, label=f"A{k + 1}")
        offset += c - s
    depot = number("Depot Node")
    if not 1 <= depot <= n:
        raise InstanceFormatError(f"{path}:{header['Depot Node'][1]}: depot outside 1..{n}")
    # MCGRP optima are stated for at most "#Vehicles" vehicles (-1: unlimited).
    vehicles = number("#Vehicles") if "#Vehicles" in header else -1
    model.add_vehicle_type(
        depot - 1, capacity=number("Capacity"), count=vehicles if vehicles > 0 else None
    )
    return CarpInstance(name=path.stem, path=path, fmt="mcgrp", data=model.data(), offset=offset)


def read_instance(path: Path) -> CarpInstance:
    """Read a CARPLIB or MCGRP file, telling them apart by their first keyword."""
    path = Path(path)
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                first = line.strip().upper()
                break
        else:
            raise InstanceFormatError(f"{path}: empty file")
    if first.startswith("NOMBRE"):
        return read_carplib(path)
    if first.startswith("NAME"):
        return read_mcgrp(path)
    raise InstanceFormatError(f"{path}:1: neither CARPLIB (NOMBRE) nor MCGRP (Name:) format")


def _natural_key(path: Path) -> list[object]:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", str(path))]


def find_instances(folder: Path) -> list[Path]:
    """Instance files (``*.dat``) in ``folder`` and its subfolders, in natural order."""
    folder = Path(folder)
    if folder.is_file():
        return [folder]
    return sorted(folder.rglob("*.dat"), key=_natural_key)


def load_bks(folder: Path) -> dict[str, tuple[int | None, bool]]:
    """Best known values by instance name from the nearest ``bks.csv`` in ``folder`` or a parent.

    Values are (bks or None, proven optimal). Empty when no file is found.
    """
    folder = Path(folder).resolve()
    if folder.is_file():
        folder = folder.parent
    for candidate in [folder, *folder.parents]:
        path = candidate / "bks.csv"
        if path.is_file():
            out: dict[str, tuple[int | None, bool]] = {}
            with path.open(encoding="utf-8", newline="") as handle:
                for lineno, row in enumerate(csv.DictReader(handle), start=2):
                    value = (row.get("bks") or "").strip()
                    out[row["instance"]] = (
                        _int(value, path, lineno, "bks") if value else None,
                        (row.get("optimal") or "").strip() == "yes",
                    )
            return out
    return {}


def solution_json(instance: CarpInstance, solution: CarpSolution, cost: int) -> dict[str, object]:
    """The solution file: routes of services in the instance's own 1-based vertex numbers."""
    data = instance.data
    kinds = {TaskKind.NODE: "node", TaskKind.EDGE: "edge", TaskKind.ARC: "arc"}
    routes = []
    for route in solution.routes:
        steps = []
        for service in route.services:
            start, end = service_nodes(data, service)
            steps.append(
                {
                    "kind": kinds[TaskKind(int(data.task_kind[service.task]))],
                    "from": int(data.node_label(start)),
                    "to": int(data.node_label(end)),
                }
            )
        routes.append(steps)
    return {"instance": instance.name, "cost": cost, "routes": routes}


def solution_from_json(instance: CarpInstance, payload: dict[str, object]) -> CarpSolution:
    """Rebuild a solution from its JSON file (see `solution_json`) so it can be re-scored.

    Each step is matched to an unused task of its kind and end nodes; an edge step given as
    ``to -> from`` of the stored edge is served in reverse. Raises ValueError for a step that
    matches no task.
    """
    data = instance.data
    index = {data.node_label(i): i for i in range(data.num_nodes)}
    free: dict[tuple[str, int, int], list[int]] = {}
    kinds = {TaskKind.NODE: "node", TaskKind.EDGE: "edge", TaskKind.ARC: "arc"}
    for t in range(data.num_tasks):
        key = (kinds[TaskKind(int(data.task_kind[t]))], int(data.task_u[t]), int(data.task_v[t]))
        free.setdefault(key, []).append(t)
    routes = []
    raw_routes = payload.get("routes")
    if not isinstance(raw_routes, list):
        raise ValueError(f"{instance.name}: 'routes' must be a list")
    for r, steps in enumerate(raw_routes):
        services = []
        for s, step in enumerate(steps):
            kind = str(step["kind"])
            u, v = index[str(step["from"])], index[str(step["to"])]
            if free.get((kind, u, v)):
                services.append(Service(free[(kind, u, v)].pop(0), reverse=False))
            elif kind == "edge" and free.get((kind, v, u)):
                services.append(Service(free[(kind, v, u)].pop(0), reverse=True))
            else:
                raise ValueError(f"{instance.name}: route {r} step {s} matches no unserved task")
        routes.append(Route(vehicle_type=0, services=tuple(services)))
    return CarpSolution(routes=tuple(routes))


@dataclass(frozen=True)
class BenchRow:
    """One line of the benchmark table (``bound``: the project's own lower bound, same units)."""

    instance: str
    cost: int | None
    bks: int | None
    feasible: bool
    seconds: float
    bound: int | None = None
    peak_mb: float | None = None
    tree_mb: float | None = None  # sampled peak PSS of the solving process and its workers

    @property
    def gap(self) -> float | None:
        """Gap to the best known value in percent (None when either is missing)."""
        if self.cost is None or not self.bks:
            return None
        return 100.0 * (self.cost - self.bks) / self.bks

    @property
    def bound_gap(self) -> float | None:
        """Gap to the project's lower bound in percent (None when either is missing)."""
        if self.cost is None or not self.bound:
            return None
        return 100.0 * (self.cost - self.bound) / self.bound


def _reset_peak_memory() -> None:
    """Restart the kernel's peak resident size count of this process (Linux; elsewhere a no-op)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5", encoding="ascii")


def peak_memory_mb() -> float | None:
    """Peak resident size of this process since the last reset, in MiB (None off Linux)."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def run_instance(
    instance: CarpInstance,
    *,
    seconds: float,
    seed: int,
    backend: str = "auto",
    bks: int | None = None,
    solutions: Path | None = None,
) -> BenchRow:
    """Solve one instance, score it through the checker and bound it from below.

    ``seconds`` covers the solve only; the lower bound is computed after it (not timed; its
    cutting-plane LP gets as long as the solve, at least 10 s, and stops earlier when it
    stalls). Peak memory: this process's VmHWM, and the sampled peak PSS of it with its workers.
    """
    _reset_peak_memory()
    started = time.perf_counter()
    with TreePeak() as tree:
        result = solve_arc_routing(
            instance.data,
            stop=MaxRuntime(seconds),
            seed=seed,
            backend=backend,  # type: ignore[arg-type]
        )
    elapsed = time.perf_counter() - started
    peak = peak_memory_mb()
    bound = instance.reported_cost(
        carp_lower_bound(instance.data, cut_seconds=max(10.0, seconds)).value
    )
    if result.solution is None:
        return BenchRow(instance.name, None, bks, False, elapsed, bound, peak, tree.mb)
    report = check_solution(instance.data, result.solution)
    cost = instance.reported_cost(report.cost)
    if solutions is not None:
        solutions.mkdir(parents=True, exist_ok=True)
        payload = solution_json(instance, result.solution, cost)
        (solutions / f"{instance.name}.json").write_text(json.dumps(payload), encoding="utf-8")
    return BenchRow(instance.name, cost, bks, report.feasible, elapsed, bound, peak, tree.mb)


def format_table(rows: list[BenchRow]) -> str:
    """A Markdown table with a closing line of means."""
    lines = [
        "| instance | cost | best known | lower bound | gap % | gap to bound % | seconds "
        "| peak MiB | tree MiB | feasible |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]

    def num(value: float | None, fmt: str) -> str:
        return "" if value is None else format(value, fmt)

    for r in rows:
        lines.append(
            f"| {r.instance} | {num(r.cost, 'd')} | {num(r.bks, 'd')} | {num(r.bound, 'd')} | "
            f"{num(r.gap, '.2f')} | {num(r.bound_gap, '.2f')} | {r.seconds:.1f} | "
            f"{num(r.peak_mb, '.0f')} | {num(r.tree_mb, '.0f')} | {'yes' if r.feasible else 'NO'} |"
        )
    gaps = [r.gap for r in rows if r.gap is not None]
    bound_gaps = [r.bound_gap for r in rows if r.bound_gap is not None]
    mean_gap = f"{sum(gaps) / len(gaps):.2f}" if gaps else ""
    mean_bound_gap = f"{sum(bound_gaps) / len(bound_gaps):.2f}" if bound_gaps else ""
    mean_s = sum(r.seconds for r in rows) / len(rows) if rows else 0.0
    feasible = sum(r.feasible for r in rows)
    lines.append(
        f"| mean ({len(rows)} instances, {len(gaps)} with best known) | | | | {mean_gap} | "
        f"{mean_bound_gap} | {mean_s:.1f} | | | {feasible}/{len(rows)} |"
    )
    return "\n".join(lines)


def select_instances(
    paths: list[Path],
    *,
    names: list[str] | None = None,
    every: int | None = None,
    limit: int | None = None,
) -> list[Path]:
    """The instance files to run: those named (file stem, in the given order), then every N-th
    of the rest (the first, the (N+1)-th, ...), then the first ``limit``.

    Raises ValueError naming the instances that are not found, all at once.
    """
    if names:
        by_stem = {p.stem: p for p in paths}
        missing = [n for n in names if n not in by_stem]
        if missing:
            raise ValueError(f"instances not found: {', '.join(missing)}")
        paths = [by_stem[n] for n in names]
    if every is not None:
        if every < 1:
            raise ValueError(f"--every must be >= 1, got {every}")
        paths = paths[::every]
    if limit is not None:
        paths = paths[:limit]
    return paths


def run_folder(
    folder: Path,
    *,
    seconds: float,
    seed: int,
    backend: str = "auto",
    solutions: Path | None = None,
    limit: int | None = None,
    on_row: Callable[[BenchRow], None] | None = None,
    instances: list[str] | None = None,
    every: int | None = None,
) -> list[BenchRow]:
    """Run the instances found under ``folder``, selected by `select_instances`."""
    paths = select_instances(find_instances(folder), names=instances, every=every, limit=limit)
    bks = load_bks(folder)
    rows = []
    for path in paths:
        instance = read_instance(path)
        known = bks.get(instance.name, (None, False))[0]
        row = run_instance(
            instance, seconds=seconds, seed=seed, backend=backend, bks=known, solutions=solutions
        )
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows


CARP_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "bench" / "carp"

# The quick suite of `python -m bench`: (folder under CARP_DIR, first N instances or None for all).
QUICK_SETS: tuple[tuple[str, int | None], ...] = (("gdb", None), ("mcgrp/mggdb", 6))


def main(argv: list[str]) -> int:
    """Quick routing suite: every gdb and a few mggdb instances, a short time limit each."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench carp")
    parser.add_argument("--time-limit", type=float, default=2.0, help="seconds per instance")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backend", default="auto")
    args = parser.parse_args(argv)
    if not CARP_DIR.is_dir():
        print(f"skipped: {CARP_DIR} is absent")
        return 0
    status = 0
    for folder, limit in QUICK_SETS:
        rows = run_folder(
            CARP_DIR / folder,
            seconds=args.time_limit,
            seed=args.seed,
            backend=args.backend,
            limit=limit,
        )
        print(f"{folder}: backend {args.backend}, {args.time_limit:g} s per instance")
        print(format_table(rows))
        status = max(status, 0 if all(r.feasible for r in rows) else 1)
    return status
