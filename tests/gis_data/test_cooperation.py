"""The cooperation scheme: each pattern's legal items, cost rule and organisational diagram."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from gis_data.planning.cooperation import PATTERNS, Cooperation, build_scheme, scheme_svg

NAMES = {"A": "甲市", "B": "乙町", "C": "丙村"}
POPS = {"A": 30_000.0, "B": 8_000.0, "C": 2_000.0}

# pattern -> (共同処理制度, 連携協力道路制度, contracts with the firms, agreement label)
EXPECTED = {
    "joint_procurement": ("無", "無", 3, "共同発注の協定"),
    "delegated_execution": ("有", "無", 1, "代替執行の規約"),
    "council": ("有", "無", 1, "規約（負担金）"),
    "partial_affairs_union": ("有", "無", 1, "規約（負担金）"),
    "cooperative_road": ("無", "有", 1, "連携協力道路の協定"),
}


@pytest.mark.parametrize("pattern", sorted(PATTERNS))
def test_each_pattern_fills_the_legal_items_and_draws_who_signs_what(pattern) -> None:
    """Legal yes/no items follow the pattern; the diagram has the members, the contracts with the
    firms and the agreements of the pattern; the SVG is well-formed XML."""
    coop = Cooperation(
        pattern=pattern, prefecture="静岡県" if pattern == "cooperative_road" else None
    )
    legal = {item: yes for item, yes, _ in coop.legal_items()}
    statute, road, contracts, agreement = EXPECTED[pattern]
    assert legal["地方自治法上の共同処理制度の適用"] == statute
    assert legal["連携協力道路制度の活用"] == road
    scheme = build_scheme(
        coop, title="最終形", towns=("A", "B", "C"), names=NAMES, populations=POPS
    )
    kinds = [link.kind for link in scheme.links]
    assert kinds.count("contract") == contracts
    assert any(agreement in link.label for link in scheme.links if link.kind == "agreement")
    svg = scheme_svg(scheme)
    root = ET.fromstring(svg)
    texts = {t.text for t in root.iter("{http://www.w3.org/2000/svg}text")}
    assert {"甲市", "乙町", "丙村", scheme.contractor} <= texts
    if pattern == "cooperative_road":
        assert "静岡県" in texts


def test_the_lead_is_the_most_populous_town_unless_set_and_collects_the_fee() -> None:
    """Under 事務の代替執行 the members pay the lead its fee; the fees sum to zero."""
    coop = Cooperation(pattern="delegated_execution", admin_fee_rate=0.05)
    assert coop.lead_of(("B", "C", "A"), POPS) == "A"
    assert Cooperation(lead="C").lead_of(("A", "B", "C"), POPS) == "C"
    fees = coop.admin_fees({"A": 100.0, "B": 60.0, "C": 40.0}, "A")
    assert fees == pytest.approx({"A": -5.0, "B": 3.0, "C": 2.0})
    assert Cooperation(pattern="council", admin_fee_rate=0.05).admin_fees({"A": 1.0}, "A") == {
        "A": 0.0
    }


def test_bad_settings_are_named() -> None:
    """Unknown keys and patterns are errors naming the table."""
    with pytest.raises(ValueError, match=r"plan\.toml \[cooperation\].*pattren"):
        Cooperation.from_mapping({"pattren": "council"}, where="plan.toml [cooperation]")
    with pytest.raises(ValueError, match="unknown"):
        Cooperation.from_mapping({"pattern": "merger"})
    coop = Cooperation.from_mapping({"pattern": "council", "name": "東部管理執行協議会"})
    scheme = build_scheme(coop, title="t", towns=("A", "B"), names=NAMES, populations=POPS)
    assert scheme.body == "東部管理執行協議会"


def test_a_prefecture_member_with_its_roads_is_drawn_as_the_prefecture() -> None:
    """連携協力道路制度 with the prefecture's 県道 loaded as member "P": it is drawn once, under
    its name, as the executing body, and pays its roads' share of the workload."""
    from gis_data.planning.cooperation import prefecture_share

    coop = Cooperation(
        pattern="cooperative_road", lead="prefecture", prefecture="静岡県", prefecture_code="P"
    )
    names = {**NAMES, "P": "静岡県（県道）"}
    scheme = build_scheme(coop, title="t", towns=("A", "B", "P"), names=names, populations=POPS)
    assert scheme.members == ("甲市", "乙町", "静岡県")
    assert {(x.source, x.kind) for x in scheme.links} == {
        ("甲市", "agreement"),
        ("乙町", "agreement"),
        ("静岡県", "contract"),
    }
    assert prefecture_share(900.0, ("A", "B", "P"), {"A": 1, "B": 1, "P": 1}, "P") == 300.0
    assert prefecture_share(900.0, ("A", "B"), {"A": 1, "B": 1}, "P") == 0.0
