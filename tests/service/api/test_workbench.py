"""Workbench API: template import (bad cells, nothing stored), surveys by link, frontier job."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine, select

from gis_data.workbench.intake import template_xlsx
from service.db import session_scope
from service.importer import import_scenario
from service.workbench_models import SurveyRecipient, WorkbenchIntake, token_hash
from tests.service.grid_scenario import write_grid_scenario


@pytest.fixture
def grid_id(engine: Engine, tmp_path: Path) -> int:
    """The two-town grid scenario (T1, T2) stored from its TOML."""
    with session_scope(engine) as session:
        return import_scenario(session=session, config=write_grid_scenario(tmp_path / "grid")).id


def _xlsx(edits: dict[tuple[str, int, int], object]) -> bytes:
    book = load_workbook(io.BytesIO(template_xlsx()))
    for (sheet, row, col), value in edits.items():
        book[sheet].cell(row=row, column=col, value=value)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _upload(client: TestClient, url: str, headers: dict[str, str], data: bytes):
    files = [("files", ("workbench.xlsx", data, "application/octet-stream"))]
    return client.post(url, files=files, headers=headers)


def test_template_import_bad_cells_store_nothing(
    client: TestClient, api: str, planner: dict[str, str], grid_id: int, engine: Engine
) -> None:
    """422 names every bad cell by sheet/row/column and stores nothing; a good file is stored."""
    template = client.get(f"{api}/workbench/template.xlsx", headers=planner)
    assert template.status_code == 200
    assert template.content[:2] == b"PK"
    url = f"{api}/scenarios/{grid_id}/workbench/intake"
    bad = _xlsx({("staff", 2, 3): "many", ("ordering", 2, 3): "bridge", ("staff", 2, 1): "T9"})
    response = _upload(client, url, planner, bad)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "invalid-intake"
    cells = {(d["sheet"], d["row"], d["column"]) for d in body["details"]}
    assert cells == {
        ("staff", 2, "age_under30"),
        ("ordering", 2, "field"),
        ("staff", 2, "municipality_code"),
    }
    with session_scope(engine) as session:
        assert session.scalars(select(WorkbenchIntake)).all() == []
    good = _upload(client, url, planner, template.content)
    assert good.status_code == 201, good.text
    view = client.get(f"{api}/scenarios/{grid_id}/workbench", headers=planner).json()
    assert view["intake"]["staff_total"] == 8
    # The example's road patrol failed to find bidders twice: suggested for the bundle.
    assert view["intake"]["scope"]["road"] == ["巡回"]
    assert view["intake"]["matrix"][0]["cells"][4]["failing"]
    chart = client.get(
        f"{api}/scenarios/{grid_id}/workbench/charts/age_pyramid.png", headers=planner
    )
    assert chart.content[:4] == b"\x89PNG"
    # Web-form entry runs the same checks.
    put = client.put(
        url, json={"ordering": [{"department": "x", "municipality_code": "T2"}]}, headers=planner
    )
    assert put.status_code == 422
    assert {d["column"] for d in put.json()["details"]} == {
        "field", "process", "method", "annual_cost_yen"
    }  # fmt: skip


def test_survey_links_read_only_their_own_answers(
    client: TestClient, api: str, planner: dict[str, str], grid_id: int, engine: Engine
) -> None:
    """Each link opens its own recipient only; unknown links are 404; tokens are stored hashed."""
    made = client.post(
        f"{api}/scenarios/{grid_id}/surveys",
        json={"name": "capacity", "audience": "contractor", "recipients": ["A建設", "B土木"]},
        headers=planner,
    )
    assert made.status_code == 201, made.text
    links = made.json()["links"]
    token_a, token_b = links[0]["token"], links[1]["token"]
    assert links[0]["url"].endswith(f"/survey/{token_a}")
    answers_a = {"firm": "A建設", "employees": 20, "crews": 3, "towns": ["T1", "T2"],
                 "jv_interest": "yes", "cooperative_interest": "no"}  # fmt: skip
    saved = client.post(f"{api}/survey/{token_a}", json=answers_a)
    assert saved.status_code == 200, saved.text
    # B's link shows B (unanswered), never A's answers.
    seen_b = client.get(f"{api}/survey/{token_b}").json()
    assert seen_b["recipient"] == "B土木"
    assert seen_b["answers"] is None
    assert "A建設" not in str(seen_b["answers"])
    seen_a = client.get(f"{api}/survey/{token_a}").json()
    assert seen_a["answers"]["crews"] == 3
    # Bad answers list every problem and change nothing.
    bad = client.post(f"{api}/survey/{token_b}", json={"crews": -1, "towns": ["T9"]})
    assert bad.status_code == 422
    assert client.get(f"{api}/survey/{token_b}").json()["answers"] is None
    # Guessed, altered or recipient-id links are 404.
    for guess in (
        token_a[:-1] + ("A" if token_a[-1] != "A" else "B"),
        "1",
        str(links[1]["recipient_id"]),
    ):
        assert client.get(f"{api}/survey/{guess}").status_code == 404
    with session_scope(engine) as session:
        stored = session.scalars(select(SurveyRecipient.token_hash)).all()
    assert token_a not in stored
    assert token_hash(token_a) in stored
    # The planner sees the tally and the export, not the links.
    survey_id = made.json()["id"]
    detail = client.get(f"{api}/surveys/{survey_id}", headers=planner).json()
    assert detail["answered"] == 1
    assert token_a not in str(detail)
    crews = next(t for t in detail["tally"] if t["key"] == "crews")
    assert crews["sum"] == 3.0
    csv_text = client.get(f"{api}/surveys/{survey_id}/export.csv", headers=planner)
    assert "A建設" in csv_text.content.decode("utf-8-sig")
    # The survey API needs a planner key; the answer endpoints need none.
    assert client.get(f"{api}/surveys/{survey_id}").status_code == 401
    view = client.get(f"{api}/scenarios/{grid_id}/workbench", headers=planner).json()
    assert view["size_limit_crews"] == 3


def test_frontier_job_runs_through_the_plans_api(
    client: TestClient, api: str, planner: dict[str, str], grid_id: int
) -> None:
    """POST /plans/frontier runs the sweep on Dask and stores rows for k = 1..2 both variants."""
    response = client.post(
        f"{api}/scenarios/{grid_id}/plans/frontier",
        json={"parameters": {"max_k": 2, "region_iterations": 10, "iterations": 5}},
        headers=planner,
    )
    assert response.status_code == 201, response.text
    job_url = response.headers["Location"]
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        job = client.get(job_url, headers=planner).json()
        if job["status"] in ("successful", "failed", "dismissed"):
            break
        time.sleep(0.2)
    assert job["status"] == "successful", job["message"]
    result = client.get(f"{job_url}/results", headers=planner).json()
    rows = result["frontier"]["rows"]
    assert [(r["k"], r["whole_towns"]) for r in rows] == [
        (1, True),
        (2, True),
        (1, False),
        (2, False),
    ]
    for r in rows:
        if r["feasible"]:
            assert r["largest_workload_h"] >= r["total_workload_h"] / r["k"] - 0.01
    plan_id = job["plan_id"]
    png = client.get(f"{api}/plans/{plan_id}/frontier.png", headers=planner)
    assert png.content[:4] == b"\x89PNG"
    page = client.get(f"/workbench?scenario={grid_id}&lang=en&key={planner['X-API-Key']}")
    assert 'id="frontier-table"' in page.text
    assert f"/workbench/frontier/{plan_id}.png" in page.text
    assert page.text.count("Cross-border") >= 2


def _job(client: TestClient, api: str, headers: dict[str, str], sid: int, kind: str, params: dict):
    response = client.post(
        f"{api}/scenarios/{sid}/plans/{kind}", json={"parameters": params}, headers=headers
    )
    assert response.status_code == 201, response.text
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        job = client.get(response.headers["Location"], headers=headers).json()
        if job["status"] in ("successful", "failed", "dismissed"):
            return job
        time.sleep(0.2)
    raise AssertionError("job did not finish")


def test_survey_capacity_sets_the_regions_size_limit(
    client: TestClient, api: str, planner: dict[str, str], grid_id: int
) -> None:
    """A regions job with size_limit=largest uses the surveyed firms' crews as its limit."""
    params = {"k": 1, "straight_line": True, "size_limit": "largest", "time_limit": 2}
    failed = _job(client, api, planner, grid_id, "regions", params)
    assert failed["status"] == "failed"
    assert "contractor surveys" in failed["message"]
    made = client.post(
        f"{api}/scenarios/{grid_id}/surveys",
        json={"name": "capacity", "audience": "contractor", "recipients": ["A"]},
        headers=planner,
    ).json()
    answers = {"firm": "A", "employees": 5, "crews": 2, "towns": ["T1", "T2"],
               "jv_interest": "no", "cooperative_interest": "no"}  # fmt: skip
    assert client.post(f"{api}/survey/{made['links'][0]['token']}", json=answers).status_code == 200
    done = _job(client, api, planner, grid_id, "regions", params)
    assert done["status"] == "successful", done["message"]
    result = client.get(f"{api}/jobs/{done['jobID']}/results", headers=planner).json()
    assert '"within_size_limit": true' in json.dumps(result)
