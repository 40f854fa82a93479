"""Database tables: scenarios (towns, depots, road network, settings), assets, plans, jobs, keys."""

from __future__ import annotations

import datetime as dt
from typing import Any

from shapely.geometry.base import BaseGeometry
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from service.geometry import GeometryType


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timestamps stored in UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        """Convert to UTC before storing."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        """Mark naive values as UTC."""
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    """Declarative base of every table."""

    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}  # noqa: RUF012


class Scenario(Base):
    """One candidate way of bundling: municipalities, sources and settings."""

    __tablename__ = "scenarios"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # Municipalities as [{"code": "...", "name": "..."}].
    municipalities: Mapped[list[Any]] = mapped_column(default=list)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Path of the scenario TOML it was loaded from, if any (never returned by the API).
    source_config: Mapped[str | None] = mapped_column(Text, default=None)
    # Optimistic concurrency: every update bumps it; a stale version is refused.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    layers: Mapped[list[AssetLayer]] = relationship(
        back_populates="scenario", cascade="all, delete-orphan", passive_deletes=True
    )


class MunicipalityRow(Base):
    """A municipality of a scenario: code, name, population (with its year) and boundary.

    The rows follow the scenario's `municipalities` list (kept in sync by `crud`); the boundary
    comes from `PUT /scenarios/{id}/boundaries` or a scenario TOML import.
    """

    __tablename__ = "municipalities"

    id: Mapped[int] = mapped_column(primary_key=True)
    scenario_id: Mapped[int] = mapped_column(
        ForeignKey("scenarios.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200), default="")
    population: Mapped[float | None] = mapped_column(Float, default=None)
    population_year: Mapped[int | None] = mapped_column(Integer, default=None)
    geom: Mapped[BaseGeometry | None] = mapped_column(GeometryType(), default=None)
    minx: Mapped[float | None] = mapped_column(Float, default=None)
    miny: Mapped[float | None] = mapped_column(Float, default=None)
    maxx: Mapped[float | None] = mapped_column(Float, default=None)
    maxy: Mapped[float | None] = mapped_column(Float, default=None)

    __table_args__ = (UniqueConstraint("scenario_id", "code", name="uq_municipalities_code"),)


class RoadNetworkSource(Base):
    """Where a scenario's road network comes from, so that every job rebuilds the same graph.

    `file_path` is a content-addressed copy (sha256) of the OSM file under the data folder, never
    shown to clients; `options` holds the build options (buffer, layer id, column mapping,
    speeds) and `summary` what the last successful build reported.
    """

    __tablename__ = "road_networks"

    scenario_id: Mapped[int] = mapped_column(
        ForeignKey("scenarios.id", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str] = mapped_column(String(20))  # osm | layer | layer+osm
    file_name: Mapped[str] = mapped_column(String(300), default="")
    file_path: Mapped[str | None] = mapped_column(Text, default=None)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class PlanningSettingsRow(Base):
    """A scenario's planning settings: the tables of a plan settings TOML as JSON."""

    __tablename__ = "planning_settings"

    scenario_id: Mapped[int] = mapped_column(
        ForeignKey("scenarios.id", ondelete="CASCADE"), primary_key=True
    )
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class AssetLayer(Base):
    """One uploaded or loaded source of assets in a scenario."""

    __tablename__ = "asset_layers"

    id: Mapped[int] = mapped_column(primary_key=True)
    scenario_id: Mapped[int] = mapped_column(
        ForeignKey("scenarios.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(300))
    municipality_code: Mapped[str] = mapped_column(String(20), default="")
    municipality: Mapped[str] = mapped_column(String(200), default="")
    field: Mapped[str] = mapped_column(String(20), default="")
    kind: Mapped[str] = mapped_column(String(100), default="")
    feature_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    scenario: Mapped[Scenario] = relationship(back_populates="layers")


class Asset(Base):
    """One asset (road segment, river bank, park, ...) in EPSG:4326 with its bounding box."""

    __tablename__ = "assets"

    id: Mapped[int] = mapped_column(primary_key=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id", ondelete="CASCADE"))
    layer_id: Mapped[int | None] = mapped_column(
        ForeignKey("asset_layers.id", ondelete="CASCADE"), index=True, default=None
    )
    asset_id: Mapped[str] = mapped_column(String(200))
    municipality_code: Mapped[str] = mapped_column(String(20), default="")
    municipality: Mapped[str] = mapped_column(String(200), default="")
    field: Mapped[str] = mapped_column(String(20), default="")
    kind: Mapped[str] = mapped_column(String(100), default="")
    name: Mapped[str] = mapped_column(String(300), default="")
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    geom: Mapped[BaseGeometry] = mapped_column(GeometryType())
    # Bounding box columns serve bbox queries on SQLite; PostGIS uses its GiST index.
    minx: Mapped[float] = mapped_column(Float)
    miny: Mapped[float] = mapped_column(Float)
    maxx: Mapped[float] = mapped_column(Float)
    maxy: Mapped[float] = mapped_column(Float)

    __table_args__ = (
        Index("ix_assets_scenario_id_id", "scenario_id", "id"),
        Index("ix_assets_bbox", "minx", "maxx", "miny", "maxy"),
    )


class Depot(Base):
    """A town yard or a contractor's yard that crews start from."""

    __tablename__ = "depots"

    id: Mapped[int] = mapped_column(primary_key=True)
    scenario_id: Mapped[int] = mapped_column(
        ForeignKey("scenarios.id", ondelete="CASCADE"), index=True
    )
    depot_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300), default="")
    municipality_code: Mapped[str] = mapped_column(String(20), default="")
    kind: Mapped[str] = mapped_column(String(20), default="town")  # town | contractor
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    geom: Mapped[BaseGeometry] = mapped_column(GeometryType("POINT"))
    minx: Mapped[float] = mapped_column(Float)
    miny: Mapped[float] = mapped_column(Float)
    maxx: Mapped[float] = mapped_column(Float)
    maxy: Mapped[float] = mapped_column(Float)


class Plan(Base):
    """The stored result of a planning job (regions, routes, calendar, effects or cost shares)."""

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    scenario_id: Mapped[int] = mapped_column(
        ForeignKey("scenarios.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(40))
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Results that are not geometries (calendar, effects, cost shares, evaluation figures).
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    job_id: Mapped[str | None] = mapped_column(String(40), default=None, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StopCheckPhoto(Base):
    """The photo a crew took of a stop it ticked done by hand, kept with that patrol log.

    The bytes are stored as uploaded (evidence for answering claims), in the database so that
    they live and go with the scenario on SQLite and PostgreSQL alike.
    """

    __tablename__ = "stop_check_photos"

    plan_id: Mapped[int] = mapped_column(
        ForeignKey("plans.id", ondelete="CASCADE"), primary_key=True
    )
    content_type: Mapped[str] = mapped_column(String(40))
    file_name: Mapped[str] = mapped_column(String(300), default="")
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Region(Base):
    """A contract region of a plan: the municipalities it covers and its outline."""

    __tablename__ = "regions"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    scenario_id: Mapped[int] = mapped_column(
        ForeignKey("scenarios.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(300), default="")
    municipalities: Mapped[list[Any]] = mapped_column(default=list)
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    geom: Mapped[BaseGeometry | None] = mapped_column(GeometryType(), default=None)
    minx: Mapped[float | None] = mapped_column(Float, default=None)
    miny: Mapped[float | None] = mapped_column(Float, default=None)
    maxx: Mapped[float | None] = mapped_column(Float, default=None)
    maxy: Mapped[float | None] = mapped_column(Float, default=None)


class Route(Base):
    """One crew's patrol route on one day in one region."""

    __tablename__ = "routes"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    scenario_id: Mapped[int] = mapped_column(
        ForeignKey("scenarios.id", ondelete="CASCADE"), index=True
    )
    region_id: Mapped[int | None] = mapped_column(
        ForeignKey("regions.id", ondelete="CASCADE"), index=True, default=None
    )
    crew: Mapped[str] = mapped_column(String(100), default="1")
    day: Mapped[int] = mapped_column(Integer, default=0)
    service_date: Mapped[dt.date | None] = mapped_column(Date, default=None, index=True)
    # Figures (km, minutes, ...) and the ordered step list.
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    steps: Mapped[list[Any]] = mapped_column(default=list)
    geom: Mapped[BaseGeometry | None] = mapped_column(GeometryType(), default=None)
    minx: Mapped[float | None] = mapped_column(Float, default=None)
    miny: Mapped[float | None] = mapped_column(Float, default=None)
    maxx: Mapped[float | None] = mapped_column(Float, default=None)
    maxy: Mapped[float | None] = mapped_column(Float, default=None)

    __table_args__ = (Index("ix_routes_region_day", "region_id", "day", "crew"),)


class Job(Base):
    """An OGC API - Processes job: status, progress, inputs and where its results went."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    process_id: Mapped[str] = mapped_column(String(60))
    scenario_id: Mapped[int | None] = mapped_column(
        ForeignKey("scenarios.id", ondelete="SET NULL"), index=True, default=None
    )
    status: Mapped[str] = mapped_column(String(20), default="accepted", index=True)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    inputs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("plans.id", ondelete="SET NULL"), default=None
    )
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class ApiKey(Base):
    """An API key: its role and, for contractors, the regions it may read. Only a hash is kept."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))
    # The public first characters of the key, to find the row before checking the hash.
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    salt: Mapped[str] = mapped_column(String(64))
    key_hash: Mapped[str] = mapped_column(String(128))
    region_ids: Mapped[list[Any]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
