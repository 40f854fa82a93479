"""`gunmane keys create|list|revoke`: API keys per role; the secret is shown once, a hash kept."""

from __future__ import annotations

import argparse

from service import auth, crud
from service.config import get_settings
from service.db import get_engine, migrate, session_scope
from service.errors import ServiceError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `keys` with `create`, `list` and `revoke`."""
    p = subparsers.add_parser("keys", help="create, list and revoke API keys")
    sub = p.add_subparsers(dest="keys_command", metavar="WHAT")
    create = sub.add_parser("create", help="create a key and print it (shown only once)")
    create.add_argument("--role", required=True, choices=auth.ROLES, help="the key's role")
    create.add_argument(
        "--region",
        type=int,
        action="append",
        default=[],
        metavar="ID",
        help="region id a contractor key may read (repeatable; required for contractors)",
    )
    create.add_argument("--name", default="", help="a label for the key")
    create.set_defaults(handler=run_create)
    listing = sub.add_parser("list", help="list keys (never their secrets)")
    listing.set_defaults(handler=run_list)
    revoke = sub.add_parser("revoke", help="deactivate a key")
    revoke.add_argument("id", type=int, help="key id (from `keys list`)")
    revoke.set_defaults(handler=run_revoke)


def run_create(args: argparse.Namespace) -> int:
    """Create a key; 2 when the role or regions are refused."""
    url = get_settings().DATABASE_URL
    migrate(url)
    try:
        with session_scope(get_engine(url)) as session:
            row, key = crud.create_api_key(
                session=session, role=args.role, name=args.name, region_ids=args.region
            )
            key_id = row.id
    except ServiceError as exc:
        print(f"error: {exc.user_msg}")
        return 2
    regions = f" regions {args.region}" if args.region else ""
    print(f"key {key_id} ({args.role}{regions}): {key}")
    return 0


def run_list(_args: argparse.Namespace) -> int:
    """Print the keys."""
    url = get_settings().DATABASE_URL
    migrate(url)
    with session_scope(get_engine(url)) as session:
        rows = crud.list_api_keys(session=session)
        print(f"{'id':>4}  {'role':<10} {'prefix':<9} {'active':<6} regions  name")
        for row in rows:
            print(
                f"{row.id:>4}  {row.role:<10} {row.prefix:<9} {'yes' if row.active else 'no':<6}"
                f" {row.region_ids!s:<8} {row.name}"
            )
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    """Deactivate a key; 2 when unknown."""
    url = get_settings().DATABASE_URL
    try:
        with session_scope(get_engine(url)) as session:
            crud.revoke_api_key(session=session, key_id=args.id)
    except ServiceError as exc:
        print(f"error: {exc.user_msg}")
        return 2
    print(f"key {args.id} revoked")
    return 0
