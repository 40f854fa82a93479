"""Road network from a town's own centreline layer: step times and peak memory.

Two instances, each in a fresh process so that its time and memory are its own:

- **demo**: the four-town Liechtenstein demo (`gis_data/demo/four_towns.toml`);
- **prefecture**: the generated 30-town prefecture of `bench.prefecture` (scale 4, ~16,000
  streets, ~4,800 km).

No town there delivers a 道路台帳, so the layer is made the way a town would hand it over: the
scenario's road assets (lines) written as one zipped Shapefile in the scenario's metric CRS with
cp932 attributes and no ``.cpg``. The road assets are then taken as loaded from that file (their
``source_file`` is the layer's name), so matching covers each asset's own edges.

Steps timed: ``read`` (`read_road_layer`), ``build`` (`build_road_layer_graph`: noding, joins,
one-way, speeds, graph), ``network`` (largest strongly connected part, `RoadLayerGraph.to_network`),
``summary`` (`network_summary` with every asset, the depots and the towns) and ``match``
(`match_assets` of every asset); then ``+osm``: the same layer completed by the scenario's OSM
file (`build_layer_network` with ``osm_path``: OSM read, ``conn`` connectors, reduction), and
``cut lines``: the layer's lines cut off from the network alone -> once completed. ``peak MB``
is the process's peak resident memory (including the scenario load that prepares the
instance). Target for 30 towns: network from the layer (read +
build + network) under 60 s and 2 GB.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

DEMO = Path(__file__).resolve().parents[1] / "gis_data" / "demo" / "four_towns.toml"
LAYER = "road_layer.zip"


def _write_layer(scenario: Any, folder: Path) -> Path:
    """The scenario's road lines as a cp932 zipped Shapefile without .cpg (as towns send them)."""
    roads = scenario.assets[
        (scenario.assets["field"] == "road")
        & scenario.assets.geometry.geom_type.isin(["LineString", "MultiLineString"])
    ]
    columns = ["asset_id", "name"] + (["road_class"] if "road_class" in roads.columns else [])
    layer = roads[[*columns, "geometry"]].to_crs(scenario.metric_crs)
    shp = folder / "shp"
    shp.mkdir(exist_ok=True)
    layer.to_file(shp / "roads.shp", encoding="cp932", engine="pyogrio")
    path = folder / LAYER
    with zipfile.ZipFile(path, "w") as archive:
        for ext in ("shp", "shx", "dbf", "prj"):
            archive.write(shp / f"roads.{ext}", f"roads.{ext}")
    return path


def _child(config: Path) -> dict[str, Any]:
    from gis_data.loading.load import load_scenario
    from gis_data.network.graph import buffered_area
    from gis_data.network.patrol_arcs import match_assets
    from gis_data.network.road_layer import (
        RoadLayerOptions,
        build_layer_network,
        build_road_layer_graph,
        read_road_layer,
    )
    from gis_data.network.summary import network_summary

    scenario = load_scenario(config)
    out: dict[str, Any] = {"towns": len(scenario.municipalities), "assets": len(scenario.assets)}
    with tempfile.TemporaryDirectory() as tmp:
        path = _write_layer(scenario, Path(tmp))
        assets = scenario.assets.copy()
        is_layer = assets["asset_id"].isin(set(read_road_layer(path, encoding="cp932")["asset_id"]))
        assets.loc[is_layer, "source_file"] = LAYER
        start = time.perf_counter()
        lines = read_road_layer(path, encoding="cp932")
        out["read_s"] = time.perf_counter() - start
    options = RoadLayerOptions(
        class_column="road_class" if "road_class" in lines.columns else None,
        name_column="name",
        id_column="asset_id",
        source=LAYER,
    )
    start = time.perf_counter()
    built = build_road_layer_graph(lines, options)
    out["build_s"] = time.perf_counter() - start
    start = time.perf_counter()
    area = buffered_area(
        scenario.municipalities.geometry, scenario.network_buffer_m, scenario.metric_crs
    )
    network = built.to_network(area)
    out["network_s"] = time.perf_counter() - start
    start = time.perf_counter()
    summary = network_summary(
        built.graph, assets=assets, depots=scenario.depots, boundaries=scenario.municipalities
    )
    out["summary_s"] = time.perf_counter() - start
    start = time.perf_counter()
    matching = match_assets(network, assets)
    out["match_s"] = time.perf_counter() - start
    if scenario.network_path is not None:
        # the same layer completed by the scenario's OSM file (read, joins, reduction)
        start = time.perf_counter()
        completed = build_layer_network(lines, options, osm_path=scenario.network_path, area=area)
        out["osm_s"] = time.perf_counter() - start
        assert completed.completion is not None
        out["connectors"] = completed.completion.connectors
        out["osm_cut_features"] = len(completed.network.graph.graph["cut_off_features"])
    out.update(
        lines=len(lines),
        nodes=built.report.nodes,
        edges=built.report.edges,
        street_km=built.report.street_km,
        joins=built.report.joins,
        scc=summary.strongly_connected_components,
        cut_off=len(summary.cut_off),
        unmatched=len(matching.unmatched),
        layer_assets=int(is_layer.sum()),
        cut_features=len(network.graph.graph["cut_off_features"]),
        peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    )
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the demo and the 30-town prefecture, each in its own process; print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.road_layer", description=__doc__)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--towns", type=int, default=30, help="towns of the generated prefecture")
    args = parser.parse_args(argv)
    if args.child is not None:
        print("RESULT " + json.dumps(_child(args.child)), flush=True)
        return 0
    from bench.prefecture import write_prefecture

    print(
        f"{'instance':<12} {'towns':>5} {'lines':>6} {'km':>6} {'nodes':>6} {'joins':>5}"
        f" {'read':>5} {'build':>6} {'network':>7} {'summary':>7} {'match':>6} {'layer→net':>9}"
        f" {'scc':>5} {'cut':>4} {'unmatched':>9} {'+osm':>5} {'conn':>5} {'cut lines':>13}"
        f" {'peak MB':>8}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        instances = [
            ("demo", DEMO),
            (f"{args.towns} towns", write_prefecture(Path(tmp), towns=args.towns)),
        ]
        for name, config in instances:
            cmd = [sys.executable, "-m", "bench.road_layer", "--child", str(config)]
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            found = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
            if done.returncode or not found:
                print(f"{name} failed:\n{done.stderr[-2000:]}")
                return 1
            r = json.loads(found[-1][len("RESULT ") :])
            to_network = r["read_s"] + r["build_s"] + r["network_s"]
            print(
                f"{name:<12} {r['towns']:>5} {r['lines']:>6} {r['street_km']:>6.0f}"
                f" {r['nodes']:>6} {r['joins']:>5} {r['read_s']:>5.1f} {r['build_s']:>6.1f}"
                f" {r['network_s']:>7.1f} {r['summary_s']:>7.1f} {r['match_s']:>6.1f}"
                f" {to_network:>9.1f} {r['scc']:>5} {r['cut_off']:>4} {r['unmatched']:>9}"
                f" {r.get('osm_s', float('nan')):>5.1f} {r.get('connectors', 0):>5}"
                f" {r['cut_features']:>5} -> {r.get('osm_cut_features', 0):>5}"
                f" {r['peak_mb']:>8.0f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
