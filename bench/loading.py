"""Loading benchmark: demo scenarios and a synthetic 100,000-asset scenario, time and peak memory.

Each scenario is loaded (read, validated, summarised) in a fresh Python process so that its
peak resident memory is its own; the peak includes the interpreter and the geodata libraries.
When ``gis_data.network.graph.build_network`` exists, the road network of scenarios with an OSM
file is built too and timed in its own column. Target (issue 3): all 11 Liechtenstein towns
loaded, validated and networked in under 15 s and 1 GB.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

DEMO = Path(__file__).resolve().parents[1] / "gis_data" / "demo"
SYNTHETIC_TOWNS = 10


def write_synthetic(folder: Path, n_assets: int, *, seed: int = 0) -> Path:
    """Write a synthetic scenario of ``n_assets`` assets in 10 towns near Izu, in three formats.

    Per town: 60 % roads (GeoPackage, EPSG:6676), 20 % river banks (GeoJSON) and 20 % parks
    as points (CSV with lat/lon). Towns are 4 km x 4 km squares side by side. Returns the TOML.
    """
    rng = np.random.default_rng(seed)
    per_town = n_assets // SYNTHETIC_TOWNS
    counts = [
        per_town + (1 if i < n_assets % SYNTHETIC_TOWNS else 0) for i in range(SYNTHETIC_TOWNS)
    ]
    size = 0.04  # degrees, about 4 km
    towns = [
        shapely.box(
            138.8 + size * (i % 5),
            34.7 + size * (i // 5),
            138.8 + size * (i % 5 + 1),
            34.7 + size * (i // 5 + 1),
        )
        for i in range(SYNTHETIC_TOWNS)
    ]
    codes = [f"{22900 + i}" for i in range(SYNTHETIC_TOWNS)]
    gpd.GeoDataFrame(
        {"code": codes, "name": [f"合成町{i + 1}" for i in range(SYNTHETIC_TOWNS)]},
        geometry=towns,
        crs=4326,
    ).to_file(folder / "towns.geojson")
    toml = [
        'name = "synthetic"',
        "[boundaries]",
        'file = "towns.geojson"',
        'code_column = "code"',
        'name_column = "name"',
        "",
    ]
    for i, (town, code, count) in enumerate(zip(towns, codes, counts, strict=True)):
        minx, miny, _, _ = town.bounds
        n_roads, n_rivers = int(count * 0.6), int(count * 0.2)
        n_parks = count - n_roads - n_rivers

        def lines(n: int, length: float, minx: float = minx, miny: float = miny) -> np.ndarray:
            x = minx + rng.uniform(0.002, size - 0.004, n)
            y = miny + rng.uniform(0.002, size - 0.004, n)
            angle = rng.uniform(0, 2 * np.pi, n)
            coords = np.stack(
                [
                    x,
                    y,
                    x + length * np.cos(angle) / 2,
                    y + length * np.sin(angle) / 2,
                    x + length * np.cos(angle),
                    y + length * np.sin(angle),
                ],
                axis=1,
            ).reshape(n, 3, 2)
            return shapely.linestrings(coords)

        roads = gpd.GeoDataFrame(
            {
                "id": [f"{code}-R{j}" for j in range(n_roads)],
                "路線名": [f"町道{j}号線" for j in range(n_roads)],
                "road_class": rng.choice(["residential", "tertiary", "secondary"], n_roads),
            },
            geometry=lines(n_roads, 0.002),
            crs=4326,
        ).to_crs(6676)
        roads.to_file(folder / f"t{i}.gpkg", layer="roads")
        rivers = gpd.GeoDataFrame(
            {"asset_id": [f"{code}-W{j}" for j in range(n_rivers)], "kind": "river_bank"},
            geometry=lines(n_rivers, 0.003),
            crs=4326,
        )
        rivers.to_file(folder / f"t{i}_rivers.geojson")
        pd.DataFrame(
            {
                "asset_id": [f"{code}-P{j}" for j in range(n_parks)],
                "kind": "park",
                "lon": minx + rng.uniform(0.001, size - 0.001, n_parks).round(6),
                "lat": miny + rng.uniform(0.001, size - 0.001, n_parks).round(6),
            }
        ).to_csv(folder / f"t{i}_parks.csv", index=False)
        toml += [
            "[[municipality]]",
            f'code = "{code}"',
            "",
            "[[municipality.source]]",
            f'file = "t{i}.gpkg"',
            'layer = "roads"',
            'field = "road"',
            'kind = "road_segment"',
            'columns = { "id" = "asset_id", "路線名" = "name" }',
            "",
            "[[municipality.source]]",
            f'file = "t{i}_rivers.geojson"',
            'field = "river"',
            "",
            "[[municipality.source]]",
            f'file = "t{i}_parks.csv"',
            'field = "park"',
            "",
        ]
    path = folder / "synthetic.toml"
    path.write_text("\n".join(toml), encoding="utf-8")
    return path


def measure(config: Path) -> dict[str, Any]:
    """Load (and network, when available) one scenario in this process; seconds and peak MB."""
    from gis_data.loading.load import load_scenario
    from gis_data.loading.summary import summarize

    start = time.perf_counter()
    scenario = load_scenario(config)
    summarize(scenario.assets, metric_crs=scenario.metric_crs)
    load_s = time.perf_counter() - start
    network_s: float | None = None
    if scenario.network_path is not None:
        try:
            from gis_data.network import graph as network
        except ImportError:
            network = None  # type: ignore[assignment]
        if network is not None and hasattr(network, "build_network"):
            start = time.perf_counter()
            network.network_for_scenario(scenario, use_cache=False)
            network_s = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "assets": len(scenario.assets),
        "load_s": load_s,
        "network_s": network_s,
        "peak_mb": peak_kb / 1024,
    }


def _measure_in_child(config: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.loading", "--child", str(config)],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def render(rows: list[tuple[str, dict[str, Any]]]) -> str:
    """The benchmark table: scenario, assets, load s, network s, total s, peak MB."""
    header = (
        f"{'scenario':<28} {'assets':>8} {'load s':>7} {'network s':>9} {'total s':>7} "
        f"{'peak MB':>8}"
    )
    lines = ["loading (read + validate + summarise; peak = process RSS)", header, "-" * len(header)]
    for name, r in rows:
        network = "-" if r["network_s"] is None else f"{r['network_s']:.2f}"
        total = r["load_s"] + (r["network_s"] or 0.0)
        lines.append(
            f"{name:<28} {r['assets']:>8,d} {r['load_s']:>7.2f} {network:>9} {total:>7.2f} "
            f"{r['peak_mb']:>8.0f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the loading benchmark and print its table."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.loading", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument(
        "--synthetic", type=int, default=100_000, help="assets in the synthetic scenario"
    )
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(measure(args.child)))
        return 0
    rows = [
        ("demo: four towns", _measure_in_child(DEMO / "four_towns.toml")),
        ("demo: Liechtenstein (11)", _measure_in_child(DEMO / "liechtenstein.toml")),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        config = write_synthetic(Path(tmp), args.synthetic)
        rows.append((f"synthetic {args.synthetic:,d} assets", _measure_in_child(config)))
    print(render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
