"""Stored scenarios: municipalities with boundaries, depot kinds, road network source, settings.

Revision ID: 0006_stored_scenarios
Revises: 0005_patrol_days
Create Date: 2026-12-05 21:30:00
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from service.geometry import GeometryType

revision: str = "0006_stored_scenarios"
down_revision: str | None = "0005_patrol_days"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json(value: Any) -> Any:
    # SQLite hands JSON columns back as text through a plain select.
    return json.loads(value) if isinstance(value, str) else value


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "municipalities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scenario_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("population", sa.Float(), nullable=True),
        sa.Column("population_year", sa.Integer(), nullable=True),
        sa.Column("geom", GeometryType(), nullable=True),
        sa.Column("minx", sa.Float(), nullable=True),
        sa.Column("miny", sa.Float(), nullable=True),
        sa.Column("maxx", sa.Float(), nullable=True),
        sa.Column("maxy", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["scenario_id"], ["scenarios.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scenario_id", "code", name="uq_municipalities_code"),
    )
    with op.batch_alter_table("municipalities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_municipalities_scenario_id"), ["scenario_id"], unique=False
        )
    op.create_table(
        "road_networks",
        sa.Column("scenario_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("file_name", sa.String(length=300), nullable=False),
        sa.Column("file_path", sa.Text(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["scenario_id"], ["scenarios.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("scenario_id"),
    )
    op.create_table(
        "planning_settings",
        sa.Column("scenario_id", sa.Integer(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["scenario_id"], ["scenarios.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("scenario_id"),
    )
    with op.batch_alter_table("depots", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=20), nullable=False, server_default="town")
        )
    bind = op.get_bind()
    # Existing rows: the depot kind was kept in properties; municipalities in the JSON list.
    for depot_id, properties in bind.execute(sa.text("SELECT id, properties FROM depots")):
        kind = (_json(properties) or {}).get("kind")
        if kind in ("town", "contractor"):
            bind.execute(
                sa.text("UPDATE depots SET kind = :kind WHERE id = :id"),
                {"kind": kind, "id": depot_id},
            )
    rows = bind.execute(sa.text("SELECT id, municipalities FROM scenarios")).all()
    for scenario_id, municipalities in rows:
        seen: set[str] = set()
        for position, item in enumerate(_json(municipalities) or []):
            code = str(item.get("code") or "")
            if not code or code in seen:
                continue
            seen.add(code)
            bind.execute(
                sa.text(
                    "INSERT INTO municipalities (scenario_id, position, code, name)"
                    " VALUES (:scenario_id, :position, :code, :name)"
                ),
                {
                    "scenario_id": scenario_id,
                    "position": position,
                    "code": code,
                    "name": str(item.get("name") or ""),
                },
            )
    if bind.dialect.name == "postgresql":
        op.create_index(
            "ix_municipalities_geom", "municipalities", ["geom"], postgresql_using="gist"
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("depots", schema=None) as batch_op:
        batch_op.drop_column("kind")
    op.drop_table("planning_settings")
    op.drop_table("road_networks")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_municipalities_geom", table_name="municipalities")
    op.drop_table("municipalities")
