"""`gunmane bench carp DIR`: solve CARP/MCGRP benchmark instances and print the gap table."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.carp import BenchRow, format_table, run_folder
from optimizer.arc_routing import BACKENDS


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``carp`` subcommand."""
    parser = subparsers.add_parser(
        "carp",
        help="arc routing benchmark (CARPLIB .dat and MCGRP files) against best known values",
    )
    parser.add_argument("folder", type=Path, help="instance folder (searched recursively) or file")
    parser.add_argument("--time-limit", type=float, required=True, help="seconds per instance")
    parser.add_argument("--seed", type=int, required=True, help="random seed")
    parser.add_argument("--backend", choices=BACKENDS, default="auto", help="solver backend")
    parser.add_argument("--limit", type=int, default=None, help="only the first N instances")
    parser.add_argument(
        "--solutions", type=Path, default=None, help="write one JSON solution per instance here"
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    if not args.folder.exists():
        print(f"no such folder or file: {args.folder}")
        return 2

    def progress(row: BenchRow) -> None:
        gap = "" if row.gap is None else f"{row.gap:.2f} %"
        print(f"{row.instance}: {row.cost} ({gap}) in {row.seconds:.1f} s", flush=True)

    rows = run_folder(
        args.folder,
        seconds=args.time_limit,
        seed=args.seed,
        backend=args.backend,
        solutions=args.solutions,
        limit=args.limit,
        on_row=progress,
    )
    if not rows:
        print(f"no instances (*.dat) under {args.folder}")
        return 2
    print(
        f"\n{args.folder}: backend {args.backend}, {args.time_limit:g} s per instance, "
        f"seed {args.seed}\n"
    )
    print(format_table(rows))
    return 0 if all(r.feasible for r in rows) else 1
