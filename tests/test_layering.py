"""The layering rule service -> gis_data -> optimizer holds, and optimizer stays pure."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_IN_OPTIMIZER = {
    "geopandas",
    "shapely",
    "pyproj",
    "osmnx",
    "fastapi",
    "folium",
    "sqlalchemy",
    "pandas",
    "dask",
    "gis_data",
    "service",
    "bench",
}


# Run in a child process: on CPython 3.11 ast.parse keeps its recursion counter in state shared
# by threads (cpython gh-106905), and Dask threads left by other tests in this worker may parse
# (pytest rewrites the modules they import) at the same time, failing with SystemError.
_SCAN = """
import ast, json, sys
out = {}
for name in sys.argv[1:]:
    tree = ast.parse(open(name, encoding="utf-8").read())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    out[name] = sorted(found)
print(json.dumps(out))
"""


def _imports_by_file(package: str) -> dict[str, set[str]]:
    """Top-level modules each file of `package` imports, read statically."""
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / package).rglob("*.py"))
    assert files, f"no Python files under {package}/"
    proc = subprocess.run(
        [sys.executable, "-c", _SCAN, *files], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return {name: set(mods) for name, mods in json.loads(proc.stdout).items()}


def test_optimizer_imports_nothing_forbidden() -> None:
    """Every optimizer module, read statically, imports no geo/web/db library and no upper layer."""
    offenders = {
        name: sorted(mods & FORBIDDEN_IN_OPTIMIZER)
        for name, mods in _imports_by_file("optimizer").items()
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_gis_data_does_not_import_service() -> None:
    """gis_data sits below service."""
    offenders = [name for name, mods in _imports_by_file("gis_data").items() if "service" in mods]
    assert offenders == []


def test_import_linter_contracts_hold() -> None:
    """import-linter checks the layers contract in pyproject.toml, including indirect imports."""
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    proc = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
