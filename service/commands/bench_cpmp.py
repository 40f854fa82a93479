"""`gunmane bench cpmp DIR`: solve capacitated p-median instances and print the gap table."""

from __future__ import annotations

import argparse

from bench.cpmp import BenchRow, format_table, run_folder
from service.commands._bench_args import add_run_arguments, run_bench


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``cpmp`` subcommand."""
    parser = subparsers.add_parser(
        "cpmp", help="capacitated p-median benchmark (OR-Library, Lorena-Senne, Stefanello)"
    )
    add_run_arguments(parser)
    parser.set_defaults(handler=_run)


def _progress_line(row: BenchRow) -> str:
    gap = "" if row.gap is None else f"{row.gap:.3f} %"
    return f"{row.instance}: {row.cost:.2f} ({gap}) in {row.seconds:.1f} s"


def _run(args: argparse.Namespace) -> int:
    return run_bench(
        args,
        run_folder=run_folder,
        format_table=format_table,
        progress_line=_progress_line,
        patterns="*.txt, *.dat",
        settings=f"{args.time_limit:g} s per instance, seed {args.seed}",
    )
