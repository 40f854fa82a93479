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
    job = wait_for_job(client, job_url, headers, timeout=timeout)
    assert job["status"] == "successful", job["message"]
    return client.get(f"{job_url}/results", headers=headers).json()


def wait_for_job(
    client: TestClient, job_url: str, headers: dict[str, str], *, timeout: float = 60
) -> dict:
    """Poll a job until it is no longer accepted or running; its last status document."""
    deadline = time.monotonic() + timeout
    job = client.get(job_url, headers=headers).json()
    while job["status"] in ("accepted", "running"):
        assert time.monotonic() < deadline, f"job {job_url} did not finish in {timeout} s"
        time.sleep(0.1)
        job = client.get(job_url, headers=headers).json()
    return job
