"""Run a planning job through the HTTP API and wait for its results."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient


def run_job(
    client: TestClient,
    url: str,
    headers: dict[str, str],
    parameters: dict,
    *,
    timeout: float = 60,
) -> dict:
    """POST ``parameters`` to a plans URL, poll the job until it ends, return its results."""
    response = client.post(url, json={"parameters": parameters}, headers=headers)
    assert response.status_code == 201, response.text
    job_url = response.headers["Location"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(job_url, headers=headers).json()
        if job["status"] in ("successful", "failed", "dismissed"):
            break
        time.sleep(0.1)
    assert job["status"] == "successful", job["message"]
    return client.get(f"{job_url}/results", headers=headers).json()
