"""Patrol log (巡回記録): match a GPX track to the road network and report coverage with times.

A contractor's GPS track of a day's patrol is read (tracks, then routes as a fallback), its
points snapped to the nearest edge of the *projected* road graph (`osmnx.distance.nearest_edges`),
and the traversed edges inferred: an edge counts when the points on it span most of its length,
when the track enters and leaves it towards its neighbours, or when it lies on the shortest path
that fills a gap between two matched edges (sparse GPS fixes). Required tasks of the day's plan
(`gis_data.network.patrol_arcs.PatrolTask`) are then marked covered with the first time they were
passed; node tasks (parks, structures) count when the track comes within `NODE_RADIUS_M` of
their access node. A bank walk (a node task ``...#walkN`` at the access node of a river bank no
street runs along) counts only when the track goes along the bank: fixes within `WALK_MATCH_M`
of at least `WALK_ALONG_FRACTION` of the stretch walkable from that node, not when the crew
drives past the access point. Several stored logs give, per asset, the last visit and whether
the contract's patrol interval was kept.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import gpxpy
import gpxpy.gpx
import networkx as nx
import numpy as np
import osmnx as ox
import shapely
import shapely.ops
from pyproj import Transformer

if TYPE_CHECKING:
    from pyproj import CRS
    from shapely.geometry.base import BaseGeometry

    from gis_data.network.graph import RoadNetwork
    from gis_data.network.patrol_arcs import PatrolTask

logger = logging.getLogger(__name__)

MAX_SNAP_M = 30.0  # a fix farther than this from every road is off the network (walking, noise)
MIN_EDGE_FRACTION = 0.5  # share of an edge the fixes on it must span for it to count alone
NODE_RADIUS_M = 60.0  # a node task is visited when a fix comes this close to its access node
WALK_MATCH_M = 30.0  # a fix this close to a bank counts as walking along it
WALK_ALONG_FRACTION = 0.5  # share of the bank stretch the fixes must come along
WALK_SAMPLE_M = 10.0  # the stretch is checked at points this far apart
MAX_DETOUR = 3.0  # a gap is filled only when the path is at most this times the fixes' distance
GAP_SLACK_M = 200.0  # ... plus this, for fixes far apart on a winding road
MAX_GPX_BYTES = 50_000_000


class PatrolLogError(ValueError):
    """A track that cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class TrackPoint:
    """One GPS fix in WGS84, with its time when the file has one."""

    lon: float
    lat: float
    time: dt.datetime | None


@dataclass(frozen=True)
class EdgePass:
    """A traversed graph edge, how it was found (``fixes`` or ``gap``), and when."""

    u: int
    v: int
    key: int
    time: dt.datetime | None
    how: str
    length_m: float


@dataclass(frozen=True)
class TaskCoverage:
    """Whether a required task of the plan was patrolled, and when it was first passed."""

    task_id: str
    kind: str
    name: str
    asset_ids: tuple[str, ...]
    length_m: float
    covered: bool
    time: dt.datetime | None


@dataclass(frozen=True)
class PatrolLogReport:
    """The result of matching one track to the network and to the day's plan."""

    source: str
    n_points: int
    n_matched: int
    start: dt.datetime | None
    end: dt.datetime | None
    track_km: float
    edges: list[EdgePass]
    tasks: list[TaskCoverage]
    asset_visits: dict[str, dt.datetime | None] = field(default_factory=dict)

    @property
    def matched_fraction(self) -> float:
        """Share of fixes within `MAX_SNAP_M` of a road."""
        return self.n_matched / self.n_points if self.n_points else 0.0

    @property
    def covered_tasks(self) -> int:
        """Number of planned tasks patrolled."""
        return sum(t.covered for t in self.tasks)

    @property
    def coverage_pct(self) -> float:
        """Planned tasks patrolled, in percent of the planned tasks (100 when nothing planned)."""
        return 100.0 * self.covered_tasks / len(self.tasks) if self.tasks else 100.0

    @property
    def coverage_km_pct(self) -> float:
        """Planned street length patrolled, in percent of the planned street length."""
        total = sum(t.length_m for t in self.tasks)
        done = sum(t.length_m for t in self.tasks if t.covered)
        return 100.0 * done / total if total > 0 else 100.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (times as ISO 8601 strings)."""

        def iso(x: dt.datetime | None) -> str | None:
            return x.isoformat() if x is not None else None

        return {
            "source": self.source,
            "n_points": self.n_points,
            "n_matched": self.n_matched,
            "matched_fraction": round(self.matched_fraction, 4),
            "start": iso(self.start),
            "end": iso(self.end),
            "track_km": round(self.track_km, 3),
            "planned_tasks": len(self.tasks),
            "covered_tasks": self.covered_tasks,
            "coverage_pct": round(self.coverage_pct, 2),
            "coverage_km_pct": round(self.coverage_km_pct, 2),
            "tasks": [
                {
                    "task_id": t.task_id,
                    "kind": t.kind,
                    "name": t.name,
                    "asset_ids": list(t.asset_ids),
                    "length_m": round(t.length_m, 1),
                    "covered": t.covered,
                    "time": iso(t.time),
                }
                for t in self.tasks
            ],
            "asset_visits": {a: iso(when) for a, when in self.asset_visits.items()},
            "edges": [
                {"u": e.u, "v": e.v, "key": e.key, "time": iso(e.time), "how": e.how}
                for e in self.edges
            ],
        }


def read_gpx(data: bytes | str, *, source: str = "track.gpx") -> list[TrackPoint]:
    """The fixes of a GPX file (all track segments in order; route points when no track).

    Raises PatrolLogError naming ``source`` when the file is not GPX, has no point, or has
    coordinates out of range.
    """
    if isinstance(data, bytes):
        if len(data) > MAX_GPX_BYTES:
            msg = f"{source}: file too large ({len(data)} bytes, at most {MAX_GPX_BYTES})"
            raise PatrolLogError(msg)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            msg = f"{source}: not a GPX file (not UTF-8 text: {exc.reason} at byte {exc.start})"
            raise PatrolLogError(msg) from None
    else:
        text = data
    if not text.strip():
        msg = f"{source}: the file is empty"
        raise PatrolLogError(msg)
    if not re.search(r"<(\w+:)?gpx[\s>]", text[:4096]):
        msg = f"{source}: not a GPX file (no <gpx> root element)"
        raise PatrolLogError(msg)
    try:
        gpx = gpxpy.parse(text)
    except (gpxpy.gpx.GPXException, ValueError) as exc:
        msg = f"{source}: not a GPX file ({exc})"
        raise PatrolLogError(msg) from None
    points: list[TrackPoint] = []
    for track in gpx.tracks:
        for segment in track.segments:
            points += [TrackPoint(p.longitude, p.latitude, p.time) for p in segment.points]
    if not points:
        for route in gpx.routes:
            points += [TrackPoint(p.longitude, p.latitude, p.time) for p in route.points]
    if not points:
        msg = f"{source}: no track point (<trkpt>) in the file"
        raise PatrolLogError(msg)
    for i, p in enumerate(points, start=1):
        if not (-180.0 <= p.lon <= 180.0 and -90.0 <= p.lat <= 90.0):
            msg = f"{source}: point {i}: coordinates out of range (lon {p.lon}, lat {p.lat})"
            raise PatrolLogError(msg)
    return points


def project_network(network: RoadNetwork) -> nx.MultiDiGraph:
    """The road graph projected to the network's metric CRS (done once per network)."""
    return ox.projection.project_graph(network.graph, to_crs=network.metric_crs)


def _to_metric(points: Sequence[TrackPoint], crs: CRS) -> tuple[np.ndarray, np.ndarray]:
    transformer = Transformer.from_crs(4326, crs, always_xy=True)
    xs, ys = transformer.transform([p.lon for p in points], [p.lat for p in points])
    return np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)


def _first_time(times: Iterable[dt.datetime | None]) -> dt.datetime | None:
    known = [t for t in times if t is not None]
    return min(known) if known else None


def _undirected(u: int, v: int) -> tuple[int, int]:
    return (u, v) if u <= v else (v, u)


def _shortest_key(G: nx.MultiDiGraph, u: int, v: int) -> int:
    """The key of the shortest of the parallel edges u -> v."""
    return int(min(G[u][v], key=lambda k: float(G[u][v][k].get("length", 0.0))))


def match_track(
    points: Sequence[TrackPoint],
    network: RoadNetwork,
    *,
    projected: nx.MultiDiGraph | None = None,
    max_snap_m: float = MAX_SNAP_M,
    source: str = "track.gpx",
) -> tuple[list[EdgePass], int, float]:
    """Snap ``points`` to the network and infer the traversed edges.

    Returns the traversed edges in the order first passed, the number of fixes within
    ``max_snap_m`` of a road, and the track length in km.
    """
    if not points:
        msg = f"{source}: no track point"
        raise PatrolLogError(msg)
    G = projected if projected is not None else project_network(network)
    xs, ys = _to_metric(points, network.metric_crs)
    track_km = float(np.hypot(np.diff(xs), np.diff(ys)).sum()) / 1000.0
    edges_arr, dists = ox.distance.nearest_edges(G, xs, ys, return_dist=True)
    near = np.asarray(dists) <= max_snap_m
    n_matched = int(near.sum())
    if n_matched == 0:
        msg = (
            f"{source}: none of the {len(points)} points lies within {max_snap_m:.0f} m of the"
            f" road network of this scenario (nearest {float(np.min(dists)):.0f} m): wrong file"
            " or wrong area?"
        )
        raise PatrolLogError(msg)
    # Positions along each matched edge (m from u), to see how much of it the fixes span.
    spans: dict[tuple[int, int, int], list[float]] = {}
    first_seen: dict[tuple[int, int, int], dt.datetime | None] = {}
    sequence: list[tuple[tuple[int, int, int], int]] = []  # (edge, index of its first fix in run)
    for i in (int(j) for j in np.flatnonzero(near)):
        u, v, k = (int(x) for x in edges_arr[i])
        edge = (u, v, k)
        geom = G.edges[edge]["geometry"]
        spans.setdefault(edge, []).append(float(geom.project(shapely.Point(xs[i], ys[i]))))
        seen = first_seen.get(edge)
        when = points[i].time
        if edge not in first_seen or (when is not None and (seen is None or when < seen)):
            first_seen[edge] = when
        if not sequence or sequence[-1][0] != edge:
            sequence.append((edge, i))
    passes: dict[tuple[int, int], EdgePass] = {}

    def add(edge: tuple[int, int, int], when: dt.datetime | None, how: str) -> None:
        key = _undirected(edge[0], edge[1])
        if key not in passes:
            length = float(G.edges[edge].get("length", 0.0))
            passes[key] = EdgePass(edge[0], edge[1], edge[2], when, how, length)

    for edge, pos in spans.items():
        length = float(G.edges[edge].get("length", 0.0)) or 1.0
        if (max(pos) - min(pos)) / length >= MIN_EDGE_FRACTION:
            add(edge, first_seen[edge], "fixes")
    # An edge the track enters from one neighbour and leaves towards another was driven through.
    for j in range(1, len(sequence) - 1):
        prev_e, edge, next_e = sequence[j - 1][0], sequence[j][0], sequence[j + 1][0]
        ends = {edge[0], edge[1]}
        came = ends & {prev_e[0], prev_e[1]}
        left = ends & {next_e[0], next_e[1]}
        # Entered at one end and left at the other (a fix at a corner touches both streets).
        if any(a != b for a in came for b in left):
            add(edge, first_seen[edge], "fixes")
    # Fill gaps between consecutive matched edges that do not touch (sparse fixes).
    for (a, ia), (b, ib) in itertools.pairwise(sequence):
        if {a[0], a[1]} & {b[0], b[1]} or _undirected(a[0], a[1]) == _undirected(b[0], b[1]):
            continue
        gap_m = math.hypot(xs[ib] - xs[ia], ys[ib] - ys[ia])
        try:
            path = nx.shortest_path(G, a[1], b[0], weight="length")
        except nx.NetworkXNoPath:
            continue
        path_edges = [(p, q, _shortest_key(G, p, q)) for p, q in itertools.pairwise(path)]
        path_m = sum(float(G.edges[e].get("length", 0.0)) for e in path_edges)
        if path_m > MAX_DETOUR * gap_m + GAP_SLACK_M:
            continue
        add(a, first_seen[a], "fixes")
        add(b, first_seen[b], "fixes")
        for e in path_edges:
            add(e, points[ia].time, "gap")
    ordered = sorted(
        passes.values(),
        key=lambda e: (e.time is None, e.time or dt.datetime.min.replace(tzinfo=dt.UTC)),
    )
    return ordered, n_matched, track_km


def _node_visits(
    points: Sequence[TrackPoint], network: RoadNetwork, nodes: Iterable[int]
) -> dict[int, dt.datetime | None]:
    """Access nodes some fix came within `NODE_RADIUS_M` of, with the first such time."""
    wanted = [n for n in dict.fromkeys(nodes) if n in network.graph.nodes]
    if not wanted:
        return {}
    xs, ys = _to_metric(points, network.metric_crs)
    nx_, ny_ = _to_metric(
        [
            TrackPoint(network.graph.nodes[n]["x"], network.graph.nodes[n]["y"], None)
            for n in wanted
        ],
        network.metric_crs,
    )
    out: dict[int, dt.datetime | None] = {}
    for node, x, y in zip(wanted, nx_, ny_, strict=True):
        close = np.flatnonzero(np.hypot(xs - x, ys - y) <= NODE_RADIUS_M)
        if close.size:
            out[node] = _first_time(points[int(i)].time for i in close)
    return out


def is_bank_walk(task_id: str) -> bool:
    """True for the walk tasks `patrol_arcs` makes for banks no street runs along."""
    return "#walk" in task_id


def _bank_walked(
    points: Sequence[TrackPoint],
    network: RoadNetwork,
    task: PatrolTask,
    bank: BaseGeometry,
) -> tuple[bool, dt.datetime | None]:
    """Whether the track went along the part of ``bank`` (EPSG:4326) walked from ``task.u``.

    The walked stretch is the bank within reach of the access node: the task's time is a walk
    there, along and back (``serve_s`` at `WALK_SPEED_KMH`), so nothing beyond half of it in
    metres. Covered when fixes lie within `WALK_MATCH_M` of `WALK_ALONG_FRACTION` of it.
    """
    from gis_data.network.patrol_arcs import WALK_SPEED_KMH

    to_metric = Transformer.from_crs(4326, network.metric_crs, always_xy=True).transform
    line = shapely.ops.transform(to_metric, bank)
    node = network.graph.nodes[task.u]
    nx0, ny0 = to_metric(node["x"], node["y"])
    reach = max(WALK_MATCH_M, float(task.serve_s) * WALK_SPEED_KMH / 3.6 / 2.0)
    stretch = line.intersection(shapely.Point(nx0, ny0).buffer(reach))
    if stretch.is_empty or stretch.length <= 0:
        return False, None
    n = max(2, math.ceil(stretch.length / WALK_SAMPLE_M) + 1)
    parts = [g for g in getattr(stretch, "geoms", [stretch]) if g.length > 0]
    samples: list[shapely.Point] = []
    for part in parts:
        k = max(2, round(n * part.length / stretch.length))
        samples += [part.interpolate(i / (k - 1), normalized=True) for i in range(k)]
    xs, ys = _to_metric(points, network.metric_crs)
    sx = np.array([p.x for p in samples])
    sy = np.array([p.y for p in samples])
    # Distance of every sample to every fix, in blocks to bound memory on long tracks.
    near = np.zeros(len(samples), dtype=bool)
    first: dt.datetime | None = None
    for start in range(0, len(xs), 2000):
        bx, by = xs[start : start + 2000], ys[start : start + 2000]
        d = np.hypot(sx[:, None] - bx[None, :], sy[:, None] - by[None, :]) <= WALK_MATCH_M
        near |= d.any(axis=1)
        hits = np.flatnonzero(d.any(axis=0))
        when = _first_time(points[start + int(i)].time for i in hits)
        if when is not None and (first is None or when < first):
            first = when
    covered = bool(near.mean() >= WALK_ALONG_FRACTION)
    return covered, first if covered else None


def coverage_report(
    points: Sequence[TrackPoint],
    network: RoadNetwork,
    planned: Sequence[PatrolTask],
    *,
    projected: nx.MultiDiGraph | None = None,
    source: str = "track.gpx",
    banks: Mapping[str, BaseGeometry] | None = None,
) -> PatrolLogReport:
    """Match a track and report which of the day's ``planned`` tasks it covered, and when.

    A street task (edge or arc) is covered when the track traversed its graph edge (either
    direction for a two-way street); a node task when a fix came near its access node. A bank
    walk whose bank line is in ``banks`` (asset id -> line in EPSG:4326) is covered only when
    the track went along the bank (see `_bank_walked`); without its line, as a node task. Every
    asset of a covered task is recorded as visited at the task's time.
    """
    edges, n_matched, track_km = match_track(points, network, projected=projected, source=source)
    by_pair = {_undirected(e.u, e.v): e for e in edges}
    node_hits = _node_visits(points, network, [t.u for t in planned if t.kind == "node"])
    tasks: list[TaskCoverage] = []
    visits: dict[str, dt.datetime | None] = {}
    for task in planned:
        bank = next((banks[a] for a in task.asset_ids if banks and a in banks), None)
        if task.kind == "node" and is_bank_walk(task.task_id) and bank is not None:
            covered, when = _bank_walked(points, network, task, bank)
        elif task.kind == "node":
            covered = task.u in node_hits
            when = node_hits.get(task.u)
        else:
            hit = by_pair.get(_undirected(task.u, task.v))
            covered = hit is not None
            when = hit.time if hit is not None else None
        tasks.append(
            TaskCoverage(
                task.task_id, task.kind, task.name, task.asset_ids, task.length_m, covered, when
            )
        )
        if covered:
            for asset in task.asset_ids:
                if asset not in visits or (
                    when is not None and (visits[asset] is None or when < visits[asset])  # type: ignore[operator]
                ):
                    visits[asset] = when
    times = [p.time for p in points if p.time is not None]
    return PatrolLogReport(
        source=source,
        n_points=len(points),
        n_matched=n_matched,
        start=min(times) if times else None,
        end=max(times) if times else None,
        track_km=track_km,
        edges=edges,
        tasks=tasks,
        asset_visits=visits,
    )


@dataclass(frozen=True)
class FrequencyStatus:
    """Whether an asset's contract patrol interval was kept, from the stored patrol logs."""

    asset_id: str
    interval_days: float
    visits: int
    last_visit: dt.datetime | None
    days_since: float | None
    longest_gap_days: float | None
    overdue: bool


def frequency_status(
    visits: Mapping[str, Sequence[dt.datetime]],
    intervals: Mapping[str, float],
    *,
    as_of: dt.datetime,
    since: dt.datetime | None = None,
) -> list[FrequencyStatus]:
    """Per asset with a contract interval: visits, last visit, longest gap, overdue at ``as_of``.

    ``visits`` maps asset ids to the visit times found in the stored logs; ``since`` (the
    contract start) counts as the start of the first gap. An asset is overdue only when a full
    interval has passed since its last visit, or, never visited, since ``since``; with no
    contract start known a never-visited asset is not called overdue (nothing to count from).
    """
    out: list[FrequencyStatus] = []
    for asset_id, interval in sorted(intervals.items()):
        if not interval or interval != interval or interval <= 0:
            continue
        times = sorted(t for t in visits.get(asset_id, ()) if t <= as_of)
        marks = ([since] if since is not None else []) + times + [as_of]
        gaps = [(b - a).total_seconds() / 86400.0 for a, b in itertools.pairwise(marks)]
        last = times[-1] if times else None
        days_since = (as_of - last).total_seconds() / 86400.0 if last is not None else None
        if last is not None:
            overdue = days_since is not None and days_since > interval
        else:
            overdue = since is not None and (as_of - since).total_seconds() / 86400.0 > interval
        out.append(
            FrequencyStatus(
                asset_id=asset_id,
                interval_days=float(interval),
                visits=len(times),
                last_visit=last,
                days_since=days_since,
                longest_gap_days=max(gaps) if gaps else None,
                overdue=overdue,
            )
        )
    return out
