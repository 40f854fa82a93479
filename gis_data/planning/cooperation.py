"""The cooperation scheme of a bundle (自治体の束): who orders for whom, and who signs what.

A structured setting (``[cooperation]`` in the plan settings, `plan_settings.read_settings`):

- ``pattern``: one of `PATTERNS`: 共同発注 (joint procurement: the towns agree, select one
  contractor bundle together, each signs its own contract), 事務の代替執行 (one body executes the
  ordering for the others in their name, 地方自治法 第252条の16の2), 協議会 (a council of the
  towns, 第252条の2の2), 一部事務組合 (a special body the towns form, 第284条), 連携協力道路制度
  (the prefecture and the towns agree to maintain 県道 and 市町村道 together, as in the 下田 model);
- ``lead``: the municipality code (or ``"prefecture"``) that runs the tender, executes for the
  others or chairs the council; the most populous member by default;
- ``prefecture``: optional name of a prefecture taking part; ``prefecture_code``: the
  scenario's member whose assets are the prefecture's 県道 (loaded like a town's layer): it is
  drawn as the prefecture and pays for its own roads (`prefecture_share`);
- ``fields`` and ``processes``: what the scheme covers (intake keys: road, river ...; patrol,
  cleaning ...);
- ``admin_fee_rate``: under 事務の代替執行 and 連携協力道路制度 the members pay the executing
  body an administration fee (事務費) at this rate of their share (a setting; 0 by default, as
  the guide gives no rate).

It fills the implementation policy's legal items (`legal_items`), changes the cost rule
(`admin_fees`) and is drawn as an organisational diagram per phase (`scheme_svg`): who signs an
agreement with whom, and who contracts the firms. The SVG is plain text built here (no plotting
library), so it works offline and in every export; its `scheme_layout` is what the Word file's
picture of the same diagram is drawn from (`gis_data.workbench.scheme_figure`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

PATTERNS = {
    "joint_procurement": "共同発注",
    "delegated_execution": "事務の代替執行",
    "council": "協議会",
    "partial_affairs_union": "一部事務組合",
    "cooperative_road": "連携協力道路制度",
}
# Patterns that are a joint-processing system of the Local Autonomy Act (共同処理制度).
LOCAL_AUTONOMY_ACT = {
    "delegated_execution": "地方自治法第252条の16の2（事務の代替執行）",
    "council": "地方自治法第252条の2の2（協議会）",
    "partial_affairs_union": "地方自治法第284条（一部事務組合）",
}
PREFECTURE = "prefecture"


@dataclass(frozen=True)
class Cooperation:
    """The cooperation scheme of a bundle (see the module docstring)."""

    pattern: str = "joint_procurement"
    lead: str | None = None
    prefecture: str | None = None
    prefecture_code: str | None = None
    fields: tuple[str, ...] = ()
    processes: tuple[str, ...] = ()
    admin_fee_rate: float = 0.0
    body_name: str = ""

    def __post_init__(self) -> None:
        if self.pattern not in PATTERNS:
            raise ValueError(
                f"cooperation pattern {self.pattern!r} is unknown; choose one of {sorted(PATTERNS)}"
            )
        if not 0.0 <= self.admin_fee_rate < 1.0:
            raise ValueError(f"admin_fee_rate must be in [0, 1), got {self.admin_fee_rate}")
        if self.lead == PREFECTURE and not (self.prefecture or self.prefecture_code):
            raise ValueError("lead 'prefecture' needs the prefecture ('prefecture = ...')")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], *, where: str = "cooperation") -> Cooperation:
        """The scheme from a settings table; unknown keys are an error naming ``where``."""
        known = {
            "pattern",
            "lead",
            "prefecture",
            "prefecture_code",
            "fields",
            "processes",
            "admin_fee_rate",
            "name",
        }
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"{where}: unknown keys {unknown}; allowed {sorted(known)}")
        try:
            return cls(
                pattern=str(values.get("pattern", "joint_procurement")),
                lead=str(values["lead"]) if values.get("lead") else None,
                prefecture=str(values["prefecture"]) if values.get("prefecture") else None,
                prefecture_code=str(values["prefecture_code"])
                if values.get("prefecture_code")
                else None,
                fields=tuple(map(str, values.get("fields", ()))),
                processes=tuple(map(str, values.get("processes", ()))),
                admin_fee_rate=float(values.get("admin_fee_rate", 0.0)),
                body_name=str(values.get("name", "")),
            )
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None

    @property
    def label(self) -> str:
        """The pattern in Japanese."""
        return PATTERNS[self.pattern]

    def lead_of(self, towns: Sequence[str], populations: Mapping[str, float]) -> str:
        """The lead body among ``towns``: the configured one, else the most populous town."""
        if self.lead == PREFECTURE:
            code = self.prefecture_code
            return code if code is not None and code in towns else PREFECTURE
        if self.lead and self.lead in towns:
            return self.lead

        def size(code: str) -> float:
            value = populations.get(code, 0.0)
            return value if value == value else 0.0

        return sorted(towns, key=lambda c: (-size(c), c))[0]

    def executes_for_others(self) -> bool:
        """Whether one body orders in the others' name (one contract with the firms)."""
        return self.pattern in ("delegated_execution", "cooperative_road")

    def legal_items(self) -> list[tuple[str, str, str]]:
        """The policy's yes/no items: (item, 有 or 無, basis)."""
        statute = LOCAL_AUTONOMY_ACT.get(self.pattern)
        return [
            ("地方自治法上の共同処理制度の適用", "有" if statute else "無", statute or self.label),
            (
                "連携協力道路制度の活用",
                "有" if self.pattern == "cooperative_road" else "無",
                f"{self.prefecture}との県道・市町村道の一体的な維持管理"
                if self.pattern == "cooperative_road" and self.prefecture
                else "",
            ),
        ]

    def admin_fees(self, shares: Mapping[str, float], lead: str) -> dict[str, float]:
        """Each member's administration fee to ``lead`` (negative for the lead: it receives
        them); the fees sum to zero, so the total is unchanged. Zero unless one body executes
        for the others."""
        if not self.executes_for_others() or self.admin_fee_rate <= 0:
            return dict.fromkeys(shares, 0.0)
        fees = {
            code: (self.admin_fee_rate * value if code != lead else 0.0)
            for code, value in shares.items()
        }
        if lead in fees:
            fees[lead] = -sum(v for c, v in fees.items() if c != lead)
        return fees


def prefecture_share(
    total: float, towns: Sequence[str], workload: Mapping[str, float], prefecture_code: str
) -> float:
    """What the prefecture pays for its own 県道: ``total`` x its share of the workload (the
    towns split the rest by their formula)."""
    whole = sum(max(0.0, workload.get(c, 0.0)) for c in towns)
    if prefecture_code not in towns or whole <= 0:
        return 0.0
    return total * max(0.0, workload.get(prefecture_code, 0.0)) / whole


@dataclass(frozen=True)
class SchemeLink:
    """One line of the diagram: ``kind`` is 'agreement' (協定・規約) or 'contract' (契約)."""

    source: str
    target: str
    kind: str
    label: str


@dataclass(frozen=True)
class Scheme:
    """Who takes part in one phase and who signs what with whom."""

    title: str
    members: tuple[str, ...]  # display names (towns, then the prefecture)
    body: str | None  # the council, union or executing body drawn in the middle (None: none)
    contractor: str
    links: tuple[SchemeLink, ...] = field(default_factory=tuple)

    def describe(self) -> list[str]:
        """The links as sentences (for text-only exports)."""
        return [f"{x.source} と {x.target}：{x.label}" for x in self.links]


def build_scheme(
    coop: Cooperation,
    *,
    title: str,
    towns: Sequence[str],
    names: Mapping[str, str],
    populations: Mapping[str, float],
    contractor: str = "事業者の束（共同企業体・事業協同組合）",
) -> Scheme:
    """The organisation of one phase with ``towns`` (municipality codes)."""
    if not towns:
        raise ValueError("a scheme needs at least one town")
    towns = tuple(towns)
    pref_name = coop.prefecture or (
        names.get(coop.prefecture_code, coop.prefecture_code) if coop.prefecture_code else None
    )

    def name_of(code: str) -> str:
        if code == PREFECTURE or (coop.prefecture_code and code == coop.prefecture_code):
            return pref_name or code
        return names.get(code, code)

    members = [name_of(c) for c in towns if c != coop.prefecture_code]
    if pref_name:
        members.append(pref_name)
    lead = coop.lead_of(towns, populations)
    lead_name = name_of(lead)
    links: list[SchemeLink] = []
    body: str | None = None
    if len(members) == 1:
        links.append(SchemeLink(members[0], contractor, "contract", "包括的な委託契約（単独）"))
    elif coop.pattern == "joint_procurement":
        for m in members:
            if m != lead_name:
                links.append(SchemeLink(m, lead_name, "agreement", "共同発注の協定（幹事団体）"))
        for m in members:
            links.append(SchemeLink(m, contractor, "contract", "各団体が委託契約"))
    elif coop.pattern in ("council", "partial_affairs_union"):
        body = coop.body_name or ("管理執行協議会" if coop.pattern == "council" else "一部事務組合")
        for m in members:
            links.append(SchemeLink(m, body, "agreement", "規約（負担金）"))
        links.append(SchemeLink(body, contractor, "contract", "委託契約（一本）"))
    else:  # delegated_execution, cooperative_road: the lead executes for the others
        for m in members:
            if m != lead_name:
                label = (
                    "代替執行の規約（事務費）"
                    if coop.pattern == "delegated_execution"
                    else "連携協力道路の協定"
                )
                links.append(SchemeLink(m, lead_name, "agreement", label))
        links.append(SchemeLink(lead_name, contractor, "contract", "委託契約（一本）"))
    return Scheme(
        title=title, members=tuple(members), body=body, contractor=contractor, links=tuple(links)
    )


@dataclass(frozen=True)
class SchemeBox:
    """A box of the diagram: its centre and width in pixels (y down), its fill colour."""

    name: str
    x: float
    y: float
    width: float
    fill: str


@dataclass(frozen=True)
class SchemeLine:
    """A drawn link: its polyline (pixels, y down), label position, colour and dash."""

    link: SchemeLink
    points: tuple[tuple[float, float], ...]
    label_at: tuple[float, float] | None  # None: labelled once on another line of its kind
    color: str
    dashed: bool
    label_anchor: str = "middle"  # SVG text-anchor: 'middle', or 'start' (text right of it)


@dataclass(frozen=True)
class SchemeLayout:
    """Where everything of a scheme diagram goes, in pixels: one layout for the SVG of the pages
    and the PNG of the Word file (`gis_data.workbench.scheme_figure`), so both draw the same."""

    title: str
    width: float
    height: float
    box_height: float
    boxes: tuple[SchemeBox, ...]
    lines: tuple[SchemeLine, ...]
    legend: str = "実線：委託契約　破線：協定・規約"


def scheme_layout(scheme: Scheme, *, width: int = 640) -> SchemeLayout:
    """Members on top, the body (if any) in the middle, the contractor bundle below; contracts
    are solid lines, agreements dashed."""
    box_w, box_h = 120, 36
    n = len(scheme.members)
    gap = max(8, (width - n * box_w) // (n + 1))
    width = max(width, n * (box_w + 8) + 8)
    pos: dict[str, tuple[float, float]] = {}
    for k, m in enumerate(scheme.members):
        pos[m] = (gap + k * (box_w + gap) + box_w / 2, 60.0)
    # Links between members (agreements with the lead) run below the members' row, one lane
    # each, so their lines and labels do not overlap; the rows below move down to make room.
    lanes = sum(1 for x in scheme.links if x.source in pos and x.target in pos)
    extra = 16.0 * lanes
    rows = 3 if scheme.body else 2
    height = 60 + 110 * (rows - 1) + 70 + extra
    if scheme.body:
        pos[scheme.body] = (width / 2, 170.0 + extra)
    pos[scheme.contractor] = (width / 2, 60.0 + 110 * (rows - 1) + extra)
    boxes = tuple(
        SchemeBox(
            name,
            x,
            y,
            box_w if name in scheme.members else min(width - 16, 260),
            "#fbe5d6" if name == scheme.contractor else "#ddebf7",
        )
        for name, (x, y) in pos.items()
    )
    box_of = {b.name: b for b in boxes}
    fanning = {
        key
        for key in {(x.target, x.label) for x in scheme.links}
        if sum(1 for x in scheme.links if (x.target, x.label) == key) > 1
    }
    labelled: set[tuple[str, str]] = set()
    lines = []
    lane = 0
    for link in scheme.links:
        (x1, y1), (x2, y2) = pos[link.source], pos[link.target]
        points: tuple[tuple[float, float], ...]
        label_at: tuple[float, float] | None
        anchor = "middle"
        if abs(y1 - y2) < 1:  # two members side by side: bend below their boxes
            mid_y = y1 + box_h / 2 + 14 + 16 * lane
            lane += 1
            points = ((x1, y1 + box_h / 2), (x1, mid_y), (x2, mid_y), (x2, y2 + box_h / 2))
            label_at = ((x1 + x2) / 2, mid_y - 3)
        else:
            (sx, sy), (tx, ty) = (x1, y1 + box_h / 2), (x2, y2 - box_h / 2)
            points = ((sx, sy), (tx, ty))
            key = (link.target, link.label)
            if key in labelled:
                label_at = None
            elif key in fanning:
                # Several members' lines meet on one box: one label beside the box for all.
                labelled.add(key)
                label_at, anchor = (x2 + box_of[link.target].width / 2 + 6, y2 + 4), "start"
            else:
                # A little past the middle: clear of the member lanes above.
                label_at = (sx + 0.55 * (tx - sx), sy + 0.55 * (ty - sy) + 4)
        contract = link.kind == "contract"
        color = "#1f4e79" if contract else "#7f6000"
        lines.append(SchemeLine(link, points, label_at, color, not contract, anchor))
    return SchemeLayout(scheme.title, width, height, box_h, boxes, tuple(lines))


def scheme_svg(scheme: Scheme, *, width: int = 640) -> str:
    """The scheme as an SVG (`scheme_layout`)."""
    lay = scheme_layout(scheme, width=width)
    w, h = f"{lay.width:.0f}", f"{lay.height:.0f}"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">',
        f'<text x="8" y="20" font-size="14" font-weight="bold">{escape(lay.title)}</text>',
    ]
    for line in lay.lines:
        (x0, y0), *rest = line.points
        path = f"M{x0:.0f},{y0:.0f} " + " ".join(f"L{x:.0f},{y:.0f}" for x, y in rest)
        dash = ' stroke-dasharray="5,4"' if line.dashed else ""
        out.append(f'<path d="{path}" fill="none" stroke="{line.color}" stroke-width="1.5"{dash}/>')
        if line.label_at is None:
            continue
        lx, ly = line.label_at
        out.append(
            f'<text x="{lx:.0f}" y="{ly:.0f}" text-anchor="{line.label_anchor}" font-size="10" '
            f'fill="{line.color}">{escape(line.link.label)}</text>'
        )
    for box in lay.boxes:
        out.append(
            f'<rect x="{box.x - box.width / 2:.0f}" y="{box.y - lay.box_height / 2:.0f}" '
            f'width="{box.width:.0f}" height="{lay.box_height:.0f}" '
            f'rx="4" fill="{box.fill}" stroke="#333"/>'
        )
        out.append(
            f'<text x="{box.x:.0f}" y="{box.y + 4:.0f}" text-anchor="middle">'
            f"{escape(box.name)}</text>"
        )
    out.append(
        f'<text x="8" y="{lay.height - 8:.0f}" font-size="10" fill="#555">{lay.legend}</text>'
    )
    out.append("</svg>")
    return "\n".join(out)
