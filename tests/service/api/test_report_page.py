"""The 実施方針 page of a stored scenario: from its effects and cost-share plans, with downloads."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from docx import Document as Docx
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine

from service.db import session_scope
from service.importer import import_scenario
from tests.service.api.job_runs import run_job
from tests.service.grid_scenario import write_grid_scenario


@pytest.fixture
def grid_id(engine: Engine, tmp_path: Path) -> int:
    """The grid scenario stored from its TOML."""
    with session_scope(engine) as session:
        return import_scenario(session=session, config=write_grid_scenario(tmp_path / "grid")).id


def test_report_page_needs_an_effect_estimate_then_renders_and_downloads(
    client: TestClient, api: str, planner: dict[str, str], grid_id: int
) -> None:
    """Without an effects plan: 404 with a code; after the effects and cost-share jobs the page
    shows the guide's chapters with the same bundled total as the stored estimate, and the
    Markdown, Word and Excel downloads carry the same document."""
    url = f"/scenarios/{grid_id}/report"
    missing = client.get(url, headers=planner)
    assert missing.status_code == 404
    assert "effects" in missing.text
    params = {"horizon": "2026-04", "iterations": 3}
    effects = run_job(client, f"{api}/scenarios/{grid_id}/plans/effects", planner, params)
    run_job(client, f"{api}/scenarios/{grid_id}/plans/cost_shares", planner, params)
    page = client.get(url, headers=planner)
    assert page.status_code == 200, page.text
    html = page.text
    for heading in (
        "（１）業務のマネジメント戦略",
        "（２）自治体の束",
        "（３）技術者連携、データ連携",
    ):
        assert heading in html
    assert html.index("（３）技術者連携") < html.index(">参考資料<")
    assert "?format=docx" in html
    bundled = next(r for r in effects["summary"]["comparison"] if r["metric"] == "cost_yen")
    assert f"{bundled['bundled']:,.0f}円" in html  # the total the cost shares split
    assert "© OpenStreetMap contributors" in html
    md = client.get(url, params={"format": "md"}, headers=planner)
    assert md.headers["content-disposition"].endswith('.md"')
    assert "## （２）自治体の束" in md.text
    word = client.get(url, params={"format": "docx"}, headers=planner)
    paragraphs = [p.text for p in Docx(io.BytesIO(word.content)).paragraphs]
    assert "（１）業務のマネジメント戦略" in paragraphs
    xlsx = client.get(url, params={"format": "xlsx"}, headers=planner)
    wb = load_workbook(io.BytesIO(xlsx.content))
    assert "予算（自治体別）" in wb.sheetnames
    assert client.get(url, params={"format": "pdf"}, headers=planner).status_code == 422
    _chrome_follows_the_language(client, url, planner)


def _chrome_follows_the_language(client: TestClient, url: str, planner: dict[str, str]) -> None:
    """The navigation and download labels come from the catalogue in the page's language; the
    document stays Japanese on the English page, which says so in one line."""
    from service.report_labels import REPORT_LABELS

    ja = client.get(url, params={"lang": "ja"}, headers=planner).text
    en = client.get(url, params={"lang": "en"}, headers=planner).text
    ja_chrome = ja.split('<nav class="report-chrome"', 1)[1].split("</nav>", 1)[0]
    en_chrome = en.split('<nav class="report-chrome"', 1)[1].split("</nav>", 1)[0]
    for key in ("rp_downloads", "rp_md", "rp_docx", "rp_xlsx", "rp_html"):
        ja_label, en_label = REPORT_LABELS[key]
        assert ja_label in ja_chrome
        assert en_label in en_chrome
    assert "Downloads" not in ja_chrome
    assert "ダウンロード" not in en_chrome
    assert REPORT_LABELS["rp_ja_document"][1] in en_chrome
    assert REPORT_LABELS["rp_ja_document"][0] not in ja  # nothing to say on the Japanese page
    assert 'href="?lang=ja"' in en_chrome
    assert 'href="?lang=en"' in ja_chrome
    # The document itself is the same Japanese text on both pages.
    assert ja.split("</nav>", 1)[1] == en.split("</nav>", 1)[1]
    assert "（２）自治体の束" in en
