"""Periodic maintenance work beyond patrols (維持作業): quantities, trades, seasons, crew-days.

Patrols are routed day by day (`planning.patrol_calendar`); the other routine work of a bundled
contract is planned by quantity: how much of it each asset holds, how often a year, in which
months, by which trade and at what output per crew-day. Each `MaintenanceTask`:

==================  =======================================  ========  ====  ==========  ====
task                applies to (quantity)                    trade     /yr   months      out
==================  =======================================  ========  ====  ==========  ====
路肩の除草          road length x 2 sides x verge width      除草      2     6-9         *
河川堤防の除草      river bank length x slope width          除草      2     6-7, 9-10   *
公園の芝刈り・除草  park area (m2)                           造園      4     5-10        *
路面清掃            road length (km)                         清掃      2     3-4, 11     *
側溝清掃            1級 roads' length                        清掃      1     5-6         *
公園の剪定          parks (count)                            造園      1     11-2        *
舗装の応急補修      per finding: road km x findings per km   舗装補修  -     all year    *
橋梁・トンネル点検  bridges and tunnels (count), 5-yearly    点検      0.2   6-11        *
==================  =======================================  ========  ====  ==========  ====

(* outputs per crew-day: `DEFAULT_TASKS`; every figure is an assumption of common practice to be
replaced by the contract's own, through ``[[maintenance]]`` tables in the settings.) A task
whose assets are absent (no bridges in the data) yields nothing and is not ticked in the scope.

The calendar of the work is its crew-days per trade and month, spread evenly over the working
days of the task's months (levelled per region: `crews_by_trade` gives the crews each trade
needs on a working day of the busiest month). The cost is crew-days x the trade's day rate.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import geopandas as gpd

QUANTITIES = ("area_m2", "length_m", "count", "findings")
UNITS_JA = {"area_m2": "㎡", "length_m": "m", "count": "箇所", "findings": "件"}


@dataclass(frozen=True)
class MaintenanceTask:
    """One kind of periodic work (see the module docstring)."""

    key: str
    label: str
    field: str  # road, river, park, sewer, other
    quantity: str  # one of QUANTITIES
    trade: str
    per_year: float
    months: tuple[int, ...]
    output_per_crew_day: float  # quantity units one crew does in a day
    width_m: float = 0.0  # for areas of line assets (verges, slopes)
    kinds: tuple[str, ...] = ()  # asset kinds it applies to (empty: all of the field)
    road_classes: tuple[str, ...] = ()  # only roads of these classes (1級 ...), empty: all
    findings_per_km: float = 0.0  # for per-finding work: findings per road km and year

    def __post_init__(self) -> None:
        if self.quantity not in QUANTITIES:
            raise ValueError(f"task {self.key!r}: quantity must be one of {QUANTITIES}")
        if not self.months or not set(self.months) <= set(range(1, 13)):
            raise ValueError(f"task {self.key!r}: months must be 1..12, got {self.months}")
        if not self.output_per_crew_day > 0:
            raise ValueError(f"task {self.key!r}: output_per_crew_day must be > 0")
        if self.per_year < 0 or self.width_m < 0 or self.findings_per_km < 0:
            raise ValueError(f"task {self.key!r}: per_year, width_m, findings_per_km must be >= 0")


ALL_YEAR = tuple(range(1, 13))
DEFAULT_TASKS: tuple[MaintenanceTask, ...] = (
    MaintenanceTask("verge_mowing", "路肩の除草", "road", "area_m2", "除草", 2, (6, 7, 8, 9),
                    3_000.0, width_m=2 * 1.0),
    MaintenanceTask("bank_mowing", "河川堤防の除草", "river", "area_m2", "除草", 2,
                    (6, 7, 9, 10), 5_000.0, width_m=8.0),
    MaintenanceTask("park_mowing", "公園の芝刈り・除草", "park", "area_m2", "造園", 4,
                    (5, 6, 7, 8, 9, 10), 4_000.0),
    MaintenanceTask("street_sweeping", "路面清掃", "road", "length_m", "清掃", 2, (3, 4, 11),
                    20_000.0),
    MaintenanceTask("gutter_cleaning", "側溝清掃", "road", "length_m", "清掃", 1, (5, 6), 600.0,
                    road_classes=("1級",)),
    MaintenanceTask("pruning", "公園の剪定", "park", "count", "造園", 1, (11, 12, 1, 2), 2.0),
    MaintenanceTask("pothole_patching", "舗装の応急補修（巡回で見つけた穴）", "road", "findings",
                    "舗装補修", 1, ALL_YEAR, 8.0, findings_per_km=2.0),
    MaintenanceTask("bridge_inspection", "橋梁・トンネルの定期点検（5年に1回）", "road", "count",
                    "点検", 0.2, (6, 7, 8, 9, 10, 11), 2.0, kinds=("bridge", "tunnel")),
)  # fmt: skip
# A crew-day of each trade (a 2-3 person crew with its machine), yen; assumptions.
DEFAULT_TRADE_DAY_YEN = {
    "除草": 75_000.0,
    "造園": 80_000.0,
    "清掃": 90_000.0,
    "舗装補修": 110_000.0,
    "点検": 120_000.0,
}


@dataclass(frozen=True)
class TaskAmount:
    """A task's yearly quantity and crew-days in one town and region."""

    task: MaintenanceTask
    town: str
    region: str
    quantity: float
    crew_days: float


@dataclass(frozen=True)
class MaintenancePlan:
    """The year's maintenance work: amounts per task x town x region, and its calendar."""

    amounts: tuple[TaskAmount, ...]
    trade_day_yen: dict[str, float]
    year: int
    working_days: dict[int, int]  # month -> working days in that month of the fiscal year
    monthly: dict[tuple[str, str, int], float] = field(default_factory=dict)

    def crew_days(self, *, town: str | None = None, trade: str | None = None) -> float:
        """Crew-days a year (of one town or trade)."""
        return sum(
            a.crew_days
            for a in self.amounts
            if (town is None or a.town == town) and (trade is None or a.task.trade == trade)
        )

    def cost_yen(self, *, town: str | None = None) -> float:
        """Yearly cost: crew-days x the trade's day rate."""
        return sum(
            a.crew_days * self.trade_day_yen[a.task.trade]
            for a in self.amounts
            if town is None or a.town == town
        )

    def fields_modelled(self) -> dict[str, set[str]]:
        """Field -> the tasks with work (for the scope matrix)."""
        out: dict[str, set[str]] = {}
        for a in self.amounts:
            if a.crew_days > 0:
                out.setdefault(a.task.field, set()).add(a.task.key)
        return out

    def trades(self) -> list[str]:
        """Trades with work, in the order of `DEFAULT_TRADE_DAY_YEN`."""
        used = {a.task.trade for a in self.amounts if a.crew_days > 0}
        order = list(self.trade_day_yen)
        return sorted(used, key=lambda t: (order.index(t) if t in order else len(order), t))

    def crews_by_trade(self, region: str | None = None) -> dict[str, int]:
        """Crews each trade needs on a working day of its busiest month (per region or all)."""
        out: dict[str, int] = {}
        for (reg, trade, month), days in self.monthly.items():
            if region is not None and reg != region:
                continue
            wd = self.working_days.get(month, 0)
            if wd:
                out[trade] = max(out.get(trade, 0), math.ceil(days / wd - 1e-9))
        return out

    def month_rows(self) -> list[tuple[str, list[float]]]:
        """Per trade its crew-days in each month of the fiscal year (April first), all regions."""
        months = [4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3]
        rows = []
        for trade in self.trades():
            rows.append(
                (
                    trade,
                    [
                        sum(v for (_, t, m), v in self.monthly.items() if t == trade and m == mo)
                        for mo in months
                    ],
                )
            )
        return rows


def _quantity(task: MaintenanceTask, rows: gpd.GeoDataFrame, lengths: Any, areas: Any) -> float:
    if task.quantity == "area_m2":
        return float((areas + lengths * task.width_m).sum())
    if task.quantity == "length_m":
        return float(lengths.sum())
    if task.quantity == "findings":
        return float(lengths.sum()) / 1000.0 * task.findings_per_km
    return float(len(rows))


def plan_maintenance(
    assets: gpd.GeoDataFrame,
    *,
    year: int,
    region_of: Mapping[str, str] | None = None,
    tasks: Sequence[MaintenanceTask] = DEFAULT_TASKS,
    trade_day_yen: Mapping[str, float] | None = None,
    working_days: Sequence[dt.date] = (),
    metric_crs: Any = None,
) -> MaintenancePlan:
    """Quantities, crew-days and the monthly calendar of ``tasks`` on ``assets`` for the fiscal
    year starting April ``year``; ``working_days`` (the calendar's dates) spread the work over
    months, ``region_of`` (asset id -> region) levels it per region."""
    from gis_data.workbench.ja_format import road_class_ja

    rates = dict(DEFAULT_TRADE_DAY_YEN)
    rates.update(trade_day_yen or {})
    missing = {t.trade for t in tasks} - set(rates)
    if missing:
        raise ValueError(f"no day rate for trades {sorted(missing)}")
    crs = metric_crs if metric_crs is not None else assets.estimate_utm_crs()
    metric = assets.to_crs(crs)
    kinds = metric.geometry.geom_type
    lengths = metric.geometry.length.where(kinds.isin(["LineString", "MultiLineString"]), 0.0)
    areas = metric.geometry.area.where(kinds.isin(["Polygon", "MultiPolygon"]), 0.0)
    ids = assets["asset_id"].astype(str)
    regions = ids.map(lambda a: (region_of or {}).get(a, "1"))
    classes = (
        assets["road_class"].map(road_class_ja)
        if "road_class" in assets
        else ids.map(lambda _: "その他")
    )
    asset_kinds = assets["kind"].astype(str).str.lower() if "kind" in assets else ids.map(str)
    wd: dict[int, int] = {}
    for d in working_days:
        wd[d.month] = wd.get(d.month, 0) + 1
    if not wd:
        wd = dict.fromkeys(range(1, 13), 20)
    amounts: list[TaskAmount] = []
    monthly: dict[tuple[str, str, int], float] = {}
    for task in tasks:
        mask = assets["field"].astype(str) == task.field
        if task.kinds:
            mask &= asset_kinds.isin([k.lower() for k in task.kinds])
        if task.road_classes:
            mask &= classes.isin(task.road_classes)
        if not mask.any():
            continue
        frame = assets[mask]
        groups = frame.groupby(
            [frame["municipality_code"].astype(str), regions[mask]], sort=True
        ).groups
        for (town, region), index in groups.items():
            rows = assets.loc[index]
            qty = _quantity(task, rows, lengths.loc[index], areas.loc[index])
            yearly_qty = qty if task.quantity == "findings" else qty * task.per_year
            crew_days = yearly_qty / task.output_per_crew_day
            if crew_days <= 0:
                continue
            amounts.append(TaskAmount(task, str(town), str(region), yearly_qty, crew_days))
            # Spread evenly over the working days of the task's months.
            days_in = {m: wd.get(m, 0) for m in task.months}
            total = sum(days_in.values())
            for m, n in days_in.items():
                if total and n:
                    key = (str(region), task.trade, m)
                    monthly[key] = monthly.get(key, 0.0) + crew_days * n / total
    return MaintenancePlan(
        amounts=tuple(amounts),
        trade_day_yen=rates,
        year=year,
        working_days=wd,
        monthly=monthly,
    )


def tasks_from_settings(
    rows: Sequence[Mapping[str, Any]], *, where: str = "maintenance"
) -> tuple[MaintenanceTask, ...]:
    """``[[maintenance]]`` tables: a row with a known ``key`` overrides that default task's
    values; a new key adds a task (every field then needed); ``enabled = false`` drops one."""
    by_key = {t.key: t for t in DEFAULT_TASKS}
    order = [t.key for t in DEFAULT_TASKS]
    known = set(MaintenanceTask.__dataclass_fields__) | {"enabled"}
    for k, row in enumerate(rows):
        here = f"{where} {k + 1}"
        unknown = sorted(set(row) - known)
        if unknown:
            raise ValueError(f"{here}: unknown keys {unknown}; allowed {sorted(known)}")
        key = str(row.get("key", ""))
        if not key:
            raise ValueError(f"{here}: 'key' is required")
        if row.get("enabled", True) is False:
            by_key.pop(key, None)
            continue
        values = {n: v for n, v in row.items() if n != "enabled"}
        for n in ("months", "kinds", "road_classes"):
            if n in values:
                values[n] = tuple(values[n])
        try:
            if key in by_key:
                base = by_key[key]
                by_key[key] = MaintenanceTask(**{**base.__dict__, **values})
            else:
                by_key[key] = MaintenanceTask(**values)
                order.append(key)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{here}: {exc}") from None
    return tuple(by_key[k] for k in order if k in by_key)
