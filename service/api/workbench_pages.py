"""Workbench pages: ``/workbench?scenario=ID`` for planners and ``/survey/{token}`` for recipients.

The planner page is authenticated like the other pages (the session cookie a ``?key=`` link
leaves, see service.browser_keys) and its scripts call the API with that cookie; the template,
charts and the frontier plot have page-side routes so that plain links and ``<img>`` tags work
in a browser. The survey page needs no key: the token is the link.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from gis_data.workbench.intake import (
    AGE_BANDS,
    AGE_LABELS,
    FIELD_LABELS,
    FIELDS,
    METHOD_LABELS,
    METHODS,
    PROCESS_LABELS,
    PROCESSES,
    TIME_CATEGORIES,
    TIME_LABELS,
    age_pyramid_png,
    ordering_matrix,
    template_xlsx,
    time_split_png,
)
from gis_data.workbench.survey import size_limits
from service import auth, crud
from service.api.maps import PageKey, require
from service.api.workbench import XLSX, survey_summary
from service.deps import SessionDep
from service.i18n import check_lang, other_lang
from service.maps import attribution_lines, render_template
from service.workbench import (
    get_intake,
    list_surveys,
    recipient_by_token,
    scenario_firms,
    scenario_towns,
    survey_questionnaire,
)
from service.workbench_labels import wb_labels

router = APIRouter(tags=["pages"], include_in_schema=False)

Lang = Annotated[str, Query(pattern="^(ja|en)$")]


def _frontier_rows(session: SessionDep, scenario_id: int) -> tuple[int | None, dict[str, Any]]:
    plans = crud.list_plans(session=session, scenario_id=scenario_id, kind="frontier")
    if not plans:
        return None, {}
    latest = max(plans, key=lambda p: p.id)
    return latest.id, dict(latest.result.get("frontier", {}))


@router.get("/workbench", response_class=HTMLResponse)
def workbench_page(
    request: Request,
    session: SessionDep,
    principal: PageKey,
    scenario: Annotated[int, Query()],
    lang: Lang = "ja",
) -> HTMLResponse:
    """The planner's workbench of one scenario."""
    require(principal, auth.WRITE_PLANS)
    language = check_lang(lang)
    idx = 0 if language == "ja" else 1
    row = crud.get_scenario(session=session, scenario_id=scenario)
    intake = get_intake(session, scenario)
    towns = scenario_towns(session, scenario)
    matrix = ordering_matrix(intake.orders)
    scope = matrix.scope()
    firms = scenario_firms(session, scenario)
    frontier_id, frontier = _frontier_rows(session, scenario)
    html = render_template(
        "workbench.html",
        lang=language,
        other_lang=other_lang(language),
        t=wb_labels(language),
        attributions=attribution_lines(n03=False),
        map=None,
        scenario=row,
        towns=towns,
        staff=intake.staff,
        staff_by_code={s.municipality_code: s for s in intake.staff},
        orders_json=json.dumps([o.to_dict() for o in intake.orders], ensure_ascii=False),
        field_choices=[(f, FIELD_LABELS[f][idx]) for f in FIELDS],
        method_choices=[(m, METHOD_LABELS[m][idx]) for m in METHODS],
        ages=[(b, AGE_LABELS[b][idx]) for b in AGE_BANDS],
        times=[(c, TIME_LABELS[c][idx]) for c in TIME_CATEGORIES],
        processes=[(p, PROCESS_LABELS[p][idx], PROCESS_LABELS[p][0]) for p in PROCESSES],
        matrix=[
            (FIELD_LABELS[f][idx], [matrix.cell(f, p) for p in PROCESSES], scope.get(f, []))
            for f in matrix.fields
        ],
        surveys=[survey_summary(session, s) for s in list_surveys(session, scenario)],
        firms=firms,
        size_limit=size_limits(firms).max_crews,
        frontier_id=frontier_id,
        frontier=frontier,
        api=request.app.state.settings.API_PREFIX,
    )
    return HTMLResponse(html)


@router.get("/workbench/template.xlsx")
def page_template(principal: PageKey) -> Response:
    """The intake template for a browser link."""
    require(principal, auth.WRITE_PLANS)
    return Response(
        template_xlsx(),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="workbench.xlsx"'},
    )


@router.get("/workbench/{scenario_id}/charts/{name}.png")
def page_chart(
    scenario_id: int, name: str, session: SessionDep, principal: PageKey, lang: Lang = "ja"
) -> Response:
    """A current-state chart for an ``<img>`` of the page."""
    require(principal, auth.WRITE_PLANS)
    charts = {"age_pyramid": age_pyramid_png, "time_split": time_split_png}
    if name not in charts:
        return Response(status_code=404)
    return Response(
        charts[name](get_intake(session, scenario_id).staff, lang=lang), media_type="image/png"
    )


@router.get("/workbench/frontier/{plan_id}.png")
def page_frontier(
    plan_id: int, session: SessionDep, principal: PageKey, lang: Lang = "ja"
) -> Response:
    """The frontier plot of a stored plan for an ``<img>`` of the page."""
    from gis_data.workbench.frontier import frontier_png

    require(principal, auth.WRITE_PLANS)
    plan = crud.get_plan(session=session, plan_id=plan_id)
    if plan.kind != "frontier" or "frontier" not in plan.result:
        return Response(status_code=404)
    return Response(frontier_png(plan.result["frontier"], lang=lang), media_type="image/png")


@router.get("/survey/{token}", response_class=HTMLResponse)
def survey_page(
    token: str, request: Request, session: SessionDep, lang: Lang = "ja"
) -> HTMLResponse:
    """The recipient's questionnaire with their own earlier answers filled in."""
    language = check_lang(lang)
    recipient, survey = recipient_by_token(session, token)
    html = render_template(
        "survey.html",
        lang=language,
        other_lang=other_lang(language),
        t=wb_labels(language),
        attributions=attribution_lines(n03=False),
        map=None,
        survey=survey,
        recipient=recipient.label,
        questions=survey_questionnaire(survey).to_dict(language)["questions"],
        answers=recipient.answers or {},
        post_url=f"{request.app.state.settings.API_PREFIX}/survey/{token}",
    )
    return HTMLResponse(
        html, headers={"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
    )
