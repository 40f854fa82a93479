"""The patrol intervals a stored calendar holds a region's assets to (for the contract status)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from gis_data.planning.replan import CalendarSchedule
from service.models import Plan, Region

# Working days to calendar days (five working days a week).
CALENDAR_DAYS_PER_WORKING_DAY = 7.0 / 5.0


def calendar_intervals(session: Session, region: Region, on: dt.date) -> dict[str, float] | None:
    """Asset id -> interval in calendar days from the newest stored calendar covering ``region``
    and the date ``on`` (season windows honoured); None when no calendar covers them."""
    query = (
        select(Plan)
        .where(Plan.scenario_id == region.scenario_id, Plan.kind == "calendar")
        .order_by(Plan.id.desc())
    )
    for plan in session.scalars(query):
        result = plan.result if isinstance(plan.result, dict) else {}
        ids = {int(v) for v in (result.get("region_ids") or {}).values()}
        data = result.get("schedule")
        if region.id not in ids or not data:
            continue
        if not data["dates"][0] <= on.isoformat() <= data["dates"][-1]:
            continue
        schedule = CalendarSchedule.from_json(data)
        label = next(k for k, v in result["region_ids"].items() if int(v) == region.id)
        pool = schedule.regions.index(label)
        mine = {
            a for a, t in zip(schedule.task_assets, schedule.tasks, strict=True) if t.pool == pool
        }
        return {
            asset: days * CALENDAR_DAYS_PER_WORKING_DAY
            for asset, days in schedule.intervals_on(on).items()
            if asset in mine
        }
    return None
