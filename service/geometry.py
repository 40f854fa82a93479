"""Geometry column type: PostGIS `geometry(…, 4326)` on PostgreSQL, WKT text on SQLite."""

from __future__ import annotations

from typing import Any

import shapely
from geoalchemy2 import Geometry
from geoalchemy2.elements import WKBElement
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

SRID = 4326


class GeometryType(TypeDecorator[BaseGeometry]):
    """Shapely geometries in EPSG:4326, stored natively by PostGIS and as WKT elsewhere."""

    impl = Text
    cache_ok = True
    # Read by GeoAlchemy2's DDL hooks: the migration makes the GiST index itself.
    spatial_index = False

    def __init__(self, geometry_type: str = "GEOMETRY") -> None:
        super().__init__()
        self.geometry_type = geometry_type

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """PostGIS column on PostgreSQL; the spatial index is made by the migration."""
        # GeoAlchemy2's DDL hooks probe this with dialect=None; plain text keeps them out.
        if getattr(dialect, "name", None) == "postgresql":
            return dialect.type_descriptor(
                Geometry(geometry_type=self.geometry_type, srid=SRID, spatial_index=False)
            )
        return Text()

    def process_bind_param(self, value: BaseGeometry | None, dialect: Dialect) -> str | None:
        """EWKT for PostGIS (its text input casts to geometry), WKT for SQLite."""
        if value is None:
            return None
        if dialect.name == "postgresql":
            return f"SRID={SRID};{value.wkt}"
        return str(value.wkt)

    def process_result_value(self, value: Any, dialect: Dialect) -> BaseGeometry | None:
        """Back to shapely from (E)WKB hex, a WKBElement or WKT."""
        if value is None:
            return None
        if isinstance(value, WKBElement):
            return shapely.from_wkb(bytes(value.data))
        if isinstance(value, memoryview | bytes):
            return shapely.from_wkb(bytes(value))
        text_value = str(value)
        if dialect.name == "postgresql":
            return shapely.from_wkb(text_value)
        return shapely.from_wkt(text_value)
