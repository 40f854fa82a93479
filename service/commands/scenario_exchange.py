"""`gunmane scenario import|export`: scenarios in and out of the database as TOML + files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gis_data.loading.errors import AssetValidationError, ConfigError
from service.config import get_settings
from service.db import get_engine, migrate, session_scope
from service.errors import ServiceError
from service.scenario_exchange import ExchangeError, export_scenario, import_scenario_source


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `import` and `export` to the `scenario` group."""
    p = subparsers.add_parser(
        "import",
        help="store a scenario TOML with its files (a folder or a zip of one)",
        description=(
            "Load and validate the scenario (every problem of every file at once), then store"
            " it: municipalities with boundaries and populations, one layer per asset file,"
            " depots, the road network and the planning settings (settings.toml beside it)."
            " Prints the new scenario id."
        ),
    )
    p.add_argument("source", type=Path, help="folder holding scenario.toml, or a .zip of one")
    p.set_defaults(handler=run_import)
    p = subparsers.add_parser(
        "export",
        help="write a stored scenario as scenario.toml + files in a zip",
        description=(
            "Write scenario.toml, boundaries.geojson, one GeoJSON per asset layer, the road"
            " network file and settings.toml into a zip that `gunmane scenario import` reads"
            " back (the same plans for the same seed)."
        ),
    )
    p.add_argument("scenario_id", type=int, help="the stored scenario")
    p.add_argument("--out", type=Path, required=True, help="the zip to write")
    p.set_defaults(handler=run_export)


def run_import(args: argparse.Namespace) -> int:
    """Store the scenario and print its id."""
    settings = get_settings()
    migrate(settings.DATABASE_URL)
    try:
        with session_scope(get_engine(settings.DATABASE_URL)) as session:
            scenario = import_scenario_source(
                session=session, settings=settings, source=args.source
            )
            scenario_id = scenario.id
    except AssetValidationError as exc:
        print(f"{args.source.name}: {len(exc.problems)} problem(s); nothing was stored")
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    except (ConfigError, ExchangeError, ServiceError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(scenario_id)
    return 0


def run_export(args: argparse.Namespace) -> int:
    """Write the zip and print its path."""
    settings = get_settings()
    try:
        with session_scope(get_engine(settings.DATABASE_URL)) as session:
            export_scenario(session=session, scenario_id=args.scenario_id, out=args.out)
    except (ExchangeError, ServiceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(args.out)
    return 0
