"""Shared argument set and runner of the `gunmane bench` instance-folder commands."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

RowT = TypeVar("RowT")


def add_run_arguments(
    parser: argparse.ArgumentParser,
    *,
    backends: Sequence[str] | None = None,
    default_seed: int | None = None,
) -> None:
    """Add FOLDER, --time-limit, --seed, (--backend,) --limit and --solutions to ``parser``.

    ``--seed`` is required unless ``default_seed`` is given."""
    parser.add_argument("folder", type=Path, help="instance folder (searched recursively) or file")
    parser.add_argument("--time-limit", type=float, required=True, help="seconds per instance")
    parser.add_argument(
        "--seed",
        type=int,
        required=default_seed is None,
        default=default_seed,
        help="random seed" + ("" if default_seed is None else f" (default {default_seed})"),
    )
    if backends is not None:
        parser.add_argument("--backend", choices=backends, default="auto", help="solver backend")
    parser.add_argument("--limit", type=int, default=None, help="only the first N instances")
    parser.add_argument(
        "--solutions", type=Path, default=None, help="write one JSON solution per instance here"
    )


def run_bench(
    args: argparse.Namespace,
    *,
    run_folder: Callable[..., list[RowT]],
    format_table: Callable[[list[RowT]], str],
    progress_line: Callable[[RowT], str],
    patterns: str,
    settings: str,
    ok: Callable[[list[RowT]], bool] = lambda rows: True,
    **solver_options: object,
) -> int:
    """Run ``run_folder`` on ``args.folder``, printing one line per instance, then the table.

    Exit code 2 when the folder is missing or holds no instances (``patterns`` names the
    files looked for), 1 when ``ok`` rejects the rows, else 0. ``settings`` heads the table.
    """
    if not args.folder.exists():
        print(f"no such folder or file: {args.folder}")
        return 2

    def progress(row: RowT) -> None:
        print(progress_line(row), flush=True)

    rows = run_folder(
        args.folder,
        seconds=args.time_limit,
        seed=args.seed,
        solutions=args.solutions,
        limit=args.limit,
        on_row=progress,
        **solver_options,
    )
    if not rows:
        print(f"no instances ({patterns}) under {args.folder}")
        return 2
    print(f"\n{args.folder}: {settings}\n")
    print(format_table(rows))
    return 0 if ok(rows) else 1
