"""The framework-neutral OGC core: parameters, links, landing page and conformance, without HTTP."""

from __future__ import annotations

import datetime as dt

import pytest

from service.ogc import core
from service.ogc.core import OgcError, OgcRequest


def _request(**query: str) -> OgcRequest:
    return OgcRequest(
        base_url="http://h/ogc",
        openapi_url="http://h/ogc/api",
        docs_url="http://h/docs",
        query={k.replace("_", "-"): [v] for k, v in query.items()},
    )


def test_landing_page_links() -> None:
    """The landing page links the API definition, conformance and data with their media types."""
    response = core.landing_page(_request(), title="t", description="d")
    assert response.status == 200
    rels = {link["rel"]: link for link in response.body["links"]}
    assert rels["service-desc"]["href"] == "http://h/ogc/api"
    assert rels["service-desc"]["type"] == core.OPENAPI
    assert rels["conformance"]["href"] == "http://h/ogc/conformance"
    assert rels["data"]["href"] == "http://h/ogc/collections"
    assert {"self", "service-doc"} <= set(rels)


def test_conformance_lists_only_what_is_declared() -> None:
    """/conformance returns exactly the declared classes, including Part 1 core and Part 2 CRS."""
    body = core.conformance(_request()).body
    assert body["conformsTo"] == list(core.CONFORMANCE)
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in body["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in body["conformsTo"]


def test_datetime_intervals() -> None:
    """Instants, closed and open intervals; dates cover the whole day; bad values are 400."""
    start, end = core.parse_datetime(_request(datetime="2026-04-01")) or (None, None)
    assert start == dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    assert end is not None
    assert end.date() == dt.date(2026, 4, 1)
    assert end.hour == 23
    open_start = core.parse_datetime(_request(datetime="../2026-04-30T00:00:00Z"))
    assert open_start == (None, dt.datetime(2026, 4, 30, tzinfo=dt.UTC))
    with pytest.raises(OgcError):
        core.parse_datetime(_request(datetime="2026-05-01/2026-04-01"))
    with pytest.raises(OgcError):
        core.parse_datetime(_request(datetime="yesterday"))


def test_limits_and_unknown_parameters() -> None:
    """limit is capped at the maximum, below 1 is refused; unknown parameters are 400."""
    assert (
        core.parse_int(_request(limit="50000"), "limit", default=10, minimum=1, maximum=100) == 100
    )
    assert core.parse_int(_request(), "limit", default=10, minimum=1, maximum=100) == 10
    with pytest.raises(OgcError):
        core.parse_int(_request(limit="0"), "limit", default=10, minimum=1)
    with pytest.raises(OgcError) as unknown:
        core.check_params(_request(colour="red"), ("limit",))
    assert unknown.value.status == 400
    assert "colour" in unknown.value.description


def test_page_links() -> None:
    """next appears while features remain, prev once past the first page; queries are kept."""
    request = _request(bbox="1,2,3,4")
    first = core.page_links(
        request, "/collections/a/items", offset=0, limit=2, returned=2, matched=5
    )
    rels = {link["rel"]: link["href"] for link in first}
    assert "prev" not in rels
    assert "offset=2" in rels["next"]
    assert "bbox=1%2C2%2C3%2C4" in rels["next"]
    last = core.page_links(
        request, "/collections/a/items", offset=4, limit=2, returned=1, matched=5
    )
    rels = {link["rel"]: link["href"] for link in last}
    assert "next" not in rels
    assert "offset=2" in rels["prev"]
