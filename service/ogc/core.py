"""OGC API core, framework-neutral: request params -> (status, headers, body); conformance."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlencode

from service.i18n import Lang, t

GEOJSON: Final = "application/geo+json"
JSON: Final = "application/json"
OPENAPI: Final = "application/vnd.oai.openapi+json;version=3.0"
HTML: Final = "text/html"

# Only what we implement and test (tests compare /conformance with this list).
CONFORMANCE: Final = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
)


@dataclass(frozen=True)
class OgcRequest:
    """A request as the core sees it: the API's base URL, the OpenAPI URL, the query and the
    language of the messages that are worded for people (``ja`` or ``en``)."""

    base_url: str
    openapi_url: str
    docs_url: str
    query: Mapping[str, Sequence[str]] = field(default_factory=dict)
    lang: Lang = "ja"

    def message(self, key: str, **values: object) -> str:
        """The catalogue message ``key`` (service.i18n) in the request's language."""
        return t(key, self.lang).format(**values)

    def one(self, name: str) -> str | None:
        """The single value of a query parameter (None when absent); repeated -> error."""
        values = self.query.get(name)
        if not values:
            return None
        if len(values) > 1:
            raise OgcError(400, "InvalidParameterValue", self.message("ogc_param_twice", name=name))
        return values[0]


@dataclass
class OgcResponse:
    """What an endpoint returns: status, headers and a JSON body."""

    status: int
    headers: dict[str, str]
    body: dict[str, Any]


class OgcError(Exception):
    """An OGC exception: HTTP status, OGC code, a description safe to show and any details
    a client can act on (e.g. the values a parameter may take)."""

    def __init__(
        self,
        status: int,
        code: str,
        description: str,
        *,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description
        self.details = dict(details or {})

    def response(self) -> OgcResponse:
        """The error as an OGC exception body (details beside code and description)."""
        body = {**self.details, "code": self.code, "description": self.description}
        return OgcResponse(self.status, {"Content-Type": JSON}, body)


def link(
    href: str, rel: str, media_type: str | None = None, title: str | None = None
) -> dict[str, str]:
    """A link object."""
    out = {"href": href, "rel": rel}
    if media_type is not None:
        out["type"] = media_type
    if title is not None:
        out["title"] = title
    return out


def check_params(request: OgcRequest, allowed: Sequence[str]) -> None:
    """400 for any query parameter not in the API definition (Features Part 1 requirement)."""
    unknown = sorted(set(request.query) - set(allowed))
    if unknown:
        message = request.message(
            "ogc_unknown_params", unknown=", ".join(unknown), allowed=", ".join(allowed)
        )
        raise OgcError(400, "InvalidParameterValue", message)


def check_format(request: OgcRequest) -> None:
    """Only JSON encodings are offered: `f` may be json or geojson."""
    value = request.one("f")
    if value is not None and value.lower() not in ("json", "geojson"):
        raise OgcError(400, "InvalidParameterValue", request.message("ogc_format", value=value))


def parse_int(
    request: OgcRequest, name: str, *, default: int, minimum: int, maximum: int | None = None
) -> int:
    """An integer parameter; values above `maximum` are lowered to it (as Part 1 allows)."""
    raw = request.one(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        message = request.message("ogc_not_integer", name=name, value=raw)
        raise OgcError(400, "InvalidParameterValue", message) from None
    if value < minimum:
        message = request.message("ogc_below_minimum", name=name, value=value, minimum=minimum)
        raise OgcError(400, "InvalidParameterValue", message)
    return min(value, maximum) if maximum is not None else value


def _parse_instant(request: OgcRequest, text: str, *, end: bool) -> dt.datetime | None:
    if text in ("..", ""):
        return None
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            moment = dt.datetime.combine(day, dt.time.max if end else dt.time.min)
            return moment.replace(tzinfo=dt.UTC)
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        message = request.message("ogc_datetime_format", value=text)
        raise OgcError(400, "InvalidParameterValue", message) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def parse_datetime(request: OgcRequest) -> tuple[dt.datetime | None, dt.datetime | None] | None:
    """`datetime` as an instant or a closed/open interval (`a/b`, `../b`, `a/..`), or None."""
    raw = request.one("datetime")
    if raw is None:
        return None
    if "/" in raw:
        start_text, _, end_text = raw.partition("/")
        start = _parse_instant(request, start_text, end=False)
        end = _parse_instant(request, end_text, end=True)
        if start is not None and end is not None and start > end:
            message = request.message("ogc_datetime_order", value=raw)
            raise OgcError(400, "InvalidParameterValue", message)
        return start, end
    start = _parse_instant(request, raw, end=False)
    end = _parse_instant(request, raw, end=True) if len(raw) == 10 else start
    return start, end


def query_string(query: Mapping[str, Sequence[str]], **changes: object) -> str:
    """The query with some parameters replaced (for next/prev links)."""
    merged: dict[str, str] = {k: v[0] for k, v in query.items() if v}
    for key, value in changes.items():
        merged[key] = str(value)
    return urlencode(merged)


def page_links(
    request: OgcRequest, path: str, *, offset: int, limit: int, returned: int, matched: int
) -> list[dict[str, str]]:
    """self/alternate plus next and prev links of an items page."""
    base = f"{request.base_url}{path}"
    links = [
        link(f"{base}?{query_string(request.query, offset=offset, limit=limit)}", "self", GEOJSON),
    ]
    if offset + returned < matched:
        next_query = query_string(request.query, offset=offset + returned, limit=limit)
        links.append(link(f"{base}?{next_query}", "next", GEOJSON, "next page"))
    if offset > 0:
        prev_query = query_string(request.query, offset=max(0, offset - limit), limit=limit)
        links.append(link(f"{base}?{prev_query}", "prev", GEOJSON, "previous page"))
    return links


def landing_page(request: OgcRequest, *, title: str, description: str) -> OgcResponse:
    """The landing page with links to the API definition, conformance and collections."""
    base = request.base_url
    body = {
        "title": title,
        "description": description,
        "links": [
            link(f"{base}/", "self", JSON, "this document"),
            link(request.openapi_url, "service-desc", OPENAPI, "the API definition"),
            link(request.docs_url, "service-doc", HTML, "the API documentation"),
            link(f"{base}/conformance", "conformance", JSON, "conformance classes"),
            link(f"{base}/collections", "data", JSON, "feature collections"),
        ],
    }
    return OgcResponse(200, {"Content-Type": JSON}, body)


def conformance(_request: OgcRequest) -> OgcResponse:
    """The conformance classes implemented."""
    return OgcResponse(200, {"Content-Type": JSON}, {"conformsTo": list(CONFORMANCE)})
