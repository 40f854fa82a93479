"""bench.process_memory: a forked worker's memory counts in the sampled tree peak, and the
sampling leaves the measured process single-threaded (so the solver still forks its workers)."""

from __future__ import annotations

import multiprocessing
import sys
import threading
import time

import pytest

from bench.process_memory import TreePeak, tree_pss_mb

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _hold(megabytes: int, seconds: float) -> None:
    block = bytearray(megabytes * 2**20)
    for i in range(0, len(block), 4096):  # touch every page so it is resident
        block[i] = 1
    time.sleep(seconds)


def test_a_worker_allocating_200_mib_raises_the_tree_peak() -> None:
    alone = tree_pss_mb()
    assert alone is not None
    assert alone > 1
    ctx = multiprocessing.get_context("fork")
    threads = threading.active_count()  # other tests may have left some
    with TreePeak(interval=0.05) as peak:
        # No sampling thread: the solver forks its workers only as the process's one thread.
        assert threading.active_count() == threads
        worker = ctx.Process(target=_hold, args=(200, 1.5))
        worker.start()
        worker.join()
    assert worker.exitcode == 0
    assert peak.mb is not None
    assert peak.mb >= alone + 150  # the worker's own pages, not the shared ones twice
    after = tree_pss_mb()
    assert after is not None
    assert after < peak.mb - 100
