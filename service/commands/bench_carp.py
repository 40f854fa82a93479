"""`gunmane bench carp DIR`: solve CARP/MCGRP benchmark instances and print the gap table."""

from __future__ import annotations

import argparse

from bench.carp import BenchRow, format_table, run_folder
from optimizer.arc_routing import BACKENDS
from service.commands._bench_args import add_run_arguments, run_bench


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``carp`` subcommand."""
    parser = subparsers.add_parser(
        "carp",
        help="arc routing benchmark (CARPLIB .dat and MCGRP files) against best known values",
    )
    add_run_arguments(parser, backends=BACKENDS, default_seed=0)
    parser.add_argument(
        "--instances", nargs="+", metavar="NAME", default=None, help="only these (file stems)"
    )
    parser.add_argument(
        "--every", type=int, default=None, metavar="N", help="every N-th instance (1st, N+1-th...)"
    )
    parser.set_defaults(handler=_run)


def _progress_line(row: BenchRow) -> str:
    gap = "" if row.gap is None else f"{row.gap:.2f} %"
    bound = "" if row.bound_gap is None else f", {row.bound_gap:.2f} % above bound {row.bound}"
    return f"{row.instance}: {row.cost} ({gap}{bound}) in {row.seconds:.1f} s"


def _run(args: argparse.Namespace) -> int:
    try:
        return _run_selected(args)
    except ValueError as exc:  # --instances naming files that are not there, or a bad --every
        print(exc)
        return 2


def _run_selected(args: argparse.Namespace) -> int:
    return run_bench(
        args,
        run_folder=run_folder,
        format_table=format_table,
        progress_line=_progress_line,
        patterns="*.dat",
        settings=(f"backend {args.backend}, {args.time_limit:g} s per instance, seed {args.seed}"),
        ok=lambda rows: all(r.feasible for r in rows),
        backend=args.backend,
        instances=args.instances,
        every=args.every,
    )
