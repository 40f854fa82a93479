"""The ``plan_routing`` job: a candidate plan's patrol time routed region by region from its
depots, against each town patrolling alone, cached per plan.

A plan's figures are keyed by its normalised region -> assets assignment, the scenario's data
(version, assets, depots) and the routing settings; a finished job with the same key is the
cache (the planner page gets its figures back at once). The towns-alone routing does not depend
on the plan: it is keyed without the regions and reused by every plan of the scenario.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service import crud
from service.jobs import JobContext, JobInputError, JobOutcome, Process, register_process
from service.lru import LruCache
from service.models import Asset, Job
from service.process_inputs import PlanRoutingInputs

PROCESS_ID = "plan_routing"
# How many finished routing jobs of a scenario are searched for a cached plan.
CACHE_SCAN = 200


def scenario_stamp(session: Session, scenario_id: int) -> dict[str, Any]:
    """What a routed figure depends on in the stored scenario: its version, assets and depots."""
    scenario = crud.get_scenario(session=session, scenario_id=scenario_id)
    count, last = session.execute(
        select(func.count(Asset.id), func.max(Asset.id)).where(Asset.scenario_id == scenario_id)
    ).one()
    depots = [
        [d.depot_id, d.kind, d.municipality_code, d.geom.wkt if d.geom is not None else ""]
        for d in crud.list_depots(session=session, scenario_id=scenario_id)
    ]
    digest = hashlib.sha256(json.dumps(depots).encode()).hexdigest()[:16]
    return {
        "scenario": scenario_id,
        "version": scenario.version,
        "assets": [int(count or 0), int(last or 0)],
        "depots": digest,
    }


def routing_settings(inputs: Mapping[str, Any], default_seconds: float) -> dict[str, Any]:
    """The settings both sides of the comparison are routed with (part of every cache key)."""
    from gis_data.planning.plan_routing import TASKS_PER_LIMIT

    return {
        "time_limit": float(inputs.get("time_limit") or default_seconds),
        "iterations": inputs.get("iterations"),
        "per_tasks": TASKS_PER_LIMIT,
        "seed": int(inputs.get("seed") or 0),
        "shift_hours": float(inputs.get("shift_hours") or 8.0),
    }


def routing_key(
    stamp: Mapping[str, Any],
    settings: Mapping[str, Any],
    regions: Mapping[str, list[str]] | None = None,
    depots: Mapping[str, str] | None = None,
) -> str:
    """The cache key of a plan (or, without ``regions``, of the towns alone); ``depots``, the
    depot chosen per region, makes another key (none chosen: the key plans always had)."""
    plan = None
    if regions is not None:
        plan = sorted((str(r), sorted({str(a) for a in ids})) for r, ids in regions.items())
    keyed: dict[str, Any] = {"v": 2, "stamp": stamp, "settings": settings, "plan": plan}
    if depots:
        keyed["depots"] = sorted((str(r), str(d)) for r, d in depots.items())
    text = json.dumps(keyed, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def cached_routing(session: Session, scenario_id: int, key: str) -> Job | None:
    """The newest successful routing job of ``scenario_id`` whose plan key is ``key``."""
    for job in _finished(session, scenario_id):
        if (job.result or {}).get("cache_key") == key:
            return job
    return None


def running_routing(session: Session, scenario_id: int, inputs: Mapping[str, Any]) -> Job | None:
    """A routing job of the same inputs still queued or running (a second click on Evaluate)."""
    query = select(Job).where(
        Job.process_id == PROCESS_ID,
        Job.scenario_id == scenario_id,
        Job.status.in_(("accepted", "running")),
    )
    for job in session.scalars(query.order_by(Job.created_at.desc()).limit(CACHE_SCAN)).all():
        if job.inputs == dict(inputs):
            return job
    return None


def _cached_alone(session: Session, scenario_id: int, key: str) -> dict[str, Any] | None:
    for job in _finished(session, scenario_id):
        alone = (job.result or {}).get("alone")
        if isinstance(alone, dict) and alone.get("key") == key:
            return alone
    return None


def _finished(session: Session, scenario_id: int) -> list[Job]:
    query = (
        select(Job)
        .where(
            Job.process_id == PROCESS_ID,
            Job.scenario_id == scenario_id,
            Job.status == "successful",
        )
        .order_by(Job.finished_at.desc())
        .limit(CACHE_SCAN)
    )
    return list(session.scalars(query).all())


# The network and matching of a scenario, kept per data stamp: building them takes seconds,
# and the planner evaluates plan after plan of the same scenario.
_SETUPS: LruCache[str, Any] = LruCache(2)


def _setup(ctx: JobContext, stamp: Mapping[str, Any]) -> Any:
    from service.job_support import _plan_setup

    key = json.dumps([ctx.database_url, stamp], sort_keys=True)
    return _SETUPS.get_or_make(key, lambda: _plan_setup(ctx))


def run_plan_routing(ctx: JobContext, inputs: dict[str, Any]) -> JobOutcome:
    """Route each region of the plan from its depots and each town alone; the saving."""
    from pydantic import ValidationError

    from gis_data.planning.plan_routing import (
        RoutingEffort,
        region_depots,
        route_regions,
        route_towns_alone,
        saving,
    )
    from service.config import get_settings
    from service.job_support import _scenario_id, input_errors, plain

    scenario_id = _scenario_id(ctx)
    try:
        request = PlanRoutingInputs.model_validate({**inputs, "scenario_id": scenario_id})
    except ValidationError as exc:
        raise JobInputError(input_errors(exc)) from None
    settings = routing_settings(request.model_dump(), get_settings().EVALUATE_ROUTE_SECONDS)
    with ctx.session() as session:
        stamp = scenario_stamp(session, scenario_id)
        alone_key = routing_key(stamp, settings)
        alone_cached = _cached_alone(session, scenario_id, alone_key)
    key = routing_key(stamp, settings, request.regions, request.depots)
    ctx.progress(2, "loading the road network")
    setup = _setup(ctx, stamp)
    asset_region: dict[str, str] = {}
    problems = []
    for region, ids in request.regions.items():
        for asset in map(str, ids):
            if asset in asset_region and asset_region[asset] != str(region):
                problems.append(f"asset {asset} is in regions {asset_region[asset]} and {region}")
            asset_region[asset] = str(region)
    known = set(setup.scenario.assets["asset_id"].astype(str))
    unknown = sorted(set(asset_region) - known)
    if unknown:
        problems.append(
            f"{len(unknown)} asset id(s) not in the scenario: " + ", ".join(unknown[:10])
        )
    if problems:
        raise JobInputError("inputs.regions: " + "; ".join(problems[:20]))
    try:
        bases = region_depots(setup, asset_region, chosen=request.depots)
    except ValueError as exc:  # every region and depot id at fault, named
        raise JobInputError(f"inputs.depots: {exc}") from None
    # Work the plan leaves out would make it look cheaper than the towns alone: no saving then.
    left_out = set(setup.assets["asset_id"].astype(str)) - set(asset_region)
    iterations = settings["iterations"]
    effort = RoutingEffort(
        seconds=settings["time_limit"],
        iterations=int(iterations) if iterations else None,
        per_tasks=settings["per_tasks"],
        seed=settings["seed"],
        shift_hours=settings["shift_hours"],
    )
    total = len(request.regions) + (0 if alone_cached is not None else setup.assets[
        "municipality_code"].nunique())  # fmt: skip
    offset = 0

    def progress(done: int, _of: int, label: str) -> None:
        ctx.progress(5 + 94 * (offset + done) / total, f"{offset + done}/{total} routed: {label}")

    ctx.progress(5, f"0/{total} routed")
    plan = route_regions(setup, asset_region, effort, depots=bases, progress=progress).to_dict()
    offset = len(request.regions)
    if alone_cached is None:
        alone = {
            **route_towns_alone(setup, effort, progress=progress).to_dict(),
            "key": alone_key,
        }
    else:
        alone = alone_cached
    result = {
        "kind": PROCESS_ID,
        "cache_key": key,
        "settings": settings,
        "regions": plan.pop("parts"),
        "plan": plan,
        "alone": {**alone, "cached": alone_cached is not None},
        "saving": saving(alone, plan if not left_out else {}),
        "errors": plan["errors"] + [f"alone: {e}" for e in alone.get("errors", [])],
        "left_out": len(left_out),
    }
    if left_out:
        result["errors"].append(
            f"{len(left_out)} routable asset(s) of the scenario are in no region:"
            " no saving against the towns alone"
        )
    return JobOutcome(result=plain(result))


register_process(
    Process(
        id=PROCESS_ID,
        title="Routed patrol time of a plan",
        description="Route each region of a candidate plan from its depots (one patrol cycle:"
        " every asset once) and each town alone from its own depots with the same settings;"
        " per region hours and km, the plan total and the saving against the towns alone."
        " Results are cached per plan (GET the job of POST /plans/evaluate/routing).",
        function="service.plan_routing_jobs:run_plan_routing",
        schema=PlanRoutingInputs,
        inputs={
            "scenario_id": "the scenario (integer)",
            "regions": "region -> asset ids of its work",
            "depots": "region -> depot id it is routed from (others: automatic)",
            "time_limit": "seconds per 200 tasks of each solve (EVALUATE_ROUTE_SECONDS, 2)",
            "iterations": "N iterations per 200 tasks of each solve instead (reproducible)",
            "seed": "random seed (0)",
            "shift_hours": "shift length (8)",
        },
    )
)
