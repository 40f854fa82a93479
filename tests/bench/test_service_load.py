"""bench.service_load: the in-process timing loop, wrk output, job tallies and the Dask cluster."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import pytest

from bench.service_load import dask_cluster, in_process_ms, parse_wrk, summarize_jobs
from service import crud
from service.db import get_engine, migrate, session_scope


def test_in_process_ms_times_a_read_and_refuses_errors(tmp_path: Path) -> None:
    """A gis key reads the OGC collections (a positive mean); an unknown key stops the loop."""
    url = f"sqlite:///{tmp_path / 'bench.sqlite'}"
    migrate(url)
    with session_scope(get_engine(url)) as session:
        gis = crud.create_api_key(session=session, role="gis", name="bench")[1]
    assert in_process_ms(url, "/ogc/collections?f=json", gis, repeat=5) > 0
    with pytest.raises(RuntimeError, match="status 401"):
        in_process_ms(url, "/ogc/collections", "gm_00000000_unknown", repeat=5)


def test_parse_wrk_reads_the_result_line_and_refuses_output_without_it() -> None:
    """The Lua script's RESULT line among wrk's own report gives counts, latencies and rate."""
    out = (
        "Running 10s test @ http://127.0.0.1:8000/api/v1/patrols\n"
        "  2 threads and 50 connections\n"
        "RESULT 41230 3 12.500 87.250 4119.870\n"
    )
    assert parse_wrk(out) == (41230, 3, 12.5, 87.25, 4119.87)
    with pytest.raises(RuntimeError, match="no RESULT line"):
        parse_wrk("unable to connect to 127.0.0.1:8000 Connection refused\n")


def _job(status: str, started: str | None = None, finished: str | None = None) -> dict[str, Any]:
    return {"status": status, "started": started, "finished": finished}


def test_summarize_jobs_counts_ended_jobs_and_times_successful_runs() -> None:
    """Jobs ended when wrk stopped count as done; the mean run time is of successful jobs."""
    at_end = [_job("successful"), _job("running"), _job("failed")]
    final = [
        _job("successful", "2026-12-02T18:00:00+00:00", "2026-12-02T18:00:12+00:00"),
        _job("successful", "2026-12-02T18:00:00", "2026-12-02T18:00:20"),
        _job("failed", "2026-12-02T18:00:00", "2026-12-02T18:00:01"),
    ]
    summary = summarize_jobs(at_end, final)
    assert summary.submitted == 3
    assert summary.done_in_window == 2
    assert summary.statuses == {"successful": 2, "failed": 1}
    assert summary.mean_run_s == pytest.approx(16.0)
    assert summary.cell() == "2/3 failed:1,successful:2"
    ok = summarize_jobs([_job("running")], [_job("successful", "2026-12-02T18:00:00")])
    assert ok.cell() == "0/1 ok"
    assert ok.mean_run_s is None
    assert summarize_jobs([], []).cell() == "-"


def test_dask_cluster_starts_worker_processes_and_stops_them(tmp_path: Path) -> None:
    """Two worker processes (not this one) join the scheduler; nothing listens after exit."""
    from distributed import Client

    with dask_cluster(2, 1, tmp_path, warm=False) as address:
        with Client(address, timeout="30s") as client:
            pids = set(client.run(os.getpid).values())
            threads = set(client.nthreads().values())
        assert len(pids) == 2
        assert os.getpid() not in pids
        assert threads == {1}
    host, _, port = address.removeprefix("tcp://").rpartition(":")
    with socket.socket() as s, pytest.raises(ConnectionRefusedError):
        s.connect((host, int(port)))
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
