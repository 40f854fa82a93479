"""API keys in browsers: a `?key=` link is exchanged for a cookie, and keys stay out of logs.

Pages are opened from links that carry the API key (``/planner?scenario=1&key=...``, printed by
``gunmane demo`` or sent to a crew). A browser navigation to such a link (``Accept: text/html``)
gets a 303 to the same URL without ``key`` and the key in an HttpOnly cookie, so the key leaves
the address bar, history, bookmarks and shared screenshots, and every later page, link, image and
script request authenticates by the cookie (switching language included). Only a key the
database knows is exchanged; the cookie lasts ``SESSION_HOURS_CONTRACTOR`` for a crew's key and
``SESSION_HOURS_STAFF`` for the others (see service.config). Other clients (curl,
QGIS, scripts) keep sending ``X-API-Key``, or ``key`` on downloads, which is not redirected.

A request authenticated by the cookie alone may only read, unless it carries the
``X-Requested-With`` header the pages' scripts send: a form posted from another site can carry
the cookie but not that header (cross-site request forgery). The cookie is SameSite=Lax, not
Strict, because a link followed from a mail or chat must arrive with it after the redirect.

Keys still sent in a query string are masked in uvicorn's access log.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from service import crud
from service.errors import ServiceError

KEY_COOKIE = "gunmane_key"
PAGE_HEADER = "X-Requested-With"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_KEY_IN_QUERY = re.compile(r"([?&]key=)[^&#\s]*", re.IGNORECASE)


def set_key_cookie(response: Response, key: str, *, secure: bool, max_age: int) -> None:
    """Keep ``key`` in the browser's HttpOnly session cookie for ``max_age`` seconds."""
    response.set_cookie(
        KEY_COOKIE,
        key,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )


def key_role(app: Any, key: str) -> str | None:
    """The role of ``key`` in the app's database, or None for an unknown key."""
    session = app.state.session_factory()
    try:
        row = crud.find_api_key(session=session, key=key)
        return None if row is None else str(row.role)
    finally:
        session.close()


def cookie_key(request: Request) -> str | None:
    """The key of the browser session cookie; 403 for a write without the pages' header."""
    key = request.cookies.get(KEY_COOKIE) or None
    if (
        key is not None
        and request.method not in SAFE_METHODS
        and PAGE_HEADER not in request.headers
    ):
        raise ServiceError(
            403,
            "forbidden",
            f"a write authenticated by the session cookie needs the {PAGE_HEADER} header "
            "(sent by gunmane's pages); other clients send X-API-Key",
        )
    return key


def _wants_html(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"accept":
            return b"text/html" in value
    return False


class KeyLinkExchange:
    """ASGI middleware: a browser's GET with ``key`` becomes a cookie and a redirect without it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and _wants_html(scope):
            request = Request(scope)
            key = request.query_params.get("key")
            role = await run_in_threadpool(key_role, scope["app"], key) if key else None
            # An unknown key is never stored: the page answers 401 with a sign-in form.
            if key and role is not None:
                response = RedirectResponse(
                    str(request.url.remove_query_params("key")),
                    status_code=303,
                    headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
                )
                max_age = scope["app"].state.settings.session_seconds(role)
                set_key_cookie(response, key, secure=request.url.scheme == "https", max_age=max_age)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def redact_keys(text: str) -> str:
    """``text`` with the value of every ``key=`` query parameter masked."""
    return _KEY_IN_QUERY.sub(r"\1***", text)


class RedactKeys(logging.Filter):
    """Masks ``key=`` values in access log records (uvicorn passes the path as an argument)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_keys(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


def redact_access_log() -> None:
    """Install `RedactKeys` on uvicorn's access logger (once)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactKeys) for f in access.filters):
        access.addFilter(RedactKeys())
