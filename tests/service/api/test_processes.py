"""OGC API - Processes: descriptions with JSON Schemas, validation at submission, conformance."""

from __future__ import annotations

import jsonschema
import pytest
from fastapi.testclient import TestClient

KINDS = ("summary", "regions", "routes", "calendar", "effects", "cost_shares", "frontier")


@pytest.mark.parametrize("process_id", KINDS)
def test_process_description_lists_inputs_with_schemas(
    client: TestClient, api: str, planner: dict[str, str], process_id: str
) -> None:
    """Every input has a JSON Schema that accepts its default and rejects a wrong type."""
    response = client.get(f"{api}/processes/{process_id}", headers=planner)
    assert response.status_code == 200
    description = response.json()
    inputs = description["inputs"]
    assert inputs["scenario_id"]["minOccurs"] == 1
    assert inputs["scenario_id"]["schema"]["type"] == "integer"
    for name, spec in inputs.items():
        schema = spec["schema"]
        jsonschema.Draft202012Validator.check_schema(schema)
        if "default" in schema:
            jsonschema.validate(schema["default"], schema)
        assert spec["description"], name
    assert "result" in description["outputs"]
    assert any(link["rel"].endswith("/execute") for link in description["links"])


def test_regions_schema_bounds_match_the_validation(
    client: TestClient, api: str, planner: dict[str, str]
) -> None:
    """The published bounds of k are the ones enforced at submission."""
    k = client.get(f"{api}/processes/regions", headers=planner).json()["inputs"]["k"]["schema"]
    assert (k["minimum"], k["maximum"], k["default"]) == (1, 50, 2)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(-3, k)


def test_execution_with_bad_inputs_is_400_listing_each(
    client: TestClient, api: str, planner: dict[str, str]
) -> None:
    """k=-3, an unknown input and a missing scenario are all named in one 400."""
    response = client.post(
        f"{api}/processes/regions/execution",
        json={"inputs": {"k": -3, "frobnicate": 1}},
        headers=planner,
    )
    assert response.status_code == 400
    found = {p["input"] for p in response.json()["details"]}
    assert found == {"k", "frobnicate", "scenario_id"}


def test_conformance_and_landing_page(client: TestClient, api: str) -> None:
    """The Processes classes are listed; the landing page links to conformance and processes."""
    classes = client.get(f"{api}/conformance").json()["conformsTo"]
    base = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/"
    for name in ("core", "json", "ogc-process-description", "job-list", "dismiss"):
        assert base + name in classes
    links = client.get(f"{api}/").json()["links"]
    rels = {link["rel"] for link in links}
    assert "http://www.opengis.net/def/rel/ogc/1.0/conformance" in rels
    assert "http://www.opengis.net/def/rel/ogc/1.0/processes" in rels
    assert "service-desc" in rels
