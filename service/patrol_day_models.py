"""Database table of patrol days marked unavailable (rain, 災害対応, sick leave) per region/crew.

A mark says that on ``service_date`` the region's crews (all, or the one named) cannot patrol.
The re-plan job (`service.calendar_jobs`) reads the marks not yet applied to a calendar plan,
moves the lost work and records which re-plan applied each mark.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.models import Base, UTCDateTime, utcnow

REASONS = ("rain", "disaster", "sick", "vehicle", "other")


class PatrolDayMark(Base):
    """A region's day (or one crew's day) lost to rain, a disaster call-out, sick leave, ..."""

    __tablename__ = "patrol_day_marks"

    id: Mapped[int] = mapped_column(primary_key=True)
    scenario_id: Mapped[int] = mapped_column(
        ForeignKey("scenarios.id", ondelete="CASCADE"), index=True
    )
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id", ondelete="CASCADE"))
    service_date: Mapped[dt.date] = mapped_column(Date)
    # None: every crew of the region; else the crew label of the stored routes ("1", "2", ...).
    crew: Mapped[str | None] = mapped_column(String(100), default=None)
    reason: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The re-plan (a plan of kind "replan") that moved this day's work; None while pending.
    applied_plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("plans.id", ondelete="SET NULL"), default=None
    )

    __table_args__ = (Index("ix_patrol_day_marks_region_date", "region_id", "service_date"),)
