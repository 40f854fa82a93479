"""`gunmane demo`: load the four-town demo scenario (gis_data/demo) and print its summary."""

from __future__ import annotations

import argparse
from pathlib import Path

import gis_data.demo
from gis_data.load import load_scenario
from service.commands.load import print_scenario

DEMO_DIR = Path(gis_data.demo.__file__).resolve().parent
DEMO_CONFIG = DEMO_DIR / "four_towns.toml"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `demo` subcommand."""
    p = subparsers.add_parser(
        "demo",
        help="load the demo scenario (four Liechtenstein towns) and print its summary",
        description="Load gis_data/demo/four_towns.toml (or --config) and print the asset summary.",
    )
    p.add_argument("--config", type=Path, default=DEMO_CONFIG, help="scenario TOML to load")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Load the demo scenario and print the summary (errors propagate: the demo must be valid)."""
    print_scenario(load_scenario(args.config))
    print()
    print("Data © OpenStreetMap contributors (ODbL 1.0), see gis_data/demo/SOURCES.md")
    return 0
