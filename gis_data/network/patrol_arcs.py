"""Matching assets to the road network: which streets and access nodes a patrol must serve.

Rules (all distances in the scenario's metric CRS):

- **Streets.** Each drivable street is one *street*: a two-way street (two opposite graph edges
  with the same geometry) becomes one required EDGE (served in either direction); a one-way
  street one required ARC (served in its direction only). A two-way street whose road asset has
  ``side = "one"`` (each side needs its own pass) becomes two ARCs, one per direction.
- **Road segments** (and other line assets of the fields road, sewer, other) cover a street when
  the street lies mostly (>= half its length) within `ROAD_BUFFER_M` of the segment, or the
  segment lies mostly along the street. A street covered by several assets (a street split at a
  town border) belongs to the asset covering most of it: that asset's town and field own it.
- **River banks** are served from streets running along them: a street within `BANK_BUFFER_M` of
  the bank for most (>= `BANK_ALONG_FRACTION`) of its length serves the bank. Bank stretches
  no street runs along (>= `MIN_WALK_M`) are walked from the nearest access node: a required
  NODE per stretch of at most `MAX_WALK_PIECE_M` (within `MAX_BANK_ACCESS_M`), with service
  time for walking to the stretch, along it and back at `WALK_SPEED_KMH`.
- **Parks and point structures** (bridges, tunnels, signs) are visited at their nearest access
  node (a required NODE with the asset's service minutes, or the field/kind default).
- Assets that cannot be matched are reported with a reason, never dropped silently.
- **Names.** A street matched to a road asset is named by the town's own name for it (the
  asset's ``name``, 路線名 of the road ledger; the road asset covering most of it first), else
  by the OSM street name; an unnamed street stays "" (the pages give it a generic label).
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from shapely.ops import substring

if TYPE_CHECKING:
    from gis_data.network.graph import RoadNetwork

logger = logging.getLogger(__name__)

ROAD_BUFFER_M = 10.0
ROAD_MIN_FRACTION = 0.5
BANK_BUFFER_M = 35.0
BANK_ALONG_FRACTION = 0.6
MIN_WALK_M = 50.0
MAX_WALK_PIECE_M = 2000.0
WALK_SPEED_KMH = 4.0
MAX_NODE_DISTANCE_M = 500.0
MAX_BANK_ACCESS_M = 800.0  # farther than this is a hike, not a patrol stop

# Patrol speeds (km/h) while serving a street, by field: a crew drives slowly and looks.
DEFAULT_SERVICE_SPEED_KMH: dict[str, float] = {
    "road": 20.0,
    "river": 15.0,
    "sewer": 15.0,
    "other": 20.0,
    "park": 10.0,
}
# Minutes on site for node visits, by kind then by field.
DEFAULT_SERVICE_MINUTES_BY_KIND: dict[str, float] = {
    "park": 20.0,
    "playground": 20.0,
    "bridge": 15.0,
    "tunnel": 15.0,
    "sign": 2.0,
    "light": 2.0,
}
DEFAULT_SERVICE_MINUTES_BY_FIELD: dict[str, float] = {
    "park": 20.0,
    "road": 10.0,
    "river": 10.0,
    "sewer": 10.0,
    "other": 10.0,
}

_LINE_TYPES = ("LineString", "MultiLineString")


@dataclass(frozen=True)
class Street:
    """A street: graph edge ``(u, v, key)`` and, when two-way, its twin ``(v, u, key2)``."""

    street_id: int
    u: int
    v: int
    key: int
    twin_key: int | None
    length_m: float
    travel_time_s: float
    name: str

    @property
    def oneway(self) -> bool:
        """A one-way street has no twin edge in the opposite direction."""
        return self.twin_key is None


@dataclass(frozen=True)
class Unmatched:
    """An asset the network cannot serve, with the reason."""

    asset_id: str
    municipality_code: str
    field: str
    kind: str
    reason: str


@dataclass(frozen=True)
class PatrolTask:
    """A required network element: street (edge/arc) or node, and the assets it serves.

    ``u``, ``v`` are graph node ids (OSM ids); ``key`` is the graph edge key of u -> v (None for
    nodes). ``municipality_code`` and ``field`` are the owner's (the asset covering most of it).
    """

    task_id: str
    kind: str  # "edge" | "arc" | "node"
    u: int
    v: int
    key: int | None
    serve_s: float
    length_m: float
    name: str
    municipality_code: str
    field: str
    asset_ids: tuple[str, ...]
    twin_key: int | None = None  # key of the edge v -> u of a two-way street


@dataclass(frozen=True)
class _AssetInfo:
    municipality_code: str
    field: str
    kind: str
    name: str
    speed_kmh: float
    service_min: float
    side: str = "both"


@dataclass(eq=False)
class Matching:
    """Everything matched once for a scenario; `tasks` builds the task list for any asset subset."""

    network: RoadNetwork
    streets: list[Street]
    assets: dict[str, _AssetInfo]
    road_cover: dict[int, list[tuple[str, float]]]  # street -> [(asset_id, overlap m)] (rel)
    bank_cover: dict[int, list[str]]  # street -> bank asset ids served along it
    node_visits: list[tuple[str, int, float, str]]  # (asset_id, node, service s, label suffix)
    unmatched: list[Unmatched]
    served_by: dict[str, list[str]] = field(default_factory=dict)  # asset -> task ids (all assets)

    def _orphans(self) -> set[str]:
        """Road assets covering streets without owning any (computed once)."""
        found = self.__dict__.get("_orphan_ids")
        if found is None:
            covering = {a for roads in self.road_cover.values() for a, _ in roads}
            owners = {max(r, key=lambda x: x[1])[0] for r in self.road_cover.values() if r}
            found = self.__dict__["_orphan_ids"] = covering - owners
        return set(found)

    def town_name(self, street_id: int) -> str:
        """The town's name for a street (路線名 of the road asset covering most of it), or ""."""
        for asset_id, _ in sorted(self.road_cover.get(street_id, []), key=lambda r: -r[1]):
            info = self.assets.get(asset_id)
            if info is not None and info.field == "road" and info.name:
                return info.name
        return ""

    def street_names(self) -> dict[tuple[int, int, int], str]:
        """Graph edge ``(u, v, key)`` -> the town's name, for both directions of every street
        matched to a named road asset (routes name deadheading steps by it too; computed once)."""
        found = self.__dict__.get("_street_names")
        if found is not None:
            return dict(found)
        names: dict[tuple[int, int, int], str] = {}
        for street in self.streets:
            name = self.town_name(street.street_id)
            if not name:
                continue
            names[(street.u, street.v, street.key)] = name
            if street.twin_key is not None:
                names[(street.v, street.u, street.twin_key)] = name
        self.__dict__["_street_names"] = names
        return dict(names)

    def tasks(
        self, asset_ids: Iterable[str] | None = None, *, orphans: bool = False
    ) -> list[PatrolTask]:
        """Required tasks serving ``asset_ids`` (all matched assets when None).

        A street is required when its owner (the road asset covering most of it) or one of the
        banks it runs along is in the subset; it lists every asset of the subset it serves.
        With ``orphans`` a road asset that owns no street at all (a short piece of a street
        mostly covered by another asset) also requires its streets: a patrol calendar visits it
        on its own days, not only on its streets' owners' days.
        """
        chosen = set(self.assets) if asset_ids is None else set(asset_ids)
        alone = self._orphans() & chosen if orphans else set()
        tasks: list[PatrolTask] = []
        for street in self.streets:
            roads = self.road_cover.get(street.street_id, [])
            banks = [b for b in self.bank_cover.get(street.street_id, []) if b in chosen]
            owner = max(roads, key=lambda r: r[1])[0] if roads else None
            required = owner in chosen or any(a in alone for a, _ in roads)
            road_ids = [a for a, _ in roads if a in chosen] if required else []
            if not road_ids and not banks:
                continue
            served = road_ids + banks
            lead_id = owner if owner in chosen and owner else (road_ids or banks)[0]
            lead = self.assets[lead_id]
            speed = min(self.assets[a].speed_kmh for a in served)
            serve_s = max(street.length_m / (speed / 3.6), street.travel_time_s)
            common = {
                "serve_s": serve_s,
                "length_m": street.length_m,
                "name": self.town_name(street.street_id) or street.name,
                "municipality_code": lead.municipality_code,
                "field": lead.field,
                "asset_ids": tuple(dict.fromkeys(served)),
            }
            # side "one": each side of a two-way street needs its own pass, one per direction.
            per_side = street.twin_key is not None and any(
                self.assets[a].side == "one" for a in road_ids
            )
            if per_side:
                tasks.append(
                    PatrolTask(task_id=f"s{street.street_id}>", kind="arc", u=street.u,
                               v=street.v, key=street.key, **common)  # type: ignore[arg-type]
                )  # fmt: skip
                tasks.append(
                    PatrolTask(task_id=f"s{street.street_id}<", kind="arc", u=street.v,
                               v=street.u, key=street.twin_key, **common)  # type: ignore[arg-type]
                )  # fmt: skip
                continue
            tasks.append(
                PatrolTask(
                    task_id=f"s{street.street_id}",
                    kind="arc" if street.oneway else "edge",
                    u=street.u,
                    v=street.v,
                    key=street.key,
                    twin_key=street.twin_key,
                    **common,  # type: ignore[arg-type]
                )
            )
        for asset_id, node, serve_s, suffix in self.node_visits:
            if asset_id not in chosen:
                continue
            info = self.assets[asset_id]
            label = info.name or f"{info.kind or info.field} {asset_id}"
            tasks.append(
                PatrolTask(
                    task_id=f"n:{asset_id}{suffix}",
                    kind="node",
                    u=node,
                    v=node,
                    key=None,
                    serve_s=serve_s,
                    length_m=0.0,
                    name=f"bank walk: {label}" if suffix.startswith("#walk") else label,
                    municipality_code=info.municipality_code,
                    field=info.field,
                    asset_ids=(asset_id,),
                )
            )
        return tasks

    def unmatched_frame(self) -> list[dict[str, str]]:
        """Unmatched assets as rows (for tables and JSON)."""
        return [u.__dict__.copy() for u in self.unmatched]


@dataclass(frozen=True)
class _OwnLayer:
    """The road layer a network was built from: its streets by source feature id."""

    source: str
    id_column: str | None
    streets: dict[str, list[Street]]
    cut_off: frozenset[str]
    collapsed: frozenset[str]
    required: np.ndarray  # per street: True for the layer's own edges

    @classmethod
    def of(cls, network: RoadNetwork, streets: list[Street]) -> _OwnLayer | None:
        G = network.graph
        layer = G.graph.get("road_layer")
        if not layer:
            return None
        by_feature: dict[str, list[Street]] = defaultdict(list)
        required = np.zeros(len(streets), dtype=bool)
        for street in streets:
            data = G.edges[street.u, street.v, street.key]
            if data.get("source") == "road_layer":
                by_feature[str(data["feature_id"])].append(street)
                required[street.street_id] = bool(data.get("required", True))
        return cls(
            source=str(layer.get("source", "")),
            id_column=layer.get("id_column"),
            streets=dict(by_feature),
            cut_off=frozenset(str(f) for f in G.graph.get("cut_off_features", ())),
            collapsed=frozenset(str(f) for f in G.graph.get("collapsed_features", ())),
            required=required,
        )

    def key_of(self, row: dict[str, Any]) -> str | None:
        """The feature id of an asset loaded from the same file as the network, else None."""
        if str(row.get("source_file", "")) != self.source:
            return None
        if self.id_column is None:
            return str(int(row["source_row"]))
        value = row.get(self.id_column, row.get("asset_id"))  # the id column may be the asset_id
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value)

    def match(
        self,
        asset_id: str,
        info: _AssetInfo,
        key: str,
        road_cover: dict[int, list[tuple[str, float]]],
        reject: Any,
    ) -> None:
        """Cover exactly the streets built from the asset's own feature (no snapping)."""
        mine = self.streets.get(key, [])
        for street in mine:
            road_cover[street.street_id].append((asset_id, street.length_m))
        if mine:
            return
        if key in self.cut_off:
            reject(
                asset_id,
                info,
                f"its road-layer line (feature {key}) is cut off from the main road network"
                " (outside the largest strongly connected component)",
            )
        elif key in self.collapsed:
            reject(
                asset_id,
                info,
                f"its road-layer line (feature {key}) is shorter than the join tolerance and"
                " became a junction",
            )
        else:
            reject(asset_id, info, f"no edge of the road layer {self.source} has feature id {key}")


def streets_of(network: RoadNetwork) -> tuple[list[Street], gpd.GeoDataFrame]:
    """Pair opposite edges into two-way streets; one-way edges stay alone. Also returns the
    street geometries in the metric CRS."""
    G = network.graph
    streets: list[Street] = []
    geoms: list[BaseGeometry] = []
    paired: set[tuple[int, int, int]] = set()
    for u, v, k, data in G.edges(keys=True, data=True):
        if (u, v, k) in paired:
            continue
        twin: int | None = None
        if not data.get("oneway", False):
            for k2, d2 in G.get_edge_data(v, u, default={}).items():
                # a two-way loop (u == v) is two edges u -> u with different keys
                if (v, u, k2) in paired or d2.get("oneway", False) or (u == v and k2 == k):
                    continue
                if abs(float(d2["length"]) - float(data["length"])) < 0.5:
                    twin = k2
                    break
        paired.add((u, v, k))
        if twin is not None:
            paired.add((v, u, twin))
        streets.append(
            Street(
                street_id=len(streets),
                u=int(u),
                v=int(v),
                key=int(k),
                twin_key=None if twin is None else int(twin),
                length_m=float(data["length"]),
                travel_time_s=float(data["travel_time"]),
                name=str(data.get("name") or ""),
            )
        )
        geoms.append(data["geometry"])
    frame = gpd.GeoDataFrame(
        {"street_id": [s.street_id for s in streets]}, geometry=geoms, crs=4326
    ).to_crs(network.metric_crs)
    return streets, frame


def _num(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) and out > 0 else None


def _asset_info(row: Any) -> _AssetInfo:
    fld = str(row.get("field", "other"))
    kind = str(row.get("kind", ""))
    speed = _num(row.get("service_speed_kmh")) or DEFAULT_SERVICE_SPEED_KMH.get(fld, 15.0)
    minutes = _num(row.get("service_minutes"))
    if minutes is None:
        minutes = DEFAULT_SERVICE_MINUTES_BY_KIND.get(
            kind, DEFAULT_SERVICE_MINUTES_BY_FIELD.get(fld, 10.0)
        )
    name = row.get("name")
    return _AssetInfo(
        municipality_code=str(row.get("municipality_code", "")),
        field=fld,
        kind=kind,
        name="" if name is None or (isinstance(name, float) and math.isnan(name)) else str(name),
        speed_kmh=speed,
        service_min=minutes,
        side=str(row.get("side") or "both"),
    )


def match_assets(network: RoadNetwork, assets: gpd.GeoDataFrame) -> Matching:
    """Match every asset of ``assets`` (the schema's GeoDataFrame) to ``network``."""
    streets, street_frame = streets_of(network)
    metric = assets.to_crs(network.metric_crs)
    street_geoms = np.asarray(street_frame.geometry.values)
    street_len = shapely.length(street_geoms)
    street_tree = shapely.STRtree(street_geoms)
    G = network.graph
    node_ids = np.array(list(G.nodes), dtype=np.int64)
    node_pts = (
        gpd.GeoSeries(
            shapely.points(
                [G.nodes[n]["x"] for n in node_ids], [G.nodes[n]["y"] for n in node_ids]
            ),
            crs=4326,
        )
        .to_crs(network.metric_crs)
        .values
    )
    node_tree = shapely.STRtree(np.asarray(node_pts))
    area_metric = gpd.GeoSeries([network.area], crs=4326).to_crs(network.metric_crs).iloc[0]
    cut_off = np.asarray(
        gpd.GeoSeries(list(network.cut_off), crs=4326).to_crs(network.metric_crs).values
    )
    cut_tree = shapely.STRtree(cut_off)

    infos: dict[str, _AssetInfo] = {}
    road_cover: dict[int, list[tuple[str, float]]] = defaultdict(list)
    bank_cover: dict[int, list[str]] = defaultdict(list)
    node_visits: list[tuple[str, int, float, str]] = []
    unmatched: list[Unmatched] = []

    def reject(asset_id: str, info: _AssetInfo, reason: str) -> None:
        unmatched.append(Unmatched(asset_id, info.municipality_code, info.field, info.kind, reason))

    def nearest_node(geom: BaseGeometry, max_m: float) -> tuple[int, float] | None:
        idx, dist = node_tree.query_nearest(geom, max_distance=max_m, return_distance=True)
        if len(idx) == 0:
            return None
        return int(node_ids[int(idx[0])]), float(dist[0])

    own = _OwnLayer.of(network, streets)
    for row in metric.itertuples(index=False):
        rowd = row._asdict()
        asset_id = str(rowd["asset_id"])
        info = _asset_info(rowd)
        infos[asset_id] = info
        geom: BaseGeometry | None = rowd["geometry"]
        if geom is None or geom.is_empty:
            reject(asset_id, info, "empty geometry")
            continue
        if geom.distance(area_metric) > MAX_BANK_ACCESS_M:
            reject(
                asset_id,
                info,
                f"more than {MAX_BANK_ACCESS_M:.0f} m outside the road network's area",
            )
            continue
        is_line = geom.geom_type in _LINE_TYPES
        if is_line and info.field == "river":
            _match_bank(
                asset_id, info, geom, street_geoms, street_len, street_tree, bank_cover,
                node_visits, nearest_node, reject,
            )  # fmt: skip
        elif is_line and info.field != "park":
            key = own.key_of(rowd) if own is not None else None
            if own is not None and key is not None:
                own.match(asset_id, info, key, road_cover, reject)
                continue
            _match_road(
                asset_id, info, geom, street_geoms, street_len, street_tree, road_cover, reject,
                cut_tree, None if own is None else own.required,
            )  # fmt: skip
        else:
            found = nearest_node(geom, MAX_NODE_DISTANCE_M)
            if found is None:
                reject(asset_id, info, f"no road network node within {MAX_NODE_DISTANCE_M:.0f} m")
                continue
            node_visits.append((asset_id, found[0], info.service_min * 60.0, ""))

    rejected = {u.asset_id for u in unmatched}
    matching = Matching(
        network=network,
        streets=streets,
        assets={a: i for a, i in infos.items() if a not in rejected},
        road_cover=dict(road_cover),
        bank_cover=dict(bank_cover),
        node_visits=node_visits,
        unmatched=unmatched,
    )
    # A road asset whose streets all belong to other assets is still served (listed on them).
    for task in matching.tasks():
        for a in task.asset_ids:
            matching.served_by.setdefault(a, []).append(task.task_id)
    logger.info(
        "matched %d of %d assets to %d streets and %d node visits; %d unmatched",
        len(matching.assets),
        len(infos),
        len(set(matching.road_cover) | set(matching.bank_cover)),
        len(node_visits),
        len(unmatched),
    )
    return matching


def _match_road(
    asset_id: str,
    info: _AssetInfo,
    geom: BaseGeometry,
    street_geoms: np.ndarray,
    street_len: np.ndarray,
    street_tree: shapely.STRtree,
    road_cover: dict[int, list[tuple[str, float]]],
    reject: Any,
    cut_tree: shapely.STRtree,
    allowed: np.ndarray | None = None,
) -> None:
    buf = geom.buffer(ROAD_BUFFER_M)
    cand = street_tree.query(buf, predicate="intersects")
    if allowed is not None:  # a town's own network: OSM and connector streets are never claimed
        cand = cand[allowed[cand]]
    length = geom.length
    found = False
    best = 0.0
    # The street the asset lies along best (a very short asset may only qualify this way).
    main: tuple[float, float, int] | None = None
    for s in cand:
        ov_s = shapely.intersection(street_geoms[s], buf).length
        if ov_s <= 0:
            continue
        lies_on_street = ov_s >= ROAD_MIN_FRACTION * street_len[s]
        ov_a = geom.intersection(street_geoms[s].buffer(ROAD_BUFFER_M)).length
        frac = ov_a / length if length else 1.0
        best = max(best, frac)
        # Beyond the end effect: a cross street at the asset's end overlaps the buffer by
        # about one buffer width without running along it.
        along_asset = frac >= ROAD_MIN_FRACTION and ov_s > 2 * ROAD_BUFFER_M
        if lies_on_street or along_asset:
            road_cover[int(s)].append((asset_id, float(ov_s)))
            found = True
        elif frac >= ROAD_MIN_FRACTION and (main is None or (frac, ov_s) > main[:2]):
            main = (frac, float(ov_s), int(s))
    if not found and main is not None:
        road_cover[main[2]].append((asset_id, main[1]))
        found = True
    cut_along = any(
        geom.intersection(cut_tree.geometries[c].buffer(ROAD_BUFFER_M)).length
        >= ROAD_MIN_FRACTION * length
        for c in cut_tree.query(buf, predicate="intersects")
    )
    if not found:
        if cut_along:
            reject(
                asset_id,
                info,
                "its street is cut off from the main road network (outside the largest strongly"
                " connected component of the drivable graph)",
            )
        elif len(cand) == 0:
            dist = float(shapely.distance(street_geoms, geom).min()) if len(street_geoms) else 0
            reject(
                asset_id,
                info,
                f"no drivable street of the connected network within {ROAD_BUFFER_M:.0f} m"
                f" (nearest {dist:.0f} m)",
            )
        else:
            reject(
                asset_id,
                info,
                f"no drivable street runs along it (best {100 * best:.0f} % of its length"
                f" within {ROAD_BUFFER_M:.0f} m of one street)",
            )


def _match_bank(
    asset_id: str,
    info: _AssetInfo,
    geom: BaseGeometry,
    street_geoms: np.ndarray,
    street_len: np.ndarray,
    street_tree: shapely.STRtree,
    bank_cover: dict[int, list[str]],
    node_visits: list[tuple[str, int, float, str]],
    nearest_node: Any,
    reject: Any,
) -> None:
    buf = geom.buffer(BANK_BUFFER_M)
    along: list[int] = []
    for s in street_tree.query(buf, predicate="intersects"):
        ov = shapely.intersection(street_geoms[s], buf).length
        if ov >= BANK_ALONG_FRACTION * street_len[s]:
            along.append(int(s))
            bank_cover[int(s)].append(asset_id)
    covered = shapely.union_all([street_geoms[s].buffer(BANK_BUFFER_M) for s in along])
    rest = geom.difference(covered) if along else geom
    pieces: list[BaseGeometry] = []
    for part in getattr(rest, "geoms", [rest]):
        if part.is_empty or part.geom_type != "LineString":
            continue
        # Short leftovers beside a covered bank are seen from the street; a short bank with no
        # street along it still needs a visit.
        if along and part.length < MIN_WALK_M:
            continue
        n = max(1, math.ceil(part.length / MAX_WALK_PIECE_M))
        step = part.length / n
        pieces.extend(substring(part, i * step, (i + 1) * step) for i in range(n))
    walk_s: dict[int, float] = defaultdict(float)
    failed = 0.0
    for piece in pieces:
        found = nearest_node(piece, MAX_BANK_ACCESS_M)
        if found is None:
            failed += piece.length
            continue
        # Walk from the node to the stretch, along it and back, then back to the node.
        walk_s[found[0]] += 2.0 * (piece.length + found[1]) / (WALK_SPEED_KMH / 3.6)
    for i, (node, seconds) in enumerate(sorted(walk_s.items())):
        node_visits.append((asset_id, node, seconds, f"#walk{i}"))
    if not along and not walk_s:
        reject(
            asset_id,
            info,
            f"no street along the bank within {BANK_BUFFER_M:.0f} m and no access node within"
            f" {MAX_BANK_ACCESS_M:.0f} m",
        )
    elif failed > 0:
        logger.warning(
            "river bank %s: %.0f m farther than %.0f m from any road are not patrolled",
            asset_id,
            failed,
            MAX_BANK_ACCESS_M,
        )
