"""A stored patrol calendar (dates, regions, tasks, visits) and its re-plan after lost days.

`CalendarSchedule` is the part of a `planning.patrol_calendar.PatrolCalendar` the service keeps
with the stored routes: per working day the tasks visited, per task its asset, region, interval,
workload and window. It round-trips through JSON. `replan_schedule` turns lost days or crews
(rain, 災害対応, sick leave) and visits a patrol log shows missed into `optimizer.replan` terms and
back into dates and asset ids: which (date, region) days must be re-routed, which visits moved
where and which assets will be late and by how many working days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from optimizer.replan import ReplanTask, replan_visits

if TYPE_CHECKING:
    from gis_data.planning.patrol_calendar import PatrolCalendar


@dataclass(frozen=True)
class CalendarSchedule:
    """Working days, regions (crew pools) and every task's visits of a patrol calendar."""

    dates: tuple[dt.date, ...]
    regions: tuple[str, ...]
    depots: tuple[str, ...]
    crews: tuple[int, ...]
    shift_minutes: float
    task_assets: tuple[str, ...]
    tasks: tuple[ReplanTask, ...]
    visits: tuple[tuple[int, ...], ...]

    def __post_init__(self) -> None:
        if len(self.visits) != len(self.dates):
            raise ValueError(f"{len(self.visits)} visit lists for {len(self.dates)} working days")
        if len(self.task_assets) != len(self.tasks):
            raise ValueError("task_assets and tasks differ in length")

    @classmethod
    def from_calendar(cls, calendar: PatrolCalendar) -> CalendarSchedule:
        """The schedule of a planned calendar."""
        n = len(calendar.dates)
        return cls(
            dates=calendar.dates,
            regions=calendar.regions,
            depots=calendar.depots,
            crews=calendar.crews,
            shift_minutes=calendar.shift_minutes,
            task_assets=calendar.task_assets,
            tasks=tuple(
                ReplanTask(
                    pool=t.pool,
                    interval=t.interval,
                    workload=float(t.workload),
                    window=t.window if t.window is not None else (0, n),
                )
                for t in calendar.result.tasks
            ),
            visits=tuple(tuple(sorted(v)) for v in calendar.result.visits),
        )

    def day_index(self, date: dt.date) -> int:
        """Index of working day ``date`` (ValueError naming the date when it is not one)."""
        try:
            return self.dates.index(date)
        except ValueError:
            raise ValueError(f"{date.isoformat()} is not a working day of this calendar") from None

    def day_assets(self, day: int, region: str) -> frozenset[str]:
        """Asset ids of ``region`` visited on working day ``day``."""
        pool = self.regions.index(region)
        return frozenset(
            self.task_assets[i] for i in self.visits[day] if self.tasks[i].pool == pool
        )

    def intervals_on(self, date: dt.date) -> dict[str, int]:
        """Every asset's interval (working days) in force on ``date`` (season windows honoured)."""
        day = _day_at_or_before(self.dates, date)
        out: dict[str, int] = {}
        for asset, task in zip(self.task_assets, self.tasks, strict=True):
            if asset not in out or task.window[0] <= day < task.window[1]:
                out[asset] = task.interval
        return out

    def to_json(self) -> dict[str, Any]:
        """Plain data (compact: tasks as lists) for a JSON column."""
        return {
            "dates": [d.isoformat() for d in self.dates],
            "regions": list(self.regions),
            "depots": list(self.depots),
            "crews": list(self.crews),
            "shift_minutes": self.shift_minutes,
            "tasks": [
                [a, t.pool, t.interval, round(t.workload, 3), t.window[0], t.window[1]]
                for a, t in zip(self.task_assets, self.tasks, strict=True)
            ],
            "visits": [list(v) for v in self.visits],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CalendarSchedule:
        """The schedule written by `to_json`."""
        tasks = [list(t) for t in data["tasks"]]
        return cls(
            dates=tuple(dt.date.fromisoformat(d) for d in data["dates"]),
            regions=tuple(str(r) for r in data["regions"]),
            depots=tuple(str(d) for d in data["depots"]),
            crews=tuple(int(c) for c in data["crews"]),
            shift_minutes=float(data["shift_minutes"]),
            task_assets=tuple(str(t[0]) for t in tasks),
            tasks=tuple(
                ReplanTask(
                    pool=int(t[1]),
                    interval=int(t[2]),
                    workload=float(t[3]),
                    window=(int(t[4]), int(t[5])),
                )
                for t in tasks
            ),
            visits=tuple(tuple(int(i) for i in v) for v in data["visits"]),
        )


def _day_at_or_before(dates: tuple[dt.date, ...], date: dt.date) -> int:
    import bisect

    return max(0, bisect.bisect_right(dates, date) - 1)


@dataclass(frozen=True)
class LateAsset:
    """An asset whose patrol gap will exceed its interval: due by ``due``, visited on ``planned``.

    ``late_days`` counts working days; ``planned`` and ``late_days`` are None when no working day
    of the calendar has room left for it.
    """

    asset_id: str
    region: str
    missed: dt.date
    due: dt.date | None
    planned: dt.date | None
    late_days: int | None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "asset_id": self.asset_id,
            "region": self.region,
            "missed": self.missed.isoformat(),
            "due": self.due.isoformat() if self.due else None,
            "planned": self.planned.isoformat() if self.planned else None,
            "late_days": self.late_days,
        }


@dataclass(frozen=True)
class ScheduleReplan:
    """A re-planned schedule, the (date, region) days to re-route, the moves and late assets."""

    schedule: CalendarSchedule
    changed: frozenset[tuple[dt.date, str]]
    moves: tuple[tuple[str, str, dt.date, dt.date], ...]
    late: tuple[LateAsset, ...]
    first_date: dt.date | None

    def changes_of(self, date: dt.date, region: str, before: CalendarSchedule) -> dict[str, Any]:
        """What changed on one day: assets added and removed against ``before``."""
        day = self.schedule.day_index(date)
        old = before.day_assets(day, region)
        new = self.schedule.day_assets(day, region)
        return {"added": sorted(new - old), "removed": sorted(old - new)}


def replan_schedule(
    schedule: CalendarSchedule,
    *,
    lost: Mapping[tuple[dt.date, str], int] | None = None,
    missed: Iterable[tuple[dt.date, str]] = (),
) -> ScheduleReplan:
    """Re-plan after lost crew-days and missed visits (see `optimizer.replan.replan_visits`).

    Parameters
    ----------
    lost
        (date, region) -> crews unavailable that day; a count >= the region's crews loses the day.
        Dates that are not working days of the calendar are an error naming them.
    missed
        (date, asset id) visits a patrol log shows were not made.
    """
    problems: list[str] = []
    lost_idx: dict[tuple[int, int], int] = {}
    for (date, region), count in (lost or {}).items():
        if region not in schedule.regions:
            problems.append(f"lost day {date.isoformat()}: unknown region {region!r}")
            continue
        try:
            lost_idx[(schedule.day_index(date), schedule.regions.index(region))] = int(count)
        except ValueError as exc:
            problems.append(f"lost day: {exc}")
    missed_idx: list[tuple[int, int]] = []
    for date, asset in missed:
        try:
            day = schedule.day_index(date)
        except ValueError as exc:
            problems.append(f"missed visit of {asset}: {exc}")
            continue
        task = next((i for i in schedule.visits[day] if schedule.task_assets[i] == asset), None)
        if task is None:
            problems.append(f"missed visit: {asset} is not planned on {date.isoformat()}")
            continue
        missed_idx.append((day, task))
    if problems:
        raise ValueError("; ".join(problems))
    result = replan_visits(
        schedule.tasks,
        schedule.visits,
        crews=schedule.crews,
        shift_minutes=schedule.shift_minutes,
        lost_crews=lost_idx,
        missed=missed_idx,
    )
    dates = schedule.dates
    new = CalendarSchedule(
        dates=dates,
        regions=schedule.regions,
        depots=schedule.depots,
        crews=schedule.crews,
        shift_minutes=schedule.shift_minutes,
        task_assets=schedule.task_assets,
        tasks=schedule.tasks,
        visits=result.visits,
    )

    def region_of(task: int) -> str:
        return schedule.regions[schedule.tasks[task].pool]

    late = tuple(
        LateAsset(
            asset_id=schedule.task_assets[x.task],
            region=region_of(x.task),
            missed=dates[x.source],
            due=dates[x.deadline] if x.deadline < len(dates) else None,
            planned=dates[x.target] if x.target is not None else None,
            late_days=x.late_days,
        )
        for x in result.late
    )
    return ScheduleReplan(
        schedule=new,
        changed=frozenset((dates[d], schedule.regions[p]) for d, p in result.changed),
        moves=tuple(
            (schedule.task_assets[m.task], region_of(m.task), dates[m.source], dates[m.target])
            for m in result.moves
        ),
        late=late,
        first_date=dates[result.first_day] if result.first_day < len(dates) else None,
    )
