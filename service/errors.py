"""Service errors: an HTTP status, a stable code and a message safe to show users; one handler."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from gis_data.loading.errors import AssetValidationError
from service.i18n import Lang, check_lang, labels, other_lang
from service.templating import render_template

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


def wants_page(request: Request) -> bool:
    """True for a browser (``Accept: text/html``); API clients and page scripts get JSON."""
    return "text/html" in request.headers.get("accept", "")


def accept_lang(request: Request) -> Lang:
    """The language of messages worded for people: English when the client's first choice
    (``Accept-Language``) is English, else Japanese (the towns' language)."""
    accept = request.headers.get("accept-language", "").strip().lower()
    return "en" if accept.startswith("en") else "ja"


def page_lang(request: Request) -> str:
    """The language of an error page: ``?lang=``, else the browser's first choice, else ja."""
    lang = request.query_params.get("lang")
    if lang in {"ja", "en"}:
        return lang
    return accept_lang(request)


def error_page(request: Request, status: int, detail: str, headers: Any = None) -> HTMLResponse:
    """The HTML page of an error for people: what happened, what to do, a sign-in form if 401/403.

    ``detail`` (the API's English message) is kept under a folded "details" for support staff.
    """
    lang = check_lang(page_lang(request))
    texts = labels(lang)
    kind = status if status in {401, 403, 404, 422} else 500
    query = request.url.remove_query_params("key").query
    next_url = request.url.path + (f"?{query}" if query else "")
    body = render_template(
        "error.html",
        lang=lang,
        other_lang=other_lang(lang),
        t=texts,
        status=status,
        title=texts[f"error_title_{kind}"],
        what=texts[f"error_what_{kind}"],
        todo=texts[f"error_todo_{kind}"],
        sign_in=status in {401, 403},
        next_url=next_url,
        detail=detail,
        when=dt.datetime.now(dt.UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S %z"),
        attributions=[],
        map=None,
    )
    safe_headers = {k: v for k, v in dict(headers or {}).items() if k.lower() == "retry-after"}
    return HTMLResponse(body, status_code=status, headers=safe_headers or None)


def _answer(request: Request, status: int, body: dict[str, Any], headers: Any = None) -> Response:
    """JSON for API clients, an HTML page for browsers."""
    if wants_page(request):
        return error_page(request, status, str(body.get("detail", "")), headers)
    return JSONResponse(body, status_code=status, headers=headers)


async def _service_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)
    return _answer(request, exc.http_status, exc.body())


async def _asset_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AssetValidationError)
    problems = _problem_dicts(exc)
    error = ServiceError(
        422, "invalid-assets", f"the file has {len(problems)} problem(s)", details=problems
    )
    return _answer(request, 422, error.body())


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = {401: "unauthorized", 403: "forbidden", 404: "not-found", 405: "method-not-allowed"}
    body = {"code": code.get(exc.status_code, "http-error"), "detail": str(exc.detail)}
    return _answer(request, exc.status_code, body, exc.headers)


async def _request_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    details = [
        {"location": list(err.get("loc", ())), "message": str(err.get("msg", ""))}
        for err in exc.errors()
    ]
    body = {"code": "invalid-request", "detail": "the request is not valid", "details": details}
    if wants_page(request):
        where = "; ".join(
            f"{'.'.join(str(p) for p in d['location'])}: {d['message']}" for d in details
        )
        return error_page(request, 422, where or "the request is not valid")
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


async def _number_out_of_range(request: Request, exc: Exception) -> Response:
    # A path or query number beyond the database's integer (SQLite raises OverflowError,
    # PostgreSQL a DataError): the client's input, not a server fault.
    error = ServiceError(
        422, "number-out-of-range", "a value in the request is out of range for the database"
    )
    return _answer(request, 422, error.body())


async def _database_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, DataError):
        return await _number_out_of_range(request, exc)
    if not database_unavailable(exc):
        return await _unexpected(request, exc)
    # One line in the log: an outage gives many of these, and the cause is not in our code.
    first_line = str(getattr(exc, "orig", exc)).strip().split("\n", 1)[0]
    logger.warning("%s %s: database unavailable (%s)", request.method, request.url.path, first_line)
    error = ServiceError(
        503, "database-unavailable", "the database is unavailable or busy; retry shortly"
    )
    headers = {"Retry-After": str(DATABASE_RETRY_AFTER)}
    return _answer(request, 503, error.body(), headers)


async def _unexpected(request: Request, exc: Exception) -> Response:
    # The traceback goes to the log only; the client gets no paths, SQL or stack.
    logger.exception("unexpected error", exc_info=exc)
    body = {"code": "internal-error", "detail": "internal error; see the server log"}
    return _answer(request, 500, body)


def install_error_handlers(app: FastAPI) -> None:
    """Register the one mapping from exceptions to JSON error bodies."""
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(AssetValidationError, _asset_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(OverflowError, _number_out_of_range)
    app.add_exception_handler(Exception, _unexpected)
