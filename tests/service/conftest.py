"""Service fixtures: a migrated database (SQLite, and PostGIS when configured), app, keys, Dask."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from service import crud
from service.config import Settings
from service.db import get_engine, migrate, session_scope
from service.jobs import JobRunner
from service.main import create_app

POSTGRES_URL = os.environ.get("GUNMANE_TEST_POSTGRES_URL")
_MIGRATED: set[str] = set()


def _postgres_url() -> str:
    """The PostGIS test URL, in a schema of its own per xdist worker (they run in parallel)."""
    if not POSTGRES_URL:
        pytest.skip("GUNMANE_TEST_POSTGRES_URL is not set (see .ci/postgis)")
    base = Settings(DATABASE_URL=POSTGRES_URL).DATABASE_URL
    schema = "test_" + os.environ.get("PYTEST_XDIST_WORKER", "main")
    if base not in _MIGRATED:
        with get_engine(base).begin() as conn:
            conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
        _MIGRATED.add(base)
    # PostGIS stays in `public`; tables and alembic_version go to the worker's schema.
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema},public"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgis)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: a SQLite file, or the PostGIS test database truncated."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'gunmane.sqlite'}"
        migrate(url)
        return url
    url = _postgres_url()
    if url not in _MIGRATED:
        migrate(url)
        _MIGRATED.add(url)
    with get_engine(url).begin() as conn:
        # Every table of the worker's schema (later migrations add some), but the version.
        tables = conn.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                " AND tablename <> 'alembic_version'"
            )
        ).scalars()
        names = ", ".join(sorted(tables))
        if names:
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    return url


@pytest.fixture
def engine(db_url: str) -> Engine:
    """The engine of the test database."""
    return get_engine(db_url)


@pytest.fixture(scope="session")
def runner() -> Iterator[JobRunner]:
    """One in-process Dask cluster for the session, started by the first job."""
    jobs = JobRunner(Settings(DASK_WORKERS=1, DASK_THREADS_PER_WORKER=4, DASK_PROCESSES=False))
    yield jobs
    jobs.close()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Settings pointing at the test database and a temporary data folder."""
    return Settings(DATABASE_URL=db_url, DATA_DIR=tmp_path / "data", MAX_UPLOAD_MB=2.0)


@pytest.fixture
def client(settings: Settings, runner: JobRunner) -> Iterator[TestClient]:
    """A test client of an app on the test database, sharing the session's Dask cluster."""
    app = create_app(settings, jobs_runner=runner)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def api(settings: Settings) -> str:
    """The API prefix."""
    return settings.API_PREFIX


def make_key(engine: Engine, role: str, region_ids: tuple[int, ...] = ()) -> dict[str, str]:
    """Headers carrying a new key of `role`."""
    with session_scope(engine) as session:
        _row, key = crud.create_api_key(
            session=session, role=role, name=f"test {role}", region_ids=region_ids
        )
    return {"X-API-Key": key}


@pytest.fixture
def admin(engine: Engine) -> dict[str, str]:
    """Headers of an admin key."""
    return make_key(engine, "admin")


@pytest.fixture
def planner(engine: Engine) -> dict[str, str]:
    """Headers of a planner key."""
    return make_key(engine, "planner")


@pytest.fixture
def gis(engine: Engine) -> dict[str, str]:
    """Headers of a GIS (read-only features) key."""
    return make_key(engine, "gis")
