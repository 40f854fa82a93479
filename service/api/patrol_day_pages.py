"""Pages of the stored patrol days: a crew's day and week on a phone, a planner's month.

`/contractor/days` opens on today's routes of the caller's regions (any date by the date field or
the previous / next links); `view=week` shows Monday to Sunday as days x crews with km, hours,
stops, the day's status and what a re-plan changed. `/planner/calendar` is a region's month for
planners. Both read `service.api.patrol_days.patrol_days`; Japanese by default, `lang=en`.
"""

from __future__ import annotations

import calendar as month_calendar
import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from service import crud
from service.api.maps import PageKey, require
from service.api.patrol_days import _readable_regions, patrol_days
from service.deps import SessionDep
from service.i18n import Lang, check_lang, labels, other_lang
from service.maps import attribution_lines
from service.templating import render_template

router = APIRouter(tags=["pages"], include_in_schema=False)

LangParam = Annotated[str, Query(pattern="^(ja|en)$")]
PLANNERS = frozenset({"admin", "planner"})


def _weekday_names(lang: Lang) -> list[str]:
    names = labels(lang)["weekdays"]
    return list(names) if lang == "ja" else [names[i : i + 2] for i in range(0, 14, 2)]


def _region_names(session: SessionDep, region_ids: list[int]) -> dict[int, str]:
    names = {}
    for region_id in region_ids:
        region = crud.get_region(session=session, region_id=region_id)
        names[region_id] = region.code
    return names


def _page(name: str, lang: Lang, **context: Any) -> HTMLResponse:
    html = render_template(
        name,
        lang=lang,
        other_lang=other_lang(lang),
        t=labels(lang),
        weekday_names=_weekday_names(lang),
        attributions=attribution_lines(n03=False),
        map=None,
        **context,
    )
    return HTMLResponse(html)


@router.get("/contractor/days", response_class=HTMLResponse)
def contractor_days(
    request: Request,
    session: SessionDep,
    principal: PageKey,
    lang: LangParam = "ja",
    date: Annotated[dt.date | None, Query(description="the day (today)")] = None,
    view: Annotated[str, Query(pattern="^(day|week)$")] = "day",
    region_id: int | None = None,
) -> HTMLResponse:
    """A crew's day (default today) or week: routes per crew, figures, status, downloads."""
    language = check_lang(lang)
    regions = _readable_regions(principal, region_id)
    day = date or dt.date.today()
    if view == "week":
        start = day - dt.timedelta(days=day.weekday())
        end = start + dt.timedelta(days=6)
        step = dt.timedelta(days=7)
    else:
        start = end = day
        step = dt.timedelta(days=1)
    days = patrol_days(session, regions, start, end)
    prefix = request.app.state.settings.API_PREFIX
    return _page(
        "patrol_days.html",
        language,
        view=view,
        day=day,
        start=start,
        end=end,
        prev_date=(day - step).isoformat(),
        next_date=(day + step).isoformat(),
        today=dt.date.today().isoformat(),
        days=days,
        region_id=region_id,
        region_names=_region_names(session, regions),
        api=prefix,
    )


@router.get("/planner/calendar", response_class=HTMLResponse)
def planner_calendar(
    session: SessionDep,
    principal: PageKey,
    region_id: int,
    lang: LangParam = "ja",
    month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None,
) -> HTMLResponse:
    """A region's month for planners: per day its crews with km, hours, stops and status."""
    require(principal, PLANNERS)
    language = check_lang(lang)
    regions = _readable_regions(principal, region_id)
    today = dt.date.today()
    year, number = (int(x) for x in (month or today.strftime("%Y-%m")).split("-"))
    if not 1 <= number <= 12:
        number = today.month
    first = dt.date(year, number, 1)
    last = dt.date(year, number, month_calendar.monthrange(year, number)[1])
    by_date = {d["date"]: d for d in patrol_days(session, regions, first, last)}
    weeks: list[list[dict[str, Any] | None]] = []
    for week in month_calendar.Calendar().monthdatescalendar(year, number):
        weeks.append([by_date.get(d.isoformat()) if d.month == number else None for d in week])
    before = first - dt.timedelta(days=1)
    after = last + dt.timedelta(days=1)
    return _page(
        "patrol_month.html",
        language,
        month=f"{year}-{number:02d}",
        prev_month=before.strftime("%Y-%m"),
        next_month=after.strftime("%Y-%m"),
        weeks=weeks,
        region_id=region_id,
        region_names=_region_names(session, regions),
    )
