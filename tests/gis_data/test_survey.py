"""Survey questionnaires: answers checked, tallied, exported; capacity gives the size limit."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from gis_data.workbench.survey import (
    FirmCapacity,
    SurveyError,
    check_answers,
    export_csv,
    export_xlsx,
    firm_capacities,
    questionnaire,
    size_limits,
    tally,
)

TOWNS = {"T1": "Aville", "T2": "Beetown"}


def test_answers_are_checked_all_at_once() -> None:
    """Every bad answer is listed: type, choice, bounds, unknown key, required."""
    q = questionnaire("contractor", TOWNS)
    with pytest.raises(SurveyError) as err:
        check_answers(
            q,
            {"firm": "A", "crews": 2.5, "towns": ["T9"], "jv_interest": "perhaps", "bogus": 1},
        )
    found = {p.question: p.message for p in err.value.problems}
    assert set(found) == {"bogus", "employees", "crews", "towns", "jv_interest",
                          "cooperative_interest"}  # fmt: skip
    assert found["crews"] == "must be a whole number"
    assert found["employees"] == "required"
    ok = check_answers(
        q,
        {
            "firm": "A建設",
            "employees": "12",
            "crews": 3,
            "towns": ["T2", "T1", "T1"],
            "jv_interest": "yes",
            "cooperative_interest": "no",
        },
    )
    assert (ok["crews"], ok["employees"], ok["towns"]) == (3, 12, ["T1", "T2"])
    assert (ok["machinery"], ok["comments"]) == ([], None)


def test_tally_and_exports() -> None:
    """Counts per choice, number statistics; CSV and xlsx carry one row per recipient."""
    q = questionnaire("staff", TOWNS)
    a = check_answers(q, {"town": "T1", "years": 5, "patrol_hours_month": 20, "main_burden":
                          "inspection", "support": ["data", "training"]})  # fmt: skip
    b = check_answers(q, {"town": "T1", "years": 25, "patrol_hours_month": 40, "main_burden":
                          "counter"})  # fmt: skip
    rows = {r["key"]: r for r in tally(q, [a, b])}
    assert rows["town"]["counts"] == {"T1": 2, "T2": 0}
    assert rows["patrol_hours_month"]["sum"] == 60.0
    assert rows["years"]["mean"] == 15.0
    assert rows["support"]["counts"]["data"] == 1
    assert rows["comments"]["answered"] == 0
    text = export_csv(q, [("r1", a), ("r2", b)]).decode("utf-8-sig").splitlines()
    assert text[0].startswith("recipient,town,years")
    assert text[1].startswith("r1,T1,5,20.0,inspection,data; training")
    book = load_workbook(io.BytesIO(export_xlsx(q, [("r1", a), ("r2", b)])))
    assert book["answers"].max_row == 3
    assert [c.value for c in book["tally"][2]][:3] != ["town", "施設", 2]
    assert [c.value for c in book["tally"][2]][:5] == ["town", "所属自治体", 2, "T1", 2]


def test_capacity_answers_give_the_size_limit() -> None:
    """Largest firm, median firm, or the JV-interested firms pooled."""
    firms = firm_capacities(
        [
            {"firm": "A", "crews": 2, "towns": ["T1"], "jv_interest": "yes"},
            {"firm": "B", "crews": 4, "towns": [], "jv_interest": "no"},
            {"firm": "C", "crews": 3, "towns": ["T1", "T2"], "jv_interest": "maybe"},
            {"firm": "D", "crews": None},
        ]
    )
    assert [f.name for f in firms] == ["A", "B", "C"]
    assert size_limits(firms).max_crews == 4
    assert size_limits(firms, rule="median").max_crews == 3
    assert size_limits(firms, rule="jv").max_crews == 5
    assert size_limits([]).max_crews is None
    assert FirmCapacity("A", 2, ("T1",)).can_carry(crews=2, towns=["T1"])
    assert not FirmCapacity("A", 2, ("T1",)).can_carry(crews=2, towns=["T1", "T2"])
    with pytest.raises(ValueError, match="rule"):
        size_limits(firms, rule="mean")
