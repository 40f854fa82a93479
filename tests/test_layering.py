"""The layering rule service -> gis_data -> optimizer holds, and optimizer stays pure."""

from __future__ import annotations

import ast
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


def _imported_top_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_optimizer_imports_nothing_forbidden() -> None:
    """Every optimizer module, read statically, imports no geo/web/db library and no upper layer."""
    offenders = {
        str(p.relative_to(ROOT)): sorted(_imported_top_modules(p) & FORBIDDEN_IN_OPTIMIZER)
        for p in (ROOT / "optimizer").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_gis_data_does_not_import_service() -> None:
    """gis_data sits below service."""
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "gis_data").rglob("*.py")
        if "service" in _imported_top_modules(p)
    ]
    assert offenders == []


def test_import_linter_contracts_hold() -> None:
    """import-linter checks the layers contract in pyproject.toml, including indirect imports."""
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    proc = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
