"""FastAPI dependencies as Annotated aliases: session, settings, jobs, the caller, role checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session

from service import auth, crud
from service.browser_keys import cookie_key
from service.config import Settings
from service.errors import ServiceError
from service.jobs import JobRunner


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """A session per request; committed by the endpoints that write, closed afterwards."""
    session: Session = request.app.state.session_factory()
    try:
        yield session
    finally:
        session.close()


def get_jobs(request: Request) -> JobRunner:
    """The app's Dask job runner."""
    runner: JobRunner = request.app.state.jobs
    return runner


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
JobsDep = Annotated[JobRunner, Depends(get_jobs)]


def principal_of(session: Session, key: str | None) -> auth.Principal:
    """The caller holding ``key``; 401 when it is missing or unknown."""
    if not key:
        raise ServiceError(401, "unauthorized", "an API key is required (header X-API-Key)")
    row = crud.find_api_key(session=session, key=key)
    if row is None:
        raise ServiceError(401, "unauthorized", "the API key is not valid")
    return auth.Principal(
        key_id=row.id, role=row.role, region_ids=frozenset(int(r) for r in row.region_ids)
    )


def current_key(
    request: Request,
    session: SessionDep,
    x_api_key: Annotated[str | None, Header(description="API key")] = None,
    authorization: Annotated[str | None, Header(description="Bearer <API key>")] = None,
) -> auth.Principal:
    """The caller, from `X-API-Key`, `Authorization: Bearer` or a page's session cookie."""
    key = auth.key_from_headers(x_api_key, authorization) or cookie_key(request)
    return principal_of(session, key)


CurrentKey = Annotated[auth.Principal, Depends(current_key)]


def require_role(*roles: str) -> Callable[[auth.Principal], auth.Principal]:
    """A dependency that lets only the given roles (and admin) through, else 403."""
    allowed = frozenset(roles) | {"admin"}

    def check(principal: CurrentKey) -> auth.Principal:
        if principal.role not in allowed:
            raise ServiceError(403, "forbidden", f"the role {principal.role!r} may not do this")
        return principal

    return check


AdminKey = Annotated[auth.Principal, Depends(require_role("admin"))]
PlannerKey = Annotated[auth.Principal, Depends(require_role("planner"))]
FeatureReaderKey = Annotated[auth.Principal, Depends(require_role("planner", "gis"))]
RouteReaderKey = Annotated[auth.Principal, Depends(require_role("planner", "contractor"))]
