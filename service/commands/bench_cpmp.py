"""`gunmane bench cpmp DIR`: solve capacitated p-median instances and print the gap table."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.cpmp import BenchRow, format_table, run_folder


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``cpmp`` subcommand."""
    parser = subparsers.add_parser(
        "cpmp", help="capacitated p-median benchmark (OR-Library, Lorena-Senne, Stefanello)"
    )
    parser.add_argument("folder", type=Path, help="instance folder (searched recursively) or file")
    parser.add_argument("--time-limit", type=float, required=True, help="seconds per instance")
    parser.add_argument("--seed", type=int, required=True, help="random seed")
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
        gap = "" if row.gap is None else f"{row.gap:.3f} %"
        print(f"{row.instance}: {row.cost:.2f} ({gap}) in {row.seconds:.1f} s", flush=True)

    rows = run_folder(
        args.folder,
        seconds=args.time_limit,
        seed=args.seed,
        solutions=args.solutions,
        limit=args.limit,
        on_row=progress,
    )
    if not rows:
        print(f"no instances (*.txt, *.dat) under {args.folder}")
        return 2
    print(f"\n{args.folder}: {args.time_limit:g} s per instance, seed {args.seed}\n")
    print(format_table(rows))
    return 0
