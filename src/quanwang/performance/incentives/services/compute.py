"""A staff member's incentive lines of one month, from the figures, the rules, their
attainment and their grade coefficient. Pure: the same inputs give the same lines.

    own      = Σ rate × own figure (STAFF grain) × (1 − team share)           PIECE lines
    team     = Σ rate × team unit's figure (ORG_UNIT grain) × team share / n   TEAM lines
    base     = own + team
    tier     = base × (multiplier(attainment) − 1)                             MULTIPLIER
    grade    = (base + tier) × (coefficient − 1)                               GRADE
    deduct   = − Σ rate × own figure                                           DEDUCTION lines
    total    = base + tier + grade + deduct, then held between floor and cap   FLOOR / CAP

n is the number of the unit's staff of the same role kind paid in the month. Each amount is
rounded to the fen (ROUND_HALF_UP) as it is made, and the next line works on the rounded
figures, so the lines always add up to the total exactly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal

from quanwang.performance.choices import Grain
from quanwang.performance.incentives.choices import LineKind
from quanwang.performance.incentives.services.schema import RuleBody

FEN = Decimal("0.01")
ZERO = Decimal("0.00")

#: (kpi, grain, key) → the figure of the month (None: no figure, counted as 0).
FigureOf = Callable[[str, Grain, str], float | None]


@dataclass(frozen=True)
class Line:
    kind: LineKind
    for_month: str
    amount: Decimal
    kpi: str = ""
    grain: str = ""
    key: str = ""
    period: str = ""
    quantity: Decimal | None = None
    rate: Decimal | None = None
    share: Decimal | None = None
    base: Decimal | None = None
    paid_before: Decimal | None = None


def money(value: Decimal) -> Decimal:
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def quantity(value: float | None) -> Decimal:
    """A figure as a Decimal at 6 places (what the line keeps), 0 when missing."""
    return (
        Decimal(0).quantize(Decimal("0.000001"))
        if value is None
        else (Decimal(repr(float(value))).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP))
    )


def month_lines(
    *,
    month: str,
    employee_no: str,
    team_unit: str,
    team_size: int,
    body: RuleBody,
    figure: FigureOf,
    attainment: Decimal | None,
    coefficient: Decimal,
) -> list[Line]:
    lines: list[Line] = []
    own_share = body.individual_share
    for rate in body.piece_rates:
        q = quantity(figure(rate.kpi, Grain.STAFF, employee_no))
        if own_share:
            lines.append(
                Line(
                    kind=LineKind.PIECE, for_month=month, kpi=rate.kpi, grain=Grain.STAFF,
                    key=employee_no, period=month, quantity=q, rate=rate.yuan_per_unit,
                    share=own_share, amount=money(q * rate.yuan_per_unit * own_share),
                )
            )  # fmt: skip
    if body.team_share and team_size > 0:
        share = body.team_share / team_size
        for rate in body.piece_rates:
            q = quantity(figure(rate.kpi, Grain.ORG_UNIT, team_unit))
            lines.append(
                Line(
                    kind=LineKind.TEAM, for_month=month, kpi=rate.kpi, grain=Grain.ORG_UNIT,
                    key=team_unit, period=month, quantity=q, rate=rate.yuan_per_unit,
                    share=share.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP),
                    amount=money(q * rate.yuan_per_unit * share),
                )
            )  # fmt: skip
    base = sum((line.amount for line in lines), start=ZERO)
    multiplier = body.multiplier_for(attainment)
    if multiplier != 1:
        lines.append(
            Line(
                kind=LineKind.MULTIPLIER, for_month=month, kpi=body.attainment_kpi or "",
                grain=Grain.STAFF, key=employee_no, period=month, quantity=attainment,
                rate=multiplier, base=base, amount=money(base * (multiplier - 1)),
            )
        )  # fmt: skip
    scaled = sum((line.amount for line in lines), start=ZERO)
    if body.use_grade_coefficient and coefficient != 1:
        lines.append(
            Line(
                kind=LineKind.GRADE, for_month=month, key=employee_no, period=month,
                rate=coefficient, base=scaled, amount=money(scaled * (coefficient - 1)),
            )
        )  # fmt: skip
    for rate in body.deductions:
        q = quantity(figure(rate.kpi, Grain.STAFF, employee_no))
        if q:
            lines.append(
                Line(
                    kind=LineKind.DEDUCTION, for_month=month, kpi=rate.kpi, grain=Grain.STAFF,
                    key=employee_no, period=month, quantity=q, rate=rate.yuan_per_unit,
                    amount=-money(q * rate.yuan_per_unit),
                )
            )  # fmt: skip
    total = sum((line.amount for line in lines), start=ZERO)
    if body.floor is not None and total < body.floor:
        lines.append(
            Line(kind=LineKind.FLOOR, for_month=month, rate=money(body.floor), base=total,
                 amount=money(body.floor) - total)
        )  # fmt: skip
    elif body.cap is not None and total > body.cap:
        lines.append(
            Line(kind=LineKind.CAP, for_month=month, rate=money(body.cap), base=total,
                 amount=money(body.cap) - total)
        )  # fmt: skip
    return lines


def total_of(lines: Sequence[Line]) -> Decimal:
    return sum((line.amount for line in lines), start=ZERO)


def line_text(line: Line) -> str:
    """A line in canonical text (the fingerprint's input): every field, fixed order."""
    values = asdict(line)
    return "|".join("" if values[k] is None else str(values[k]) for k in sorted(values))


def fingerprint(lines: Sequence[Line]) -> str:
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line_text(line).encode())
        digest.update(b"\n")
    return digest.hexdigest()
