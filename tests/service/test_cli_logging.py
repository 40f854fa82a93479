"""`make run` output stays readable: our progress at INFO, libraries (Dask) only warnings."""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = """
import logging
from service.cli import configure_logging
configure_logging(verbose={verbose})
import distributed  # imported after, as the commands do: Dask reads its logging config now
print(logging.getLogger("service").getEffectiveLevel(),
      logging.getLogger("distributed").getEffectiveLevel(),
      logging.getLogger("distributed.scheduler").isEnabledFor(logging.INFO),
      logging.getLogger("osmnx").isEnabledFor(logging.INFO))
"""


def _levels(verbose: bool) -> list[str]:
    # A clean environment for Dask's logging config (another test may have set it).
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASK_LOGGING")}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(verbose=verbose)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout.split()


def test_libraries_log_warnings_only_unless_verbose():
    service, distributed, scheduler_info, osmnx_info = _levels(False)
    assert int(service) == 20  # INFO: our progress lines
    assert int(distributed) == 30  # WARNING
    assert scheduler_info == "False"  # no Dask INFO flood
    assert osmnx_info == "False"
    service, distributed, scheduler_info, osmnx_info = _levels(True)
    assert int(service) == 10
    assert scheduler_info == "True"
    assert osmnx_info == "True"
