"""Workbench API: intake template and import, ordering matrix, charts, surveys and their links.

Planner endpoints need a planner (or admin) key. The survey answer endpoints
(``/survey/{token}``) need no key: the unguessable token in the link is the credential, and it
opens only its own recipient's questionnaire and answers.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field

from gis_data.workbench.intake import (
    SHEETS,
    Intake,
    IntakeError,
    age_pyramid_png,
    intake_from_records,
    ordering_matrix,
    read_intake,
    template_rows,
    template_xlsx,
    time_split_png,
)
from gis_data.workbench.survey import (
    SurveyError,
    check_answers,
    export_csv,
    export_xlsx,
    size_limits,
    tally,
)
from service import crud
from service.deps import PlannerKey, SessionDep
from service.errors import ServiceError
from service.models import utcnow
from service.workbench import (
    add_recipients,
    answered,
    create_survey,
    get_intake,
    get_survey,
    list_recipients,
    list_surveys,
    recipient_by_token,
    save_intake,
    scenario_firms,
    scenario_towns,
    survey_questionnaire,
)
from service.workbench_models import Survey, SurveyRecipient

router = APIRouter(tags=["workbench"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_TEMPLATE_BYTES = 5 * 1024 * 1024
Lang = Annotated[str, Query(pattern="^(ja|en)$")]


class SurveyCreate(BaseModel):
    """A new survey: its name, audience and recipients (labels such as firm names)."""

    name: str = Field(min_length=1, max_length=200)
    audience: str = Field(pattern="^(contractor|staff)$")
    recipients: list[str] = Field(min_length=1, max_length=500)


class RecipientsAdd(BaseModel):
    """More recipients for a survey."""

    recipients: list[str] = Field(min_length=1, max_length=500)


class IntakeRecords(BaseModel):
    """Rows entered in the page: sheet -> rows of {column key: value}."""

    staff: list[dict[str, Any]] | None = None
    ordering: list[dict[str, Any]] | None = None


def _intake_error(exc: IntakeError) -> ServiceError:
    return ServiceError(
        422,
        "invalid-intake",
        f"{len(exc.problems)} bad cell(s); nothing was stored",
        details=[p.to_dict() for p in exc.problems],
    )


def intake_view(intake: Intake, towns: dict[str, str]) -> dict[str, Any]:
    """The intake with its ordering matrix, suggested scope and staff hours per town."""
    matrix = ordering_matrix(intake.orders)
    return {
        **intake.to_dict(),
        "towns": towns,
        "matrix": matrix.rows("ja"),
        "scope": matrix.scope(),
        "patrol_hours_by_town": intake.patrol_hours_by_town(),
        "staff_total": sum(s.staff for s in intake.staff),
    }


@router.get("/workbench/template.xlsx")
def template_download(_principal: PlannerKey) -> Response:
    """The intake template (.xlsx: staff, ordering, notes) to fill in."""
    return Response(
        template_xlsx(),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="workbench.xlsx"'},
    )


@router.get("/workbench/template/{sheet}.csv")
def template_csv(sheet: str, _principal: PlannerKey) -> Response:
    """One sheet of the template as UTF-8 CSV (``staff`` or ``ordering``)."""
    if sheet not in SHEETS:
        raise ServiceError(404, "not-found", f"no template sheet {sheet!r}; one of {list(SHEETS)}")
    buf = io.StringIO()
    csv.writer(buf).writerows(template_rows(sheet))
    return Response(
        buf.getvalue().encode("utf-8-sig"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{sheet}.csv"'},
    )


@router.get("/scenarios/{scenario_id}/workbench")
def get_workbench(scenario_id: int, session: SessionDep, _principal: PlannerKey) -> dict[str, Any]:
    """The scenario's intake, ordering matrix, surveys and the firms' size limit."""
    intake = get_intake(session, scenario_id)
    firms = scenario_firms(session, scenario_id)
    limits = size_limits(firms)
    return {
        "intake": intake_view(intake, scenario_towns(session, scenario_id)),
        "surveys": [survey_summary(session, s) for s in list_surveys(session, scenario_id)],
        "firms": [dataclasses.asdict(f) for f in firms],
        "size_limit_crews": limits.max_crews,
    }


@router.post("/scenarios/{scenario_id}/workbench/intake", status_code=201)
async def import_intake(
    scenario_id: int,
    session: SessionDep,
    _principal: PlannerKey,
    files: Annotated[list[UploadFile], File(description="workbench.xlsx, staff.csv, ordering.csv")],
) -> dict[str, Any]:
    """Import the filled template; 422 lists every bad cell (sheet, row, column), nothing stored.

    Sheets present in the upload replace the stored ones; the others are kept.
    """
    towns = scenario_towns(session, scenario_id)
    contents: dict[str, bytes] = {}
    for upload in files:
        data = await upload.read(MAX_TEMPLATE_BYTES + 1)
        if len(data) > MAX_TEMPLATE_BYTES:
            raise ServiceError(413, "too-large", f"{upload.filename}: larger than 5 MB")
        contents[upload.filename or "upload.xlsx"] = data
    try:
        intake = read_intake(contents, known_towns=towns)
    except IntakeError as exc:
        raise _intake_error(exc) from None
    stored = save_intake(session, scenario_id, intake, source=", ".join(contents), replace=False)
    session.commit()
    return intake_view(stored, towns)


@router.put("/scenarios/{scenario_id}/workbench/intake")
def put_intake(
    scenario_id: int, body: IntakeRecords, session: SessionDep, _principal: PlannerKey
) -> dict[str, Any]:
    """Rows entered in the page (the same checks as the template import); 422 on bad cells."""
    towns = scenario_towns(session, scenario_id)
    records = {k: v for k, v in body.model_dump().items() if v is not None}
    try:
        intake = intake_from_records(records, known_towns=towns)
    except IntakeError as exc:
        raise _intake_error(exc) from None
    stored = save_intake(session, scenario_id, intake, source="form", replace=False)
    session.commit()
    return intake_view(stored, towns)


@router.get("/scenarios/{scenario_id}/workbench/charts/{name}.png")
def intake_chart(
    scenario_id: int, name: str, session: SessionDep, _principal: PlannerKey, lang: Lang = "ja"
) -> Response:
    """Charts of the current state: ``age_pyramid`` or ``time_split`` (PNG)."""
    charts = {"age_pyramid": age_pyramid_png, "time_split": time_split_png}
    if name not in charts:
        raise ServiceError(404, "not-found", f"no chart {name!r}; one of {sorted(charts)}")
    intake = get_intake(session, scenario_id)
    return Response(charts[name](intake.staff, lang=lang), media_type="image/png")


@router.get("/plans/{plan_id}/frontier.png")
def frontier_chart(
    plan_id: int, session: SessionDep, _principal: PlannerKey, lang: Lang = "ja"
) -> Response:
    """The plot of a stored frontier plan (cost and largest region's crews against k)."""
    from gis_data.workbench.frontier import frontier_png

    plan = crud.get_plan(session=session, plan_id=plan_id)
    if plan.kind != "frontier" or "frontier" not in plan.result:
        raise ServiceError(404, "not-found", f"plan {plan_id} is not a frontier plan")
    return Response(frontier_png(plan.result["frontier"], lang=lang), media_type="image/png")


def _links(request: Request, pairs: list[tuple[SurveyRecipient, str]]) -> list[dict[str, Any]]:
    base = str(request.base_url).rstrip("/")
    return [
        {"recipient_id": r.id, "label": r.label, "token": token, "url": f"{base}/survey/{token}"}
        for r, token in pairs
    ]


def survey_summary(session: SessionDep, survey: Survey) -> dict[str, Any]:
    """A survey's id, name, audience and response counts."""
    rows = list_recipients(session, survey.id)
    return {
        "id": survey.id,
        "scenario_id": survey.scenario_id,
        "name": survey.name,
        "audience": survey.audience,
        "recipients": len(rows),
        "answered": sum(1 for r in rows if r.answers is not None),
        "created_at": survey.created_at.isoformat(),
    }


@router.post("/scenarios/{scenario_id}/surveys", status_code=201)
def new_survey(
    scenario_id: int,
    body: SurveyCreate,
    request: Request,
    session: SessionDep,
    _principal: PlannerKey,
) -> dict[str, Any]:
    """Create a survey; the answer links (tokens) are returned only here."""
    survey, pairs = create_survey(
        session, scenario_id, name=body.name, audience=body.audience, recipients=body.recipients
    )
    session.commit()
    return {**survey_summary(session, survey), "links": _links(request, pairs)}


@router.get("/scenarios/{scenario_id}/surveys")
def surveys(scenario_id: int, session: SessionDep, _principal: PlannerKey) -> dict[str, Any]:
    """The scenario's surveys with their response counts."""
    rows = [survey_summary(session, s) for s in list_surveys(session, scenario_id)]
    return {"data": rows, "count": len(rows)}


@router.post("/surveys/{survey_id}/recipients", status_code=201)
def more_recipients(
    survey_id: int,
    body: RecipientsAdd,
    request: Request,
    session: SessionDep,
    _principal: PlannerKey,
) -> dict[str, Any]:
    """Add recipients; their links are returned only here."""
    pairs = add_recipients(session, get_survey(session, survey_id), body.recipients)
    session.commit()
    return {"links": _links(request, pairs)}


@router.get("/surveys/{survey_id}")
def survey_detail(survey_id: int, session: SessionDep, _principal: PlannerKey) -> dict[str, Any]:
    """The survey, its recipients (answered or not, never their links) and the tally."""
    survey = get_survey(session, survey_id)
    q = survey_questionnaire(survey)
    rows = list_recipients(session, survey_id)
    return {
        **survey_summary(session, survey),
        "questionnaire": q.to_dict("ja"),
        "recipient_list": [
            {
                "id": r.id,
                "label": r.label,
                "answered": r.answers is not None,
                "answered_at": r.answered_at.isoformat() if r.answered_at else None,
            }
            for r in rows
        ],
        "tally": tally(q, [a for _, a in answered(session, survey_id)]),
    }


@router.get("/surveys/{survey_id}/export.{fmt}")
def survey_export(
    survey_id: int, fmt: str, session: SessionDep, _principal: PlannerKey
) -> Response:
    """The answers, one row per recipient: ``csv`` or ``xlsx`` (with the tally sheet)."""
    survey = get_survey(session, survey_id)
    q = survey_questionnaire(survey)
    responses = answered(session, survey_id)
    if fmt == "csv":
        body, media = export_csv(q, responses), "text/csv; charset=utf-8"
    elif fmt == "xlsx":
        body, media = export_xlsx(q, responses), XLSX
    else:
        raise ServiceError(404, "not-found", f"no export format {fmt!r}; csv or xlsx")
    name = f"survey_{survey_id}.{fmt}"
    return Response(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


# -- the recipient's side: the token is the only credential --------------------------------------


@router.get("/survey/{token}")
def read_own_survey(token: str, session: SessionDep, lang: Lang = "ja") -> dict[str, Any]:
    """The questionnaire and this recipient's own answers (404 for an unknown link)."""
    recipient, survey = recipient_by_token(session, token)
    return {
        "survey": survey.name,
        "recipient": recipient.label,
        "questionnaire": survey_questionnaire(survey).to_dict(lang),
        "answers": recipient.answers,
        "answered_at": recipient.answered_at.isoformat() if recipient.answered_at else None,
    }


@router.post("/survey/{token}")
def answer_survey(token: str, body: dict[str, Any], session: SessionDep) -> dict[str, Any]:
    """Store this recipient's answers (replacing earlier ones); 422 lists every bad answer."""
    recipient, survey = recipient_by_token(session, token)
    try:
        answers = check_answers(survey_questionnaire(survey), body)
    except SurveyError as exc:
        raise ServiceError(
            422,
            "invalid-answers",
            f"{len(exc.problems)} answer(s) cannot be stored",
            details=[p.to_dict() for p in exc.problems],
        ) from None
    recipient.answers = answers
    recipient.answered_at = utcnow()
    session.commit()
    return {"answers": answers, "answered_at": recipient.answered_at.isoformat()}
