"""The walkthrough notebook: stored without outputs, in step with its builder, and it runs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
WALKTHROUGH = NOTEBOOKS / "walkthrough.ipynb"


def _builder():
    spec = importlib.util.spec_from_file_location(
        "build_walkthrough", NOTEBOOKS / "build_walkthrough.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_walkthrough_is_stored_clean_and_matches_its_builder() -> None:
    """No outputs or execution counts in git; the cells are those the builder writes."""
    nb = nbformat.read(WALKTHROUGH, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert [c.source for c in nb.cells] == [c.source for c in _builder().build().cells]


@pytest.mark.slow
@pytest.mark.xdist_group("notebooks")
def test_walkthrough_runs_on_the_demo(demo_dir: Path) -> None:
    """Every cell executes on the four-town demo; the shares and the map are produced."""
    from nbclient import NotebookClient

    nb = nbformat.read(WALKTHROUGH, as_version=4)
    NotebookClient(
        nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    text = "\n".join(
        str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
    )
    assert "assets matched" in text
    assert "core violations" in text
    assert "working days" in text
    last = nb.cells[-1].outputs
    assert any("text/html" in o.get("data", {}) for o in last)
