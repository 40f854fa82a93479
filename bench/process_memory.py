"""Memory of a process and its workers, sampled while it runs (Linux; None elsewhere).

A time-limited arc routing solve forks workers (a second seed, parts side by side), whose memory
the process's own peak (VmHWM) does not count. `TreePeak` samples the proportional set size
(PSS: shared pages split between the processes sharing them, so forked copies are not counted
twice) of the process and all its descendants and keeps the largest sum.

The sampling runs in a separate watcher process (this file run as a script), not in a thread:
the solver forks its workers only when it is the process's one thread (forking a threaded
process can deadlock the child), so a sampling thread silently turned the measured solve into a
one-core solve.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
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


def tree_pss_mb(pid: int | None = None, *, skip: int | None = None) -> float | None:
    """PSS of ``pid`` (default: this process) and every descendant but ``skip``, in MiB (None
    off Linux)."""
    root = os.getpid() if pid is None else pid
    if not Path(f"/proc/{root}/smaps_rollup").exists():
        return None
    total, todo, seen = 0, [root], {skip}
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
    and the workers' memory stays near its peak for their whole run."""

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self.mb: float | None = None
        self._watcher: subprocess.Popen[str] | None = None

    def __enter__(self) -> TreePeak:
        if tree_pss_mb() is None:
            return self  # not on Linux: nothing to sample
        self._watcher = subprocess.Popen(
            [sys.executable, __file__, str(os.getpid()), str(self.interval)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        if self._watcher.stdout is not None:
            self._watcher.stdout.readline()  # "ready": the first sample is taken
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._watcher is None:
            return
        out, _ = self._watcher.communicate()  # closes its stdin: a last sample, then the peak
        lines = out.split()
        self.mb = float(lines[-1]) if lines else None


def _watch(pid: int, interval: float) -> None:
    """The watcher: sample ``pid``'s tree (without itself) every ``interval`` seconds until its
    stdin closes, then print the largest sum in MiB."""
    me = os.getpid()
    peak = tree_pss_mb(pid, skip=me) or 0.0
    print("ready", flush=True)
    while True:
        ready, _, _ = select.select([sys.stdin], [], [], interval)
        value = tree_pss_mb(pid, skip=me) or 0.0
        peak = max(peak, value)
        if ready and not sys.stdin.read(4096):
            break
    print(f"{peak:.1f}", flush=True)


if __name__ == "__main__":
    _watch(int(sys.argv[1]), float(sys.argv[2]))
