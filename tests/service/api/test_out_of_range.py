"""Ids beyond the database's integer range are the client's error (422), never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

HUGE = 2**70


@pytest.mark.parametrize(
    "path",
    [
        "/patrol-days/week?region_id={n}",
        "/patrol-days/2026-05-11/crews/1/gpx?region_id={n}",
        "/plans/{n}",
        "/scenarios/{n}",
    ],
)
def test_a_huge_id_is_a_422_with_a_code(
    client: TestClient, api: str, admin: dict[str, str], path: str
) -> None:
    response = client.get(api + path.format(n=HUGE), headers=admin)
    # Either the id is refused as out of range or simply not found: never a server error.
    assert response.status_code in (404, 422), response.text
    body = response.json()
    assert body["code"] in ("number-out-of-range", "not-found", "invalid-request")


def test_the_out_of_range_answer_names_the_problem(
    client: TestClient, api: str, admin: dict[str, str]
) -> None:
    response = client.get(f"{api}/patrol-days/week?region_id={HUGE}", headers=admin)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "number-out-of-range"
