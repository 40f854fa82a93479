"""The effect estimate in budget terms (予算ベースの導入効果試算): per town, per year, each line
with its source.

The engine's estimate (`planning.effects`) costs the patrols of both sides at the same unit
costs. A council needs the town's real budget on the status-quo side and the new costs of a
bundle on the other:

Status quo, per town (``source``):

- the current contracts of the bundled processes from the ordering intake (tool 2): annual
  amounts, number of contracts, tender rounds per year (the intake's tenders over three years,
  or by method: per job `BudgetRates.per_job_tenders_per_year`, annual 1, multi-year one per
  term) - ``intake``; a town without intake rows gets the engine's siloed patrol cost,
  labelled as an estimate - ``engine``;
- the staff hours of direct work (直営対応時間) the intake reports on inspection and routine
  maintenance (tool 1) - ``intake``; without it the engine's assumed hours - ``engine``;
- ordering work: tender rounds x `BudgetRates.staff_hours_per_tender` - ``setting``.

Bundled, per town:

- the modelled work at unit costs: the town's share of the bundled cost (the report's cost
  sharing, so the figures are the same numbers) - ``engine``;
- the overall management fee (全体マネジメント業務費) and the contractor's overheads (諸経費) at
  `BudgetRates` rates of the modelled work - ``setting``;
- the administration fee to the lead under 事務の代替執行 / 連携協力道路制度 -
  ``cooperation``;
- ordering work after: one tender per contract region and contract term, shared by the towns -
  ``setting``; the hours saved are valued at `BudgetRates.staff_hour_yen` - ``setting``;
- staff hours left: supervising the contractor (the engine's bundled staff hours) - ``engine``.

Figures are per year: an engine horizon of one month is scaled by 12 (stated in the lines).
Every default rate is an assumption to be replaced by the town's own figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from gis_data.planning.effects import check_non_negative

if TYPE_CHECKING:
    from gis_data.planning.effects import EffectEstimate
    from gis_data.workbench.intake import Intake

SOURCE_LABELS = {
    "intake": "発注状況・職員体制の記入",
    "engine": "経路計算による試算",
    "setting": "設定値",
    "cooperation": "連携の仕組みの設定",
    "quantities": "施設の数量×歩掛（設定値）",
}
# Intake process keys the engine models: patrols; routine maintenance (清掃・除草・剪定) is
# modelled by quantities (`planning.maintenance`) and compared with the intake's cleaning rows.
MODELLED_PROCESSES = frozenset({"patrol"})
MAINTENANCE_PROCESSES = frozenset({"cleaning"})
INTAKE_YEARS = 3  # the intake counts tenders over the last three years


@dataclass(frozen=True)
class BudgetRates:
    """Rates of the budget estimate (``[budget]`` in the settings); all are assumptions.

    - ``management_fee_rate`` 0.10: the overall management work (全体マネジメント業務: planning,
      data, coordination of the contractor bundle) as a share of the modelled work;
    - ``overhead_rate`` 0.30: the contractor's site and general overheads (諸経費) on labour and
      vehicles;
    - ``staff_hours_per_tender`` 40: town staff hours for one tender round (specification,
      estimate, notice, opening, contract);
    - ``staff_hour_yen`` 4,500: a town employee's cost per hour, to value the hours saved;
    - ``per_job_tenders_per_year`` 6: tender rounds a year of work ordered per job when the
      intake gives no tender count.
    """

    management_fee_rate: float = 0.10
    overhead_rate: float = 0.30
    staff_hours_per_tender: float = 40.0
    staff_hour_yen: float = 4_500.0
    per_job_tenders_per_year: float = 6.0

    def __post_init__(self) -> None:
        check_non_negative(self, "budget rate")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], *, where: str = "budget") -> BudgetRates:
        """Rates from a settings table; unknown keys are an error naming ``where``."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"{where}: unknown keys {unknown}; allowed {sorted(known)}")
        try:
            return cls(**{k: float(v) for k, v in values.items()})
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None


@dataclass(frozen=True)
class BudgetLine:
    """One line of a town's budget: yen or hours per year before and after, and the source."""

    town: str
    item: str
    unit: str  # 円 or 時間 or 件
    before: float | None
    after: float | None
    source: str
    note: str = ""

    @property
    def saving(self) -> float | None:
        """Before minus after (negative: an increase)."""
        if self.before is None or self.after is None:
            return None
        return self.before - self.after


@dataclass(frozen=True)
class TownBudget:
    """A town's lines and its yearly totals (yen), before and after."""

    code: str
    name: str
    lines: tuple[BudgetLine, ...]
    from_intake: bool

    def total(self, side: str) -> float:
        """Yen per year on ``side`` ('before' or 'after'), ordering work included."""
        return sum(getattr(x, side) or 0.0 for x in self.lines if x.unit == "円")

    def hours(self, side: str) -> float:
        """Staff hours per year on ``side``."""
        return sum(getattr(x, side) or 0.0 for x in self.lines if x.unit == "時間")


@dataclass(frozen=True)
class Budget:
    """Every town's budget, the rates and the years of the contract term."""

    towns: tuple[TownBudget, ...]
    rates: BudgetRates
    years: tuple[int, ...]
    scale: float

    def total(self, side: str) -> float:
        """Yen per year of all towns on ``side``."""
        return sum(t.total(side) for t in self.towns)

    def year_rows(self) -> list[dict[str, Any]]:
        """Per fiscal year of the term: before, after, saving (yen) over all towns."""
        before, after = self.total("before"), self.total("after")
        return [
            {"year": y, "before": before, "after": after, "saving": before - after}
            for y in self.years
        ]


@dataclass(frozen=True)
class BudgetYear:
    """One fiscal year of the contract term under the phase in force: yen before and after
    per town (the towns not in the phase's bundle keep their status quo)."""

    year: int
    phase: str  # the phase's label; "" without phases or before the first phase starts
    members: tuple[str, ...]  # the towns bundled that year
    before: dict[str, float]
    after: dict[str, float]

    @property
    def total_before(self) -> float:
        """Yen of all towns before."""
        return sum(self.before.values())

    @property
    def total_after(self) -> float:
        """Yen of all towns after."""
        return sum(self.after.values())

    @property
    def saving(self) -> float:
        """Before minus after (negative: an increase)."""
        return self.total_before - self.total_after


def phased_years(full: Budget, phases: Sequence[tuple[Any, int, Budget]] = ()) -> list[BudgetYear]:
    """The years of ``full``'s term, each under the phase in force.

    ``full`` is every town bundled; ``phases`` are (phase, first fiscal year, budget of that
    phase's members), the phase having a ``label``. A year takes the last phase started by then:
    its members' yen after from the phase's budget, every other town its status quo; a year
    before the first phase keeps the status quo for all. Without phases every year is ``full``.
    """
    before = {t.code: t.total("before") for t in full.towns}
    ordered = sorted(phases, key=lambda p: p[1])
    out = []
    for year in full.years:
        if not ordered:
            label, budget = "", full
        else:
            started = [p for p in ordered if p[1] <= year]
            if not started:
                out.append(BudgetYear(year, "", (), dict(before), dict(before)))
                continue
            phase, _, budget = started[-1]
            label = str(phase.label)
        after = dict(before)
        after.update({t.code: t.total("after") for t in budget.towns})
        members = tuple(t.code for t in budget.towns)
        out.append(BudgetYear(year, label, members, dict(before), after))
    return out


def _tender_rounds(method: str, tenders: int, rates: BudgetRates, term: int) -> float:
    if tenders > 0:
        return tenders / INTAKE_YEARS
    if method == "per_job":
        return rates.per_job_tenders_per_year
    if method == "multi_year":
        return 1.0 / max(1, term)
    return 1.0


def budget_estimate(
    effects: EffectEstimate,
    *,
    shares: Mapping[str, float],
    names: Mapping[str, str],
    rates: BudgetRates,
    contract_years: int,
    first_year: int,
    regions: int,
    intake: Intake | None = None,
    admin_fees: Mapping[str, float] | None = None,
    processes: Sequence[str] = tuple(MODELLED_PROCESSES),
    maintenance_yen: Mapping[str, float] | None = None,
) -> Budget:
    """Per town the status quo and the bundle in yen and hours per year (module docstring).

    ``shares`` is each town's share of the bundled engine cost over the horizon (they sum to
    ``effects.bundled.cost_yen``); ``regions`` the number of contract regions (one tender each
    per term); ``first_year`` the first fiscal year of the term.
    """
    costs = effects.siloed.costs
    scale = 12.0 if len(effects.horizon) == 7 and effects.horizon[4] == "-" else 1.0
    per_year = "" if scale == 1.0 else "（1か月の試算の12倍）"
    term = max(1, contract_years)
    towns = sorted(shares)
    chosen = set(processes)
    staff_by_town = {s.municipality_code: s for s in intake.staff} if intake else {}
    orders_by_town: dict[str, list[Any]] = {}
    upkeep_by_town: dict[str, list[Any]] = {}
    upkeep = maintenance_yen or {}
    for o in intake.orders if intake else ():
        if o.process in chosen:
            orders_by_town.setdefault(o.municipality_code, []).append(o)
        elif o.process in MAINTENANCE_PROCESSES and upkeep:
            upkeep_by_town.setdefault(o.municipality_code, []).append(o)
    siloed_cost: dict[str, float] = {}
    siloed_hours: dict[str, float] = {}
    for u in effects.siloed.units:
        for town in u.towns:
            siloed_cost[town] = siloed_cost.get(town, 0.0) + u.cost_yen(costs) / len(u.towns)
            siloed_hours[town] = siloed_hours.get(town, 0.0) + u.staff_hours(costs) / len(u.towns)
    bundled_hours: dict[str, float] = {}
    for u in effects.bundled.units:
        for town in u.towns:
            bundled_hours[town] = bundled_hours.get(town, 0.0) + u.staff_hours(costs) / len(u.towns)
    tenders_after = regions / term / max(1, len(towns))
    fees = admin_fees or {}
    out = []
    for code in towns:
        name = str(names.get(code, code))
        orders = orders_by_town.get(code, [])
        lines: list[BudgetLine] = []
        modelled = shares[code] * scale
        if orders:
            before_cost = sum(o.annual_cost_yen for o in orders)
            rounds = sum(_tender_rounds(o.method, o.tenders, rates, term) for o in orders)
            lines.append(
                BudgetLine(code, "現行の委託契約", "円", before_cost, None, "intake",
                           f"{len(orders)}件の契約")
            )  # fmt: skip
        else:
            rounds = 0.0
            lines.append(
                BudgetLine(code, "現状の巡回費用（推計）", "円", siloed_cost.get(code, 0.0) * scale,
                           None, "engine", "発注状況の記入なし：直営巡回の試算" + per_year)
            )  # fmt: skip
        lines += [
            BudgetLine(code, "巡回等の作業費（群マネ）", "円", None, modelled, "engine",
                       ("費用分担による按分" if len(towns) > 1 else "包括委託の巡回費用")
                       + per_year),
            BudgetLine(code, "全体マネジメント業務費", "円", None,
                       modelled * rates.management_fee_rate, "setting",
                       f"作業費の{100 * rates.management_fee_rate:.0f}%"),
            BudgetLine(code, "諸経費", "円", None, modelled * rates.overhead_rate, "setting",
                       f"作業費の{100 * rates.overhead_rate:.0f}%"),
        ]  # fmt: skip
        work = upkeep.get(code, 0.0)
        if work > 0:
            current = upkeep_by_town.get(code, [])
            if current:
                rounds += sum(_tender_rounds(o.method, o.tenders, rates, term) for o in current)
                lines.append(
                    BudgetLine(code, "維持作業の現行契約（清掃・除草・剪定）", "円",
                               sum(o.annual_cost_yen for o in current), None, "intake",
                               f"{len(current)}件の契約")
                )  # fmt: skip
            else:
                lines.append(
                    BudgetLine(code, "維持作業（現状、推計）", "円", work, None, "quantities",
                               "発注状況の記入なし：同じ数量の試算")
                )  # fmt: skip
            lines += [
                BudgetLine(code, "維持作業（除草・清掃・剪定・補修・点検）", "円", None, work,
                           "quantities", "職種別の班日×日額（諸経費込み）"),
                BudgetLine(code, "全体マネジメント業務費（維持作業分）", "円", None,
                           work * rates.management_fee_rate, "setting",
                           f"維持作業費の{100 * rates.management_fee_rate:.0f}%"),
            ]  # fmt: skip
        fee = fees.get(code, 0.0) * scale
        if fee:
            lines.append(
                BudgetLine(code, "事務費（代替執行等）", "円", None, fee, "cooperation",
                           "受け取る場合は減額" if fee < 0 else "執行団体へ支払")
            )  # fmt: skip
        hours_before = rounds * rates.staff_hours_per_tender
        hours_after = tenders_after * rates.staff_hours_per_tender
        lines.append(
            BudgetLine(code, "発注事務（職員時間の金額換算）", "円",
                       hours_before * rates.staff_hour_yen, hours_after * rates.staff_hour_yen,
                       "setting", f"入札 年{rounds:.1f}回 → 年{tenders_after:.2f}回")
        )  # fmt: skip
        staff = staff_by_town.get(code)
        if staff is not None:
            direct_before, direct_source = staff.patrol_hours(), "intake"
        else:
            direct_before, direct_source = siloed_hours.get(code, 0.0) * scale, "engine"
        lines += [
            BudgetLine(code, "職員の直営対応時間（点検・日常維持）", "時間", direct_before,
                       bundled_hours.get(code, 0.0) * scale, direct_source,
                       "群マネ後は受注者の報告確認等"),
            BudgetLine(code, "発注事務の職員時間", "時間", hours_before, hours_after, "setting",
                       f"1回あたり{rates.staff_hours_per_tender:.0f}時間"),
        ]  # fmt: skip
        out.append(TownBudget(code, name, tuple(lines), from_intake=bool(orders)))
    return Budget(
        towns=tuple(out),
        rates=rates,
        years=tuple(range(first_year, first_year + term)),
        scale=scale,
    )
