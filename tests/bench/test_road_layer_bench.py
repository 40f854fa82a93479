"""bench.road_layer on a small generated prefecture: every street from the layer, matched."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.prefecture import write_prefecture
from bench.road_layer import _child


def test_small_prefecture_network_from_its_road_layer(tmp_path: Path) -> None:
    config = write_prefecture(tmp_path, towns=3, block=4, rivers=3, parks=4, spacing_m=300.0)
    r = _child(config)
    assert r["towns"] == 3
    assert r["lines"] == r["layer_assets"] > 0  # every road asset went into the layer
    assert (r["joins"], r["scc"], r["cut_off"], r["unmatched"]) == (0, 1, 0, 0)
    # a two-way grid: each street is two directed edges
    assert r["edges"] == pytest.approx(2 * r["lines"], rel=0.02)
    # completed by the prefecture's OSM file: every town junction meets its OSM node
    assert r["connectors"] == r["nodes"]
    assert r["osm_cut_features"] == 0
