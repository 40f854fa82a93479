"""Folium maps and the HTML pages around them: plan map, contractor's daily route, planner page."""

from __future__ import annotations

import itertools
import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

import folium
import folium.plugins
from branca.element import CssLink, Figure, JavascriptLink, MacroElement
from jinja2 import Template
from markupsafe import Markup
from shapely.geometry import LineString as LineStringType

from service.i18n import (
    MLIT_N03_ATTRIBUTION,
    OSM_ATTRIBUTION,
    OSM_COPYRIGHT_URL,
    Lang,
    check_lang,
    labels,
    other_lang,
    t,
)
from service.templating import page_environment
from service.templating import render_template as render_template  # re-exported for pages

if TYPE_CHECKING:
    import geopandas as gpd
    from shapely.geometry import LineString

logger = logging.getLogger(__name__)

# Ten distinct region colours (colour-blind friendly first), cycled beyond ten regions.
REGION_COLOURS: Final = (
    "#1b9e77",
    "#d95f02",
    "#7570b3",
    "#e7298a",
    "#66a61e",
    "#e6ab02",
    "#a6761d",
    "#1f78b4",
    "#b2df8a",
    "#fb9a99",
)
FIELD_COLOURS: Final = {
    "road": "#4d4d4d",
    "river": "#1f78b4",
    "park": "#33a02c",
    "sewer": "#6a3d9a",
    "other": "#b15928",
}
SERVE_COLOUR: Final = "#d7301f"
DEADHEAD_COLOUR: Final = "#2b8cbe"
# Where the demo lies, for a map with no data at all.
_DEFAULT_CENTRE: Final = (47.14, 9.52)

# The figures a plan evaluation shows, in order; values may be missing (shown as a dash).
FIGURE_KEYS: Final = (
    "n_regions",
    "balance",
    "max_deviation_pct",
    "contiguous",
    "compactness",
    "cut_edges",
    "patrol_hours",
    "patrol_km",
    "alone_hours",
    "saving_hours",
    "saving_km",
    "effect_vs_siloed_pct",
    "routed_day_hours",
    "routed_day_km",
    "routed_gap_pct",
    "size_ok",
    "unassigned",
)

_ENV: Final = page_environment()


def region_colour(region: object) -> str:
    """The colour of a region: numbered regions 1..k get the palette in order."""
    try:
        index = int(str(region)) - 1
    except ValueError:
        index = sum(ord(c) for c in str(region))
    return REGION_COLOURS[index % len(REGION_COLOURS)]


@dataclass(frozen=True)
class RouteStep:
    """One step of a daily route: a patrolled (serve) or driven-through (deadhead) stretch."""

    kind: Literal["serve", "deadhead"]
    street: str | None
    length_m: float
    minutes: float
    geometry: LineString
    asset_id: str | None = None
    task_id: str | None = None  # the planned task of a stop (what a crew ticks done by hand)


@dataclass(frozen=True)
class Waypoint:
    """A point the crew must stop at (a park, a bridge), in WGS84."""

    name: str
    kind: str
    lon: float
    lat: float


@dataclass(frozen=True)
class DailyRoute:
    """A contractor crew's route for one day, ready to draw and list."""

    region: str
    crew: str
    day: str
    steps: tuple[RouteStep, ...]
    waypoints: tuple[Waypoint, ...] = ()
    depot: tuple[float, float] | None = None  # (lon, lat)

    @property
    def length_km(self) -> float:
        """Total driven length in km."""
        return sum(s.length_m for s in self.steps) / 1000.0

    @property
    def minutes(self) -> float:
        """Total time in minutes."""
        return sum(s.minutes for s in self.steps)


@dataclass(frozen=True)
class MapParts:
    """A rendered Folium map split for embedding in a page: head, body and script."""

    header: Markup
    html: Markup
    script: Markup
    map_name: str
    names: dict[str, str] = field(default_factory=dict)
    tile_layer: str | None = None  # JavaScript name of the background tile layer, if any


def _figure(m: folium.Map) -> Figure:
    root = m.get_root()
    if not isinstance(root, Figure):  # pragma: no cover - folium always roots a Map in a Figure
        msg = "the map is not attached to a Figure"
        raise TypeError(msg)
    return root


@dataclass(frozen=True)
class Tiles:
    """The background tiles of every map: a URL template (empty = no tiles) and its credit.

    A town on a closed network points ``url`` at its own tile server or the GSI's
    (地理院タイル) or turns tiles off; the map then draws its data on a plain background.
    """

    url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    attribution: str = ""
    max_zoom: int = 19

    @classmethod
    def of(cls, settings: Any) -> Tiles:
        """The tiles of the service's settings (``TILE_URL``, ``TILE_ATTRIBUTION``)."""
        url = str(settings.TILE_URL or "").strip()
        off = url.lower() in {"", "off", "none"}
        return cls(
            url="" if off else url,
            attribution=str(settings.TILE_ATTRIBUTION or ""),
            max_zoom=int(settings.TILE_MAX_ZOOM),
        )


OSM_TILES: Final = Tiles()
# Where the vendored browser libraries are served (service/static, mounted by service.main).
STATIC_PREFIX: Final = "/static"
# folium's CDN links by name -> the vendored copy, or None for libraries our maps never use
# (icon markers and Bootstrap widgets): a page on a closed network requests no other host.
_VENDORED: Final[dict[str, str | None]] = {
    "leaflet": "vendor/leaflet/leaflet.js",
    "leaflet_css": "vendor/leaflet/leaflet.css",
    "leaflet_draw_js": "vendor/leaflet-draw/leaflet.draw.js",
    "leaflet_draw_css": "vendor/leaflet-draw/leaflet.draw.css",
    "jquery": None,
    "bootstrap": None,
    "awesome_markers": None,
    "bootstrap_css": None,
    "glyphicons_css": None,
    "awesome_markers_font_css": None,
    "awesome_markers_css": None,
    "awesome_rotate_css": None,
}


def _attribution(*, n03: bool, tiles: Tiles = OSM_TILES) -> str:
    parts = [tiles.attribution] if tiles.attribution else []
    parts.append(f'<a href="{OSM_COPYRIGHT_URL}">{OSM_ATTRIBUTION}</a>')
    if n03:
        parts.append(MLIT_N03_ATTRIBUTION)
    return " | ".join(parts)


def attribution_lines(*, n03: bool) -> list[str]:
    """The attribution texts a page must show under its map."""
    return [OSM_ATTRIBUTION] + ([MLIT_N03_ATTRIBUTION] if n03 else [])


class _MetricScale(MacroElement):
    """Leaflet's scale bar in metres and kilometres only (folium's ``control_scale`` adds feet
    and miles, which a Japanese town office and crew never use), top right: at the bottom the
    map credit runs across a phone's width and covers it."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "L.control.scale({imperial: false, metric: true}).setPosition('topright')"
        ".addTo({{ this._parent.get_name() }});"
        "{% endmacro %}"
    )


def _osm_map(*, zoom_start: int, n03: bool, tiles: Tiles = OSM_TILES) -> folium.Map:
    """An empty map over the configured tiles (or none) with the attribution the page needs."""
    m = folium.Map(location=_DEFAULT_CENTRE, zoom_start=zoom_start, tiles=None)
    _MetricScale().add_to(m)
    if tiles.url:
        folium.TileLayer(
            tiles=tiles.url,
            attr=_attribution(n03=n03, tiles=tiles),
            name="tiles",
            max_zoom=tiles.max_zoom,
            control=False,
        ).add_to(m)
    return m


def _fit_points(m: folium.Map, lats: Sequence[float], lons: Sequence[float]) -> None:
    """Zoom ``m`` to the points drawn (left at the default view when there are none)."""
    if lats:
        m.fit_bounds([[min(lats), min(lons)], [max(lats), max(lons)]])


def _base_map(
    layers: Sequence[gpd.GeoDataFrame | None], *, n03: bool, lang: Lang, tiles: Tiles = OSM_TILES
) -> folium.Map:
    m = _osm_map(zoom_start=12, n03=n03, tiles=tiles)
    bounds = [g.total_bounds for g in layers if g is not None and not g.empty]
    if bounds:
        minx = min(b[0] for b in bounds)
        miny = min(b[1] for b in bounds)
        maxx = max(b[2] for b in bounds)
        maxy = max(b[3] for b in bounds)
        m.fit_bounds([[float(miny), float(minx)], [float(maxy), float(maxx)]])
    _figure(m).header.add_child(folium.Element(f'<meta name="gunmane-lang" content="{lang}">'))
    return m


def _plain(gdf: gpd.GeoDataFrame, columns: Sequence[str]) -> gpd.GeoDataFrame:
    """Only the named columns (those present) as strings, plus geometry: JSON-safe for Folium."""
    keep = [c for c in columns if c in gdf.columns]
    out = gdf[[*keep, "geometry"]].copy()
    for c in keep:
        out[c] = out[c].map(lambda v: "" if v is None or v != v else str(v))
    return out.to_crs(4326) if out.crs is not None else out


def _add_towns(m: folium.Map, towns: gpd.GeoDataFrame, lang: Lang) -> folium.GeoJson:
    data = _plain(towns, ["code", "name"])
    tip_fields = [c for c in ("name", "code") if c in data.columns]
    group = folium.FeatureGroup(name=t("towns", lang), show=True)
    layer = folium.GeoJson(
        data,
        name=t("towns", lang),
        style_function=lambda _f: {
            "color": "#555555",
            "weight": 1.5,
            "fillColor": "#cccccc",
            "fillOpacity": 0.15,
            "dashArray": "4 4",
        },
        tooltip=folium.GeoJsonTooltip(
            fields=tip_fields, aliases=[t("town", lang), "code"][: len(tip_fields)]
        )
        if tip_fields
        else None,
    )
    layer.add_to(group)
    group.add_to(m)
    return layer


def _add_regions(m: folium.Map, regions: gpd.GeoDataFrame, lang: Lang) -> None:
    if "region" not in regions.columns:
        msg = "regions: column 'region' is missing (the region number or name of each polygon)"
        raise ValueError(msg)
    data = _plain(regions, ["region", "name", "workload_hours", "depot"])
    group = folium.FeatureGroup(name=t("regions", lang), show=True)
    folium.GeoJson(
        data,
        style_function=lambda f: {
            "color": region_colour(f["properties"]["region"]),
            "weight": 2,
            "fillColor": region_colour(f["properties"]["region"]),
            "fillOpacity": 0.25,
        },
        tooltip=folium.GeoJsonTooltip(
            fields=[c for c in ("region", "name", "workload_hours", "depot") if c in data.columns],
            aliases=[
                t(k, lang)
                for k, c in (
                    ("region", "region"),
                    ("town", "name"),
                    ("workload_hours", "workload_hours"),
                    ("depot", "depot"),
                )
                if c in data.columns
            ],
        ),
    ).add_to(group)
    group.add_to(m)


# Crew colours on plan maps: apart from the region fills so a route never looks like an area.
CREW_COLOURS: Final = (
    "#e41a1c",
    "#377eb8",
    "#4daf4a",
    "#984ea3",
    "#ff7f00",
    "#a65628",
    "#f781bf",
    "#000000",
    "#17becf",
    "#808000",
)


def _crew_key(props: Mapping[str, Any]) -> str:
    return f"{props.get('region') or ''}/{props.get('crew') or ''}"


def _add_routes(m: folium.Map, routes: gpd.GeoDataFrame, lang: Lang) -> list[tuple[str, str, str]]:
    """Routes coloured by crew (region and crew), driving dashed; returns their legend rows.

    Without a ``crew`` column every route of a region takes the region's colour instead.
    """
    data = _plain(routes, ["region", "crew", "route", "kind", "street"])
    by_crew = "crew" in data.columns
    keys = sorted({_crew_key(r) for r in data.to_dict("records")}) if by_crew else []
    colour_of = {k: CREW_COLOURS[i % len(CREW_COLOURS)] for i, k in enumerate(keys)}

    def colour(props: Mapping[str, Any]) -> str:
        if by_crew:
            return colour_of.get(_crew_key(props), CREW_COLOURS[0])
        return region_colour(props.get("region") or "1")

    group = folium.FeatureGroup(name=t("routes", lang), show=True)

    def style(f: dict[str, Any]) -> dict[str, Any]:
        props = f["properties"]
        deadhead = props.get("kind") == "deadhead"
        return {
            "color": colour(props),
            "weight": 2 if deadhead else 4,
            "opacity": 0.9,
            "dashArray": "6 6" if deadhead else None,
        }

    fields = [c for c in ("region", "crew", "route", "kind", "street") if c in data.columns]
    names = {
        "region": "region",
        "crew": "crew",
        "route": "route",
        "kind": "steps",
        "street": "street",
    }
    folium.GeoJson(
        data,
        style_function=style,
        tooltip=folium.GeoJsonTooltip(
            fields=fields, aliases=[t(names.get(c, c), lang) for c in fields]
        )
        if fields
        else None,
    ).add_to(group)
    group.add_to(m)
    if by_crew:
        rows = []
        for key in keys:
            region, crew = key.split("/", 1)
            label = f"{t('route', lang)}: {t('region', lang)} {region} · {t('crew', lang)} {crew}"
            rows.append(("line", colour_of[key], label))
    else:
        regions = sorted({str(r.get("region") or "1") for r in data.to_dict("records")})
        rows = [
            ("line", region_colour(r), f"{t('route', lang)}: {t('region', lang)} {r}")
            for r in regions
        ]
    if "kind" in data.columns and (data["kind"] == "deadhead").any():
        rows.append(("dash", "#555555", t("deadhead", lang)))
    return rows


def _add_depots(m: folium.Map, depots: gpd.GeoDataFrame, lang: Lang) -> None:
    group = folium.FeatureGroup(name=t("depots", lang), show=True)
    data = depots.to_crs(4326) if depots.crs is not None else depots
    for _, row in data.iterrows():
        point = row.geometry.representative_point()
        label = str(row.get("name") or t("depot", lang))
        region = row.get("region")
        folium.CircleMarker(
            location=[point.y, point.x],
            radius=8,
            color="#000000",
            weight=2,
            fill=True,
            fill_color=region_colour(region) if region is not None else "#ffffff",
            fill_opacity=1.0,
            tooltip=f"{t('depot', lang)}: {label}",
        ).add_to(group)
    group.add_to(m)


def _add_assets(m: folium.Map, assets: gpd.GeoDataFrame, lang: Lang) -> list[str]:
    """One layer per field present; returns the fields drawn."""
    if "field" not in assets.columns:
        msg = "assets: column 'field' is missing (road, river, park, sewer or other)"
        raise ValueError(msg)
    drawn = []
    cols = ["asset_id", "municipality", "field", "kind", "name"]
    for fld in FIELD_COLOURS:
        subset = assets[assets["field"] == fld]
        if subset.empty:
            continue
        colour = FIELD_COLOURS[fld]
        data = _plain(subset, cols)
        group = folium.FeatureGroup(name=f"{t('assets', lang)}: {t('field_' + fld, lang)}")
        tip = [c for c in ("name", "kind", "asset_id", "municipality") if c in data.columns]
        folium.GeoJson(
            data,
            style_function=lambda _f, c=colour: {
                "color": c,
                "weight": 2,
                "fillColor": c,
                "fillOpacity": 0.4,
            },
            marker=folium.CircleMarker(radius=5, fill=True, fill_opacity=0.8, color=colour),
            tooltip=folium.GeoJsonTooltip(fields=tip) if tip else None,
        ).add_to(group)
        group.add_to(m)
        drawn.append(fld)
    return drawn


def legend_entries(
    *,
    lang: Lang,
    region_ids: Sequence[object] = (),
    fields: Sequence[str] = (),
    routes: bool = False,
    depots: bool = False,
) -> list[tuple[str, str, str]]:
    """(kind, colour, label) rows of a map legend: regions, fields, route styles, depots."""
    rows = [("area", region_colour(r), f"{t('region', lang)} {r}") for r in region_ids]
    rows += [("line", FIELD_COLOURS[f], t("field_" + f, lang)) for f in fields]
    if routes:
        rows += [("line", SERVE_COLOUR, t("serve", lang))]
        rows += [("dash", DEADHEAD_COLOUR, t("deadhead", lang))]
    if depots:
        rows += [("point", "#000000", t("depot", lang))]
    return rows


def map_parts(m: folium.Map, **names: str) -> MapParts:
    """Render ``m`` and split it into the pieces a page template places itself."""
    fig = _figure(m)
    fig.render()
    _serve_libraries_locally(fig)
    tile_layer = next(
        (c.get_name() for c in m._children.values() if isinstance(c, folium.TileLayer)), None
    )
    return MapParts(
        header=Markup(fig.header.render()),
        html=Markup(fig.html.render()),
        script=Markup(fig.script.render()),
        map_name=m.get_name(),
        names=dict(names),
        tile_layer=tile_layer,
    )


def _serve_libraries_locally(fig: Figure) -> None:
    """Point folium's CDN script and stylesheet links at the vendored copies (or drop them).

    Raises ValueError for a link to another host that has no local copy: a page must work on
    a closed network, so a new folium feature needs its library vendored first.
    """
    children = fig.header._children
    for name in list(children):
        child = children[name]
        if not isinstance(child, JavascriptLink | CssLink):
            continue
        url = str(child.url)
        if not url.startswith(("http://", "https://", "//")):
            continue
        if name not in _VENDORED:
            msg = f"map library {name!r} ({url}) is not vendored under service/static/vendor"
            raise ValueError(msg)
        local = _VENDORED[name]
        if local is None:
            del children[name]
        else:
            child.url = f"{STATIC_PREFIX}/{local}"


def plan_map(
    *,
    lang: str = "ja",
    regions: gpd.GeoDataFrame | None = None,
    routes: gpd.GeoDataFrame | None = None,
    depots: gpd.GeoDataFrame | None = None,
    assets: gpd.GeoDataFrame | None = None,
    towns: gpd.GeoDataFrame | None = None,
    n03: bool = False,
    tiles: Tiles = OSM_TILES,
) -> tuple[folium.Map, list[tuple[str, str, str]]]:
    """A plan map: towns, regions coloured, assets by field, routes, depots, with a layer control.

    Parameters
    ----------
    lang
        ``"ja"`` or ``"en"``: the language of layer names, tooltips and legend.
    regions
        Polygons with a ``region`` column (number or name), optional ``name``, ``workload_hours``.
    routes
        Lines with optional ``region``, ``route``, ``kind`` (serve | deadhead), ``street``.
    depots
        Points with optional ``name`` and ``region``.
    assets
        The asset table (gis_data schema): drawn in one layer per ``field``.
    towns
        Municipal boundaries with ``code`` and ``name``.
    n03
        True when the town boundaries are MLIT N03 data: adds its required attribution.
    tiles
        The background tiles (``Tiles(url="")`` for none).

    Returns
    -------
    The map and its legend rows (see :func:`legend_entries`).
    """
    language = check_lang(lang)
    m = _base_map([regions, routes, depots, assets, towns], n03=n03, lang=language, tiles=tiles)
    if towns is not None and not towns.empty:
        _add_towns(m, towns, language)
    region_ids: list[object] = []
    if regions is not None and not regions.empty:
        _add_regions(m, regions, language)
        region_ids = sorted(set(regions["region"].tolist()), key=str)
    fields = _add_assets(m, assets, language) if assets is not None and not assets.empty else []
    route_rows: list[tuple[str, str, str]] = []
    if routes is not None and not routes.empty:
        route_rows = _add_routes(m, routes, language)
    has_depots = depots is not None and not depots.empty
    if depots is not None and has_depots:
        _add_depots(m, depots, language)
    folium.LayerControl(collapsed=False).add_to(m)
    legend = legend_entries(lang=language, region_ids=region_ids, fields=fields)
    legend += route_rows
    legend += legend_entries(lang=language, depots=has_depots)
    return m, legend


def plan_map_html(*, title: str, lang: str = "ja", **layers: Any) -> str:
    """The full plan map page: :func:`plan_map` with a title, legend and attribution footer."""
    language = check_lang(lang)
    m, legend = plan_map(lang=language, **layers)
    return _ENV.get_template("plan_map.html").render(
        lang=language,
        other_lang=other_lang(language),
        t=labels(language),
        title=title,
        map=map_parts(m),
        legend=legend,
        attributions=attribution_lines(n03=bool(layers.get("n03"))),
    )


# Steps shorter than this (a crossing, a few metres of another street) join the step before:
# the crew reads streets, not graph edges.
MERGE_MIN_M: Final = 40.0
# One direction arrow about every this many metres of route (at most MAX_ARROWS).
ARROW_EVERY_M: Final = 400.0
MAX_ARROWS: Final = 60
STOP_COLOUR: Final = "#6a3d9a"
START_COLOUR: Final = "#1a9850"
END_COLOUR: Final = "#000000"


def _join(a: RouteStep, b: RouteStep) -> RouteStep:
    """Two consecutive steps as one: patrol if either patrols, lengths and times added."""
    coords_a = list(a.geometry.coords) if not a.geometry.is_empty else []
    coords_b = list(b.geometry.coords) if not b.geometry.is_empty else []
    coords = coords_a + (coords_b[1:] if coords_a and coords_b else coords_b)
    ids = [i for i in (a.asset_id, b.asset_id) if i]
    return RouteStep(
        kind="serve" if "serve" in (a.kind, b.kind) else "deadhead",
        street=a.street or b.street,
        length_m=a.length_m + b.length_m,
        minutes=a.minutes + b.minutes,
        geometry=LineStringType(coords) if len(coords) >= 2 else a.geometry,
        asset_id=", ".join(ids) or None,
    )


def merge_steps(steps: Sequence[RouteStep], *, min_m: float = MERGE_MIN_M) -> tuple[RouteStep, ...]:
    """The steps as a crew reads them: consecutive steps on one street as one step.

    A step shorter than ``min_m`` on another street joins the step before it; stops (node
    visits, zero length) are never merged.
    """
    out: list[RouteStep] = []
    for step in steps:
        prev = out[-1] if out and out[-1].length_m > 0 else None
        if step.length_m > 0 and prev is not None:
            same = (prev.street or None) == (step.street or None)
            if same or step.length_m < min_m:
                out[-1] = _join(prev, step)
                continue
        out.append(step)
    return tuple(out)


def format_distance(metres: float, lang: Lang) -> str:
    """A distance as a crew reads it: metres to 10 m below 1 km, else km to 0.1."""
    if metres < 1000:
        return f"{max(10, round(metres / 10) * 10):.0f} m" if metres > 0 else "—"
    return f"{metres / 1000:.1f} km"


def format_minutes(minutes: float, lang: Lang) -> str:
    """Minutes as whole numbers (``<1`` below one); hours and minutes from an hour on."""
    if minutes < 1:
        return "<1 " + t("min", lang)
    whole = round(minutes)
    if whole < 60:
        return f"{whole} {t('min', lang)}"
    return t("hours_minutes", lang).format(h=whole // 60, m=whole % 60)


def _bearing(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Compass bearing (degrees clockwise from north) from lon/lat ``a`` to ``b``."""
    dx = (b[0] - a[0]) * math.cos(math.radians((a[1] + b[1]) / 2))
    dy = b[1] - a[1]
    return math.degrees(math.atan2(dx, dy)) % 360


def _arrow_points(
    lines: Sequence[Sequence[tuple[float, float]]],
) -> list[tuple[float, float, float]]:
    """(lon, lat, bearing) every ARROW_EVERY_M along the drawn route (direction of travel)."""
    total = 0.0
    segments: list[tuple[tuple[float, float], tuple[float, float], float]] = []
    for coords in lines:
        for a, b in itertools.pairwise(coords):
            metres = math.dist(
                (a[0] * 111_320 * math.cos(math.radians(a[1])), a[1] * 110_540),
                (b[0] * 111_320 * math.cos(math.radians(a[1])), b[1] * 110_540),
            )
            if metres > 0:
                segments.append((a, b, metres))
                total += metres
    if not segments:
        return []
    every = max(ARROW_EVERY_M, total / MAX_ARROWS)
    out = []
    walked, next_at = 0.0, every / 2
    for a, b, metres in segments:
        while next_at <= walked + metres:
            f = (next_at - walked) / metres
            out.append((a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), _bearing(a, b)))
            next_at += every
        walked += metres
    return out


def _badge(text: str, colour: str, *, size: int = 22) -> folium.DivIcon:
    """A round numbered or lettered marker drawn by the browser (no image, no icon font)."""
    return folium.DivIcon(
        html=(
            f'<div class="route-badge" style="background:{colour};width:{size}px;'
            f'height:{size}px;line-height:{size}px">{text}</div>'
        ),
        icon_size=(size, size),
        icon_anchor=(size // 2, size // 2),
        class_name="route-badge-icon",
    )


def route_map(route: DailyRoute, *, lang: str = "ja", tiles: Tiles = OSM_TILES) -> folium.Map:
    """A crew's day: patrol solid, driving dashed, direction arrows, numbered stops, start, end."""
    language = check_lang(lang)
    m = _osm_map(zoom_start=13, n03=False, tiles=tiles)
    lats: list[float] = []
    lons: list[float] = []
    lines: list[list[tuple[float, float]]] = []
    group = folium.FeatureGroup(name=t("route", language))
    for i, step in enumerate(route.steps, start=1):
        coords = [(float(y), float(x)) for x, y, *_ in step.geometry.coords]
        if len(coords) < 2 or step.geometry.length == 0:
            continue  # a stop: drawn as a numbered marker
        lats += [c[0] for c in coords]
        lons += [c[1] for c in coords]
        lines.append([(c[1], c[0]) for c in coords])
        serve = step.kind == "serve"
        folium.PolyLine(
            coords,
            color=SERVE_COLOUR if serve else DEADHEAD_COLOUR,
            weight=5 if serve else 3,
            opacity=0.9,
            dash_array=None if serve else "6 6",
            tooltip=f"{i}. {t(step.kind, language)}: {step.street or t('unnamed', language)}",
        ).add_to(group)
    group.add_to(m)
    arrows = folium.FeatureGroup(name=t("direction", language))
    for lon, lat, bearing in _arrow_points(lines):
        folium.Marker(
            location=[lat, lon],
            icon=folium.DivIcon(
                html=f'<div class="route-arrow" style="transform:rotate({bearing - 90:.0f}deg)">'
                "&#10148;</div>",
                icon_size=(16, 16),
                icon_anchor=(8, 8),
                class_name="route-arrow-icon",
            ),
            interactive=False,
        ).add_to(arrows)
    arrows.add_to(m)
    stops = folium.FeatureGroup(name=t("stops", language))
    for number, wp in enumerate(route.waypoints, start=1):
        lats.append(wp.lat)
        lons.append(wp.lon)
        folium.Marker(
            location=[wp.lat, wp.lon],
            icon=_badge(str(number), STOP_COLOUR),
            tooltip=f"{number}. {wp.name}",
        ).add_to(stops)
    stops.add_to(m)
    start = route.depot or (lines[0][0] if lines else None)
    end = lines[-1][-1] if lines else None
    ends = folium.FeatureGroup(name=t("start_end", language))
    if start is not None:
        lats.append(start[1])
        lons.append(start[0])
        back = end is not None and math.dist(start, end) < 1e-4
        label = t("start_and_end" if back else "start", language)
        folium.Marker(
            location=[start[1], start[0]],
            icon=_badge(t("start_mark", language), START_COLOUR, size=28),
            tooltip=f"{label} ({t('depot', language)})" if route.depot else label,
        ).add_to(ends)
        if end is not None and not back:
            folium.Marker(
                location=[end[1], end[0]],
                icon=_badge(t("end_mark", language), END_COLOUR, size=28),
                tooltip=t("end", language),
            ).add_to(ends)
    ends.add_to(m)
    _fit_points(m, lats, lons)
    return m


def route_legend(route: DailyRoute, lang: Lang) -> list[tuple[str, str, str]]:
    """The legend rows of a route page: every symbol the map uses, in the page's words."""
    rows = [
        ("line", SERVE_COLOUR, t("serve", lang)),
        ("dash", DEADHEAD_COLOUR, t("deadhead", lang)),
        ("arrow", "#000000", t("direction", lang)),
        (
            "badge",
            START_COLOUR,
            f"{t('start_mark', lang)} = {t('start', lang)} · {t('end_mark', lang)} = "
            f"{t('end', lang)}",
        ),
    ]
    if route.waypoints:
        rows.append(("badge", STOP_COLOUR, t("stop_explained", lang)))
    return rows


def route_page_html(
    route: DailyRoute,
    *,
    lang: str = "ja",
    gpx_url: str | None = None,
    kml_url: str | None = None,
    upload_url: str | None = None,
    logs: Sequence[Mapping[str, Any]] = (),
    tiles: Tiles = OSM_TILES,
    time_zone: str = "Asia/Tokyo",
    check_url: str | None = None,
    checked: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    """The contractor's phone page: the day's summary and buttons on top, map, steps, logs.

    Consecutive steps on one street are merged (:func:`merge_steps`); stops are numbered as on
    the map. ``logs`` are the route's stored patrol logs (``created_at``, ``file``,
    ``coverage_pct``, ``covered_tasks``, ``planned_tasks``); the upload form posts a GPX to
    ``upload_url``. With ``check_url`` each stop can be ticked done by hand with a note;
    ``checked`` maps the task ids already ticked to their ``time`` and ``note``.
    """
    language = check_lang(lang)
    m = route_map(route, lang=language, tiles=tiles)
    steps = merge_steps(route.steps)
    stop_numbers: dict[int, int] = {}
    for i, step in enumerate(steps):
        if step.length_m == 0:
            stop_numbers[i] = len(stop_numbers) + 1
    return _ENV.get_template("route_page.html").render(
        lang=language,
        other_lang=other_lang(language),
        t=labels(language),
        route=route,
        steps=steps,
        stop_numbers=stop_numbers,
        distance=lambda metres: format_distance(metres, language),
        minutes=lambda value: format_minutes(value, language),
        map=map_parts(m),
        legend=route_legend(route, language),
        gpx_url=gpx_url,
        kml_url=kml_url,
        upload_url=upload_url,
        logs=list(logs),
        js_labels=Markup(json.dumps(labels(language), ensure_ascii=False).replace("</", "<\\/")),
        time_zone=time_zone,
        check_url=check_url,
        checked=dict(checked or {}),
        attributions=attribution_lines(n03=False),
    )


def format_figure(key: str, value: object, lang: Lang) -> str:
    """A figure of a plan evaluation as shown in tables (booleans as yes/no, floats rounded)."""
    if value is None:
        return t("not_available", lang)
    if isinstance(value, bool):
        return t("yes" if value else "no", lang)
    if isinstance(value, float):
        if value != value:
            return t("not_available", lang)
        return f"{value:.3f}" if key in {"balance", "compactness"} else f"{value:.1f}"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) if value else "0"
    return str(value)


def comparison_table(
    plans: Sequence[tuple[str, Mapping[str, object]]], *, lang: str = "ja"
) -> list[list[str]]:
    """Rows of a side-by-side table: a header row of plan names, then one row per figure."""
    language = check_lang(lang)
    rows = [[t("figure", language), *[name for name, _ in plans]]]
    for key in FIGURE_KEYS:
        if all(key not in figures for _, figures in plans):
            continue
        rows.append(
            [t(key, language), *[format_figure(key, f.get(key), language) for _, f in plans]]
        )
    if any(isinstance(f.get("depots"), Mapping) for _, f in plans):
        # The depot of each region of a plan stored with the planner's choice.
        rows.append(
            [t("depots", language), *[_depots_text(f.get("depots"), language) for _, f in plans]]
        )
    return rows


def _depots_text(depots: object, lang: Lang) -> str:
    """'1: yard' and '2: automatic' on lines of their own for region -> depot name (None: the
    automatic choice): the pages show one region per line (``white-space: pre-line``), so that
    long yard names of many regions wrap on a phone instead of running into each other."""
    if not isinstance(depots, Mapping):
        return t("not_available", lang)
    auto = t("depot_auto_short", lang)
    return "\n".join(
        f"{region}: {' '.join(str(name).split()) if name else auto}"
        for region, name in depots.items()
    )


def planner_map(
    towns: gpd.GeoDataFrame, *, lang: str = "ja", n03: bool = False, tiles: Tiles = OSM_TILES
) -> tuple[folium.Map, str, str]:
    """The planner's map: clickable towns and the Draw plugin.

    Returns the map and the JavaScript names of the towns layer and the drawn-items group.
    """
    language = check_lang(lang)
    m = _base_map([towns], n03=n03, lang=language, tiles=tiles)
    layer = _add_towns(m, towns, language)
    draw = folium.plugins.Draw(
        position="topleft",
        show_geometry_on_click=False,
        draw_options={
            "polyline": False,
            "circle": False,
            "circlemarker": False,
            "marker": False,
            "polygon": {"allowIntersection": False, "showArea": False},
            "rectangle": {"showArea": False},
        },
        edit_options={"edit": True, "remove": True},
    )
    draw.add_to(m)
    return m, layer.get_name(), f"drawnItems_{draw.get_name()}"


@dataclass(frozen=True)
class PlannerDepot:
    """A depot the planner may choose for a region: its id, name and kind (town | contractor)."""

    depot_id: str
    name: str
    kind: str


def planner_page_html(
    towns: gpd.GeoDataFrame,
    *,
    k: int,
    evaluate_url: str,
    scenario: str,
    optimized: Mapping[str, object] | None = None,
    comparisons: Sequence[tuple[str, Mapping[str, object]]] = (),
    lang: str = "ja",
    n03: bool = False,
    compare_plan: int | None = None,
    title: str | None = None,
    tiles: Tiles = OSM_TILES,
    depots: Sequence[PlannerDepot] = (),
    save_url: str | None = None,
) -> str:
    """The planner page: draw regions or click towns into regions 1..k, evaluate, compare.

    The page posts ``{"scenario", "k", "polygons": FeatureCollection, "towns": {code: region},
    "compare_plan", "depots": {region: depot id}}`` to ``evaluate_url`` and shows the
    ``figures`` of the JSON answer beside ``optimized`` (or the answer's ``optimized`` figures
    of ``compare_plan``). Each region has a select of the scenario's ``depots`` (automatic by
    default: the yards in its towns, else the nearest yard).
    """
    language = check_lang(lang)
    if k < 1:
        msg = f"k must be at least 1, got {k}"
        raise ValueError(msg)
    if "code" not in towns.columns:
        msg = "towns: column 'code' is missing (the municipality code of each boundary)"
        raise ValueError(msg)
    m, towns_var, drawn_var = planner_map(towns, lang=language, n03=n03, tiles=tiles)
    # Any number of regions up to one per town can be chosen on the page.
    max_k = max(k, len(towns))
    config = {
        "k": k,
        "lang": language,
        "scenario": scenario,
        "evaluateUrl": evaluate_url,
        "mapVar": m.get_name(),
        "townsVar": towns_var,
        "drawnVar": drawn_var,
        "colours": [region_colour(r) for r in range(1, max_k + 1)],
        "figureKeys": list(FIGURE_KEYS),
        "optimized": dict(optimized) if optimized is not None else None,
        "comparePlan": compare_plan,
        "labels": labels(language),
        "depotNames": {d.depot_id: d.name or d.depot_id for d in depots},
        "saveUrl": save_url,
    }
    texts = labels(language)
    # Contractor yards first (the usual crew base of a bundled contract), then town depots.
    depot_groups = [
        (texts[f"depot_kind_{kind}"], [d for d in depots if d.kind == kind])
        for kind in ("contractor", "town")
    ]
    others = [d for d in depots if d.kind not in ("contractor", "town")]
    depot_groups.append((texts["depots"], others))
    return _ENV.get_template("planner.html").render(
        lang=language,
        other_lang=other_lang(language),
        t=labels(language),
        k=k,
        scenario=scenario,
        title=title or scenario,
        colours=config["colours"],
        map=map_parts(m),
        config=Markup(json.dumps(config, ensure_ascii=False, default=str).replace("</", "<\\/")),
        comparison=comparison_table(comparisons, lang=language) if comparisons else [],
        attributions=attribution_lines(n03=n03),
        depot_groups=[(label, group) for label, group in depot_groups if group],
    )


@dataclass(frozen=True)
class LoggedTask:
    """A planned task of a patrol log: where it is, whether the track covered it, and when."""

    task_id: str
    name: str
    covered: bool
    time: str | None
    geometry: LineString | None  # None for tasks without a place on the route
    assets: str = ""  # the town's asset ids the task serves (shown instead of the task id)
    note: str = ""  # a stop ticked by hand: what the crew noted


COVERED_COLOUR: Final = "#1a9850"
MISSED_COLOUR: Final = "#d73027"
TRACK_COLOUR: Final = "#4575b4"


def patrol_log_page_html(
    *,
    title: str,
    track: Sequence[tuple[float, float]],
    tasks: Sequence[LoggedTask],
    summary: Mapping[str, Any],
    lang: str = "ja",
    tiles: Tiles = OSM_TILES,
    photo: str | None = None,
) -> str:
    """A patrol log for the town: the GPS track over the planned tasks, covered green, missed red.

    ``track`` holds (lon, lat) fixes; ``summary`` the stored coverage figures; ``photo`` the URL
    of a stop photo (a stop ticked by hand).
    """
    language = check_lang(lang)
    m = _osm_map(zoom_start=13, n03=False, tiles=tiles)
    lats: list[float] = []
    lons: list[float] = []
    planned = folium.FeatureGroup(name=t("planned_route", language))
    for task in tasks:
        if task.geometry is None or task.geometry.is_empty:
            continue
        coords = [(float(y), float(x)) for x, y, *_ in task.geometry.coords]
        lats += [c[0] for c in coords]
        lons += [c[1] for c in coords]
        colour = COVERED_COLOUR if task.covered else MISSED_COLOUR
        state = t("covered" if task.covered else "missed", language)
        tip = f"{task.name or t('unnamed', language)}: {state} {task.time or ''}"
        if task.geometry.length == 0:
            folium.CircleMarker(
                location=coords[0], radius=7, color=colour, fill=True, fill_opacity=0.9, tooltip=tip
            ).add_to(planned)
        else:
            folium.PolyLine(coords, color=colour, weight=6, opacity=0.8, tooltip=tip).add_to(
                planned
            )
    planned.add_to(m)
    if len(track) >= 2:
        points = [(float(lat), float(lon)) for lon, lat in track]
        lats += [p[0] for p in points]
        lons += [p[1] for p in points]
        group = folium.FeatureGroup(name=t("track", language))
        folium.PolyLine(points, color=TRACK_COLOUR, weight=2, opacity=0.9, dash_array="4 4").add_to(
            group
        )
        group.add_to(m)
    _fit_points(m, lats, lons)
    folium.LayerControl(collapsed=False).add_to(m)
    legend = [
        ("line", COVERED_COLOUR, t("covered", language)),
        ("line", MISSED_COLOUR, t("missed", language)),
        ("dash", TRACK_COLOUR, t("track", language)),
    ]
    return _ENV.get_template("patrol_log.html").render(
        lang=language,
        other_lang=other_lang(language),
        t=labels(language),
        title=title,
        map=map_parts(m),
        legend=legend,
        tasks=tasks,
        summary=summary,
        photo=photo,
        attributions=attribution_lines(n03=False),
    )
