"""The workbench's part of the 実施方針 report: current state, ordering status, k frontier.

`workbench_section` turns the intake (`gis_data.workbench.intake.Intake`), the effect estimate and a
frontier (`workbench.frontier.Frontier.to_dict`) into formatted rows for the report's 参考資料
(`gis_data.workbench.report`), and gives the scope the ordering status
suggests, which pre-fills the report's field x process matrix when the settings name none.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gis_data.workbench.intake import (
    AGE_BANDS,
    AGE_LABELS,
    FIELD_LABELS,
    METHOD_LABELS,
    PROCESS_LABELS,
    PROCESSES,
    TIME_CATEGORIES,
    TIME_LABELS,
    Intake,
    ordering_matrix,
)

if TYPE_CHECKING:
    from gis_data.planning.effects import EffectEstimate


def _num(value: float | None, digits: int = 0) -> str:
    return "－" if value is None else f"{value:,.{digits}f}"


def _staff_rows(intake: Intake, names: Mapping[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "town": names.get(s.municipality_code, s.municipality),
            "ages": [str(s.staff_by_age[b]) for b in AGE_BANDS],
            "staff": str(s.staff),
            "split": [f"{s.actual_pct[c]:.0f} → {s.ideal_pct[c]:.0f}" for c in TIME_CATEGORIES],
            "patrol_hours": _num(s.patrol_hours()),
        }
        for s in intake.staff
    ]


def _freed_rows(
    effects: EffectEstimate, intake: Intake | None, names: Mapping[str, str]
) -> list[dict[str, str]]:
    available = intake.patrol_hours_by_town() if intake is not None else None
    return [
        {
            "town": names.get(r["town"], r["town"]),
            "siloed": _num(r["siloed_staff_hours"]),
            "bundled": _num(r["bundled_staff_hours"]),
            "freed": _num(r["staff_hours_freed"]),
            "available": _num(r["staff_hours_available"]),
            "pct": _num(r["freed_pct_of_available"], 1),
        }
        for r in effects.staff_rows(available)
    ]


def _matrix_rows(intake: Intake, names: Mapping[str, str]) -> list[dict[str, Any]]:
    matrix = ordering_matrix(intake.orders)
    rows = []
    for f in matrix.fields:
        cells = []
        for p in PROCESSES:
            c = matrix.cell(f, p)
            mark = "◎" if c.bundled else "○" if c.ordered else "－"
            if c.failing:
                mark += f" ✕{c.failed_tenders}"
            detail = ""
            if c.ordered:
                detail = (
                    "、".join(METHOD_LABELS[m][0] for m in c.methods)
                    + f" {c.cost_yen / 10_000:,.0f}万円"
                )
            cells.append({"mark": mark, "detail": detail})
        rows.append({"field": FIELD_LABELS[f][0], "cells": cells})
    return rows


def _frontier(frontier: Mapping[str, Any], png: bytes | None) -> dict[str, Any]:
    rows = []
    for r in frontier["rows"]:
        kind = "自治体単位" if r["whole_towns"] else "境界をまたぐ"
        if not r["feasible"]:
            rows.append({"kind": kind, "k": r["k"], "reason": r["reason"]})
            continue
        ok = r["within_capacity"]
        rows.append(
            {
                "kind": kind,
                "k": r["k"],
                "reason": "",
                "cost": _num(r["cost_yen"]),
                "hours": _num(r["crew_hours"], 1),
                "saving": _num(r["saving_yen"]),
                "saving_pct": _num(r["saving_pct"], 1),
                "largest": _num(r["largest_workload_h"], 1),
                "crews": str(r["largest_crews"]),
                "firms": _num(r["firms_for_largest"]),
                "ok": "－" if ok is None else "○" if ok else "✕",
            }
        )
    within = frontier.get("within_capacity", {})
    return {
        "rows": rows,
        "siloed_cost": _num(frontier["siloed"]["cost_yen"]),
        "firms": frontier.get("firms_surveyed", 0),
        "max_crews": _num(frontier.get("max_firm_crews")),
        "whole_ok": "、".join(map(str, within.get("whole_towns", []))) or "なし",
        "cross_ok": "、".join(map(str, within.get("cross_border", []))) or "なし",
        "png_src": ("data:image/png;base64," + base64.b64encode(png).decode("ascii"))
        if png
        else None,
        "method": frontier.get("method", ""),
    }


def workbench_section(
    *,
    intake: Intake | None = None,
    frontier: Mapping[str, Any] | None = None,
    effects: EffectEstimate | None = None,
    town_names: Mapping[str, str] | None = None,
    frontier_png: bytes | None = None,
) -> dict[str, Any]:
    """Formatted rows for the report's workbench section; ``scope`` pre-fills the matrix."""
    names = town_names or {}
    scope = ordering_matrix(intake.orders).scope() if intake and intake.orders else None
    return {
        "ages": [AGE_LABELS[b][0] for b in AGE_BANDS],
        "times": [TIME_LABELS[c][0] for c in TIME_CATEGORIES],
        "processes": [PROCESS_LABELS[p][0] for p in PROCESSES],
        "staff": _staff_rows(intake, names) if intake and intake.staff else [],
        "freed": _freed_rows(effects, intake, names) if effects is not None else [],
        "matrix": _matrix_rows(intake, names) if intake and intake.orders else [],
        "scope": scope,
        "frontier": _frontier(frontier, frontier_png) if frontier else None,
    }
