"""Browser test: Debian's Chromium drives the planner page and opens a contractor's route page.

Playwright (Python) launches /usr/bin/chromium (never `playwright install`). The app runs with
uvicorn on a free loopback port over a temporary SQLite database seeded with three demo towns.
Nothing leaves the machine: Leaflet and Leaflet.draw, which the pages load from CDNs, are served
from the npm packages `.ci/run` installs under var/js; every other outside request (map tiles,
fonts) is aborted at once. Screenshots go to tests/artifacts/ (gitignored).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from service.config import Settings
from service.db import get_engine, migrate, session_factory
from service.main import create_app
from tests.service.pages_data import Seeded, loaded, seed, small_scenario_toml, track_along

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
JS = ROOT / "var" / "js" / "node_modules"
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# CDN file name -> local copy (the npm packages of the same libraries).
LOCAL_ASSETS = {
    "leaflet.js": JS / "leaflet" / "dist" / "leaflet.js",
    "leaflet.css": JS / "leaflet" / "dist" / "leaflet.css",
    "leaflet.draw.js": JS / "leaflet-draw" / "dist" / "leaflet.draw.js",
    "leaflet.draw.css": JS / "leaflet-draw" / "dist" / "leaflet.draw.css",
    "spritesheet.svg": JS / "leaflet-draw" / "dist" / "images" / "spritesheet.svg",
    "spritesheet.png": JS / "leaflet-draw" / "dist" / "images" / "spritesheet.png",
    "layers.png": JS / "leaflet" / "dist" / "images" / "layers.png",
}
CONTENT_TYPES = {".js": "application/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


def _requirements() -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)")
    missing = [str(p) for p in LOCAL_ASSETS.values() if not p.exists()]
    if missing:
        pytest.skip(f"Leaflet files missing ({missing[0]}): run .ci/run or npm install in var/js")
    pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Seeded, Path]]:
    """The app on a loopback port with the seeded database; yields (base URL, ids, TOML)."""
    _requirements()
    folder = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{folder / 'gunmane.sqlite'}"
    migrate(url)
    toml = small_scenario_toml(folder)
    session = session_factory(get_engine(url))()
    try:
        data = seed(session, toml)
    finally:
        session.close()
    app = create_app(Settings(DATABASE_URL=url, DATA_DIR=folder / "data"))
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, name="uvicorn-browser-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start within 30 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", data, toml
    uv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(server: Any) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _route_offline(route: Any) -> None:
    """Loopback requests go to the app; CDN Leaflet files come from var/js; the rest fail fast."""
    request_url: str = route.request.url
    if request_url.startswith(("http://127.0.0.1", "http://localhost")):
        route.continue_()
        return
    name = request_url.split("?", 1)[0].rsplit("/", 1)[-1]
    local = LOCAL_ASSETS.get(name)
    if local is not None:
        content_type = CONTENT_TYPES.get(local.suffix, "image/png")
        route.fulfill(status=200, body=local.read_bytes(), headers={"Content-Type": content_type})
        return
    route.abort()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.route("**/*", _route_offline)
    tab.set_default_timeout(30_000)
    tab.js_errors = errors
    yield tab
    context.close()


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def _click_town(page: Any, lon: float, lat: float) -> None:
    """Click the map at (lon, lat) via Leaflet's own projection to screen pixels."""
    point = page.evaluate(
        """([lat, lon]) => {
            const cfg = JSON.parse(document.getElementById("planner-config").textContent);
            const p = window[cfg.mapVar].latLngToContainerPoint([lat, lon]);
            return {x: p.x, y: p.y};
        }""",
        [lat, lon],
    )
    box = page.locator(".folium-map").bounding_box()
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])


def _figure(page: Any, key: str, column: int) -> str:
    return page.locator(f'#evaluation tbody tr[data-key="{key}"] td').nth(column).inner_text()


def test_planner_click_towns_then_draw_a_region(server, page):
    """Towns clicked into two regions and a drawn rectangle are evaluated on the page."""
    base, data, toml = server
    scenario = loaded(toml)
    page.goto(f"{base}/planner?scenario={data.scenario_id}&lang=en&key={data.keys['planner']}")
    page.wait_for_selector(".folium-map path.leaflet-interactive")
    # The key went from the address bar into an HttpOnly cookie the page's script cannot read.
    assert page.url == f"{base}/planner?scenario={data.scenario_id}&lang=en"
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "gunmane_key"]
    assert cookie["httpOnly"]
    assert cookie["value"] == data.keys["planner"]
    assert page.evaluate("document.cookie") == ""
    switch = page.locator("a.lang-switch").get_attribute("href")
    assert switch == f"?scenario={data.scenario_id}&lang=ja"
    page.wait_for_selector("a.leaflet-draw-draw-rectangle")
    towns = scenario.municipalities.set_index("municipality_code").geometry
    codes = list(towns.index)
    for region, code in zip([1, 2, 2], codes, strict=True):
        page.click(f'button.region-pick[data-region="{region}"]')
        point = towns[code].representative_point()
        _click_town(page, point.x, point.y)
    page.wait_for_function("document.querySelectorAll('#assignments li').length === 3")
    page.click("#evaluate")
    page.wait_for_selector('#evaluation[data-ready="1"]')
    assert _figure(page, "n_regions", 1) == "2"
    assert _figure(page, "unassigned", 1) == "0"
    balance = float(_figure(page, "balance", 1))
    assert balance >= 1.0
    # The optimized plan's figures stand next to the drawn plan's.
    assert _figure(page, "n_regions", 2) == "2"
    assert page.locator("#region-figures tbody tr").count() == 2
    _shot(page, "planner_towns.png")

    page.click("#clear")
    page.click('button.region-pick[data-region="1"]')
    page.click("a.leaflet-draw-draw-rectangle")
    box = page.locator(".folium-map").bounding_box()
    x0, y0 = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3
    x1, y1 = box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.7
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=8)
    page.mouse.up()
    page.wait_for_function("document.querySelectorAll('#assignments li').length === 1")
    page.evaluate("document.getElementById('evaluation').dataset.ready = ''")
    page.click("#evaluate")
    page.wait_for_selector('#evaluation[data-ready="1"]')
    assert _figure(page, "n_regions", 1) == "1"
    assert int(_figure(page, "unassigned", 1)) > 0  # a rectangle does not cover every unit
    _shot(page, "planner_drawn.png")
    assert page.js_errors == []


def test_contractor_route_page(server, page):
    """The contractor's route page draws the route and lists its steps on a phone screen."""
    base, data, _ = server
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/contractor/routes/{data.route_id}?lang=ja&key={data.keys['contractor']}")
    page.wait_for_selector(".folium-map path.leaflet-interactive")
    assert "key=" not in page.url
    drawn = page.locator(".folium-map path.leaflet-interactive").count()
    assert drawn >= 2  # serve and deadhead stretches
    rows = page.locator("table.steps tbody tr")
    assert rows.count() >= 2
    assert (
        page.locator("a.gpx")
        .get_attribute("href")
        .startswith(f"/api/v1/routes/{data.route_id}/gpx")
    )
    _shot(page, "contractor_route.png")
    # The crew uploads the day's GPS track from the same page.
    track = ARTIFACTS / "day1.gpx"
    track.write_text(track_along(data.route.geometry), encoding="utf-8")
    page.set_input_files("#gpx-file", str(track))
    page.click("#patrol-upload button[type=submit]")
    page.wait_for_selector("#patrol-logs tbody tr")
    coverage = float(page.locator("#patrol-logs tbody tr td").nth(2).inner_text())
    assert coverage >= 90.0
    assert "%" in page.locator("#upload-status").inner_text()
    _shot(page, "contractor_patrol_log.png")
    # The stored record: the track over the day's tasks, each covered or missed with its time.
    page.click("#patrol-logs tbody tr a.log-link")
    page.wait_for_selector("#log-tasks tbody tr")
    page.wait_for_selector(".folium-map path.leaflet-interactive")
    assert page.locator("#log-tasks tbody tr.covered").count() > 0
    _shot(page, "patrol_log_record.png")
    assert page.js_errors == []
