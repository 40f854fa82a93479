"""bench.service_load: the in-process timing loop calls the app and rejects failing reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.service_load import in_process_ms
from service import crud
from service.db import get_engine, migrate, session_scope


def test_in_process_ms_times_a_read_and_refuses_errors(tmp_path: Path) -> None:
    """A gis key reads the OGC collections (a positive mean); an unknown key stops the loop."""
    url = f"sqlite:///{tmp_path / 'bench.sqlite'}"
    migrate(url)
    with session_scope(get_engine(url)) as session:
        gis = crud.create_api_key(session=session, role="gis", name="bench")[1]
    assert in_process_ms(url, "/ogc/collections?f=json", gis, repeat=5) > 0
    with pytest.raises(RuntimeError, match="status 401"):
        in_process_ms(url, "/ogc/collections", "gm_00000000_unknown", repeat=5)
