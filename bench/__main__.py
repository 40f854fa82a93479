"""`python -m bench`: run every benchmark suite and print its table (what `make bench` runs)."""

from __future__ import annotations

import sys


def main() -> int:
    """Run the benchmark suites in turn; each prints its own table."""
    print("no benchmark suites registered yet")
    return 0


if __name__ == "__main__":
    sys.exit(main())
