"""The loading benchmark's synthetic scenario and table (timings themselves are not tested)."""

from __future__ import annotations

from pathlib import Path

from bench.loading import measure, render, write_synthetic
from gis_data.loading.load import load_scenario


def test_synthetic_scenario_has_the_requested_assets(tmp_path: Path) -> None:
    """write_synthetic(n) gives exactly n valid assets in 10 towns, 3 fields, Japanese names."""
    scenario = load_scenario(write_synthetic(tmp_path, 503))
    assert len(scenario.assets) == 503
    assert scenario.assets["municipality"].nunique() == 10
    assert set(scenario.assets["field"]) == {"road", "river", "park"}
    assert scenario.assets["name"].dropna().str.startswith("町道").all()
    assert scenario.metric_crs.to_epsg() == 6676


def test_measure_and_render(tmp_path: Path) -> None:
    """measure() reports assets, seconds and peak MB; render() prints one row per scenario."""
    result = measure(write_synthetic(tmp_path, 40))
    assert result["assets"] == 40
    assert result["network_s"] is None
    assert result["load_s"] > 0
    assert result["peak_mb"] > 10
    table = render([("tiny", result)])
    assert table.splitlines()[-1].split()[:2] == ["tiny", "40"]
