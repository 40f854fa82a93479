"""The regions benchmark's spopt baselines run on planning units and give k contiguous regions."""

from __future__ import annotations

import networkx as nx
import pytest

from bench.regions import HEADER, Row, region_kmeans, skater
from gis_data.planning.evaluate import evaluate_plan
from gis_data.planning.units import build_units
from tests.gis_data import _synthetic as syn


@pytest.fixture(scope="module")
def units():
    return build_units(syn.towns(3), target_km=1.0, area=syn.boundaries(3))


@pytest.mark.parametrize("baseline", [skater, region_kmeans])
def test_baseline_gives_k_contiguous_regions(units, baseline):
    """Each baseline labels every unit, uses k regions, and keeps them connected."""
    labels = baseline(units, 3, 0)
    assert len(labels) == units.n
    assert len(set(labels)) == 3
    g = nx.Graph(units.adjacency)
    for r in set(labels):
        assert nx.is_connected(g.subgraph([i for i, lab in enumerate(labels) if lab == r]))
    row = Row("baseline", evaluate_plan(units, labels), 0.1)
    cells = row.cells()
    assert len(cells) == len(HEADER)
    assert cells[HEADER.index("contiguous")] == "yes"
