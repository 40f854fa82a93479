"""`gunmane serve`: migrate the database and serve the API with uvicorn."""

from __future__ import annotations

import argparse
import logging

from service.config import get_settings
from service.db import migrate

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `serve` subcommand."""
    p = subparsers.add_parser("serve", help="serve the API, pages and OGC API - Features")
    add_server_arguments(p)
    p.set_defaults(handler=run)


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """--host and --port (shared with `gunmane demo`)."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (8000)")


def serve(host: str, port: int) -> None:
    """Run uvicorn with the app until interrupted."""
    import uvicorn

    from service.main import create_app

    uvicorn.run(create_app(get_settings()), host=host, port=port, log_level="info")


def run(args: argparse.Namespace) -> int:
    """Migrate, then serve."""
    migrate(get_settings().DATABASE_URL)
    serve(args.host, args.port)
    return 0
