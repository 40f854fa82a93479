"""Workbench persistence: a scenario's intake, its surveys, recipients' links and answers.

Survey links: `add_recipients` draws a fresh `secrets.token_urlsafe(32)` per recipient, stores
only its SHA-256 (`service.workbench_models.token_hash`) and returns the tokens once. A token
opens exactly its own recipient row (`recipient_by_token`); nothing else is reachable with it.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gis_data.workbench.intake import Intake
from gis_data.workbench.survey import FirmCapacity, Questionnaire, firm_capacities, questionnaire
from service import crud
from service.errors import ServiceError, not_found
from service.models import utcnow
from service.workbench_models import Survey, SurveyRecipient, WorkbenchIntake, token_hash

MAX_RECIPIENTS = 500


def scenario_towns(session: Session, scenario_id: int) -> dict[str, str]:
    """Municipality code -> name of a scenario."""
    scenario = crud.get_scenario(session=session, scenario_id=scenario_id)
    return {
        str(m.get("code")): str(m.get("name") or m.get("code")) for m in scenario.municipalities
    }


def get_intake(session: Session, scenario_id: int) -> Intake:
    """The scenario's stored intake (empty when none was entered)."""
    crud.get_scenario(session=session, scenario_id=scenario_id)
    row = session.scalar(select(WorkbenchIntake).where(WorkbenchIntake.scenario_id == scenario_id))
    return Intake.from_dict(row.data) if row is not None else Intake()


def save_intake(
    session: Session, scenario_id: int, intake: Intake, *, source: str, replace: bool = True
) -> Intake:
    """Store the intake; with ``replace=False`` only the sheets it holds are replaced."""
    row = session.scalar(select(WorkbenchIntake).where(WorkbenchIntake.scenario_id == scenario_id))
    if row is None:
        row = WorkbenchIntake(scenario_id=scenario_id, data={}, source="")
        session.add(row)
    elif not replace:
        old = Intake.from_dict(row.data)
        intake = Intake(staff=intake.staff or old.staff, orders=intake.orders or old.orders)
    row.data = intake.to_dict()
    row.source = source[:300]
    row.updated_at = utcnow()
    session.flush()
    return intake


def create_survey(
    session: Session, scenario_id: int, *, name: str, audience: str, recipients: list[str]
) -> tuple[Survey, list[tuple[SurveyRecipient, str]]]:
    """A survey with its recipients; returns the survey and (recipient, token) pairs."""
    towns = scenario_towns(session, scenario_id)
    try:
        questionnaire(audience, towns)
    except ValueError as exc:
        raise ServiceError(422, "invalid-survey", str(exc)) from None
    survey = Survey(scenario_id=scenario_id, name=name, audience=audience, towns=towns)
    session.add(survey)
    session.flush()
    return survey, add_recipients(session, survey, recipients)


def add_recipients(
    session: Session, survey: Survey, labels: list[str]
) -> list[tuple[SurveyRecipient, str]]:
    """New recipients with fresh tokens (returned once; only their hashes are stored)."""
    existing = len(list_recipients(session, survey.id))
    if existing + len(labels) > MAX_RECIPIENTS:
        raise ServiceError(
            422, "too-many-recipients", f"a survey holds at most {MAX_RECIPIENTS} recipients"
        )
    out = []
    for label in labels:
        token = secrets.token_urlsafe(32)
        row = SurveyRecipient(survey_id=survey.id, label=label[:200], token_hash=token_hash(token))
        session.add(row)
        out.append((row, token))
    session.flush()
    return out


def get_survey(session: Session, survey_id: int, *, scenario_id: int | None = None) -> Survey:
    """The survey, 404 when absent (or in another scenario)."""
    survey = session.get(Survey, survey_id)
    if survey is None or (scenario_id is not None and survey.scenario_id != scenario_id):
        raise not_found("survey", survey_id)
    return survey


def list_surveys(session: Session, scenario_id: int) -> list[Survey]:
    """The scenario's surveys, oldest first."""
    crud.get_scenario(session=session, scenario_id=scenario_id)
    return list(
        session.scalars(select(Survey).where(Survey.scenario_id == scenario_id).order_by(Survey.id))
    )


def list_recipients(session: Session, survey_id: int) -> list[SurveyRecipient]:
    """The survey's recipients in the order they were added."""
    return list(
        session.scalars(
            select(SurveyRecipient)
            .where(SurveyRecipient.survey_id == survey_id)
            .order_by(SurveyRecipient.id)
        )
    )


def recipient_by_token(session: Session, token: str) -> tuple[SurveyRecipient, Survey]:
    """The one recipient whose link carries ``token``; 404 for any other string."""
    if not 20 <= len(token) <= 100:
        raise not_found("survey link", "?")
    row = session.scalar(
        select(SurveyRecipient).where(SurveyRecipient.token_hash == token_hash(token))
    )
    if row is None:
        raise not_found("survey link", "?")
    return row, get_survey(session, row.survey_id)


def survey_questionnaire(survey: Survey) -> Questionnaire:
    """The questionnaire of a stored survey (its towns frozen at creation)."""
    return questionnaire(survey.audience, {str(k): str(v) for k, v in survey.towns.items()})


def answered(session: Session, survey_id: int) -> list[tuple[str, dict[str, Any]]]:
    """(recipient label, answers) of those who answered."""
    return [
        (r.label, dict(r.answers))
        for r in list_recipients(session, survey_id)
        if r.answers is not None
    ]


def scenario_firms(session: Session, scenario_id: int) -> list[FirmCapacity]:
    """Firms from every answered contractor survey of the scenario."""
    answers: list[dict[str, Any]] = []
    for survey in list_surveys(session, scenario_id):
        if survey.audience == "contractor":
            answers += [a for _, a in answered(session, survey.id)]
    return firm_capacities(answers)
