"""The body of a stop check: a JSON object or a form (with a photo), told by its Content-Type.

The crew's page posts a multipart form (task_id, note, photo); a town's GIS or a script posts
``application/json`` (task_id, note; no photo). Both are validated by one model and refused
with one kind of error: 422 ``invalid-request`` naming every bad field in the caller's language,
415 ``unsupported-media-type`` for any other body.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Final

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from starlette.datastructures import UploadFile
from starlette.requests import Request

from service.errors import ServiceError
from service.i18n import Lang, t
from service.schemas import MAX_NOTE_CHARS, StopCheckCreate

JSON: Final = "application/json"
MULTIPART: Final = "multipart/form-data"
URLENCODED: Final = "application/x-www-form-urlencoded"
# A JSON tick is two short strings; anything far larger is not one.
MAX_JSON_BYTES: Final = 64 * 1024
_FIELDS: Final = ("task_id", "note")


@dataclass(frozen=True)
class StopCheckBody:
    """A validated stop check: the stop, the crew's note (stripped) and the photo, if any."""

    task_id: str
    note: str
    photo: UploadFile | None


def media_type(request: Request) -> str:
    """The request's media type without parameters (charset, boundary), lower case."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def is_json(kind: str) -> bool:
    """True for ``application/json`` and the ``+json`` types (``application/merge+json``)."""
    return kind == JSON or (kind.startswith("application/") and kind.endswith("+json"))


@asynccontextmanager
async def stop_check_body(request: Request, lang: Lang) -> AsyncIterator[StopCheckBody]:
    """The stop check the request carries; a form's spooled photo is closed on exit.

    Raises ServiceError 415 for a body that is neither JSON nor a form, 413 for an over-size
    JSON body, 422 naming every bad field (missing, too long, not text, unknown in JSON).
    """
    kind = media_type(request)
    if is_json(kind):
        yield _checked(await _json_object(request, lang), lang, photo=None, problems=[])
    elif kind in (MULTIPART, URLENCODED):
        # One photo per tick: a second file part is refused by the parser (400).
        async with request.form(max_files=1, max_fields=20) as form:
            fields = {k: form[k] for k in _FIELDS if k in form}
            photo, problems = _photo_part(form.getlist("photo"), lang)
            yield _checked(fields, lang, photo=photo, problems=problems)
    else:
        shown = kind or "(none)"
        raise ServiceError(
            415, "unsupported-media-type", t("body_media_type", lang).format(media_type=shown)
        )


async def _json_object(request: Request, lang: Lang) -> dict[str, Any]:
    """The JSON body as an object, read up to MAX_JSON_BYTES."""
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_JSON_BYTES:
            text = t("body_too_large", lang).format(kb=MAX_JSON_BYTES // 1024)
            raise ServiceError(413, "too-large", text)
    try:
        parsed = json.loads(bytes(data))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ServiceError(
            422, "invalid-json", t("body_not_json", lang).format(error=str(exc))
        ) from None
    if not isinstance(parsed, dict):
        raise ServiceError(422, "invalid-json", t("body_not_object", lang))
    return parsed


def _photo_part(parts: list[Any], lang: Lang) -> tuple[UploadFile | None, list[dict[str, Any]]]:
    """The form's photo file, or a problem when ``photo`` came as text (an empty one is none)."""
    files = [p for p in parts if isinstance(p, UploadFile)]
    if any(isinstance(p, str) and p for p in parts):
        return None, [_problem("photo", t("body_photo_not_file", lang))]
    return (files[0] if files else None), []


def _checked(
    fields: dict[str, Any], lang: Lang, *, photo: UploadFile | None, problems: list[dict[str, Any]]
) -> StopCheckBody:
    """The fields validated by StopCheckCreate; every problem reported at once."""
    model: StopCheckCreate | None = None
    try:
        model = StopCheckCreate.model_validate(fields)
    except ValidationError as exc:
        problems = [*problems, *(_problem_of(err, lang) for err in exc.errors())]
    if problems or model is None:
        detail = "; ".join(p["message"] for p in problems)
        raise ServiceError(422, "invalid-request", detail, details=problems)
    return StopCheckBody(task_id=model.task_id, note=(model.note or "").strip(), photo=photo)


def _problem(field: str, message: str) -> dict[str, Any]:
    # The same shape as FastAPI's own validation errors (service.errors).
    return {"location": ["body", field], "message": message}


def _problem_of(err: ErrorDetails, lang: Lang) -> dict[str, Any]:
    """A pydantic error as a message naming the field, in ``lang`` for the usual kinds."""
    field = ".".join(str(p) for p in err["loc"]) or "body"
    kind = err["type"]
    if kind == "missing":
        message = t("body_missing", lang).format(field=field)
    elif kind == "string_too_long":
        limit = (err.get("ctx") or {}).get("max_length", MAX_NOTE_CHARS)
        message = t("body_too_long", lang).format(field=field, limit=limit)
    elif kind == "string_type":
        message = t("body_not_text", lang).format(field=field)
    elif kind == "extra_forbidden":
        message = t("body_unknown_field", lang).format(field=field)
    else:
        message = f"{field}: {err['msg']}"
    return _problem(field, message)
