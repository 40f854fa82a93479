"""`gunmane plan calendar`: the daily patrol calendar of a scenario and each day's routes."""

from __future__ import annotations

import argparse
import csv
import json
import logging
import time
from pathlib import Path
from typing import Any

from gis_data.planning.patrol_calendar import CalendarRoutes
from gis_data.planning.plan_engine import PlanSetup, RegionChoice
from gis_data.planning.plan_settings import PlanSettings, read_settings
from gis_data.planning.workflows import CalendarRequest, plan_calendar, plan_regions_for
from service.parallel import workers_client

logger = logging.getLogger(__name__)
WEEKDAYS_JA = "月火水木金土日"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `calendar` to the `plan` group."""
    p = subparsers.add_parser(
        "calendar",
        help="daily patrol calendar (a month or a fiscal year) with each day's routes",
        description=(
            "Assign every asset's patrols to working days (weekends, Japanese holidays and the"
            " year-end closure off) so each is visited as often as its class requires, level"
            " each region's daily work, then route every day with the routing engine. Prints one"
            " line per day; --out writes the calendar and per-day routes (GeoJSON, GPX, KML)."
        ),
    )
    add_common_arguments(p)
    p.add_argument("--no-routes", action="store_true", help="plan the calendar only")
    p.add_argument("--out", type=Path, help="write calendar.csv/json and per-day route files")
    p.set_defaults(handler=run)


def add_common_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments shared by the plan calendar/effects/shares and report commands."""
    p.add_argument("config", type=Path, help="scenario config (TOML)")
    p.add_argument(
        "--settings", type=Path, help="plan settings TOML (see gis_data.planning.plan_settings)"
    )
    p.add_argument("--horizon", help="a month YYYY-MM or a fiscal year FYYYYY (default FY2026)")
    p.add_argument(
        "--regions",
        type=int,
        default=1,
        metavar="K",
        help="contract regions of whole towns for the bundled plan (default 1: one region)",
    )
    p.add_argument(
        "--iterations",
        type=int,
        default=10,
        metavar="N",
        help="routing iterations per day solve (count-based, reproducible; default 10)",
    )
    p.add_argument(
        "--bases",
        choices=("yards", "yards+towns"),
        default="yards",
        help="crew bases of the bundled plan: the contractor yards (default), or the yards and"
        " the town depots (a consortium of local firms with a base in every town)",
    )
    p.add_argument("--seed", type=int, help="random seed (default from settings, 0)")
    p.add_argument(
        "--workers",
        type=int,
        default=0,
        metavar="N",
        help="solve the independent routing problems on a local Dask cluster of N worker"
        " processes (default 0: one after the other here; the results are the same)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")


ENGINE_FIELDS = ("horizon", "regions", "iterations", "seed", "bases")


def request_fields(args: argparse.Namespace, *extra: str) -> dict[str, Any]:
    """The workflow request's fields from the command's arguments (unset ones keep defaults)."""
    names = (*ENGINE_FIELDS, *extra)
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def load_plan_inputs(
    args: argparse.Namespace, request: Any
) -> tuple[PlanSettings, PlanSetup, RegionChoice]:
    """Settings, scenario setup and the contract regions of ``request``."""
    settings = read_settings(args.settings)
    setup = PlanSetup.load(args.config)
    return settings, setup, plan_regions_for(setup, request, settings)


def _summary(routed: CalendarRoutes) -> dict[str, Any]:
    cal = routed.calendar
    res = cal.result
    return {
        "horizon": cal.horizon.label,
        "working_days": len(cal.dates),
        "regions": list(cal.regions),
        "crews": list(cal.crews),
        "calendar_plans": routed.rounds,
        "tasks": len(res.tasks),
        "required_visits": res.required_visits,
        "visits_made": res.made_visits,
        "coverage_pct": round(100.0 * res.coverage, 2),
        "max_gap_ratio": round(res.max_gap_ratio, 3),
        "daily_load_max_per_crew_min": [round(p.max_per_crew, 1) for p in res.pools],
        "daily_load_mean_per_crew_min": [round(p.mean_per_crew, 1) for p in res.pools],
        "overloaded_days": [p.overloaded_days for p in res.pools],
        "km": round(routed.total_km(), 1),
        "crew_hours": round(routed.total_minutes() / 60.0, 1),
        "crew_days": routed.crew_days(),
        "vehicles": routed.vehicles(),
        "routed_over_estimate": round(routed.routed_over_estimate(), 3) if routed.days else None,
        "routing_solves": routed.solves,
        "days_reused": routed.reused,
    }


def run(args: argparse.Namespace) -> int:
    """Plan, route, print and export the calendar."""
    started = time.perf_counter()
    request = CalendarRequest(
        **request_fields(args), routes=not args.no_routes, keep_geometry=bool(args.out)
    )
    settings, setup, regions = load_plan_inputs(args, request)
    with workers_client(args.workers if request.routes else 0) as client:
        outcome = plan_calendar(setup, settings, request, regions=regions, client=client)
    routed = outcome.routed
    horizon = routed.calendar.horizon
    summary = _summary(routed)
    summary["method"] = outcome.method
    summary["unmatched_assets"] = len(setup.unmatched)
    summary["seconds"] = round(time.perf_counter() - started, 1)
    rows = _day_rows(routed)
    if args.out:
        _write(args.out, routed, rows, summary)
    if args.json:
        print(json.dumps({"summary": summary, "days": rows}, ensure_ascii=False, indent=2))
        return 0
    print(f"{setup.scenario.name}: patrol calendar {horizon.label}")
    print(
        f"{'date':<10} {'曜':<2} {'region':<8} {'assets':>6} {'routes':>6} {'km':>8} {'crew h':>7}"
    )
    for r in rows:
        print(
            f"{r['date']:<10} {r['weekday']:<2} {r['region']:<8} {r['assets']:>6}"
            f" {r['routes']:>6} {r['km']:>8.1f} {r['crew_hours']:>7.1f}"
        )
    print()
    for key, value in summary.items():
        print(f"{key}: {value}")
    return 0


def _day_rows(routed: CalendarRoutes) -> list[dict[str, Any]]:
    cal = routed.calendar
    by_key = {(d, region): r for d, region, r in routed.days}
    rows = []
    for d, region, assets in cal.day_sets():
        date = cal.dates[d]
        r = by_key.get((d, region))
        rows.append(
            {
                "date": date.isoformat(),
                "weekday": WEEKDAYS_JA[date.weekday()],
                "region": region,
                "assets": len(assets),
                "routes": r.num_routes if r else 0,
                "km": round(r.km, 2) if r else 0.0,
                "crew_hours": round(r.minutes / 60.0, 2) if r else 0.0,
            }
        )
    return rows


def _write(
    out: Path, routed: CalendarRoutes, rows: list[dict[str, Any]], summary: dict[str, Any]
) -> None:
    from gis_data.network.export import export_routes
    from service.i18n import export_words

    out.mkdir(parents=True, exist_ok=True)
    # UTF-8 with a BOM: Excel on Japanese Windows shows mojibake otherwise.
    with (out / "calendar.csv").open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["date"])
        writer.writeheader()
        writer.writerows(rows)
    cal = routed.calendar
    visits = {
        cal.dates[d].isoformat() + "/" + region: sorted(assets)
        for d, region, assets in cal.day_sets()
        if assets
    }
    (out / "calendar.json").write_text(
        json.dumps({"summary": summary, "visits": visits}, ensure_ascii=False, indent=1),
        encoding="utf-8",
    )
    written = 0
    for d, region, r in routed.days:
        if not r.traced:
            continue
        day = cal.dates[d].isoformat()
        files = export_routes(
            list(r.traced),
            out / day,
            stem=f"region{region}",
            name=f"巡回 {day} 区域{region}",
            words=export_words("ja"),
        )
        written += len(files)
    logger.info("wrote calendar and %d route files to %s", written, out)
