"""Storing a scenario TOML in the database: the scenario row, one layer per source file, depots."""

from __future__ import annotations

import logging
from pathlib import Path, PurePath

from sqlalchemy.orm import Session

from gis_data.loading.load import load_scenario
from service import crud
from service.frames import asset_features, depot_rows, json_value
from service.models import Scenario
from service.schemas import Municipality, ScenarioCreate

logger = logging.getLogger(__name__)


def import_scenario(*, session: Session, config: str | Path) -> Scenario:
    """Load and validate a scenario TOML (raises with every problem) and store it.

    The TOML path is kept so that planning jobs find its road network and town boundaries.
    """
    path = Path(config).resolve()
    loaded = load_scenario(path)
    municipalities = [
        Municipality(code=str(row.municipality_code), name=str(row.municipality))
        for row in loaded.municipalities.itertuples(index=False)
    ]
    scenario = crud.create_scenario(
        session=session,
        scenario_in=ScenarioCreate(
            name=loaded.name,
            description=str(getattr(loaded.config, "description", "") or ""),
            municipalities=municipalities,
            settings={
                "populations": {
                    str(r.municipality_code): json_value(getattr(r, "population", None))
                    for r in loaded.municipalities.itertuples(index=False)
                }
            },
        ),
        source_config=str(path),
    )
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
    logger.info(
        "stored scenario %s (%s): %d assets, %d depots",
        scenario.id,
        loaded.name,
        len(assets),
        len(loaded.depots),
    )
    return scenario
