"""Workbench and survey pages: rendered in Japanese and English from the stored data."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gis_data.workbench.intake import template_xlsx
from service.db import session_scope
from service.importer import import_scenario
from tests.service.grid_scenario import write_grid_scenario


@pytest.fixture
def grid_id(engine: Engine, tmp_path: Path) -> int:
    """The two-town grid scenario stored from its TOML."""
    with session_scope(engine) as session:
        return import_scenario(session=session, config=write_grid_scenario(tmp_path / "grid")).id


def test_workbench_page_shows_intake_matrix_and_surveys(
    client: TestClient, api: str, planner: dict[str, str], grid_id: int
) -> None:
    """The page lists staff, the ordering matrix with flags, surveys; charts load by ?key=.

    (TestClient sends no `Accept: text/html`, so `?key=` is not exchanged for the cookie.)
    """
    key = planner["X-API-Key"]
    files = [("files", ("workbench.xlsx", template_xlsx(), "application/octet-stream"))]
    assert (
        client.post(
            f"{api}/scenarios/{grid_id}/workbench/intake", files=files, headers=planner
        ).status_code
        == 201
    )
    client.post(
        f"{api}/scenarios/{grid_id}/surveys",
        json={"name": "capacity", "audience": "contractor", "recipients": ["A"]},
        headers=planner,
    )
    ja = client.get(f"/workbench?scenario={grid_id}&key={key}")
    assert ja.status_code == 200, ja.text
    assert "検討ワークベンチ" in ja.text
    assert "Aville" in ja.text
    assert "✕2" in ja.text  # the road patrol's two failed tenders
    assert "capacity" in ja.text
    assert "© OpenStreetMap contributors" in ja.text
    en = client.get(f"/workbench?scenario={grid_id}&lang=en&key={key}")
    assert "Current state (staff and working time)" in en.text
    assert "How many contracts?" in en.text
    for name in ("age_pyramid", "time_split"):
        png = client.get(f"/workbench/{grid_id}/charts/{name}.png?key={key}")
        assert png.content[:4] == b"\x89PNG"
    assert client.get(f"/workbench/template.xlsx?key={key}").content[:2] == b"PK"
    assert client.get(f"/workbench?scenario={grid_id}").status_code == 401


def test_survey_page_shows_only_the_recipients_own_answers(
    client: TestClient, api: str, planner: dict[str, str], grid_id: int
) -> None:
    """Each link's page is prefilled with its own answers; unknown links are 404."""
    made = client.post(
        f"{api}/scenarios/{grid_id}/surveys",
        json={"name": "staff survey", "audience": "staff", "recipients": ["Sato", "Suzuki"]},
        headers=planner,
    ).json()
    token_a, token_b = (link["token"] for link in made["links"])
    answer = {"town": "T2", "years": 17, "patrol_hours_month": 31, "main_burden": "counter",
              "comments": "secret-of-sato"}  # fmt: skip
    assert client.post(f"{api}/survey/{token_a}", json=answer).status_code == 200
    page_a = client.get(f"/survey/{token_a}")
    assert page_a.status_code == 200
    assert "secret-of-sato" in page_a.text
    assert 'value="17"' in page_a.text
    page_b = client.get(f"/survey/{token_b}?lang=en")
    assert "Suzuki" in page_b.text
    assert "Sato" not in page_b.text
    assert "secret-of-sato" not in page_b.text
    assert "Your municipality" in page_b.text
    assert page_b.headers["referrer-policy"] == "no-referrer"
    assert client.get(f"/survey/{'x' * 43}").status_code == 404


def test_rows_entered_in_the_page_are_checked_and_stored(
    client: TestClient, api: str, planner: dict[str, str], grid_id: int
) -> None:
    """The page's staff form sends strings per column; good rows are stored, bad ones named."""
    key = planner["X-API-Key"]
    row = {"municipality_code": "T2", "municipality": "Beetown", "age_under30": "1",
           "age_30s": "0", "age_40s": "2", "age_50s": "1", "age_60plus": "",
           "actual_planning": "10", "actual_inspection": "30", "actual_works": "10",
           "actual_maintenance": "40", "actual_counter": "10", "ideal_planning": "20",
           "ideal_inspection": "20", "ideal_works": "20", "ideal_maintenance": "20",
           "ideal_counter": "20"}  # fmt: skip
    url = f"{api}/scenarios/{grid_id}/workbench/intake"
    bad = client.put(url, json={"staff": [{**row, "ideal_counter": "35"}]}, headers=planner)
    assert bad.status_code == 422
    assert [(d["row"], d["column"], d["message"]) for d in bad.json()["details"]] == [
        (2, "age_60plus", "required"),
        (2, "ideal_planning..ideal_counter", "the shares must add up to 100"),
    ]
    good = client.put(url, json={"staff": [{**row, "age_60plus": "0"}]}, headers=planner)
    assert good.status_code == 200
    page = client.get(f"/workbench?scenario={grid_id}&key={key}").text
    assert 'name="age_40s" type="number" min="0" step="1" size="3" value="2"' in page
    assert "Beetown" in page
