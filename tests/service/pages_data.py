"""Test data for the page and browser tests: three towns cut from the demo, stored in a database."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gpxpy
import gpxpy.gpx
import pandas as pd
from pyproj import Transformer
from shapely.geometry import LineString
from shapely.ops import transform
from sqlalchemy.orm import Session

from gis_data.loading.load import load_scenario
from gis_data.network.adapters import Depot, PatrolRoute, Traversal, to_carp_data, trace_routes
from gis_data.network.graph import network_for_scenario
from gis_data.network.patrol_arcs import match_assets
from optimizer.arc_routing import solve_arc_routing
from optimizer.stop import MaxIterations
from service import crud
from service.db import get_engine, session_factory
from service.frames import asset_features, depot_rows
from service.schemas import Municipality, ScenarioCreate

DEMO = Path(__file__).resolve().parents[2] / "gis_data" / "demo"
# Small neighbouring towns in the north (Gamprin, Schellenberg, Eschen): quick to load and unit.
SMALL_TOWNS = ("LI-7007", "LI-7009", "LI-7011")


def small_scenario_toml(folder: Path, codes: tuple[str, ...] = SMALL_TOWNS) -> Path:
    """Write a scenario TOML with only ``codes`` from the all-Liechtenstein demo config."""
    text = (DEMO / "liechtenstein.toml").read_text(encoding="utf-8")
    head, *blocks = re.split(r"(?m)^(?=\[\[(?:municipality|depot)\]\]\s*$)", text)
    kept: list[str] = []
    keep = False
    for block in blocks:
        if block.startswith("[[municipality]]"):
            code = re.search(r'(?m)^code = "([^"]+)"', block)
            keep = code is not None and code.group(1) in codes
        elif block.startswith("[[depot]]"):
            code = re.search(r'(?m)^municipality_code = "([^"]+)"', block)
            keep = code is not None and code.group(1) in codes
        if keep:
            kept.append(block)
    body = head + "".join(kept)
    body = re.sub(
        r'(?m)^(file|osm) = "([^"]+)"', lambda m: f'{m.group(1)} = "{DEMO / m.group(2)}"', body
    )
    body = re.sub(r'(?m)^name = "Liechtenstein"', 'name = "Three northern towns"', body, count=1)
    path = folder / "three_towns.toml"
    path.write_text(body, encoding="utf-8")
    return path


# -- a stored scenario with a regions plan and one real route ---------------------------------

_LOADED: dict[str, Any] = {}


def loaded(toml: Path) -> Any:
    """The scenario loaded once per test session (loading takes seconds)."""
    key = str(toml.read_text(encoding="utf-8"))
    if key not in _LOADED:
        _LOADED[key] = load_scenario(toml)
    return _LOADED[key]


@dataclass
class Seeded:
    """Ids and keys of the seeded database."""

    scenario_id: int
    plan_id: int
    route_plan_id: int
    region_ids: list[int]
    route_id: int
    other_route_id: int
    keys: dict[str, str]
    route: PatrolRoute


def solved_route(scenario: Any, town: str, *, max_tasks: int = 12) -> PatrolRoute:
    """A real route: ``town``'s first road assets matched, routed from its depot, traced."""
    network = network_for_scenario(scenario)
    assets = scenario.assets
    picked = assets[(assets["municipality_code"] == town) & (assets["field"] == "road")]
    parks = assets[(assets["municipality_code"] == town) & (assets["field"] == "park")]
    subset = pd.concat([picked.head(max_tasks), parks.head(1)])
    tasks = match_assets(network, subset).tasks()
    depot_row = scenario.depots[scenario.depots["municipality_code"] == town].iloc[0]
    depot = Depot(str(depot_row["depot_id"]), str(depot_row["name"]), depot_row.geometry)
    instance = to_carp_data(network, tasks, [depot], shift_hours=8.0, name=town)
    result = solve_arc_routing(instance.data, stop=MaxIterations(20), seed=1)
    assert result.solution is not None, f"no route for {town}"
    routes = trace_routes(instance, result.solution)
    return max(routes, key=lambda r: len(r.traversals))


def seed(session: Session, toml: Path) -> Seeded:
    """Store the scenario, a two-region plan, two routes and one key of each role."""
    scenario = loaded(toml)
    munis = scenario.municipalities
    row = crud.create_scenario(
        session=session,
        scenario_in=ScenarioCreate(
            name=scenario.name,
            municipalities=[
                Municipality(code=c, name=n)
                for c, n in zip(munis["municipality_code"], munis["municipality"], strict=True)
            ],
        ),
        source_config=str(toml),
    )
    for code, group in scenario.assets.groupby("municipality_code"):
        crud.add_layer(
            session=session,
            scenario_id=row.id,
            name=f"{code} assets",
            municipality_code=str(code),
            features=asset_features(group),
        )
    for values in depot_rows(scenario.depots):
        crud.add_depot(session=session, scenario_id=row.id, **values)
    plan = crud.create_plan(
        session=session, scenario_id=row.id, kind="regions", name="optimized k=2"
    )
    codes = list(munis["municipality_code"])
    split = {"1": codes[:1], "2": codes[1:]}
    regions = []
    for label, members in split.items():
        shape = munis[munis["municipality_code"].isin(members)].union_all()
        regions.append(
            crud.add_region(
                session=session,
                plan=plan,
                code=label,
                municipalities=[{"code": c} for c in members],
                geom=shape,
            )
        )
    route = solved_route(scenario, codes[0])
    route_plan = crud.create_plan(session=session, scenario_id=row.id, kind="routes", name="day 1")
    steps = [asdict(t) for t in route.traversals]
    stored = crud.add_route(
        session=session,
        plan=route_plan,
        region_id=regions[0].id,
        crew="1",
        day=0,
        service_date=dt.date(2026, 4, 1),
        geom=route.geometry,
        steps=steps,
        properties={"km": route.km, "minutes": route.total_s / 60, "depot_name": route.depot_name},
    )
    other = crud.add_route(
        session=session,
        plan=route_plan,
        region_id=regions[1].id,
        crew="1",
        day=0,
        service_date=dt.date(2026, 4, 1),
        geom=route.geometry,
        steps=steps,
    )
    keys = {}
    for role in ("admin", "planner", "gis"):
        keys[role] = crud.create_api_key(session=session, role=role, name=role)[1]
    keys["contractor"] = crud.create_api_key(
        session=session, role="contractor", name="crew of region 1", region_ids=[regions[0].id]
    )[1]
    session.commit()
    return Seeded(
        scenario_id=row.id,
        plan_id=plan.id,
        route_plan_id=route_plan.id,
        region_ids=[r.id for r in regions],
        route_id=stored.id,
        other_route_id=other.id,
        keys=keys,
        route=route,
    )


def route_with_a_stop(url: str, data: Seeded, asset_id: str) -> tuple[int, str]:
    """The seeded route again with a stop (a park checked on foot) after its first step."""
    first = data.route.traversals[0]
    stop = Traversal(
        kind="serve", from_node=first.to_node, to_node=first.to_node, street="Rathauspark",
        length_m=0.0, time_s=600, task_id="n:park#0", task_kind="node", asset_ids=(asset_id,),
        coords=(first.coords[-1],),
    )  # fmt: skip
    steps = [asdict(t) for t in (first, stop, *data.route.traversals[1:])]
    session = session_factory(get_engine(url))()
    try:
        original = crud.get_route(session=session, route_id=data.route_id)
        plan = crud.get_plan(session=session, plan_id=data.route_plan_id)
        route = crud.add_route(
            session=session, plan=plan, region_id=original.region_id, crew="2", day=0,
            service_date=original.service_date, geom=original.geom, steps=steps,
        )  # fmt: skip
        session.commit()
        return int(route.id), stop.task_id or ""
    finally:
        session.close()


T0 = dt.datetime(2026, 4, 1, 8, 0, tzinfo=dt.UTC)


def track_along(line: LineString, *, step_m: float = 15.0) -> str:
    """A GPX track following ``line`` (EPSG:4326) with a fix every ``step_m`` at 10 m/s."""
    to_m = Transformer.from_crs(4326, 32632, always_xy=True).transform
    to_deg = Transformer.from_crs(32632, 4326, always_xy=True).transform
    metric = transform(to_m, line)
    gpx = gpxpy.gpx.GPX()
    track = gpxpy.gpx.GPXTrack()
    segment = gpxpy.gpx.GPXTrackSegment()
    n = int(metric.length // step_m) + 1
    for i in range(n + 1):
        x, y = to_deg(*metric.interpolate(min(i * step_m, metric.length)).coords[0])
        stamp = T0 + dt.timedelta(seconds=i * step_m / 10.0)
        segment.points.append(gpxpy.gpx.GPXTrackPoint(y, x, time=stamp))
    track.segments.append(segment)
    gpx.tracks.append(track)
    return gpx.to_xml()
