"""Data version: a counter that triggers bump on every write to the tables the cached reads use.

Revision ID: 0003_data_version
Revises: 0002_workbench
Create Date: 2026-11-25 17:55:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_data_version"
down_revision: str | None = "0002_workbench"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tables behind the cached reads (routes, OGC collections, API keys); jobs are left out on
# purpose: their progress updates would empty the cache every second while a plan runs.
WATCHED = (
    "api_keys",
    "scenarios",
    "asset_layers",
    "assets",
    "depots",
    "plans",
    "regions",
    "routes",
)

# The row may vanish (a TRUNCATE in tests): it comes back at a random start, so a process
# still holding entries of an earlier version cannot mistake the new one for it.
_SQLITE_BUMP = (
    "INSERT INTO data_version (id, version) VALUES (1, abs(random() % 1000000000000))"
    " ON CONFLICT (id) DO UPDATE SET version = data_version.version + 1"
)
_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION gunmane_bump_data_version() RETURNS trigger AS $$
BEGIN
    INSERT INTO data_version (id, version) VALUES (1, (random() * 1e12)::bigint)
    ON CONFLICT (id) DO UPDATE SET version = data_version.version + 1;
    RETURN NULL;
END $$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "data_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO data_version (id, version) VALUES (1, 1)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        for table in WATCHED:
            # Once per statement: a bulk insert of assets bumps the counter once.
            op.execute(
                f"CREATE TRIGGER {table}_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE"
                f" ON {table} FOR EACH STATEMENT EXECUTE FUNCTION gunmane_bump_data_version()"
            )
        return
    for table in WATCHED:
        for event in ("INSERT", "UPDATE", "DELETE"):
            # SQLite has row triggers only.
            op.execute(
                f"CREATE TRIGGER {table}_data_version_{event.lower()} AFTER {event} ON {table}"
                f" BEGIN {_SQLITE_BUMP}; END"
            )


def downgrade() -> None:
    """Revert this revision."""
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in WATCHED:
        if postgres:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_data_version ON {table}")
            continue
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_data_version_{event}")
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS gunmane_bump_data_version()")
    op.drop_table("data_version")
