"""A scenario assembled from its stored rows: towns with boundaries, assets, depots, network.

Every planning job reads its scenario here, so a scenario built only through the API plans
what a scenario TOML does. Scenarios stored before the rows existed (imported TOMLs with no
municipality boundaries) still fall back to their TOML.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely
from sqlalchemy.orm import Session

from gis_data.loading.errors import AssetValidationError
from gis_data.loading.load import Scenario, load_scenario, scenario_from_tables
from gis_data.loading.schema import ASSET_CRS
from gis_data.planning.plan_settings import road_class_setting
from gis_data.planning.road_classes import RoadClassSetting, classify_roads
from service import crud
from service.frames import assets_frame


class IncompleteScenarioError(ValueError):
    """The stored scenario lacks what a job needs (boundaries, network, assets); says what."""


def municipalities_frame(session: Session, scenario_id: int) -> gpd.GeoDataFrame:
    """The scenario's municipalities as a gis_data table (code, name, population, boundary)."""
    rows = crud.list_municipalities(session=session, scenario_id=scenario_id)
    return gpd.GeoDataFrame(
        {
            "municipality_code": [r.code for r in rows],
            "municipality": [r.name or r.code for r in rows],
            "population": [float("nan") if r.population is None else r.population for r in rows],
            "population_year": [r.population_year for r in rows],
        },
        geometry=[r.geom for r in rows],
        crs=ASSET_CRS,
    )


def depots_frame(session: Session, scenario_id: int, towns: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Stored depots; a town without a town depot starts from a point inside its boundary,
    as a scenario TOML without `depot` does."""
    depots = crud.list_depots(session=session, scenario_id=scenario_id)
    records: list[tuple[str, str, str, str, Any]] = [
        (d.depot_id, d.municipality_code, d.kind, d.name, d.geom) for d in depots
    ]
    with_depot = {code for _, code, kind, _, _ in records if kind == "town"}
    for row in towns.itertuples(index=False):
        if row.municipality_code not in with_depot and row.geometry is not None:
            records.append(
                (
                    f"depot-{row.municipality_code}",
                    str(row.municipality_code),
                    "town",
                    f"{row.municipality} town depot",
                    shapely.point_on_surface(row.geometry),
                )
            )
    return gpd.GeoDataFrame(
        {
            "depot_id": [r[0] for r in records],
            "municipality_code": [r[1] for r in records],
            "kind": [r[2] for r in records],
            "name": [r[3] for r in records],
        },
        geometry=[r[4] for r in records],
        crs=ASSET_CRS,
    )


def stored_road_classes(session: Session, scenario_id: int) -> RoadClassSetting | None:
    """The scenario's road class setting (stored planning settings), None for the defaults."""
    data = crud.get_planning_settings(session=session, scenario_id=scenario_id)
    try:
        return road_class_setting(data, where="planning settings")
    except ValueError as exc:
        raise IncompleteScenarioError(str(exc)) from None


def _no_class_errors(scenario_id: int, problems: list[Any]) -> None:
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise IncompleteScenarioError(
            f"scenario {scenario_id}: {'; '.join(p.message for p in errors)}"
            " (set road_classes.column in the planning settings)"
        )


def load_stored_scenario(session: Session, scenario_id: int, *, need_network: bool) -> Scenario:
    """The scenario of the stored rows, ready for every planning workflow.

    Raises IncompleteScenarioError naming what is missing: assets, a boundary per town (for the
    network area and the town depots) or, with ``need_network``, the road network.
    """
    row = crud.get_scenario(session=session, scenario_id=scenario_id)
    assets = assets_frame(session, scenario_id)
    if assets.empty:
        raise IncompleteScenarioError(f"scenario {scenario_id} has no assets: upload some first")
    towns = municipalities_frame(session, scenario_id)
    network = crud.get_network_source(session=session, scenario_id=scenario_id)
    source = row.source_config
    road_classes = stored_road_classes(session, scenario_id)
    has_boundaries = bool(len(towns)) and towns.geometry.notna().all()
    if network is None and not has_boundaries and source and Path(source).is_file():
        # Stored before municipalities and networks were rows: its TOML has them.
        classified, problems = classify_roads(assets, road_classes)
        _no_class_errors(scenario_id, problems)
        loaded = load_scenario(source, road_classes=False)
        return dataclasses.replace(loaded, assets=classified, warnings=loaded.warnings + problems)
    if need_network:
        if network is None:
            raise IncompleteScenarioError(
                f"scenario {scenario_id} has no road network: PUT /scenarios/{scenario_id}/network"
                " with an OSM file or a road layer first"
            )
        missing = [str(c) for c, g in zip(towns["municipality_code"], towns.geometry, strict=True)
                   if g is None]  # fmt: skip
        if missing or towns.empty:
            raise IncompleteScenarioError(
                f"scenario {scenario_id} has no boundary for {', '.join(missing) or 'any town'}:"
                f" PUT /scenarios/{scenario_id}/boundaries first"
            )
    options = dict(network.options) if network is not None else {}
    lines = None
    if options.get("from_layer") is not None:
        lines = assets_frame(session, scenario_id, layer_id=int(options["from_layer"]))
    if not has_boundaries:
        # Straight-line regions need no town polygons; half a list of them would mislead.
        towns = towns.iloc[0:0]
    try:
        return scenario_from_tables(
            name=row.name,
            assets=assets,
            municipalities=towns,
            depots=depots_frame(session, scenario_id, towns),
            network_path=Path(network.file_path)
            if network is not None and network.file_path
            else None,
            network_buffer_m=float(options.get("buffer_m", 1000.0)),
            network_options=options,
            network_lines=lines,
            road_classes=road_classes,
        )
    except AssetValidationError as exc:
        _no_class_errors(scenario_id, exc.problems)
        raise
