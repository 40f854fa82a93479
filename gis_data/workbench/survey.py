"""Survey builder (the guide's tool 4): questionnaires for contractors and staff, tally, export.

A `Questionnaire` is a list of `Question` s for one audience: ``contractor`` (capacity, crews,
machinery, the towns a firm can cover, interest in a JV or a cooperative) or ``staff`` (town,
hours on patrols, main burden, the support wanted). `check_answers` validates one recipient's
answers and raises one `SurveyError` listing every bad answer; `tally` counts choices and sums
numbers; `export_csv` / `export_xlsx` write one row per recipient. The contractors' answers give
`FirmCapacity` records, and `size_limits` turns them into the local-firm size limit of a region
(`planning.evaluate.SizeLimits`) for `planning.regions` and the k frontier (`workbench.frontier`).
"""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gis_data.planning.evaluate import SizeLimits
from gis_data.workbench.intake import TIME_CATEGORIES, TIME_LABELS

AUDIENCES = ("contractor", "staff")
KINDS = ("text", "int", "number", "choice", "multi", "bool")
MACHINERY = {
    "patrol_vehicle": ("巡回車", "Patrol vehicle"),
    "mower": ("草刈機", "Mower"),
    "backhoe": ("バックホウ", "Backhoe"),
    "dump_truck": ("ダンプトラック", "Dump truck"),
    "road_sweeper": ("路面清掃車", "Road sweeper"),
    "aerial_platform": ("高所作業車", "Aerial platform"),
}
INTEREST = {
    "yes": ("参加したい", "Yes"),
    "maybe": ("条件次第", "Depends on terms"),
    "no": ("参加しない", "No"),
}
SUPPORT = {
    "training": ("研修", "Training"),
    "data": ("施設データの整備", "Asset data"),
    "ordering": ("発注事務の支援", "Help with ordering"),
    "mutual_aid": ("自治体間の相互応援", "Mutual aid between towns"),
}


@dataclass(frozen=True)
class Question:
    """One question: key, kind, labels, choices (key -> (ja, en)) and bounds."""

    key: str
    kind: str
    ja: str
    en: str
    choices: tuple[tuple[str, str, str], ...] = ()
    required: bool = True
    minimum: float = 0.0
    maximum: float = 1e12

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(
                f"question {self.key!r}: kind must be one of {KINDS}, got {self.kind!r}"
            )
        if self.kind in ("choice", "multi") and not self.choices:
            raise ValueError(f"question {self.key!r}: a {self.kind} question needs choices")

    def label(self, lang: str) -> str:
        """The question text in ``lang``."""
        return self.ja if lang == "ja" else self.en

    def to_dict(self, lang: str = "ja") -> dict[str, Any]:
        """Plain data for the answer page."""
        return {
            "key": self.key,
            "kind": self.kind,
            "label": self.label(lang),
            "required": self.required,
            "choices": [
                {"key": k, "label": ja if lang == "ja" else en} for k, ja, en in self.choices
            ],
            "minimum": self.minimum,
            "maximum": self.maximum,
        }


@dataclass(frozen=True)
class Questionnaire:
    """The questions of one audience."""

    audience: str
    questions: tuple[Question, ...]

    def question(self, key: str) -> Question:
        """The question ``key``."""
        for q in self.questions:
            if q.key == key:
                return q
        raise KeyError(f"no question {key!r} in the {self.audience} questionnaire")

    def to_dict(self, lang: str = "ja") -> dict[str, Any]:
        """Plain data for the answer page."""
        return {"audience": self.audience, "questions": [q.to_dict(lang) for q in self.questions]}


def _choices(table: Mapping[str, tuple[str, str]]) -> tuple[tuple[str, str, str], ...]:
    return tuple((k, ja, en) for k, (ja, en) in table.items())


def questionnaire(audience: str, towns: Mapping[str, str]) -> Questionnaire:
    """The standard questionnaire for ``audience``; ``towns`` maps municipality code -> name."""
    town_choices = tuple((code, name, name) for code, name in towns.items())
    if audience == "contractor":
        return Questionnaire(
            audience,
            (
                Question("firm", "text", "事業者名", "Firm name"),
                Question("employees", "int", "従業員数（人）", "Employees", maximum=100_000),
                Question(
                    "crews",
                    "int",
                    "巡回・維持作業に出せる班数（常時）",
                    "Patrol / maintenance crews you can field every day",
                    maximum=1_000,
                ),
                Question(
                    "machinery",
                    "multi",
                    "保有する機械",
                    "Machinery you own",
                    _choices(MACHINERY),
                    required=False,
                ),
                Question(
                    "towns",
                    "multi",
                    "対応できる自治体",
                    "Municipalities you can cover",
                    town_choices,
                ),
                Question(
                    "max_contract_yen",
                    "number",
                    "受注できる年間契約額の上限（円）",
                    "Largest yearly contract you can take (yen)",
                    required=False,
                ),
                Question(
                    "jv_interest",
                    "choice",
                    "JV（共同企業体）での受注に関心がありますか",
                    "Interest in bidding as a joint venture (JV)",
                    _choices(INTEREST),
                ),
                Question(
                    "cooperative_interest",
                    "choice",
                    "事業協同組合での受注に関心がありますか",
                    "Interest in bidding through a cooperative",
                    _choices(INTEREST),
                ),
                Question("comments", "text", "ご意見", "Comments", required=False),
            ),
        )
    if audience == "staff":
        return Questionnaire(
            audience,
            (
                Question("town", "choice", "所属自治体", "Your municipality", town_choices),
                Question(
                    "years", "int", "土木行政の経験年数", "Years in civil engineering", maximum=60
                ),
                Question(
                    "patrol_hours_month",
                    "number",
                    "巡回・点検・日常維持に使う時間（月あたり）",
                    "Hours per month on patrols, inspection and routine maintenance",
                    maximum=744,
                ),
                Question(
                    "main_burden",
                    "choice",
                    "最も負担の大きい業務",
                    "Your heaviest task",
                    _choices(TIME_LABELS),
                ),
                Question(
                    "support",
                    "multi",
                    "必要な支援",
                    "Support you need",
                    _choices(SUPPORT),
                    required=False,
                ),
                Question("comments", "text", "ご意見", "Comments", required=False),
            ),
        )
    raise ValueError(f"audience must be one of {AUDIENCES}, got {audience!r}")


@dataclass(frozen=True)
class AnswerProblem:
    """One bad answer: the question key, the value and why."""

    question: str
    value: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """Plain data for JSON."""
        return {"question": self.question, "value": self.value, "message": self.message}


class SurveyError(ValueError):
    """Answers that cannot be stored; ``problems`` lists every bad one."""

    def __init__(self, problems: Sequence[AnswerProblem]) -> None:
        self.problems = list(problems)
        super().__init__(
            "; ".join(f"{p.question} ({p.value!r}): {p.message}" for p in self.problems)
        )


def _check(q: Question, raw: Any) -> tuple[Any, str | None]:
    empty = raw is None or raw == "" or raw == []
    if empty:
        return ([] if q.kind == "multi" else None), ("required" if q.required else None)
    keys = {k for k, _, _ in q.choices}
    if q.kind == "text":
        text = str(raw).strip()
        return (text, None) if len(text) <= 2000 else (None, "longer than 2000 characters")
    if q.kind == "bool":
        if isinstance(raw, bool):
            return raw, None
        low = str(raw).lower()
        if low in ("true", "yes", "1"):
            return True, None
        if low in ("false", "no", "0"):
            return False, None
        return None, "must be yes or no"
    if q.kind == "choice":
        return (str(raw), None) if str(raw) in keys else (None, f"must be one of {sorted(keys)}")
    if q.kind == "multi":
        values = raw if isinstance(raw, (list, tuple)) else [raw]
        bad = [str(v) for v in values if str(v) not in keys]
        if bad:
            return None, f"unknown choices {bad}; allowed {sorted(keys)}"
        return sorted({str(v) for v in values}), None
    try:
        number = float(raw)
    except (TypeError, ValueError):
        return None, "must be a number"
    if q.kind == "int" and not number.is_integer():
        return None, "must be a whole number"
    if not q.minimum <= number <= q.maximum:
        return None, f"must be between {q.minimum:g} and {q.maximum:g}"
    return (int(number) if q.kind == "int" else number), None


def check_answers(q: Questionnaire, answers: Mapping[str, Any]) -> dict[str, Any]:
    """Validated answers (question key -> value); one `SurveyError` lists every bad answer."""
    problems = [
        AnswerProblem(key, str(answers[key]), "not a question of this survey")
        for key in answers
        if key not in {x.key for x in q.questions}
    ]
    out: dict[str, Any] = {}
    for question in q.questions:
        value, error = _check(question, answers.get(question.key))
        if error:
            problems.append(AnswerProblem(question.key, str(answers.get(question.key, "")), error))
        out[question.key] = value
    if problems:
        raise SurveyError(problems)
    return out


def tally(q: Questionnaire, responses: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per question: answered count, choice counts (choice/multi/bool) or number statistics."""
    rows = []
    for question in q.questions:
        values = [r.get(question.key) for r in responses]
        given = [v for v in values if v not in (None, "", [])]
        row: dict[str, Any] = {"key": question.key, "label": question.ja, "answered": len(given)}
        if question.kind in ("choice", "multi"):
            counts = {k: 0 for k, _, _ in question.choices}
            for v in given:
                for item in v if isinstance(v, list) else [v]:
                    counts[str(item)] = counts.get(str(item), 0) + 1
            row["counts"] = counts
        elif question.kind == "bool":
            row["counts"] = {
                "yes": sum(1 for v in given if v),
                "no": sum(1 for v in given if not v),
            }
        elif question.kind in ("int", "number"):
            numbers = [float(v) for v in given]
            row.update(
                {
                    "sum": sum(numbers),
                    "mean": statistics.fmean(numbers) if numbers else None,
                    "min": min(numbers, default=None),
                    "max": max(numbers, default=None),
                }
            )
        rows.append(row)
    return rows


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return "" if value is None else value


def export_rows(
    q: Questionnaire, responses: Sequence[tuple[str, Mapping[str, Any]]]
) -> list[list[Any]]:
    """Header and one row per (recipient label, answers)."""
    rows: list[list[Any]] = [["recipient", *(x.key for x in q.questions)]]
    for label, answers in responses:
        rows.append([label, *(_cell(answers.get(x.key)) for x in q.questions)])
    return rows


def export_csv(q: Questionnaire, responses: Sequence[tuple[str, Mapping[str, Any]]]) -> bytes:
    """The answers as UTF-8 CSV with a BOM (opens in Excel with Japanese intact)."""
    buf = io.StringIO()
    csv.writer(buf).writerows(export_rows(q, responses))
    return buf.getvalue().encode("utf-8-sig")


def export_xlsx(q: Questionnaire, responses: Sequence[tuple[str, Mapping[str, Any]]]) -> bytes:
    """The answers (sheet ``answers``) and the tally (sheet ``tally``) as .xlsx."""
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "answers"
    for row in export_rows(q, responses):
        ws.append(row)
    summary = book.create_sheet("tally")
    summary.append(["question", "label", "answered", "value", "count / statistic"])
    for item in tally(q, [a for _, a in responses]):
        head = [item["key"], item["label"], item["answered"]]
        for key, count in item.get("counts", {}).items():
            summary.append([*head, key, count])
        for stat in ("sum", "mean", "min", "max"):
            if stat in item:
                summary.append([*head, stat, item[stat]])
        if "counts" not in item and "sum" not in item:
            summary.append([*head, "", ""])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


@dataclass(frozen=True)
class FirmCapacity:
    """What one surveyed local firm can carry: crews, the towns it covers, JV interest."""

    name: str
    crews: int
    towns: tuple[str, ...] = ()
    jv_interest: bool = False

    def covers(self, towns: Sequence[str]) -> bool:
        """True when the firm can work in every one of ``towns`` (no towns listed: anywhere)."""
        return not self.towns or set(towns) <= set(self.towns)

    def can_carry(self, *, crews: int, towns: Sequence[str] = ()) -> bool:
        """True when the firm has ``crews`` crews and covers ``towns``."""
        return self.crews >= crews and self.covers(towns)


def firm_capacities(responses: Sequence[Mapping[str, Any]]) -> list[FirmCapacity]:
    """Firms from the contractors' answers (those without a crew count are skipped)."""
    out = []
    for i, r in enumerate(responses):
        crews = r.get("crews")
        if crews is None:
            continue
        out.append(
            FirmCapacity(
                name=str(r.get("firm") or f"firm {i + 1}"),
                crews=int(crews),
                towns=tuple(r.get("towns") or ()),
                jv_interest=r.get("jv_interest") in ("yes", "maybe"),
            )
        )
    return out


def size_limits(
    firms: Sequence[FirmCapacity], *, rule: str = "largest", crew_hours: float | None = None
) -> SizeLimits:
    """The region size limit local firms can carry, in crews.

    ``rule``: ``largest`` (the biggest single firm), ``median`` (a typical firm) or ``jv`` (the
    biggest firm, or all firms interested in a JV together when that is more).
    """
    if not firms:
        return SizeLimits()
    crews = [f.crews for f in firms]
    if rule == "largest":
        cap = max(crews)
    elif rule == "median":
        cap = int(statistics.median_low(crews))
    elif rule == "jv":
        cap = max(*crews, sum(f.crews for f in firms if f.jv_interest))
    else:
        raise ValueError(f"rule must be largest, median or jv, got {rule!r}")
    if cap <= 0:
        return SizeLimits()
    return SizeLimits(max_crews=cap, crew_hours=crew_hours)


def time_category_label(key: str, lang: str = "ja") -> str:
    """Label of a working-time category (staff questionnaire's ``main_burden``)."""
    if key not in TIME_CATEGORIES:
        raise KeyError(key)
    return TIME_LABELS[key][0 if lang == "ja" else 1]
