"""`python -m bench`: run every benchmark suite and print its table (what `make bench` runs)."""

from __future__ import annotations

import importlib
import sys

# (suite name, module): each module has `main(argv: list[str]) -> int` that prints its table.
# Append a line per suite; `python -m bench NAME ...` runs only the named suites.
SUITES: list[tuple[str, str]] = [
    ("loading", "bench.loading"),
    ("patrol_routes", "bench.patrol_routes"),
    ("cpmp", "bench.cpmp"),
    ("regions", "bench.regions"),
    ("calendar_shapley", "bench.calendar_shapley"),
    ("carp", "bench.carp"),
    ("service_load", "bench.service_load"),
    ("frontier", "bench.frontier"),
    ("prefecture", "bench.prefecture"),
    ("road_layer", "bench.road_layer"),
    ("patrol_days", "bench.patrol_days"),
    ("council_report", "bench.council_report"),
    ("scenario_api", "bench.scenario_api"),
    ("plan_routing", "bench.plan_routing"),
]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark suites in turn (all, or those named); each prints its own table."""
    wanted = set(sys.argv[1:] if argv is None else argv)
    unknown = wanted - {name for name, _ in SUITES}
    if unknown:
        print(f"unknown suite(s) {sorted(unknown)}; suites: {[n for n, _ in SUITES]}")
        return 2
    status = 0
    for name, module in SUITES:
        if wanted and name not in wanted:
            continue
        print(f"== {name}")
        status = max(status, int(importlib.import_module(module).main([]) or 0))
        print()
    return status


if __name__ == "__main__":
    sys.exit(main())
