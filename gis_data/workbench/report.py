"""The implementation-policy draft (実施方針（案）) as HTML and Markdown, and its tables as .xlsx.

The draft follows the adoption steps of the 群マネ guide (see ``../shared/DOMAIN.md``): the
problems and expected effects (課題と期待される効果); (1) the management strategy: the scope
matrix of fields x processes, multi-year contract, performance-based specification; (2) the
municipalities' bundle: ordering pattern, a scheme (region map) and phases, cost sharing;
(3) engineer and data collaboration. Figures come from `gis_data.planning.effects` and
`planning.cost_share`; the map is a matplotlib PNG (embedded as base64 in HTML, a linked file in
Markdown); Jinja2 templates in ``workbench/templates``. The workbook has one sheet per
table, like the guide's Excel tools, plus the assumptions.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from gis_data.planning.effects import FIELD_LABELS_JA, METRICS, EffectEstimate, UnitCosts
from gis_data.planning.plan_settings import PlanSettings

if TYPE_CHECKING:
    import geopandas as gpd

    from gis_data.planning.cost_share import ShareResult

TEMPLATES = Path(__file__).with_name("templates")
ATTRIBUTION = "© OpenStreetMap contributors"
PROCESSES = ("計画策定", "点検", "設計", "工事", "巡回", "清掃・除草・剪定", "窓口業務")
DEFAULT_SCOPE = ("巡回", "清掃・除草・剪定", "窓口業務")
DEFAULT_ISSUES = (
    "技術職員が少なく、施設の巡回・点検・補修を直営で続けることが難しくなっている。",
    "小規模な維持作業の入札で不調・不落が生じている。",
    "道路・河川・公園を自治体ごと・分野ごとに別々に巡回しており、移動が重複している。",
)
DEFAULT_COLLABORATION = (
    "施設データ（道路・河川・公園）を共通の形式（GeoPackage/GeoJSON）で一元管理し、構成自治体と"
    "受注者が同じデータを参照する。",
    "巡回記録（GPS軌跡・GPX）を受注者から受け取り、巡回計画（日別ルート）と照合して履行を確認する。",
    "構成自治体の技術職員による合同研修・相互応援の体制をつくり、発注・監督の知見を共有する。",
    "契約区域は地元事業者が受注できる規模とし、事業者の束（JV・事業協同組合）による受注を想定する。",
)
COST_BASIS = {
    "crew_hour_yen": "2人1班、1人約3,100円/時（公共工事設計労務単価 令和7年3月 全職種平均 "
    "24,852円/日 程度、諸経費を含まない）",
    "vehicle_km_yen": "燃料 約175円/L・10km/L（17.5円/km）＋タイヤ・整備費（想定）",
    "vehicle_day_yen": "巡回用軽トラックのリース 約8万円/月÷20日（想定）",
    "fuel_km_per_l": "低速巡回・停車の多い軽トラック（想定）",
    "co2_kg_per_l": "ガソリンの排出係数 2.32 t-CO2/kL（温室効果ガス排出量算定・報告・公表制度 "
    "算定方法・排出係数一覧）",
    "staff_hours_per_crew_hour_town": "現状は職員2名が巡回車に乗車（直営）（想定）",
    "staff_hours_per_crew_hour_contractor": "性能規定の包括委託では報告確認等のみ（想定）",
}


@dataclass(frozen=True)
class ReportInputs:
    """Everything the report shows."""

    scenario_name: str
    town_names: dict[str, str]
    populations: dict[str, float]
    fields_present: tuple[str, ...]
    effects: EffectEstimate
    settings: PlanSettings
    municipalities: gpd.GeoDataFrame
    depots: gpd.GeoDataFrame | None = None
    shares: ShareResult | None = None
    regions: gpd.GeoDataFrame | None = None
    region_method: str = ""
    asset_region: dict[str, str] = field(default_factory=dict)
    calendar: dict[str, Any] | None = None
    created: dt.date = field(default_factory=dt.date.today)
    # The workbench section (`workbench.workbench_report.workbench_section`): current state,
    # ordering status (its scope pre-fills the matrix when the settings name none), k frontier.
    workbench: dict[str, Any] | None = None


def _yen(value: float) -> str:
    return f"{value:,.0f}"


def _num(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


def region_map_png(inputs: ReportInputs) -> bytes:
    """The scheme of the bundle: towns coloured by phase (or region), depots and yards marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Japanese labels need a CJK font; without one the map falls back to ASCII labels.
    jp = _use_japanese_font(plt)
    munis = inputs.municipalities.to_crs(3857)
    phase_of: dict[str, str] = {}
    for k, (phase, _) in enumerate(inputs.effects.phases):
        label = f"{phase.label}（{phase.start}〜）" if jp else f"Phase {k + 1} (from {phase.start})"
        for code in phase.towns:
            phase_of.setdefault(code, label)
    fig, ax = plt.subplots(figsize=(7, 8), dpi=110)
    everyone = "群マネ（全体）" if jp else "full bundle"
    labels = [phase_of.get(str(c), everyone) for c in munis["municipality_code"]]
    munis = munis.assign(phase=labels)
    munis.plot(
        ax=ax,
        column="phase",
        cmap="Set2",
        edgecolor="#222",
        linewidth=0.6,
        alpha=0.8,
        legend=True,
        legend_kwds={"loc": "lower left", "fontsize": 8},
    )
    if inputs.regions is not None and len(inputs.regions):
        # Contract regions as coloured outlines over the phase fill.
        regions = inputs.regions.to_crs(3857)
        cmap = plt.get_cmap("tab10")
        for k, (_, row) in enumerate(regions.iterrows()):
            color = cmap(k % 10)
            gpd_boundary = regions.iloc[[k]].boundary
            gpd_boundary.plot(ax=ax, color=color, linewidth=2.5)
            p = row.geometry.representative_point()
            name = f"区域{row['region']}" if jp else f"Region {row['region']}"
            ax.annotate(name, (p.x, p.y), ha="center", fontsize=11, weight="bold", color=color)
    for _, row in munis.iterrows():
        p = row.geometry.representative_point()
        name = str(row["municipality"]) if jp else str(row["municipality_code"])
        ax.annotate(name, (p.x, p.y), ha="center", va="top", fontsize=7)
    if inputs.depots is not None and len(inputs.depots):
        depots = inputs.depots.to_crs(3857)
        yards = depots[depots["kind"] == "contractor"]
        towns = depots[depots["kind"] != "contractor"]
        if len(towns):
            towns.plot(ax=ax, color="#1f4e79", markersize=12, marker="o")
        if len(yards):
            yards.plot(ax=ax, color="#c00000", markersize=60, marker="^")
    ax.set_axis_off()
    ax.set_title(
        f"{inputs.scenario_name}: 自治体の束と段階（▲ 事業者拠点、● 役場の車庫）", fontsize=9
    )
    fig.text(0.01, 0.01, ATTRIBUTION, fontsize=7, color="#555")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


_CJK_FONTS = ("Noto Sans CJK JP", "IPAexGothic", "IPAGothic", "IPAPGothic", "TakaoGothic")


def _use_japanese_font(plt: Any) -> bool:
    """Use an installed CJK font; False when there is none."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    if not installed & set(_CJK_FONTS):
        # matplotlib's cache may predate system fonts: register known CJK font files once.
        for path in font_manager.findSystemFonts():
            if any(key in Path(path).name.lower() for key in ("ipag", "ipaexg", "notosanscjk")):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError):
                    continue
        installed = {f.name for f in font_manager.fontManager.ttflist}
    for name in _CJK_FONTS:
        if name in installed:
            plt.rcParams["font.family"] = name
            return True
    return False


def _scope_matrix(inputs: ReportInputs) -> list[dict[str, Any]]:
    scope = inputs.settings.report.scope
    if scope is None and inputs.workbench and inputs.workbench.get("scope"):
        # The default scope plus what the ordering status suggests (bundled, failing tenders).
        suggested = inputs.workbench["scope"]
        scope = {f: [*DEFAULT_SCOPE, *suggested.get(f, [])] for f in inputs.fields_present}
    rows = []
    for f in inputs.fields_present:
        chosen = set(scope.get(f, [])) if scope is not None else set(DEFAULT_SCOPE)
        rows.append(
            {
                "field": FIELD_LABELS_JA.get(f, f),
                "cells": ["○" if p in chosen else "－" for p in PROCESSES],
            }
        )
    return rows


def build_context(inputs: ReportInputs, *, map_src: str) -> dict[str, Any]:
    """Values for the templates (numbers already formatted)."""
    eff = inputs.effects
    rows = eff.comparison_rows()
    by_key = {r["metric"]: r for r in rows}
    comparison = [
        {
            "label": r["label"],
            "unit": r["unit"],
            "siloed": _num(r["siloed"], 0 if r["unit"] in ("円", "班日", "台") else 1),
            "bundled": _num(r["bundled"], 0 if r["unit"] in ("円", "班日", "台") else 1),
            "saving": _num(r["saving"], 0 if r["unit"] in ("円", "班日", "台") else 1),
            "saving_pct": _num(r["saving_pct"], 1),
        }
        for r in rows
    ]
    phases = [
        {
            "label": r["phase"],
            "start": r["start"],
            "towns": "、".join(inputs.town_names.get(c, c) for c in r["towns"].split(", ")),
            "cost": _yen(r["cost_yen"]),
            "saving": _yen(r["saving_yen"]),
            "staff": _num(r["staff_hours_freed"], 0),
            "vehicles": f"{r['vehicles']:.0f}",
        }
        for r in eff.phase_rows()
    ]
    shares = None
    if inputs.shares is not None:
        sr = inputs.shares
        shares = {
            "rules": [RULE_LABELS.get(r, r) for r in sr.rules],
            "rows": [
                {
                    "name": t.name,
                    "population": "" if t.population != t.population else f"{t.population:,.0f}",
                    "km": _num(t.asset_km, 1),
                    "alone": _yen(t.alone_yen),
                    "shares": [_yen(t.shares[r]) for r in sr.rules],
                    "saving": _yen(t.saving("shapley")),
                }
                for t in sr.towns
            ],
            "total": _yen(sr.total_yen),
            "method": sr.method,
            "core_checked": sr.core_checked,
            "core": [
                {
                    "rule": RULE_LABELS.get(rule, rule),
                    "count": len(v),
                    "worst": (
                        "、".join(inputs.town_names.get(c, c) for c in v[0]["towns"])
                        + f"（{_yen(v[0]['excess_yen'])}円 超過）"
                    )
                    if v
                    else "",
                }
                for rule, v in sr.violations.items()
            ],
            "solves": sr.solves,
            "coalitions": sr.coalitions,
        }
    costs = inputs.settings.costs
    assumptions = [
        {"key": f.name, "value": _num(getattr(costs, f.name), 2), "basis": COST_BASIS[f.name]}
        for f in fields(UnitCosts)
    ]
    freq = inputs.settings.frequencies
    frequencies = [
        ("幹線道路（trunk/primary/secondary/tertiary）", f"{freq.arterial_road} 稼働日ごと"),
        ("その他の道路", f"{freq.local_road} 稼働日ごと"),
        ("河川", f"{freq.river} 稼働日ごと"),
        (
            "公園",
            f"成長期（{min(freq.growing_months)}〜{max(freq.growing_months)}月）"
            f"{freq.park_growing} 稼働日ごと、その他 {freq.park_off_season} 稼働日ごと",
        ),
        ("下水道・その他", f"{freq.sewer} 稼働日ごと"),
    ]
    s, b = eff.siloed, eff.bundled
    opts = inputs.settings.report
    return {
        "title": opts.title,
        "scenario": inputs.scenario_name,
        "created": inputs.created.isoformat(),
        "horizon": eff.horizon,
        "towns": "、".join(inputs.town_names.values()),
        "issues": opts.issues or list(DEFAULT_ISSUES),
        "highlights": [
            f"{eff.horizon} の巡回費用 {_yen(by_key['cost_yen']['saving'])} 円の削減"
            f"（{_num(by_key['cost_yen']['saving_pct'])}%）",
            f"職員の直営対応時間 {_num(by_key['staff_hours']['saving'], 0)} 時間の削減",
            f"必要車両 {s.vehicles} 台 → {b.vehicles} 台、延べ班日数 {s.crew_days} → {b.crew_days}",
            f"走行距離 {_num(by_key['km']['saving'], 0)} km、CO2 "
            f"{_num(by_key['co2_kg']['saving'] / 1000.0, 2)} t-CO2 の削減",
        ],
        "siloed_label": s.label,
        "bundled_label": b.label,
        "comparison": comparison,
        "processes": list(PROCESSES),
        "scope": _scope_matrix(inputs),
        "contract": f"有（{opts.contract_years}年）" if opts.contract_years > 1 else "無（単年度）",
        "performance": "有" if opts.performance_spec else "無",
        "ordering": opts.ordering,
        "map_src": map_src,
        "region_method": inputs.region_method,
        "phases": phases,
        "shares": shares,
        "collaboration": opts.collaboration or list(DEFAULT_COLLABORATION),
        "assumptions": assumptions,
        "frequencies": frequencies,
        "method": s.method,
        "solves": eff.solves,
        "calendar": inputs.calendar,
        "attribution": ATTRIBUTION,
        "settings_source": inputs.settings.source,
        "workbench": inputs.workbench,
    }


RULE_LABELS = {
    "shapley": "シャープレイ値",
    "asset_km": "施設延長比",
    "workload": "作業量比",
    "population": "人口比",
}


def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(inputs: ReportInputs, *, png: bytes) -> str:
    """The draft as one self-contained HTML page (map embedded)."""
    src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    context = build_context(inputs, map_src=src)
    env = _env()
    env.autoescape = True
    return env.get_template("jisshi_houshin.html.j2").render(**context)


def render_markdown(inputs: ReportInputs, *, map_file: str) -> str:
    """The draft as Markdown, the map linked as ``map_file``."""
    return (
        _env()
        .get_template("jisshi_houshin.md.j2")
        .render(**build_context(inputs, map_src=map_file))
    )


def write_xlsx(inputs: ReportInputs, path: Path) -> Path:
    """The effect and cost tables as a workbook (one sheet per table, plus the assumptions)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    wb = Workbook()
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")

    def sheet(title: str, header: list[str], rows: list[list[Any]], first: bool = False) -> None:
        ws = wb.active if first else wb.create_sheet()
        assert ws is not None
        ws.title = title
        ws.append(header)
        for cell in ws[1]:
            cell.font = bold
            cell.fill = fill
        for row in rows:
            ws.append(row)
        for col in ws.columns:
            width = max(len(str(c.value or "")) for c in col)
            ws.column_dimensions[col[0].column_letter].width = min(60, max(10, width * 1.6))
        for row_cells in ws.iter_rows(min_row=2):
            for c in row_cells:
                if isinstance(c.value, float):
                    c.number_format = "#,##0.0"

    eff = inputs.effects
    sheet(
        "導入効果",
        ["項目", "単位", eff.siloed.label, eff.bundled.label, "削減量", "削減率(%)"],
        [
            [r["label"], r["unit"], r["siloed"], r["bundled"], r["saving"], r["saving_pct"]]
            for r in eff.comparison_rows()
        ],
        first=True,
    )
    sheet(
        "段階別",
        [
            "段階",
            "開始年度",
            "参加自治体",
            *[label for _, label, _ in METRICS],
            "削減額(円)",
            "直営対応時間の削減(時間)",
        ],
        [
            [
                r["phase"],
                r["start"],
                r["towns"],
                *[r[k] for k, _, _ in METRICS],
                r["saving_yen"],
                r["staff_hours_freed"],
            ]
            for r in eff.phase_rows()
        ],
    )
    sheet(
        "自治体別（現状）",
        ["単位", "自治体", "走行距離(km)", "稼働時間(h)", "班日", "車両", "計算回数"],
        [
            [
                u.label,
                ",".join(u.towns),
                u.km,
                u.crew_minutes / 60.0,
                u.crew_days,
                u.vehicles,
                u.solves,
            ]
            for u in eff.siloed.units + eff.bundled.units
        ],
    )
    if inputs.shares is not None:
        sr = inputs.shares
        header = ["自治体コード", "自治体", "人口", "施設延長(km)", "作業量(h)", "単独費用(円)"]
        for rule in sr.rules:
            header += [
                f"{RULE_LABELS.get(rule, rule)}(円)",
                f"{RULE_LABELS.get(rule, rule)}削減額(円)",
            ]
        rows = []
        for t in sr.towns:
            row: list[Any] = [t.code, t.name, t.population, t.asset_km, t.workload_h, t.alone_yen]
            for rule in sr.rules:
                row += [t.shares[rule], t.saving(rule)]
            rows.append(row)
        rows.append(["合計", "", None, None, None, None, *([sr.total_yen, None] * len(sr.rules))])
        sheet("費用分担", header, rows)
        core_rows = [
            [
                RULE_LABELS.get(rule, rule),
                ",".join(v["towns"]),
                v["paid_yen"],
                v["alone_yen"],
                v["excess_yen"],
            ]
            for rule, found in sr.violations.items()
            for v in found
        ]
        sheet(
            "コア検証",
            ["配分方法", "自治体の組", "負担額(円)", "単独での費用(円)", "超過(円)"],
            core_rows or [["（違反なし）", sr.core_checked, None, None, None]],
        )
    costs = inputs.settings.costs
    sheet(
        "前提条件",
        ["項目", "値", "根拠"],
        [[f.name, float(getattr(costs, f.name)), COST_BASIS[f.name]] for f in fields(UnitCosts)]
        + [["算定方法", eff.siloed.method, ""], ["出典", ATTRIBUTION, ""]],
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


@dataclass(frozen=True)
class ReportFiles:
    """Paths written by `write_report`."""

    html: Path
    markdown: Path
    xlsx: Path
    map_png: Path


def write_report(inputs: ReportInputs, out_dir: str | Path) -> ReportFiles:
    """Write 実施方針.html/.md, region_map.png and 導入効果_費用分担.xlsx to ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    png = region_map_png(inputs)
    map_png = out / "region_map.png"
    map_png.write_bytes(png)
    html = out / "実施方針.html"
    html.write_text(render_html(inputs, png=png), encoding="utf-8")
    md = out / "実施方針.md"
    md.write_text(render_markdown(inputs, map_file=map_png.name), encoding="utf-8")
    xlsx = write_xlsx(inputs, out / "導入効果_費用分担.xlsx")
    return ReportFiles(html=html, markdown=md, xlsx=xlsx, map_png=map_png)
