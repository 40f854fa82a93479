"""Service errors: an HTTP status, a stable code and a message safe to show users; one handler."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from gis_data.loading.errors import AssetValidationError

logger = logging.getLogger(__name__)

# Seconds a client is told to wait after a 503 for an unreachable or locked database.
DATABASE_RETRY_AFTER = 5


class ServiceError(Exception):
    """An error with an HTTP status, a code clients can test and a user-safe message."""

    def __init__(self, http_status: int, code: str, user_msg: str, *, details: Any = None) -> None:
        super().__init__(user_msg)
        self.http_status = http_status
        self.code = code
        self.user_msg = user_msg
        self.details = details

    def body(self) -> dict[str, Any]:
        """The JSON body: code, message and any details (a problem list, a version)."""
        body: dict[str, Any] = {"code": self.code, "detail": self.user_msg}
        if self.details is not None:
            body["details"] = self.details
        return body


def not_found(what: str, ident: object) -> ServiceError:
    """404 naming the resource and the identifier asked for."""
    return ServiceError(404, "not-found", f"{what} {ident} not found")


def _problem_dicts(error: AssetValidationError) -> list[dict[str, Any]]:
    """The loaders' problems as JSON, with file paths reduced to their names."""
    problems = []
    for problem in error.problems:
        item = dict(problem.to_dict())
        file_value = item.get("file")
        if isinstance(file_value, str) and file_value:
            item["file"] = file_value.replace("\\", "/").rsplit("/", 1)[-1]
        problems.append(item)
    return problems


async def _service_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    return JSONResponse(exc.body(), status_code=exc.http_status)


async def _asset_validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AssetValidationError)
    problems = _problem_dicts(exc)
    error = ServiceError(
        422, "invalid-assets", f"the file has {len(problems)} problem(s)", details=problems
    )
    return JSONResponse(error.body(), status_code=422)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {401: "unauthorized", 403: "forbidden", 404: "not-found", 405: "method-not-allowed"}
    body = {"code": code.get(exc.status_code, "http-error"), "detail": str(exc.detail)}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _request_validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {"location": list(err.get("loc", ())), "message": str(err.get("msg", ""))}
        for err in exc.errors()
    ]
    body = {"code": "invalid-request", "detail": "the request is not valid", "details": details}
    return JSONResponse(body, status_code=422)


def database_unavailable(exc: BaseException) -> bool:
    """True when a database error means "unreachable or busy now", not a bug in a query.

    PostgreSQL stopped or restarting, a dropped connection, a locked SQLite file; a SQLite
    OperationalError about SQL itself (no such table, syntax) is not one.
    """
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError):
        return False
    if isinstance(exc.orig, sqlite3.OperationalError):
        text = str(exc.orig).lower()
        return "locked" in text or "busy" in text
    return True


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    if not database_unavailable(exc):
        return await _unexpected(request, exc)
    # One line in the log: an outage gives many of these, and the cause is not in our code.
    first_line = str(getattr(exc, "orig", exc)).strip().split("\n", 1)[0]
    logger.warning("%s %s: database unavailable (%s)", request.method, request.url.path, first_line)
    error = ServiceError(
        503, "database-unavailable", "the database is unavailable or busy; retry shortly"
    )
    headers = {"Retry-After": str(DATABASE_RETRY_AFTER)}
    return JSONResponse(error.body(), status_code=503, headers=headers)


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    # The traceback goes to the log only; the client gets no paths, SQL or stack.
    logger.exception("unexpected error", exc_info=exc)
    body = {"code": "internal-error", "detail": "internal error; see the server log"}
    return JSONResponse(body, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    """Register the one mapping from exceptions to JSON error bodies."""
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(AssetValidationError, _asset_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(Exception, _unexpected)
