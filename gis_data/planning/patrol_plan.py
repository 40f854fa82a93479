"""Patrol planning of a scenario: one bundled plan against siloed plans (each town x field alone).

Bundled: every matched asset of every town and field together, served by crews from the
contractors' depots (the town depots when the scenario has no contractor depot), so one pass
along a street serves a road and the river bank beside it, and crews cross town borders.
Siloed: each (municipality, field) alone from its town depot, as when every town department
orders its own patrol. Both use the same network, matching, crews and shift settings.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shapely import Point

from gis_data.network.adapters import Depot, PatrolRoute, to_carp_data, trace_routes
from gis_data.network.graph import RoadNetwork
from gis_data.network.patrol_arcs import Matching, PatrolTask, Unmatched, match_assets
from gis_data.network.scenario_network import scenario_network
from gis_data.planning.parallel import as_mapper
from optimizer.arc_routing import solve_arc_routing
from optimizer.errors import InfeasibleError
from optimizer.lower_bound import quick_lower_bound
from optimizer.stop import MaxRuntime, MultipleCriteria, NoImprovement, StoppingCriterion

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]
#: The bundled solve's best cost so far (seconds of crew time), its lower bound (None until
#: computed) and the seconds since it started (`optimizer.arc_routing.Progress`).
BestProgress = Callable[[int, int | None, float], None]


def gap_to_bound_pct(cost_s: int, bound_s: int) -> float:
    """How far a cost is above its lower bound, in percent of the bound."""
    return 100.0 * (cost_s - bound_s) / bound_s


def best_so_far_message(cost_s: int, bound_s: int | None) -> str:
    """A progress line for the bundled solve's best so far, in crew hours, with its gap."""
    line = f"bundled: best so far {cost_s / 3600.0:.2f} h"
    if bound_s:
        gap = gap_to_bound_pct(cost_s, bound_s)
        line += f", bound {bound_s / 3600.0:.2f} h (gap {gap:.1f} %)"
    return line


@dataclass(frozen=True)
class PlanSettings:
    """Crews, shifts and search limits of a planning run.

    ``crews`` bounds the crews per depot (None: as many as the tasks need). ``bundled_stop`` and
    ``silo_stop`` override the time limits (e.g. count-based stops for reproducible tests).
    """

    time_limit_s: float = 15.0
    silo_time_limit_s: float = 3.0
    seed: int = 0
    crews: int | None = None
    shift_hours: float = 8.0
    bundled_stop: StoppingCriterion | None = None
    silo_stop: StoppingCriterion | None = None

    def stop_for(self, *, bundled: bool) -> StoppingCriterion:
        """The stopping criterion of the bundled or of one siloed solve."""
        if bundled:
            return self.bundled_stop or MaxRuntime(self.time_limit_s)
        # Small silos converge quickly: stop early when the search stagnates.
        return self.silo_stop or MultipleCriteria(
            (MaxRuntime(self.silo_time_limit_s), NoImprovement(3000))
        )


@dataclass(frozen=True)
class Plan:
    """The routes of one planning unit (bundled, or one town x field) and their totals."""

    label: str
    municipality_code: str | None
    field: str | None
    depots: tuple[Depot, ...]
    routes: tuple[PatrolRoute, ...]
    num_tasks: int
    status: str  # "feasible", "infeasible", "no_solution", "error: ..."
    cost_s: int
    runtime_s: float
    bound_s: int | None = None  # the optimizer's lower bound on cost_s (bundled plan only)

    @property
    def crews(self) -> int:
        """Crew shifts used (routes)."""
        return len(self.routes)

    @property
    def km(self) -> float:
        """Kilometres driven by all crews."""
        return sum(r.km for r in self.routes)

    @property
    def serve_s(self) -> int:
        """Seconds spent serving."""
        return sum(r.serve_s for r in self.routes)

    @property
    def deadhead_s(self) -> int:
        """Seconds spent driving between tasks."""
        return sum(r.deadhead_s for r in self.routes)

    @property
    def hours(self) -> float:
        """Total crew hours (serve + deadhead)."""
        return (self.serve_s + self.deadhead_s) / 3600.0

    @property
    def makespan_hours(self) -> float:
        """The longest crew's hours (0 without routes)."""
        return max((r.total_s for r in self.routes), default=0) / 3600.0

    def to_dict(self) -> dict[str, Any]:
        """Totals and one summary per crew route, JSON-ready (geometry: see `network.export`)."""
        return {
            **self.totals(),
            "municipality_code": self.municipality_code,
            "field": self.field,
            "depots": [d.depot_id for d in self.depots],
            "routes": [
                {
                    "crew": r.crew + 1,
                    "depot_id": r.depot_id,
                    "tasks": len(r.tasks),
                    "km": round(r.km, 3),
                    "serve_s": r.serve_s,
                    "deadhead_s": r.deadhead_s,
                    "asset_ids": list(r.asset_ids),
                }
                for r in self.routes
            ],
        }

    def totals(self) -> dict[str, Any]:
        """Totals as a row (for tables and JSON)."""
        return {
            "plan": self.label,
            "tasks": self.num_tasks,
            "crews": self.crews,
            "km": round(self.km, 2),
            "hours": round(self.hours, 2),
            "serve_hours": round(self.serve_s / 3600.0, 2),
            "deadhead_hours": round(self.deadhead_s / 3600.0, 2),
            "makespan_hours": round(self.makespan_hours, 2),
            "status": self.status,
            # The floor no plan of these tasks can beat (bundled plan only) and how far above.
            "bound_hours": None if not self.bound_s else round(self.bound_s / 3600.0, 2),
            "gap_to_bound_pct": (
                None if not self.bound_s else round(gap_to_bound_pct(self.cost_s, self.bound_s), 1)
            ),
        }


@dataclass(frozen=True)
class PlanComparison:
    """Bundled plan, siloed plans and what could not be matched."""

    scenario: str
    network: RoadNetwork
    bundled: Plan
    siloed: tuple[Plan, ...]
    unmatched: tuple[Unmatched, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """The whole comparison, JSON-ready."""
        return {
            "scenario": self.scenario,
            "network": self.network.summary.as_dict(),
            "bundled": self.bundled.to_dict(),
            "separate": [p.to_dict() for p in self.siloed],
            "separate_totals": self.siloed_totals(),
            "unmatched": [u.__dict__.copy() for u in self.unmatched],
        }

    def siloed_totals(self) -> dict[str, Any]:
        """The siloed plans summed (crews, km, hours)."""
        return {
            "plan": "separate (sum)",
            "tasks": sum(p.num_tasks for p in self.siloed),
            "crews": sum(p.crews for p in self.siloed),
            "km": round(sum(p.km for p in self.siloed), 2),
            "hours": round(sum(p.hours for p in self.siloed), 2),
            "serve_hours": round(sum(p.serve_s for p in self.siloed) / 3600.0, 2),
            "deadhead_hours": round(sum(p.deadhead_s for p in self.siloed) / 3600.0, 2),
            "makespan_hours": round(max((p.makespan_hours for p in self.siloed), default=0.0), 2),
            "status": ", ".join(sorted({p.status for p in self.siloed})),
        }


def scenario_depots(scenario: Any, kind: str, crews: int | None) -> list[Depot]:
    """Depots of ``kind`` ("town" or "contractor") from the scenario's depot table."""
    out = []
    for row in scenario.depots.itertuples(index=False):
        if row.kind != kind:
            continue
        code = getattr(row, "municipality_code", None)
        out.append(
            Depot(
                depot_id=str(row.depot_id),
                name=str(row.name),
                location=Point(row.geometry.x, row.geometry.y),
                crews=crews,
                municipality_code=None if code is None else str(code),
            )
        )
    return out


def solve_plan(
    network: RoadNetwork,
    tasks: Sequence[PatrolTask],
    depots: Sequence[Depot],
    *,
    label: str,
    settings: PlanSettings,
    bundled: bool,
    municipality_code: str | None = None,
    fld: str | None = None,
    street_names: Mapping[tuple[int, int, int], str] | None = None,
    on_best: BestProgress | None = None,
) -> Plan:
    """Solve one planning unit and trace its routes on the roads (steps named by
    ``street_names``, the town's 路線名 per graph edge, before the OSM names); ``on_best`` is
    told the solver's best cost so far and bound as they come (`solve_arc_routing`'s
    ``progress``)."""
    started = time.perf_counter()

    def failed(status: str) -> Plan:
        return Plan(label, municipality_code, fld, tuple(depots), (), len(tasks), status, 0,
                    time.perf_counter() - started)  # fmt: skip

    if not tasks:
        return failed("feasible")
    instance = to_carp_data(
        network, tasks, depots, shift_hours=settings.shift_hours, name=label,
        street_names=street_names,
    )  # fmt: skip
    told: list[int] = []  # the bound the progress line stated: the plan keeps the same one

    def listen(cost: int, bound: int | None, seconds: float) -> None:
        if bound is not None:
            told[:] = [bound]
        if on_best is not None:
            on_best(cost, bound, seconds)

    try:
        result = solve_arc_routing(
            instance.data,
            stop=settings.stop_for(bundled=bundled),
            seed=settings.seed,
            progress=listen if bundled else on_best,
        )
    except InfeasibleError as exc:
        logger.warning("%s: %s", label, exc)
        return failed(f"error: {exc}")
    if result.solution is None:
        return failed(result.status)
    routes = trace_routes(instance, result.solution)
    # The bundled plan's progress line states how far it can be from the best possible (the
    # solve computed the bound once for its progress; it is not computed again).
    bound = None
    if bundled:
        bound = told[0] if told else quick_lower_bound(instance.data).value
    return Plan(
        label=label,
        municipality_code=municipality_code,
        field=fld,
        depots=tuple(depots),
        routes=tuple(routes),
        num_tasks=len(tasks),
        status=result.status,
        cost_s=int(result.cost or 0),
        runtime_s=time.perf_counter() - started,
        bound_s=bound,
    )


def silo_depots(
    code: str, town: list[Depot], contractor: list[Depot], crews: int | None
) -> list[Depot]:
    """A town's depots when it works alone: its town depots, else a yard in it, else any yard."""
    own = [d for d in town if d.municipality_code == code]
    if own:
        return own
    near = [d for d in contractor if d.municipality_code == code] or contractor or town
    logger.warning("municipality %s has no town depot; its silo uses %s", code, near[0].name)
    return near


@dataclass(frozen=True)
class _PlanJob:
    """One planning unit to solve: the bundled plan or one town x field."""

    label: str
    tasks: tuple[PatrolTask, ...]
    depots: tuple[Depot, ...]
    bundled: bool
    municipality_code: str | None = None
    fld: str | None = None
    on_best: BestProgress | None = None  # the bundled plan's best-so-far listener


@dataclass(frozen=True)
class _SolvePlan:
    """Picklable ``job -> Plan`` on one network (a Dask mapper ships it once per worker)."""

    network: RoadNetwork
    settings: PlanSettings
    street_names: Mapping[tuple[int, int, int], str] = field(default_factory=dict)

    def __call__(self, job: _PlanJob) -> Plan:
        return solve_plan(
            self.network, job.tasks, job.depots, label=job.label, settings=self.settings,
            bundled=job.bundled, municipality_code=job.municipality_code, fld=job.fld,
            street_names=self.street_names, on_best=job.on_best,
        )  # fmt: skip


def plan_patrols(
    scenario: Any,
    settings: PlanSettings | None = None,
    *,
    progress: Progress | None = None,
    matching: Matching | None = None,
    client: Any | None = None,
    on_best: BestProgress | None = None,
) -> PlanComparison:
    """Plan the scenario's patrols bundled and siloed (see the module docstring).

    ``client`` (a Dask client or a mapper, see `planning.parallel.as_mapper`) solves the bundled
    plan and every silo as one batch of independent tasks; None solves them here one by one.
    ``on_best`` is told the bundled solve's best cost so far and its bound (`BestProgress`); it
    travels with the bundled task, so on a Dask cluster of processes it must pickle (and it runs
    in the worker). Under count-based stops (``bundled_stop``, ``silo_stop``) the plans are the
    same either way.
    """
    settings = settings or PlanSettings()
    say = progress or (lambda message: logger.info("%s", message))
    network = scenario_network(scenario).network
    say(
        f"road network: {network.summary.nodes} nodes, {network.summary.edges} edges,"
        f" {network.summary.street_km:.1f} street km"
    )
    matching = matching or match_assets(network, scenario.assets)
    say(f"matched {len(matching.assets)} assets, {len(matching.unmatched)} unmatched")
    town = scenario_depots(scenario, "town", settings.crews)
    contractor = scenario_depots(scenario, "contractor", settings.crews)
    if not town and not contractor:
        raise ValueError(f"scenario {scenario.name!r} has no depot")
    bundle_depots = contractor or town
    jobs = [
        _PlanJob(
            "bundled", tuple(matching.tasks()), tuple(bundle_depots), bundled=True,
            on_best=on_best,
        )
    ]  # fmt: skip
    groups: dict[tuple[str, str], list[str]] = {}
    names: dict[str, str] = {}
    frame = scenario.assets
    for asset_id, code, fld, muni in zip(
        frame["asset_id"], frame["municipality_code"], frame["field"], frame["municipality"],
        strict=True,
    ):  # fmt: skip
        if str(asset_id) in matching.assets:
            groups.setdefault((str(code), str(fld)), []).append(str(asset_id))
            names[str(code)] = str(muni)
    for (code, fld), ids in sorted(groups.items()):
        depots = silo_depots(code, town, contractor, settings.crews)
        jobs.append(
            _PlanJob(
                f"{names.get(code, code)} {fld}", tuple(matching.tasks(ids)), tuple(depots),
                bundled=False, municipality_code=code, fld=fld,
            )
        )  # fmt: skip
    solve = _SolvePlan(network, settings, matching.street_names())

    def starting(job: _PlanJob) -> str:
        if job.bundled:
            return f"bundled: {len(job.tasks)} tasks from {len(job.depots)} depots ..."
        return f"separate: {job.label}: {len(job.tasks)} tasks from {job.depots[0].name} ..."

    def solved(plan: Plan) -> str:
        bound = ""
        if plan.bound_s:
            gap = gap_to_bound_pct(plan.cost_s, plan.bound_s)
            bound = f", cost {plan.cost_s} s, lower bound {plan.bound_s} s (+{gap:.1f} %)"
        return (
            f"bundled: {plan.crews} crews, {plan.km:.1f} km, {plan.hours:.2f} h"
            f" ({plan.status}, {plan.runtime_s:.1f} s{bound})"
        )

    plans: list[Plan] = []
    if client is None:
        for job in jobs:
            say(starting(job))
            plans.append(solve(job))
            if job.bundled:
                say(solved(plans[0]))
    else:
        for job in jobs:
            say(starting(job))
        say(f"solving the {len(jobs)} plans as parallel tasks ...")
        plans = as_mapper(client)(solve, jobs)
        say(solved(plans[0]))
    return PlanComparison(
        scenario=str(scenario.name),
        network=network,
        bundled=plans[0],
        siloed=tuple(plans[1:]),
        unmatched=tuple(matching.unmatched),
    )
