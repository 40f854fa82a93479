"""Browser test: Debian's Chromium drives the planner page and opens every page as its users do.

Playwright (Python) launches /usr/bin/chromium (never `playwright install`). The app runs with
uvicorn on a free loopback port over a temporary SQLite database seeded with three demo towns.
Every request to a host other than the service is aborted, as on a closed municipal network
(LGWAN): the pages must load Leaflet and everything else from the service itself; only map
tiles may be asked for elsewhere. Screenshots go to tests/artifacts/ (gitignored).
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from service import crud
from service.config import Settings
from service.db import get_engine, migrate, session_factory
from service.main import create_app
from tests.service.live_server import served
from tests.service.pages_data import (
    Seeded,
    loaded,
    route_with_a_stop,
    seed,
    small_scenario_toml,
    track_along,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
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
TILE_HOST = urlsplit(Settings().TILE_URL).hostname
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def _requirements() -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (.ci/browser does)")
    pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")


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
    # The planner's routing job stops on a count of iterations: quick and the same every run.
    settings = Settings(DATABASE_URL=url, DATA_DIR=folder / "data", EVALUATE_ROUTE_ITERATIONS=20)
    app = create_app(settings)
    with served(app, name="uvicorn-browser-test") as base:
        yield base, data, toml


@pytest.fixture(scope="module")
def patrol_log_id(server: tuple[str, Seeded, Path]) -> int:
    """One stored patrol log of the seeded route, so that its page can be opened too."""
    base, data, _ = server
    uploaded = httpx.post(
        f"{base}/api/v1/routes/{data.route_id}/patrol-logs",
        headers={"X-API-Key": data.keys["contractor"]},
        files={"file": ("day1.gpx", track_along(data.route.geometry).encode(), "application/gpx")},
        timeout=120,
    )
    assert uploaded.status_code == 201, uploaded.text
    return int(uploaded.json()["id"])


@pytest.fixture(scope="module")
def browser(server: Any) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Offline:
    """Playwright route handler: the service answers, every other host is refused and noted."""

    def __init__(self) -> None:
        self.refused: list[str] = []

    def __call__(self, route: Any) -> None:
        request_url: str = route.request.url
        if request_url.startswith(("http://127.0.0.1", "http://localhost")):
            route.continue_()
            return
        self.refused.append(request_url)
        route.abort()

    def foreign_hosts(self) -> set[str]:
        """Hosts other than the service and the tile server that a page asked for."""
        hosts = {urlsplit(u).hostname or u for u in self.refused}
        return hosts - {TILE_HOST}


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=DESKTOP)
    tab = context.new_page()
    errors: list[str] = []
    console: list[str] = []
    offline = Offline()
    tab.on("pageerror", lambda exc: errors.append(str(exc)))

    def on_console(msg: Any) -> None:
        where = str((msg.location or {}).get("url", ""))
        # A refused tile is the closed network the page must cope with, not a page error.
        if msg.type == "error" and urlsplit(where).hostname != TILE_HOST:
            console.append(f"{msg.text} ({where})")

    tab.on("console", on_console)
    tab.route("**/*", offline)
    tab.set_default_timeout(30_000)
    tab.js_errors = errors
    tab.console_errors = console
    tab.offline = offline
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


def _every_town_in_one_region(page: Any, scenario: Any) -> None:
    """One region, every town of the scenario clicked into it."""
    page.select_option("#k-select", "1")
    towns = scenario.municipalities.set_index("municipality_code").geometry
    for code in towns.index:
        point = towns[code].representative_point()
        _click_town(page, point.x, point.y)
    page.wait_for_function(f"document.querySelectorAll('#assignments li').length === {len(towns)}")


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
    assert not page.locator("#eval-errors").is_visible()
    balance = float(_figure(page, "balance", 1))
    assert balance >= 1.0
    # The optimized plan's figures stand next to the drawn plan's.
    assert _figure(page, "n_regions", 2) == "2"
    assert page.locator("#region-figures tbody tr").count() == 2
    # Then each region is routed from its depot (a job with a progress bar), and so are the towns
    # alone and the optimized plan: the routed time and the saving appear in both columns.
    assert page.locator("#routing progress").is_visible()
    page.wait_for_selector('#evaluation[data-routed="1"]', timeout=120_000)
    for column in (1, 2):
        hours = float(_figure(page, "patrol_hours", column))
        alone = float(_figure(page, "alone_hours", column))
        saved = float(_figure(page, "saving_hours", column))
        assert hours > 0
        assert saved == pytest.approx(alone - hours, abs=0.15)  # shown to 0.1 h
        float(_figure(page, "effect_vs_siloed_pct", column))
    assert page.locator("#routing-progress").get_attribute("value") == "100"
    title = page.locator('#evaluation tbody tr[data-key="saving_hours"] td').first
    assert title.get_attribute("title")
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
    # Work left out and region 2 empty: said next to the figures, and nothing is scored.
    assert page.locator("#eval-errors").is_visible()
    codes = page.locator("#eval-errors li").evaluate_all("els => els.map(e => e.dataset.code)")
    assert codes == ["region_empty", "unassigned"]
    assert _figure(page, "balance", 1) == "—"
    # Every figure explains itself on hover.
    title = page.locator('#evaluation tbody tr[data-key="balance"] td').first.get_attribute("title")
    assert title
    _shot(page, "planner_drawn.png")
    assert page.js_errors == []


def test_planner_depot_of_a_region_is_chosen_and_routed_from(server, page):
    """On a 390-px phone each region has a depot select (44 px high, within the screen,
    automatic first); one region of the three towns routed from the depot chosen for it shows
    that depot in the region table (the routes' start), not the automatic yard."""
    base, data, toml = server
    scenario = loaded(toml)
    page.set_viewport_size(PHONE)
    page.goto(f"{base}/planner?scenario={data.scenario_id}&lang=ja&key={data.keys['planner']}")
    page.wait_for_selector(".folium-map path.leaflet-interactive")
    page.select_option("#k-select", "3")
    for region in (1, 2, 3):
        select = page.locator(f"#depot-{region}")
        select.scroll_into_view_if_needed()
        assert select.is_visible()
        box = select.bounding_box()
        assert box is not None
        assert box["height"] >= 44, box
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= PHONE["width"], box
    first = page.locator("#depot-1 option").first
    assert first.inner_text() == "自動（地域内の車庫、なければ最寄り）"
    assert page.locator("#depot-1").input_value() == ""
    page.select_option("#k-select", "1")
    assert not page.locator("#depot-2").is_visible()
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    _shot(page, "planner_depots_ja_390.png")

    page.set_viewport_size(DESKTOP)
    page.goto(f"{base}/planner?scenario={data.scenario_id}&lang=en")
    page.wait_for_selector(".folium-map path.leaflet-interactive")
    _every_town_in_one_region(page, scenario)
    depots = scenario.depots
    # A town depot: never the automatic choice while a contractor yard is in the region.
    town = depots[depots["kind"] == "town"].iloc[-1]
    assert (depots["kind"] == "contractor").any()
    page.select_option("#depot-1", str(town["depot_id"]))
    page.click("#evaluate")
    page.wait_for_selector('#evaluation[data-ready="1"]')
    headers = page.locator("#region-figures thead th").all_inner_texts()
    column = headers.index("Depot")
    cell = page.locator("#region-figures tbody tr").first.locator("td").nth(column)
    assert cell.inner_text() == str(town["name"])  # chosen, from the instant evaluation
    page.wait_for_selector('#evaluation[data-routed="1"]', timeout=120_000)
    cell = page.locator("#region-figures tbody tr").first.locator("td").nth(column)
    assert cell.inner_text() == str(town["name"])  # where the routed patrol starts
    assert float(_figure(page, "patrol_hours", 1)) > 0
    _shot(page, "planner_depot_routed.png")
    assert page.js_errors == []


def test_planner_stores_a_plan_with_its_depot_across_a_reload(server, page):
    """A plan clicked together with a depot chosen for its region is saved from the page under
    a name (the save row 44 px high); after a reload the comparison table lists it with that
    depot in its 拠点 row."""
    base, data, toml = server
    scenario = loaded(toml)
    page.goto(f"{base}/planner?scenario={data.scenario_id}&lang=ja&key={data.keys['planner']}")
    page.wait_for_selector(".folium-map path.leaflet-interactive")
    assert not page.locator("#save").is_visible()  # nothing scored yet
    _every_town_in_one_region(page, scenario)
    depots = scenario.depots
    town = depots[depots["kind"] == "town"].iloc[0]
    page.select_option("#depot-1", str(town["depot_id"]))
    page.click("#evaluate")
    page.wait_for_selector('#evaluation[data-ready="1"]')
    for target in ("#save", "#plan-name"):
        box = page.locator(target).bounding_box()
        assert box is not None
        assert box["height"] >= 44, (target, box)
    page.fill("#plan-name", "拠点を選んだ案")
    page.click("#save")
    page.wait_for_selector("#status.saved")
    assert page.locator("#status").inner_text() == "保存しました：拠点を選んだ案"

    page.reload()
    page.wait_for_selector("#comparison")
    rows = page.locator("#comparison").evaluate(
        "t => [...t.rows].map(r => [...r.cells].map(c => c.textContent.trim()))"
    )
    column = rows[0].index("拠点を選んだ案")
    depot_row = next(row for row in rows if row[0] == "拠点")
    assert depot_row[column] == f"1: {town['name']}"
    _shot(page, "planner_saved_plan_depots.png")
    assert page.js_errors == []


# What a finger taps: links, buttons, form fields, and the map's controls (Leaflet draws its
# zoom and draw buttons as links). Leaflet.draw's mouse marker is a transparent helper under
# the pointer while drawing, not something to tap.
TAP_TARGETS = (
    "a[href], button, select, input, textarea, summary, [role=button]:not(.leaflet-mouse-marker),"
    " .leaflet-bar a"
)


def _small_tap_targets(page: Any, least: float = 44) -> list[str]:
    """Every visible tap target under ``least`` CSS px either way, as 'tag.class text wxh'."""
    return list(
        page.evaluate(
            """([selector, least]) => Array.from(document.querySelectorAll(selector))
                .filter(e => e.getClientRects().length
                    && getComputedStyle(e).visibility !== "hidden")
                .map(e => [e, e.getBoundingClientRect()])
                .filter(([e, r]) => r.width < least || r.height < least)
                .map(([e, r]) => `${e.tagName.toLowerCase()}.${e.className} ${e.textContent.trim()
                    .slice(0, 20)} ${Math.round(r.width)}x${Math.round(r.height)}`)""",
            [TAP_TARGETS, least],
        )
    )


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_planner_tap_targets_are_44_px_on_a_phone(server, page, lang):
    """At 390 px every tap target of the planner page is at least 44 x 44 CSS px: the region
    numbers, the number of regions, the depot selects, Evaluate and Clear, the map's zoom and
    draw buttons and the actions shown while drawing (Finish, Delete last point, Cancel), the
    language switch and the credit links; nothing scrolls the page sideways."""
    base, data, _ = server
    page.set_viewport_size(PHONE)
    page.goto(f"{base}/planner?scenario={data.scenario_id}&lang={lang}&key={data.keys['planner']}")
    page.wait_for_selector(".folium-map path.leaflet-interactive")
    page.select_option("#k-select", "3")
    buttons = page.locator("button.region-pick:visible")
    assert buttons.count() == 3
    for i in range(3):
        box = buttons.nth(i).bounding_box()
        assert box is not None
        assert box["width"] >= 44, box
        assert box["height"] >= 44, box
        assert box["x"] >= 0, box
        assert box["x"] + box["width"] <= PHONE["width"], box
    assert _small_tap_targets(page) == []
    page.select_option("#k-select", str(page.locator("#k-select option").count()))
    assert _small_tap_targets(page) == []  # every region's button and depot, wrapped
    page.click(".leaflet-draw-draw-polygon")
    actions = page.locator(".leaflet-draw-actions a:visible")
    assert actions.count() >= 2
    assert _small_tap_targets(page) == []
    for i in range(actions.count()):
        box = actions.nth(i).bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= PHONE["width"], box
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    _shot(page, f"planner_tap_targets_{lang}_390.png")
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


# Every page a user opens: (name, path, role, draws a map). {lang} is filled in per test.
PAGES = (
    ("index_planner", "/?lang={lang}", "planner", False),
    ("index_contractor", "/?lang={lang}", "contractor", False),
    ("index_gis", "/?lang={lang}", "gis", False),
    ("planner", "/planner?scenario={scenario}&lang={lang}", "planner", True),
    ("plan_map_regions", "/plans/{plan}/map?lang={lang}", "planner", True),
    ("plan_map_routes", "/plans/{route_plan}/map?lang={lang}", "planner", True),
    ("plan_map_gis", "/plans/{plan}/map?lang={lang}", "gis", True),
    ("compare", "/compare?plans={plan}&lang={lang}", "planner", False),
    ("contractor_route", "/contractor/routes/{route}?lang={lang}", "contractor", True),
    ("patrol_log", "/patrol-logs/{log}?lang={lang}", "contractor", True),
    ("region_logs", "/regions/{region}/patrol-logs?lang={lang}", "planner", False),
    ("workbench", "/workbench?scenario={scenario}&lang={lang}", "planner", False),
    ("patrol_day", "/contractor/days?date=2026-04-01&lang={lang}", "contractor", False),
    ("patrol_week", "/contractor/days?date=2026-04-01&view=week&lang={lang}", "contractor", False),
    (
        "patrol_month",
        "/planner/calendar?region_id={region}&month=2026-04&lang={lang}",
        "planner",
        False,
    ),
)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1366", "390"])
@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize(("name", "path", "role", "has_map"), PAGES, ids=[p[0] for p in PAGES])
def test_every_page_offline(server, patrol_log_id, page, name, path, role, has_map, lang, viewport):
    """Each page in each language on a desktop and a phone, with no host but the service."""
    base, data, _ = server
    page.set_viewport_size(viewport)
    url = path.format(
        lang=lang,
        scenario=data.scenario_id,
        plan=data.plan_id,
        route_plan=data.route_plan_id,
        route=data.route_id,
        log=patrol_log_id,
        region=data.region_ids[0],
    )
    sep = "&" if "?" in url else "?"
    response = page.goto(f"{base}{url}{sep}key={data.keys[role]}")
    assert response is not None
    assert response.status == 200, url
    page.wait_for_load_state("load")
    assert page.evaluate("document.documentElement.lang") == lang
    if has_map:
        page.wait_for_selector(".folium-map path.leaflet-interactive")
        assert page.evaluate("typeof window.L") == "object"  # Leaflet came from the service
        vectors = page.locator(".folium-map path.leaflet-interactive").count()
        assert vectors >= 1
        # The tiles were refused: one line says so, and the data is drawn all the same.
        page.wait_for_selector("#tiles-note:not([hidden])")
    assert page.offline.foreign_hosts() == set(), page.offline.refused
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    _shot(page, f"page_{name}_{lang}_{viewport['width']}.png")
    assert overflow <= 0, f"{url}: the page scrolls sideways by {overflow} px"
    assert page.js_errors == []
    assert page.console_errors == []


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_start_page_plan_links_are_readable_on_a_phone(server, page, lang):
    """At 390 px the planner's start page shows each scenario as a card: the plan and region
    links each on one line (not one or two characters per line in a narrow column), within the
    screen, with no sideways page scroll."""
    base, data, _ = server
    page.set_viewport_size(PHONE)
    page.goto(f"{base}/?lang={lang}&key={data.keys['planner']}")
    page.wait_for_selector("table.scenarios td.plans a")
    links = page.evaluate(
        """() => [...document.querySelectorAll('table.scenarios td.plans a,'
                 + ' table.scenarios td.logs a')].map(a => {
            const r = a.getBoundingClientRect();
            const style = getComputedStyle(a);
            // one line: less than one and a half line heights ("normal" is about 1.2 em)
            const lh = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.2;
            const line = lh * 1.5;
            return {text: a.textContent, height: r.height, line: line, right: r.right};
        })"""
    )
    assert len(links) >= 2
    for link in links:
        assert link["height"] <= link["line"], f"{link['text']!r} wraps: {link['height']} px"
        assert link["right"] <= PHONE["width"], f"{link['text']!r} runs off the screen"
    cell = page.locator("table.scenarios td.plans").first.bounding_box()
    assert cell is not None
    assert cell["width"] >= 0.7 * PHONE["width"]  # the full width of the card, not a sliver
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    _shot(page, f"index_planner_cards_{lang}_390.png")
    assert overflow <= 0
    assert page.js_errors == []


# Each line of a label or value, as the browser broke it: characters grouped by their line box.
_LINES_JS = """el => {
    const text = el.firstChild;
    if (!text) return [];
    const lines = [];
    let top = null;
    for (let i = 0; i < text.length; i++) {
        const range = document.createRange();
        range.setStart(text, i);
        range.setEnd(text, i + 1);
        const box = range.getBoundingClientRect();
        // A space stays at the end of its line (where a break leaves it, with no width).
        const space = /\\s/.test(text.data[i]) && lines.length > 0;
        if (!space && (top === null || box.top > top + box.height / 2)) {
            lines.push("");
            top = box.top;
        }
        lines[lines.length - 1] += text.data[i];
    }
    return lines;
}"""
_NO_LINE_START = set("）)」、。，,％%／/:：")
_NO_LINE_END = set("（(「")
_AFTER_PHRASE = set("-/／、，,。）)」")
_HIRAGANA = re.compile(r"[ぁ-ゖ]")


def _bad_breaks(lines: list[str]) -> list[str]:
    """Line breaks that are not between words or phrases (文節): English breaks at spaces or
    after a hyphen or slash; Japanese after punctuation, before a bracket, or after the
    particle ending a phrase (「ごとの|ルート」), never inside a word (「巡回時|間」)."""
    bad = []
    for before, after in itertools.pairwise(lines):
        a, b = before[-1:], after[:1]
        if b in _NO_LINE_START or a in _NO_LINE_END:
            bad.append(f"{before}|{after}")
        elif a.isspace() or a in _AFTER_PHRASE or b in _NO_LINE_END:
            continue
        elif not (_HIRAGANA.match(a) and not _HIRAGANA.match(b)):
            bad.append(f"{before}|{after}")
    return bad


def _routed(toml: Path, data: Seeded) -> int:
    """A routes plan stored as the routing job stores one: totals with the gap to the bound."""
    session = session_factory(get_engine(f"sqlite:///{toml.parent / 'gunmane.sqlite'}"))()
    try:
        plan = crud.create_plan(
            session=session,
            scenario_id=data.scenario_id,
            kind="routes",
            name="routed with its bound",
            summary={
                "bundled": {"hours": 6.52, "km": 48.3, "gap_to_bound_pct": 3.4},
                "separate": {"hours": 7.9, "km": 61.0},
                "effect_vs_siloed_pct": 17.5,
                "regions_plan_id": data.plan_id,
            },
        )
        session.commit()
        return int(plan.id)
    finally:
        session.close()


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_plans_compared_on_a_phone_as_one_card_per_plan(server, page, lang):
    """At 390 x 844 the comparison page shows one card per plan, each figure a row (label,
    value) within the screen: the page never scrolls sideways and no column is hidden in a
    scrolling table; labels break only between words or phrases (short ones on one line), values
    on one line. A desktop keeps the side-by-side table with the same figures."""
    base, data, toml = server
    url = f"{base}/compare?plans={data.plan_id},{data.route_plan_id},{_routed(toml, data)}"
    url += f"&lang={lang}"
    page.set_viewport_size(DESKTOP)
    page.goto(f"{url}&key={data.keys['planner']}")
    table = page.locator("#comparison")
    assert table.is_visible()
    assert not page.locator("#plan-cards").is_visible()
    rows = table.evaluate("t => [...t.rows].map(r => [...r.cells].map(c => c.textContent.trim()))")
    plans = rows[0][1:]
    assert len(plans) == 3
    if lang == "ja":
        assert "下限との差（%）" in [row[0] for row in rows]  # the routes plan's gap to its bound

    page.set_viewport_size(PHONE)
    assert not table.is_visible()
    cards = page.locator("#plan-cards .plan-card")
    assert cards.count() == len(plans)
    for column, name in enumerate(plans, start=1):
        card = cards.nth(column - 1)
        assert card.locator("h2").inner_text() == name
        figures = card.locator(".figure-row")
        assert figures.count() == len(rows) - 1
        for i, row in enumerate(rows[1:]):
            label, value = figures.nth(i).locator("dt"), figures.nth(i).locator("dd")
            assert (label.inner_text(), value.inner_text()) == (row[0], row[column])
            for cell in (label, value):
                assert cell.is_visible()
                box = cell.bounding_box()
                assert box is not None
                assert box["x"] >= 0
                assert box["x"] + box["width"] <= PHONE["width"], f"{row[0]!r} runs off"
            assert len(value.evaluate(_LINES_JS)) == 1, f"{row[0]!r}: {row[column]!r} wraps"
            lines = label.evaluate(_LINES_JS)
            assert "".join(lines).strip() == row[0]
            assert _bad_breaks(lines) == [], f"{row[0]!r} is broken badly: {lines}"
            if len(row[0]) <= 10:
                assert len(lines) == 1, f"{row[0]!r} wraps: {lines}"
        assert card.evaluate("c => c.scrollWidth <= c.clientWidth")
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    _shot(page, f"compare_cards_{lang}_390.png")
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px"
    assert page.js_errors == []


# Yards of a contractors' cooperative as towns name them: long, some without a space to break at.
LONG_YARDS = {
    "yard-long-1": "エッシェン・ガンプリン広域道路維持管理センター（第三車庫）",
    "yard-long-2": "群マネ共同維持管理事業協同組合 北部第二資材置場・除雪車両基地",
    "yard-long-3": "Schellenberg-Eschen Joint Contractors' Cooperative Equipment Yard No. 2",
    "yard-long-4": "Gamprin-Bendern Municipal Road Maintenance and Winter Service Depot (north)",
}


@pytest.fixture(scope="module")
def long_depot_plan(server) -> tuple[int, dict[str, str]]:
    """A drawn plan of five strips stored through POST /plans/drawn, regions 2-5 routed from
    the long-named yards (region 1 automatic); returns its id and region -> depot name."""
    base, data, toml = server
    scenario = loaded(toml)
    session = session_factory(get_engine(f"sqlite:///{toml.parent / 'gunmane.sqlite'}"))()
    try:
        near = scenario.depots.geometry.iloc[0]
        for depot_id, name in LONG_YARDS.items():
            crud.add_depot(
                session=session,
                scenario_id=data.scenario_id,
                depot_id=depot_id,
                name=name,
                kind="contractor",
                geom=near,
            )
        session.commit()
    finally:
        session.close()
    # Five strips west to east, cut at the quintiles of the assets: none empty, none overlapping.
    points = scenario.assets.to_crs(4326).geometry.representative_point()
    minx, miny, maxx, maxy = scenario.municipalities.to_crs(4326).total_bounds
    cuts = [minx - 0.01, *points.x.quantile([0.2, 0.4, 0.6, 0.8]).tolist(), maxx + 0.01]
    features = [
        {
            "type": "Feature",
            "properties": {"region": str(i + 1)},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [[west, miny - 0.01], [east, miny - 0.01], [east, maxy + 0.01],
                     [west, maxy + 0.01], [west, miny - 0.01]]
                ],
            },
        }
        for i, (west, east) in enumerate(itertools.pairwise(cuts))
    ]  # fmt: skip
    depots = dict(zip(("2", "3", "4", "5"), LONG_YARDS, strict=True))
    stored = httpx.post(
        f"{base}/api/v1/plans/drawn",
        headers={"X-API-Key": data.keys["planner"]},
        json={
            "scenario": data.scenario_id,
            "k": 5,
            "polygons": {"type": "FeatureCollection", "features": features},
            "depots": depots,
            "name": "5 区域・長い拠点名",
        },
        timeout=120,
    )
    assert stored.status_code == 201, stored.text
    return int(stored.json()["id"]), {r: LONG_YARDS[d] for r, d in depots.items()}


def _depot_lines(cell: Any) -> list[str]:
    """The lines a depots cell shows, as laid out (its text split where the layout breaks)."""
    lines = [line for line in cell.evaluate(_LINES_JS) if line.strip()]
    # A Latin word is never cut in two (a line ends at a space, a hyphen or a newline).
    split = [
        f"{a}|{b}"
        for a, b in itertools.pairwise(lines)
        if a[-1:].isascii() and a[-1:].isalpha() and b[:1].isascii() and b[:1].isalpha()
    ]
    assert split == [], f"words cut: {split}"
    return [line.strip() for line in lines]


def _fully_shown(cell: Any, width: int) -> None:
    """The cell inside the screen's width and showing all of its text (nothing scrolled away)."""
    assert cell.is_visible()
    box = cell.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= width, box
    assert cell.evaluate("c => c.scrollWidth <= c.clientWidth")


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_long_depot_names_of_five_regions_fit_a_phone(server, page, long_depot_plan, lang):
    """A stored plan with a depot per region (4 long yard names, one automatic) shows its 拠点
    row at 390 px, on the comparison card and on the planner, one region per line, long names
    wrapped within the screen: no sideways scroll, the whole row in view."""
    base, data, _toml = server
    plan_id, names = long_depot_plan
    auto = "自動" if lang == "ja" else "automatic"
    regions = [f"1: {auto}", *(f"{r}: {name}" for r, name in names.items())]
    depots_label = "拠点" if lang == "ja" else "Depots"
    key = data.keys["planner"]

    page.set_viewport_size(PHONE)
    page.goto(f"{base}/compare?plans={data.plan_id},{plan_id}&lang={lang}&key={key}")
    card = page.locator("#plan-cards .plan-card").nth(1)
    assert card.locator("h2").inner_text().endswith("5 区域・長い拠点名")
    row = card.locator(".figure-row").filter(has=page.locator("dt", has_text=depots_label))
    assert row.count() == 1
    value = row.locator("dd")
    value.scroll_into_view_if_needed()
    lines = _depot_lines(value)
    # One region per line: each starts a line, and a long name goes on under its own number.
    starts = [i for i, line in enumerate(lines) if re.match(r"\d:", line)]
    assert [lines[i][:2] for i in starts] == ["1:", "2:", "3:", "4:", "5:"], lines
    assert "".join(lines).replace(" ", "") == "".join(regions).replace(" ", ""), lines
    _fully_shown(value, PHONE["width"])
    _fully_shown(row.locator("dt"), PHONE["width"])
    assert card.evaluate("c => c.scrollWidth <= c.clientWidth")
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    _shot(page, f"compare_long_depots_{lang}_390.png")
    assert overflow <= 0, f"the compare page scrolls sideways by {overflow} px"

    page.goto(f"{base}/planner?scenario={data.scenario_id}&lang={lang}&key={key}")
    table = page.locator("#comparison")
    column = table.evaluate("t => [...t.rows[0].cells].map(c => c.textContent.trim())").index(
        "5 区域・長い拠点名"
    )
    depot_row = table.locator("tr").filter(has=page.locator("td", has_text=depots_label))
    cell = depot_row.locator("td").nth(column)
    cell.scroll_into_view_if_needed()
    _shot(page, f"planner_long_depots_{lang}_390.png")
    lines = _depot_lines(cell)
    starts = [i for i, line in enumerate(lines) if re.match(r"\d:", line)]
    assert [lines[i][:2] for i in starts] == ["1:", "2:", "3:", "4:", "5:"], lines
    _fully_shown(cell, PHONE["width"])
    panel = page.locator("aside.panel")
    assert panel.evaluate("p => p.scrollWidth <= p.clientWidth"), "the panel scrolls sideways"
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the planner scrolls sideways by {overflow} px"
    assert page.js_errors == []


def test_crew_ticks_a_stop_with_a_photo_on_the_phone(server, page):
    """At 390 px a crew ticks a stop done: a text file chosen as the photo is refused in
    Japanese next to the stop; with a camera JPEG the stop shows ✓ and the photo's thumbnail,
    loaded from the service with the page's session."""
    from PIL import Image

    base, data, toml = server
    route_id, _ = route_with_a_stop(
        f"sqlite:///{toml.parent / 'gunmane.sqlite'}", data, "LI-7007-P0001"
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    photo = ARTIFACTS / "stop_photo.jpg"
    Image.new("RGB", (64, 48), (30, 140, 60)).save(photo, format="JPEG")
    memo = ARTIFACTS / "memo.txt"
    memo.write_text("not a photo", encoding="utf-8")
    page.set_viewport_size(PHONE)
    page.goto(f"{base}/contractor/routes/{route_id}?lang=ja&key={data.keys['contractor']}")
    page.click("#steps .tick-open")
    form = page.locator("#steps form.tick-form")
    camera = form.locator('input[type=file][name=photo][capture="environment"]')
    assert camera.get_attribute("accept") == "image/*"
    box = form.locator("label.photo").bounding_box()
    assert box is not None
    assert box["height"] >= 44  # thumb-sized
    form.locator("textarea").fill("ベンチの板が割れている")
    camera.set_input_files(str(memo))
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#steps .tick-error")
    assert "写真として読めません" in page.locator("#steps .tick-error").inner_text()
    camera.set_input_files(str(photo))
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#steps .tick.done a.thumb img")
    page.wait_for_function(
        "document.querySelector('#steps .tick.done a.thumb img').naturalWidth === 64"
    )
    assert "ベンチの板が割れている" in page.locator("#steps .tick.done").inner_text()
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    _shot(page, "contractor_stop_photo_390.png")
    assert overflow <= 0
    # Reloaded, the page shows the stored photo by the ticked stop.
    page.reload()
    page.wait_for_selector("#steps .tick.done a.thumb img")
    assert page.js_errors == []
    # Only the refused text file, which the browser logs as a failed request.
    assert [e for e in page.console_errors if "status of 422" not in e] == []


def test_a_heic_stop_photo_is_drawn_by_its_preview_or_linked_as_text(server, page):
    """Chromium cannot draw an iPhone's HEIC: the region's log page shows its JPEG preview
    (drawn, at most 1,024 px); a HEIC that cannot be decoded gives a text link to the original
    in place of a broken image."""
    import pillow_heif
    from PIL import Image

    base, data, toml = server
    route_id, task_id = route_with_a_stop(
        f"sqlite:///{toml.parent / 'gunmane.sqlite'}", data, "LI-7007-P0001"
    )
    pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    Image.new("RGB", (1200, 900), (200, 90, 30)).save(buf, format="HEIF", quality=80)
    heic = buf.getvalue()
    urls = {}
    for name, photo in (("good", heic), ("torn", heic[:400])):
        tick = httpx.post(
            f"{base}/api/v1/routes/{route_id}/stop-checks",
            headers={"X-API-Key": data.keys["contractor"]},
            data={"task_id": task_id},
            files={"photo": (f"IMG_{name}.HEIC", photo, "image/heic")},
            timeout=60,
        )
        assert tick.status_code == 201, tick.text
        urls[name] = tick.json()["photo_url"]
    page.set_viewport_size(PHONE)
    region = data.region_ids[0]
    page.goto(f"{base}/regions/{region}/patrol-logs?lang=en&key={data.keys['planner']}")
    good = page.locator(f'a.thumb[href="{urls["good"]}"] img')
    page.wait_for_function(
        "([img]) => img.complete && img.naturalWidth > 0", arg=[good.element_handle()]
    )
    assert good.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [1024, 768]
    torn = page.locator(f'a.thumb[href="{urls["torn"]}"]')
    page.wait_for_function("([a]) => a.querySelector('img') === null", arg=[torn.element_handle()])
    assert torn.inner_text() == "Photo (original file)"
    _shot(page, "region_logs_heic_390.png")
    assert page.js_errors == []
    # Only the torn photo's preview, which the browser logs as a failed request.
    assert [e for e in page.console_errors if "status of 422" not in e] == []


def test_crew_marks_a_day_unavailable_on_the_phone(server, page):
    """On the day page at 390 px a crew marks its day lost to a disaster call-out (cookie + the
    page's CSRF header); the page reloads with the day unavailable and the reason shown."""
    base, data, _ = server
    page.set_viewport_size(PHONE)
    day = "2026-04-02"
    page.goto(f"{base}/contractor/days?date={day}&key={data.keys['contractor']}")
    page.click("details.mark summary")
    page.select_option("form.mark-form select[name=reason]", "disaster")
    page.fill("form.mark-form input[name=note]", "土砂崩れ対応")
    with page.expect_navigation():
        page.click("form.mark-form button[type=submit]")
    page.wait_for_selector(f'section.day[data-date="{day}"][data-status="unavailable"]')
    assert "災害対応" in page.locator("section.day").inner_text()
    _shot(page, "contractor_day_marked_390.png")
    assert page.js_errors == []


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_error_pages_for_a_browser(server, page, lang):
    """A crew whose session is gone, or with a wrong link, gets a page with a sign-in form that
    brings it back to the page it asked for; a missing page says so in the same language."""
    base, data, _ = server
    page.set_viewport_size(PHONE)
    target = f"/contractor/routes/{data.route_id}?lang={lang}"
    response = page.goto(f"{base}{target}&key=not-a-key")
    assert response is not None
    assert response.status == 401
    assert page.locator("main.error-page form#sign-in").is_visible()
    assert not [c for c in page.context.cookies() if c["name"] == "gunmane_key"]
    _shot(page, f"error_401_{lang}_390.png")
    page.fill("#key", data.keys["contractor"])
    page.click("#sign-in button[type=submit]")
    page.wait_for_selector(".folium-map path.leaflet-interactive")
    assert page.url == f"{base}{target}"
    missing = page.goto(f"{base}/contractor/routes/999999?lang={lang}")
    assert missing is not None
    assert missing.status == 404
    assert page.locator("main.error-page h2").inner_text()
    _shot(page, f"error_404_{lang}_390.png")
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    assert page.js_errors == []
