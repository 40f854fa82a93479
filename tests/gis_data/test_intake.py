"""Intake template: written, filled and read back; bad cells listed with sheet/row/column."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from gis_data.planning.effects import EffectEstimate, ScenarioFigures, UnitCosts, UnitTotals
from gis_data.workbench.intake import (
    Intake,
    IntakeError,
    OrderRecord,
    age_pyramid_png,
    ordering_matrix,
    read_intake,
    template_xlsx,
    time_split_png,
    write_template,
)


def _filled_xlsx(edits: dict[tuple[str, int, str], object] | None = None) -> bytes:
    """The template with its example rows, a second staff town, and cells overwritten."""
    book = load_workbook(io.BytesIO(template_xlsx()))
    staff = book["staff"]
    staff.append(["T2", "Beetown", 0, 1, 1, 1, 2, 10, 30, 10, 40, 10, 20, 20, 20, 20, 20, None])
    for (sheet, row, key), value in (edits or {}).items():
        ws = book[sheet]
        header = [c.value for c in ws[1]]
        col = next(j for j, h in enumerate(header, start=1) if str(h).endswith(f"({key})"))
        ws.cell(row=row, column=col, value=value)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def test_template_round_trip(tmp_path: Path) -> None:
    """The written template reads back as the example rows (xlsx and CSV alike)."""
    paths = write_template(tmp_path)
    assert [p.name for p in paths] == ["workbench.xlsx", "staff.csv", "ordering.csv"]
    from_xlsx = read_intake(paths[0])
    from_csv = read_intake(paths[1:])
    assert from_xlsx == from_csv
    (town,) = from_xlsx.staff
    assert town.municipality_code == "T1"
    assert town.staff == 8
    assert town.patrol_hours() == pytest.approx(8 * 1860 * 0.60)
    (order,) = from_xlsx.orders
    assert order.firms == ("A建設", "B土木")
    assert order.failed_tenders == 2
    assert Intake.from_dict(from_xlsx.to_dict()) == from_xlsx


def test_bad_cells_are_all_named_and_nothing_is_returned() -> None:
    """Every bad cell is listed once with its sheet, row and column key; no partial result."""
    data = _filled_xlsx(
        {
            ("staff", 2, "age_40s"): "two",
            ("staff", 3, "age_30s"): 1.5,
            ("staff", 3, "actual_planning"): 50,  # split sums to 140
            ("ordering", 2, "field"): "bridge",
            ("ordering", 2, "annual_cost_yen"): -5,
            ("ordering", 2, "failed_tenders"): 9,  # more than the 3 tenders
        }
    )
    with pytest.raises(IntakeError) as err:
        read_intake({"workbench.xlsx": data})
    found = {(p.sheet, p.row, p.column) for p in err.value.problems}
    assert found == {
        ("staff", 2, "age_40s"),
        ("staff", 3, "age_30s"),
        ("staff", 3, "actual_planning..actual_counter"),
        ("ordering", 2, "field"),
        ("ordering", 2, "annual_cost_yen"),
        ("ordering", 2, "failed_tenders"),
    }
    text = str(err.value)
    assert "staff!row 2, column age_40s ('two'): must be a number" in text
    assert "must be one of road, river, park, sewer, other" in text


def test_missing_columns_unknown_towns_and_csv_names() -> None:
    """Missing required columns, towns outside the scenario and badly named CSVs are errors."""
    buf = io.StringIO()
    csv.writer(buf).writerows([["department", "field"], ["建設課", "road"]])
    with pytest.raises(IntakeError) as err:
        read_intake({"ordering.csv": buf.getvalue().encode("utf-8")})
    missing = {p.column for p in err.value.problems if p.message == "required column is missing"}
    assert missing == {"municipality_code", "process", "method", "annual_cost_yen"}
    with pytest.raises(IntakeError) as err:
        read_intake({"workbench.xlsx": _filled_xlsx()}, known_towns=["T1"])
    assert [(p.sheet, p.row) for p in err.value.problems] == [("staff", 3)]
    with pytest.raises(IntakeError, match="staff or ordering"):
        read_intake({"people.csv": b"a,b\n"})
    with pytest.raises(IntakeError, match=r"not a readable \.xlsx"):
        read_intake({"workbench.xlsx": b"not a zip"})


def test_japanese_headers_and_labels_are_accepted() -> None:
    """Headers given as Japanese labels and choices as Japanese labels read as keys."""
    buf = io.StringIO()
    csv.writer(buf).writerows(
        [
            [
                "担当部署",
                "団体コード",
                "分野",
                "業務",
                "発注方式",
                "年間発注額（円）",
                "包括化済み",
            ],
            ["建設課", "T1", "道路", "巡回", "複数年契約", "1,200,000", "有"],
        ]
    )
    intake = read_intake({"ordering.csv": buf.getvalue().encode("cp932")})
    (order,) = intake.orders
    assert (order.field, order.process, order.method) == ("road", "patrol", "multi_year")
    assert order.annual_cost_yen == 1_200_000
    assert order.bundled


def test_ordering_matrix_flags_and_scope() -> None:
    """Cells sum costs and firms; bundled, failing and multi-town cells are suggested."""
    orders = [
        OrderRecord("建設課", "T1", "road", "patrol", "annual", 100.0, ("A",)),
        OrderRecord("建設課", "T2", "road", "patrol", "per_job", 50.0, ("B", "A")),
        OrderRecord("都市計画課", "T1", "park", "cleaning", "annual", 30.0, failed_tenders=1),
        OrderRecord("建設課", "T1", "river", "inspection", "multi_year", 20.0, bundled=True),
        OrderRecord("建設課", "T1", "road", "design", "per_job", 10.0),
    ]
    m = ordering_matrix(orders, fields=["sewer"])
    assert m.fields == ("road", "river", "park", "sewer")
    cell = m.cell("road", "patrol")
    assert (cell.cost_yen, cell.firms, cell.towns) == (150.0, ("A", "B"), ("T1", "T2"))
    assert cell.methods == ("per_job", "annual")
    assert m.cell("park", "cleaning").failing
    assert m.scope() == {
        "road": ["巡回"],
        "river": ["点検"],
        "park": ["清掃・除草・剪定"],
        "sewer": [],
    }


def test_charts_are_png() -> None:
    """Age pyramid and time split render for the example towns."""
    intake = read_intake({"workbench.xlsx": _filled_xlsx()})
    for png in (age_pyramid_png(intake.staff), time_split_png(intake.staff, lang="en")):
        assert png[:8] == b"\x89PNG\r\n\x1a\n"


def _unit(label: str, operator: str, towns: tuple[str, ...], minutes: float) -> UnitTotals:
    return UnitTotals(label, operator, towns, 10.0, minutes, 1, 1, 20, 5, 1.0, 0.5, 1, 0)


def test_staff_hours_freed_per_town_use_the_intake() -> None:
    """EffectEstimate.staff_rows: per town siloed minus bundled hours, share of intake hours."""
    costs = UnitCosts()
    siloed = ScenarioFigures(
        "s", (_unit("T1 road", "town", ("T1",), 600.0), _unit("T2 road", "town", ("T2",), 300.0)),
        costs,
    )  # fmt: skip
    bundled = ScenarioFigures("b", (_unit("1", "contractor", ("T1", "T2"), 600.0),), costs)
    intake = read_intake({"workbench.xlsx": _filled_xlsx()})
    rows = {r["town"]: r for r in EffectEstimate(siloed, bundled).staff_rows(
        intake.patrol_hours_by_town())}  # fmt: skip
    # T1: 10 crew h x 2 staff = 20 h siloed; bundled 10 crew h x 0.1 split in two = 0.5 h.
    assert rows["T1"]["staff_hours_freed"] == pytest.approx(20.0 - 0.5)
    assert rows["T2"]["staff_hours_freed"] == pytest.approx(10.0 - 0.5)
    t2_hours = 5 * 1860 * 0.70  # 5 staff, 30 % inspection + 40 % maintenance
    assert rows["T2"]["staff_hours_available"] == pytest.approx(t2_hours)
    assert rows["T2"]["freed_pct_of_available"] == pytest.approx(100 * 9.5 / t2_hours)
