"""Scenarios: create, list, read, replace/patch with a version check, delete."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from service import crud
from service.deps import PlannerKey, SessionDep, SettingsDep
from service.models import Scenario
from service.schemas import (
    ScenarioCreate,
    ScenarioPublic,
    ScenariosPublic,
    ScenarioUpdate,
)

router = APIRouter(prefix="/scenarios", tags=["scenarios"])


def scenario_public(session: SessionDep, scenario: Scenario) -> ScenarioPublic:
    """A scenario with its asset and layer counts."""
    assets, layers = crud.scenario_counts(session=session, scenario_id=scenario.id)
    public = ScenarioPublic.model_validate(scenario)
    return public.model_copy(update={"asset_count": assets, "layer_count": layers})


@router.get("", response_model=ScenariosPublic)
def list_scenarios(
    session: SessionDep,
    _principal: PlannerKey,
    offset: int = Query(default=0, ge=0),
    limit: int = Query(default=100, ge=1, le=1000),
) -> ScenariosPublic:
    """A page of scenarios."""
    rows, count = crud.list_scenarios(session=session, offset=offset, limit=limit)
    return ScenariosPublic(data=[scenario_public(session, s) for s in rows], count=count)


@router.post("", response_model=ScenarioPublic, status_code=201)
def create_scenario(
    scenario_in: ScenarioCreate,
    session: SessionDep,
    settings: SettingsDep,
    _principal: PlannerKey,
    response: Response,
) -> ScenarioPublic:
    """Create a scenario."""
    scenario = crud.create_scenario(session=session, scenario_in=scenario_in)
    session.commit()
    response.headers["Location"] = f"{settings.API_PREFIX}/scenarios/{scenario.id}"
    return scenario_public(session, scenario)


@router.get("/{scenario_id}", response_model=ScenarioPublic)
def get_scenario(scenario_id: int, session: SessionDep, _principal: PlannerKey) -> ScenarioPublic:
    """One scenario."""
    return scenario_public(session, crud.get_scenario(session=session, scenario_id=scenario_id))


@router.put("/{scenario_id}", response_model=ScenarioPublic)
def replace_scenario(
    scenario_id: int, scenario_in: ScenarioUpdate, session: SessionDep, _principal: PlannerKey
) -> ScenarioPublic:
    """Replace a scenario's fields; `version` must be the current one (else 409)."""
    scenario = crud.get_scenario(session=session, scenario_id=scenario_id)
    crud.update_scenario(session=session, scenario=scenario, scenario_in=scenario_in, replace=True)
    session.commit()
    return scenario_public(session, scenario)


@router.patch("/{scenario_id}", response_model=ScenarioPublic)
def patch_scenario(
    scenario_id: int, scenario_in: ScenarioUpdate, session: SessionDep, _principal: PlannerKey
) -> ScenarioPublic:
    """Change some of a scenario's fields; `version` must be the current one (else 409)."""
    scenario = crud.get_scenario(session=session, scenario_id=scenario_id)
    crud.update_scenario(session=session, scenario=scenario, scenario_in=scenario_in, replace=False)
    session.commit()
    return scenario_public(session, scenario)


@router.delete("/{scenario_id}", status_code=204)
def delete_scenario(scenario_id: int, session: SessionDep, _principal: PlannerKey) -> Response:
    """Delete a scenario with its layers, plans, regions and routes."""
    scenario = crud.get_scenario(session=session, scenario_id=scenario_id)
    crud.delete_scenario(session=session, scenario=scenario)
    session.commit()
    return Response(status_code=204)
