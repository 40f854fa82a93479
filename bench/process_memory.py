"""Memory of a process and its workers, sampled while it runs (Linux; None elsewhere).

A time-limited arc routing solve forks workers (a second seed, parts side by side), whose memory
the process's own peak (VmHWM) does not count. `TreePeak` samples the proportional set size
(PSS: shared pages split between the processes sharing them, so forked copies are not counted
twice) of the process and all its descendants and keeps the largest sum.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import TracebackType


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return out
    for task in tasks:
        try:
            out.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return out


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text(encoding="ascii").splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def tree_pss_mb(pid: int | None = None) -> float | None:
    """PSS of ``pid`` (default: this process) and every descendant, in MiB (None off Linux)."""
    root = os.getpid() if pid is None else pid
    if not Path(f"/proc/{root}/smaps_rollup").exists():
        return None
    total, todo, seen = 0, [root], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        total += _pss_kib(p)
        todo.extend(_children(p))
    return total / 1024.0


class TreePeak:
    """``with TreePeak() as peak: ...`` then ``peak.mb``: the largest sampled tree PSS.

    One sample a second: reading a 1 GB process's ``smaps_rollup`` takes the kernel about 8 ms,
    so three such processes sampled four times a second took a tenth of a core from the solve
    it measures (the workers' memory stays near its peak for their whole run)."""

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self.mb: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        value = tree_pss_mb()
        if value is not None and (self.mb is None or value > self.mb):
            self.mb = value

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> TreePeak:
        self._sample()
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
