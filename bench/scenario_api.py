"""A scenario built through the HTTP API, step by step: time and peak memory of each step.

Two instances, each in a fresh process so that its time and memory are its own:

- **demo**: the four-town Liechtenstein demo files (`gis_data/demo/four_towns.toml` names them);
- **prefecture**: the generated 30-town prefecture of `bench.prefecture` (scale 4: ~16,000
  streets, ~4,800 km, ~20,000 assets).

The scenario TOML is only read to know which files and options a town office would send; the
scenario is then made with the API alone (an in-process app on a fresh SQLite file, requests
through Starlette's test client): ``create`` (POST /scenarios with the towns and populations),
``boundaries`` (PUT .../boundaries), ``uploads`` (one POST .../uploads per asset file or layer,
with its column mapping), ``depots`` (PUT .../depots), ``network osm`` (PUT .../network with
the OSM file), ``first routes`` (POST .../plans/routes, one iteration per solve, until the job
ends; Dask in-process threads, 1 worker) and ``network layer`` (the road assets uploaded once
more as one road centreline layer, a cp932 zipped Shapefile in the metric CRS as towns send
them, then PUT .../network with ``from_layer``; timed without the upload). ``peak MB`` is the
process's peak resident memory during the step (Linux VmHWM, reset before each step).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from bench.carp import _reset_peak_memory, peak_memory_mb

DEMO = Path(__file__).resolve().parents[1] / "gis_data" / "demo" / "four_towns.toml"


def _source_form(source: Any) -> dict[str, str]:
    form = {
        "field": source.field,
        "kind": source.kind,
        "crs": source.crs,
        "encoding": source.encoding,
        "layer": source.layer,
        "lon": source.lon,
        "lat": source.lat,
        "wkt": source.wkt,
        "columns": json.dumps(source.columns, ensure_ascii=False) if source.columns else None,
    }
    return {k: v for k, v in form.items() if v}


def _road_layer(scenario: Any, folder: Path) -> Path:
    """Every road line once more, ids prefixed, as a cp932 zipped Shapefile without .cpg."""
    roads = scenario.assets[
        (scenario.assets["field"] == "road")
        & scenario.assets.geometry.geom_type.isin(["LineString", "MultiLineString"])
    ]
    layer = roads[["asset_id", "geometry"]].to_crs(scenario.metric_crs)
    layer = layer.assign(asset_id="L:" + layer["asset_id"].astype(str))
    shp = folder / "layer"
    shp.mkdir()
    layer.to_file(shp / "roads.shp", encoding="cp932")
    out = folder / "road_layer.zip"
    with zipfile.ZipFile(out, "w") as archive:
        for part in sorted(shp.iterdir()):
            if part.suffix != ".cpg":
                archive.write(part, part.name)
    return out


def run_instance(config: Path, *, workdir: Path) -> list[dict[str, Any]]:
    """Build the scenario of ``config`` through the API; one row per step."""
    from fastapi.testclient import TestClient

    from gis_data.loading.config import read_config
    from gis_data.loading.load import load_scenario
    from service import crud
    from service.config import Settings
    from service.db import get_engine, migrate, session_scope
    from service.jobs import JobRunner
    from service.main import create_app

    cfg = read_config(config)
    loaded = load_scenario(config)
    url = f"sqlite:///{workdir / 'bench.sqlite'}"
    migrate(url)
    settings = Settings(
        DATABASE_URL=url,
        DATA_DIR=workdir / "data",
        MAX_UPLOAD_MB=500.0,
        MAX_UNZIPPED_MB=5000.0,
        DASK_WORKERS=1,
        DASK_PROCESSES=False,
    )
    with session_scope(get_engine(url)) as session:
        _row, key = crud.create_api_key(session=session, role="planner", name="bench")
    headers = {"X-API-Key": key}
    rows: list[dict[str, Any]] = []
    runner = JobRunner(settings)
    api = settings.API_PREFIX

    def step(name: str, action: Any) -> Any:
        _reset_peak_memory()
        started = time.perf_counter()
        result = action()
        row = {
            "step": name,
            "seconds": round(time.perf_counter() - started, 2),
            "peak_mb": round(peak_memory_mb() or 0.0),
        }
        rows.append(row)
        # One line per step as it ends: a run cut short still reports the steps it finished.
        print(json.dumps({"partial": row}), flush=True)
        return result

    def ok(response: Any, *codes: int) -> Any:
        if response.status_code not in (codes or (200,)):
            raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text}")
        return response.json()

    def send(path: Path, url_path: str, form: dict[str, str], method: str = "post") -> Any:
        with path.open("rb") as handle:
            call = getattr(client, method)
            return call(url_path, files={"file": (path.name, handle)}, data=form, headers=headers)

    try:
        with TestClient(create_app(settings, jobs_runner=runner)) as client:
            towns = [
                {
                    "code": str(r.municipality_code),
                    "name": str(r.municipality),
                    "population": None if r.population != r.population else int(r.population),
                }
                for r in loaded.municipalities.itertuples(index=False)
            ]
            sid = step(
                "create",
                lambda: ok(
                    client.post(
                        f"{api}/scenarios",
                        json={"name": loaded.name, "municipalities": towns},
                        headers=headers,
                    ),
                    201,
                )["id"],
            )
            base = f"{api}/scenarios/{sid}"
            assert cfg.boundaries is not None
            bounds = cfg.boundaries
            form = {"code_column": bounds.code_column, "name_column": bounds.name_column or ""}
            step("boundaries", lambda: ok(send(bounds.file, f"{base}/boundaries", form, "put")))

            def uploads() -> int:
                count = 0
                for town in cfg.municipalities:
                    for source in town.sources:
                        form = {"municipality_code": town.code, **_source_form(source)}
                        ok(send(source.file, f"{base}/uploads", form), 201)
                        count += 1
                return count

            files = step("uploads", uploads)
            depots = {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [d.geometry.x, d.geometry.y]},
                        "properties": {
                            "id": str(d.depot_id),
                            "name": str(d.name),
                            "kind": str(d.kind),
                            "municipality_code": d.municipality_code,
                        },
                    }
                    for d in loaded.depots.itertuples(index=False)
                ],
            }
            step("depots", lambda: ok(client.put(f"{base}/depots", json=depots, headers=headers)))
            assert cfg.network_osm is not None
            osm = cfg.network_osm
            summary = step("network osm", lambda: ok(send(osm, f"{base}/network", {}, "put")))

            def routes() -> dict[str, Any]:
                job = client.post(
                    f"{base}/plans/routes",
                    json={"parameters": {"iterations": 1, "date": "2026-04-01"}},
                    headers=headers,
                )
                location = job.headers["Location"]
                while True:
                    state = client.get(location, headers=headers).json()
                    if state["status"] not in ("accepted", "running"):
                        break
                    time.sleep(0.5)
                if state["status"] != "successful":
                    raise RuntimeError(f"routes job {state['status']}: {state['message']}")
                return dict(client.get(f"{location}/results", headers=headers).json())

            result = step("first routes", routes)
            layer_file = _road_layer(loaded, workdir)
            form = {
                "municipality_code": str(towns[0]["code"]),
                "field": "road",
                "kind": "road_segment",
            }
            layer = ok(send(layer_file, f"{base}/uploads", form | {"encoding": "cp932"}), 201)[
                "layer"
            ]
            layered = step(
                "network layer",
                lambda: ok(client.put(
                    f"{base}/network", data={"from_layer": str(layer["id"])}, headers=headers
                )),
            )  # fmt: skip
    finally:
        runner.close()
    notes = {
        "create": f"{len(towns)} towns",
        "uploads": f"{files} files, {len(loaded.assets)} assets",
        "depots": f"{len(loaded.depots)} depots",
        "network osm": f"{summary['nodes']} nodes, {summary['street_km']:.0f} street km,"
        f" {len(summary['cut_off'])} cut-off parts",
        "first routes": f"{result['routes']} crew routes, {result['summary']['unmatched']}"
        " unmatched",
        "network layer": f"{layered['nodes']} nodes, {layered['street_km']:.0f} street km,"
        f" {layered['build']['road_layer']['joins']} joins",
    }
    for row in rows:
        row["note"] = notes.get(row["step"], "")
    return rows


def _child(instance: str) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if instance == "demo":
            config = DEMO
        else:
            from bench.prefecture import write_prefecture

            config = write_prefecture(folder / "prefecture")
        rows = run_instance(config, workdir=folder)
    print(json.dumps(rows))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Print the table of each instance (each built in a fresh process)."""
    parser = argparse.ArgumentParser(prog="python -m bench scenario_api")
    parser.add_argument("--instances", nargs="+", default=["demo", "prefecture"])
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per instance")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args.child)
    print("| instance | step | s | peak MB | note |")
    print("|---|---|---:|---:|---|")
    for instance in args.instances:
        try:
            done = subprocess.run(
                [sys.executable, "-m", "bench.scenario_api", "--child", instance],
                capture_output=True,
                text=True,
                check=False,
                timeout=args.timeout,
            )
            out, failure = done.stdout, done.stderr if done.returncode else ""
        except subprocess.TimeoutExpired as exc:
            raw = exc.stdout or b""
            out = raw.decode() if isinstance(raw, bytes) else raw
            failure = f"stopped after {args.timeout:g} s"
        if failure:
            for line in out.splitlines():
                if line.startswith('{"partial"'):
                    row = json.loads(line)["partial"]
                    print(f"| {instance} | {row['step']} | {row['seconds']} | {row['peak_mb']} | |")
            print(f"| {instance} | failed | | | {failure.strip().splitlines()[-1:]} |")
            continue
        for row in json.loads(out.strip().splitlines()[-1]):
            print(
                f"| {instance} | {row['step']} | {row['seconds']} | {row['peak_mb']} |"
                f" {row['note']} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
