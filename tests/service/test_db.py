"""Persistence: migrations, SQLite pragmas, PostGIS geometry columns and spatial indexes."""

from __future__ import annotations

import pytest
from shapely.geometry import LineString, Point
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from service import crud
from service.db import is_postgis, migrate, session_scope
from service.models import Asset, Depot
from service.schemas import ScenarioCreate


def test_migrate_twice_is_a_no_op(db_url: str, engine: Engine) -> None:
    """Upgrading an up-to-date database changes nothing and keeps the data."""
    with session_scope(engine) as session:
        crud.create_scenario(session=session, scenario_in=ScenarioCreate(name="kept"))
    migrate(db_url)
    with session_scope(engine) as session:
        assert [s.name for s in crud.list_scenarios(session=session)[0]] == ["kept"]


def test_geometries_round_trip_and_foreign_keys(engine: Engine) -> None:
    """Shapely geometries come back equal; an asset of a missing scenario is refused."""
    line = LineString([(139.0, 35.0), (139.001, 35.0005), (139.002, 35.0)])
    with session_scope(engine) as session:
        scenario = crud.create_scenario(session=session, scenario_in=ScenarioCreate(name="g"))
        crud.add_depot(session=session, scenario_id=scenario.id, depot_id="d", geom=Point(1, 2))
        layer = crud.add_layer(
            session=session,
            scenario_id=scenario.id,
            name="l",
            features=[{"geometry": line, "asset_id": "a1"}],
        )
        layer_id = layer.id
    with session_scope(engine) as session:
        asset = session.query(Asset).filter_by(layer_id=layer_id).one()
        assert asset.geom.equals_exact(line, 1e-12)
        assert (asset.minx, asset.maxy) == (139.0, 35.0005)
        assert session.query(Depot).one().geom.equals(Point(1, 2))
    orphan = Asset(scenario_id=424242, asset_id="x", geom=line, minx=0, miny=0, maxx=0, maxy=0)
    with session_scope(engine) as session:
        session.add(orphan)
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()


def test_backend_specifics(engine: Engine) -> None:
    """SQLite runs in WAL mode; PostGIS has geometry(…, 4326) columns with GiST indexes."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert not is_postgis(engine)
            return
        assert is_postgis(engine)
        columns = conn.execute(
            text(
                "SELECT f_table_name, srid, type FROM geometry_columns"
                " WHERE f_table_schema = current_schema() ORDER BY f_table_name"
            )
        ).all()
        assert {(t, srid) for t, srid, _ in columns} == {
            ("assets", 4326),
            ("depots", 4326),
            ("municipalities", 4326),
            ("regions", 4326),
            ("routes", 4326),
        }
        assert {t: kind for t, _, kind in columns}["depots"] == "POINT"
        indexes = conn.execute(
            text(
                "SELECT tablename, indexdef FROM pg_indexes"
                " WHERE schemaname = current_schema() AND indexname LIKE 'ix_%_geom'"
            )
        ).all()
        assert {t for t, _ in indexes} == {
            "assets",
            "depots",
            "municipalities",
            "regions",
            "routes",
        }
        assert all("USING gist" in d for _, d in indexes)


def test_postgres_host_that_never_answers_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that accepts TCP but never speaks gives an OperationalError, not a hang."""
    import socket
    import threading
    import time

    from sqlalchemy.exc import OperationalError

    from service import db

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    accepted: list[socket.socket] = []

    def accept() -> None:
        try:
            while True:
                accepted.append(listener.accept()[0])
        except OSError:
            pass

    threading.Thread(target=accept, daemon=True).start()
    monkeypatch.setattr(db, "PG_CONNECT_TIMEOUT_S", 2)
    port = listener.getsockname()[1]
    engine = db.get_engine(f"postgresql+psycopg://u:p@127.0.0.1:{port}/silent")
    started = time.monotonic()
    try:
        with pytest.raises(OperationalError), engine.connect():
            pass
    finally:
        elapsed = time.monotonic() - started
        listener.close()
        for conn in accepted:
            conn.close()
        engine.dispose()
    assert accepted, "the client never reached the silent server"
    assert elapsed < 30
