"""The implementation policy (群マネの実施方針（案）): HTML, Markdown, Word; tables as .xlsx.

The chapters follow the guide's format of the 実施方針 (``../shared/seed/``, outline in
``../shared/DOMAIN.md``), numbered as there:

- ［自治体が抱える課題と群マネ導入で期待する効果］: the problems (from the intake when given)
  and the effects, in budget terms per town and year (`planning.budget`) and in the engine's
  physical figures;
- （１）業務のマネジメント戦略 ［実施内容］ ①対象範囲 (field x asset x process, ticking only
  what the figures model or the settings declare) ②発注方式等 (multi-year contract, performance
  specification);
- （２）自治体の束: the cooperation scheme (`planning.cooperation`) with its legal items and an
  organisational diagram per phase, the phases, the contract regions map, the cost sharing (the
  council formula, the Shapley value and the core, each explained in plain words) - or, for a
  single town, its departments only;
- （３）技術者連携、データ連携: ①技術者連携 ②データ連携;
- 参考資料 after (3): the workbench's base material, the assumptions, the calendar, sources.

All figures come from one computation, `report_figures`: the bundled total of the effect
estimate is the total the cost shares split and the budget starts from, so the tables agree to
the yen. Years and dates are written in the Reiwa era, changes with their direction (削減 /
増加), road classes as 1級/2級/その他. The document is built once as blocks
(`workbench.report_doc`) and rendered to every format.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gis_data.planning.budget import (
    SOURCE_LABELS,
    Budget,
    BudgetYear,
    budget_estimate,
    phased_years,
)
from gis_data.planning.cooperation import (
    PATTERNS,
    Scheme,
    build_scheme,
    prefecture_share,
    scheme_svg,
)
from gis_data.planning.cost_share import (
    CouncilFormula,
    CouncilShare,
    council_shares,
    department_split,
)
from gis_data.planning.effects import (
    FIELD_LABELS_JA,
    METRICS,
    EffectEstimate,
    Phase,
    ScenarioFigures,
    UnitCosts,
)
from gis_data.planning.maintenance import UNITS_JA, MaintenancePlan, plan_maintenance
from gis_data.planning.plan_settings import PlanSettings
from gis_data.workbench import report_doc as rd
from gis_data.workbench.cjk_font import use_japanese_font
from gis_data.workbench.ja_format import (
    ROAD_CLASSES,
    change,
    date_ja,
    fiscal_year,
    horizon_ja,
    road_class_ja,
    start_year,
)
from gis_data.workbench.scheme_figure import scheme_png

if TYPE_CHECKING:
    import geopandas as gpd

    from gis_data.planning.cost_share import ShareResult
    from gis_data.workbench.intake import Intake

ATTRIBUTION = "© OpenStreetMap contributors"
N03_CREDIT = "出典：国土数値情報（行政区域データ）（国土交通省）を加工して作成"
# The scope matrix as in the guide: structure work (計画策定 .. 工事), routine work, counter.
PROCESSES = ("計画策定", "点検", "設計", "工事", "維持作業", "窓口業務")
# Process labels of the settings' scope and of the intake mapped onto the matrix columns.
PROCESS_ALIASES = {
    "計画策定": "計画策定",
    "点検": "点検",
    "設計": "設計",
    "工事": "工事",
    "巡回": "維持作業",
    "清掃・除草・剪定": "維持作業",
    "維持作業": "維持作業",
    "窓口業務": "窓口業務",
}
STRUCTURE_COLUMNS = ("計画策定", "点検", "設計", "工事")
ROUTINE_COLUMNS = ("維持作業", "窓口業務")
# Asset rows per field (the guide's matrix); the routine row names its routine work.
ASSET_ROWS = {
    "road": ("橋梁", "トンネル", "道路附属物", "舗装"),
    "river": ("河川構造物",),
    "park": ("遊具",),
    "sewer": ("管路施設・処理施設・ポンプ場",),
    "other": ("農道・林道・臨港道路",),
}
ROUTINE_ROWS = {
    "road": "巡回・清掃・除草・剪定",
    "river": "巡回・除草",
    "park": "巡回・除草・剪定",
    "sewer": "巡回",
    "other": "巡回",
}
COST_LABELS = {
    "crew_hour_yen": ("作業班1時間あたりの労務費", "円/時"),
    "vehicle_km_yen": ("車両の走行費", "円/km"),
    "vehicle_day_yen": ("車両1台1日あたりの費用", "円/日"),
    "fuel_km_per_l": ("燃費", "km/L"),
    "co2_kg_per_l": ("燃料1Lあたりの二酸化炭素排出量", "kg/L"),
    "staff_hours_per_crew_hour_town": ("直営巡回1時間あたりの職員時間", "時間"),
    "staff_hours_per_crew_hour_contractor": ("委託巡回1時間あたりの職員時間（報告確認等）", "時間"),
}
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
BUDGET_LABELS = {
    "management_fee_rate": ("全体マネジメント業務費の率（作業費に対して）", "％"),
    "overhead_rate": ("諸経費の率（作業費に対して）", "％"),
    "staff_hours_per_tender": ("入札1回あたりの職員時間（仕様・積算・公告・契約）", "時間"),
    "staff_hour_yen": ("職員1時間あたりの人件費", "円/時"),
    "per_job_tenders_per_year": ("都度発注の年間入札回数（記入がない場合）", "回"),
}
METRIC_LABELS = {
    "co2_kg": ("二酸化炭素排出量", "kg"),
}
RULE_LABELS = {
    "shapley": "シャープレイ値",
    "asset_km": "施設延長比",
    "workload": "作業量比",
    "population": "人口比",
}
SHAPLEY_PLAIN = (
    "シャープレイ値：各自治体が加わることで全体の費用がどれだけ増えるかを、加わる順番を"
    "すべて考えて平均した額です。大きな自治体も小さな自治体も、同じ考え方で負担が決まります。"
)
CORE_PLAIN = (
    "コア（公平性の確認）：どの自治体の組み合わせも、その組だけで発注した場合より多く負担"
    "しない配分であることを確認します。満たさない組があると、その組は束から離れる動機を持ちます。"
)
COUNCIL_PLAIN = (
    "均等割・人口割・実績割：一部事務組合や協議会の負担金で広く使われる方式です。総額の一定割合を"
    "全団体で均等に、一定割合を人口に応じて、残りを実績（施設の延長や巡回の作業量）に応じて"
    "負担します。割合は構成団体の協議で決めます。"
)


# The fields in the report's order.
REPORT_FIELDS = ("road", "river", "park", "sewer", "other")


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
    # The filled intake (tools 1 and 2): the budget's status quo and the conditional texts.
    intake: Intake | None = None
    # The assets (road km by 1級/2級/その他 and the road class of the frequencies).
    assets: gpd.GeoDataFrame | None = None

    @classmethod
    def for_setup(
        cls, setup: Any, *, effects: EffectEstimate, settings: PlanSettings, **extra: Any
    ) -> ReportInputs:
        """The report's inputs from a loaded scenario (`planning.plan_engine.PlanSetup`): names,
        populations, fields present, towns, depots and assets; ``extra`` sets the rest."""
        present = set(setup.assets["field"].astype(str))
        return cls(
            scenario_name=setup.scenario.name,
            town_names=setup.town_names(),
            populations=setup.populations(),
            fields_present=tuple(f for f in REPORT_FIELDS if f in present),
            effects=effects,
            settings=settings,
            municipalities=setup.scenario.municipalities,
            depots=setup.scenario.depots,
            assets=setup.assets,
            **extra,
        )


@dataclass(frozen=True)
class ReportFigures:
    """Every total of the report, computed once (`report_figures`)."""

    towns: tuple[str, ...]
    total_yen: float  # the bundled engine cost over the horizon: shares and budget split it
    shares: ShareResult | None  # rescaled to total_yen
    council: tuple[CouncilShare, ...]
    admin_fees: dict[str, float]
    lead: str
    budget: Budget
    departments: dict[str, dict[str, float]]  # town -> department -> yen
    field_cost: dict[str, dict[str, float]]  # town -> field -> status-quo engine cost
    formula: CouncilFormula = field(default_factory=CouncilFormula)  # as applied
    notes: tuple[str, ...] = ()
    maintenance: MaintenancePlan | None = None
    # The fiscal years of the contract term, each under the phase in force (`phased_years`).
    years: tuple[BudgetYear, ...] = ()

    @property
    def town_share(self) -> dict[str, float]:
        """Each town's share of the total (council formula; the whole for one town)."""
        if not self.council:
            return dict.fromkeys(self.towns, self.total_yen)
        return {c.code: c.total_yen for c in self.council}


def _towns(inputs: ReportInputs) -> tuple[str, ...]:
    found: set[str] = set()
    for u in inputs.effects.siloed.units:
        found.update(u.towns)
    return tuple(sorted(found))


def _department_of(inputs: ReportInputs, town: str) -> dict[str, str]:
    """Field -> department of ``town``: the intake's department column, else the settings."""
    out = {f: f"{FIELD_LABELS_JA.get(f, f)}担当課" for f in FIELD_LABELS_JA}
    out.update(inputs.settings.cost_share.departments)
    if inputs.intake is not None:
        for o in inputs.intake.orders:
            if o.municipality_code == town:
                out[o.field] = o.department
    return out


@dataclass(frozen=True)
class _Split:
    """How one bundle's cost is split among its members, and the budget that follows."""

    council: tuple[CouncilShare, ...]
    notes: tuple[str, ...]
    formula: CouncilFormula
    share_of: dict[str, float]
    fees: dict[str, float]
    lead: str
    budget: Budget


def _split(
    inputs: ReportInputs,
    effects: EffectEstimate,
    members: tuple[str, ...],
    *,
    shares: ShareResult | None,
    workload: Mapping[str, float],
    first: int,
    upkeep: MaintenancePlan | None,
) -> _Split:
    """The council formula, the fees and the budget of ``members`` bundling ``effects.bundled``."""
    total = effects.bundled.cost_yen
    formula = inputs.settings.cost_share
    council: list[CouncilShare] = []
    notes: list[str] = []
    known = [inputs.populations.get(t, math.nan) for t in members]
    if formula.population > 0 and not any(math.isfinite(v) and v > 0 for v in known):
        # Without populations the 人口割 part goes to the other terms (stated in the report).
        formula = replace(formula, population=0.0)
        if formula.equal + formula.actual <= 0:
            formula = replace(formula, equal=1.0)
        notes.append("人口が不明のため、人口割を除いて按分しています。")
    coop = inputs.settings.cooperation
    if len(members) > 1:
        if formula.basis == "asset_km" and shares is not None:
            basis = {t.code: t.asset_km for t in shares.towns}
        else:
            basis = dict(workload)
        pref = coop.prefecture_code if coop.prefecture_code in members else None
        # A prefecture taking part with its 県道 pays for its own roads; the towns split the rest.
        pref_yen = prefecture_share(total, members, workload, pref) if pref else 0.0
        council = council_shares(
            total - pref_yen,
            [t for t in members if t != pref],
            names=inputs.town_names,
            populations=inputs.populations,
            basis=basis,
            formula=formula,
        )
        if pref:
            name = coop.prefecture or inputs.town_names.get(pref, pref)
            council.append(CouncilShare(pref, name, 0.0, 0.0, pref_yen))
            notes.append(f"{name}は県道の分を実績（巡回の作業量）に応じて負担します。")
    lead = coop.lead_of(members, inputs.populations) if members else ""
    share_of = {c.code: c.total_yen for c in council} or dict.fromkeys(members, total)
    fees = coop.admin_fees(share_of, lead) if len(members) > 1 else dict.fromkeys(members, 0.0)
    budget = budget_estimate(
        effects,
        shares=share_of,
        names=inputs.town_names,
        rates=inputs.settings.budget,
        contract_years=inputs.settings.report.contract_years,
        first_year=first,
        regions=max(1, len(effects.bundled.units)),
        intake=inputs.intake,
        admin_fees=fees,
        maintenance_yen={t: upkeep.cost_yen(town=t) for t in members} if upkeep else None,
    )
    return _Split(tuple(council), tuple(notes), formula, share_of, fees, lead, budget)


def _phase_budgets(
    inputs: ReportInputs,
    towns: tuple[str, ...],
    full: _Split,
    *,
    shares: ShareResult | None,
    workload: Mapping[str, float],
    first: int,
    upkeep: MaintenancePlan | None,
) -> list[tuple[Phase, int, Budget]]:
    """Per phase: its first fiscal year and the budget of its members bundling (the towns not
    yet in keep their status quo)."""
    eff = inputs.effects
    out = []
    for phase, figures in eff.phases:
        year = start_year(phase.start)
        if year is None:
            continue
        members = tuple(t for t in towns if t in phase.towns)
        if not members:
            continue
        if members == towns:
            out.append((phase, year, full.budget))
            continue
        # The phase's bundle: its contractor units (the other towns' units are their silos).
        bundle = ScenarioFigures(
            phase.label,
            tuple(u for u in figures.units if u.operator != "town"),
            figures.costs,
            figures.method,
        )
        effects = replace(eff, bundled=bundle, phases=())
        split = _split(
            inputs,
            effects,
            members,
            shares=shares,
            workload={t: workload[t] for t in members},
            first=first,
            upkeep=upkeep,
        )
        out.append((phase, year, split.budget))
    return out


def report_figures(inputs: ReportInputs) -> ReportFigures:
    """The report's numbers, once: shares, council formula, fees, budget, departments, and the
    years of the contract term under the phase in force in each."""
    eff = inputs.effects
    costs = eff.bundled.costs
    towns = _towns(inputs)
    total = eff.bundled.cost_yen
    shares = None
    if inputs.shares is not None and len(towns) > 1 and inputs.shares.total_yen > 0:
        shares = inputs.shares.rescaled(
            total, why="total scaled to the effect estimate's bundled cost"
        )
    field_cost: dict[str, dict[str, float]] = {t: {} for t in towns}
    workload: dict[str, float] = dict.fromkeys(towns, 0.0)
    for u in eff.siloed.units:
        for t in u.towns:
            key = u.field or "other"
            field_cost[t][key] = field_cost[t].get(key, 0.0) + u.cost_yen(costs) / len(u.towns)
            workload[t] += u.crew_minutes / 60.0 / len(u.towns)
    first = start_year(eff.horizon) or inputs.created.year
    upkeep = None
    if inputs.assets is not None and inputs.settings.maintenance:
        from gis_data.planning.work_calendar import parse_horizon, working_days

        upkeep = plan_maintenance(
            inputs.assets,
            year=first,
            region_of=inputs.asset_region or None,
            tasks=inputs.settings.maintenance,
            working_days=working_days(parse_horizon(f"FY{first}"), inputs.settings.rules),
        )
    full = _split(inputs, eff, towns, shares=shares, workload=workload, first=first, upkeep=upkeep)
    departments = {
        t: department_split(full.share_of[t], field_cost[t], _department_of(inputs, t))
        for t in towns
    }
    phased = _phase_budgets(
        inputs, towns, full, shares=shares, workload=workload, first=first, upkeep=upkeep
    )
    return ReportFigures(
        towns=towns,
        total_yen=total,
        shares=shares,
        council=full.council,
        admin_fees=full.fees,
        lead=full.lead,
        budget=full.budget,
        departments=departments,
        field_cost=field_cost,
        formula=full.formula,
        notes=full.notes,
        maintenance=upkeep,
        years=tuple(phased_years(full.budget, phased)),
    )


def _yen(value: float) -> str:
    return _num(value, 0)


def _num(value: float, digits: int = 1) -> str:
    """A figure; negative ones carry △, as Japanese budget documents write them."""
    text = f"{abs(value):,.{digits}f}"
    return "△" + text if value < 0 and text.strip("0.,") else text


def _names(inputs: ReportInputs, codes: Any) -> str:
    return "、".join(inputs.town_names.get(c, c) for c in codes)


def region_map_png(inputs: ReportInputs) -> bytes:
    """The bundle on a map: towns coloured by phase, contract regions outlined, depots and
    yards marked; credits OSM and the N03 boundaries."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    jp = use_japanese_font(plt)
    munis = inputs.municipalities.to_crs(3857)
    phase_of: dict[str, str] = {}
    for k, (phase, _) in enumerate(inputs.effects.phases):
        label = f"{phase.label}（{horizon_ja(phase.start)}～）" if jp else f"Phase {k + 1}"
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
        regions = inputs.regions.to_crs(3857)
        cmap = plt.get_cmap("tab10")
        for k, (_, row) in enumerate(regions.iterrows()):
            color = cmap(k % 10)
            regions.iloc[[k]].boundary.plot(ax=ax, color=color, linewidth=2.5)
            pt = row.geometry.representative_point()
            name = f"区域{row['region']}" if jp else f"Region {row['region']}"
            ax.annotate(name, (pt.x, pt.y), ha="center", fontsize=11, weight="bold", color=color)
    for _, row in munis.iterrows():
        pt = row.geometry.representative_point()
        name = str(row["municipality"]) if jp else str(row["municipality_code"])
        ax.annotate(name, (pt.x, pt.y), ha="center", va="top", fontsize=7)
    if inputs.depots is not None and len(inputs.depots):
        depots = inputs.depots.to_crs(3857)
        yards = depots[depots["kind"] == "contractor"]
        towns = depots[depots["kind"] != "contractor"]
        if len(towns):
            towns.plot(ax=ax, color="#1f4e79", markersize=12, marker="o")
        if len(yards):
            yards.plot(ax=ax, color="#c00000", markersize=60, marker="^")
    ax.set_axis_off()
    if jp:
        ax.set_title(
            f"{inputs.scenario_name}：自治体の束と段階（▲ 事業者拠点、● 役場の車庫）", fontsize=9
        )
        fig.text(0.01, 0.01, f"{ATTRIBUTION}　{N03_CREDIT}", fontsize=6, color="#555")
    else:
        # Without a CJK font the N03 credit is written in its English form (the caption of the
        # figure in every document carries the Japanese one).
        fig.text(
            0.01,
            0.01,
            f"{ATTRIBUTION}; boundaries: MLIT National Land Numerical Information (N03)",
            fontsize=6,
            color="#555",
        )
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


# -- the chapters ------------------------------------------------------------------------------


def _issues(inputs: ReportInputs) -> list[str]:
    """Default problems, each only when the data shows it (the intake when given)."""
    opts = inputs.settings.report
    if opts.issues:
        return list(opts.issues)
    fields_ja = "・".join(FIELD_LABELS_JA.get(f, f) for f in inputs.fields_present)
    many_towns = len(_towns(inputs)) > 1
    out = []
    intake = inputs.intake
    if intake is not None and intake.staff:
        staff = sum(s.staff for s in intake.staff)
        older = sum(s.staff_by_age["50s"] + s.staff_by_age["60plus"] for s in intake.staff)
        out.append(
            f"土木技術職員は{staff}人で、うち50歳以上が{older}人である。点検・日常維持に"
            f"年{sum(s.patrol_hours() for s in intake.staff):,.0f}時間を直営で充てており、"
            "計画策定に充てる時間が理想より少ない。"
        )
    else:
        out.append("技術職員が少なく、施設の巡回・点検・補修を直営で続けることが難しくなっている。")
    if intake is not None and intake.orders:
        failed = sum(o.failed_tenders for o in intake.orders)
        if failed:
            out.append(
                f"直近3年で入札の不調・不落が{failed}件あり、維持作業の担い手確保が課題である。"
            )
        contracts = len(intake.orders)
        if contracts > 1:
            out.append(
                f"自治体・分野ごとに{contracts}件の契約を個別に発注しており、発注事務が重複している。"
            )
    if many_towns:
        out.append(f"{fields_ja}を自治体ごと・分野ごとに別々に巡回しており、移動が重複している。")
    elif len(inputs.fields_present) > 1:
        out.append(f"{fields_ja}を分野ごとに別々に巡回しており、移動が重複している。")
    return out


def _effect_blocks(inputs: ReportInputs, fig: ReportFigures) -> list[rd.Block]:
    eff = inputs.effects
    horizon = horizon_ja(eff.horizon)
    rows = {r["metric"]: r for r in eff.comparison_rows()}
    b = fig.budget
    before, after = b.total("before"), b.total("after")
    hours_before = sum(t.hours("before") for t in b.towns)
    hours_after = sum(t.hours("after") for t in b.towns)
    years = len(b.years)
    term_before = sum(y.total_before for y in fig.years)
    term_after = sum(y.total_after for y in fig.years)
    staged = "（段階的な参加を反映）" if any(y.phase for y in fig.years) else ""
    highlights = [
        f"年間の費用（委託費・新たな経費・発注事務）：{_yen(before)}円 → {_yen(after)}円"
        f"（{change(before - after, '円')}、全自治体の参加後）",
        f"契約期間{years}年（{fiscal_year(b.years[0])}～{fiscal_year(b.years[-1])}）の合計"
        f"{staged}：{change(term_before - term_after, '円')}",
        f"職員の直営対応時間と発注事務：年{_num(hours_before, 0)}時間 → {_num(hours_after, 0)}時間"
        f"（{change(hours_before - hours_after, '時間')}）",
        f"巡回の走行距離（{horizon}）：{change(rows['km']['saving'], 'km')}、二酸化炭素排出量 "
        f"{change(rows['co2_kg']['saving'] / 1000.0, 'トン', digits=2)}",
        f"必要車両 {eff.siloed.vehicles}台 → {eff.bundled.vehicles}台",
    ]
    if not any(t.from_intake for t in b.towns):
        highlights.append(
            "発注状況（ツール2）の記入がないため、現状の費用は直営巡回の試算値です（記入すると"
            "現行の契約額で比較します）。"
        )
    out = [rd.h("期待する効果", 3), rd.ul(highlights)]
    out.append(rd.h("自治体別の年間費用（出典つき）", 4))
    table_rows = []
    for t in b.towns:
        for line in t.lines:
            table_rows.append(
                (
                    t.name,
                    line.item,
                    line.unit,
                    "" if line.before is None else _num(line.before, 0),
                    "" if line.after is None else _num(line.after, 0),  # △: received
                    SOURCE_LABELS[line.source],
                    line.note,
                )
            )
        table_rows.append(
            (
                t.name,
                "費用の計",
                "円",
                _yen(t.total("before")),
                _yen(t.total("after")),
                "",
                change(t.total("before") - t.total("after"), "円"),
            )
        )
    out.append(
        rd.table(
            ("自治体", "項目", "単位", "現状（年）", "群マネ（年）", "出典", "備考"),
            table_rows,
            numeric=(3, 4),
        )
    )
    out.append(rd.h("年度別の費用（全自治体）", 4))
    if staged:
        out.append(
            rd.p(
                "各年度の費用は、その年度の段階で参加する自治体の群マネの費用と、まだ参加しない"
                "自治体の現状の費用の合計です。"
            )
        )
    out.append(
        rd.table(
            ("年度", "段階", "参加自治体", "現状（円）", "群マネ（円）", "増減"),
            [
                (
                    fiscal_year(y.year),
                    y.phase or ("開始前" if staged else "－"),
                    _names(inputs, y.members) if y.members else "－",
                    _yen(y.total_before),
                    _yen(y.total_after),
                    change(y.saving, "円"),
                )
                for y in fig.years
            ]
            + [
                (
                    "契約期間の計",
                    "",
                    "",
                    _yen(term_before),
                    _yen(term_after),
                    change(term_before - term_after, "円"),
                )
            ],
            numeric=(3, 4),
        )
    )
    out.append(rd.h(f"巡回の試算（{horizon}、経路計算による）", 4))
    physical = []
    for key, metric_label, metric_unit in METRICS:
        r = rows[key]
        label, unit = METRIC_LABELS.get(key, (metric_label, metric_unit))
        digits = 0 if unit in ("円", "班日", "台") else 1
        physical.append(
            (
                label,
                unit,
                _num(r["siloed"], digits),
                _num(r["bundled"], digits),
                change(r["saving"], "", digits=digits),
                change(r["saving_pct"], "％", digits=1),
            )
        )
    out.append(
        rd.table(
            ("項目", "単位", "現状（個別巡回）", "群マネ（包括・広域）", "増減", "増減率"),
            physical,
            numeric=(2, 3),
        )
    )
    out.append(
        rd.note(
            "現状は自治体・分野ごとに職員が役場の車庫から巡回し、群マネは契約区域ごとに受注者が"
            "事業者拠点から巡回するものとして、同じ単価・同じ経路計算で比較しています。"
        )
    )
    return out


_TASK_WORDS = {
    "verge_mowing": "除草",
    "bank_mowing": "除草",
    "park_mowing": "除草",
    "street_sweeping": "清掃",
    "gutter_cleaning": "清掃",
    "pruning": "剪定",
    "pothole_patching": "補修",
}
SCOPE_LEGEND = (
    "●：試算に含む、○：包括の対象とする（設定による、試算には含まない）、"
    "△：発注状況から見た包括の候補（未決定）、－：対象外"
)


def scope_rows(inputs: ReportInputs, fig: ReportFigures | None = None) -> list[tuple[str, ...]]:
    """The scope matrix: field, asset or routine work, then one mark per `PROCESSES` column.

    ● only where the figures model the work (patrols, the maintenance tasks with quantities,
    bridge and tunnel inspection when the data has them); ○ where the settings' scope declares
    it; △ where the intake's ordering status suggests it and the settings say nothing.
    """
    fig = fig or report_figures(inputs)
    tasks = fig.maintenance.fields_modelled() if fig.maintenance else {}
    scope = inputs.settings.report.scope
    declared: dict[str, set[str]] = {}
    suggested: dict[str, set[str]] = {}
    if scope is not None:
        for f, procs in scope.items():
            declared[f] = {PROCESS_ALIASES[x] for x in procs if x in PROCESS_ALIASES}
    elif inputs.workbench and inputs.workbench.get("scope"):
        for f, procs in inputs.workbench["scope"].items():
            suggested[f] = {PROCESS_ALIASES[x] for x in procs if x in PROCESS_ALIASES}
    shown = list(inputs.fields_present) + [
        f for f in declared if f not in inputs.fields_present and f in ASSET_ROWS
    ]

    def mark(f: str, col: str, modelled: bool) -> str:
        if modelled:
            return "●"
        if col in declared.get(f, set()):
            return "○"
        if col in suggested.get(f, set()):
            return "△"
        return "－"

    rows = []
    for f in shown:
        field_ja = FIELD_LABELS_JA.get(f, f)
        present = f in inputs.fields_present
        for asset in ASSET_ROWS.get(f, ()):
            inspected = asset in ("橋梁", "トンネル") and "bridge_inspection" in tasks.get(f, set())
            rows.append(
                (
                    field_ja,
                    asset,
                    *(
                        mark(f, c, c == "点検" and inspected) if c in STRUCTURE_COLUMNS else ""
                        for c in PROCESSES
                    ),
                )
            )
        words = ["巡回"] if present else []
        for key in sorted(tasks.get(f, set())):
            word = _TASK_WORDS.get(key)
            if word and word not in words:
                words.append(word)
        label = "・".join(words) if words else ROUTINE_ROWS.get(f, "巡回")
        rows.append(
            (
                field_ja,
                label,
                *(
                    mark(f, c, c == "維持作業" and present) if c in ROUTINE_COLUMNS else ""
                    for c in PROCESSES
                ),
            )
        )
    return rows


def _maintenance_blocks(fig: ReportFigures) -> list[rd.Block]:
    plan = fig.maintenance
    if plan is None or not plan.amounts:
        return []
    out = [rd.h("維持作業の年間計画（職種別の延べ班日数）", 4)]
    by_task: dict[str, list[Any]] = {}
    for a in plan.amounts:
        by_task.setdefault(a.task.key, []).append(a)
    rows = []
    for items in by_task.values():
        task = items[0].task
        months = "・".join(f"{m}月" for m in task.months) if len(task.months) < 12 else "通年"
        qty = sum(a.quantity for a in items)
        days = sum(a.crew_days for a in items)
        rows.append(
            (task.label, task.trade, f"{qty:,.0f}{UNITS_JA[task.quantity]}", months,
             _num(days, 1), _yen(days * plan.trade_day_yen[task.trade]))
        )  # fmt: skip
    out.append(
        rd.table(("作業", "職種", "年間数量", "実施時期", "延べ班日数", "費用（円/年）"), rows,
                 numeric=(2, 4, 5))
    )  # fmt: skip
    month_names = [f"{m}月" for m in (4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3)]
    crews = plan.crews_by_trade()
    out.append(
        rd.table(
            ("職種", *month_names, "必要班数"),
            [(trade, *[_num(v, 0) for v in values], str(crews.get(trade, 0)))
             for trade, values in plan.month_rows()],
            numeric=tuple(range(1, 14)),
        )
    )  # fmt: skip
    out.append(
        rd.note(
            "各作業は実施時期の稼働日に均等に割り付けています。必要班数は最も忙しい月の1稼働日"
            "あたりの班数です。数量・頻度・歩掛・日額は参考資料の想定値で、契約ごとに置き換えます。"
        )
    )
    return out


def _strategy_blocks(inputs: ReportInputs, fig: ReportFigures) -> list[rd.Block]:
    opts = inputs.settings.report
    out = [
        rd.h("（１）業務のマネジメント戦略", 2, "strategy"),
        rd.h("［実施内容］", 3),
        rd.h("①対象範囲（インフラ分野×業務プロセス）", 4),
        rd.table(("インフラ分野", "施設・作業", *PROCESSES), scope_rows(inputs, fig)),
        rd.note(SCOPE_LEGEND),
        *_maintenance_blocks(fig),
        rd.h("②発注方式等", 4),
    ]
    contract = f"有（{opts.contract_years}年）" if opts.contract_years > 1 else "無（単年度）"
    items = [f"契約期間の複数年化：{contract}"]
    if opts.performance_spec:
        items.append(
            "性能規定の導入：有（巡回業務。巡回頻度や異状の発見から対応までの時間などの"
            "水準で定め、作業方法は受注者の提案とする）"
        )
    else:
        items.append("性能規定の導入：無")
    out.append(rd.ul(items))
    return out


def _phases(inputs: ReportInputs, towns: tuple[str, ...]) -> list[tuple[str, str, tuple[str, ...]]]:
    phases = [(ph.label, ph.start, ph.towns) for ph, _ in inputs.effects.phases]
    if not phases or set(phases[-1][2]) != set(towns):
        # After the configured phases the start is not set: no year is claimed for it.
        phases.append(("最終形", "" if phases else inputs.effects.horizon, towns))
    return phases


def schemes(inputs: ReportInputs, fig: ReportFigures) -> list[Scheme]:
    """The organisational scheme of each phase."""
    coop = inputs.settings.cooperation
    return [
        build_scheme(
            coop,
            title=f"{label}（{horizon_ja(start) + '～、' if start else ''}"
            f"{_names(inputs, members)}）",
            towns=members,
            names=inputs.town_names,
            populations=inputs.populations,
        )
        for label, start, members in _phases(inputs, fig.towns)
    ]


def _bundle_blocks(
    inputs: ReportInputs, fig: ReportFigures, map_png: bytes | None
) -> list[rd.Block]:
    coop = inputs.settings.cooperation
    out = [rd.h("（２）自治体の束", 2, "bundle")]
    single = len(fig.towns) == 1
    if single:
        town = inputs.town_names.get(fig.towns[0], fig.towns[0])
        out.append(
            rd.p(
                f"{town}が単独で包括的な委託を行うため、他の自治体との共同の発注や負担の取り決めは"
                "ありません。多分野の業務を一つの契約にまとめるため、庁内の関係部署が連携します。"
            )
        )
        depts = fig.departments.get(fig.towns[0], {})
        if depts:
            out.append(rd.h("庁内関係部署の費用（分野の作業量に応じた内訳）", 4))
            out.append(
                rd.table(
                    ("部署", "負担額（円）"),
                    [(d, _yen(v)) for d, v in sorted(depts.items())],
                    numeric=(1,),
                )
            )
    else:
        lead = fig.lead
        lead_name = (
            coop.prefecture
            if lead in ("prefecture", coop.prefecture_code) and coop.prefecture
            else inputs.town_names.get(lead, lead)
        )  # fmt: skip
        out.append(rd.h("連携の仕組み", 3))
        legal = coop.legal_items()
        out.append(
            rd.ul(
                [
                    f"連携の形態：{coop.label}（幹事・執行団体：{lead_name}）",
                    *[f"{item}：{yes}" + (f"（{basis}）" if basis and yes == "有" else "")
                      for item, yes, basis in legal],
                ]
            )
        )  # fmt: skip
        if coop.prefecture:
            out.append(
                rd.p(
                    f"{coop.prefecture}が構成団体として加わり、県道も対象施設として一体的に維持管理します。"
                )
            )
    out.append(rd.h("広域連携スキームの図", 3))
    for k, s in enumerate(schemes(inputs, fig)):
        out.append(
            rd.image(
                scheme_svg(s),
                fmt="svg",
                name=f"scheme_{k + 1}.svg",
                caption=f"スキーム図：{s.title}",
                description=s.describe(),
                # Word: the same diagram as a picture, or as a table without a CJK font.
                raster=partial(scheme_png, s),
                as_table=(
                    ("団体", "相手方", "関係", "内容"),
                    [
                        (x.source, x.target, "委託契約" if x.kind == "contract" else "協定・規約",
                         x.label)
                        for x in s.links
                    ],
                ),
            )
        )  # fmt: skip
    if not single:
        out.append(rd.h("段階的な進め方", 3))
        base = inputs.effects.siloed.metrics()
        rows = []
        for r in inputs.effects.phase_rows():
            rows.append(
                (
                    r["phase"],
                    horizon_ja(r["start"]) + "～",
                    _names(inputs, r["towns"].split(", ")),
                    _yen(r["cost_yen"]),
                    change(base["cost_yen"] - r["cost_yen"], "円"),
                    change(r["staff_hours_freed"], "時間"),
                    f"{r['vehicles']:.0f}",
                )
            )
        if rows:
            out.append(
                rd.table(
                    ("段階", "開始", "参加自治体",
                     f"巡回費用（{horizon_ja(inputs.effects.horizon)}、円）",
                     "現状との差", "職員の直営対応時間", "車両（台）"),
                    rows,
                    numeric=(3, 6),
                )
            )  # fmt: skip
    if map_png is not None:
        out.append(rd.h("契約区域", 3))
        n = len(inputs.effects.bundled.units)
        how = "全自治体を一つの区域とする" if n == 1 else f"{n}区域（自治体の境界で区分）"
        out.append(rd.p(f"契約区域：{how}。地元事業者が受注できる規模とする。"))
        out.append(
            rd.image(
                map_png,
                fmt="png",
                name="region_map.png",
                caption=f"自治体の束と契約区域　地図：{ATTRIBUTION}　境界：{N03_CREDIT}",
            )
        )
    if not single:
        out += _share_blocks(inputs, fig)
    return out


def _share_blocks(inputs: ReportInputs, fig: ReportFigures) -> list[rd.Block]:
    horizon = horizon_ja(inputs.effects.horizon)
    formula = fig.formula
    w = formula.weights
    basis = "巡回の作業量" if formula.basis == "workload" else "施設の延長"
    out = [
        rd.h("費用分担", 3),
        rd.p(
            f"群マネの巡回費用 {_yen(fig.total_yen)}円（{horizon}、導入効果の試算と同じ額）を"
            f"次のとおり分担します。"
        ),
        rd.h(
            f"均等割{100 * w[0]:.0f}％・人口割{100 * w[1]:.0f}％・実績割{100 * w[2]:.0f}％"
            f"（実績：{basis}）",
            4,
        ),
        rd.note(COUNCIL_PLAIN),
        *[rd.note(n) for n in fig.notes],
    ]
    fees = fig.admin_fees
    alone = {t.code: t.alone_yen for t in fig.shares.towns} if fig.shares else {}
    rows = []
    for c in fig.council:
        fee = fees.get(c.code, 0.0)
        row = [
            c.name,
            _yen(c.equal_yen),
            _yen(c.population_yen),
            _yen(c.actual_yen),
            _yen(c.total_yen),
            change(-fee, "円", less="受取", more="支払") if fee else "－",
            _yen(c.total_yen + fee),
        ]
        row.append(change(alone[c.code] - c.total_yen - fee, "円") if c.code in alone else "－")
        rows.append(tuple(row))
    total_fee = sum(fees.values())
    rows.append(
        (
            "計",
            _yen(sum(c.equal_yen for c in fig.council)),
            _yen(sum(c.population_yen for c in fig.council)),
            _yen(sum(c.actual_yen for c in fig.council)),
            _yen(sum(c.total_yen for c in fig.council)),
            _yen(total_fee) if total_fee else "－",
            _yen(sum(c.total_yen for c in fig.council) + total_fee),
            "",
        )
    )
    out.append(
        rd.table(
            ("自治体", "均等割", "人口割", "実績割", "分担額", "事務費", "負担額（円）",
             "単独で発注する場合との差"),
            rows,
            numeric=(1, 2, 3, 4, 6),
        )
    )  # fmt: skip
    if any(fees.values()):
        rate = inputs.settings.cooperation.admin_fee_rate
        out.append(
            rd.note(
                f"{inputs.settings.cooperation.label}により、執行団体に分担額の{100 * rate:.1f}％を"
                "事務費として支払います（総額は変わりません）。"
            )
        )
    # Departments (部署間) where fields belong to different departments.
    dept_rows = [
        (inputs.town_names.get(t, t), d, _yen(v))
        for t in fig.towns
        for d, v in sorted(fig.departments.get(t, {}).items())
    ]
    if any(len(v) > 1 for v in fig.departments.values()):
        out.append(rd.h("部署別の内訳（分野の作業量に応じて按分）", 4))
        out.append(rd.table(("自治体", "部署", "負担額（円）"), dept_rows, numeric=(2,)))
    if fig.shares is not None:
        sr = fig.shares
        out.append(rd.h("参考：シャープレイ値と公平性の確認", 4))
        out.append(rd.note(SHAPLEY_PLAIN))
        out.append(rd.note(CORE_PLAIN))
        rules = [r for r in sr.rules if r in RULE_LABELS]
        rows2 = []
        for t in sr.towns:
            rows2.append(
                (
                    t.name,
                    _yen(t.alone_yen),
                    *[_yen(t.shares[r]) for r in rules],
                    change(t.saving("shapley"), "円"),
                )
            )
        out.append(
            rd.table(
                ("自治体", "単独で発注する場合（円）", *[f"{RULE_LABELS[r]}（円）" for r in rules],
                 "単独との差（シャープレイ値）"),
                rows2,
                numeric=tuple(range(1, 2 + len(rules))),
            )
        )  # fmt: skip
        n = len(sr.towns)
        checks = []
        for rule in rules:
            found = sr.violations.get(rule, [])
            if found:
                worst = found[0]
                checks.append(
                    f"{RULE_LABELS[rule]}：{len(found)}組が単独で発注する場合より多く負担"
                    f"（最大：{_names(inputs, worst['towns'])}、{_yen(worst['excess_yen'])}円）"
                )
            else:
                checks.append(f"{RULE_LABELS[rule]}：どの組も単独より多く負担しない")
        out.append(rd.ul(checks))
        how = (
            f"全{2**n - 1}通りの自治体の組み合わせ" if sr.shapley.exact else "無作為に選んだ加入順"
        )
        out.append(
            rd.note(
                f"各組の費用は、代表的な稼働日の巡回経路を計算して期間全体に換算し、総額を導入効果の"
                f"試算に合わせて比例調整しています（{how}、経路計算{sr.solves}回）。"
            )
        )
    return out


def _collaboration_blocks(inputs: ReportInputs, fig: ReportFigures) -> list[rd.Block]:
    opts = inputs.settings.report
    fields_ja = "・".join(FIELD_LABELS_JA.get(f, f) for f in inputs.fields_present)
    many = len(fig.towns) > 1
    coop = inputs.settings.cooperation
    if opts.collaboration:
        engineers = [x for x in opts.collaboration if "研修" in x or "技術" in x]
        data = [x for x in opts.collaboration if x not in engineers]
    else:
        venue = (
            f"{coop.label}の場"
            if many and coop.pattern in ("council", "partial_affairs_union")
            else "構成自治体の連絡会議"
        )
        engineers = [
            (
                f"{venue}を活用し、構成自治体の技術職員による合同研修・意見交換会を行い、"
                "発注・監督の知見を共有する。"
            )
            if many
            else "受注者との定例会議を通じて、職員が点検・補修の判断に必要な知見を蓄える。",
            "地元事業者の技術者と職員の合同の現地確認を行い、異状の判断基準をそろえる。",
        ]
        data = [
            f"施設データ（{fields_ja}）を共通の形式で一元管理し、"
            + ("構成自治体" if many else "庁内の関係部署")
            + "と受注者が同じデータを参照する。",
            "巡回記録（位置の記録）を受注者から受け取り、巡回計画（日別の経路）と照合して履行を確認する。",
            "苦情・要望の受付記録を分野をまたいで共有し、部署間で対応を引き継げるようにする。",
        ]  # fmt: skip
    return [
        rd.h("（３）技術者連携、データ連携", 2, "collaboration"),
        rd.h("①技術者連携の具体メニュー", 4),
        rd.ul(engineers),
        rd.h("②データ連携の具体メニュー", 4),
        rd.ul(data),
    ]


def _reference_blocks(inputs: ReportInputs, fig: ReportFigures) -> list[rd.Block]:
    out = [rd.h("参考資料", 2, "reference")]
    wb = inputs.workbench
    if wb:
        out += _workbench_blocks(inputs, wb)
    out.append(rd.h("算定の前提", 3))
    freq = inputs.settings.frequencies
    months = sorted(freq.growing_months)
    out.append(rd.h("巡回頻度（稼働日：土日・祝日・年末年始を除く）", 4))
    out.append(
        rd.ul(
            [
                f"1級市町村道・幹線道路：{freq.arterial_road}稼働日ごと",
                f"2級・その他の市町村道：{freq.local_road}稼働日ごと",
                *(
                    [
                        f"県道（{inputs.settings.cooperation.prefecture or '県'}の管理）："
                        f"{freq.prefectural_road}稼働日ごと（県の巡回頻度）"
                    ]
                    if freq.prefecture_owners & set(_towns(inputs))
                    else []
                ),
                *([f"河川：{freq.river}稼働日ごと"] if "river" in inputs.fields_present else []),
                *(
                    [
                        f"公園：成長期（{months[0]}～{months[-1]}月）{freq.park_growing}稼働日ごと、"
                        f"その他の月{freq.park_off_season}稼働日ごと"
                    ]
                    if "park" in inputs.fields_present and months
                    else []
                ),
                *(
                    [f"下水道・その他：{freq.sewer}稼働日ごと"]
                    if {"sewer", "other"} & set(inputs.fields_present)
                    else []
                ),
            ]
        )
    )
    km = road_km_by_class(inputs.assets) if inputs.assets is not None else None
    if km:
        out.append(rd.h("道路の延長（道路種別）", 4))
        out.append(
            rd.table(
                ("道路種別", "延長（km）"),
                [(f"{c}市町村道" if c != "その他" else "その他の市町村道", _num(km[c], 1))
                 for c in ROAD_CLASSES],
                numeric=(1,),
            )
        )  # fmt: skip
        out.append(
            rd.note(
                "道路台帳の道路種別がない場合、オープンストリートマップの道路区分から"
                "幹線（1級相当）・連絡（2級相当）・その他に読み替えています。"
            )
        )
    costs = inputs.settings.costs
    out.append(rd.h("単価・係数", 4))
    out.append(
        rd.table(
            ("項目", "値", "単位", "根拠"),
            [
                (COST_LABELS[f.name][0], _num(getattr(costs, f.name), 2), COST_LABELS[f.name][1],
                 COST_BASIS[f.name])
                for f in fields(UnitCosts)
            ],
            numeric=(1,),
        )
    )  # fmt: skip
    rates = inputs.settings.budget
    out.append(rd.h("予算の試算の設定（想定値、各自治体の実績に置き換える）", 4))
    brows = []
    for f in fields(rates):
        label, unit = BUDGET_LABELS[f.name]
        value = getattr(rates, f.name)
        brows.append((label, _num(100 * value if unit == "％" else value, 1), unit))
    out.append(rd.table(("項目", "値", "単位"), brows, numeric=(1,)))
    if fig.maintenance is not None and fig.maintenance.amounts:
        plan = fig.maintenance
        out.append(rd.h("維持作業の数量・歩掛・日額（想定値）", 4))
        out.append(
            rd.table(
                ("作業", "数量の単位", "年間回数", "1班1日の作業量", "職種", "1班1日の日額（円）"),
                [(t.label, UNITS_JA[t.quantity], _num(t.per_year, 1),
                  _num(t.output_per_crew_day, 0), t.trade, _yen(plan.trade_day_yen[t.trade]))
                 for t in inputs.settings.maintenance if t.field in inputs.fields_present],
                numeric=(2, 3, 5),
            )
        )  # fmt: skip
        how = []
        if "road" in inputs.fields_present:
            how.append("路肩の面積は道路延長×両側の幅")
        if "river" in inputs.fields_present:
            how.append("河川堤防の面積は延長×のり面の幅")
        out.append(
            rd.note(
                "、".join(how)
                + ("で求めます。" if how else "")
                + "日額は機械を含む1班の費用で諸経費を含みます。"
            )
        )
    if fig.budget.scale != 1.0:
        out.append(rd.note("算定期間が1か月のため、年額は1か月の試算の12倍としています。"))
    out.append(
        rd.note(
            f"巡回の試算は、{horizon_ja(inputs.effects.horizon)}の稼働日ごとに巡回する施設を"
            "割り付け、その日ごとの巡回経路を計算して合計しています（同じ組み合わせの日は一度だけ"
            f"計算、経路計算{inputs.effects.solves}回）。"
        )
    )
    cal = inputs.calendar
    if cal:
        out.append(
            rd.note(
                f"巡回カレンダー：必要な巡回の充足率{cal['coverage_pct']}％、"
                f"最大間隔は所要間隔の{cal['max_gap_ratio']}倍。"
            )
        )
    out.append(rd.h("地図・データの出典", 4))
    fields_ja = "・".join(FIELD_LABELS_JA.get(f, f) for f in inputs.fields_present)
    out.append(rd.ul([f"{fields_ja}の施設の位置：{ATTRIBUTION}", N03_CREDIT]))
    return out


def road_km_by_class(assets: gpd.GeoDataFrame) -> dict[str, float] | None:
    """Road km by 1級/2級/その他 (the town's 道路種別 or the OSM tag); None without roads."""
    roads = assets[assets["field"].astype(str) == "road"]
    if not len(roads):
        return None
    metric = roads.to_crs(roads.estimate_utm_crs())
    lines = metric.geometry.geom_type.isin(["LineString", "MultiLineString"])
    km = (metric.geometry.length.where(lines, 0.0) / 1000.0).to_numpy()
    classes = roads["road_class"] if "road_class" in roads else [None] * len(roads)
    out = dict.fromkeys(ROAD_CLASSES, 0.0)
    for value, length in zip(classes, km, strict=True):
        out[road_class_ja(value)] += float(length)
    return out


def _workbench_blocks(inputs: ReportInputs, wb: dict[str, Any]) -> list[rd.Block]:
    out = [rd.h("検討の基礎資料（現状把握・発注状況・契約数）", 3)]
    if wb.get("staff"):
        out.append(rd.h("現状把握（土木技術職員・業務時間の配分）", 4))
        out.append(
            rd.table(
                ("自治体", *wb["ages"], "計", *[f"{c}（％）現状→理想" for c in wb["times"]],
                 "点検・日常維持（時間/年）"),
                [(s["town"], *s["ages"], s["staff"], *s["split"], s["patrol_hours"])
                 for s in wb["staff"]],
            )
        )  # fmt: skip
    if wb.get("matrix"):
        out.append(rd.h("発注状況（分野×業務）", 4))
        out.append(
            rd.table(
                ("分野", *wb["processes"]),
                [
                    (r["field"], *[c["mark"] + (f" {c['detail']}" if c["detail"] else "")
                                   for c in r["cells"]])
                    for r in wb["matrix"]
                ],
            )
        )  # fmt: skip
        out.append(rd.note("○：発注あり、◎：包括化済み、✕n：直近の不調・不落の件数"))
    f = wb.get("frontier")
    if f:
        out.append(rd.h("契約数の検討（契約区域の数と地元事業者の受注可能性）", 4))
        rows = []
        for r in f["rows"]:
            if r.get("reason"):
                rows.append(
                    (r["kind"], str(r["k"]), "不可（区域に分けられない）", "", "", "", "", "")
                )
            else:
                rows.append((r["kind"], str(r["k"]), r["cost"], r["saving_pct"], r["largest"],
                             r["crews"], r["firms"], r["ok"]))  # fmt: skip
        out.append(
            rd.table(
                ("区域の作り方", "区域数", "巡回1回の費用（円）", "削減率（％）",
                 "最大区域の作業量（時間/30日）", "最大区域の班数", "担える地元事業者",
                 "地元で受注可能"),
                rows,
                numeric=(1, 2, 3, 4),
            )
        )  # fmt: skip
        out.append(
            rd.note(
                f"現状（個別巡回）の巡回1回の費用 {f['siloed_cost']}円。全区域を地元事業者が担える"
                f"区域数：自治体単位 {f['whole_ok']}、境界をまたぐ {f['cross_ok']}。"
            )
        )
        src = f.get("png_src")
        if src and src.startswith("data:image/png;base64,"):
            png = base64.b64decode(src.split(",", 1)[1])
            out.append(rd.image(png, fmt="png", name="frontier.png", caption="契約区域の数と費用"))
    return out


def build_document(inputs: ReportInputs, *, map_png: bytes | None) -> rd.Document:
    """The whole 実施方針 as blocks (the same for every format)."""
    fig = report_figures(inputs)
    opts = inputs.settings.report
    towns = _names(inputs, fig.towns)
    doc = rd.Document(title=f"{opts.title}（{towns}）")
    doc.add(
        rd.p(f"対象：{inputs.scenario_name}（{towns}）"),
        rd.p(
            f"作成日：{date_ja(inputs.created)}　算定期間：{horizon_ja(inputs.effects.horizon)}"
            f"　契約期間：{fiscal_year(fig.budget.years[0])}から{len(fig.budget.years)}年"
        ),
        rd.note("本書は試算に基づく草案です。数値は参考資料の前提条件により変わります。"),
        rd.h("［自治体が抱える課題と群マネ導入で期待する効果］", 2, "issues"),
        rd.h("課題", 3),
        rd.ul(_issues(inputs)),
    )
    doc.add(*_effect_blocks(inputs, fig))
    doc.add(*_strategy_blocks(inputs, fig))
    doc.add(*_bundle_blocks(inputs, fig, map_png))
    doc.add(*_collaboration_blocks(inputs, fig))
    doc.add(*_reference_blocks(inputs, fig))
    return doc


def render_html(inputs: ReportInputs, *, png: bytes | None) -> str:
    """The draft as one self-contained HTML page (map embedded, schemes inline)."""
    return rd.render_html(build_document(inputs, map_png=png))


def render_markdown(inputs: ReportInputs, *, png: bytes | None) -> str:
    """The draft as Markdown (figures linked by file name, see `write_report`)."""
    return rd.render_markdown(build_document(inputs, map_png=png))


def write_xlsx(inputs: ReportInputs, path: Path) -> Path:
    """The effect, budget and share tables as a workbook (one sheet per table, assumptions)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    fig = report_figures(inputs)
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
        ["段階", "開始年度", "参加自治体", *[label for _, label, _ in METRICS], "削減額(円)",
         "直営対応時間の削減(時間)"],
        [
            [r["phase"], horizon_ja(r["start"]), r["towns"], *[r[k] for k, _, _ in METRICS],
             r["saving_yen"], r["staff_hours_freed"]]
            for r in eff.phase_rows()
        ],
    )  # fmt: skip
    sheet(
        "予算（自治体別）",
        ["自治体コード", "自治体", "項目", "単位", "現状（年）", "群マネ（年）",
         "差（現状−群マネ）", "出典", "備考"],
        [
            [t.code, t.name, x.item, x.unit, x.before, x.after, x.saving,
             SOURCE_LABELS[x.source], x.note]
            for t in fig.budget.towns
            for x in t.lines
        ],
    )  # fmt: skip
    sheet(
        "予算（年度別）",
        ["年度", "段階", "参加自治体", "現状(円)", "群マネ(円)", "差(円)",
         *[f"{inputs.town_names.get(t, t)}(円)" for t in fig.towns]],
        [[fiscal_year(y.year), y.phase, _names(inputs, y.members), y.total_before, y.total_after,
          y.saving, *[y.after.get(t) for t in fig.towns]]
         for y in fig.years],
    )  # fmt: skip
    sheet(
        "単位別（経路計算）",
        ["単位", "自治体", "走行距離(km)", "稼働時間(h)", "班日", "車両", "計算回数"],
        [
            [u.label, ",".join(u.towns), u.km, u.crew_minutes / 60.0, u.crew_days, u.vehicles,
             u.solves]
            for u in eff.siloed.units + eff.bundled.units
        ],
    )  # fmt: skip
    if fig.council:
        alone = {t.code: t.alone_yen for t in fig.shares.towns} if fig.shares else {}
        rows: list[list[Any]] = []
        for c in fig.council:
            fee = fig.admin_fees.get(c.code, 0.0)
            rows.append(
                [c.code, c.name, c.equal_yen, c.population_yen, c.actual_yen, c.total_yen, fee,
                 c.total_yen + fee, alone.get(c.code), (alone[c.code] - c.total_yen - fee)
                 if c.code in alone else None]
            )  # fmt: skip
        rows.append(["合計", "", None, None, None, sum(c.total_yen for c in fig.council),
                     sum(fig.admin_fees.values()), None, None, None])  # fmt: skip
        sheet(
            "費用分担",
            ["自治体コード", "自治体", "均等割(円)", "人口割(円)", "実績割(円)", "分担額(円)",
             "事務費(円)", "負担額(円)", "単独で発注する場合(円)", "単独との差(円)"],
            rows,
        )  # fmt: skip
        sheet(
            "部署別",
            ["自治体コード", "自治体", "部署", "負担額(円)"],
            [[t, inputs.town_names.get(t, t), d, v]
             for t in fig.towns for d, v in sorted(fig.departments.get(t, {}).items())],
        )  # fmt: skip
    if fig.shares is not None:
        sr = fig.shares
        rules = [r for r in sr.rules if r in RULE_LABELS]
        header = ["自治体コード", "自治体", "人口", "施設延長(km)", "作業量(h)", "単独費用(円)"]
        for rule in rules:
            header += [f"{RULE_LABELS[rule]}(円)", f"{RULE_LABELS[rule]}削減額(円)"]
        srows = []
        for t in sr.towns:
            row: list[Any] = [
                t.code,
                t.name,
                None if math.isnan(t.population) else t.population,
                t.asset_km,
                t.workload_h,
                t.alone_yen,
            ]
            for rule in rules:
                row += [t.shares[rule], t.saving(rule)]
            srows.append(row)
        srows.append(["合計", "", None, None, None, None, *([sr.total_yen, None] * len(rules))])
        sheet("シャープレイ値ほか", header, srows)
        core_rows = [
            [RULE_LABELS.get(rule, rule), ",".join(v["towns"]), v["paid_yen"], v["alone_yen"],
             v["excess_yen"]]
            for rule, found in sr.violations.items()
            for v in found
        ]  # fmt: skip
        sheet(
            "コア検証",
            ["配分方法", "自治体の組", "負担額(円)", "単独での費用(円)", "超過(円)"],
            core_rows or [["（違反なし）", None, None, None, None]],
        )
    costs = inputs.settings.costs
    rates = inputs.settings.budget
    sheet(
        "前提条件",
        ["項目", "値", "単位", "根拠"],
        [[COST_LABELS[f.name][0], float(getattr(costs, f.name)), COST_LABELS[f.name][1],
          COST_BASIS[f.name]] for f in fields(UnitCosts)]
        + [[BUDGET_LABELS[f.name][0], float(getattr(rates, f.name)), BUDGET_LABELS[f.name][1],
            "想定"] for f in fields(rates)]
        + [["出典", ATTRIBUTION, "", ""], ["出典", N03_CREDIT, "", ""]],
    )  # fmt: skip
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
    docx: Path | None = None
    figures: tuple[Path, ...] = ()


def write_report(inputs: ReportInputs, out_dir: str | Path) -> ReportFiles:
    """Write 実施方針.html/.md/.docx, the figures (region_map.png, scheme_N.svg) and
    導入効果_費用分担.xlsx to ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    png = region_map_png(inputs)
    doc = build_document(inputs, map_png=png)
    written = []
    for b in doc.images():
        target = out / b.name
        if isinstance(b.data, bytes):
            target.write_bytes(b.data)
        else:
            target.write_text(b.data, encoding="utf-8")
        written.append(target)
    html = out / "実施方針.html"
    html.write_text(rd.render_html(doc), encoding="utf-8")
    md = out / "実施方針.md"
    md.write_text(rd.render_markdown(doc), encoding="utf-8")
    docx = out / "実施方針.docx"
    docx.write_bytes(rd.render_docx(doc))
    xlsx = write_xlsx(inputs, out / "導入効果_費用分担.xlsx")
    return ReportFiles(
        html=html,
        markdown=md,
        xlsx=xlsx,
        map_png=out / "region_map.png",
        docx=docx,
        figures=tuple(written),
    )


__all__ = [
    "ATTRIBUTION",
    "N03_CREDIT",
    "PATTERNS",
    "PROCESSES",
    "ReportFigures",
    "ReportFiles",
    "ReportInputs",
    "build_document",
    "region_map_png",
    "render_html",
    "render_markdown",
    "report_figures",
    "scope_rows",
    "write_report",
    "write_xlsx",
]
