"""Every OGC API - Features / Processes error in the town's language: Japanese by default,
English when Accept-Language starts with en; the status, code and body shape do not change."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from service import crud
from service.db import session_scope
from service.jobs import PROCESSES, Process, register_process
from service.schemas import ScenarioCreate

OGC = "/ogc"
EN = {"Accept-Language": "en-GB,en;q=0.9,ja;q=0.5"}
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
# What a user-safe message never carries: a traceback, a source path, an exception's repr.
UNSAFE = re.compile(r"Traceback|File \"|\.py\b|/work/|site-packages|Error\(")


@dataclass(frozen=True)
class Case:
    """One kind of error: the request, its status and code, and words of each language."""

    name: str
    path: str
    status: int
    code: str
    ja: str
    en: str
    params: list[tuple[str, str]] = field(default_factory=list)
    method: str = "GET"
    body: dict[str, Any] | None = None


FEATURES = [
    Case("unknown collection", "/collections/nope", 404, "NotFound",
         "コレクション nope はありません", "collection 'nope' not found"),
    Case("unknown collection's items", "/collections/nope/items", 404, "NotFound",
         "コレクション nope はありません", "collection 'nope' not found"),
    Case("unknown item", "/collections/depots/items/99999", 404, "NotFound",
         "depots に地物 99999 はありません", "feature '99999' not found in depots"),
    Case("item id not a number", "/collections/assets/items/abc", 404, "NotFound",
         "assets に地物 abc はありません", "feature 'abc' not found in assets"),
    Case("bbox not numbers", "/collections/assets/items", 400, "InvalidParameterValue",
         "数値ではありません", "is not numbers", [("bbox", "a,b,c,d")]),
    Case("bbox of 3 numbers", "/collections/assets/items", 400, "InvalidParameterValue",
         "4 つまたは 6 つの数値", "needs 4 or 6 numbers", [("bbox", "1,2,3")]),
    Case("bbox latitudes", "/collections/assets/items", 400, "InvalidParameterValue",
         "緯度の順序か範囲", "latitudes out of order or range", [("bbox", "0,91,1,92")]),
    Case("bbox longitudes", "/collections/assets/items", 400, "InvalidParameterValue",
         "経度が範囲", "longitudes out of range", [("bbox", "-181,0,1,1")]),
    Case("plane bbox corners", "/collections/assets/items", 400, "InvalidParameterValue",
         "隅の順序が逆", "corners out of order",
         [("bbox", "10,10,0,0"), ("bbox-crs", "EPSG:6676")]),
    Case("bbox-crs alone", "/collections/assets/items", 400, "InvalidParameterValue",
         "bbox-crs が bbox なしで", "bbox-crs is given without bbox",
         [("bbox-crs", "EPSG:4326")]),
    Case("limit not a number", "/collections/assets/items", 400, "InvalidParameterValue",
         "limit=ten は整数ではありません", "limit='ten' is not an integer", [("limit", "ten")]),
    Case("limit below 1", "/collections/assets/items", 400, "InvalidParameterValue",
         "limit=0 は 1 以上に", "limit=0 is below 1", [("limit", "0")]),
    Case("offset below 0", "/collections/routes/items", 400, "InvalidParameterValue",
         "offset=-5 は 0 以上に", "offset=-5 is below 0", [("offset", "-5")]),
    Case("limit twice", "/collections/assets/items", 400, "InvalidParameterValue",
         "パラメータ limit が 2 回以上", "parameter 'limit' is given twice",
         [("limit", "1"), ("limit", "2")]),
    Case("datetime not RFC 3339", "/collections/routes/items", 400, "InvalidParameterValue",
         "RFC 3339 の日時ではありません", "is not RFC 3339", [("datetime", "yesterday")]),
    Case("datetime start after end", "/collections/routes/items", 400, "InvalidParameterValue",
         "開始が終了より後", "start after end", [("datetime", "2026-05-01/2026-04-01")]),
    Case("unknown parameter", "/collections/assets/items", 400, "InvalidParameterValue",
         "使えないクエリパラメータがあります: colour", "unknown query parameter(s): colour",
         [("colour", "red")]),
    Case("filter not an integer", "/collections/assets/items", 400, "InvalidParameterValue",
         "scenario_id=one は整数ではありません", "scenario_id='one' is not an integer",
         [("scenario_id", "one")]),
    Case("format", "/collections", 400, "InvalidParameterValue",
         "f=xml には対応していません", "f='xml': only json is offered", [("f", "xml")]),
]  # fmt: skip

PROCESSES_CASES = [
    Case("unknown process", "/processes/nope", 404, "no-such-process",
         "プロセス nope はありません", "process 'nope' not found"),
    Case("executing an unknown process", "/processes/nope/execution", 404, "no-such-process",
         "プロセス nope はありません", "process 'nope' not found", method="POST",
         body={"inputs": {}}),
    Case("scenario_id not an integer", "/processes/frontier/execution", 422, "invalid-input",
         "inputs.scenario_id は整数に", "inputs.scenario_id must be an integer", method="POST",
         body={"inputs": {"scenario_id": "one"}}),
    Case("unknown scenario", "/processes/frontier/execution", 404, "not-found",
         "シナリオ 999999 はありません", "scenario 999999 not found", method="POST",
         body={"inputs": {"scenario_id": 999999}}),
    Case("scenario missing", "/processes/test-lang-scenario/execution", 422, "scenario-required",
         "inputs.scenario_id は必須です", "inputs.scenario_id is required", method="POST",
         body={"inputs": {}}),
    Case("unknown job", "/jobs/0123", 404, "no-such-job",
         "ジョブ 0123 はありません", "job 0123 not found"),
    Case("results of an unknown job", "/jobs/0123/results", 404, "no-such-job",
         "ジョブ 0123 はありません", "job 0123 not found"),
    Case("dismissing an unknown job", "/jobs/0123", 404, "no-such-job",
         "ジョブ 0123 はありません", "job 0123 not found", method="DELETE"),
    Case("results of an accepted job", "/jobs/lang-accepted/results", 404, "result-not-ready",
         "まだ開始していません", "has not started yet"),
    Case("results of a running job", "/jobs/lang-running/results", 404, "result-not-ready",
         "ジョブは実行中です", "the job is still running"),
    Case("results of a failed job", "/jobs/lang-failed/results", 404, "job-failed",
         "ジョブは失敗しました: crews must be positive", "the job failed: crews must be positive"),
    Case("results of a dismissed job", "/jobs/lang-dismissed/results", 404, "job-dismissed",
         "ジョブは取り消されました", "the job was dismissed"),
]  # fmt: skip


@pytest.fixture
def needs_scenario() -> Iterator[None]:
    """A process without an input schema that needs a scenario (its function never runs)."""
    register_process(Process("test-lang-scenario", "t", "t", f"{__name__}:nothing"))
    yield
    PROCESSES.pop("test-lang-scenario", None)


@pytest.fixture
def jobs_in_each_state(client: TestClient, engine: Engine) -> None:
    """A job record in each state that has no result (no runner touches them), stored after
    the app started (its start marks jobs left accepted or running failed)."""
    with session_scope(engine) as session:
        for status in ("accepted", "running", "failed", "dismissed"):
            job = crud.create_job(
                session=session, job_id=f"lang-{status}", process_id="summary", inputs={}
            )
            job.status = status
            job.message = "crews must be positive, got 0" if status == "failed" else ""


def _answers(client: TestClient, case: Case, url: str, headers: dict[str, str]) -> list[Any]:
    """The case asked without a language, then in English."""
    answers = []
    for extra in ({}, EN):
        answers.append(
            client.request(
                case.method, url, params=case.params, json=case.body, headers={**headers, **extra}
            )
        )
    return answers


def _check(case: Case, ja: Any, en: Any, message_key: str) -> None:
    for response in (ja, en):
        assert response.status_code == case.status, (case.name, response.text)
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["code"] == case.code, case.name
    ja_text, en_text = ja.json()[message_key], en.json()[message_key]
    assert case.ja in ja_text, (case.name, ja_text)
    assert case.en in en_text, (case.name, en_text)
    assert JAPANESE.search(en_text) is None, (case.name, en_text)
    for text in (ja_text, en_text):
        assert UNSAFE.search(text) is None, (case.name, text)
    # The same keys either way: only the words change.
    assert set(ja.json()) == set(en.json()), case.name


@pytest.mark.parametrize("case", FEATURES, ids=[c.name for c in FEATURES])
def test_features_errors_follow_accept_language(
    client: TestClient, gis: dict[str, str], engine: Engine, case: Case
) -> None:
    """Japanese by default, English on Accept-Language: en; OGC body (code, description)."""
    with session_scope(engine) as session:
        crud.create_scenario(session=session, scenario_in=ScenarioCreate(name="lang"))
    ja, en = _answers(client, case, f"{OGC}{case.path}", gis)
    _check(case, ja, en, "description")
    assert set(ja.json()) == {"code", "description"}


@pytest.mark.parametrize("case", PROCESSES_CASES, ids=[c.name for c in PROCESSES_CASES])
@pytest.mark.usefixtures("needs_scenario", "jobs_in_each_state")
def test_processes_errors_follow_accept_language(
    client: TestClient, api: str, planner: dict[str, str], case: Case
) -> None:
    """Japanese by default, English on Accept-Language: en; the API's body (code, detail)."""
    ja, en = _answers(client, case, f"{api}{case.path}", planner)
    _check(case, ja, en, "detail")
    assert set(ja.json()) == {"code", "detail"}


def test_bad_process_inputs_are_named_in_each_language(
    client: TestClient, api: str, planner: dict[str, str]
) -> None:
    """400 invalid-inputs: every bad input named, its message in the caller's language (bounds,
    type, choice, unknown and missing inputs); the list of inputs is the same either way."""
    inputs = {"max_k": 99, "variants": "all", "seed": "x", "colour": "red"}
    url = f"{api}/processes/frontier/execution"
    ja = client.post(url, json={"inputs": inputs}, headers=planner)
    en = client.post(url, json={"inputs": inputs}, headers={**planner, **EN})
    assert ja.status_code == en.status_code == 400
    assert ja.json()["code"] == en.json()["code"] == "invalid-inputs"
    ja_by_input = {p["input"]: p["message"] for p in ja.json()["details"]}
    en_by_input = {p["input"]: p["message"] for p in en.json()["details"]}
    assert ja_by_input == {
        "scenario_id": "必須です",
        "max_k": "30 以下にしてください",
        "variants": "次のいずれかにしてください: 'both', 'whole_towns' or 'cross_border'",
        "seed": "整数にしてください",
        "colour": "このプロセスにない入力です",
    }
    assert en_by_input == {
        "scenario_id": "required",
        "max_k": "must be at most 30",
        "variants": "must be 'both', 'whole_towns' or 'cross_border'",
        "seed": "must be an integer",
        "colour": "not an input of this process",
    }
    assert "inputs.max_k: 30 以下にしてください" in ja.json()["detail"]
    assert "inputs.max_k: must be at most 30" in en.json()["detail"]


def test_a_browser_asking_japanese_first_gets_japanese(
    client: TestClient, gis: dict[str, str]
) -> None:
    """Only English as the first choice switches: ja-first (with en later) stays Japanese."""
    headers = {**gis, "Accept-Language": "ja,en-US;q=0.8,en;q=0.7"}
    response = client.get(f"{OGC}/collections/nope", headers=headers)
    assert response.status_code == 404
    assert response.json()["description"].startswith("コレクション nope はありません")
