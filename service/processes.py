"""The processes jobs run: scenario summary and the planning steps of gis_data."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from gis_data.summary import summarize
from service import crud
from service.frames import assets_frame
from service.jobs import JobContext, JobInputError, JobOutcome, Process, register_process

logger = logging.getLogger(__name__)


def _scenario_id(ctx: JobContext) -> int:
    if ctx.scenario_id is None:
        raise JobInputError("inputs.scenario_id is required")
    return ctx.scenario_id


def run_summary(ctx: JobContext, inputs: dict[str, Any]) -> JobOutcome:
    """Count, km and km² of the scenario's assets per municipality and field."""
    scenario_id = _scenario_id(ctx)
    ctx.progress(5, "reading assets")
    with ctx.session() as session:
        assets = assets_frame(session, scenario_id)
    ctx.progress(50, f"summarising {len(assets)} assets")
    rows = summarize(assets) if not assets.empty else []
    result = {"scenario_id": scenario_id, "asset_count": len(assets), "rows": rows}
    name = str(inputs.get("name") or "summary")

    def store(session: Session) -> int:
        plan = crud.create_plan(
            session=session,
            scenario_id=scenario_id,
            kind="summary",
            name=name,
            parameters={},
            summary={"asset_count": len(assets)},
            result={"rows": rows},
            job_id=ctx.job_id,
        )
        return plan.id

    return JobOutcome(result=result, store=store)


register_process(
    Process(
        id="summary",
        title="Scenario summary",
        description="Count, km of lines and km² of polygons per municipality and field.",
        function="service.processes:run_summary",
        inputs={"scenario_id": "the scenario (integer)"},
    )
)
