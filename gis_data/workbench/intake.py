"""Planner's intake (the guide's tools 1 and 2): staff and working time, and ordering status.

Tool 1, *current state* (現状把握): per municipality, civil-engineering staff by age band and the
ideal versus actual split of their working time over planning, inspection, works, routine
maintenance and counter work. Tool 2, *ordering status* (発注状況): what each department and town
orders per field x process, how (per job, annual, multi-year), at what cost, from which firms,
whether the work is already bundled and how often it failed to find a bidder (不調・不落).

Both come from one template gunmane writes (`write_template`: ``workbench.xlsx`` with the sheets
``staff`` and ``ordering``, or one CSV per sheet) and are read back by `read_intake`, which checks
every cell and raises one `IntakeError` listing every bad cell (sheet, row, column, value) so
nothing half-valid is ever stored. Headers may be the column key, its Japanese label or
``"label (key)"`` as the template writes them. Charts (`age_pyramid_png`, `time_split_png`)
are matplotlib PNGs. `ordering_matrix` gives the field x process matrix that pre-fills the scope
matrix of the implementation policy (`workbench.report`), with the cells already bundled and those
failing to find bidders flagged.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FIELDS = ("road", "river", "park", "sewer", "other")
FIELD_LABELS = {
    "road": ("道路", "Road"),
    "river": ("河川", "River"),
    "park": ("公園", "Park"),
    "sewer": ("下水道", "Sewer"),
    "other": ("その他", "Other"),
}
# Process keys in the order of the report's scope matrix (`gis_data.workbench.report.PROCESSES`).
PROCESSES = ("planning", "inspection", "design", "works", "patrol", "cleaning", "counter")
PROCESS_LABELS = {
    "planning": ("計画策定", "Planning"),
    "inspection": ("点検", "Inspection"),
    "design": ("設計", "Design"),
    "works": ("工事", "Works"),
    "patrol": ("巡回", "Patrol"),
    "cleaning": ("清掃・除草・剪定", "Cleaning, mowing, pruning"),
    "counter": ("窓口業務", "Counter work"),
}
METHODS = ("per_job", "annual", "multi_year")
METHOD_LABELS = {
    "per_job": ("都度発注", "Per job"),
    "annual": ("単年度契約", "Annual"),
    "multi_year": ("複数年契約", "Multi-year"),
}
AGE_BANDS = ("under30", "30s", "40s", "50s", "60plus")
AGE_LABELS = {
    "under30": ("29歳以下", "Under 30"),
    "30s": ("30〜39歳", "30-39"),
    "40s": ("40〜49歳", "40-49"),
    "50s": ("50〜59歳", "50-59"),
    "60plus": ("60歳以上", "60 and over"),
}
TIME_CATEGORIES = ("planning", "inspection", "works", "maintenance", "counter")
TIME_LABELS = {
    "planning": ("計画", "Planning"),
    "inspection": ("点検", "Inspection"),
    "works": ("工事", "Works"),
    "maintenance": ("日常維持管理", "Routine maintenance"),
    "counter": ("窓口対応", "Counter work"),
}
# Working time the bundled patrol contract takes over: inspection and routine maintenance.
PATROL_TIME_CATEGORIES = ("inspection", "maintenance")
DEFAULT_HOURS_PER_YEAR = 1_860.0  # about 7.75 h x 240 working days
PCT_TOLERANCE = 1.0  # shares may be rounded: they must add up to 100 +- this

_BOOL = {
    "yes": True,
    "y": True,
    "true": True,
    "1": True,
    "有": True,
    "はい": True,
    "○": True,
    "no": False,
    "n": False,
    "false": False,
    "0": False,
    "無": False,
    "いいえ": False,
    "": False,
}


@dataclass(frozen=True)
class Column:
    """One template column: key, Japanese and English labels, and its kind."""

    key: str
    ja: str
    en: str
    kind: str  # text | code | count | pct | hours | yen | choice | bool | list
    required: bool = True
    choices: tuple[str, ...] = ()

    def header(self) -> str:
        """The header the template writes."""
        return f"{self.ja} ({self.key})"


STAFF_COLUMNS: tuple[Column, ...] = (
    Column("municipality_code", "団体コード", "Municipality code", "code"),
    Column("municipality", "自治体名", "Municipality", "text"),
    *(Column(f"age_{b}", f"職員数 {AGE_LABELS[b][0]}", f"Staff {AGE_LABELS[b][1]}", "count")
      for b in AGE_BANDS),
    *(Column(f"actual_{c}", f"現状 {TIME_LABELS[c][0]} %", f"Actual {TIME_LABELS[c][1]} %", "pct")
      for c in TIME_CATEGORIES),
    *(Column(f"ideal_{c}", f"理想 {TIME_LABELS[c][0]} %", f"Ideal {TIME_LABELS[c][1]} %", "pct")
      for c in TIME_CATEGORIES),
    Column("hours_per_year", "年間勤務時間/人", "Working hours per person-year", "hours",
           required=False),
)  # fmt: skip

ORDERING_COLUMNS: tuple[Column, ...] = (
    Column("department", "担当部署", "Department", "text"),
    Column("municipality_code", "団体コード", "Municipality code", "code"),
    Column("field", "分野", "Field", "choice", choices=FIELDS),
    Column("process", "業務", "Process", "choice", choices=PROCESSES),
    Column("method", "発注方式", "Ordering method", "choice", choices=METHODS),
    Column("annual_cost_yen", "年間発注額（円）", "Annual cost (yen)", "yen"),
    Column("firms", "受注者（;区切り）", "Firms (; separated)", "list", required=False),
    Column("bundled", "包括化済み", "Already bundled", "bool", required=False),
    Column("failed_tenders", "不調・不落 件数（直近3年）", "Failed tenders (3 years)", "count",
           required=False),
    Column("tenders", "入札件数（直近3年）", "Tenders (3 years)", "count", required=False),
)  # fmt: skip

SHEETS: dict[str, tuple[Column, ...]] = {"staff": STAFF_COLUMNS, "ordering": ORDERING_COLUMNS}
SHEET_LABELS = {"staff": ("職員体制", "Staff"), "ordering": ("発注状況", "Ordering status")}


@dataclass(frozen=True)
class CellProblem:
    """One bad cell: sheet, spreadsheet row (header = 1), column key, the value and why."""

    sheet: str
    row: int
    column: str
    value: str
    message: str

    def __str__(self) -> str:
        return f"{self.sheet}!row {self.row}, column {self.column} ({self.value!r}): {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "message": self.message,
        }


class IntakeError(ValueError):
    """The template holds bad cells; ``problems`` lists every one of them."""

    def __init__(self, source: str, problems: Sequence[CellProblem]) -> None:
        self.source = source
        self.problems = list(problems)
        head = "; ".join(str(p) for p in self.problems[:20])
        more = f" (and {len(self.problems) - 20} more)" if len(self.problems) > 20 else ""
        super().__init__(f"{source}: {len(self.problems)} bad cell(s): {head}{more}")


@dataclass(frozen=True)
class StaffRecord:
    """Tool 1 for one municipality."""

    municipality_code: str
    municipality: str
    staff_by_age: dict[str, int]
    actual_pct: dict[str, float]
    ideal_pct: dict[str, float]
    hours_per_year: float = DEFAULT_HOURS_PER_YEAR

    @property
    def staff(self) -> int:
        """Civil-engineering staff in all age bands."""
        return sum(self.staff_by_age.values())

    @property
    def hours(self) -> float:
        """Working hours of all staff per year."""
        return self.staff * self.hours_per_year

    def hours_on(self, categories: Iterable[str], *, ideal: bool = False) -> float:
        """Staff hours per year spent on ``categories`` (actual split, or the ideal one)."""
        split = self.ideal_pct if ideal else self.actual_pct
        return self.hours * sum(split[c] for c in categories) / 100.0

    def patrol_hours(self) -> float:
        """Actual hours on inspection and routine maintenance (what bundling takes over)."""
        return self.hours_on(PATROL_TIME_CATEGORIES)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON and the database."""
        return {
            "municipality_code": self.municipality_code,
            "municipality": self.municipality,
            "staff_by_age": dict(self.staff_by_age),
            "actual_pct": dict(self.actual_pct),
            "ideal_pct": dict(self.ideal_pct),
            "hours_per_year": self.hours_per_year,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StaffRecord:
        """Inverse of `to_dict`."""
        return cls(
            municipality_code=str(data["municipality_code"]),
            municipality=str(data["municipality"]),
            staff_by_age={b: int(data["staff_by_age"][b]) for b in AGE_BANDS},
            actual_pct={c: float(data["actual_pct"][c]) for c in TIME_CATEGORIES},
            ideal_pct={c: float(data["ideal_pct"][c]) for c in TIME_CATEGORIES},
            hours_per_year=float(data.get("hours_per_year", DEFAULT_HOURS_PER_YEAR)),
        )


@dataclass(frozen=True)
class OrderRecord:
    """Tool 2: one ordered piece of work (department, town, field, process)."""

    department: str
    municipality_code: str
    field: str
    process: str
    method: str
    annual_cost_yen: float
    firms: tuple[str, ...] = ()
    bundled: bool = False
    failed_tenders: int = 0
    tenders: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON and the database."""
        return {
            "department": self.department,
            "municipality_code": self.municipality_code,
            "field": self.field,
            "process": self.process,
            "method": self.method,
            "annual_cost_yen": self.annual_cost_yen,
            "firms": list(self.firms),
            "bundled": self.bundled,
            "failed_tenders": self.failed_tenders,
            "tenders": self.tenders,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OrderRecord:
        """Inverse of `to_dict`."""
        return cls(
            department=str(data["department"]),
            municipality_code=str(data["municipality_code"]),
            field=str(data["field"]),
            process=str(data["process"]),
            method=str(data["method"]),
            annual_cost_yen=float(data["annual_cost_yen"]),
            firms=tuple(str(f) for f in data.get("firms", ())),
            bundled=bool(data.get("bundled", False)),
            failed_tenders=int(data.get("failed_tenders", 0)),
            tenders=int(data.get("tenders", 0)),
        )


@dataclass(frozen=True)
class Intake:
    """Tools 1 and 2 of a group of municipalities."""

    staff: tuple[StaffRecord, ...] = ()
    orders: tuple[OrderRecord, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON and the database."""
        return {
            "staff": [s.to_dict() for s in self.staff],
            "orders": [o.to_dict() for o in self.orders],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Intake:
        """Inverse of `to_dict`."""
        return cls(
            staff=tuple(StaffRecord.from_dict(s) for s in data.get("staff", ())),
            orders=tuple(OrderRecord.from_dict(o) for o in data.get("orders", ())),
        )

    def patrol_hours_by_town(self) -> dict[str, float]:
        """Municipality code -> actual staff hours per year on inspection and maintenance.

        This is the ``staff_hours_available`` of `planning.effects.EffectEstimate.staff_rows`.
        """
        return {s.municipality_code: s.patrol_hours() for s in self.staff}


# -- template -----------------------------------------------------------------------------------

_EXAMPLE_STAFF = {
    "municipality_code": "T1",
    "municipality": "Aville",
    "age_under30": 1,
    "age_30s": 1,
    "age_40s": 2,
    "age_50s": 3,
    "age_60plus": 1,
    "actual_planning": 5,
    "actual_inspection": 25,
    "actual_works": 20,
    "actual_maintenance": 35,
    "actual_counter": 15,
    "ideal_planning": 25,
    "ideal_inspection": 20,
    "ideal_works": 25,
    "ideal_maintenance": 15,
    "ideal_counter": 15,
    "hours_per_year": DEFAULT_HOURS_PER_YEAR,
}
_EXAMPLE_ORDER = {
    "department": "建設課",
    "municipality_code": "T1",
    "field": "road",
    "process": "patrol",
    "method": "annual",
    "annual_cost_yen": 3_200_000,
    "firms": "A建設; B土木",
    "bundled": "no",
    "failed_tenders": 2,
    "tenders": 3,
}
_EXAMPLES = {"staff": _EXAMPLE_STAFF, "ordering": _EXAMPLE_ORDER}


def template_rows(sheet: str, *, example: bool = True) -> list[list[Any]]:
    """Header row (and one example row) of ``sheet``."""
    columns = SHEETS[sheet]
    rows: list[list[Any]] = [[c.header() for c in columns]]
    if example:
        rows.append([_EXAMPLES[sheet][c.key] for c in columns])
    return rows


def _notes() -> list[list[str]]:
    rows = [["シート / sheet", "列 / column", "説明", "notes"]]
    for sheet, columns in SHEETS.items():
        for c in columns:
            allowed = f" [{', '.join(c.choices)}]" if c.choices else ""
            need = "" if c.required else "（任意）"
            rows.append([sheet, c.key, f"{c.ja}{need}{allowed}", f"{c.en}{allowed}"])
    rows.append(["", "", "現状・理想の割合（%）はそれぞれ合計100", "each % split sums to 100"])
    return rows


def write_template(folder: str | Path, *, example: bool = True) -> list[Path]:
    """Write ``workbench.xlsx`` (staff, ordering, notes) and ``staff.csv``/``ordering.csv``."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "workbench.xlsx"]
    paths[0].write_bytes(template_xlsx(example=example))
    for sheet in SHEETS:
        path = out / f"{sheet}.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            csv.writer(fh).writerows(template_rows(sheet, example=example))
        paths.append(path)
    return paths


def template_xlsx(*, example: bool = True) -> bytes:
    """The .xlsx template as bytes (for the download endpoint)."""
    from openpyxl import Workbook

    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    for sheet in SHEETS:
        ws = book.create_sheet(sheet)
        for row in template_rows(sheet, example=example):
            ws.append(row)
        ws.freeze_panes = "A2"
    notes = book.create_sheet("notes")
    for row in _notes():
        notes.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


# -- reading ------------------------------------------------------------------------------------

_KEY_IN_PARENS = re.compile(r"\(([A-Za-z0-9_]+)\)\s*$")


def _header_key(raw: Any, columns: Sequence[Column]) -> str | None:
    text = "" if raw is None else str(raw).strip()
    keys = {c.key for c in columns}
    if text in keys:
        return text
    m = _KEY_IN_PARENS.search(text)
    if m and m.group(1) in keys:
        return m.group(1)
    for c in columns:
        if text in (c.ja, c.en):
            return c.key
    return None


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _parse(col: Column, text: str) -> tuple[Any, str | None]:
    """The cell's value, or an error message."""
    if text == "":
        if col.required:
            return None, "required"
        defaults: dict[str, Any] = {"list": (), "bool": False, "count": 0, "hours": None}
        return defaults.get(col.kind, ""), None
    if col.kind in ("text", "code"):
        return text, None
    if col.kind == "choice":
        low = text.lower()
        if low in col.choices:
            return low, None
        for key in col.choices:
            labels = (FIELD_LABELS | PROCESS_LABELS | METHOD_LABELS).get(key, ())
            if text in labels:
                return key, None
        return None, f"must be one of {', '.join(col.choices)}"
    if col.kind == "bool":
        low = text.lower()
        if low in _BOOL:
            return _BOOL[low], None
        return None, "must be yes or no"
    if col.kind == "list":
        return tuple(p.strip() for p in re.split(r"[;；、]", text) if p.strip()), None
    try:
        number = float(text.replace(",", ""))
    except ValueError:
        return None, "must be a number"
    if not math.isfinite(number) or number < 0:
        return None, "must be a number >= 0"
    if col.kind == "count":
        if not number.is_integer():
            return None, "must be a whole number"
        return int(number), None
    if col.kind == "pct" and number > 100:
        return None, "must be between 0 and 100"
    if col.kind == "hours" and not 0 < number <= 8_784:
        return None, "must be between 0 and 8784 hours"
    return number, None


def _read_rows(
    sheet: str, rows: list[list[Any]], problems: list[CellProblem]
) -> list[tuple[int, dict[str, Any]]]:
    """Parsed rows of one sheet with their spreadsheet row numbers; problems appended."""
    columns = SHEETS[sheet]
    by_key = {c.key: c for c in columns}
    if not rows:
        problems.append(CellProblem(sheet, 1, "", "", "the sheet is empty: no header row"))
        return []
    header = rows[0]
    keys: list[str | None] = []
    for j, raw in enumerate(header):
        key = _header_key(raw, columns)
        if key is None and _cell_text(raw):
            problems.append(
                CellProblem(sheet, 1, _column_letter(j), _cell_text(raw), "unknown column")
            )
        keys.append(key)
    missing = [c.key for c in columns if c.required and c.key not in keys]
    for key in missing:
        problems.append(CellProblem(sheet, 1, key, "", "required column is missing"))
    if missing:
        return []
    out = []
    for i, raw_row in enumerate(rows[1:], start=2):
        texts = [_cell_text(v) for v in raw_row]
        if not any(texts):
            continue
        record: dict[str, Any] = {}
        for j, key in enumerate(keys):
            if key is None:
                continue
            text = texts[j] if j < len(texts) else ""
            value, error = _parse(by_key[key], text)
            if error:
                problems.append(CellProblem(sheet, i, key, text, error))
            record[key] = value
        for c in columns:
            if c.key not in record:
                record[c.key] = _parse(c, "")[0]
        out.append((i, record))
    return out


def _column_letter(j: int) -> str:
    letters = ""
    j += 1
    while j:
        j, rem = divmod(j - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _staff(
    rows: list[tuple[int, dict[str, Any]]], problems: list[CellProblem]
) -> list[StaffRecord]:
    out = []
    seen: dict[str, int] = {}
    for i, r in rows:
        code = r["municipality_code"]
        if code and code in seen:
            problems.append(
                CellProblem("staff", i, "municipality_code", code, f"repeats row {seen[code]}")
            )
        elif code:
            seen[code] = i
        for prefix in ("actual", "ideal"):
            values = [r[f"{prefix}_{c}"] for c in TIME_CATEGORIES]
            if all(isinstance(v, float) for v in values) and abs(sum(values) - 100) > PCT_TOLERANCE:
                problems.append(
                    CellProblem(
                        "staff",
                        i,
                        f"{prefix}_{TIME_CATEGORIES[0]}..{prefix}_{TIME_CATEGORIES[-1]}",
                        f"{sum(values):g}",
                        "the shares must add up to 100",
                    )
                )
        if any(p.sheet == "staff" and p.row == i for p in problems):
            continue
        out.append(
            StaffRecord(
                municipality_code=code,
                municipality=r["municipality"],
                staff_by_age={b: r[f"age_{b}"] for b in AGE_BANDS},
                actual_pct={c: r[f"actual_{c}"] for c in TIME_CATEGORIES},
                ideal_pct={c: r[f"ideal_{c}"] for c in TIME_CATEGORIES},
                hours_per_year=r["hours_per_year"] or DEFAULT_HOURS_PER_YEAR,
            )
        )
    return out


def _orders(
    rows: list[tuple[int, dict[str, Any]]], problems: list[CellProblem]
) -> list[OrderRecord]:
    out = []
    for i, r in rows:
        if (
            isinstance(r["failed_tenders"], int)
            and isinstance(r["tenders"], int)
            and r["tenders"]
            and r["failed_tenders"] > r["tenders"]
        ):
            problems.append(
                CellProblem(
                    "ordering", i, "failed_tenders", str(r["failed_tenders"]), "more than tenders"
                )
            )
        if any(p.sheet == "ordering" and p.row == i for p in problems):
            continue
        out.append(
            OrderRecord(
                department=r["department"],
                municipality_code=r["municipality_code"],
                field=r["field"],
                process=r["process"],
                method=r["method"],
                annual_cost_yen=r["annual_cost_yen"],
                firms=r["firms"],
                bundled=r["bundled"],
                failed_tenders=r["failed_tenders"],
                tenders=r["tenders"],
            )
        )
    return out


def _xlsx_sheets(data: bytes, source: str) -> dict[str, list[list[Any]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a file that is not a workbook
        raise IntakeError(
            source, [CellProblem("", 0, "", "", f"not a readable .xlsx workbook ({exc})")]
        ) from None
    try:
        return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in book}
    except Exception as exc:  # a damaged sheet inside a readable zip
        raise IntakeError(
            source, [CellProblem("", 0, "", "", f"a sheet cannot be read ({exc})")]
        ) from None
    finally:
        book.close()


def _csv_rows(data: bytes, source: str, sheet: str) -> list[list[Any]]:
    for encoding in ("utf-8-sig", "cp932"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise IntakeError(source, [CellProblem(sheet, 0, "", "", "not UTF-8 or Shift-JIS text")])
    try:
        return [list(r) for r in csv.reader(io.StringIO(text))]
    except csv.Error as exc:
        raise IntakeError(
            source, [CellProblem(sheet, 0, "", "", f"not a CSV file ({exc})")]
        ) from None


def read_intake(
    files: Mapping[str, bytes] | str | Path | Sequence[str | Path],
    *,
    known_towns: Iterable[str] | None = None,
) -> Intake:
    """Read the filled template: an .xlsx, ``staff.csv``/``ordering.csv``, or name -> bytes.

    Every cell is checked; any problem raises one `IntakeError` listing all of them, and no
    record is returned. ``known_towns`` (municipality codes) rejects codes of other towns.
    """
    if isinstance(files, (str, Path)):
        files = [files]
    if not isinstance(files, Mapping):
        files = {Path(p).name: Path(p).read_bytes() for p in files}
    source = ", ".join(files)
    sheets: dict[str, list[list[Any]]] = {}
    for name, data in files.items():
        if name.lower().endswith(".xlsx"):
            book = _xlsx_sheets(data, name)
            sheets.update({s: rows for s, rows in book.items() if s in SHEETS})
        elif name.lower().endswith(".csv"):
            stem = Path(name).stem.lower()
            if stem not in SHEETS:
                raise IntakeError(
                    name,
                    [
                        CellProblem(
                            stem, 0, "", name, f"CSV must be named {' or '.join(SHEETS)}.csv"
                        )
                    ],
                )
            sheets[stem] = _csv_rows(data, name, stem)
        else:
            raise IntakeError(name, [CellProblem("", 0, "", name, "expected .xlsx or .csv")])
    if not sheets:
        raise IntakeError(
            source, [CellProblem("", 0, "", "", f"no sheet named {' or '.join(SHEETS)}")]
        )
    return _intake_from_sheets(sheets, source, known_towns)


def _intake_from_sheets(
    sheets: Mapping[str, list[list[Any]]], source: str, known_towns: Iterable[str] | None
) -> Intake:
    problems: list[CellProblem] = []
    staff = (
        _staff(_read_rows("staff", sheets["staff"], problems), problems)
        if "staff" in sheets
        else []
    )
    orders = (
        _orders(_read_rows("ordering", sheets["ordering"], problems), problems)
        if "ordering" in sheets
        else []
    )
    if known_towns is not None:
        towns = set(known_towns)
        for sheet in ("staff", "ordering"):
            for i, r in _rows_with_codes(sheets.get(sheet, [])):
                if r and r not in towns:
                    problems.append(
                        CellProblem(sheet, i, "municipality_code", r, "not a town of this scenario")
                    )
    if problems:
        problems.sort(key=lambda p: (p.sheet, p.row, p.column))
        raise IntakeError(source, problems)
    return Intake(staff=tuple(staff), orders=tuple(orders))


def intake_from_records(
    records: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    known_towns: Iterable[str] | None = None,
    source: str = "form",
) -> Intake:
    """`read_intake` for rows entered in the web page: sheet -> [{column key: value}].

    The same checks run, and problems name the sheet, the row (the first entry is row 2, as in
    the template) and the column.
    """
    unknown = [name for name in records if name not in SHEETS]
    if unknown:
        raise IntakeError(source, [CellProblem(n, 0, "", n, "unknown sheet") for n in unknown])
    sheets: dict[str, list[list[Any]]] = {}
    for name, rows in records.items():
        keys = [c.key for c in SHEETS[name]]
        extra = sorted({k for r in rows for k in r} - set(keys))
        sheets[name] = [keys + extra, *([r.get(k) for k in keys + extra] for r in rows)]
    return _intake_from_sheets(sheets, source, known_towns)


def _rows_with_codes(rows: list[list[Any]]) -> list[tuple[int, str]]:
    if not rows:
        return []
    keys = [_header_key(h, STAFF_COLUMNS + ORDERING_COLUMNS) for h in rows[0]]
    if "municipality_code" not in keys:
        return []
    j = keys.index("municipality_code")
    return [
        (i, _cell_text(r[j]) if j < len(r) else "")
        for i, r in enumerate(rows[1:], start=2)
        if any(_cell_text(v) for v in r)
    ]


# -- ordering matrix ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MatrixCell:
    """What is ordered for one field x process over all towns and departments."""

    field: str
    process: str
    cost_yen: float = 0.0
    methods: tuple[str, ...] = ()
    firms: tuple[str, ...] = ()
    towns: tuple[str, ...] = ()
    bundled: bool = False
    failed_tenders: int = 0
    tenders: int = 0

    @property
    def ordered(self) -> bool:
        """Something is ordered in this cell."""
        return bool(self.towns)

    @property
    def failing(self) -> bool:
        """Some tender of this cell found no bidder or no acceptable bid (不調・不落)."""
        return self.failed_tenders > 0

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "field": self.field,
            "process": self.process,
            "cost_yen": self.cost_yen,
            "methods": list(self.methods),
            "firms": list(self.firms),
            "towns": list(self.towns),
            "bundled": self.bundled,
            "failed_tenders": self.failed_tenders,
            "tenders": self.tenders,
            "failing": self.failing,
        }


@dataclass(frozen=True)
class OrderingMatrix:
    """Field x process cells; ``scope()`` is the suggested scope of the bundled contract."""

    fields: tuple[str, ...]
    cells: dict[tuple[str, str], MatrixCell] = field(default_factory=dict)

    def cell(self, field_key: str, process: str) -> MatrixCell:
        """The cell (empty when nothing is ordered there)."""
        return self.cells.get((field_key, process), MatrixCell(field_key, process))

    def scope(self) -> dict[str, list[str]]:
        """Field -> processes (Japanese labels, as `gis_data.workbench.report.PROCESSES`) to bundle.

        A cell is suggested when it is already bundled, fails to find bidders, or is ordered
        per job or year for more than one town (what a multi-year bundle replaces).
        """
        out: dict[str, list[str]] = {}
        for f in self.fields:
            chosen = []
            for p in PROCESSES:
                c = self.cell(f, p)
                if c.bundled or c.failing or (c.ordered and len(c.towns) > 1):
                    chosen.append(PROCESS_LABELS[p][0])
            out[f] = chosen
        return out

    def rows(self, lang: str = "ja") -> list[dict[str, Any]]:
        """One row per field with its cells, for tables and templates."""
        idx = 0 if lang == "ja" else 1
        return [
            {
                "field": FIELD_LABELS[f][idx],
                "field_key": f,
                "cells": [self.cell(f, p).to_dict() for p in PROCESSES],
            }
            for f in self.fields
        ]


def ordering_matrix(orders: Iterable[OrderRecord], *, fields: Sequence[str] = ()) -> OrderingMatrix:
    """Sum the orders into field x process cells (fields: those given, then those ordered)."""
    groups: dict[tuple[str, str], list[OrderRecord]] = {}
    for o in orders:
        groups.setdefault((o.field, o.process), []).append(o)
    cells = {
        key: MatrixCell(
            field=key[0],
            process=key[1],
            cost_yen=sum(o.annual_cost_yen for o in group),
            methods=tuple(sorted({o.method for o in group}, key=METHODS.index)),
            firms=tuple(sorted({f for o in group for f in o.firms})),
            towns=tuple(sorted({o.municipality_code for o in group})),
            bundled=any(o.bundled for o in group),
            failed_tenders=sum(o.failed_tenders for o in group),
            tenders=sum(o.tenders for o in group),
        )
        for key, group in groups.items()
    }
    ordered_fields = [f for f in FIELDS if f in fields or any(k[0] == f for k in cells)]
    return OrderingMatrix(fields=tuple(ordered_fields), cells=cells)


# -- charts -------------------------------------------------------------------------------------


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gis_data.workbench.cjk_font import use_japanese_font

    return plt, use_japanese_font(plt)


def _png(fig: Any, plt: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def age_pyramid_png(staff: Sequence[StaffRecord], *, lang: str = "ja") -> bytes:
    """Staff by age band (bars stacked by town), youngest at the bottom."""
    plt, cjk = _plt()
    idx = 0 if lang == "ja" and cjk else 1
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    left = [0.0] * len(AGE_BANDS)
    for s in staff:
        values = [float(s.staff_by_age[b]) for b in AGE_BANDS]
        ax.barh([AGE_LABELS[b][idx] for b in AGE_BANDS], values, left=left, label=s.municipality)
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_xlabel(("職員数（人）", "Staff (persons)")[idx])
    ax.set_title(("土木技術職員の年齢構成", "Civil-engineering staff by age")[idx])
    if staff:
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return _png(fig, plt)


def time_split_png(staff: Sequence[StaffRecord], *, lang: str = "ja") -> bytes:
    """Actual against ideal split of working time per town, as stacked 100 % bars."""
    plt, cjk = _plt()
    idx = 0 if lang == "ja" and cjk else 1
    fig, ax = plt.subplots(figsize=(7.2, 0.7 * max(2, 2 * len(staff)) + 1.2))
    names = []
    rows = []
    for s in staff:
        names += [
            f"{s.municipality} {('現状', 'actual')[idx]}",
            f"{s.municipality} {('理想', 'ideal')[idx]}",
        ]
        rows += [s.actual_pct, s.ideal_pct]
    left = [0.0] * len(rows)
    for c in TIME_CATEGORIES:
        values = [r[c] for r in rows]
        ax.barh(names, values, left=left, label=TIME_LABELS[c][idx])
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel(("業務時間の割合（%）", "Share of working time (%)")[idx])
    ax.set_title(("業務時間の配分（現状と理想）", "Working time: actual and ideal")[idx])
    ax.legend(
        fontsize=8, ncol=len(TIME_CATEGORIES), loc="upper center", bbox_to_anchor=(0.5, -0.25)
    )
    fig.tight_layout()
    return _png(fig, plt)
