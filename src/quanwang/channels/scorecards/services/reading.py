"""What the pages, the map and the CLI read of the kept scorecards: a grid's, a manager's or a
county's KPIs for a month, their trend, and ranks within the county. Reads only kept figures
(`kept.current_scorecards`), never the warehouse.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.safestring import SafeString

from quanwang.channels.scorecards.services.kept import Scorecards, current_scorecards
from quanwang.channels.scorecards.services.kpis import (
    RISK_BAND_COUNT,
    RULES,
    Kpi,
    Measure,
    Shape,
    kpi_value,
    profit,
    risk_measure,
)
from quanwang.core import formatting

# Values equal to this many decimals rank as ties (sums of the same figures in another order
# can differ in the last bits).
RANK_DECIMALS = 9


def grid_values(*, month: str, kpi: str) -> dict[str, float]:
    """grid_id → the KPI's value in `month` for every grid with one (the map's colours)."""
    if kpi not in Kpi.values:
        return {}
    scorecards = current_scorecards()
    if scorecards is None or month not in scorecards.months:
        return {}
    values = {}
    for grid_id in scorecards.grids:
        value = kpi_value(kpi, scorecards.grid_month(grid_id, month))
        if value is not None:
            values[grid_id] = value
    return values


def competition_ranks(values: dict[str, float | None], *, higher_is_better: bool) -> dict[str, int]:
    """Standard competition ranking ("1224"): equal values share a rank and the next rank skips
    as many places. Grids with no value (a ratio over nothing) are not ranked."""
    valued = {k: round(v, RANK_DECIMALS) for k, v in values.items() if v is not None}
    ordered = sorted(valued.values(), reverse=higher_is_better)
    first_place: dict[float, int] = {}
    for place, value in enumerate(ordered, start=1):
        first_place.setdefault(value, place)
    return {k: first_place[v] for k, v in valued.items()}


def ranks(
    scorecards: Scorecards, grid_ids: Iterable[str], *, month: str | None, kpi: Kpi
) -> dict[str, int]:
    if month is None:
        return {}
    values = {g: kpi_value(kpi, scorecards.grid_month(g, month)) for g in grid_ids}
    return competition_ranks(values, higher_is_better=RULES[kpi].higher_is_better)


@dataclass(frozen=True)
class KpiCell:
    kpi: Kpi
    label: str | Promise
    shape: Shape
    value: float | None
    previous: float | None
    #: Its rank among the grids of its county (grids only), and how many grids are ranked.
    rank: int | None
    ranked: int
    #: The measures it is made of (key, label, this month's value as shown): each links to
    #: its facts.
    parts: list[tuple[str, str | Promise, SafeString | str]]

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    @property
    def shown(self) -> SafeString | str:
        return shown(self.value, self.shape)

    @property
    def change_shown(self) -> SafeString | str:
        """The change since last month: percentage points for a share, signed otherwise."""
        change = self.change
        if change is None:
            return formatting.MISSING
        if self.shape is Shape.SHARE:
            return formatting.points(change)
        if self.shape is Shape.MONEY:
            text = formatting.yuan(abs(change))
        else:
            text = formatting.count(abs(change))
        return f"-{text}" if change < 0 else f"+{text}"


MONEY_MEASURES = frozenset({Measure.REVENUE, Measure.COMMISSION, Measure.OFFER_COST})


def measure_shown(measure: str, value: float | None) -> SafeString | str:
    return shown(value, Shape.MONEY if measure in MONEY_MEASURES else Shape.COUNT)


def shown(value: float | None, shape: Shape | str) -> SafeString | str:
    """A KPI's value as the console writes its kind: a count, an amount or a percentage."""
    if Shape(shape) is Shape.SHARE:
        return formatting.percent(value)
    if Shape(shape) is Shape.MONEY:
        return formatting.money(value)
    return formatting.count(value)


@dataclass(frozen=True)
class Card:
    """The KPIs of one grid, or of several grids added up (a manager's, a county's)."""

    month: str
    previous_month: str | None
    cells: list[KpiCell]
    figures: dict[str, float]
    #: Per KPI, its value in each month of `months` (None: nothing to divide by).
    trend: dict[str, list[float | None]]
    months: list[str]
    #: (measure, band label, customers) of the risk mix, where the month has one.
    risk: list[tuple[str, str, int]]

    def cell(self, kpi: Kpi | str) -> KpiCell:
        return next(c for c in self.cells if c.kpi == Kpi(kpi))

    @property
    def by_kpi(self) -> dict[str, KpiCell]:
        """The cells by KPI key, for templates: card.by_kpi.churn_rate."""
        return {c.kpi.value: c for c in self.cells}

    @property
    def pnl(self) -> dict[str, float]:
        return {
            "revenue": self.figures.get(Measure.REVENUE, 0),
            "commission": self.figures.get(Measure.COMMISSION, 0),
            "offer_cost": self.figures.get(Measure.OFFER_COST, 0),
            "profit": profit(self.figures),
        }


def card(
    scorecards: Scorecards,
    grid_ids: Sequence[str],
    *,
    month: str,
    rank_among: Sequence[str] | None = None,
    with_trend: bool = True,
) -> Card:
    """The KPIs of `grid_ids` added up (ratio of sums) for `month`, with the trend over every
    month kept (unless `with_trend` is False: a row of a list); with `rank_among` (one grid's
    county), the grid's rank among those grids."""
    previous = scorecards.previous(month)
    figures = scorecards.total(grid_ids, month)
    before = scorecards.total(grid_ids, previous) if previous else {}
    cells = []
    for kpi, rule in RULES.items():
        place: int | None = None
        ranked = 0
        if rank_among is not None and len(grid_ids) == 1:
            placed = ranks(scorecards, rank_among, month=month, kpi=kpi)
            place, ranked = placed.get(grid_ids[0]), len(placed)
        cells.append(
            KpiCell(
                kpi=kpi,
                label=kpi.label,
                shape=rule.shape,
                value=rule.value(figures),
                previous=rule.value(before) if previous else None,
                rank=place,
                ranked=ranked,
                parts=[
                    (m, Measure(m).label, measure_shown(m, figures.get(m, 0)))
                    for m in rule.measures
                    if m in Measure.values
                ],
            )
        )
    by_month = [scorecards.total(grid_ids, m) for m in scorecards.months] if with_trend else []
    trend = {kpi.value: [rule.value(f) for f in by_month] for kpi, rule in RULES.items()}
    risk: list[tuple[str, str, int]] = []
    if month == scorecards.risk_month:
        from quanwang.insight.services import risk_band_labels

        labels = risk_band_labels()
        risk = [
            (risk_measure(b), labels[b], int(figures.get(risk_measure(b), 0)))
            for b in range(RISK_BAND_COUNT)
        ]
    return Card(
        month=month,
        previous_month=previous,
        cells=cells,
        figures=figures,
        trend=trend,
        months=scorecards.months,
        risk=risk,
    )


@dataclass(frozen=True)
class RankRow:
    grid_id: str
    name: str
    manager_employee_no: str
    value: float | None
    rank: int | None
    previous_rank: int | None

    shape: Shape = Shape.COUNT

    @property
    def shown(self) -> SafeString | str:
        return shown(self.value, self.shape)

    @property
    def movement(self) -> int | None:
        """Places gained since last month (negative: lost)."""
        if self.rank is None or self.previous_rank is None:
            return None
        return self.previous_rank - self.rank

    @property
    def lost(self) -> int:
        """Places lost since last month (0 when none were)."""
        return max(0, -(self.movement or 0))


def county_ranking(
    scorecards: Scorecards, county_code: str, *, month: str, kpi: Kpi
) -> list[RankRow]:
    """Every grid of the county ranked on `kpi` in `month`, with its rank the month before;
    grids with no value last, by code."""
    grid_ids = scorecards.county_grids(county_code)
    now = ranks(scorecards, grid_ids, month=month, kpi=kpi)
    before = ranks(scorecards, grid_ids, month=scorecards.previous(month), kpi=kpi)
    rows = [
        RankRow(
            grid_id=g,
            name=scorecards.grids[g].name,
            manager_employee_no=scorecards.grids[g].manager_employee_no,
            value=kpi_value(kpi, scorecards.grid_month(g, month)),
            rank=now.get(g),
            previous_rank=before.get(g),
            shape=RULES[kpi].shape,
        )
        for g in grid_ids
    ]
    return sorted(rows, key=lambda r: (r.rank is None, r.rank or 0, r.grid_id))


def load() -> Scorecards | None:
    return current_scorecards()
