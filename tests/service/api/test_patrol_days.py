"""Stored calendar days: every crew-day's route, read per date by the contractors, re-planned.

The grid scenario (two towns) gets two contract regions, then a calendar for May 2026 (Golden
Week, weekends); the stored routes are checked against the calendar's own day sets.
"""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from gis_data.planning.replan import CalendarSchedule
from gis_data.planning.work_calendar import WorkRules, parse_horizon
from service.db import session_scope
from service.importer import import_scenario
from service.models import Plan, Route
from tests.service.api.job_runs import run_job
from tests.service.conftest import make_key
from tests.service.grid_scenario import write_grid_scenario
from tests.service.pages_data import track_along

HORIZON = "2026-05"


def _run(client: TestClient, url: str, headers: dict[str, str], parameters: dict) -> dict:
    return run_job(client, url, headers, parameters, timeout=120)


@pytest.fixture
def stored(client: TestClient, api: str, planner: dict[str, str], engine: Engine, tmp_path: Path):
    """The grid scenario with two regions and a stored calendar of May 2026."""
    return _grid_calendar(client, api, planner, engine, tmp_path / "g", HORIZON)


def _grid_calendar(
    client: TestClient,
    api: str,
    planner: dict[str, str],
    engine: Engine,
    folder: Path,
    horizon: str,
) -> dict:
    """Import the grid scenario, plan two regions and store a calendar over ``horizon``."""
    with session_scope(engine) as session:
        grid_id = import_scenario(session=session, config=write_grid_scenario(folder)).id
    base = f"{api}/scenarios/{grid_id}/plans"
    regions = _run(client, f"{base}/regions", planner, {"k": 2, "time_limit": 2, "unit_km": 0.3})
    calendar = _run(
        client,
        f"{base}/calendar",
        planner,
        {"horizon": horizon, "iterations": 3, "regions_plan_id": regions["plan_id"]},
    )
    return {"scenario": grid_id, "regions": regions["plan_id"], "calendar": calendar}


def _stored_days(engine: Engine, plan_id: int) -> tuple[CalendarSchedule, dict[str, int], list]:
    with session_scope(engine) as session:
        plan = session.get(Plan, plan_id)
        assert plan is not None
        schedule = CalendarSchedule.from_json(plan.result["schedule"])
        region_ids = dict(plan.result["region_ids"])
        routes = [
            (r.id, r.service_date, r.region_id, r.crew, dict(r.properties), list(r.steps))
            for r in session.scalars(select(Route).where(Route.plan_id == plan_id))
        ]
    return schedule, region_ids, routes


def _route_assets(steps: list[dict[str, Any]]) -> set[str]:
    return {a for s in steps if s["kind"] == "serve" for a in s["asset_ids"]}


def test_every_working_day_is_stored_and_served_to_its_region(
    client: TestClient, api: str, planner: dict[str, str], engine: Engine, stored
) -> None:
    """Per stored day the routes serve exactly the calendar's assets of that day and region;
    days off have no routes; identical days share a solve; contractors see their regions only."""
    plan_id = stored["calendar"]["plan_id"]
    summary = stored["calendar"]["summary"]
    assert summary["regions_plan_id"] == stored["regions"]
    schedule, region_ids, routes = _stored_days(engine, plan_id)
    assert sorted(region_ids) == sorted(schedule.regions)
    assert len(region_ids) == 2
    label_of = {v: k for k, v in region_ids.items()}
    working = set(parse_horizon(HORIZON).dates()) - {
        d for d in parse_horizon(HORIZON).dates() if WorkRules().day_off_reason(d)
    }
    assert set(schedule.dates) == working
    by_day: dict[tuple[dt.date, str], set[str]] = {}
    for _id, date, region_id, _crew, props, steps in routes:
        assert date in working, f"a route on {date}, a day off"
        served = _route_assets(steps)
        assert set(props["assets"]) == served
        by_day.setdefault((date, label_of[region_id]), set()).update(served)
    non_empty = 0
    for d, date in enumerate(schedule.dates):
        for region in schedule.regions:
            due = schedule.day_assets(d, region)
            non_empty += bool(due)
            assert by_day.get((date, region), set()) == due, (date, region)
    assert dt.date(2026, 5, 4) not in schedule.dates  # みどりの日
    assert summary["routes_stored"] == len(routes)
    # Identical days reuse one solve: fewer solves than days, and equal keys, equal routes.
    assert 0 < summary["routing_solves"] < non_empty
    by_key: dict[tuple[str, str], list[list[dict[str, Any]]]] = {}
    for _id, _date, _region, crew, props, steps in routes:
        by_key.setdefault((props["solve"], crew), []).append(steps)
    assert any(len(v) > 1 for v in by_key.values())
    assert all(all(s == v[0] for s in v) for v in by_key.values())

    # A contractor of region A reads that day's routes of A only, by date.
    region_a, region_b = region_ids[schedule.regions[0]], region_ids[schedule.regions[1]]
    crew_a = make_key(engine, "contractor", (region_a,))
    date = next(
        dt for d, dt in enumerate(schedule.dates) if schedule.day_assets(d, schedule.regions[0])
    )
    got = client.get(f"{api}/patrols", params={"date": date.isoformat()}, headers=crew_a).json()
    expected = {r[0] for r in routes if r[1] == date and r[2] == region_a}
    assert {r["id"] for r in got["data"]} == expected
    assert expected
    assert {r["service_date"] for r in got["data"]} == {date.isoformat()}
    other = client.get(f"{api}/patrols", params={"region_id": region_b}, headers=crew_a)
    assert other.status_code == 404
    weekend = client.get(f"{api}/patrols", params={"date": "2026-05-09"}, headers=crew_a).json()
    assert weekend["count"] == 0
    # The OGC routes collection filters by datetime the same way.
    ogc = client.get(
        "/ogc/collections/routes/items",
        params={"datetime": date.isoformat(), "plan_id": plan_id, "limit": 1000},
        headers=planner,
    ).json()
    assert {f["id"] for f in ogc["features"]} == {r[0] for r in routes if r[1] == date}


def test_a_lost_day_moves_its_work_and_leaves_earlier_days_alone(
    client: TestClient, api: str, planner: dict[str, str], engine: Engine, stored
) -> None:
    """A day marked lost (rain) loses its routes; its work moves to later days within each
    asset's interval (or is reported late); earlier days keep their rows; changed days get a
    new version, a change time and what changed."""
    plan_id = stored["calendar"]["plan_id"]
    before, region_ids, routes_before = _stored_days(engine, plan_id)
    region = before.regions[0]
    region_id = region_ids[region]
    lost_day = next(d for d in range(5, len(before.dates)) if before.day_assets(d, region))
    lost_date = before.dates[lost_day]
    crew = make_key(engine, "contractor", (region_id,))
    mark = client.post(
        f"{api}/patrol-days/unavailable",
        json={"region_id": region_id, "date": lost_date.isoformat(), "reason": "rain"},
        headers=crew,
    )
    assert mark.status_code == 201, mark.text
    foreign = client.post(
        f"{api}/patrol-days/unavailable",
        json={"region_id": region_ids[before.regions[1]], "date": lost_date.isoformat(),
              "reason": "rain"},
        headers=crew,
    )  # fmt: skip
    assert foreign.status_code == 404
    result = _run(client, f"{api}/scenarios/{stored['scenario']}/plans/replan", planner, {})
    summary = result["summary"]
    assert summary["first_changed_date"] == lost_date.isoformat()
    after, _, routes_after = _stored_days(engine, plan_id)
    assert after.day_assets(lost_day, region) == frozenset()
    # Earlier days: the same rows, untouched.
    early_before = {r[0]: r[4] for r in routes_before if r[1] < lost_date}
    early_after = {r[0]: r[4] for r in routes_after if r[1] < lost_date}
    assert early_after == early_before
    assert early_before
    assert after.visits[:lost_day] == before.visits[:lost_day]
    # Every moved visit sits inside its task's window; gaps keep the interval or are late.
    late = {(x["asset_id"], x["missed"]) for x in result["late"]}
    pool = before.regions.index(region)
    for i, task in enumerate(after.tasks):
        if task.pool != pool:
            continue
        days = [d for d, v in enumerate(after.visits) if i in v]
        assert all(task.window[0] <= d < task.window[1] for d in days)
        for a, b in itertools.pairwise([task.window[0] - 1, *days]):
            if b - a > task.interval:
                assert (after.task_assets[i], lost_date.isoformat()) in late
    # Changed days are re-routed: the stored routes equal the new day sets, with a version.
    label_of = {v: k for k, v in region_ids.items()}
    changed: dict[tuple[dt.date, str], set[str]] = {}
    for _id, date, rid, _crew, props, steps in routes_after:
        changed.setdefault((date, label_of[rid]), set()).update(_route_assets(steps))
        if props.get("version", 1) > 1:
            assert props["changed_at"]
            assert date > lost_date
            assert set(props["changes"]["added"]) <= set(props["assets"])
    for d, date in enumerate(after.dates):
        for reg in after.regions:
            assert changed.get((date, reg), set()) == after.day_assets(d, reg)
    assert summary["days_rerouted"] >= 1
    assert not any(r[1] == lost_date and r[2] == region_id for r in routes_after)
    week = client.get(
        f"{api}/patrol-days/week", params={"date": lost_date.isoformat()}, headers=crew
    ).json()
    statuses = {d["date"]: d["status"] for d in week["days"]}
    assert statuses[lost_date.isoformat()] == "unavailable"
    assert {d["region_id"] for d in week["days"]} == {region_id}
    # A second re-plan without new marks changes nothing.
    again = _run(client, f"{api}/scenarios/{stored['scenario']}/plans/replan", planner, {})
    assert again["summary"]["days_rerouted"] == 0


def test_a_log_is_matched_against_its_crew_day(
    client: TestClient, api: str, engine: Engine, stored
) -> None:
    """A GPX uploaded for (date, crew) is compared with that crew-day's route; the week shows
    the day done."""
    plan_id = stored["calendar"]["plan_id"]
    schedule, region_ids, _routes = _stored_days(engine, plan_id)
    region_id = region_ids[schedule.regions[0]]
    crew = make_key(engine, "contractor", (region_id,))
    date = next(
        dt for d, dt in enumerate(schedule.dates) if schedule.day_assets(d, schedule.regions[0])
    )
    with session_scope(engine) as session:
        route = session.scalars(
            select(Route)
            .where(
                Route.plan_id == plan_id, Route.service_date == date, Route.region_id == region_id
            )
            .order_by(Route.crew)
        ).first()
        assert route is not None, "no route that day"
        route_id, crew_label, line = route.id, route.crew, route.geom
        assets = set(route.properties["assets"])
    upload = client.post(
        f"{api}/patrol-days/{date.isoformat()}/crews/{crew_label}/patrol-logs",
        files={"file": ("day.gpx", track_along(line), "application/gpx+xml")},
        headers=crew,
    )
    assert upload.status_code == 201, upload.text
    record = upload.json()
    assert record["route_id"] == route_id
    assert record["service_date"] == date.isoformat()
    assert set(record["report"]["asset_visits"]) == assets
    gpx = client.get(f"{api}/patrol-days/{date.isoformat()}/crews/{crew_label}/gpx", headers=crew)
    assert gpx.status_code == 200
    assert "<trk>" in gpx.text
    week = client.get(f"{api}/patrol-days/week", params={"date": date.isoformat()}, headers=crew)
    day = next(d for d in week.json()["days"] if d["date"] == date.isoformat())
    mine = next(c for c in day["crews"] if c["crew"] == crew_label)
    assert mine["logs"] == [record["id"]]
    assert day["status"] in ("done", "partly done")
    missing = client.get(f"{api}/patrol-days/2026-05-09/crews/1/gpx", headers=crew)
    assert missing.status_code == 404
    # The contract status per asset uses the calendar's intervals (working days x 7/5).
    status = client.get(
        f"{api}/regions/{region_id}/patrol-coverage",
        params={"as_of": f"{date.isoformat()}T23:00:00+00:00"},
        headers=crew,
    ).json()
    intervals = schedule.intervals_on(date)
    pool = schedule.regions.index(schedule.regions[0])
    mine = {a for a, t in zip(schedule.task_assets, schedule.tasks, strict=True) if t.pool == pool}
    items = {i["asset_id"]: i for i in status["items"]}
    assert set(items) == mine
    for asset, item in items.items():
        assert item["interval_days"] == round(intervals[asset] * 7 / 5, 2)
    assert all(items[a]["visits"] == 1 for a in assets)


def test_contractor_pages_show_the_day_and_the_week_and_planners_the_month(
    client: TestClient, api: str, planner: dict[str, str], engine: Engine, stored
) -> None:
    """The day page lists the crews of the date with downloads; the week page every day of the
    week with its status (weekend off); the planner's month page every day; both languages."""
    schedule, region_ids, routes = _stored_days(engine, stored["calendar"]["plan_id"])
    region = schedule.regions[0]
    region_id = region_ids[region]
    crew = make_key(engine, "contractor", (region_id,))
    day = next(d for d, when in enumerate(schedule.dates) if schedule.day_assets(d, region))
    date = schedule.dates[day]
    crews = sorted(r[3] for r in routes if r[1] == date and r[2] == region_id)
    start = client.get("/", params={"key": crew["X-API-Key"]})
    assert 'href="/contractor/days?lang=ja"' in start.text
    page = client.get("/contractor/days", params={"date": date.isoformat()}, headers=crew)
    assert page.status_code == 200
    html = page.text
    assert 'name="viewport"' in html
    for label in crews:
        assert f"/patrol-days/{date.isoformat()}/crews/{label}/gpx?region_id={region_id}" in html
    assert "予定" in html
    week = client.get(
        "/contractor/days",
        params={"date": date.isoformat(), "view": "week", "lang": "en"},
        headers=crew,
    )
    assert week.status_code == 200
    monday = date - dt.timedelta(days=date.weekday())
    for offset in range(7):
        assert f'data-date="{(monday + dt.timedelta(days=offset)).isoformat()}"' in week.text
    assert "day off" in week.text
    assert "Week" in week.text
    other = client.get(
        "/contractor/days", params={"region_id": region_ids[schedule.regions[1]]}, headers=crew
    )
    assert other.status_code == 404
    month = client.get(
        "/planner/calendar",
        params={"region_id": region_id, "month": HORIZON, "lang": "en"},
        headers=planner,
    )
    assert month.status_code == 200
    assert month.text.count('data-date="2026-05-') == 31
    assert (
        client.get("/planner/calendar", params={"region_id": region_id}, headers=crew).status_code
        == 403
    )


def test_the_year_end_closure_has_no_routes(
    client: TestClient, api: str, planner: dict[str, str], engine: Engine, tmp_path: Path
) -> None:
    """A December calendar stores routes on working days only: none on weekends or Dec 29-31."""
    calendar = _grid_calendar(client, api, planner, engine, tmp_path / "d", "2026-12")["calendar"]
    _schedule, _ids, routes = _stored_days(engine, calendar["plan_id"])
    dates = {r[1] for r in routes}
    assert dates
    assert max(dates) == dt.date(2026, 12, 28)
    assert all(d.weekday() < 5 for d in dates)
