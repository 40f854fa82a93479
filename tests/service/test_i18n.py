"""One language at a time: the catalogue is complete, Japanese pages carry no English UI words,
and times are shown in the town's zone in one format."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import importlib
import pkgutil
import re
from dataclasses import asdict
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import service
from service import crud, i18n
from service.config import Settings
from service.db import get_engine, migrate, session_factory
from service.i18n import format_time
from service.main import create_app
from service.map_data import step_name
from tests.service.pages_data import Seeded, loaded, seed, small_scenario_toml, solved_route

pytestmark = pytest.mark.xdist_group("pages")

TEMPLATES = Path(i18n.__file__).resolve().parent / "templates"


def _catalogues() -> dict[str, tuple[str, str]]:
    """Every label: service.i18n's and those of the pages' own label modules (*_labels)."""
    found: dict[str, tuple[str, str]] = dict(i18n._LABELS)
    for info in pkgutil.iter_modules(service.__path__):
        if not info.name.endswith("_labels"):
            continue
        module = importlib.import_module(f"service.{info.name}")
        for name, value in vars(module).items():
            if name.endswith("LABELS") and isinstance(value, dict):
                found.update(value)
    return found


ALL_LABELS = _catalogues()


def test_every_label_has_both_languages():
    for key, (ja, en) in ALL_LABELS.items():
        assert ja.strip(), f"{key}: no Japanese text"
        assert en.strip(), f"{key}: no English text"


def test_every_label_a_template_uses_is_in_the_catalogue():
    """``t.key`` in the templates and ``L10N.key`` in their scripts name existing labels."""
    used: dict[str, str] = {}
    for path in TEMPLATES.glob("*.html"):
        text = path.read_text(encoding="utf-8")
        for key in re.findall(r"\bt\.([a-z_][a-z0-9_]*)", text):
            used.setdefault(key, path.name)
        for key in re.findall(r"\bL10N\.([a-z_][a-z0-9_]*)", text):
            used.setdefault(key, path.name)
    assert used, "no label found in the templates"
    used.pop("get", None)  # t.get("plan_kind_" ~ kind, kind): a lookup with a fallback
    known = set(ALL_LABELS)
    missing = {k: f for k, f in used.items() if k not in known}
    assert missing == {}


def test_times_in_the_towns_zone_in_one_format():
    utc = dt.datetime(2026, 4, 1, 8, 48, 13, 123456, tzinfo=dt.UTC)
    assert format_time(utc, lang="ja") == "2026-04-01 17:48"
    assert format_time(utc.isoformat(), lang="en") == "2026-04-01 17:48"
    assert format_time("2026-04-01T17:48:13+09:00", lang="en") == "2026-04-01 17:48"
    assert format_time(utc.replace(tzinfo=None), lang="ja") == "2026-04-01 17:48"  # stored UTC
    assert format_time(utc, lang="ja", era=True) == "令和8年4月1日 17:48"
    assert format_time(utc, lang="en", era=True) == "2026-04-01 17:48"
    assert format_time(utc, lang="ja", zone="Europe/Zurich") == "2026-04-01 10:48"
    assert format_time(None, lang="ja") == "—"
    with pytest.raises(ValueError, match="TIME_ZONE: unknown time zone 'Mars/Olympus'"):
        Settings(TIME_ZONE="Mars/Olympus")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[TestClient, Seeded]:
    folder = tmp_path_factory.mktemp("i18n")
    url = f"sqlite:///{folder / 'gunmane.sqlite'}"
    migrate(url)
    session = session_factory(get_engine(url))()
    try:
        data = seed(session, small_scenario_toml(folder))
    finally:
        session.close()
    return TestClient(create_app(Settings(DATABASE_URL=url))), data


# English UI words: the English side of every label that differs from its Japanese side, as
# whole words of four letters or more (names from the data, such as street names, are not
# labels, so they do not count).
def _english_words() -> set[str]:
    words: set[str] = set()
    for ja, en in ALL_LABELS.values():
        if en == ja:
            continue
        words |= {w for w in re.findall(r"[A-Za-z]{4,}", en) if w not in ja}
    # Proper names and units that Japanese pages write the same way.
    return words - {
        "OpenStreetMap",
        "contributors",
        "Leaflet",
        "GeoJSON",
        "OpenAPI",
        "Features",
        "gunmane",
    }


def _visible_text(page: str) -> str:
    """The text a reader sees: no scripts, styles, tags, nor folded technical details."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    page = re.sub(r'<details class="tech">.*?</details>', " ", page, flags=re.S)
    page = re.sub(r"<[^>]+>", " ", page)
    return html_lib.unescape(page)


def test_japanese_pages_render_no_english_ui_word(seeded):
    client, data = seeded
    pages = [
        ("/", "planner"),
        ("/", "contractor"),
        (f"/planner?scenario={data.scenario_id}", "planner"),
        (f"/plans/{data.plan_id}/map", "planner"),
        (f"/plans/{data.route_plan_id}/map", "planner"),
        (f"/compare?plans={data.plan_id}", "planner"),
        (f"/contractor/routes/{data.route_id}", "contractor"),
        (f"/regions/{data.region_ids[0]}/patrol-logs", "planner"),
        (f"/workbench?scenario={data.scenario_id}", "planner"),
        ("/scenarios/new", "planner"),
        (f"/scenarios/{data.scenario_id}/edit", "planner"),
        ("/plans/999999/map", "planner"),  # an error page
    ]
    english = _english_words()
    # Names from the data (the scenario's, the towns') are what the town called them.
    scenarios = client.get("/api/v1/scenarios", headers={"X-API-Key": data.keys["planner"]})
    data_names = [str(s["name"]) for s in scenarios.json()["data"]]
    # The depots' names too (the planner picks a depot per region by its name).
    depots = client.get(
        f"/api/v1/scenarios/{data.scenario_id}/depots", headers={"X-API-Key": data.keys["planner"]}
    )
    data_names += [str(f["properties"]["name"]) for f in depots.json()["features"]]
    data_names.sort(key=len, reverse=True)  # a longer name before a name inside it
    for path, role in pages:
        sep = "&" if "?" in path else "?"
        answer = client.get(
            f"{path}{sep}lang=ja",
            headers={"X-API-Key": data.keys[role], "Accept": "text/html"},
        )
        text = _visible_text(answer.text)
        for name in data_names:
            text = text.replace(name, " ")
        found = sorted({w for w in re.findall(r"[A-Za-z]{4,}", text) if w in english})
        assert found == [], f"{path} (ja) shows English UI words: {found}"
        # Stops and steps by their names, never by internal task ids.
        assert not re.search(r"#walk\d|\bn:\d", text), f"{path} (ja) shows a task id"
        assert "bank walk" not in text


def test_gpx_and_kml_names_in_the_crews_language(seeded):
    """Track and stop names of the downloads follow ``lang``; never an internal task id."""
    client, data = seeded
    key = {"X-API-Key": data.keys["contractor"]}
    ja = client.get(f"/api/v1/routes/{data.route_id}/gpx?lang=ja", headers=key).text
    assert "<name>班 1 （" in ja
    assert "crew 1" not in ja
    en = client.get(f"/api/v1/routes/{data.route_id}/gpx?lang=en", headers=key).text
    assert "<name>Crew 1 from" in en
    kml = client.get(f"/api/v1/routes/{data.route_id}/kml?lang=ja", headers=key).text
    assert "<name>班 1</name>" in kml
    for text in (ja, en, kml):
        assert not re.search(r"<name>[^<]*(#walk\d|n:\d)", text)
    # The crews' own download endpoint follows ``lang`` too (ja when not given).
    own = f"/api/v1/patrols/{data.route_id}"
    assert "<name>巡回ルート 2026-04-01 班 1</name>" in client.get(f"{own}/gpx", headers=key).text
    english = client.get(f"{own}/kml?lang=en", headers=key).text
    assert "<name>Patrol route 2026-04-01, crew 1</name>" in english


def test_step_names_in_the_pages_language():
    """Unnamed stops by their kind in the page's words and the town's asset id; bank walks in
    the page's words; a name of the town's own is kept as it is."""
    ids = ("LI-7004-P0001",)
    assert step_name("playground LI-7004-P0001", "ja", ids) == "遊具 LI-7004-P0001"
    assert step_name("playground LI-7004-P0001", "en", ids) == "Playground LI-7004-P0001"
    assert (
        step_name("bank walk: river LI-7004-P0001", "ja", ids)
        == "河川巡視（徒歩）: 河川 LI-7004-P0001"
    )
    assert step_name("bank walk: Rhein", "ja", ids) == "河川巡視（徒歩）: Rhein"
    assert step_name("Spielplatz", "ja", ids) == "Spielplatz"
    # A name that only looks like "kind id" for another asset is the town's name.
    assert step_name("park Alpha", "ja", ids) == "park Alpha"
    assert step_name("", "ja", ids) is None


def _text_of(xml: str) -> str:
    """The texts of an XML document (names, descriptions), without tags and coordinates."""
    texts = re.findall(r">([^<>]+)<", xml)
    return " ".join(x for x in texts if not re.fullmatch(r"[\d\s.,:TZ+-]+", x))


def test_japanese_gpx_and_kml_carry_no_english_ui_word_and_the_asset_names(seeded, tmp_path):
    """A route with a named park (Eschen's) and an unnamed playground (Schellenberg's
    LI-7011-P0001): the Japanese downloads name the first by its ledger name, the second
    遊具 LI-7011-P0001, and their titles, descriptions and track names are Japanese; ``lang=en``
    is English."""
    client, data = seeded
    scenario = loaded(small_scenario_toml(tmp_path))
    app_settings = client.app.state.settings
    session = session_factory(get_engine(app_settings.DATABASE_URL))()
    try:
        plan = crud.create_plan(session=session, scenario_id=data.scenario_id, kind="routes")
        ids = []
        for town in ("LI-7009", "LI-7011"):
            route = solved_route(scenario, town)
            stored = crud.add_route(
                session=session, plan=plan, region_id=data.region_ids[1], crew="1", day=0,
                service_date=dt.date(2026, 4, 1), geom=route.geometry,
                steps=[asdict(t) for t in route.traversals],
            )  # fmt: skip
            ids.append(stored.id)
        session.commit()
    finally:
        session.close()
    key = {"X-API-Key": data.keys["planner"]}
    english = _english_words()
    data_names = {str(n) for n in scenario.assets["name"].dropna()}
    data_names |= {str(n) for n in scenario.depots["name"]}
    texts = {}
    for route_id in ids:
        for fmt in ("gpx", "kml"):
            for lang in ("ja", "en"):
                answer = client.get(f"/api/v1/routes/{route_id}/{fmt}?lang={lang}", headers=key)
                assert answer.status_code == 200, answer.text
                texts[route_id, fmt, lang] = answer.text
    named, unnamed = ids
    for fmt in ("gpx", "kml"):
        assert "<name>Freizeit- und Sportanlage Grossabünt</name>" in texts[named, fmt, "ja"]
        assert "<name>遊具 LI-7011-P0001</name>" in texts[unnamed, fmt, "ja"]
        assert "<name>Playground LI-7011-P0001</name>" in texts[unnamed, fmt, "en"]
        for route_id in ids:
            ja, en = texts[route_id, fmt, "ja"], texts[route_id, fmt, "en"]
            assert "<name>巡回ルート 2026-04-01 班 1</name>" in ja
            assert "群マネで計画した巡回ルート" in ja
            assert "© OpenStreetMap contributors" in ja
            assert "<name>Patrol route 2026-04-01, crew 1</name>" in en
            assert "Patrol routes planned by gunmane" in en
            text = _text_of(ja)
            for name in sorted(data_names, key=len, reverse=True):
                text = text.replace(name, " ")
            found = sorted({w for w in re.findall(r"[A-Za-z]{4,}", text) if w in english})
            assert found == [], f"route {route_id} {fmt} (ja) shows English UI words: {found}"


def test_route_steps_never_show_an_empty_street_name(seeded):
    """The seeded route drives on streets OSM has no name for (and the demo ledger names none of
    them): their steps read 道路（名称なし） in Japanese, "Unnamed road" in English."""
    client, data = seeded
    assert any(not t.street for t in data.route.traversals if t.task_kind != "node")
    key = {"X-API-Key": data.keys["contractor"]}
    for lang, word in (("ja", "道路（名称なし）"), ("en", "Unnamed road")):
        page = client.get(f"/contractor/routes/{data.route_id}?lang={lang}", headers=key).text
        cells = re.findall(r'<td class="street">([^<]*)', page)
        assert cells, "no step rows"
        assert all(c.strip() for c in cells)
        assert word in cells
