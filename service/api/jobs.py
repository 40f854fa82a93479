"""Jobs and processes (OGC API - Processes): execute, status, results, dismiss."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response

from service import crud
from service.deps import CurrentKey, JobsDep, PlannerKey, SessionDep, SettingsDep
from service.errors import ServiceError, accept_lang
from service.i18n import Lang, t
from service.jobs import PROCESSES, dismiss_job, submit_job
from service.models import Job
from service.process_inputs import RESULT_OUTPUT, input_problems, ogc_inputs
from service.schemas import (
    Conformance,
    Execute,
    JobPublic,
    JobsPublic,
    Link,
    ProcessDescription,
    ProcessList,
    ProcessSummary,
)

router = APIRouter(tags=["jobs"])

# Job status -> (code, catalogue key) of the 404 for its results.
_NOT_READY = {
    "accepted": ("result-not-ready", "ogc_job_accepted"),
    "running": ("result-not-ready", "ogc_job_running"),
    "failed": ("job-failed", "ogc_job_failed"),
    "dismissed": ("job-dismissed", "ogc_job_dismissed"),
}


def _no_process(process_id: str, lang: Lang) -> ServiceError:
    return ServiceError(
        404, "no-such-process", t("ogc_no_process", lang).format(process=process_id)
    )


def job_public(job: Job, prefix: str) -> JobPublic:
    """A job record as OGC status info with its links."""
    href = f"{prefix}/jobs/{job.id}"
    links = [Link(href=href, rel="self", type="application/json", title="status")]
    if job.status == "successful":
        links.append(
            Link(
                href=f"{href}/results",
                rel="http://www.opengis.net/def/rel/ogc/1.0/results",
                type="application/json",
                title="results",
            )
        )
    return JobPublic(
        jobID=job.id,
        processID=job.process_id,
        status=job.status,  # type: ignore[arg-type]
        message=job.message,
        progress=job.progress,
        created=job.created_at,
        started=job.started_at,
        finished=job.finished_at,
        updated=job.updated_at,
        scenario_id=job.scenario_id,
        plan_id=job.plan_id,
        links=links,
    )


def start_job(
    *,
    session: SessionDep,
    jobs: JobsDep,
    settings: SettingsDep,
    principal: CurrentKey,
    response: Response,
    process_id: str,
    inputs: dict[str, Any],
    scenario_id: int | None,
    lang: Lang = "en",
) -> JobPublic:
    """Create and submit a job; sets 201 and `Location` (used by the plans router too).

    Errors are worded in ``lang``: the Processes router passes the client's language; the
    other routers' callers keep English.
    """
    process = PROCESSES.get(process_id)
    if process is None:
        raise _no_process(process_id, lang)
    if process.schema is not None:
        problems = input_problems(process.schema, inputs, lang)
        if problems:
            raise ServiceError(
                400,
                "invalid-inputs",
                "; ".join(f"inputs.{p['input']}: {p['message']}" for p in problems),
                details=problems,
            )
    if process.needs_scenario:
        if scenario_id is None:
            raise ServiceError(422, "scenario-required", t("ogc_scenario_required", lang))
        crud.get_scenario(session=session, scenario_id=scenario_id, lang=lang)
    job = submit_job(
        session=session,
        runner=jobs,
        process_id=process_id,
        inputs=inputs,
        scenario_id=scenario_id,
        created_by=principal.key_id,
    )
    response.status_code = 201
    response.headers["Location"] = f"{settings.API_PREFIX}/jobs/{job.id}"
    return job_public(job, settings.API_PREFIX)


@router.get("/processes", response_model=ProcessList)
def list_processes(settings: SettingsDep, _principal: PlannerKey) -> ProcessList:
    """The processes that can be run as jobs."""
    prefix = settings.API_PREFIX
    return ProcessList(
        processes=[
            ProcessSummary(
                id=p.id,
                title=p.title,
                description=p.description,
                links=[Link(href=f"{prefix}/processes/{p.id}", rel="self")],
            )
            for p in PROCESSES.values()
        ],
        links=[Link(href=f"{prefix}/processes", rel="self", type="application/json")],
    )


@router.get("/processes/{process_id}", response_model=ProcessDescription)
def get_process(
    process_id: str, request: Request, settings: SettingsDep, _principal: PlannerKey
) -> ProcessDescription:
    """One process with its inputs and outputs, each described by a JSON Schema."""
    process = PROCESSES.get(process_id)
    if process is None:
        raise _no_process(process_id, accept_lang(request))
    if process.schema is not None:
        inputs = ogc_inputs(process.schema)
    else:
        inputs = {
            name: {"title": name, "description": text, "schema": {}}
            for name, text in process.inputs.items()
        }
    return ProcessDescription(
        id=process.id,
        title=process.title,
        description=process.description,
        inputs=inputs,
        outputs=RESULT_OUTPUT,
        links=[
            Link(href=f"{settings.API_PREFIX}/processes/{process.id}", rel="self"),
            Link(
                href=f"{settings.API_PREFIX}/processes/{process.id}/execution",
                rel="http://www.opengis.net/def/rel/ogc/1.0/execute",
                type="application/json",
            ),
        ],
    )


# OGC API - Processes - Part 1 classes this API implements (tests check each one's endpoints).
PROCESSES_CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/json",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/ogc-process-description",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/job-list",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/dismiss",
)


@router.get("/", include_in_schema=True)
def landing_page(settings: SettingsDep) -> dict[str, Any]:
    """Landing page of the API (OGC API - Processes core): links to its parts."""
    prefix = settings.API_PREFIX
    links = [
        (f"{prefix}/", "self", "application/json", "this document"),
        ("/openapi.json", "service-desc", "application/vnd.oai.openapi+json;version=3.0", "API"),
        ("/docs", "service-doc", "text/html", "API documentation"),
        (f"{prefix}/conformance", "http://www.opengis.net/def/rel/ogc/1.0/conformance",
         "application/json", "conformance classes"),
        (f"{prefix}/processes", "http://www.opengis.net/def/rel/ogc/1.0/processes",
         "application/json", "processes"),
        (f"{prefix}/jobs", "http://www.opengis.net/def/rel/ogc/1.0/job-list",
         "application/json", "jobs"),
    ]  # fmt: skip
    return {
        "title": "gunmane",
        "description": "群マネ: bundled maintenance planning across municipalities",
        "links": [
            Link(href=h, rel=r, type=t, title=title).model_dump() for h, r, t, title in links
        ],
    }


@router.get("/conformance", response_model=Conformance)
def conformance() -> Conformance:
    """The OGC API - Processes conformance classes implemented."""
    return Conformance(conformsTo=list(PROCESSES_CONFORMANCE))


@router.post("/processes/{process_id}/execution", response_model=JobPublic, status_code=201)
def execute(
    process_id: str,
    body: Execute,
    request: Request,
    session: SessionDep,
    jobs: JobsDep,
    settings: SettingsDep,
    principal: PlannerKey,
    response: Response,
) -> JobPublic:
    """Execute a process asynchronously: 201 with `Location` of the new job."""
    lang = accept_lang(request)
    scenario_id = body.inputs.get("scenario_id")
    if scenario_id is not None and not isinstance(scenario_id, int):
        raise ServiceError(422, "invalid-input", t("ogc_scenario_id_int", lang))
    return start_job(
        session=session,
        jobs=jobs,
        settings=settings,
        principal=principal,
        response=response,
        process_id=process_id,
        inputs=body.inputs,
        scenario_id=scenario_id,
        lang=lang,
    )


@router.get("/jobs", response_model=JobsPublic)
def list_jobs(
    session: SessionDep,
    settings: SettingsDep,
    _principal: PlannerKey,
    limit: int = Query(default=100, ge=1, le=1000),
    status: str | None = None,
) -> JobsPublic:
    """Jobs, newest first."""
    jobs = crud.list_jobs(session=session, limit=limit, status=status)
    return JobsPublic(
        jobs=[job_public(job, settings.API_PREFIX) for job in jobs],
        links=[Link(href=f"{settings.API_PREFIX}/jobs", rel="self", type="application/json")],
    )


@router.get("/jobs/{job_id}", response_model=JobPublic)
def get_job(
    job_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    _principal: PlannerKey,
) -> JobPublic:
    """A job's status, progress and message."""
    job = crud.get_job(session=session, job_id=job_id, lang=accept_lang(request))
    return job_public(job, settings.API_PREFIX)


@router.get("/jobs/{job_id}/results")
def get_results(
    job_id: str, request: Request, session: SessionDep, _principal: PlannerKey
) -> dict[str, Any]:
    """The job's results; 404 `result-not-ready` until it has succeeded."""
    lang = accept_lang(request)
    job = crud.get_job(session=session, job_id=job_id, lang=lang)
    if job.status != "successful" or job.result is None:
        code, key = _NOT_READY.get(job.status, ("result-not-ready", "ogc_job_no_result"))
        raise ServiceError(404, code, t(key, lang).format(message=job.message))
    result = dict(job.result)
    if job.plan_id is not None:
        result.setdefault("plan_id", job.plan_id)
    return result


@router.delete("/jobs/{job_id}", response_model=JobPublic)
def dismiss(
    job_id: str,
    request: Request,
    session: SessionDep,
    jobs: JobsDep,
    settings: SettingsDep,
    _principal: PlannerKey,
) -> JobPublic:
    """Dismiss a job: cancel it if queued or running, drop its result if finished."""
    job = crud.get_job(session=session, job_id=job_id, lang=accept_lang(request))
    return job_public(dismiss_job(session=session, runner=jobs, job=job), settings.API_PREFIX)
