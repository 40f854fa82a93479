"""Database tables of the planner's workbench: intake per scenario, surveys and their recipients.

A recipient's link carries a random token (`secrets.token_urlsafe`); only its SHA-256 is stored,
so the database never holds a working link, and a token finds exactly one recipient row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.models import Base, UTCDateTime, utcnow


def token_hash(token: str) -> str:
    """The stored form of a survey token (hex SHA-256)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class WorkbenchIntake(Base):
    """Tools 1 and 2 of a scenario (`workbench.intake.Intake.to_dict`), replaced as a whole."""

    __tablename__ = "workbench_intake"

    id: Mapped[int] = mapped_column(primary_key=True)
    scenario_id: Mapped[int] = mapped_column(
        ForeignKey("scenarios.id", ondelete="CASCADE"), unique=True
    )
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source: Mapped[str] = mapped_column(String(300), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Survey(Base):
    """A questionnaire sent to recipients (contractors or staff) of a scenario's towns."""

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    scenario_id: Mapped[int] = mapped_column(
        ForeignKey("scenarios.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    audience: Mapped[str] = mapped_column(String(20))
    # The town choices frozen when the survey was made: {"code": "name"}.
    towns: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SurveyRecipient(Base):
    """One recipient: a label, the hash of their link's token and their answers."""

    __tablename__ = "survey_recipients"

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    answers: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    comment: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), default=None)
