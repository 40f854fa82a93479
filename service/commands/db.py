"""`gunmane db upgrade`: migrate the database (SQLite or PostGIS) to the newest schema."""

from __future__ import annotations

import argparse

from sqlalchemy.engine import make_url

from service.config import get_settings
from service.db import migrate


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `db` with its `upgrade` subcommand."""
    p = subparsers.add_parser("db", help="database maintenance")
    sub = p.add_subparsers(dest="db_command", metavar="WHAT")
    up = sub.add_parser(
        "upgrade",
        help="apply the migrations (DATABASE_URL; default a SQLite file in ./var)",
    )
    up.add_argument("--revision", default="head", help="target revision (head)")
    up.set_defaults(handler=run_upgrade)


def run_upgrade(args: argparse.Namespace) -> int:
    """Migrate the configured database."""
    url = get_settings().DATABASE_URL
    migrate(url, args.revision)
    print(f"database {make_url(url).render_as_string()} is at {args.revision}")
    return 0
