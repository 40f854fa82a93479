"""Prefecture-scale benchmark: a generated prefecture, end-to-end plan time and peak memory on Dask.

The instance (`write_prefecture`) is synthetic and documented here so anyone can rebuild it:

- **Towns**: ``towns`` municipalities (30 at scale 4, the size of a Japanese prefecture's
  municipal road patrol, e.g. Tochigi's 25 or Nara's 39), each a square of ``block`` x ``block``
  street blocks, laid out in a mosaic near Utsunomiya (36.55 N, 139.88 E), codes 09901...
- **Roads** (OSM XML, one two-way way per block edge): one street grid over the whole mosaic
  with ``spacing_m`` (300 m) blocks, node positions jittered by up to 15 % of a block (seeded),
  8 % of the local streets removed at random (dead ends and irregular blocks); every 6th
  row and column is a ``secondary`` road, every 18th a ``primary`` road, the rest
  ``residential``. Scale 4 is a 102 x 86 node grid: about 16,000 streets, 4,800 km.
- **Assets** (one GeoJSON per town, EPSG:4326, all three fields): every street of the town is a
  road asset (its own geometry, so matching is exact; ``road_class`` from the highway tag);
  ``rivers`` river-bank sections per town, 40 m beside a random street, and ``parks`` parks as
  points 25 m from a random crossing, 20 min on site. Scale 4: about 20,000 assets.
- **Depots**: a town depot at each town's centre crossing; one contractor yard per four towns.

The pipeline (`run_pipeline`, in a fresh process per run so that time and memory are its own):
load + network + matching (`planning.plan_engine.PlanSetup.load`), contract regions of whole
towns (`choose_regions`, one region per ~4 towns), one full sweep of every asset per region
(`planning.parallel.region_routes`) and a month's patrol calendar with every working day's routes
(`build_patrol_calendar` + `planning.parallel.route_calendar_parallel`). Solves fan out over a
LocalCluster of 1 or 2 worker processes. Peak memory is sampled (psutil, every 0.2 s) as the
summed resident memory of the driver and all its worker processes.

Every solve stops on a count, never on wall time (``--region-iterations`` local search rounds and
a deterministic single-worker CP-SAT for the regions, ``--iterations`` for each routing solve), so
a scale and seed give the same plan with 1 or 2 workers and on a loaded machine. The "plan"
column is a fingerprint of that plan (`plan_fingerprint`); the bench says whether it agrees
across worker counts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from gis_data.planning.day_routes import DayRoutes

LAT0, LON0 = 36.55, 139.88
M_PER_DEG_LAT = 111_320.0
BASE_TOWNS = {1: 8, 2: 15, 4: 30}


def _town_grid(towns: int) -> tuple[int, int]:
    """Columns and rows of the town mosaic (a little wider than high)."""
    cols = math.ceil(math.sqrt(towns * 1.2))
    return cols, math.ceil(towns / cols)


def write_prefecture(
    folder: Path,
    *,
    towns: int = 30,
    block: int = 17,
    spacing_m: float = 300.0,
    rivers: int = 50,
    parks: int = 85,
    seed: int = 0,
) -> Path:
    """Write the generated prefecture (module docstring) into ``folder``; returns the TOML."""
    import geopandas as gpd
    from shapely.geometry import LineString, Point, box

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    cols, rows = _town_grid(towns)
    width, height = cols * block + 1, rows * block + 1
    m_per_deg_lon = M_PER_DEG_LAT * math.cos(math.radians(LAT0))
    jitter = rng.uniform(-0.15, 0.15, size=(height, width, 2)) * spacing_m
    jitter[0, :, :] = jitter[-1, :, :] = jitter[:, 0, :] = jitter[:, -1, :] = 0.0

    def lonlat(i: int, j: int, dx: float = 0.0, dy: float = 0.0) -> tuple[float, float]:
        x = i * spacing_m + jitter[j, i, 0] + dx
        y = j * spacing_m + jitter[j, i, 1] + dy
        return LON0 + x / m_per_deg_lon, LAT0 + y / M_PER_DEG_LAT

    def town_of(i: float, j: float) -> int | None:
        c, r = min(int(i // block), cols - 1), min(int(j // block), rows - 1)
        t = r * cols + c
        return t if t < towns else None

    def highway(line: int) -> str:
        if line % 18 == 0:
            return "primary"
        return "secondary" if line % 6 == 0 else "residential"

    # Streets: (i, j) -> (i + 1, j) along rows, (i, j) -> (i, j + 1) along columns.
    streets: list[tuple[int, int, int, int, str]] = []
    for j in range(height):
        for i in range(width):
            for a, b, line in ((i + 1, j, j), (i, j + 1, i)):
                if a >= width or b >= height:
                    continue
                mid = town_of((i + a) / 2, (j + b) / 2)
                if mid is None:
                    continue
                kind = highway(line)
                if kind == "residential" and rng.random() < 0.08:
                    continue
                streets.append((i, j, a, b, kind))
    used = sorted({(i, j) for s in streets for i, j in (s[:2], s[2:4])})
    node_id = {ij: n + 1 for n, ij in enumerate(used)}
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="gunmane">']
    for (i, j), n in node_id.items():
        lon, lat = lonlat(i, j)
        lines.append(f'<node id="{n}" lat="{lat:.7f}" lon="{lon:.7f}" version="1"/>')
    for w, (i, j, a, b, kind) in enumerate(streets, start=1):
        lines.append(
            f'<way id="{w}" version="1"><nd ref="{node_id[(i, j)]}"/><nd ref="{node_id[(a, b)]}"/>'
            f'<tag k="highway" v="{kind}"/></way>'
        )
    lines.append("</osm>")
    (folder / "roads.osm").write_text("\n".join(lines), encoding="utf-8")

    codes = [f"{9901 + t:05d}" for t in range(towns)]
    names = [f"合成市{t + 1}" for t in range(towns)]
    outlines = []
    for t in range(towns):
        r, c = divmod(t, cols)
        west, south = lonlat(0, 0, c * block * spacing_m - 1, r * block * spacing_m - 1)
        east, north = lonlat(0, 0, (c + 1) * block * spacing_m, (r + 1) * block * spacing_m)
        # The outer edge of the mosaic is grown so border streets lie inside their town.
        pad = 0.6 * spacing_m / m_per_deg_lon
        outlines.append(box(west - pad * (c == 0), south - pad * (r == 0), east + pad, north + pad))
    gpd.GeoDataFrame({"code": codes, "name": names}, geometry=outlines, crs=4326).to_file(
        folder / "towns.geojson"
    )
    per_town: dict[int, list[dict[str, Any]]] = {t: [] for t in range(towns)}
    by_town: dict[int, list[int]] = {t: [] for t in range(towns)}
    for s, (i, j, a, b, kind) in enumerate(streets):
        home = town_of((i + a) / 2, (j + b) / 2)
        assert home is not None
        by_town[home].append(s)
        per_town[home].append(
            {
                "asset_id": f"{codes[home]}-R{len(per_town[home])}",
                "field": "road",
                "kind": "road_segment",
                "road_class": kind,
                "geometry": LineString([lonlat(i, j), lonlat(a, b)]),
            }
        )
    for t in range(towns):
        picks = rng.choice(by_town[t], size=min(rivers, len(by_town[t])), replace=False)
        for n, s in enumerate(sorted(int(p) for p in picks)):
            i, j, a, b, _ = streets[s]
            dx, dy = (0.0, 40.0) if b == j else (40.0, 0.0)
            per_town[t].append(
                {
                    "asset_id": f"{codes[t]}-W{n}",
                    "field": "river",
                    "kind": "river_bank",
                    "road_class": None,
                    "geometry": LineString([lonlat(i, j, dx, dy), lonlat(a, b, dx, dy)]),
                }
            )
        for n in range(parks):
            s = int(rng.choice(by_town[t]))
            i, j = streets[s][:2]
            per_town[t].append(
                {
                    "asset_id": f"{codes[t]}-P{n}",
                    "field": "park",
                    "kind": "park",
                    "road_class": None,
                    "service_minutes": 20.0,
                    "geometry": Point(lonlat(i, j, 25.0, 25.0)),
                }
            )
    toml = [
        f'name = "Generated prefecture ({towns} towns)"',
        "[network]",
        'osm = "roads.osm"',
        "buffer_m = 500",
        "",
        "[boundaries]",
        'file = "towns.geojson"',
        'code_column = "code"',
        'name_column = "name"',
        "",
    ]
    for t in range(towns):
        r, c = divmod(t, cols)
        frame = gpd.GeoDataFrame(per_town[t], geometry="geometry", crs=4326)
        frame.to_file(folder / f"town_{codes[t]}.geojson")
        lon, lat = lonlat(c * block + block // 2, r * block + block // 2)
        toml += [
            "[[municipality]]",
            f'code = "{codes[t]}"',
            f"population = {int(rng.integers(8_000, 120_000))}",
            f'depot = {{ name = "{names[t]} depot", lon = {lon:.7f}, lat = {lat:.7f} }}',
            "",
            "[[municipality.source]]",
            f'file = "town_{codes[t]}.geojson"',
            "",
        ]
    for y in range(0, towns, 4):
        r, c = divmod(y, cols)
        lon, lat = lonlat(c * block + block // 3, r * block + block // 3)
        toml += [
            "[[depot]]",
            f'id = "yard-{y // 4 + 1}"',
            f'name = "Contractor yard {y // 4 + 1}"',
            'kind = "contractor"',
            f"lon = {lon:.7f}",
            f"lat = {lat:.7f}",
            f'municipality_code = "{codes[y]}"',
            "",
        ]
    path = folder / "prefecture.toml"
    path.write_text("\n".join(toml), encoding="utf-8")
    return path


class _PeakMemory:
    """Samples the summed RSS of this process and its children until stopped (MB)."""

    def __init__(self, interval: float = 0.2) -> None:
        import psutil

        self._proc = psutil.Process()
        self._stop = threading.Event()
        self.peak_mb = 0.0
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)
        self._thread.start()

    def _run(self, interval: float) -> None:
        import psutil

        while not self._stop.is_set():
            total = 0
            for p in [self._proc, *self._proc.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    continue
            self.peak_mb = max(self.peak_mb, total / 2**20)
            self._stop.wait(interval)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_mb


def plan_fingerprint(
    asset_region: Mapping[str, str],
    sweep: Mapping[str, DayRoutes],
    days: Iterable[tuple[int, str, DayRoutes]],
) -> str:
    """First 8 hex digits of a sha256 over the region of every asset, each region sweep's route
    km and each day's route km and minutes (rounded to metres and 0.01 min), and the total km."""
    day_list = list(days)
    plan = {
        "regions": sorted(asset_region.items()),
        "sweep": [[r, [round(km, 3) for km in sweep[r].route_km]] for r in sorted(sweep)],
        "days": [
            [
                day,
                region,
                [round(km, 3) for km in r.route_km],
                [round(m, 2) for m in r.route_minutes],
            ]
            for day, region, r in day_list
        ],
        "km": round(sum(r.km for _, _, r in day_list), 3),
    }
    return hashlib.sha256(json.dumps(plan).encode()).hexdigest()[:8]


def run_pipeline(
    config: Path,
    *,
    workers: int,
    regions: int,
    month: str,
    region_iterations: int,
    iterations: int,
    seed: int = 0,
) -> dict[str, Any]:
    """Load, regions, region sweeps and a month's calendar routes; seconds per stage, peak MB
    and the plan's fingerprint."""
    from distributed import Client, LocalCluster

    from gis_data.planning.parallel import region_routes, route_calendar_parallel
    from gis_data.planning.patrol_calendar import build_patrol_calendar
    from gis_data.planning.plan_engine import PlanSetup, choose_regions
    from gis_data.planning.work_calendar import parse_horizon
    from optimizer.stop import MaxIterations

    memory = _PeakMemory()
    out: dict[str, Any] = {"workers": workers}
    started = time.perf_counter()
    setup = PlanSetup.load(config)
    out["load_s"] = time.perf_counter() - started
    out["assets"] = len(setup.scenario.assets)
    out["towns"] = len(setup.scenario.municipalities)
    out["street_km"] = setup.network.summary.street_km
    out["unmatched"] = len(setup.unmatched)
    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        t = time.perf_counter()
        choice = choose_regions(setup, regions, seed=seed, stop=MaxIterations(region_iterations))
        out["regions_s"] = time.perf_counter() - t
        router = setup.router(stop=MaxIterations(iterations), seed=seed)
        t = time.perf_counter()
        sweep = region_routes(setup, choice, router, client=client)
        out["sweep_s"] = time.perf_counter() - t
        out["sweep_km"] = sum(r.km for r in sweep.values())
        t = time.perf_counter()
        calendar = build_patrol_calendar(
            setup.assets,
            parse_horizon(month),
            region_of=choice.asset_region,
            depot_of=choice.region_depot,
            metric_crs=setup.scenario.metric_crs,
            seed=seed,
        )
        out["calendar_s"] = time.perf_counter() - t
        t = time.perf_counter()
        routed = route_calendar_parallel(calendar, router, client=client)
        out["day_routes_s"] = time.perf_counter() - t
        out["day_solves"] = routed.solves
        out["month_km"] = routed.total_km()
        out["plan"] = plan_fingerprint(choice.asset_region, sweep, routed.days)
    out["total_s"] = time.perf_counter() - started
    out["peak_mb"] = memory.stop()
    return out


def _child(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("config", type=Path)
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--regions", type=int, required=True)
    parser.add_argument("--month", required=True)
    parser.add_argument("--region-iterations", type=int, required=True)
    parser.add_argument("--iterations", type=int, required=True)
    args = parser.parse_args(argv)
    row = run_pipeline(
        args.config,
        workers=args.workers,
        regions=args.regions,
        month=args.month,
        region_iterations=args.region_iterations,
        iterations=args.iterations,
    )
    print("RESULT " + json.dumps(row))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Generate each scale and run the pipeline with each worker count; print the table."""
    if argv and argv[0] == "--child":
        return _child(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m bench.prefecture", description=__doc__)
    parser.add_argument("--scales", nargs="*", type=int, default=[1], choices=sorted(BASE_TOWNS))
    parser.add_argument("--workers", nargs="*", type=int, default=[1, 2])
    parser.add_argument("--month", default="2026-06")
    parser.add_argument(
        "--region-iterations", type=int, default=20, help="region local-search rounds"
    )
    parser.add_argument("--iterations", type=int, default=10, help="arc-routing iterations")
    parser.add_argument("--keep", type=Path, help="write the instances here instead of a tempdir")
    args = parser.parse_args(argv)
    print(
        f"{'scale':>5} {'towns':>5} {'assets':>6} {'km':>6} {'wk':>3} {'load':>6} {'regions':>7}"
        f" {'sweep':>6} {'cal':>5} {'days':>6} {'solves':>6} {'total':>7} {'peak MB':>8}"
        f" {'plan':>8} {'loadavg':>9}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        for scale in args.scales:
            towns = BASE_TOWNS[scale]
            config = write_prefecture(base / f"scale{scale}", towns=towns)
            plans: dict[int, str] = {}
            for workers in args.workers:
                cmd = [
                    sys.executable, "-m", "bench.prefecture", "--child", str(config),
                    "--workers", str(workers), "--regions", str(max(1, round(towns / 4))),
                    "--month", args.month, "--region-iterations", str(args.region_iterations),
                    "--iterations", str(args.iterations),
                ]  # fmt: skip
                # The machine's 1-minute load average before and after, as context for the times.
                before = os.getloadavg()[0]
                done = subprocess.run(cmd, capture_output=True, text=True, check=False)
                after = os.getloadavg()[0]
                found = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
                if done.returncode or not found:
                    print(f"scale {scale}, {workers} workers failed:\n{done.stderr[-2000:]}")
                    return 1
                r = json.loads(found[-1][len("RESULT ") :])
                print(
                    f"{scale:>4}x {r['towns']:>5} {r['assets']:>6} {r['street_km']:>6.0f}"
                    f" {workers:>3} {r['load_s']:>6.1f} {r['regions_s']:>7.1f}"
                    f" {r['sweep_s']:>6.1f} {r['calendar_s']:>5.1f} {r['day_routes_s']:>6.1f}"
                    f" {r['day_solves']:>6} {r['total_s']:>7.1f} {r['peak_mb']:>8.0f}"
                    f" {r['plan']:>8} {f'{before:.1f}-{after:.1f}':>9}",
                    flush=True,
                )
                plans[workers] = r["plan"]
            if len(plans) > 1:
                same = len(set(plans.values())) == 1
                print(
                    f"scale {scale}x: plans with {', '.join(map(str, plans))} workers "
                    + ("agree" if same else "DIFFER")
                    + f" ({', '.join(plans.values())})",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
