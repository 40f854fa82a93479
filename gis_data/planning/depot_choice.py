"""The depot a planner chooses for a region of a plan: one check for every way a plan arrives.

The planner page and the API (``depots``: region -> depot id), the plan-routing job and
``gunmane plan regions --evaluate`` (a ``depot_id`` property on the drawn polygons) all check a
choice here: the depot must be one the scenario has (any kind) and the region one the plan has.
Every problem is returned at once; the callers word them for their users (the API in ja/en,
the CLI naming the file, feature and field).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from gis_data.loading.errors import Problem

if TYPE_CHECKING:
    import geopandas as gpd

# The property of a drawn region polygon that names its depot: the column `plan regions --out`
# writes, so a plan written, edited in QGIS and evaluated again keeps its depots.
DEPOT_FIELD = "depot_id"

# Known depot ids listed in a message (a region of many yards would make the line unreadable).
_LISTED = 12


@dataclass(frozen=True)
class DepotChoiceProblem:
    """One bad choice: ``code`` "region" (not a region of the plan) or "depot" (no such depot)."""

    region: str
    depot: str
    code: Literal["region", "depot"]

    @property
    def message(self) -> str:
        """What is wrong, in English, naming the region and the depot id."""
        if self.code == "region":
            return f"region {self.region}: not a region of the plan (depot {self.depot!r})"
        return f"region {self.region}: no depot {self.depot!r} in the scenario"


def depot_choice_problems(
    chosen: Mapping[str, str],
    *,
    depot_ids: Collection[str],
    regions: Collection[str] | None = None,
) -> list[DepotChoiceProblem]:
    """Every region of ``chosen`` (region -> depot id) that is not in ``regions`` (None: not
    checked) and every depot id not in ``depot_ids``, in the order given."""
    known = {str(d) for d in depot_ids}
    labels = None if regions is None else {str(r) for r in regions}
    problems = []
    for region, depot in chosen.items():
        if labels is not None and str(region) not in labels:
            problems.append(DepotChoiceProblem(str(region), str(depot), "region"))
        elif str(depot) not in known:
            problems.append(DepotChoiceProblem(str(region), str(depot), "depot"))
    return problems


def _depot_value(value: Any) -> str | None:
    """A property value as a depot id; None when empty (the automatic choice)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # an id column read as numbers because some rows are empty
    text = str(value).strip()
    return text or None


def drawn_plan_depots(
    plan: gpd.GeoDataFrame,
    region_of: list[str],
    *,
    file: str,
    depot_ids: Collection[str],
    field: str = DEPOT_FIELD,
) -> tuple[dict[str, str], list[Problem]]:
    """Region -> depot id from the ``field`` property of drawn region polygons.

    ``region_of`` is each feature's region (in file order). A feature without the property, or
    with it empty, leaves its region to the automatic choice. Returns the choice and every
    problem, each naming ``file``, the 1-based feature and ``field``: a depot the scenario does
    not have (listing the ids it has) and a region whose features name different depots.
    """
    if field not in plan.columns:
        return {}, []
    chosen: dict[str, str] = {}
    first: dict[str, int] = {}
    problems: list[Problem] = []
    for k, (region, raw) in enumerate(zip(region_of, plan[field], strict=True)):
        depot = _depot_value(raw)
        if depot is None:
            continue
        if region in chosen and chosen[region] != depot:
            problems.append(
                Problem(
                    file,
                    k + 1,
                    field,
                    f"region {region}: depot {depot!r} here but {chosen[region]!r} in feature"
                    f" {first[region]}; give each region one depot",
                )
            )
            continue
        chosen.setdefault(region, depot)
        first.setdefault(region, k + 1)
    known = sorted({str(d) for d in depot_ids})
    listed = ", ".join(known[:_LISTED]) + (" ..." if len(known) > _LISTED else "")
    hint = f"; the scenario's depots: {listed}" if known else "; the scenario has no depots"
    for bad in depot_choice_problems(chosen, depot_ids=known):
        for k, (region, raw) in enumerate(zip(region_of, plan[field], strict=True)):
            if region == bad.region and _depot_value(raw) == bad.depot:
                problems.append(Problem(file, k + 1, field, bad.message + hint))
    problems.sort(key=lambda p: p.feature if isinstance(p.feature, int) else 0)
    return chosen, problems
