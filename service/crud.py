"""Data access: keyword-only create/read/update/delete over a session; routes never build SQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from shapely.geometry.base import BaseGeometry
from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.orm import Session, defer

from service import auth
from service.errors import ServiceError, not_found
from service.i18n import Lang, t
from service.models import (
    ApiKey,
    Asset,
    AssetLayer,
    Depot,
    Job,
    MunicipalityRow,
    Plan,
    PlanningSettingsRow,
    Region,
    RoadNetworkSource,
    Route,
    Scenario,
    utcnow,
)
from service.schemas import ScenarioCreate, ScenarioUpdate

TERMINAL_STATUSES = ("successful", "failed", "dismissed")


def bounds_columns(geom: BaseGeometry | None) -> dict[str, float | None]:
    """minx/miny/maxx/maxy values for a geometry (None when there is none or it is empty)."""
    if geom is None or geom.is_empty:
        return {"minx": None, "miny": None, "maxx": None, "maxy": None}
    minx, miny, maxx, maxy = geom.bounds
    return {"minx": minx, "miny": miny, "maxx": maxx, "maxy": maxy}


# -- scenarios ---------------------------------------------------------------------------------


def create_scenario(
    *, session: Session, scenario_in: ScenarioCreate, source_config: str | None = None
) -> Scenario:
    """Insert a scenario (version 1)."""
    scenario = Scenario(
        name=scenario_in.name,
        description=scenario_in.description,
        municipalities=[m.model_dump() for m in scenario_in.municipalities],
        settings=scenario_in.settings,
        source_config=source_config,
    )
    session.add(scenario)
    session.flush()
    sync_municipalities(session=session, scenario=scenario)
    return scenario


def sync_municipalities(*, session: Session, scenario: Scenario) -> list[MunicipalityRow]:
    """Make the municipality rows follow the scenario's list; boundaries of kept codes stay."""
    existing = {
        m.code: m
        for m in session.scalars(
            select(MunicipalityRow).where(MunicipalityRow.scenario_id == scenario.id)
        )
    }
    rows = []
    wanted: set[str] = set()
    for position, item in enumerate(scenario.municipalities or []):
        code = str(item.get("code") or "")
        if not code or code in wanted:
            continue
        wanted.add(code)
        row = existing.get(code)
        if row is None:
            row = MunicipalityRow(scenario_id=scenario.id, code=code)
            session.add(row)
        row.position = position
        row.name = str(item.get("name") or "")
        population = item.get("population")
        # A list without a population keeps one already stored (e.g. from a boundaries file).
        if population is not None:
            row.population = float(population)
            row.population_year = item.get("population_year")
        rows.append(row)
    for code, row in existing.items():
        if code not in wanted:
            session.delete(row)
    session.flush()
    return rows


def list_municipalities(*, session: Session, scenario_id: int) -> Sequence[MunicipalityRow]:
    """The municipalities of a scenario in list order."""
    query = (
        select(MunicipalityRow)
        .where(MunicipalityRow.scenario_id == scenario_id)
        .order_by(MunicipalityRow.position, MunicipalityRow.id)
    )
    return session.scalars(query).all()


def set_boundaries(
    *,
    session: Session,
    scenario_id: int,
    boundaries: dict[str, BaseGeometry],
    populations: dict[str, float] | None = None,
) -> Sequence[MunicipalityRow]:
    """Give every listed municipality its boundary (EPSG:4326); populations fill gaps only."""
    rows = list_municipalities(session=session, scenario_id=scenario_id)
    for row in rows:
        geom = boundaries.get(row.code)
        if geom is None:
            continue
        row.geom = geom
        for key, value in bounds_columns(geom).items():
            setattr(row, key, value)
        population = (populations or {}).get(row.code)
        if row.population is None and population is not None and population == population:
            row.population = float(population)
    session.flush()
    return rows


def replace_depots(
    *, session: Session, scenario_id: int, depots: Iterable[dict[str, Any]]
) -> list[Depot]:
    """Replace every depot of a scenario (keyword arguments of `add_depot` per depot)."""
    session.execute(delete(Depot).where(Depot.scenario_id == scenario_id))
    return [add_depot(session=session, scenario_id=scenario_id, **d) for d in depots]


def get_network_source(*, session: Session, scenario_id: int) -> RoadNetworkSource | None:
    """The road network source of a scenario, if one was given."""
    return session.get(RoadNetworkSource, scenario_id)


def set_network_source(
    *,
    session: Session,
    scenario_id: int,
    source: str,
    file_name: str,
    file_path: str | None,
    sha256: str,
    options: dict[str, Any],
    summary: dict[str, Any],
) -> RoadNetworkSource:
    """Insert or replace the road network source of a scenario."""
    row = session.get(RoadNetworkSource, scenario_id)
    if row is None:
        row = RoadNetworkSource(scenario_id=scenario_id)
        session.add(row)
    row.source = source
    row.file_name = file_name
    row.file_path = file_path
    row.sha256 = sha256
    row.options = options
    row.summary = summary
    row.updated_at = utcnow()
    session.flush()
    return row


def get_planning_settings(*, session: Session, scenario_id: int) -> dict[str, Any]:
    """A scenario's stored planning settings (a settings TOML as JSON; {}: the defaults)."""
    row = session.get(PlanningSettingsRow, scenario_id)
    return dict(row.settings) if row is not None else {}


def set_planning_settings(
    *, session: Session, scenario_id: int, settings: dict[str, Any]
) -> PlanningSettingsRow:
    """Insert or replace the planning settings of a scenario."""
    row = session.get(PlanningSettingsRow, scenario_id)
    if row is None:
        row = PlanningSettingsRow(scenario_id=scenario_id)
        session.add(row)
    row.settings = settings
    row.updated_at = utcnow()
    session.flush()
    return row


def get_scenario(*, session: Session, scenario_id: int, lang: Lang = "en") -> Scenario:
    """The scenario, or a 404 ServiceError worded in ``lang``."""
    scenario = session.get(Scenario, scenario_id)
    if scenario is None:
        message = t("scenario_not_found", lang).format(scenario=scenario_id)
        raise ServiceError(404, "not-found", message)
    return scenario


def list_scenarios(
    *, session: Session, offset: int = 0, limit: int = 100
) -> tuple[Sequence[Scenario], int]:
    """A page of scenarios (oldest first) and the total count."""
    count = session.scalar(select(func.count()).select_from(Scenario)) or 0
    rows = session.scalars(select(Scenario).order_by(Scenario.id).offset(offset).limit(limit))
    return rows.all(), count


def scenario_counts(*, session: Session, scenario_id: int) -> tuple[int, int]:
    """(asset count, layer count) of a scenario."""
    assets = session.scalar(
        select(func.count()).select_from(Asset).where(Asset.scenario_id == scenario_id)
    )
    layers = session.scalar(
        select(func.count()).select_from(AssetLayer).where(AssetLayer.scenario_id == scenario_id)
    )
    return int(assets or 0), int(layers or 0)


def update_scenario(
    *, session: Session, scenario: Scenario, scenario_in: ScenarioUpdate, replace: bool
) -> Scenario:
    """Apply changes if `scenario_in.version` is current; otherwise 409 `version-conflict`.

    The mapper's version column also guards the UPDATE itself, so two writers that both read
    the same version cannot both succeed.
    """
    if scenario_in.version != scenario.version:
        raise ServiceError(
            409,
            "version-conflict",
            f"scenario {scenario.id} is at version {scenario.version}, "
            f"the request was based on version {scenario_in.version}; reload and retry",
            details={"current_version": scenario.version},
        )
    changes = scenario_in.model_dump(exclude={"version"}, exclude_unset=not replace)
    empty: dict[str, Any] = {"municipalities": [], "settings": {}, "description": ""}
    for key, value in changes.items():
        if value is None and key == "name":
            continue
        setattr(scenario, key, empty[key] if value is None and key in empty else value)
    session.flush()
    if "municipalities" in changes:
        sync_municipalities(session=session, scenario=scenario)
    return scenario


def touch_scenario(*, session: Session, scenario_id: int) -> None:
    """Bump a scenario's version after its data changed (caches keyed on the version expire)."""
    scenario = get_scenario(session=session, scenario_id=scenario_id)
    scenario.updated_at = utcnow()
    session.flush()


def delete_scenario(*, session: Session, scenario: Scenario) -> None:
    """Delete a scenario and, by cascade, its layers, assets, plans, regions and routes."""
    session.delete(scenario)
    session.flush()


# -- assets ------------------------------------------------------------------------------------


def add_layer(
    *,
    session: Session,
    scenario_id: int,
    name: str,
    municipality_code: str = "",
    municipality: str = "",
    field: str = "",
    kind: str = "",
    features: Iterable[dict[str, Any]],
) -> AssetLayer:
    """Insert a layer and its assets.

    Each feature dict holds `geometry` (shapely, EPSG:4326), `asset_id`, `municipality_code`,
    `municipality`, `field`, `kind`, `name` and `properties`.
    """
    layer = AssetLayer(
        scenario_id=scenario_id,
        name=name,
        municipality_code=municipality_code,
        municipality=municipality,
        field=field,
        kind=kind,
    )
    session.add(layer)
    session.flush()
    count = 0
    batch: list[Asset] = []
    for feature in features:
        geom = feature["geometry"]
        batch.append(
            Asset(
                scenario_id=scenario_id,
                layer_id=layer.id,
                asset_id=str(feature.get("asset_id", "")),
                municipality_code=str(feature.get("municipality_code", "")),
                municipality=str(feature.get("municipality", "")),
                field=str(feature.get("field", "")),
                kind=str(feature.get("kind", "")),
                name=str(feature.get("name", "") or ""),
                properties=dict(feature.get("properties", {})),
                geom=geom,
                **bounds_columns(geom),
            )
        )
        count += 1
        if len(batch) >= 1000:
            session.add_all(batch)
            session.flush()
            batch = []
    session.add_all(batch)
    layer.feature_count = count
    session.flush()
    return layer


def list_layers(*, session: Session, scenario_id: int) -> Sequence[AssetLayer]:
    """The layers of a scenario."""
    query = select(AssetLayer).where(AssetLayer.scenario_id == scenario_id).order_by(AssetLayer.id)
    return session.scalars(query).all()


def delete_layer(*, session: Session, scenario_id: int, layer_id: int) -> None:
    """Delete one layer and its assets, or 404."""
    layer = session.get(AssetLayer, layer_id)
    if layer is None or layer.scenario_id != scenario_id:
        raise not_found("layer", layer_id)
    network = session.get(RoadNetworkSource, scenario_id)
    if network is not None and network.options.get("from_layer") == layer_id:
        raise ServiceError(
            409,
            "layer-in-use",
            f"layer {layer_id} is the road layer of the scenario's network: PUT another"
            " network first",
        )
    session.execute(delete(Asset).where(Asset.layer_id == layer_id))
    session.delete(layer)
    session.flush()
    touch_scenario(session=session, scenario_id=scenario_id)


def list_assets(
    *, session: Session, scenario_id: int, layer_id: int | None = None
) -> Sequence[Asset]:
    """Every asset of a scenario (or of one of its layers), in insertion order."""
    query = select(Asset).where(Asset.scenario_id == scenario_id)
    if layer_id is not None:
        query = query.where(Asset.layer_id == layer_id)
    return session.scalars(query.order_by(Asset.id)).all()


def add_depot(
    *,
    session: Session,
    scenario_id: int,
    depot_id: str,
    geom: BaseGeometry,
    name: str = "",
    municipality_code: str = "",
    kind: str = "town",
    properties: dict[str, Any] | None = None,
) -> Depot:
    """Insert a depot."""
    depot = Depot(
        scenario_id=scenario_id,
        depot_id=depot_id,
        name=name,
        municipality_code=municipality_code,
        kind=kind,
        properties=properties or {},
        geom=geom,
        **bounds_columns(geom),
    )
    session.add(depot)
    session.flush()
    return depot


def list_depots(*, session: Session, scenario_id: int) -> Sequence[Depot]:
    """The depots of a scenario."""
    query = select(Depot).where(Depot.scenario_id == scenario_id).order_by(Depot.id)
    return session.scalars(query).all()


# -- plans, regions, routes --------------------------------------------------------------------


def create_plan(
    *,
    session: Session,
    scenario_id: int,
    kind: str,
    name: str = "",
    parameters: dict[str, Any] | None = None,
    summary: dict[str, Any] | None = None,
    result: dict[str, Any] | None = None,
    job_id: str | None = None,
) -> Plan:
    """Insert a plan."""
    plan = Plan(
        scenario_id=scenario_id,
        kind=kind,
        name=name,
        parameters=parameters or {},
        summary=summary or {},
        result=result or {},
        job_id=job_id,
    )
    session.add(plan)
    session.flush()
    return plan


def get_plan(*, session: Session, plan_id: int, scenario_id: int | None = None) -> Plan:
    """The plan (of the scenario when given), or 404."""
    plan = session.get(Plan, plan_id)
    if plan is None or (scenario_id is not None and plan.scenario_id != scenario_id):
        raise not_found("plan", plan_id)
    return plan


def list_plans(*, session: Session, scenario_id: int, kind: str | None = None) -> Sequence[Plan]:
    """The plans of a scenario, newest first, optionally of one kind."""
    query = select(Plan).where(Plan.scenario_id == scenario_id)
    if kind is not None:
        query = query.where(Plan.kind == kind)
    return session.scalars(query.order_by(Plan.id.desc())).all()


def latest_plan(*, session: Session, scenario_id: int, kind: str) -> Plan | None:
    """The newest plan of a kind in a scenario."""
    query = (
        select(Plan)
        .where(Plan.scenario_id == scenario_id, Plan.kind == kind)
        .order_by(Plan.id.desc())
        .limit(1)
    )
    return session.scalars(query).first()


def add_region(
    *,
    session: Session,
    plan: Plan,
    code: str,
    name: str = "",
    municipalities: list[Any] | None = None,
    properties: dict[str, Any] | None = None,
    geom: BaseGeometry | None = None,
) -> Region:
    """Insert a region of a plan."""
    region = Region(
        plan_id=plan.id,
        scenario_id=plan.scenario_id,
        code=code,
        name=name or code,
        municipalities=municipalities or [],
        properties=properties or {},
        geom=geom,
        **bounds_columns(geom),
    )
    session.add(region)
    session.flush()
    return region


def get_region(*, session: Session, region_id: int) -> Region:
    """The region, or 404."""
    region = session.get(Region, region_id)
    if region is None:
        raise not_found("region", region_id)
    return region


def list_regions(*, session: Session, plan_id: int) -> Sequence[Region]:
    """The regions of a plan."""
    query = select(Region).where(Region.plan_id == plan_id).order_by(Region.id)
    return session.scalars(query).all()


def add_route(
    *,
    session: Session,
    plan: Plan,
    region_id: int | None,
    crew: str,
    day: int,
    geom: BaseGeometry | None,
    steps: list[Any] | None = None,
    properties: dict[str, Any] | None = None,
    service_date: dt.date | None = None,
) -> Route:
    """Insert one crew-day route of a plan."""
    route = Route(
        plan_id=plan.id,
        scenario_id=plan.scenario_id,
        region_id=region_id,
        crew=crew,
        day=day,
        service_date=service_date,
        steps=steps or [],
        properties=properties or {},
        geom=geom,
        **bounds_columns(geom),
    )
    session.add(route)
    session.flush()
    return route


def get_route(*, session: Session, route_id: int) -> Route:
    """The route, or 404."""
    route = session.get(Route, route_id)
    if route is None:
        raise not_found("route", route_id)
    return route


def list_routes(
    *,
    session: Session,
    plan_id: int | None = None,
    region_id: int | None = None,
    day: int | None = None,
    service_date: dt.date | None = None,
    crew: str | None = None,
    steps: bool = True,
) -> Sequence[Route]:
    """Routes filtered by plan, region, day, date and crew, ordered by region, day, crew.

    With `steps=False` the (large) step lists and geometries are not loaded until touched.
    """
    conditions: list[ColumnElement[bool]] = []
    if plan_id is not None:
        conditions.append(Route.plan_id == plan_id)
    if region_id is not None:
        conditions.append(Route.region_id == region_id)
    if day is not None:
        conditions.append(Route.day == day)
    if service_date is not None:
        conditions.append(Route.service_date == service_date)
    if crew is not None:
        conditions.append(Route.crew == crew)
    query = select(Route).where(*conditions).order_by(Route.region_id, Route.day, Route.crew)
    if not steps:
        query = query.options(defer(Route.steps), defer(Route.geom))
    return session.scalars(query).all()


# -- jobs --------------------------------------------------------------------------------------


def create_job(
    *,
    session: Session,
    job_id: str,
    process_id: str,
    inputs: dict[str, Any],
    scenario_id: int | None = None,
    created_by: int | None = None,
) -> Job:
    """Insert a job in status `accepted`."""
    job = Job(
        id=job_id,
        process_id=process_id,
        inputs=inputs,
        scenario_id=scenario_id,
        created_by=created_by,
        status="accepted",
        progress=0,
        message="accepted",
    )
    session.add(job)
    session.flush()
    return job


def get_job(*, session: Session, job_id: str, lang: Lang = "en") -> Job:
    """The job, or 404 `no-such-job` worded in ``lang``."""
    job = session.get(Job, job_id)
    if job is None:
        raise ServiceError(404, "no-such-job", t("job_not_found", lang).format(job=job_id))
    return job


def list_jobs(*, session: Session, limit: int = 100, status: str | None = None) -> Sequence[Job]:
    """Jobs, newest first."""
    query = select(Job)
    if status is not None:
        query = query.where(Job.status == status)
    return session.scalars(query.order_by(Job.created_at.desc()).limit(limit)).all()


def fail_unfinished_jobs(*, session: Session, message: str) -> int:
    """Mark every accepted or running job failed (after a crash); returns how many."""
    result = session.execute(
        update(Job)
        .where(Job.status.in_(("accepted", "running")))
        .values(status="failed", message=message, finished_at=utcnow(), updated_at=utcnow())
    )
    session.flush()
    return int(getattr(result, "rowcount", 0) or 0)


# -- API keys ----------------------------------------------------------------------------------


def create_api_key(
    *, session: Session, role: str, name: str = "", region_ids: Sequence[int] = ()
) -> tuple[ApiKey, str]:
    """Insert a key and return it with its secret (shown once, only its hash is stored)."""
    if role not in auth.ROLES:
        raise ServiceError(422, "invalid-role", f"role {role!r} is not one of {auth.ROLES}")
    if role == "contractor" and not region_ids:
        raise ServiceError(422, "regions-required", "a contractor key needs at least one region id")
    for region_id in region_ids:
        if session.get(Region, region_id) is None:
            raise ServiceError(422, "unknown-region", f"region {region_id} not found")
    key, prefix = auth.generate_key()
    salt = auth.new_salt()
    row = ApiKey(
        name=name,
        role=role,
        prefix=prefix,
        salt=salt,
        key_hash=auth.hash_key(key, salt),
        region_ids=sorted(set(region_ids)),
        active=True,
    )
    session.add(row)
    session.flush()
    return row, key


def find_api_key(*, session: Session, key: str) -> ApiKey | None:
    """The active key row matching `key`, or None."""
    prefix = auth.key_prefix(key)
    if prefix is None:
        return None
    rows = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix, ApiKey.active))
    for row in rows:
        if auth.key_matches(key, row.salt, row.key_hash):
            return row
    return None


def list_api_keys(*, session: Session) -> Sequence[ApiKey]:
    """Every key (without secrets)."""
    return session.scalars(select(ApiKey).order_by(ApiKey.id)).all()


def revoke_api_key(*, session: Session, key_id: int) -> ApiKey:
    """Deactivate a key, or 404."""
    row = session.get(ApiKey, key_id)
    if row is None:
        raise not_found("API key", key_id)
    row.active = False
    session.flush()
    return row
