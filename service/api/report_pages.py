"""The 実施方針 of a scenario as a page, with downloads: ``/scenarios/{id}/report``.

Built from what the scenario stores: its latest effect estimate (required; run the ``effects``
job first), its latest cost shares (optional), its intake, planning settings, municipalities,
depots and assets, through `gis_data.workbench.report` (the same document as `gunmane report`).
``?format=`` ``html`` (the page, default), ``md``, ``docx`` or ``xlsx`` downloads the document.
``?lang=ja|en`` sets the page's navigation and download labels (`service.report_labels`); the
document is Japanese on both.
"""

from __future__ import annotations

import tempfile
from html import escape
from pathlib import Path
from typing import Annotated

import geopandas as gpd
from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from gis_data.loading.schema import ASSET_CRS
from gis_data.planning.cost_share import shares_from_json
from gis_data.planning.effects import estimate_from_json
from gis_data.planning.plan_settings import settings_from_mapping
from gis_data.workbench import report_doc as rd
from gis_data.workbench.report import ReportInputs, build_document, region_map_png, write_xlsx
from service import auth, crud
from service.api.maps import PageKey, require
from service.deps import SessionDep
from service.errors import ServiceError
from service.frames import assets_frame
from service.i18n import Lang, other_lang
from service.report_labels import report_labels
from service.workbench import get_intake

router = APIRouter(tags=["pages"], include_in_schema=False)

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FIELDS = ("road", "river", "park", "sewer", "other")


def _inputs(session: SessionDep, scenario_id: int) -> ReportInputs:
    scenario = crud.get_scenario(session=session, scenario_id=scenario_id)
    effects_plan = crud.latest_plan(session=session, scenario_id=scenario_id, kind="effects")
    if effects_plan is None or "effects" not in effects_plan.result:
        raise ServiceError(
            404,
            "no-effect-estimate",
            f"scenario {scenario_id} has no effect estimate yet: run the effects job first",
        )
    settings = settings_from_mapping(
        crud.get_planning_settings(session=session, scenario_id=scenario_id),
        where="planning settings",
    )
    effects = estimate_from_json(effects_plan.result["effects"], settings.costs)
    shares_plan = crud.latest_plan(session=session, scenario_id=scenario_id, kind="cost_shares")
    shares = (
        shares_from_json(shares_plan.result["shares"])
        if shares_plan is not None and "shares" in shares_plan.result
        else None
    )
    rows = crud.list_municipalities(session=session, scenario_id=scenario_id)
    names = {r.code: r.name or r.code for r in rows}
    populations = {r.code: float(r.population) if r.population else float("nan") for r in rows}
    with_boundary = [r for r in rows if r.geom is not None]
    municipalities = gpd.GeoDataFrame(
        {
            "municipality_code": [r.code for r in with_boundary],
            "municipality": [names[r.code] for r in with_boundary],
        },
        geometry=[r.geom for r in with_boundary],
        crs=ASSET_CRS,
    )
    depot_rows = crud.list_depots(session=session, scenario_id=scenario_id)
    depots = gpd.GeoDataFrame(
        {"depot_id": [d.depot_id for d in depot_rows], "kind": [d.kind for d in depot_rows]},
        geometry=[d.geom for d in depot_rows],
        crs=ASSET_CRS,
    )
    assets = assets_frame(session, scenario_id)
    present = set(assets["field"].astype(str)) if len(assets) else set()
    intake = get_intake(session, scenario_id)
    return ReportInputs(
        scenario_name=scenario.name,
        town_names=names,
        populations=populations,
        fields_present=tuple(f for f in FIELDS if f in present),
        effects=effects,
        settings=settings,
        municipalities=municipalities,
        depots=depots,
        shares=shares,
        intake=intake if (intake.staff or intake.orders) else None,
        assets=assets if len(assets) else None,
    )


def _chrome(lang: Lang) -> str:
    """The page's navigation and download bar in ``lang`` (the document stays Japanese)."""
    t = report_labels(lang)
    other = other_lang(lang)
    links = " ".join(
        f'<a href="?format={fmt}" download>{escape(t[f"rp_{fmt}"])}</a>'
        for fmt in ("md", "docx", "xlsx", "html")
    )
    note = f'<p class="lang-note">{escape(t["rp_ja_document"])}</p>' if lang != "ja" else ""
    return (
        f'<nav class="report-chrome" lang="{lang}">'
        f'<a href="/?lang={lang}" class="home-link">{escape(t["back_to_start"])}</a> | '
        f'<a href="?lang={other}" class="lang-switch" data-lang="{other}">'
        f"{escape(t['language'])}</a>"
        f'<div class="downloads" aria-label="{escape(t["rp_downloads"])}">'
        f"{escape(t['rp_downloads'])}：{links}</div>{note}</nav>"
    )


@router.get("/scenarios/{scenario_id}/report", response_class=HTMLResponse)
def report_page(
    scenario_id: int,
    session: SessionDep,
    principal: PageKey,
    format: Annotated[str, Query(pattern="^(html|md|docx|xlsx)$")] = "html",
    lang: Lang = "ja",
) -> Response:
    """The 実施方針 of the scenario, or one of its downloads; ``lang`` sets the page's chrome."""
    require(principal, auth.READ_PLANS)
    inputs = _inputs(session, scenario_id)
    png = region_map_png(inputs) if len(inputs.municipalities) else None
    doc = build_document(inputs, map_png=png)
    stem = f"jisshi_houshin_{scenario_id}"
    if format == "md":
        return Response(
            rd.render_markdown(doc),
            media_type="text/markdown; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{stem}.md"'},
        )
    if format == "docx":
        return Response(
            rd.render_docx(doc),
            media_type=DOCX,
            headers={"Content-Disposition": f'attachment; filename="{stem}.docx"'},
        )
    if format == "xlsx":
        with tempfile.TemporaryDirectory() as folder:
            data = write_xlsx(inputs, Path(folder) / "report.xlsx").read_bytes()
        return Response(
            data,
            media_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="{stem}.xlsx"'},
        )
    html = rd.render_html(doc)
    # The page is the document with the navigation and download links above it.
    page = html.replace("<body>\n", "<body>\n" + _chrome(lang) + "\n", 1)
    return HTMLResponse(page)
