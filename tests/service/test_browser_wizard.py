"""Browser test of the scenario wizard: a town brings its own files, end to end, in Chromium.

From an empty database: the planner's start page links `/scenarios/new`; the scenario and its
town are created; an MLIT N03-style boundary file is stored (no options); a cp932 zipped
Shapefile of road centrelines in EPSG:6677 without .cpg is previewed (encoding detected, CRS
read, columns and first rows shown), mapped and stored; a town yard is placed by clicking the
map and a contractor's yard loaded from a GeoJSON file; the network is built from the layer's
own lines (one-way and class columns) and its cut-off part is listed and drawn; a regions job
then a routes job run with the progress bar. Every host but the service is refused (a closed
network). Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service import crud
from service.config import Settings
from service.db import get_engine, migrate, session_scope
from service.main import create_app
from tests.service.live_server import served
from tests.service.test_browser import (
    CHROMIUM_ARGS,
    DESKTOP,
    PHONE,
    Offline,
    _requirements,
    _shot,
)
from tests.service.wizard_data import (
    TOWN_CODE,
    TOWN_NAME,
    depot_lonlat,
    write_depot_file,
    write_n03_boundary,
    write_road_layer,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]


@pytest.fixture(scope="module")
def wizard_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """The app over an empty database; yields (base URL, a planner key, the town's files)."""
    _requirements()
    folder = tmp_path_factory.mktemp("wizard")
    url = f"sqlite:///{folder / 'gunmane.sqlite'}"
    migrate(url)
    with session_scope(get_engine(url)) as session:
        _row, key = crud.create_api_key(session=session, role="planner", name="town planner")
    files = folder / "files"
    write_road_layer(files)
    write_n03_boundary(files)
    write_depot_file(files)
    app = create_app(Settings(DATABASE_URL=url, DATA_DIR=folder / "data"))
    with served(app, name="uvicorn-wizard-test") as base:
        yield base, key, files


@pytest.fixture(scope="module")
def chromium(wizard_server: Any) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def tab(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport=DESKTOP)
    page = context.new_page()
    errors: list[str] = []
    offline = Offline()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.route("**/*", offline)
    page.set_default_timeout(60_000)
    page.js_errors = errors
    page.offline = offline
    yield page
    context.close()


def _click_map(page: Any, lon: float, lat: float) -> None:
    """Click the wizard's map at (lon, lat), projected to screen pixels by Leaflet itself."""
    point = page.evaluate(
        """([lat, lon]) => {
            const map = document.getElementById("wizard-map").leafletMap;
            const p = map.latLngToContainerPoint([lat, lon]);
            return {x: p.x, y: p.y};
        }""",
        [lat, lon],
    )
    box = page.locator("#wizard-map").bounding_box()
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])


def _no_sideways_scroll(page: Any) -> None:
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px"


def _run_job(page: Any, kind: str) -> None:
    page.select_option("#job-kind", kind)
    page.click("#start-job")
    page.wait_for_selector('#job[data-status="successful"], #job[data-status="failed"]',
                           timeout=180_000)  # fmt: skip
    assert page.get_attribute("#job", "data-status") == "successful", page.inner_text("#job-msg")
    assert page.evaluate("document.getElementById('job-progress').value") == 100
    assert page.inner_text("#job-msg") == "完了"
    page.wait_for_selector("#plan-link")


def test_wizard_end_to_end(wizard_server: tuple[str, str, Path], tab: Any) -> None:
    """A town's own files, from the start page to finished regions and routes jobs."""
    base, key, files = wizard_server
    page = tab
    page.goto(f"{base}/?key={key}&lang=ja")
    page.click("a.new-scenario-link")
    page.wait_for_selector("#create-scenario")
    # An empty form is refused in the page, in Japanese.
    page.click("#create-scenario")
    assert page.inner_text("#towns-msg") == "シナリオ名を入力してください"
    page.fill("#scenario-name", "試験町の持込みデータ")
    page.fill("#towns tbody tr .town-code", TOWN_CODE)
    page.fill("#towns tbody tr .town-name", TOWN_NAME)
    page.fill("#towns tbody tr .town-population", "12000")
    page.click("#create-scenario")
    page.wait_for_url(re.compile(r"/scenarios/\d+/edit\?lang=ja$"))
    _shot(page, "wizard_1_created_ja_1366.png")

    # Boundaries: an N03 file as it comes (code and name columns detected).
    page.set_input_files("#boundary-file", str(files / "N03-town.geojson"))
    page.click("#upload-boundaries")
    page.wait_for_selector("#towns-msg.ok:text('1 自治体の境界を登録しました')")
    assert page.inner_text("#towns td.has-boundary") == "✓"
    page.wait_for_selector("#wizard-map path.leaflet-interactive")

    # A wrong encoding first: the problem lands in the report table, in the page's language.
    page.set_input_files("#asset-file", str(files / "roads.zip"))
    page.select_option("#asset-encoding", "utf-8")
    page.click("#preview-asset")
    page.wait_for_selector("#report tbody tr")
    assert "ファイルに 1 件の問題があります" in page.inner_text("#assets-msg")
    cells = page.locator("#report tbody tr").first.locator("td").all_inner_texts()
    assert cells[0] == "roads.zip"
    assert cells[2] == "encoding"
    assert cells[4] == "エラー"
    assert "{" not in page.inner_text("#assets-msg")  # never raw JSON
    page.click("#clear-report")

    # Automatic encoding: detected as cp932; the plane CRS read from the .prj.
    page.select_option("#asset-encoding", "")
    page.click("#preview-asset")
    page.wait_for_selector("#preview:not([hidden])")
    facts = page.inner_text("#preview-facts")
    assert "cp932 (自動判定)" in facts
    assert "EPSG:6677" in facts
    headers = page.locator("#preview-table thead th").all_inner_texts()
    assert headers == ["路線番号", "路線名", "道路種別", "一方通行"]
    assert page.locator("#preview-table tbody tr").count() == 5
    assert "東西線1" in page.inner_text("#preview-table tbody")
    assert page.input_value("#asset-encoding") == "cp932"
    assert page.input_value("#map-name") == "路線名"  # guessed; the planner may change it
    page.select_option("#map-asset_id", "路線番号")
    _shot(page, "wizard_2_preview_ja_1366.png")
    page.click("#upload-asset")
    page.wait_for_selector("#layers tbody tr")
    assert "登録しました（13 件）" in page.inner_text("#assets-msg")

    # A town yard clicked on the map at the grid's centre junction, then saved.
    lon, lat = depot_lonlat()
    page.click("#place-depot")
    _click_map(page, lon, lat)
    page.wait_for_selector("#depots tbody tr.depot")
    assert page.locator("#depots tbody tr.depot select").first.input_value() == "town"
    # A contractor's yard from a GeoJSON file, beside the clicked one.
    page.set_input_files("#depot-file", str(files / "yards.geojson"))
    page.wait_for_function("document.querySelectorAll('#depots tbody tr.depot').length === 2")
    yard = page.locator("#depots tbody tr.depot").nth(1)
    assert yard.locator("input").input_value() == "受注者資材置場"
    assert yard.locator("select").first.input_value() == "contractor"
    page.click("#save-depots")
    page.wait_for_function(
        "document.getElementById('depots-msg').textContent.indexOf('2 か所') >= 0"
    )

    # The network from the layer's own lines, one-way and class columns preselected.
    assert page.input_value("#network-oneway") == "一方通行"
    assert page.input_value("#network-class") == "道路種別"
    page.click("#build-network")
    page.wait_for_selector("#network-summary:not([hidden])")
    assert page.inner_text("#network-msg") == "ネットワークを作成しました"
    parts = page.locator("#cut-off tbody tr.cut-off-part")
    assert parts.count() == 1
    assert "戻れない（一方通行）" in parts.first.inner_text()
    # The cut-off part is drawn (red), beside the town outline and the depot.
    red = page.locator('#wizard-map path.leaflet-interactive[stroke="#d50000"]')
    assert red.count() >= 1
    reach = page.locator("#town-reach tbody tr").first.locator("td").all_inner_texts()
    assert reach[0] == TOWN_NAME
    assert int(reach[1]) >= 1
    assert float(reach[4]) > 50.0  # most of the town is reachable there and back
    # Road classes without a speed setting are warnings in the report, never silent.
    assert "道路種別「自転車歩行者専用」の速度が未設定です（1 本）" in page.inner_text("#report")
    _shot(page, "wizard_3_network_ja_1366.png")

    # Planning: regions, then routes on the layer's network, with the progress bar.
    page.fill("#job-k", "1")
    page.fill("#job-time", "2")
    _run_job(page, "regions")
    _run_job(page, "routes")
    _shot(page, "wizard_4_jobs_ja_1366.png")
    _no_sideways_scroll(page)
    assert page.offline.foreign_hosts() == set(), page.offline.refused
    assert page.js_errors == []

    # The same scenario on a phone, in both languages: no sideways scroll, the map drawn.
    edit_url = page.url
    page.set_viewport_size(PHONE)
    page.goto(edit_url)
    # The town outline, the roads, the cut-off part (outline and marker) and the depots.
    page.wait_for_function(
        "document.querySelectorAll('#wizard-map path.leaflet-interactive').length >= 6"
    )
    page.wait_for_selector("#network-summary:not([hidden])")
    _no_sideways_scroll(page)
    _shot(page, "wizard_5_edit_ja_390.png")
    page.goto(edit_url.replace("lang=ja", "lang=en"))
    page.wait_for_selector("#network-summary:not([hidden])")
    assert page.inner_text("#step-network h2") == "4. Road network"
    assert "no way back (one-way)" in page.inner_text("#cut-off")
    _no_sideways_scroll(page)
    _shot(page, "wizard_6_edit_en_390.png")
    page.set_viewport_size(DESKTOP)
    page.goto(f"{base}/scenarios/new?lang=en")
    page.wait_for_selector("#create-scenario")
    _shot(page, "wizard_7_new_en_1366.png")
    assert page.offline.foreign_hosts() == set(), page.offline.refused
    assert page.js_errors == []
