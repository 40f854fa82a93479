"""`gunmane demo` (`make run`): migrate, store and plan the demo, print keys and URLs, serve."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import gis_data.demo
from gis_data.loading.load import load_scenario
from service import crud
from service.commands.load import print_scenario
from service.commands.serve import add_server_arguments, serve
from service.config import Settings, get_settings
from service.db import get_engine, migrate, session_scope
from service.models import Job, Plan, Scenario

DEMO_DIR = Path(gis_data.demo.__file__).resolve().parent
DEMO_CONFIG = DEMO_DIR / "four_towns.toml"
ATTRIBUTION = "Data © OpenStreetMap contributors (ODbL 1.0), see gis_data/demo/SOURCES.md"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `demo` subcommand."""
    p = subparsers.add_parser(
        "demo",
        help="the demo: store the four-town scenario, plan it, print keys and URLs, serve",
        description=(
            "Migrate the database, store gis_data/demo/four_towns.toml (or --config) unless it is"
            " there already, compute its plan (contract regions, then the day's patrol routes)"
            " as jobs on Dask with progress lines, create one API key per role, print the URLs"
            " and serve on 127.0.0.1:8000."
        ),
    )
    p.add_argument("--config", type=Path, default=DEMO_CONFIG, help="scenario TOML to load")
    p.add_argument("-k", type=int, default=2, help="contract regions in the demo plan (2)")
    p.add_argument(
        "--time-limit", type=float, default=8.0, help="seconds per solve of the demo plan (8)"
    )
    p.add_argument("--replan", action="store_true", help="plan again even if a plan exists")
    p.add_argument("--no-serve", action="store_true", help="stop after printing the URLs")
    p.add_argument(
        "--summary-only", action="store_true", help="only load the scenario and print its summary"
    )
    add_server_arguments(p)
    p.set_defaults(handler=run)


class DemoError(RuntimeError):
    """A demo planning job did not succeed."""


def _stored_scenario(session: Session, config: Path) -> Scenario | None:
    query = select(Scenario).where(Scenario.source_config == str(config)).order_by(Scenario.id)
    return session.scalars(query).first()


def _run_job(
    settings: Settings, runner: Any, *, scenario_id: int, process: str, inputs: dict[str, Any]
) -> dict[str, Any]:
    """Submit a job and print its progress until it ends; returns its result."""
    from service.jobs import submit_job

    engine = get_engine(settings.DATABASE_URL)
    with session_scope(engine) as session:
        job = submit_job(
            session=session,
            runner=runner,
            process_id=process,
            inputs={**inputs, "scenario_id": scenario_id},
            scenario_id=scenario_id,
        )
        job_id = job.id
    started = time.monotonic()
    last = ""
    while True:
        with session_scope(engine) as session:
            row = session.get(Job, job_id)
            assert row is not None
            status, progress, message, result = row.status, row.progress, row.message, row.result
        line = f"  [{progress:3d}%] {message}"
        if line != last:
            print(f"{line}  ({time.monotonic() - started:4.0f} s)", flush=True)
            last = line
        if status in ("successful", "failed", "dismissed"):
            break
        time.sleep(0.25)
    if status != "successful" or result is None:
        raise DemoError(f"the demo {process} job {status}: {message}")
    return result


def _plan(settings: Settings, scenario_id: int, *, k: int, time_limit: float) -> None:
    from service.jobs import JobRunner

    runner = JobRunner(settings)
    try:
        print(f"Contract regions (k={k}), job on Dask:")
        regions = _run_job(
            settings,
            runner,
            scenario_id=scenario_id,
            process="regions",
            inputs={"k": k, "time_limit": time_limit, "name": f"demo: {k} regions"},
        )
        summary = regions["summary"]
        print(
            f"  -> balance {summary['balance']:.3f}, mean Polsby-Popper"
            f" {summary['mean_polsby_popper']:.3f}, contiguous {summary['contiguous']}"
        )
        print("Daily patrol routes (bundled vs each town x field alone), job on Dask:")
        routes = _run_job(
            settings,
            runner,
            scenario_id=scenario_id,
            process="routes",
            inputs={"time_limit": time_limit, "silo_time_limit": 1.0, "name": "demo: day routes"},
        )
        bundled, separate = routes["summary"]["bundled"], routes["summary"]["separate"]
        print(
            f"  -> bundled {bundled['crews']} crews, {bundled['km']} km, {bundled['hours']} h;"
            f" separate {separate['crews']} crews, {separate['km']} km, {separate['hours']} h"
            f" ({routes['summary']['effect_vs_siloed_pct']} % fewer hours bundled)"
        )
    finally:
        runner.close()


def _keys(settings: Settings, scenario_id: int) -> tuple[dict[str, str], int | None]:
    """One new key per role (the contractor's bound to the first region); the first route id."""
    with session_scope(get_engine(settings.DATABASE_URL)) as session:
        regions_plan = crud.latest_plan(session=session, scenario_id=scenario_id, kind="regions")
        routes_plan = crud.latest_plan(session=session, scenario_id=scenario_id, kind="routes")
        routes = crud.list_routes(session=session, plan_id=routes_plan.id) if routes_plan else []
        region_id = next((r.region_id for r in routes if r.region_id is not None), None)
        if region_id is None and regions_plan is not None:
            regions = crud.list_regions(session=session, plan_id=regions_plan.id)
            region_id = regions[0].id if regions else None
        route_id = next((r.id for r in routes if r.region_id == region_id), None)
        keys: dict[str, str] = {}
        for role in ("admin", "planner", "gis"):
            keys[role] = crud.create_api_key(session=session, role=role, name=f"demo {role}")[1]
        if region_id is not None:
            keys["contractor"] = crud.create_api_key(
                session=session,
                role="contractor",
                name="demo contractor",
                region_ids=[region_id],
            )[1]
    return keys, route_id


def run(args: argparse.Namespace) -> int:
    """The demo; returns when --no-serve is given, else serves until interrupted."""
    config = args.config.resolve()
    if args.summary_only:
        print_scenario(load_scenario(config))
        print()
        print(ATTRIBUTION)
        return 0
    settings = get_settings()
    print(f"Database: {settings.DATABASE_URL.split('@')[-1]} (migrating)")
    migrate(settings.DATABASE_URL)
    engine = get_engine(settings.DATABASE_URL)
    with session_scope(engine) as session:
        stored = _stored_scenario(session, config)
        scenario_id = stored.id if stored is not None else None
    if scenario_id is None:
        from service.importer import import_scenario

        loaded = load_scenario(config)
        print_scenario(loaded)
        with session_scope(engine) as session:
            scenario_id = import_scenario(
                session=session, config=config, data_dir=settings.DATA_DIR
            ).id
        print(f"Stored as scenario {scenario_id}.")
    else:
        print(f"Scenario {scenario_id} ({config.name}) is already stored.")
    with session_scope(engine) as session:
        has_plan = session.scalars(
            select(Plan.id).where(Plan.scenario_id == scenario_id, Plan.kind == "routes")
        ).first()
    if has_plan is None or args.replan:
        try:
            _plan(settings, scenario_id, k=args.k, time_limit=args.time_limit)
        except DemoError as exc:
            print(f"error: {exc}")
            return 1
    else:
        print(f"Scenario {scenario_id} has a plan already (--replan to compute it again).")
    keys, route_id = _keys(settings, scenario_id)
    base = f"http://{args.host}:{args.port}"
    print()
    print("Demo API keys (new each run; the secrets are shown only here):")
    for role, key in keys.items():
        print(f"  {role:<10} {key}")
    print()
    print("URLs:")
    print(f"  API docs (OpenAPI)      {base}/docs")
    print(f"  OGC API - Features      {base}{settings.OGC_PREFIX}/   (header X-API-Key: gis key)")
    print(f"  start page              {base}/?key={keys['planner']}")
    print(f"  planner page            {base}/planner?scenario={scenario_id}&key={keys['planner']}")
    if route_id is not None and "contractor" in keys:
        contractor = keys["contractor"]
        print(f"  contractor route page   {base}/contractor/routes/{route_id}?key={contractor}")
        print(
            f"  contractor routes JSON  {base}{settings.API_PREFIX}/patrols"
            f"   (header X-API-Key: contractor key)"
        )
    print()
    print(ATTRIBUTION)
    if args.no_serve:
        return 0
    print(f"Serving on {base} (Ctrl-C to stop)", flush=True)
    serve(args.host, args.port)
    return 0
