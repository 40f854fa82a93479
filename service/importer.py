"""Storing a scenario TOML in the database: the scenario row, its municipalities with boundaries
and populations, one layer per source file, depots, the road network source and settings.

After the import every job runs from the stored rows; the TOML path is kept for reference.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tomllib
from pathlib import Path, PurePath
from typing import Any

from sqlalchemy.orm import Session

from gis_data.loading.load import load_scenario
from service import crud
from service.frames import asset_features, depot_rows, json_value
from service.models import Scenario
from service.schemas import Municipality, ScenarioCreate

logger = logging.getLogger(__name__)


def _population_years(path: Path) -> dict[str, int]:
    """`population_year` per municipality code (the loader keeps the figure, not its year)."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {
        str(m["code"]): int(m["population_year"])
        for m in data.get("municipality", [])
        if isinstance(m, dict) and "code" in m and m.get("population_year") is not None
    }


def stored_network_file(source: Path, data_dir: Path | None) -> tuple[str, str]:
    """(path, sha256) of the network file kept for the scenario: a copy under
    ``data_dir``/networks/<sha256>/ when a data folder is given, else the file where it is."""
    digest = hashlib.sha256()
    with source.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    sha = digest.hexdigest()
    if data_dir is None:
        return str(source.resolve()), sha
    target = data_dir / "networks" / sha / source.name
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        shutil.copyfile(source, partial)
        partial.replace(target)
    return str(target.resolve()), sha


def import_scenario(
    *,
    session: Session,
    config: str | Path,
    data_dir: Path | None = None,
    settings: dict[str, Any] | None = None,
) -> Scenario:
    """Load and validate a scenario TOML (raises with every problem) and store it.

    ``data_dir`` receives a copy of the road network file (else the stored source points at the
    file beside the TOML); ``settings`` are the scenario's planning settings (a settings TOML's
    tables), the defaults when None.
    """
    path = Path(config).resolve()
    # Stored as read: every load classifies the roads with the stored setting.
    loaded = load_scenario(path, road_classes=False)
    years = _population_years(path)
    towns = loaded.municipalities
    municipalities = [
        Municipality(
            code=str(row.municipality_code),
            name=str(row.municipality),
            population=None if json_value(row.population) is None else int(row.population),
            population_year=years.get(str(row.municipality_code)),
        )
        for row in towns.itertuples(index=False)
    ]
    scenario = crud.create_scenario(
        session=session,
        scenario_in=ScenarioCreate(
            name=loaded.name,
            description=str(getattr(loaded.config, "description", "") or ""),
            municipalities=municipalities,
        ),
        source_config=str(path),
    )
    boundaries = {
        str(row.municipality_code): row.geometry
        for row in towns.itertuples(index=False)
        if row.geometry is not None
    }
    crud.set_boundaries(session=session, scenario_id=scenario.id, boundaries=boundaries)
    assets = loaded.assets
    groups = assets.groupby(["municipality_code", "municipality", "source_file"], sort=False)
    for (code, name, source), frame in groups:
        fields = sorted(set(frame["field"].astype(str)))
        crud.add_layer(
            session=session,
            scenario_id=scenario.id,
            name=PurePath(str(source)).name,
            municipality_code=str(code),
            municipality=str(name),
            field=fields[0] if len(fields) == 1 else "",
            features=asset_features(frame),
        )
    for values in depot_rows(loaded.depots):
        crud.add_depot(session=session, scenario_id=scenario.id, **values)
    if loaded.network_path is not None:
        file_path, sha = stored_network_file(Path(loaded.network_path), data_dir)
        crud.set_network_source(
            session=session,
            scenario_id=scenario.id,
            source="osm",
            file_name=Path(loaded.network_path).name,
            file_path=file_path,
            sha256=sha,
            options={"buffer_m": float(loaded.network_buffer_m)},
            summary={},
        )
    planning = dict(settings or {})
    own = getattr(loaded.config, "road_classes", None)
    if own is not None and "road_classes" not in planning:
        # The TOML's [road_classes] becomes the stored setting (a settings file's wins).
        planning["road_classes"] = own
    crud.set_planning_settings(session=session, scenario_id=scenario.id, settings=planning)
    logger.info(
        "stored scenario %s (%s): %d assets, %d depots",
        scenario.id,
        loaded.name,
        len(assets),
        len(loaded.depots),
    )
    return scenario
