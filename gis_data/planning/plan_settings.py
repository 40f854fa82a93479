"""Plan settings (TOML) for calendars, effects, shares and the report, with documented defaults.

A settings file sits beside a scenario (``gunmane plan effects CONFIG --settings FILE``); every
table is optional::

    horizon = "FY2026"               # a month "2026-04" or a fiscal year "FY2026"
    shift_hours = 8
    seed = 0

    [calendar]                       # patrol intervals in working days (planning.patrol_calendar)
    arterial_road = 2
    local_road = 5
    prefectural_road = 5             # 県道 of a prefecture member ([cooperation] prefecture_code)
    river = 20
    park_growing = 5
    park_off_season = 20
    growing_months = [4, 5, 6, 7, 8, 9, 10]

    [work_days]
    weekend = [5, 6]                 # Monday = 0; [] to work on weekends
    public_holidays_off = true
    year_end_off = true              # Dec 29 - Jan 3

    [costs]                          # gis_data.planning.effects.UnitCosts
    crew_hour_yen = 6200

    [[phase]]                        # phased plan; towns by municipality code
    label = "第1期"
    start = "FY2026"
    towns = ["LI-7001"]

    [report]
    contract_years = 3               # 0: single-year contract
    performance_spec = true
    title = "地域インフラ群再生戦略マネジメント 実施方針（案）"

    [cooperation]                    # gis_data.planning.cooperation.Cooperation
    pattern = "delegated_execution"  # joint_procurement, council, partial_affairs_union, ...
    lead = "LI-7001"                 # a municipality code or "prefecture"
    prefecture = "静岡県"             # optional: the prefecture takes part
    prefecture_code = "22000"        # optional: the member holding its 県道 as assets
    admin_fee_rate = 0.02

    [cost_share]                     # gis_data.planning.cost_share.CouncilFormula
    equal = 0.2                      # 均等割
    population = 0.4                 # 人口割
    actual = 0.4                     # 実績割
    basis = "workload"               # or "asset_km"
    departments = { road = "建設課", park = "都市計画課" }

    [[maintenance]]                  # gis_data.planning.maintenance: override or add a task
    key = "verge_mowing"
    per_year = 3

    [road_classes]                   # gis_data.planning.road_classes.RoadClassSetting
    column = "道路種別"               # the road assets' class column
    classes = { "1級" = "arterial_road", "2級" = "local_road" }
    speeds_kmh = { "1級" = 15 }

    [budget]                         # gis_data.planning.budget.BudgetRates
    management_fee_rate = 0.10
    overhead_rate = 0.30
    staff_hours_per_tender = 40

Without phases, the plan bundles the most populous town first, then adds one town per phase (two
years apart) up to three towns, the pattern of the guide's example.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gis_data.planning.budget import BudgetRates
from gis_data.planning.cooperation import PATTERNS, Cooperation
from gis_data.planning.cost_share import CouncilFormula
from gis_data.planning.effects import Phase, UnitCosts
from gis_data.planning.maintenance import DEFAULT_TASKS, MaintenanceTask, tasks_from_settings
from gis_data.planning.patrol_calendar import Frequencies
from gis_data.planning.road_classes import RoadClassSetting
from gis_data.planning.work_calendar import WorkRules, parse_horizon

_TOP = {
    "horizon",
    "shift_hours",
    "seed",
    "calendar",
    "work_days",
    "costs",
    "phase",
    "report",
    "cooperation",
    "cost_share",
    "budget",
    "maintenance",
    "road_classes",
}
_REPORT = {
    "contract_years",
    "performance_spec",
    "title",
    "scope",
    "issues",
    "collaboration",
    "ordering",
}


@dataclass(frozen=True)
class ReportOptions:
    """What the 実施方針 states beyond the computed figures."""

    title: str = "地域インフラ群再生戦略マネジメント 実施方針（案）"
    contract_years: int = 3
    performance_spec: bool = True
    ordering: str = "共同発注"
    # Field -> processes bundled (the scope matrix); None: patrol and routine work of every field.
    scope: dict[str, list[str]] | None = None
    issues: list[str] = field(default_factory=list)
    collaboration: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PlanSettings:
    """Everything a plan command needs besides the scenario."""

    horizon: str = "FY2026"
    shift_hours: float = 8.0
    seed: int = 0
    frequencies: Frequencies = field(default_factory=Frequencies)
    rules: WorkRules = field(default_factory=WorkRules)
    costs: UnitCosts = field(default_factory=UnitCosts)
    phases: tuple[Phase, ...] = ()
    report: ReportOptions = field(default_factory=ReportOptions)
    cooperation: Cooperation = field(default_factory=Cooperation)
    cost_share: CouncilFormula = field(default_factory=CouncilFormula)
    budget: BudgetRates = field(default_factory=BudgetRates)
    maintenance: tuple[MaintenanceTask, ...] = DEFAULT_TASKS
    # The scenario's road classes (a stored scenario's setting; a TOML has its own table).
    road_classes: RoadClassSetting | None = None
    source: str = "defaults"

    def __post_init__(self) -> None:
        # The member holding a prefecture's 県道 patrols them at the prefecture's own interval.
        code = self.cooperation.prefecture_code
        if code and code not in self.frequencies.prefecture_owners:
            owners = self.frequencies.prefecture_owners | {code}
            object.__setattr__(
                self, "frequencies", replace(self.frequencies, prefecture_owners=owners)
            )


def _check(table: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown}; allowed {sorted(allowed)}")


def read_settings(path: str | Path | None) -> PlanSettings:
    """Settings from a TOML file, or the defaults when ``path`` is None."""
    if path is None:
        return PlanSettings()
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{p}: settings file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{p}: not valid TOML: {exc}") from None
    return settings_from_mapping(data, where=str(p))


def settings_from_mapping(data: dict[str, Any], *, where: str = "settings") -> PlanSettings:
    """Settings from the tables of a settings TOML as a mapping (e.g. stored as JSON).

    Raises ValueError naming ``where`` and the key for an unknown key or a bad value.
    """
    _check(data, _TOP, where)
    horizon = str(data.get("horizon", "FY2026"))
    parse_horizon(horizon)
    freq = Frequencies.from_mapping(data.get("calendar", {}), where=f"{where} [calendar]")
    wd = data.get("work_days", {})
    _check(wd, {"weekend", "public_holidays_off", "year_end_off"}, f"{where} [work_days]")
    rules = WorkRules(
        weekend=frozenset(int(d) for d in wd.get("weekend", [5, 6])),
        public_holidays_off=bool(wd.get("public_holidays_off", True)),
        year_end_off=bool(wd.get("year_end_off", True)),
    )
    costs = UnitCosts.from_mapping(data.get("costs", {}), where=f"{where} [costs]")
    phases = []
    for k, ph in enumerate(data.get("phase", [])):
        at = f"{where} [[phase]] {k + 1}"
        _check(ph, {"label", "start", "towns"}, at)
        if not ph.get("towns"):
            raise ValueError(f"{at}: 'towns' must list at least one municipality code")
        start = str(ph.get("start", f"FY{2026 + 2 * k}"))
        parse_horizon(start)
        phases.append(
            Phase(str(ph.get("label", f"第{k + 1}期")), start, tuple(map(str, ph["towns"])))
        )
    rep = data.get("report", {})
    _check(rep, _REPORT, f"{where} [report]")
    report = ReportOptions(
        title=str(rep.get("title", ReportOptions.title)),
        contract_years=int(rep.get("contract_years", 3)),
        performance_spec=bool(rep.get("performance_spec", True)),
        ordering=str(rep.get("ordering", "共同発注")),
        scope={str(k): list(map(str, v)) for k, v in rep["scope"].items()}
        if "scope" in rep
        else None,
        issues=list(map(str, rep.get("issues", []))),
        collaboration=list(map(str, rep.get("collaboration", []))),
    )
    return PlanSettings(
        horizon=horizon,
        shift_hours=float(data.get("shift_hours", 8.0)),
        seed=int(data.get("seed", 0)),
        frequencies=freq,
        rules=rules,
        costs=costs,
        phases=tuple(phases),
        report=report,
        cooperation=_cooperation(data, report, where=f"{where} [cooperation]"),
        cost_share=CouncilFormula.from_mapping(
            data.get("cost_share", {}), where=f"{where} [cost_share]"
        ),
        budget=BudgetRates.from_mapping(data.get("budget", {}), where=f"{where} [budget]"),
        maintenance=tasks_from_settings(
            data.get("maintenance", []), where=f"{where} [[maintenance]]"
        ),
        road_classes=road_class_setting(data, where=where),
        source=where,
    )


def road_class_setting(data: dict[str, Any], *, where: str = "settings") -> RoadClassSetting | None:
    """The ``[road_classes]`` table of settings, None when absent; ValueError names ``where``."""
    table = data.get("road_classes")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ValueError(f"{where} [road_classes]: must be a table, got {table!r}")
    try:
        return RoadClassSetting.from_mapping(table)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where} [road_classes]: {exc}") from None


def _cooperation(data: dict[str, Any], report: ReportOptions, *, where: str) -> Cooperation:
    """The ``[cooperation]`` table; without it, the report's old free-text ``ordering`` when it
    names a pattern in Japanese (e.g. "協議会")."""
    if "cooperation" in data:
        return Cooperation.from_mapping(data["cooperation"], where=where)
    by_label = {label: key for key, label in PATTERNS.items()}
    return Cooperation(pattern=by_label.get(report.ordering, "joint_procurement"))


def default_phases(populations: dict[str, float], *, first_year: int = 2026) -> tuple[Phase, ...]:
    """Most populous town first, then one more town per phase, two years apart, up to three."""

    def size(code: str) -> float:
        value = populations[code]
        return value if value == value else 0.0  # NaN (unknown) sorts last

    order = sorted(populations, key=lambda c: (-size(c), c))
    phases = []
    for k in range(min(3, len(order))):
        phases.append(Phase(f"第{k + 1}期", f"FY{first_year + 2 * k}", tuple(order[: k + 1])))
    return tuple(phases)
