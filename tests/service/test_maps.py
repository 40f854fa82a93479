"""Tests of service.maps: the plan map, the contractor's route page and the planner page (ja/en)."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point, box

from service import maps
from service.i18n import MLIT_N03_ATTRIBUTION, OSM_ATTRIBUTION, check_lang, t


@pytest.fixture(scope="module")
def towns() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": ["LI-7001", "LI-7005"], "name": ["Vaduz", "Schaan"]},
        geometry=[box(9.50, 47.12, 9.55, 47.16), box(9.50, 47.16, 9.55, 47.20)],
        crs=4326,
    )


@pytest.fixture(scope="module")
def layers(towns):
    regions = towns.assign(region=[1, 2])
    assets = gpd.GeoDataFrame(
        {
            "asset_id": ["r1", "b1", "p1"],
            "field": ["road", "river", "park"],
            "kind": ["road_segment", "river_bank", "park"],
            "name": ["Landstrasse", "Rhein", "Rathauspark"],
            "municipality": ["Vaduz", "Schaan", "Vaduz"],
        },
        geometry=[
            LineString([(9.51, 47.13), (9.52, 47.14)]),
            LineString([(9.50, 47.17), (9.50, 47.19)]),
            Point(9.52, 47.15).buffer(0.001),
        ],
        crs=4326,
    )
    routes = gpd.GeoDataFrame(
        {"region": ["1", "1"], "kind": ["serve", "deadhead"], "street": ["Landstrasse", ""]},
        geometry=[
            LineString([(9.51, 47.13), (9.52, 47.14)]),
            LineString([(9.52, 47.14), (9.53, 47.14)]),
        ],
        crs=4326,
    )
    depots = gpd.GeoDataFrame(
        {"name": ["Yard"], "region": ["1"]}, geometry=[Point(9.51, 47.13)], crs=4326
    )
    return {
        "regions": regions,
        "assets": assets,
        "routes": routes,
        "depots": depots,
        "towns": towns,
    }


def decoded(html: str) -> str:
    """The page with JavaScript \\uXXXX escapes decoded, as the browser reads the strings."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), html)


def script_json(html: str, element_id: str) -> dict:
    m = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', html, re.S)
    assert m, f"no #{element_id} in the page"
    return json.loads(m.group(1))


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_plan_map_has_layers_legend_and_attribution(layers, lang):
    """Every layer is named in the page language; the legend lists regions and fields."""
    html = decoded(maps.plan_map_html(title="Demo", lang=lang, **layers))
    assert f'<html lang="{lang}">' in html
    for key in ("regions", "routes", "depots", "towns"):
        assert f'"{t(key, lang)}"' in html  # layer control entries
    for field in ("road", "river", "park"):
        assert f"{t('assets', lang)}: {t('field_' + field, lang)}" in html
    assert t("field_sewer", lang) not in html  # no sewer asset, no sewer layer or legend row
    legend = html[html.index('id="legend"') :]
    assert f"{t('region', lang)} 1" in legend
    assert f"{t('region', lang)} 2" in legend
    assert t("field_river", lang) in legend
    assert t("deadhead", lang) in legend
    assert "L.control.layers" in html
    # One scale bar, in metres and kilometres only.
    assert html.count("L.control.scale(") == 1
    assert "L.control.scale({imperial: false, metric: true})" in html
    assert ".setPosition('topright')" in html  # clear of the credit line at the bottom
    assert OSM_ATTRIBUTION in html  # visible footer
    assert "openstreetmap.org/copyright" in html
    assert MLIT_N03_ATTRIBUTION not in html  # not N03 data


def test_plan_map_region_colours_follow_the_palette(layers):
    """Region 1 and 2 are filled with the first two palette colours."""
    html = maps.plan_map_html(title="Demo", lang="en", **layers)
    legend = html[html.index('id="legend"') :]
    assert maps.REGION_COLOURS[0] in legend
    assert maps.REGION_COLOURS[1] in legend


def test_japanese_boundaries_carry_the_mlit_attribution(towns):
    """With N03 boundaries the MLIT credit is shown in the footer and the tile attribution."""
    html = maps.plan_map_html(title="賀茂", lang="ja", towns=towns, n03=True)
    assert MLIT_N03_ATTRIBUTION in html
    assert "計画図" in html


def test_languages_differ(layers):
    """The same map in ja and en shows different labels."""
    ja = decoded(maps.plan_map_html(title="Demo", lang="ja", **layers))
    en = decoded(maps.plan_map_html(title="Demo", lang="en", **layers))
    assert "契約区域" in ja
    assert "契約区域" not in en
    assert "Contract regions" in en
    assert "Contract regions" not in ja


def test_bad_inputs_are_named(towns):
    """A wrong language or a regions layer without its column fails with a message."""
    with pytest.raises(ValueError, match="lang must be one of ja, en, got 'fr'"):
        check_lang("fr")
    with pytest.raises(ValueError, match="regions: column 'region' is missing"):
        maps.plan_map(regions=towns)


def make_route() -> maps.DailyRoute:
    steps = (
        maps.RouteStep("deadhead", None, 500.0, 1.0, LineString([(9.51, 47.13), (9.515, 47.13)])),
        maps.RouteStep(
            "serve", "Landstrasse", 1200.0, 3.6, LineString([(9.515, 47.13), (9.52, 47.14)])
        ),
        maps.RouteStep(
            "serve", "Rathauspark", 0.0, 20.0, LineString([(9.52, 47.14), (9.52, 47.14)])
        ),
    )
    return maps.DailyRoute(
        region="1",
        crew="2",
        day="2026-04-01",
        steps=steps,
        waypoints=(maps.Waypoint("Rathauspark", "park", 9.52, 47.14),),
        depot=(9.51, 47.13),
    )


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_route_page_for_a_phone(lang):
    """The route page: the day on top, the steps in order with rounded figures, numbered stops."""
    route = make_route()
    html = maps.route_page_html(route, lang=lang, gpx_url="/r/1.gpx", kml_url="/r/1.kml")
    assert 'name="viewport"' in html
    rows = re.findall(r'<tr class="(serve|deadhead|stop)"[^>]*>(.*?)</tr>', html, re.S)
    assert [k for k, _ in rows] == ["deadhead", "serve", "stop"]
    assert "500 m" in rows[0][1]
    assert "Landstrasse" in rows[1][1]
    assert "1.2 km" in rows[1][1]
    assert f"4 {t('min', lang)}" in rows[1][1]
    assert f"{t('stop', lang)} 1" in rows[2][1]
    assert t("unnamed", lang) in rows[0][1]
    assert 'href="/r/1.gpx"' in html
    assert t("download_gpx", lang) in html
    assert 'href="/r/1.kml"' in html
    # The day's summary and the downloads come before the map and the steps.
    assert html.index('class="gpx"') < html.index('class="folium-map"') < html.index('id="steps"')
    assert "1.7 km" in html  # total
    assert html.count("L.polyline") == 2  # the zero-length node visit is a numbered marker
    assert html.count("route-badge-icon") == 3  # start, end and stop 1
    assert "route-arrow" in html  # direction arrows
    assert OSM_ATTRIBUTION in html


def _step(kind: str, street: str | None, metres: float, x0: float, x1: float) -> maps.RouteStep:
    line = LineString([(x0, 47.13), (x1, 47.13)]) if metres else LineString([(x0, 47.13)] * 2)
    return maps.RouteStep(kind, street, metres, metres / 500.0, line)  # type: ignore[arg-type]


def test_consecutive_steps_on_one_street_are_merged():
    """Edges of one street become one step; a few metres of a cross street join the step before;
    stops stay apart."""
    steps = [
        _step("deadhead", "Landstrasse", 300.0, 9.500, 9.504),
        _step("serve", "Landstrasse", 200.0, 9.504, 9.507),
        _step("serve", "Landstrasse", 10.0, 9.507, 9.5071),
        _step("deadhead", "Kirchweg", 15.0, 9.5071, 9.5073),  # a crossing: joins Landstrasse
        _step("serve", "Kirchweg", 400.0, 9.5073, 9.513),
        _step("serve", "Rathauspark", 0.0, 9.513, 9.513),  # a stop
        _step("serve", "Kirchweg", 100.0, 9.513, 9.515),
    ]
    merged = maps.merge_steps(steps)
    assert [(s.street, s.kind) for s in merged] == [
        ("Landstrasse", "serve"),
        ("Kirchweg", "serve"),
        ("Rathauspark", "serve"),
        ("Kirchweg", "serve"),
    ]
    assert merged[0].length_m == pytest.approx(525.0)
    assert merged[0].minutes == pytest.approx(525.0 / 500.0)
    assert merged[0].geometry.coords[0] == (9.500, 47.13)
    assert merged[0].geometry.coords[-1] == (9.5073, 47.13)
    assert merged[2].length_m == 0.0
    assert sum(s.length_m for s in merged) == pytest.approx(sum(s.length_m for s in steps))


def test_distances_and_minutes_rounded_for_a_crew():
    assert maps.format_distance(4.0, "ja") == "10 m"
    assert maps.format_distance(347.0, "ja") == "350 m"
    assert maps.format_distance(1234.0, "en") == "1.2 km"
    assert maps.format_minutes(0.2, "ja") == "<1 分"
    assert maps.format_minutes(12.6, "en") == "13 min"
    assert maps.format_minutes(135.0, "ja") == "2 時間 15 分"


def test_planner_page_configures_draw_and_towns(towns):
    """The planner page has the Draw control, clickable towns and the evaluation wiring."""
    optimized = {"balance": 1.02, "contiguous": True, "patrol_hours": 118.4}
    html = maps.planner_page_html(
        towns,
        k=3,
        evaluate_url="/api/v1/plans/evaluate",
        scenario="7",
        optimized=optimized,
        comparisons=[("k=2", {"balance": 1.1}), ("k=3", {"balance": 1.02})],
        lang="en",
    )
    cfg = script_json(html, "planner-config")
    assert cfg["k"] == 3
    assert cfg["scenario"] == "7"
    assert cfg["evaluateUrl"] == "/api/v1/plans/evaluate"
    assert cfg["optimized"] == optimized
    assert f"var {cfg['mapVar']} = L.map(" in html
    assert f"var {cfg['drawnVar']} =" in html
    assert f"var {cfg['townsVar']} = L.geoJson(" in html
    assert "new L.Control.Draw(" in html
    assert html.count('class="region-pick') == 3
    assert '"code": "LI-7005"' in html
    table = html[html.index('id="comparison"') :]
    assert "k=2" in table
    assert "1.100" in table
    assert t("balance", "en") in table


def test_planner_rejects_bad_k(towns):
    with pytest.raises(ValueError, match="k must be at least 1, got 0"):
        maps.planner_page_html(towns, k=0, evaluate_url="/e", scenario="1")


def test_comparison_table_formats_figures():
    """Booleans become yes/no in the page language; missing figures a dash; unknown keys skipped."""
    rows = maps.comparison_table(
        [("A", {"contiguous": True, "balance": 1.23456}), ("B", {"contiguous": False})], lang="ja"
    )
    assert rows[0] == ["指標", "A", "B"]
    by_label = {r[0]: r[1:] for r in rows[1:]}
    assert by_label[t("contiguous", "ja")] == ["はい", "いいえ"]
    assert by_label[t("balance", "ja")] == ["1.235", "—"]
    assert len(rows) == 3


def test_japanese_n03_towns_on_the_planner(shared_dir):
    """The Izu N03 boundaries: Japanese names intact, codes recognised as N03, MLIT credit shown."""
    from service.map_data import is_n03

    path = shared_dir / "data" / "japan" / "izu" / "izu_kamo_municipalities_n03_2021_s1pct.geojson"
    izu = gpd.read_file(path)
    towns = gpd.GeoDataFrame(
        {"code": izu["N03_007"].astype(str), "name": izu["N03_004"]},
        geometry=izu.geometry,
        crs=4326,
    )
    assert is_n03(list(towns["code"]))
    assert not is_n03(["LI-7001"])
    html = decoded(
        maps.planner_page_html(towns, k=2, evaluate_url="/e", scenario="1", lang="ja", n03=True)
    )
    assert "下田市" in html
    assert "南伊豆町" in html
    assert MLIT_N03_ATTRIBUTION in html
    assert '"22219"' in html


def test_plan_map_colours_routes_by_crew_with_a_matching_legend(layers):
    """Each crew's routes in its own colour, and the legend lists those colours per crew."""
    routes = layers["routes"].copy()
    routes["crew"] = ["1", "2"]
    html = maps.plan_map_html(title="Demo", lang="ja", **{**layers, "routes": routes})
    legend = html[html.index('id="legend"') :]
    for colour, crew in zip(maps.CREW_COLOURS[:2], ["1", "2"], strict=True):
        assert f"{t('crew', 'ja')} {crew}" in legend
        assert colour in legend
        assert html.count(colour) >= 2  # the legend row and the route drawn in it
    # The serve/drive colours of the route page are not what this map draws.
    assert maps.SERVE_COLOUR not in legend
