"""Write `walkthrough.ipynb` (outputs cleared): `python notebooks/build_walkthrough.py`."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

CELLS: list[tuple[str, str]] = [
    (
        "md",
        """# gunmane walkthrough: four towns bundle their patrols

The order a planner thinks in: **load the towns' assets**, draw **contract regions**, **route**
the crews, lay out a month's **patrol calendar**, estimate the **effects** and the **cost
shares**, and look at it all on a **map**. Data: the four-town demo of Liechtenstein
(`gis_data/demo/four_towns.toml`, OSM © OpenStreetMap contributors, ODbL). Every solve here uses
short, count-based limits so the notebook runs in about a minute and gives the same numbers each
time.""",
    ),
    (
        "code",
        """import logging
from pathlib import Path

import pandas as pd

import gis_data.demo
from gis_data.planning.plan_engine import PlanSetup, choose_regions
from optimizer.stop import MaxIterations

logging.basicConfig(level=logging.WARNING)
DEMO = Path(gis_data.demo.__file__).parent
SEED = 0""",
    ),
    (
        "md",
        """## 1. Load the towns

Each town delivers its assets in its own format (GeoJSON, GeoPackage, zipped Shapefile in
cp932, CSV). Loading validates everything, builds the drivable road network from the local OSM
extract and matches every asset to the streets a patrol car drives.""",
    ),
    (
        "code",
        """setup = PlanSetup.load(DEMO / "four_towns.toml")
assets = setup.assets
print(f"{len(assets)} assets matched, {len(setup.unmatched)} not on the network")
net = setup.network.summary
print(f"road network: {net.nodes} nodes, {net.street_km:.0f} km of streets")
assets.groupby(["municipality", "field"]).size().unstack(fill_value=0)""",
    ),
    (
        "md",
        """## 2. Contract regions

Two regions of whole towns, each served from its contractor yard.""",
    ),
    (
        "code",
        """regions = choose_regions(setup, 2, seed=SEED)
print(regions.method)
pd.Series(regions.asset_region).value_counts().rename("assets").to_frame().assign(
    depot=lambda f: [regions.region_depot[r] for r in f.index]
)""",
    ),
    (
        "md",
        """## 3. Routes

One full pass over every asset of each region, routed by the arc-routing engine on the real
streets (`gis_data.planning.parallel.region_routes`; pass a Dask client as `client=` to solve the regions
in parallel).""",
    ),
    (
        "code",
        """from gis_data.planning.parallel import region_routes

router = setup.router(stop=MaxIterations(5), seed=SEED, keep_geometry=True)
sweep = region_routes(setup, regions, router)
pd.DataFrame(
    {r: {"crews": d.num_routes, "km": round(d.km, 1), "hours": round(d.minutes / 60, 1)}
     for r, d in sweep.items()}
).T""",
    ),
    (
        "md",
        """## 4. A month's patrol calendar

Arterial roads every 2 working days, other roads weekly, river banks and parks monthly (parks
weekly in the growing season); weekends and Japanese holidays are off. Every distinct working day
is routed (identical days reuse the solve).""",
    ),
    (
        "code",
        """from gis_data.planning.plan_settings import PlanSettings
from gis_data.planning.workflows import CalendarRequest, plan_calendar

# The planning layer: a typed request over the scenario, as the CLI and the API jobs call it.
settings = PlanSettings()
request = CalendarRequest(horizon="2026-06", regions=2, iterations=5, seed=SEED)
month = plan_calendar(setup, settings, request, regions=regions).routed
calendar = month.calendar
print(f"{len(calendar.dates)} working days, {month.solves} day solves, {month.reused} reused")
print(f"coverage {calendar.result.coverage:.3f}, {month.crew_days()} crew-days, "
      f"{month.total_km():.0f} km, {month.vehicles()} vehicles")
pd.DataFrame(
    [{"day": calendar.dates[d], "region": r, "crews": x.num_routes, "km": round(x.km, 1)}
     for d, r, x in month.days[:10]]
)""",
    ),
    (
        "md",
        """## 5. Effects and cost shares

The status quo (each town and field patrolled alone from its town depot) against the bundled
plan, with the same calendar rules and the same routing engine; then each town's share of the
bundled cost by the Shapley value and by simple proportional rules, checked against the core
(no group of towns pays more than it would alone).""",
    ),
    (
        "code",
        """from gis_data.planning.workflows import EffectsRequest, compute_effects

effects = compute_effects(
    setup, settings, EffectsRequest(horizon="2026-06", iterations=5, seed=SEED), regions=regions
)
pd.DataFrame(effects.comparison_rows())""",
    ),
    (
        "code",
        """from gis_data.planning.workflows import SharesRequest, compute_shares

shares = compute_shares(
    setup, settings, SharesRequest(horizon="2026-06", iterations=5, sample_days=2, seed=SEED)
)
print(shares.method)
print("core violations:", {rule: len(v) for rule, v in shares.violations.items()})
pd.DataFrame(shares.rows()).set_index("name")[
    ["alone_yen", "shapley_yen", "shapley_saving_yen", "asset_km_yen"]
].round(0)""",
    ),
    (
        "md",
        """## 6. Maps

Regions, assets by field, the routes of region 1's full pass and the depots, with a legend in
Japanese (`lang="en"` for English).""",
    ),
    (
        "code",
        """import geopandas as gpd

from service.maps import plan_map

first = sorted(sweep)[0]
routes = gpd.GeoDataFrame(
    [{"region": first, "route": i + 1, "geometry": r.geometry}
     for i, r in enumerate(sweep[first].traced)],
    geometry="geometry", crs=4326,
)
depots = setup.scenario.depots.to_crs(4326)
towns = setup.scenario.municipalities.rename(
    columns={"municipality_code": "code", "municipality": "name"}
).to_crs(4326)
m, legend = plan_map(
    lang="ja", regions=regions.frame, routes=routes, depots=depots, assets=assets, towns=towns
)
m""",
    ),
]


def build() -> nbformat.NotebookNode:
    """The walkthrough notebook, no outputs."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [new_markdown_cell(s) if k == "md" else new_code_cell(s) for k, s in CELLS]
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i:02d}"  # stable ids: a rebuild changes only the cells that changed
    return nb


if __name__ == "__main__":
    path = Path(__file__).with_name("walkthrough.ipynb")
    nbformat.write(build(), path)
    print(f"wrote {path}")  # noqa: T201
