"""Scenarios over HTTP: create, read, list, update with version checks, delete."""

from __future__ import annotations

from fastapi.testclient import TestClient


def _create(client: TestClient, api: str, headers: dict[str, str], name: str = "四町") -> dict:
    body = {
        "name": name,
        "municipalities": [
            {"code": "22219", "name": "下田市"},
            {"code": "22301", "name": "東伊豆町"},
        ],
        "settings": {"crews": 2},
    }
    response = client.post(f"{api}/scenarios", json=body, headers=headers)
    assert response.status_code == 201, response.text
    assert response.headers["Location"] == f"{api}/scenarios/{response.json()['id']}"
    return response.json()


def test_create_read_list_delete(client: TestClient, api: str, planner: dict[str, str]) -> None:
    """A created scenario reads back identically, is listed, and is gone after DELETE."""
    created = _create(client, api, planner)
    assert created["version"] == 1
    assert created["municipalities"][0] == {
        "code": "22219",
        "name": "下田市",
        "population": None,
        "population_year": None,
    }
    read = client.get(f"{api}/scenarios/{created['id']}", headers=planner).json()
    assert read == created
    _create(client, api, planner, name="second")
    listing = client.get(f"{api}/scenarios", headers=planner).json()
    assert listing["count"] == 2
    assert [s["name"] for s in listing["data"]] == ["四町", "second"]
    assert client.delete(f"{api}/scenarios/{created['id']}", headers=planner).status_code == 204
    missing = client.get(f"{api}/scenarios/{created['id']}", headers=planner)
    assert missing.status_code == 404
    assert missing.json()["code"] == "not-found"


def test_update_bumps_version_and_stale_version_conflicts(
    client: TestClient, api: str, planner: dict[str, str]
) -> None:
    """PATCH with the current version succeeds and bumps it; the old version then gets 409."""
    created = _create(client, api, planner)
    url = f"{api}/scenarios/{created['id']}"
    patched = client.patch(url, json={"version": 1, "name": "renamed"}, headers=planner)
    assert patched.status_code == 200, patched.text
    assert patched.json()["version"] == 2
    assert patched.json()["name"] == "renamed"
    assert patched.json()["settings"] == {"crews": 2}  # untouched by PATCH
    stale = client.patch(url, json={"version": 1, "name": "lost update"}, headers=planner)
    assert stale.status_code == 409
    assert stale.json()["code"] == "version-conflict"
    assert stale.json()["details"]["current_version"] == 2
    put = client.put(url, json={"version": 2, "name": "replaced"}, headers=planner)
    assert put.status_code == 200
    assert put.json()["settings"] == {}  # PUT replaces
    assert put.json()["version"] == 3
    assert client.get(url, headers=planner).json()["name"] == "replaced"


def test_invalid_body_is_422_without_internals(
    client: TestClient, api: str, planner: dict[str, str]
) -> None:
    """A body missing the name is refused with a structured 422."""
    response = client.post(f"{api}/scenarios", json={"description": "x"}, headers=planner)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid-request"
    assert any(d["location"][-1] == "name" for d in body["details"])
    assert "Traceback" not in response.text
