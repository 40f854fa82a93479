"""Depots of a scenario (town yards, contractor yards) as a GeoJSON FeatureCollection."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request

from service import crud
from service.depot_import import DEPOTS_BODY_SCHEMA, depot_feature, store_depots
from service.deps import PlannerKey, SessionDep
from service.errors import ServiceError

router = APIRouter(prefix="/scenarios/{scenario_id}", tags=["depots"])

_MEDIA = ("application/geo+json", "application/json")


@router.put(
    "/depots",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {media: {"schema": DEPOTS_BODY_SCHEMA} for media in _MEDIA},
        }
    },
)
async def put_depots(
    scenario_id: int, request: Request, session: SessionDep, _principal: PlannerKey
) -> dict[str, Any]:
    """Replace the scenario's depots: Points with `name`, `kind` (town | contractor) and
    `municipality_code`; 422 `invalid-depots` lists every bad feature and nothing changes."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in _MEDIA:
        raise ServiceError(415, "unsupported-media-type", "send the depots as application/geo+json")
    try:
        body = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ServiceError(400, "invalid-json", f"the body is not JSON: {exc}") from None
    stored = store_depots(session=session, scenario_id=scenario_id, body=body)
    features = [depot_feature(d) for d in stored]
    session.commit()
    return {"type": "FeatureCollection", "features": features, "numberReturned": len(features)}


@router.get("/depots")
def get_depots(scenario_id: int, session: SessionDep, _principal: PlannerKey) -> dict[str, Any]:
    """The scenario's stored depots as GeoJSON."""
    crud.get_scenario(session=session, scenario_id=scenario_id)
    features = [
        depot_feature(d) for d in crud.list_depots(session=session, scenario_id=scenario_id)
    ]
    return {"type": "FeatureCollection", "features": features, "numberReturned": len(features)}
