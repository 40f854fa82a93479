"""A scenario's planning settings (the tables of a settings TOML as JSON), road classes included."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from gis_data.planning.plan_settings import settings_from_mapping
from service import crud
from service.deps import PlannerKey, SessionDep
from service.errors import ServiceError

router = APIRouter(prefix="/scenarios/{scenario_id}", tags=["scenarios"])

_EXAMPLE = {
    "horizon": "FY2026",
    "road_classes": {
        "column": "道路種別",
        "classes": {"1級": "arterial_road", "2級": "local_road", "その他": "local_road"},
        "speeds_kmh": {"1級": 15},
    },
}


@router.get("/settings")
def get_settings(scenario_id: int, session: SessionDep, _principal: PlannerKey) -> dict[str, Any]:
    """The stored planning settings ({}: every default, see gis_data.planning.plan_settings)."""
    crud.get_scenario(session=session, scenario_id=scenario_id)
    return crud.get_planning_settings(session=session, scenario_id=scenario_id)


@router.put("/settings")
def put_settings(
    scenario_id: int,
    session: SessionDep,
    _principal: PlannerKey,
    body: Annotated[dict[str, Any], Body(openapi_examples={"road classes": {"value": _EXAMPLE}})],
) -> dict[str, Any]:
    """Replace the planning settings: calendar, work days, costs, phases, report, cooperation,
    cost_share, budget, maintenance and `road_classes` (`column`, `classes` value -> arterial_road
    | local_road, `speeds_kmh` value -> patrol speed). 422 `invalid-settings` names the bad key;
    nothing changes then. Jobs started afterwards plan with them."""
    crud.get_scenario(session=session, scenario_id=scenario_id)
    try:
        settings_from_mapping(body, where="settings")
    except (TypeError, ValueError) as exc:
        raise ServiceError(422, "invalid-settings", str(exc)) from None
    crud.set_planning_settings(session=session, scenario_id=scenario_id, settings=body)
    crud.touch_scenario(session=session, scenario_id=scenario_id)
    session.commit()
    return body
