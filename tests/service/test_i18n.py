"""One language at a time: the catalogue is complete, Japanese pages carry no English UI words,
and times are shown in the town's zone in one format."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import importlib
import pkgutil
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import service
from service import i18n
from service.config import Settings
from service.db import get_engine, migrate, session_factory
from service.i18n import format_time
from service.main import create_app
from tests.service.pages_data import Seeded, seed, small_scenario_toml

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
    return words - {"OpenStreetMap", "contributors", "Leaflet", "GeoJSON", "OpenAPI", "Features"}


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
