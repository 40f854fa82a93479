"""The `gunmane` command line: one subcommand per module in `service.commands`."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

# (group or None, module under service.commands). A group such as "plan" or "bench" collects
# subcommands (`gunmane plan routes`); each module's `register(subparsers)` adds its parsers.
COMMAND_MODULES: list[tuple[str | None, str]] = [
    (None, "load"),
    (None, "demo"),
    (None, "serve"),
    (None, "keys"),
    (None, "db"),
    ("bench", "bench_carp"),
    ("bench", "bench_cpmp"),
    ("plan", "plan_regions"),
    ("plan", "plan_routes"),
    ("plan", "plan_calendar"),
    ("plan", "plan_effects"),
    ("plan", "plan_shares"),
    ("scenario", "scenario_exchange"),
    (None, "report"),
    (None, "workbench"),
]


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="gunmane",
        description="Bundled infrastructure maintenance across municipalities (群マネ).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    groups: dict[str, argparse._SubParsersAction[argparse.ArgumentParser]] = {}
    for group, module_name in COMMAND_MODULES:
        module = importlib.import_module(f"service.commands.{module_name}")
        if group is None:
            module.register(sub)
            continue
        if group not in groups:
            group_parser = sub.add_parser(group, help=f"{group} subcommands")
            groups[group] = group_parser.add_subparsers(dest=f"{group}_command", metavar="WHAT")
        module.register(groups[group])
    return parser


# Our packages print progress at INFO; libraries (Dask, osmnx, urllib3, ...) only warnings,
# unless -v asks for everything.
OWN_LOGGERS = ("service", "gis_data", "optimizer", "bench")


def configure_logging(*, verbose: bool) -> None:
    """Readable terminal output: our progress lines, the libraries' warnings (all with -v)."""
    if not verbose:
        # Read by Dask when `distributed` is first imported: no INFO flood from the cluster.
        os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.INFO)
    if not verbose:
        # `distributed` may already be imported (its own handlers): quiet it here too.
        for name in ("distributed", "dask"):
            logging.getLogger(name).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    words = list(sys.argv[1:] if argv is None else argv)
    configure_logging(verbose=bool({"-v", "--verbose"} & set(words)))
    parser = build_parser()
    args = parser.parse_args(words)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    return int(handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
