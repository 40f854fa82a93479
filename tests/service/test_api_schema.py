"""Schemathesis against the app's OpenAPI spec, in process over ASGI: no input gives a 5xx.

A few generated requests per operation (bounded for CI) with an admin key on a fresh SQLite
database; uploads get generated multipart bodies. Job execution is left out: it would start
solves on Dask (the job tests cover it).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from service import crud
from service.config import Settings
from service.db import get_engine, migrate, session_scope
from service.jobs import JobRunner
from service.main import create_app

_TMP = Path(tempfile.mkdtemp(prefix="gunmane-schemathesis-"))
SETTINGS = Settings(
    DATABASE_URL=f"sqlite:///{_TMP / 'api.sqlite'}",
    DATA_DIR=_TMP / "data",
    MAX_UPLOAD_MB=1.0,
    RECOVER_JOBS_ON_STARTUP=False,
)
migrate(SETTINGS.DATABASE_URL)
with session_scope(get_engine(SETTINGS.DATABASE_URL)) as _session:
    _, KEY = crud.create_api_key(session=_session, role="admin", name="schemathesis")
APP = create_app(SETTINGS, jobs_runner=JobRunner(SETTINGS))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)

pytestmark = [pytest.mark.xdist_group("schemathesis"), pytest.mark.slow]


@schema.exclude(path_regex=r".*/execution$").parametrize()
@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_error(case: schemathesis.Case) -> None:
    """Whatever the generated path, query, headers and body: the answer is never a 5xx."""
    response = case.call(headers={"X-API-Key": KEY})
    assert response.status_code < 500, (case.method, case.formatted_path, response.text[:500])
