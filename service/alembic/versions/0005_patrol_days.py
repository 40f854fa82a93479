"""Patrol days: routes indexed by region and service date; days marked unavailable.

Revision ID: 0005_patrol_days
Revises: 0003_data_version
Create Date: 2026-12-05 21:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_patrol_days"
down_revision: str | None = "0003_data_version"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_BUMP = (
    "INSERT INTO data_version (id, version) VALUES (1, abs(random() % 1000000000000))"
    " ON CONFLICT (id) DO UPDATE SET version = data_version.version + 1"
)


def upgrade() -> None:
    """Apply this revision."""
    # A year of stored days: a contractor's read is one region and one date.
    op.create_index("ix_routes_region_date", "routes", ["region_id", "service_date"])
    op.create_table(
        "patrol_day_marks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scenario_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("crew", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_plan_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["scenario_id"], ["scenarios.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["region_id"], ["regions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by"], ["api_keys.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["applied_plan_id"], ["plans.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_patrol_day_marks_scenario_id", "patrol_day_marks", ["scenario_id"], unique=False
    )
    op.create_index(
        "ix_patrol_day_marks_region_date", "patrol_day_marks", ["region_id", "service_date"]
    )
    # The week view (a cached read) shows the marks: writes bump the data version.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER patrol_day_marks_data_version AFTER INSERT OR UPDATE OR DELETE OR"
            " TRUNCATE ON patrol_day_marks FOR EACH STATEMENT EXECUTE FUNCTION"
            " gunmane_bump_data_version()"
        )
        return
    for event in ("INSERT", "UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER patrol_day_marks_data_version_{event.lower()} AFTER {event}"
            f" ON patrol_day_marks BEGIN {_SQLITE_BUMP}; END"
        )


def downgrade() -> None:
    """Revert this revision."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS patrol_day_marks_data_version ON patrol_day_marks")
    else:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS patrol_day_marks_data_version_{event}")
    op.drop_index("ix_patrol_day_marks_region_date", table_name="patrol_day_marks")
    op.drop_index("ix_patrol_day_marks_scenario_id", table_name="patrol_day_marks")
    op.drop_table("patrol_day_marks")
    op.drop_index("ix_routes_region_date", table_name="routes")
