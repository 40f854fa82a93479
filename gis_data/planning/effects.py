"""Effect estimate (導入効果試算): siloed status quo against bundled patrols, by the same engines.

Both sides are planned the same way: a patrol calendar per *crew unit* over the horizon
(`planning.patrol_calendar`), then each working day's routes from the routing engine through a
`DayRouter` (identical days solved once). Only the units differ:

- **siloed** (status quo): each town x field is a unit patrolled by the town's own staff (直営)
  from the town depot;
- **bundled**: each contract region (all fields, several towns) is a unit patrolled by the
  contractor from the contractor yard(s).

Figures per scenario: km driven, crew hours, crew-days (one crew, one vehicle, one day), vehicles
(per unit the most routes on one day, summed), cost in yen, CO2 and the town staff's hours of
direct work (直営対応時間). Phased plans (one city first, then more towns) are a sequence of
scenarios: the towns of a phase are bundled, the others stay siloed.

Unit costs (`UnitCosts`) and their basis; every one is configurable and the defaults are the
same on both sides, so savings measure bundling, not a price difference:

- ``crew_hour_yen`` 6,200: a two-person patrol crew at about 3,100 yen per person-hour, the
  order of MLIT's 公共工事設計労務単価 (March 2025, all-trade average 24,852 yen per 8-hour day);
  labour only, no overheads (諸経費).
- ``vehicle_km_yen`` 30: fuel at about 175 yen/L and 10 km/L (17.5 yen/km) plus tyres and
  maintenance (an assumption).
- ``vehicle_day_yen`` 4,000: lease of a light patrol truck, about 80,000 yen a month over 20
  working days (an assumption).
- ``fuel_km_per_l`` 10: a light truck (軽トラック) patrolling slowly with frequent stops, below
  its catalogue figure (an assumption).
- ``co2_kg_per_l`` 2.32: gasoline, the emission factor of the GHG accounting and reporting system
  (温室効果ガス排出量算定・報告・公表制度, MOE/METI 算定方法・排出係数一覧: 2.32 t-CO2/kL).
- ``staff_hours_per_crew_hour_town`` 2.0: a siloed patrol is done by two town staff in the car;
  ``staff_hours_per_crew_hour_contractor`` 0.1: under a bundled, performance-based contract the
  town only checks reports and answers escalations (an assumption).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from gis_data.planning.day_routes import CachingRouter, DayRouter
from gis_data.planning.parallel import presolve_days
from gis_data.planning.patrol_calendar import (
    DEFAULT_SHIFT_MINUTES,
    Frequencies,
    PatrolCalendar,
    build_patrol_calendar,
    fit_crews_to_routes,
    route_calendar,
)
from gis_data.planning.work_calendar import Horizon, WorkRules

if TYPE_CHECKING:
    import geopandas as gpd
    from pyproj import CRS

logger = logging.getLogger(__name__)

FIELD_LABELS_JA = {
    "road": "道路",
    "river": "河川",
    "park": "公園",
    "sewer": "下水道",
    "other": "その他",
}
SILOED_LABEL = "現状（自治体・分野別に個別巡回）"
BUNDLED_LABEL = "群マネ（包括・広域で巡回）"


def check_non_negative(rates: Any, noun: str) -> None:
    """Every field of a dataclass of rates is a number >= 0 (NaN refused); ``noun`` names it."""
    for f in fields(rates):
        value = getattr(rates, f.name)
        if not value >= 0:
            raise ValueError(f"{noun} {f.name!r} must be >= 0, got {value!r}")


@dataclass(frozen=True)
class UnitCosts:
    """Unit costs and factors (see the module docstring for the basis of each default)."""

    crew_hour_yen: float = 6_200.0
    vehicle_km_yen: float = 30.0
    vehicle_day_yen: float = 4_000.0
    fuel_km_per_l: float = 10.0
    co2_kg_per_l: float = 2.32
    staff_hours_per_crew_hour_town: float = 2.0
    staff_hours_per_crew_hour_contractor: float = 0.1

    def __post_init__(self) -> None:
        check_non_negative(self, "unit cost")
        if self.fuel_km_per_l <= 0:
            raise ValueError(f"unit cost 'fuel_km_per_l' must be > 0, got {self.fuel_km_per_l}")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], *, where: str = "costs") -> UnitCosts:
        """Unit costs from a config table; unknown keys are an error naming ``where``."""
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"{where}: unknown cost keys {sorted(unknown)}; known {sorted(known)}")
        return cls(**{k: float(v) for k, v in values.items()})


@dataclass(frozen=True)
class CrewUnit:
    """Assets patrolled together by one crew pool from ``depot`` ('|' joins several depot ids).

    ``operator`` is ``"town"`` (town staff, 直営) or ``"contractor"``.
    """

    label: str
    asset_ids: frozenset[str]
    depot: str
    operator: str
    towns: tuple[str, ...] = ()
    field: str = ""  # the field of a siloed town x field unit; "" for a bundle of fields


@dataclass(frozen=True)
class UnitTotals:
    """What one unit's calendar and routes add up to over the horizon."""

    label: str
    operator: str
    towns: tuple[str, ...]
    km: float
    crew_minutes: float
    crew_days: int
    vehicles: int
    working_days: int
    visits: int
    coverage: float
    max_gap_ratio: float
    solves: int
    reused: int
    field: str = ""

    def cost_yen(self, costs: UnitCosts) -> float:
        """The unit's patrol cost at ``costs`` (as `ScenarioFigures.cost_yen` adds it up)."""
        return (
            self.crew_minutes / 60.0 * costs.crew_hour_yen
            + self.km * costs.vehicle_km_yen
            + self.crew_days * costs.vehicle_day_yen
        )

    def staff_hours(self, costs: UnitCosts) -> float:
        """Town staff hours the unit takes (see `ScenarioFigures.staff_hours`)."""
        ratio = (
            costs.staff_hours_per_crew_hour_town
            if self.operator == "town"
            else costs.staff_hours_per_crew_hour_contractor
        )
        return self.crew_minutes / 60.0 * ratio


@dataclass(frozen=True)
class ScenarioFigures:
    """Totals of a scenario (a set of units) and their cost, CO2 and staff hours."""

    label: str
    units: tuple[UnitTotals, ...]
    costs: UnitCosts
    method: str = ""

    @property
    def km(self) -> float:
        """Km driven over the horizon."""
        return sum(u.km for u in self.units)

    @property
    def crew_hours(self) -> float:
        """Crew hours (route durations)."""
        return sum(u.crew_minutes for u in self.units) / 60.0

    @property
    def crew_days(self) -> int:
        """Crew-days (one vehicle out for one day)."""
        return sum(u.crew_days for u in self.units)

    @property
    def vehicles(self) -> int:
        """Vehicles needed (per unit the busiest day's routes)."""
        return sum(u.vehicles for u in self.units)

    @property
    def labour_yen(self) -> float:
        """Crew labour cost."""
        return self.crew_hours * self.costs.crew_hour_yen

    @property
    def distance_yen(self) -> float:
        """Running cost of the vehicles per km."""
        return self.km * self.costs.vehicle_km_yen

    @property
    def vehicle_yen(self) -> float:
        """Vehicle cost per day out."""
        return self.crew_days * self.costs.vehicle_day_yen

    @property
    def cost_yen(self) -> float:
        """Total patrol cost."""
        return self.labour_yen + self.distance_yen + self.vehicle_yen

    @property
    def fuel_l(self) -> float:
        """Fuel burnt."""
        return self.km / self.costs.fuel_km_per_l

    @property
    def co2_kg(self) -> float:
        """CO2 emitted by the patrol vehicles."""
        return self.fuel_l * self.costs.co2_kg_per_l

    @property
    def staff_hours(self) -> float:
        """Town staff's hours of direct work (直営対応時間) for the patrols."""
        total = 0.0
        for u in self.units:
            ratio = (
                self.costs.staff_hours_per_crew_hour_town
                if u.operator == "town"
                else self.costs.staff_hours_per_crew_hour_contractor
            )
            total += u.crew_minutes / 60.0 * ratio
        return total

    @property
    def solves(self) -> int:
        """Routing solves it took (identical days reused)."""
        return sum(u.solves for u in self.units)

    def metrics(self) -> dict[str, float]:
        """The figures by metric key (see `METRICS`)."""
        return {key: float(getattr(self, key)) for key, _, _ in METRICS}


# (attribute, Japanese label, unit) of the figures shown in tables and reports.
METRICS: tuple[tuple[str, str, str], ...] = (
    ("km", "走行距離", "km"),
    ("crew_hours", "作業班の稼働時間", "時間"),
    ("crew_days", "延べ班日数", "班日"),
    ("vehicles", "必要車両台数", "台"),
    ("labour_yen", "人件費", "円"),
    ("distance_yen", "車両走行費", "円"),
    ("vehicle_yen", "車両日額費", "円"),
    ("cost_yen", "巡回費用合計", "円"),
    ("co2_kg", "CO2排出量", "kg-CO2"),
    ("staff_hours", "職員の直営対応時間", "時間"),
)


@dataclass
class PlanCosting:
    """Plans and costs crew units over one horizon; every unit is solved once (cached)."""

    assets: gpd.GeoDataFrame
    router: DayRouter
    horizon: Horizon
    frequencies: Frequencies = field(default_factory=Frequencies)
    rules: WorkRules = field(default_factory=WorkRules)
    metric_crs: CRS | str | None = None
    shift_minutes: float = DEFAULT_SHIFT_MINUTES
    seed: int = 0
    _cache: dict[tuple[frozenset[str], str, str], UnitTotals] = field(default_factory=dict)
    _calendars: dict[tuple[frozenset[str], str, str], PatrolCalendar] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.router, CachingRouter):
            self.router = CachingRouter(self.router)
        self._by_id = self.assets.set_index(self.assets["asset_id"].astype(str), drop=False)

    @property
    def solves(self) -> int:
        """Routing solves so far."""
        assert isinstance(self.router, CachingRouter)
        return self.router.solves

    def _plan(
        self,
        unit: CrewUnit,
        crews: int | Mapping[str, int] | None = None,
        load_factor: Mapping[str, float] | None = None,
    ) -> PatrolCalendar:
        missing = unit.asset_ids - set(self._by_id.index)
        if missing:
            raise ValueError(f"unit {unit.label!r}: unknown asset ids {sorted(missing)[:5]}")
        subset = self._by_id.loc[sorted(unit.asset_ids)].reset_index(drop=True)
        return build_patrol_calendar(
            subset,
            self.horizon,
            region_of=lambda row: unit.label,
            depot_of={unit.label: unit.depot},
            crews=crews,
            shift_minutes=self.shift_minutes,
            frequencies=self.frequencies,
            rules=self.rules,
            metric_crs=self.metric_crs,
            seed=self.seed,
            # Town staff patrol on a few full days; a contractor's crews level their work
            # over the week once it needs a crew a day (see build_patrol_calendar).
            batch=True if unit.operator == "town" else None,
            region_load_factor=load_factor,
        )

    def _calendar(self, unit: CrewUnit) -> PatrolCalendar:
        """The unit's first calendar (what `presolve` routes ahead)."""
        key = (unit.asset_ids, unit.depot, unit.operator)
        if key not in self._calendars:
            self._calendars[key] = self._plan(unit)
        return self._calendars[key]

    def presolve(self, units: Sequence[CrewUnit], client: Any) -> None:
        """Route the distinct working days of every unit's calendar as one batch over ``client``.

        ``client`` is a Dask client or a mapper (`planning.parallel.as_mapper`). The units then
        cost the same as without it: the day solves are seeded and count-based.
        """
        assert isinstance(self.router, CachingRouter)
        days = [
            (assets, unit.depot)
            for unit in units
            if (unit.asset_ids, unit.depot, unit.operator) not in self._cache
            for _, _, assets in self._calendar(unit).day_sets()
        ]
        presolve_days(self.router, days, client=client)

    def unit(self, unit: CrewUnit) -> UnitTotals:
        """Calendar and routes of ``unit`` over the horizon, summed."""
        key = (unit.asset_ids, unit.depot, unit.operator)
        if key in self._cache:
            cached = self._cache[key]
            return UnitTotals(**{**cached.__dict__, "label": unit.label, "solves": 0})
        first = self._calendar(unit)
        # Planned again while a routed day needs more vehicles than the calendar's crews, so
        # the crew-days, vehicles and costs are those of a calendar its crews can drive.
        routed = fit_crews_to_routes(
            lambda crews, factors: first if not factors else self._plan(unit, crews, factors),
            lambda calendar: route_calendar(calendar, self.router),
        )
        calendar = routed.calendar
        totals = UnitTotals(
            label=unit.label,
            operator=unit.operator,
            towns=unit.towns,
            km=routed.total_km(),
            crew_minutes=routed.total_minutes(),
            crew_days=routed.crew_days(),
            vehicles=routed.vehicles(),
            working_days=len(calendar.dates),
            visits=calendar.result.made_visits,
            coverage=calendar.result.coverage,
            max_gap_ratio=calendar.result.max_gap_ratio,
            solves=routed.solves,
            reused=routed.reused,
            field=unit.field,
        )
        self._cache[key] = totals
        logger.info(
            "unit %s: %.0f km, %.0f crew h, %d crew-days, %d solves",
            unit.label,
            totals.km,
            totals.crew_minutes / 60,
            totals.crew_days,
            totals.solves,
        )
        return totals

    def scenario(self, label: str, units: Sequence[CrewUnit], costs: UnitCosts) -> ScenarioFigures:
        """Figures of a scenario made of ``units``."""
        return ScenarioFigures(
            label=label,
            units=tuple(self.unit(u) for u in units),
            costs=costs,
            method=f"calendar {self.horizon.label} + routing engine per distinct working day",
        )


def siloed_units(
    assets: gpd.GeoDataFrame, town_depots: Mapping[str, str], *, towns: Sequence[str] | None = None
) -> list[CrewUnit]:
    """One unit per town x field, patrolled by town staff from the town depot."""
    units = []
    chosen = None if towns is None else set(towns)
    for (raw_code, field_name), group in assets.groupby(["municipality_code", "field"], sort=True):
        code = str(raw_code)
        if chosen is not None and code not in chosen:
            continue
        if code not in town_depots:
            raise ValueError(f"municipality {code!r} has no town depot for the siloed status quo")
        name = str(group["municipality"].iloc[0]) if "municipality" in group else code
        units.append(
            CrewUnit(
                label=f"{name} {FIELD_LABELS_JA.get(str(field_name), str(field_name))}",
                asset_ids=frozenset(group["asset_id"].astype(str)),
                depot=town_depots[code],
                operator="town",
                towns=(code,),
                field=str(field_name),
            )
        )
    return units


def bundled_units(
    assets: gpd.GeoDataFrame,
    *,
    depots: str | Mapping[str, str],
    region_of: Mapping[str, str] | None = None,
    towns: Sequence[str] | None = None,
) -> list[CrewUnit]:
    """One contractor unit per region (all fields); one region for all ``towns`` by default.

    ``depots`` is one depot id for every region ('|' joins several) or region -> depot id.
    """
    chosen = None if towns is None else set(towns)
    frame = assets if chosen is None else assets[assets["municipality_code"].isin(chosen)]
    if len(frame) == 0:
        return []
    ids = frame["asset_id"].astype(str)
    regions = ids.map(lambda a: region_of.get(a, "") if region_of else "bundle")
    if (regions == "").any():
        missing = ids[regions == ""].tolist()[:5]
        raise ValueError(f"assets without a region: {missing}")
    units = []
    for region in sorted(set(regions)):
        members = frame[(regions == region).to_numpy()]
        depot = depots if isinstance(depots, str) else depots.get(region)
        if depot is None:
            raise ValueError(f"region {region!r} has no depot")
        units.append(
            CrewUnit(
                label=str(region),
                asset_ids=frozenset(members["asset_id"].astype(str)),
                depot=depot,
                operator="contractor",
                towns=tuple(sorted(set(members["municipality_code"].astype(str)))),
            )
        )
    return units


@dataclass(frozen=True)
class Phase:
    """A phase of a phased plan: from ``start`` (e.g. 'FY2026') the ``towns`` are bundled."""

    label: str
    start: str
    towns: tuple[str, ...]


@dataclass(frozen=True)
class EffectEstimate:
    """Siloed against bundled figures, and per phase of a phased plan."""

    siloed: ScenarioFigures
    bundled: ScenarioFigures
    phases: tuple[tuple[Phase, ScenarioFigures], ...] = ()
    horizon: str = ""
    solves: int = 0

    def comparison_rows(self) -> list[dict[str, Any]]:
        """One row per metric: siloed, bundled, saving and saving in %."""
        rows = []
        s, b = self.siloed.metrics(), self.bundled.metrics()
        for key, label, unit in METRICS:
            saving = s[key] - b[key]
            rows.append(
                {
                    "metric": key,
                    "label": label,
                    "unit": unit,
                    "siloed": s[key],
                    "bundled": b[key],
                    "saving": saving,
                    "saving_pct": 100.0 * saving / s[key] if s[key] else 0.0,
                }
            )
        return rows

    def phase_rows(self) -> list[dict[str, Any]]:
        """One row per phase: the towns bundled and the scenario's key figures."""
        base = self.siloed.metrics()
        rows = []
        for phase, fig in self.phases:
            m = fig.metrics()
            rows.append(
                {
                    "phase": phase.label,
                    "start": phase.start,
                    "towns": ", ".join(phase.towns),
                    **m,
                    "saving_yen": base["cost_yen"] - m["cost_yen"],
                    "staff_hours_freed": base["staff_hours"] - m["staff_hours"],
                }
            )
        return rows

    def staff_rows(
        self, staff_hours_available: Mapping[str, float] | None = None
    ) -> list[dict[str, Any]]:
        """Staff hours freed per town (municipality code), siloed against bundled.

        A bundled unit's staff hours are split evenly among its towns. ``staff_hours_available``
        (town -> the staff's hours per horizon on inspection and routine maintenance, from the
        current-state intake: `workbench.intake.Intake.patrol_hours_by_town`) adds each town's
        freed share of that time.
        """
        by_town: dict[str, list[float]] = {}
        for idx, fig in enumerate((self.siloed, self.bundled)):
            for u in fig.units:
                ratio = (
                    fig.costs.staff_hours_per_crew_hour_town
                    if u.operator == "town"
                    else fig.costs.staff_hours_per_crew_hour_contractor
                )
                for town in u.towns:
                    by_town.setdefault(town, [0.0, 0.0])[idx] += (
                        u.crew_minutes / 60.0 * ratio / len(u.towns)
                    )
        available = staff_hours_available or {}
        rows = []
        for town in sorted(by_town):
            siloed, bundled = by_town[town]
            have = available.get(town)
            rows.append(
                {
                    "town": town,
                    "siloed_staff_hours": siloed,
                    "bundled_staff_hours": bundled,
                    "staff_hours_freed": siloed - bundled,
                    "staff_hours_available": have,
                    "freed_pct_of_available": 100.0 * (siloed - bundled) / have if have else None,
                }
            )
        return rows


def estimate_effects(
    costing: PlanCosting,
    *,
    town_depots: Mapping[str, str],
    bundle_depots: str | Mapping[str, str],
    region_of: Mapping[str, str] | None = None,
    phases: Sequence[Phase] = (),
    costs: UnitCosts | None = None,
    client: Any | None = None,
) -> EffectEstimate:
    """Compare the siloed status quo with the bundled scenario (and each phase).

    ``client`` (a Dask client or a mapper) routes the distinct days of every unit of every
    scenario as one batch of parallel solves first; None routes them here, unit by unit.
    """
    costs = costs or UnitCosts()
    assets = costing.assets
    siloed_side = siloed_units(assets, town_depots)
    bundled_side = bundled_units(assets, depots=bundle_depots, region_of=region_of)
    all_towns = set(assets["municipality_code"].astype(str))
    phase_units = []
    for phase in phases:
        unknown = set(phase.towns) - all_towns
        if unknown:
            raise ValueError(f"phase {phase.label!r}: unknown municipality codes {sorted(unknown)}")
        rest = sorted(all_towns - set(phase.towns))
        units = bundled_units(
            assets, depots=bundle_depots, region_of=region_of, towns=phase.towns
        ) + siloed_units(assets, town_depots, towns=rest)
        phase_units.append((phase, units))
    if client is not None:
        costing.presolve(
            [*siloed_side, *bundled_side, *(u for _, units in phase_units for u in units)], client
        )
    siloed = costing.scenario(SILOED_LABEL, siloed_side, costs)
    bundled = costing.scenario(BUNDLED_LABEL, bundled_side, costs)
    per_phase = [
        (phase, costing.scenario(phase.label, units, costs)) for phase, units in phase_units
    ]
    return EffectEstimate(
        siloed=siloed,
        bundled=bundled,
        phases=tuple(per_phase),
        horizon=costing.horizon.label,
        solves=costing.solves,
    )


def _unit_from_json(data: Mapping[str, Any]) -> UnitTotals:
    names = {f.name for f in fields(UnitTotals)}
    values = {k: v for k, v in data.items() if k in names}
    values["towns"] = tuple(values.get("towns", ()))
    return UnitTotals(**values)


def estimate_from_json(data: Mapping[str, Any], costs: UnitCosts) -> EffectEstimate:
    """An `EffectEstimate` back from its stored JSON (``workflows.effects_json``) at ``costs``.

    The units' figures are stored, so every total is the one first computed; phases come back
    when their units were stored (``phase_units``), else the estimate has none.
    """
    units = data.get("units", {})
    method = str(data.get("method", ""))
    siloed = ScenarioFigures(
        SILOED_LABEL, tuple(_unit_from_json(u) for u in units.get("siloed", ())), costs, method
    )
    bundled = ScenarioFigures(
        BUNDLED_LABEL, tuple(_unit_from_json(u) for u in units.get("bundled", ())), costs, method
    )
    phases = tuple(
        (
            Phase(str(p["label"]), str(p["start"]), tuple(map(str, p["towns"]))),
            ScenarioFigures(
                str(p["label"]), tuple(_unit_from_json(u) for u in p["units"]), costs, method
            ),
        )
        for p in data.get("phase_units", ())
    )
    return EffectEstimate(
        siloed=siloed,
        bundled=bundled,
        phases=phases,
        horizon=str(data.get("horizon", "")),
        solves=int(data.get("routing_solves", 0)),
    )


def phase_units_json(effects: EffectEstimate) -> list[dict[str, Any]]:
    """The phases with their units as plain data (for `estimate_from_json`)."""
    return [
        {
            "label": phase.label,
            "start": phase.start,
            "towns": list(phase.towns),
            "units": [{**u.__dict__, "towns": list(u.towns)} for u in fig.units],
        }
        for phase, fig in effects.phases
    ]
