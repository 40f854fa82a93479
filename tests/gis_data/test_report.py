"""The 実施方針 draft: the guide's chapters in order, one set of numbers, proper Japanese, the
cooperation scheme, the figures and every export (HTML, Markdown, Word, workbook)."""

from __future__ import annotations

import dataclasses
import re

import geopandas as gpd
import pytest
from docx import Document as Docx
from openpyxl import load_workbook
from shapely.geometry import Point, box

from gis_data.planning.cooperation import Cooperation
from gis_data.planning.cost_share import CouncilFormula, build_coalition_cost, share_costs
from gis_data.planning.effects import Phase, PlanCosting, estimate_effects
from gis_data.planning.plan_settings import PlanSettings, ReportOptions, default_phases
from gis_data.planning.work_calendar import parse_horizon
from gis_data.workbench.intake import Intake, OrderRecord, StaffRecord
from gis_data.workbench.report import (
    ReportInputs,
    build_document,
    report_figures,
    schemes,
    scope_rows,
    write_report,
)
from gis_data.workbench.report_doc import render_markdown
from tests.gis_data._grid_router import STEP, X0, Y0, GridRouter, grid_towns

CODES = ("T1", "T2")
NAMES = {"T1": "一町", "T2": "二村"}
PCT = {"planning": 10.0, "inspection": 30.0, "works": 10.0, "maintenance": 40.0, "counter": 10.0}
AGES = {"under30": 0, "30s": 1, "40s": 1, "50s": 2, "60plus": 1}
# ASCII words a Japanese official document may carry: proper nouns and units.
ALLOWED_ASCII = {"OpenStreetMap", "contributors", "km", "kg", "CO2", "t", "L", "kL", "h", "m", "JV"}
GUIDE_ORDER = (
    "［自治体が抱える課題と群マネ導入で期待する効果］",
    "（１）業務のマネジメント戦略",
    "①対象範囲（インフラ分野×業務プロセス）",
    "②発注方式等",
    "（２）自治体の束",
    "（３）技術者連携、データ連携",
    "①技術者連携の具体メニュー",
    "②データ連携の具体メニュー",
    "参考資料",
)


def _munis(codes):
    return gpd.GeoDataFrame(
        {
            "municipality_code": list(codes),
            "municipality": [NAMES[c] for c in codes],
            "geometry": [
                box(X0 + 2 * k * STEP - 250, Y0 - 250, X0 + (2 * k + 2) * STEP - 250, Y0 + 1250)
                for k in range(len(codes))
            ],
        },
        crs="EPSG:2056",
    )


@pytest.fixture(scope="module")
def inputs():
    towns = grid_towns(CODES, width=2)
    router = GridRouter(towns)
    horizon = parse_horizon("2026-06")
    costing = PlanCosting(towns.assets, router, horizon, metric_crs="EPSG:2056")
    effects = estimate_effects(
        costing,
        town_depots={c: f"depot:{c}" for c in CODES},
        bundle_depots="yard",
        phases=[Phase("第1期", "FY2026", ("T1",)), Phase("第2期", "FY2028", CODES)],
    )
    cost = build_coalition_cost(
        towns.assets, router, horizon, depot="yard", sample_days=2, metric_crs="EPSG:2056"
    )
    shares = share_costs(cost, towns.assets, names=NAMES, populations=towns.population)
    depots = gpd.GeoDataFrame(
        {"depot_id": ["yard"], "kind": ["contractor"], "geometry": [Point(X0 + 1000, Y0 + 500)]},
        crs="EPSG:2056",
    )
    settings = PlanSettings(
        report=ReportOptions(contract_years=5, performance_spec=False),
        cooperation=Cooperation(pattern="delegated_execution", lead="T2", admin_fee_rate=0.02),
        cost_share=CouncilFormula(
            equal=0.2, population=0.3, actual=0.5, departments={"park": "都市計画課"}
        ),
    )
    return ReportInputs(
        scenario_name="二町村",
        town_names=NAMES,
        populations={c: float(p) for c, p in towns.population.items()},
        fields_present=("road", "river", "park"),
        effects=effects,
        settings=settings,
        municipalities=_munis(CODES),
        depots=depots,
        shares=shares,
        region_method="1 region",
        assets=towns.assets,
    )


@pytest.fixture(scope="module")
def files(inputs, tmp_path_factory):
    return write_report(inputs, tmp_path_factory.mktemp("report"))


def _headings(doc) -> list[str]:
    return [b.text for b in doc.blocks if b.kind == "h"]


def _ascii_words(text: str) -> set[str]:
    text = re.sub(r"\]\([^)]*\)", "]", text)  # Markdown link targets are file names
    return set(re.findall(r"[A-Za-z][A-Za-z0-9_]*", text))


def test_chapters_follow_the_guide_with_the_reference_after_three(inputs) -> None:
    """The guide's headings in its order; (3) split into ① and ②; 参考資料 comes last."""
    heads = _headings(build_document(inputs, map_png=None))
    positions = [heads.index(h) for h in GUIDE_ORDER]
    assert positions == sorted(positions)
    assert heads.index("参考資料") > heads.index("（３）技術者連携、データ連携")


def test_the_text_is_japanese_with_reiwa_years_and_signed_changes(inputs, files) -> None:
    """No ASCII word outside the allow-list in any visible text or the Markdown; 令和 years, no
    FY label or ISO date; no minus sign before a number (a negative saving is 増加)."""
    doc = build_document(inputs, map_png=b"png")
    text = doc.plain_text()
    md = files.markdown.read_text(encoding="utf-8")
    for t in (text, md):
        assert _ascii_words(t) <= ALLOWED_ASCII, _ascii_words(t) - ALLOWED_ASCII
        assert "令和8年度" in t
        assert not re.search(r"FY\d{4}|\d{4}-\d{2}-\d{2}", t)
        minus = re.search(r"(?<![\w.])-\d", t)
        assert not minus, t[max(0, minus.start() - 80) : minus.end() + 20]
    # 発注方式 is the tender method: only the guide's heading ②発注方式等 uses the word.
    assert text.count("発注方式") == text.count("②発注方式等") == 1
    assert "シャープレイ値：" in text
    assert "コア（公平性の確認）：" in text


def test_one_set_of_numbers(inputs, files) -> None:
    """The bundled estimate is the total every table splits: the council formula, the Shapley
    table, the budget's modelled work and the workbook agree to the yen."""
    fig = report_figures(inputs)
    bundled = inputs.effects.bundled
    assert fig.total_yen == bundled.cost_yen
    assert sum(u.cost_yen(bundled.costs) for u in bundled.units) == pytest.approx(
        fig.total_yen, abs=0.5
    )
    assert sum(c.total_yen for c in fig.council) == pytest.approx(fig.total_yen, abs=1e-6)
    assert fig.shares is not None
    assert fig.shares.total_yen == fig.total_yen
    for rule in fig.shares.rules:
        assert sum(t.shares[rule] for t in fig.shares.towns) == pytest.approx(fig.total_yen)
    modelled = sum(
        x.after for t in fig.budget.towns for x in t.lines if x.item == "巡回等の作業費（群マネ）"
    )
    assert modelled == pytest.approx(fig.total_yen * fig.budget.scale)
    assert sum(fig.admin_fees.values()) == pytest.approx(0.0, abs=1e-6)
    wb = load_workbook(files.xlsx)
    share_rows = list(wb["費用分担"].iter_rows(min_row=2, values_only=True))
    assert share_rows[-1][0] == "合計"
    assert share_rows[-1][5] == pytest.approx(bundled.cost_yen)
    md = files.markdown.read_text(encoding="utf-8")
    assert f"{bundled.cost_yen:,.0f}円" in md


def test_delegated_execution_fills_the_legal_items_fees_and_diagram(inputs, files) -> None:
    """事務の代替執行: 共同処理制度 有, the members pay the lead a fee, one contract drawn."""
    text = build_document(inputs, map_png=None).plain_text()
    assert "連携の形態：事務の代替執行（幹事・執行団体：二村）" in text
    assert "地方自治法上の共同処理制度の適用：有" in text
    assert "連携協力道路制度の活用：無" in text
    fig = report_figures(inputs)
    assert fig.admin_fees["T1"] > 0 > fig.admin_fees["T2"]
    svgs = [p for p in files.figures if p.suffix == ".svg"]
    assert len(svgs) == 2  # phase 1 (one town) and phase 2 (both)
    final = svgs[-1].read_text(encoding="utf-8")
    assert "代替執行の規約" in final
    assert "委託契約（一本）" in final
    html = files.html.read_text(encoding="utf-8")
    assert "<svg" in html


def test_one_town_has_no_cost_sharing_and_no_rivers_no_river_text(inputs) -> None:
    """A single town without rivers: no cost sharing, no pattern chapter, no river text."""
    towns = grid_towns(("T1",), width=2)
    roads_parks = towns.assets[towns.assets["field"] != "river"].reset_index(drop=True)
    costing = PlanCosting(
        roads_parks, GridRouter(towns), parse_horizon("2026-06"), metric_crs="EPSG:2056"
    )
    effects = estimate_effects(costing, town_depots={"T1": "depot:T1"}, bundle_depots="yard")
    single = dataclasses.replace(
        inputs,
        town_names={"T1": "一町"},
        populations={"T1": 1000.0},
        fields_present=("road", "park"),
        effects=effects,
        shares=None,
        municipalities=_munis(("T1",)),
        assets=roads_parks,
        settings=PlanSettings(),
    )
    text = build_document(single, map_png=None).plain_text()
    assert "費用分担" not in text
    assert "共同発注" not in text
    assert "連携の形態" not in text
    assert "河川" not in text
    assert "単独で包括的な委託" in text
    assert report_figures(single).council == ()


def test_intake_drives_the_default_texts_and_the_status_quo(inputs) -> None:
    """The failed-tender text appears only when the intake shows failed tenders; with contracts
    in the intake the status quo is their amount, labelled as from the intake."""
    staff = tuple(StaffRecord(c, NAMES[c], AGES, PCT, PCT) for c in CODES)
    calm = Intake(
        staff=staff,
        orders=(OrderRecord("建設課", "T1", "road", "patrol", "annual", 2e6, tenders=3),),
    )
    failing = Intake(
        staff=staff,
        orders=(OrderRecord("建設課", "T1", "road", "patrol", "per_job", 2e6, failed_tenders=2),),
    )
    calm_text = build_document(dataclasses.replace(inputs, intake=calm), map_png=None).plain_text()
    fail_text = build_document(
        dataclasses.replace(inputs, intake=failing), map_png=None
    ).plain_text()
    assert "不調・不落" not in calm_text.split("［実施内容］")[0]
    assert "不調・不落が2件" in fail_text
    assert "発注状況（ツール2）の記入がない" not in calm_text
    assert "発注状況（ツール2）の記入がない" in build_document(inputs, map_png=None).plain_text()


def test_exports_open_and_credit_their_sources(inputs, files) -> None:
    """HTML embeds the map, Markdown links it, Word opens with the chapters, the workbook holds
    the budget and shares; every map credits OSM and the N03 boundaries."""
    html = files.html.read_text(encoding="utf-8")
    md = files.markdown.read_text(encoding="utf-8")
    assert "data:image/png;base64," in html
    assert "](region_map.png)" in md
    assert files.map_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for text in (html, md):
        assert "© OpenStreetMap contributors" in text
        assert "出典：国土数値情報（行政区域データ）（国土交通省）" in text
    word = Docx(str(files.docx))
    paragraphs = [p.text for p in word.paragraphs]
    assert "（２）自治体の束" in paragraphs
    assert len(word.tables) >= 5
    wb = load_workbook(files.xlsx)
    assert {
        "導入効果",
        "予算（自治体別）",
        "予算（年度別）",
        "費用分担",
        "部署別",
        "前提条件",
    } <= set(wb.sheetnames)
    sources = {row[7] for row in wb["予算（自治体別）"].iter_rows(min_row=2, values_only=True)}
    assert {"経路計算による試算", "設定値"} <= sources


def test_markdown_of_the_same_document_is_stable(inputs) -> None:
    """Rendering is deterministic: the same inputs give the same Markdown."""
    a = render_markdown(build_document(inputs, map_png=None))
    b = render_markdown(build_document(inputs, map_png=None))
    assert a == b


def test_default_phases_start_with_the_most_populous_town() -> None:
    """Without configured phases: largest town first, one more per phase, two years apart."""
    phases = default_phases({"A": 100.0, "B": 900.0, "C": 500.0, "D": 50.0})
    assert [p.towns for p in phases] == [("B",), ("B", "C"), ("B", "C", "A")]
    assert [p.start for p in phases] == ["FY2026", "FY2028", "FY2030"]
    unknown = default_phases({"A": float("nan"), "B": 10.0})
    assert [p.towns for p in unknown] == [("B",), ("B", "A")]


def test_maintenance_work_is_ticked_costed_and_planned(inputs) -> None:
    """With the assets, the routine row names the modelled work and is ticked; bridges (absent
    from the data) stay unticked; the budget carries the work by quantities; the report shows
    its monthly crew-days per trade."""
    fig = report_figures(inputs)
    rows = {(r[0], r[1]): r[2:] for r in scope_rows(inputs, fig)}
    routine = next(k for k in rows if k[0] == "道路" and k[1].startswith("巡回"))
    assert "除草" in routine[1]
    assert "清掃" in routine[1]
    assert rows[routine][4] == "●"
    assert rows[("道路", "橋梁")][1] == "－"
    lines = [x for t in fig.budget.towns for x in t.lines if x.source == "quantities"]
    assert sum(x.after or 0.0 for x in lines) == pytest.approx(fig.maintenance.cost_yen())
    heads = _headings(build_document(inputs, map_png=None))
    assert "維持作業の年間計画（職種別の延べ班日数）" in heads


def test_stored_figures_rebuild_the_same_document(inputs) -> None:
    """The effect estimate and shares stored as JSON (what the jobs keep) rebuild a document
    identical to the one from the live objects: the report page shows the computed numbers."""
    import json

    from gis_data.planning.cost_share import shares_from_json
    from gis_data.planning.effects import estimate_from_json
    from gis_data.planning.workflows import effects_json, shares_json

    stored_effects = json.loads(json.dumps(effects_json(inputs.effects, NAMES)))
    stored_shares = json.loads(json.dumps(shares_json(inputs.shares)))
    rebuilt = dataclasses.replace(
        inputs,
        effects=estimate_from_json(stored_effects, inputs.settings.costs),
        shares=shares_from_json(stored_shares),
    )
    assert render_markdown(build_document(rebuilt, map_png=None)) == render_markdown(
        build_document(inputs, map_png=None)
    )


def test_a_prefecture_member_pays_for_its_roads_and_the_towns_the_rest(inputs) -> None:
    """With T2 as the prefecture's 県道: its share is the total x its workload share, T1 pays the
    rest, and the shares still add up to the bundled total."""
    settings = dataclasses.replace(
        inputs.settings,
        cooperation=Cooperation(
            pattern="cooperative_road", lead="prefecture", prefecture="某県", prefecture_code="T2"
        ),
    )
    fig = report_figures(dataclasses.replace(inputs, settings=settings))
    by_code = {c.code: c for c in fig.council}
    work = dict.fromkeys(CODES, 0.0)
    for u in inputs.effects.siloed.units:
        work[u.towns[0]] += u.crew_minutes
    assert by_code["T2"].total_yen == pytest.approx(fig.total_yen * work["T2"] / sum(work.values()))
    assert sum(c.total_yen for c in fig.council) == pytest.approx(fig.total_yen)
    assert fig.lead == "T2"
    text = build_document(dataclasses.replace(inputs, settings=settings), map_png=None).plain_text()
    assert "連携協力道路制度の活用：有" in text
    assert "幹事・執行団体：某県" in text
    # The 県道 are patrolled at the prefecture's own interval, stated with the assumptions.
    assert settings.frequencies.prefecture_owners == {"T2"}
    assert f"県道（某県の管理）：{settings.frequencies.prefectural_road}稼働日ごと" in text


def _docx_pictures(path_or_bytes) -> tuple[list[str], list[bytes], list[str]]:
    """Paragraph texts, the PNG images placed inline, and every table cell of a Word file."""
    import io

    word = Docx(io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes)
    images = [
        word.part.related_parts[shape._inline.graphic.graphicData.pic.blipFill.blip.embed].blob
        for shape in word.inline_shapes
    ]
    cells = [c.text for t in word.tables for row in t.rows for c in row.cells]
    return [p.text for p in word.paragraphs], images, cells


def test_word_file_draws_the_scheme_of_each_phase_and_the_credited_map(inputs, files) -> None:
    """The .docx places the region map and one scheme diagram per phase as pictures; the map's
    caption credits OSM and the N03 boundaries."""
    import matplotlib.pyplot as plt

    from gis_data.workbench.cjk_font import use_japanese_font

    if not use_japanese_font(plt):
        pytest.skip("no CJK font installed (fonts-ipafont-gothic): the fallback test covers it")
    paragraphs, images, _ = _docx_pictures(str(files.docx))
    n_schemes = len(schemes(inputs, report_figures(inputs)))
    assert n_schemes == 2
    assert len(images) == 1 + n_schemes
    assert all(img[:8] == b"\x89PNG\r\n\x1a\n" for img in images)
    # The schemes come first (広域連携スキームの図), then the map (契約区域).
    assert images[-1] == files.map_png.read_bytes()
    # Distinct drawings: phase 1 (one town, one contract) and phase 2 (the agreement, the lead).
    assert images[0] != images[1]
    captions = [t for t in paragraphs if t.startswith("スキーム図：")]
    assert len(captions) == n_schemes
    credit = next(t for t in paragraphs if "契約区域" in t and "地図" in t)
    assert "© OpenStreetMap contributors" in credit
    assert "出典：国土数値情報（行政区域データ）（国土交通省）" in credit


def test_word_file_without_a_cjk_font_shows_the_scheme_as_a_table(inputs, monkeypatch) -> None:
    """No CJK font: no picture of empty boxes; each scheme's links become a table."""
    from gis_data.workbench import report_doc as rd
    from gis_data.workbench import scheme_figure

    monkeypatch.setattr(scheme_figure, "use_japanese_font", lambda plt: False)
    data = rd.render_docx(build_document(inputs, map_png=None))
    paragraphs, images, cells = _docx_pictures(data)
    assert images == []
    final = schemes(inputs, report_figures(inputs))[-1]
    assert {"団体", "相手方", "関係", "内容"} <= set(cells)
    for link in final.links:
        assert link.label in cells
        assert link.source in cells
    assert sum(t.startswith("スキーム図：") for t in paragraphs) == 2


def test_the_yearly_table_follows_the_phases(inputs, files) -> None:
    """Phase 1 (FY2026: T1 alone) and phase 2 (FY2028: both): each year of the five-year term
    is costed under the phase in force. A phase-1 year is T1's own bundle (its contractor
    units, the whole cost T1's) plus T2's status quo; a phase-2 year is the full bundle."""
    from gis_data.planning.budget import budget_estimate
    from gis_data.planning.effects import ScenarioFigures

    fig = report_figures(inputs)
    assert [y.year for y in fig.years] == [2026, 2027, 2028, 2029, 2030]
    assert [y.phase for y in fig.years] == ["第1期", "第1期", "第2期", "第2期", "第2期"]
    assert [y.members for y in fig.years[:2]] == [("T1",), ("T1",)]
    full = {t.code: t for t in fig.budget.towns}
    # Phase 2 (both towns) is the full bundle of the per-town table.
    for y in fig.years[2:]:
        assert y.total_after == pytest.approx(fig.budget.total("after"))
        assert y.total_before == pytest.approx(fig.budget.total("before"))
    # Phase 1: T1 bundles alone, at the phase's own routed figures, T2 as today.
    _, figures = inputs.effects.phases[0]
    own = ScenarioFigures("p1", tuple(u for u in figures.units if u.operator != "town"),
                          figures.costs)  # fmt: skip
    assert set(own.units[0].towns) == {"T1"}
    alone = budget_estimate(
        dataclasses.replace(inputs.effects, bundled=own, phases=()),
        shares={"T1": own.cost_yen},
        names=NAMES,
        rates=inputs.settings.budget,
        contract_years=5,
        first_year=2026,
        regions=len(own.units),
        maintenance_yen={"T1": fig.maintenance.cost_yen(town="T1")} if fig.maintenance else None,
    )
    expected = alone.total("after") + full["T2"].total("before")
    for y in fig.years[:2]:
        assert y.total_after == pytest.approx(expected)
        assert y.after["T2"] == pytest.approx(full["T2"].total("before"))
    assert fig.years[0].total_after != pytest.approx(fig.years[2].total_after)
    # The report and the workbook show the same rows; the term total is their sum.
    md = files.markdown.read_text(encoding="utf-8")
    term = sum(y.total_before for y in fig.years) - sum(y.total_after for y in fig.years)
    assert "第1期 | 一町 |" in md
    wb = load_workbook(files.xlsx)
    rows = list(wb["予算（年度別）"].iter_rows(min_row=2, values_only=True))
    assert [r[1] for r in rows] == ["第1期", "第1期", "第2期", "第2期", "第2期"]
    assert rows[0][4] == pytest.approx(expected)
    assert sum(r[3] - r[4] for r in rows) == pytest.approx(term)


def test_the_final_form_after_the_phases_claims_no_start_year(inputs) -> None:
    """Phases that stop short of every town: the last scheme is the final form, drawn without a
    start year (none is configured for it), after the phases' own schemes with theirs."""
    first_only = dataclasses.replace(
        inputs, effects=dataclasses.replace(inputs.effects, phases=inputs.effects.phases[:1])
    )
    titles = [s.title for s in schemes(first_only, report_figures(first_only))]
    assert titles == ["第1期（令和8年度～、一町）", "最終形（一町、二村）"]
    none = dataclasses.replace(inputs, effects=dataclasses.replace(inputs.effects, phases=()))
    assert [s.title for s in schemes(none, report_figures(none))] == [
        "最終形（令和8年6月～、一町、二村）"  # no phases: the one form from the horizon
    ]
