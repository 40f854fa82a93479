"""Patrol calendar of a plan: which assets each region's crews patrol on each working day.

Default patrol frequencies by asset class, in *working days* (weekends, Japanese public holidays
and the year-end closure are off, see `gis_data.planning.work_calendar`), configurable through
`Frequencies`:

=========================  ==========================  ========================================
class                      rule                        default interval (working days)
=========================  ==========================  ========================================
arterial road              ``road_class`` trunk,       2 (every other working day)
                           primary, secondary,
                           tertiary (and ``*_link``),
                           1級; or ``patrol_class``
                           (`planning.road_classes`)
local road                 any other road              5 (weekly)
prefectural road (県道)    field ``road`` of an owner  5 (weekly: every 7 calendar days), the
                           in ``prefecture_owners``    prefecture's own setting
river bank                 field ``river``             20 (monthly)
park                       field ``park``              5 in the growing season (April-October),
                                                       20 otherwise
sewer, other               field ``sewer``/``other``   20 (monthly)
=========================  ==========================  ========================================

These follow common practice of Japanese road administrators (arterial roads patrolled every one
to two days, others weekly to monthly) and are meant to be set per contract. A prefecture taking
part with its 県道 (`planning.cooperation.Cooperation.prefecture_code`: the member whose road
assets are the prefecture's) patrols them at its own ``prefectural_road`` interval, whatever
their road class, apart from the towns' 市町村道 intervals; `plan_settings.PlanSettings` fills
``prefecture_owners`` from the cooperation setting. An asset's own
``patrol_interval_days`` (calendar days) overrides the class when ``use_asset_intervals`` is set,
converted to working days at 5/7.

Each visit's workload for leveling is the asset's patrol minutes (`planning.units`) plus a share
for driving between stretches (`gis_data.planning.units.DEADHEAD_SHARE`). The optimizer
(`optimizer.calendar`) picks a phase per asset so that gaps stay within the interval, small work
fills whole crew-days, assets close together (same 2 km square) share their days and each
region's daily load is level; each day's actual routes then come from the routing engine through a
`DayRouter` (`route_calendar`), reusing the solve of identical days.

The workload estimate can fall short of what the routes take (driving between stretches varies,
a route cannot be split between crews), so a routed day may need more vehicles than the crews the
calendar was planned with. `fit_crews_to_routes` then plans again: first with each short
region's workload scaled by what its routes took over the estimate (the work is levelled again so
each day fits), then with the crews its busiest routed day needed, at most `MAX_CREW_ROUNDS`
plans in all. Its result never has a routed day with more routes than the calendar's crews.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from gis_data.planning.day_routes import EMPTY_DAY, CachingRouter, DayRouter, DayRoutes
from gis_data.planning.road_classes import road_patrol_class
from gis_data.planning.units import DEADHEAD_SHARE, asset_patrol_minutes
from gis_data.planning.work_calendar import Horizon, WorkRules, working_days
from optimizer.calendar import (
    CalendarResult,
    CalendarTask,
    CrewPool,
    plan_calendar,
    required_visits,
)
from optimizer.stop import MaxIterations, StoppingCriterion

if TYPE_CHECKING:
    import geopandas as gpd
    from pyproj import CRS

logger = logging.getLogger(__name__)

PATROL_CLASSES = (
    "arterial_road",
    "local_road",
    "prefectural_road",
    "river",
    "park",
    "sewer",
    "other",
)
DEFAULT_SHIFT_MINUTES = 480.0
# Days stay geographically compact: a crew entering a 2 km square for one asset loses about ten
# minutes, so it serves the square's other due assets the same day.
DEFAULT_ZONE_KM = 2.0
DEFAULT_ZONE_MINUTES = 10.0
# Automatic crew count: mean daily workload fills at most this share of the crews' shifts, which
# leaves room for the peak days the leveling cannot flatten.
AUTO_CREW_UTILISATION = 0.8
# Plans of one calendar at most (the first, a re-levelled one, then one per raise of the crews).
MAX_CREW_ROUNDS = 3
# A region's estimate is scaled by at most this much per round (a router gone astray must not
# blow the crew count up).
MAX_LOAD_CALIBRATION = 3.0


@dataclass(frozen=True)
class Frequencies:
    """Patrol intervals in working days by asset class (see the module docstring)."""

    arterial_road: int = 2
    local_road: int = 5
    river: int = 20
    park_growing: int = 5
    park_off_season: int = 20
    sewer: int = 20
    other: int = 20
    prefectural_road: int = 5
    growing_months: frozenset[int] = frozenset(range(4, 11))
    use_asset_intervals: bool = False
    # Municipality codes whose road assets are a prefecture's 県道 (see the module docstring).
    prefecture_owners: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for name in (
            "arterial_road",
            "local_road",
            "prefectural_road",
            "river",
            "park_growing",
            "park_off_season",
            "sewer",
            "other",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"frequency {name!r} must be an integer >= 1, got {value!r}")
        if not self.growing_months <= set(range(1, 13)):
            raise ValueError(
                f"growing_months must be months 1..12, got {sorted(self.growing_months)}"
            )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], *, where: str = "calendar") -> Frequencies:
        """Frequencies from a config table (unknown keys are an error naming ``where``)."""
        known = set(cls.__dataclass_fields__)
        unknown = set(values) - known
        if unknown:
            raise ValueError(
                f"{where}: unknown frequency keys {sorted(unknown)}; known {sorted(known)}"
            )
        kwargs = dict(values)
        if "growing_months" in kwargs:
            kwargs["growing_months"] = frozenset(int(m) for m in kwargs["growing_months"])
        if "prefecture_owners" in kwargs:
            kwargs["prefecture_owners"] = frozenset(map(str, kwargs["prefecture_owners"]))
        return cls(**kwargs)

    def interval(self, patrol_class: str, day: dt.date) -> int:
        """Interval of ``patrol_class`` in the season of ``day``."""
        if patrol_class == "park":
            return self.park_growing if day.month in self.growing_months else self.park_off_season
        return int(getattr(self, patrol_class))

    def class_of(self, row: Mapping[str, Any]) -> str:
        """The patrol class of an asset row: `patrol_class`, except that a road of a
        ``prefecture_owners`` member is a prefectural road (県道)."""
        if (
            self.prefecture_owners
            and str(row.get("field", "other")) == "road"
            and str(row.get("municipality_code")) in self.prefecture_owners
        ):
            return "prefectural_road"
        return patrol_class(row)


def patrol_class(row: Mapping[str, Any]) -> str:
    """The class of an asset row (see `PATROL_CLASSES`)."""
    field_name = str(row.get("field", "other"))
    if field_name == "road":
        return road_patrol_class(row)
    if field_name in ("river", "park", "sewer"):
        return field_name
    return "other"


@dataclass(frozen=True)
class PatrolCalendar:
    """A calendar for one horizon: per working day and region, the assets due.

    ``task_assets[i]`` and ``task_regions[i]`` name calendar task ``i``; a park appears once per
    season window. ``regions[k]`` is crew pool ``k`` and ``depots[k]`` its depot id.
    """

    horizon: Horizon
    dates: tuple[dt.date, ...]
    regions: tuple[str, ...]
    depots: tuple[str, ...]
    crews: tuple[int, ...]
    shift_minutes: float
    result: CalendarResult
    task_assets: tuple[str, ...]
    task_classes: tuple[str, ...]
    frequencies: Frequencies

    def day_assets(self, day: int, region: str) -> frozenset[str]:
        """Asset ids of ``region`` due on working day ``day``."""
        k = self.regions.index(region)
        return frozenset(
            self.task_assets[i] for i in self.result.visits[day] if self.result.tasks[i].pool == k
        )

    def day_sets(self) -> list[tuple[int, str, frozenset[str]]]:
        """(day, region, assets due) for every working day and region."""
        out = []
        per_day: list[dict[int, set[str]]] = [{} for _ in self.dates]
        for d, visits in enumerate(self.result.visits):
            for i in visits:
                per_day[d].setdefault(self.result.tasks[i].pool, set()).add(self.task_assets[i])
        for d in range(len(self.dates)):
            for k, region in enumerate(self.regions):
                out.append((d, region, frozenset(per_day[d].get(k, set()))))
        return out

    def required_by_class(self) -> dict[str, int]:
        """Visits required per patrol class over the horizon."""
        counts: dict[str, int] = {}
        for i, t in enumerate(self.result.tasks):
            start, end = t.window if t.window is not None else (0, len(self.dates))
            need = required_visits(end - start, t.interval)
            counts[self.task_classes[i]] = counts.get(self.task_classes[i], 0) + need
        return counts


def _asset_geometry(
    assets: gpd.GeoDataFrame, metric_crs: CRS | str | None, zone_km: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """Line lengths (m; 0 for points and areas) and a zone per asset (square cells of
    ``zone_km`` around its representative point; -1 everywhere without zones)."""
    crs = metric_crs if metric_crs is not None else assets.estimate_utm_crs()
    projected = assets.to_crs(crs)
    kinds = projected.geometry.geom_type.to_numpy()
    lengths = projected.geometry.length.to_numpy(dtype=float)
    lengths = np.where(np.isin(kinds, ["LineString", "MultiLineString"]), lengths, 0.0)
    if zone_km is None or zone_km <= 0:
        return lengths, np.full(len(assets), -1, dtype=np.int64)
    points = projected.geometry.representative_point()
    cells = np.stack(
        [np.floor(points.x / (zone_km * 1000.0)), np.floor(points.y / (zone_km * 1000.0))], axis=1
    ).astype(np.int64)
    _, zones = np.unique(cells, axis=0, return_inverse=True)
    return lengths, zones.reshape(-1).astype(np.int64)


def _season_windows(
    dates: tuple[dt.date, ...], frequencies: Frequencies
) -> list[tuple[int, int, bool]]:
    """Maximal runs of working days in or out of the growing season: (start, end, growing)."""
    runs: list[tuple[int, int, bool]] = []
    start = 0
    for d in range(1, len(dates) + 1):
        growing = dates[start].month in frequencies.growing_months
        if d == len(dates) or (dates[d].month in frequencies.growing_months) != growing:
            runs.append((start, d, growing))
            start = d
    return runs


def _interval_from_asset(row: Mapping[str, Any]) -> int | None:
    raw = row.get("patrol_interval_days")
    try:
        days = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if not math.isfinite(days) or days <= 0:
        return None
    return max(1, round(days * 5 / 7))


def build_patrol_calendar(
    assets: gpd.GeoDataFrame,
    horizon: Horizon,
    *,
    region_of: Mapping[str, str] | Callable[[Mapping[str, Any]], str] | None = None,
    depot_of: Mapping[str, str] | None = None,
    crews: int | Mapping[str, int] | None = None,
    shift_minutes: float = DEFAULT_SHIFT_MINUTES,
    frequencies: Frequencies | None = None,
    rules: WorkRules | None = None,
    metric_crs: CRS | str | None = None,
    seed: int = 0,
    stop: StoppingCriterion | None = None,
    batch: bool | None = None,
    zone_km: float | None = DEFAULT_ZONE_KM,
    zone_minutes: float = DEFAULT_ZONE_MINUTES,
    workload_factor: float = 1.0 + DEADHEAD_SHARE,
    region_load_factor: Mapping[str, float] | None = None,
) -> PatrolCalendar:
    """Plan the patrol calendar of ``assets`` over ``horizon``.

    Parameters
    ----------
    assets
        Assets in the gunmane schema (``road_class`` tells arterial roads).
    region_of
        Asset id -> region (a mapping or a function of the asset row); by default each
        municipality is its own region.
    depot_of
        Region -> depot id (for routing); the region name by default.
    crews
        Crews per region (one number for all, or a mapping); by default enough crews for the
        region's mean daily workload at `AUTO_CREW_UTILISATION` of a shift.
    shift_minutes
        Length of a crew's working day.
    seed, stop
        For the optimizer's local search (count-based by default: reproducible).
    batch
        Batch small work into full crew-days (a town department's practice: its staff patrol
        on a few full days and do other work on the rest). False levels the load over every
        working day of the week, so no weekday stays empty while the others need extra
        vehicles, and every day carries its share of each kind of work: a contractor's crews.
        None (default): level when the regions need a crew or more on an average day, batch
        when their work fills less than that (a crew then goes out on a few full days).
    region_load_factor
        Region -> a further factor on its workload estimate (1 when missing): what its routed
        days took over the estimate (see `fit_crews_to_routes`).
    """
    frequencies = frequencies or Frequencies()
    load_factor = dict(region_load_factor or {})
    dates = tuple(working_days(horizon, rules))
    if not dates:
        raise ValueError(f"horizon {horizon.label}: no working day")
    if len(assets) == 0:
        raise ValueError("build_patrol_calendar: the asset table is empty")
    lengths, zones = _asset_geometry(assets, metric_crs, zone_km)
    rows = assets.drop(columns="geometry").to_dict("records")
    regions_per_asset: list[str] = []
    for row in rows:
        if region_of is None:
            region = str(row["municipality_code"])
        elif callable(region_of):
            region = str(region_of(row))
        else:
            try:
                region = str(region_of[str(row["asset_id"])])
            except KeyError:
                raise ValueError(f"asset {row['asset_id']!r} has no region") from None
        regions_per_asset.append(region)
    regions = tuple(sorted(set(regions_per_asset)))
    pool_index = {r: k for k, r in enumerate(regions)}

    windows = _season_windows(dates, frequencies)
    tasks: list[CalendarTask] = []
    task_assets: list[str] = []
    task_classes: list[str] = []
    for row, length_m, zone, region in zip(rows, lengths, zones, regions_per_asset, strict=True):
        asset_id = str(row["asset_id"])
        cls = frequencies.class_of(row)
        own = _interval_from_asset(row) if frequencies.use_asset_intervals else None
        workload = (
            asset_patrol_minutes(pd.Series(row), float(length_m))
            * workload_factor
            * load_factor.get(region, 1.0)
        )
        spans = windows if cls == "park" and own is None else [(0, len(dates), True)]
        for start, end, _ in spans:
            interval = own or frequencies.interval(cls, dates[start])
            tasks.append(
                CalendarTask(
                    label=asset_id if len(spans) == 1 else f"{asset_id}@{dates[start]}",
                    interval=interval,
                    workload=workload,
                    pool=pool_index[region],
                    zone=int(zone),
                    window=(start, end),
                )
            )
            task_assets.append(asset_id)
            task_classes.append(cls)
    work = np.zeros(len(regions))
    for t in tasks:
        start, end = t.window if t.window is not None else (0, len(dates))
        work[t.pool] += t.workload * required_visits(end - start, t.interval)

    def crews_of(k: int) -> int:
        if crews is None:
            per_day = work[k] / len(dates)
            return max(1, math.ceil(per_day / (shift_minutes * AUTO_CREW_UTILISATION)))
        return int(crews) if isinstance(crews, int) else int(crews.get(regions[k], 1))

    pools = [CrewPool(crews=crews_of(k), shift_minutes=shift_minutes) for k in range(len(regions))]
    if batch is None:
        batch = float(work.sum()) / len(dates) < shift_minutes * len(regions)
    result = plan_calendar(
        tasks,
        num_days=len(dates),
        pools=pools,
        seed=seed,
        stop=stop or MaxIterations(30),
        batch=batch,
        zone_weight=zone_minutes / shift_minutes if zone_km else 0.0,
    )
    logger.info(
        "calendar %s: %d tasks, %d working days, %d regions, coverage %.3f, max gap ratio %.2f",
        horizon.label,
        len(tasks),
        len(dates),
        len(regions),
        result.coverage,
        result.max_gap_ratio,
    )
    depot_map = depot_of or {}
    return PatrolCalendar(
        horizon=horizon,
        dates=dates,
        regions=regions,
        depots=tuple(str(depot_map.get(r, r)) for r in regions),
        crews=tuple(p.crews for p in pools),
        shift_minutes=shift_minutes,
        result=result,
        task_assets=tuple(task_assets),
        task_classes=tuple(task_classes),
        frequencies=frequencies,
    )


@dataclass(frozen=True)
class CalendarRoutes:
    """The routes of every working day and region of a calendar, and how many solves it took."""

    calendar: PatrolCalendar
    days: tuple[tuple[int, str, DayRoutes], ...]
    solves: int
    reused: int
    by_region: dict[str, list[DayRoutes]] = field(default_factory=dict)
    rounds: int = 1

    def total_km(self) -> float:
        """Driven km over the horizon."""
        return sum(r.km for _, _, r in self.days)

    def total_minutes(self) -> float:
        """Crew minutes over the horizon."""
        return sum(r.minutes for _, _, r in self.days)

    def crew_days(self) -> int:
        """Routes driven (one crew, one vehicle, one day each)."""
        return sum(r.num_routes for _, _, r in self.days)

    def routed_over_estimate(self) -> float:
        """Routed crew minutes over the calendar's workload estimate (1.0: the estimate holds)."""
        estimate = float(self.calendar.result.load.sum())
        return self.total_minutes() / estimate if estimate > 0 else 1.0

    def vehicles(self) -> int:
        """Vehicles needed: per region the most routes on any day, summed over regions."""
        return sum(self.routes_needed().values())

    def routes_needed(self) -> dict[str, int]:
        """Region -> the most routes on any of its routed days."""
        return {
            region: max((r.num_routes for r in rs), default=0)
            for region, rs in self.by_region.items()
        }

    def region_minutes(self) -> dict[str, float]:
        """Region -> routed crew minutes over the horizon."""
        return {region: sum(r.minutes for r in rs) for region, rs in self.by_region.items()}


def route_calendar(calendar: PatrolCalendar, router: DayRouter) -> CalendarRoutes:
    """Route every working day of ``calendar`` (identical days are solved once).

    The routed calendar states the crews its days actually need: a region whose busiest routed
    day has more routes than the crews planned from the workload estimate gets that many.
    """
    caching = router if isinstance(router, CachingRouter) else CachingRouter(router)
    before_solves, before_hits = caching.solves, caching.hits
    days: list[tuple[int, str, DayRoutes]] = []
    by_region: dict[str, list[DayRoutes]] = {r: [] for r in calendar.regions}
    for d, region, assets in calendar.day_sets():
        depot = calendar.depots[calendar.regions.index(region)]
        routes = caching.route(assets, depot) if assets else EMPTY_DAY
        days.append((d, region, routes))
        by_region[region].append(routes)
    needed = tuple(
        max(planned, max((r.num_routes for r in by_region[region]), default=0))
        for planned, region in zip(calendar.crews, calendar.regions, strict=True)
    )
    if needed != calendar.crews:
        logger.info("routed days need crews %s (planned %s)", needed, calendar.crews)
        calendar = replace(calendar, crews=needed)
    return CalendarRoutes(
        calendar=calendar,
        days=tuple(days),
        solves=caching.solves - before_solves,
        reused=caching.hits - before_hits,
        by_region=by_region,
    )


def fit_crews_to_routes(
    plan: Callable[[int | Mapping[str, int] | None, Mapping[str, float]], PatrolCalendar],
    route: Callable[[PatrolCalendar], CalendarRoutes],
    *,
    crews: int | Mapping[str, int] | None = None,
    max_rounds: int = MAX_CREW_ROUNDS,
) -> CalendarRoutes:
    """Plan and route a calendar until no routed day needs more vehicles than its crews.

    ``plan(crews, region_load_factor)`` builds the calendar (`build_patrol_calendar` with the
    caller's options); ``route`` routes it (`route_calendar` or its parallel version); ``crews``
    is the caller's crew setting (None: automatic). When a region's busiest routed day needs more
    routes than its crews, the calendar is planned again: the first time with that region's
    workload scaled by its routed minutes over the estimate and the same crew setting (the work
    is levelled again so each day fits), then with the crews its busiest day needed. After
    ``max_rounds`` plans the last routes stand and their calendar states the crews they need
    (`route_calendar`), so the result is consistent either way; ``rounds`` says how many plans
    it took and ``solves`` counts the routing solves of all of them.
    """
    if max_rounds < 1:
        raise ValueError(f"max_rounds must be >= 1, got {max_rounds}")
    factors: dict[str, float] = {}
    setting = crews
    calendar = plan(setting, factors)
    routed = route(calendar)
    rounds, solves = 1, routed.solves
    while True:
        needed = routed.routes_needed()
        short = [
            (k, region)
            for k, region in enumerate(calendar.regions)
            if needed.get(region, 0) > calendar.crews[k]
        ]
        if not short or rounds >= max_rounds:
            break
        minutes = routed.region_minutes()
        for k, region in short:
            estimate = float(calendar.result.load[k].sum())
            ratio = minutes.get(region, 0.0) / estimate if estimate > 0 else 1.0
            factors[region] = factors.get(region, 1.0) * min(max(ratio, 1.0), MAX_LOAD_CALIBRATION)
        if rounds > 1:
            # Re-levelling alone did not fit the days: plan with the crews they need.
            raised = dict(zip(calendar.regions, calendar.crews, strict=True))
            for _, region in short:
                raised[region] = max(raised[region], needed[region])
            setting = raised
        logger.info(
            "calendar %s: routed days need crews %s over the planned %s; planning again (%d)",
            calendar.horizon.label,
            {region: needed[region] for _, region in short},
            dict(zip(calendar.regions, calendar.crews, strict=True)),
            rounds + 1,
        )
        calendar = plan(setting, factors)
        routed = route(calendar)
        rounds, solves = rounds + 1, solves + routed.solves
    if routed.calendar.crews != calendar.crews:
        logger.warning(
            "calendar %s: after %d plans the routed days still need crews %s (planned %s)",
            calendar.horizon.label,
            rounds,
            routed.calendar.crews,
            calendar.crews,
        )
    return replace(routed, rounds=rounds, solves=solves)
