"""The scenario wizard pages: a town brings its own data (`/scenarios/new`, `/scenarios/{id}/edit`).

The page is a client of the API (session cookie + ``X-Requested-With``): it creates the
scenario, adds towns and their boundary file, previews and maps asset files, builds the road
network, places depots on the map and starts the planning jobs, polling their progress. The
server renders the page with what is already stored so a half-built scenario can be resumed.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from gis_data.loading.schema import FIELDS, KNOWN_KINDS
from service import auth, crud
from service.api.maps import PageKey, page_tiles, require
from service.depot_import import depot_feature
from service.deps import SessionDep
from service.i18n import check_lang, other_lang
from service.map_data import is_n03
from service.maps import STATIC_PREFIX, attribution_lines
from service.models import Asset
from service.road_network import network_public
from service.schemas import LayerPublic
from service.templating import render_template
from service.town_boundaries import municipality_public
from service.wizard_labels import wizard_labels

router = APIRouter(tags=["pages"], include_in_schema=False)

Lang = Annotated[str, Query(pattern="^(ja|en)$")]
# Planning jobs the page starts (the API has more; these need no earlier plan).
PAGE_JOB_KINDS = ("summary", "regions", "routes")
# Source columns mappable on the page, in the order shown (see gis_data.loading.schema).
MAPPED_COLUMNS = ("asset_id", "name", "kind", "patrol_interval_days", "service_minutes", "side")


def _layer_columns(session: SessionDep, layer_id: int) -> list[str]:
    """The attribute columns a stored layer kept (its first asset's properties)."""
    query = select(Asset.properties).where(Asset.layer_id == layer_id).limit(1)
    properties = session.scalars(query).first() or {}
    return sorted(str(k) for k in properties)


def _page(request: Request, session: SessionDep, scenario_id: int | None, lang: str) -> str:
    language = check_lang(lang)
    scenario: dict[str, Any] | None = None
    layers: list[dict[str, Any]] = []
    depots: list[dict[str, Any]] = []
    network: dict[str, Any] | None = None
    codes: list[str] = []
    if scenario_id is not None:
        row = crud.get_scenario(session=session, scenario_id=scenario_id)
        towns = [
            municipality_public(m)
            for m in crud.list_municipalities(session=session, scenario_id=row.id)
        ]
        codes = [t["code"] for t in towns]
        scenario = {"id": row.id, "name": row.name, "version": row.version, "towns": towns}
        for layer in crud.list_layers(session=session, scenario_id=row.id):
            public = LayerPublic.model_validate(layer).model_dump(mode="json")
            layers.append({**public, "columns": _layer_columns(session, layer.id)})
        depots = [depot_feature(d) for d in crud.list_depots(session=session, scenario_id=row.id)]
        if crud.get_network_source(session=session, scenario_id=row.id) is not None:
            network = network_public(session, row.id)
    tiles = page_tiles(request)
    texts = wizard_labels(language)
    config = {
        "lang": language,
        "api": request.app.state.settings.API_PREFIX,
        "ogc": request.app.state.settings.OGC_PREFIX,
        "scenario": scenario,
        "layers": layers,
        "depots": depots,
        "network": network,
        "fields": list(FIELDS),
        "kinds": list(KNOWN_KINDS),
        "mapped": list(MAPPED_COLUMNS),
        "jobKinds": list(PAGE_JOB_KINDS),
        "tiles": {"url": tiles.url, "attribution": tiles.attribution, "maxZoom": tiles.max_zoom},
        "labels": texts,
    }
    return render_template(
        "scenario_wizard.html",
        lang=language,
        other_lang=other_lang(language),
        t=texts,
        scenario=scenario,
        # Inside <script type="application/json">: no "<" may close the element ("<" only
        # occurs inside JSON strings, where \u003c means the same).
        config=json.dumps(config, ensure_ascii=False).replace("<", "\\u003c"),
        static=STATIC_PREFIX,
        attributions=attribution_lines(n03=is_n03(codes)),
        map=None,
    )


@router.get("/scenarios/new", response_class=HTMLResponse)
def new_scenario_page(
    request: Request, session: SessionDep, principal: PageKey, lang: Lang = "ja"
) -> HTMLResponse:
    """Step 1 of the wizard: name the scenario and list its towns (code, name, population)."""
    require(principal, auth.WRITE_PLANS)
    return HTMLResponse(_page(request, session, None, lang))


@router.get("/scenarios/{scenario_id}/edit", response_class=HTMLResponse)
def edit_scenario_page(
    request: Request, scenario_id: int, session: SessionDep, principal: PageKey, lang: Lang = "ja"
) -> HTMLResponse:
    """The wizard on a stored scenario: boundaries, assets, network, depots, planning jobs."""
    require(principal, auth.WRITE_PLANS)
    return HTMLResponse(_page(request, session, scenario_id, lang))
