"""Incentive statements: reproducible lines, the rules' parts (team/individual shares, tiers,
grade coefficient, deductions, cap and floor), approval freezes, late corrections become
adjustments of the next month, idempotent runs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quanwang.core.errors import NotFound, ServiceError
from quanwang.performance.incentives.choices import LineKind, StatementStatus
from quanwang.performance.incentives.services import compute, sources, statements
from quanwang.performance.incentives.services.schema import parse_rules
from quanwang.performance.models import IncentiveLine, IncentiveStatement
from tests.performance import test_incentives_world as world

pytestmark = pytest.mark.django_db


def _statement(staff: Any, month: str = "2024-12") -> IncentiveStatement:
    return IncentiveStatement.objects.get(staff=staff, month=month)


def _lines(statement: IncentiveStatement) -> list[tuple[Any, ...]]:
    return list(
        statement.lines.order_by("line_no").values_list(
            "kind", "for_month", "kpi", "grain", "key", "quantity", "rate", "share", "amount"
        )
    )


def test_lines_follow_the_rules_and_a_rerun_gives_identical_lines(tree: Any) -> None:
    # given two grid managers of one grid, 10 and 5 new 5G plans, 30 for the grid
    w = world.build(tree)
    world.actuals(world.december())
    # when the month is computed twice on the same facts
    first = statements.run_month(actor=w.marketer, month="2024-12")
    before = _lines(_statement(w.staff_a1))
    fingerprint = _statement(w.staff_a1).fingerprint
    again = statements.run_month(actor=w.marketer, month="2024-12")
    # then each is paid 70% of 20 yuan × own plans + 30% of 20 × grid plans / 2 managers
    statement = _statement(w.staff_a1)
    assert [(k, q, a) for k, _m, _kpi, _g, _key, q, _r, _s, a in before] == [
        (LineKind.PIECE, Decimal("10"), Decimal("140.00")),
        (LineKind.TEAM, Decimal("30"), Decimal("90.00")),
    ]
    assert statement.total == Decimal("230.00")
    assert _statement(w.staff_a2).total == Decimal("70.00") + Decimal("90.00")
    # and the re-run wrote identical lines, the statement naming the pinned actuals
    assert _lines(statement) == before
    assert statement.fingerprint == fingerprint
    assert again["unchanged"] == first["statements"] == 2
    assert statement.actuals_version == first["actuals_version"]
    # and city B's manager is outside the marketer's reach
    assert not IncentiveStatement.objects.filter(staff=w.staff_b).exists()


def test_attainment_tier_and_grade_coefficient_scale_the_base(
    tree: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given EA1 at 125% attainment (tier ×1.3) and grade coefficient 1.1
    w = world.build(tree)
    world.actuals(world.december())
    monkeypatch.setattr(sources, "attainment", lambda **kw: Decimal("1.25"))
    monkeypatch.setattr(sources, "coefficient", lambda **kw: Decimal("1.1"))
    # when computed
    statements.run_month(actor=w.marketer, month="2024-12")
    # then base 230 → +69 for the tier → +29.90 for the grade: 328.90
    lines = {line.kind: line for line in _statement(w.staff_a1).lines.all()}
    assert lines[LineKind.MULTIPLIER].amount == Decimal("69.00")
    assert lines[LineKind.MULTIPLIER].quantity == Decimal("1.25")
    assert lines[LineKind.GRADE].amount == Decimal("29.90")
    assert _statement(w.staff_a1).total == Decimal("328.90")


def test_low_attainment_cuts_and_deductions_take_and_the_floor_holds(
    tree: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given EA1 at 50% attainment (×0.8) and 6 complaints at 50 yuan each
    w = world.build(tree)
    world.actuals(world.december(complaints=6))
    monkeypatch.setattr(sources, "attainment", lambda **kw: Decimal("0.5"))
    # when computed
    statements.run_month(actor=w.marketer, month="2024-12")
    # then 230 − 46 − 300 = −116, lifted to the floor of 0 by a floor line of 116
    statement = _statement(w.staff_a1)
    by_kind = {line.kind: line.amount for line in statement.lines.all()}
    assert by_kind[LineKind.MULTIPLIER] == Decimal("-46.00")
    assert by_kind[LineKind.DEDUCTION] == Decimal("-300.00")
    assert by_kind[LineKind.FLOOR] == Decimal("116.00")
    assert statement.total == Decimal("0.00")
    assert statement.deduction_total == Decimal("-300.00")


def test_the_cap_holds(tree: Any) -> None:
    # given 1,000 plans: 70% × 20 × 1000 = 14,000 own, over the cap of 5,000
    w = world.build(tree)
    world.actuals(world.december(a1_5g=1000))
    # when computed
    statements.run_month(actor=w.marketer, month="2024-12")
    # then a cap line brings the total to 5,000
    statement = _statement(w.staff_a1)
    assert statement.total == Decimal("5000.00")
    assert statement.lines.filter(kind=LineKind.CAP).get().amount == Decimal("5000.00") - Decimal(
        "14090.00"
    )


def test_approval_freezes_and_a_late_correction_becomes_next_months_adjustment(
    tree: Any,
) -> None:
    # given November computed and approved by another marketer
    w = world.build(tree)
    world.actuals({**world.december(month="2024-11"), **world.december()})
    statements.run_month(actor=w.marketer, month="2024-11")
    november = _statement(w.staff_a1, "2024-11")
    assert (
        statements.approve_statements(
            actor=w.approver, month="2024-11", statement_ids=[november.pk]
        )
        == 1
    )
    # when November's facts are corrected (EA1 sold 15, not 10) and both months are run
    world.actuals({**world.december(month="2024-11", a1_5g=15), **world.december()})
    rerun = statements.run_month(actor=w.marketer, month="2024-11")
    statements.run_month(actor=w.marketer, month="2024-12")
    # then November is frozen as approved, and December carries the difference: 5 × 14 = 70
    november.refresh_from_db()
    assert rerun["frozen"] == 1
    assert november.total == Decimal("230.00")
    assert november.status == StatementStatus.APPROVED
    adjustment = _statement(w.staff_a1).lines.get(kind=LineKind.ADJUSTMENT)
    assert (adjustment.for_month, adjustment.base, adjustment.paid_before, adjustment.amount) == (
        "2024-11", Decimal("300.00"), Decimal("230.00"), Decimal("70.00"),
    )  # fmt: skip
    assert _statement(w.staff_a1).adjustment_total == Decimal("70.00")
    # and once December is approved, January owes nothing more for November
    statements.approve_statements(actor=w.approver, month="2024-12")
    world.actuals(
        {
            **world.december(month="2024-11", a1_5g=15),
            **world.december(),
            **world.december(month="2025-01"),
        }
    )
    statements.run_month(actor=w.marketer, month="2025-01")
    assert not _statement(w.staff_a1, "2025-01").lines.filter(kind=LineKind.ADJUSTMENT).exists()


def test_approving_twice_applies_once_and_self_approval_is_refused(tree: Any) -> None:
    # given December computed by the marketer
    w = world.build(tree)
    world.actuals(world.december())
    statements.run_month(actor=w.marketer, month="2024-12")
    statement = _statement(w.staff_a1)
    # when the marketer who computed it approves: refused
    with pytest.raises(ServiceError):
        statements.approve_statements(actor=w.marketer, month="2024-12")
    # when the other marketer approves twice: once
    assert (
        statements.approve_statements(
            actor=w.approver, month="2024-12", statement_ids=[statement.pk]
        )
        == 1
    )
    assert (
        statements.approve_statements(
            actor=w.approver, month="2024-12", statement_ids=[statement.pk]
        )
        == 0
    )
    # then city B's manager cannot approve (404) and the grid manager neither
    with pytest.raises(NotFound):
        statements.approve_statements(
            actor=w.manager_b, month="2024-12", statement_ids=[statement.pk]
        )


def test_a_run_killed_halfway_then_rerun_duplicates_nothing(
    tree: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a run that dies after its first statement
    w = world.build(tree)
    world.actuals(world.december())
    real = statements._write
    calls = {"n": 0}

    def dying(**kwargs: Any) -> str:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(**kwargs)

    monkeypatch.setattr(statements, "_write", dying)
    with pytest.raises(KeyboardInterrupt):
        statements.run_month(actor=w.marketer, month="2024-12")
    assert IncentiveStatement.objects.count() == 1
    # when it runs again
    monkeypatch.setattr(statements, "_write", real)
    result = statements.run_month(actor=w.marketer, month="2024-12")
    # then each staff member has one statement with its lines once
    assert IncentiveStatement.objects.count() == 2 == result["statements"]
    assert IncentiveLine.objects.count() == 4


def test_a_month_is_refused_naming_the_field(tree: Any) -> None:
    # given a world
    w = world.build(tree)
    world.actuals(world.december())
    # when a quarter or nonsense is asked: refused naming the month
    for bad in ("2024Q4", "December"):
        with pytest.raises(ServiceError) as caught:
            statements.run_month(actor=w.marketer, month=bad)
        assert caught.value.field == "month"


@settings(max_examples=25, deadline=None)
@given(
    own=st.integers(min_value=0, max_value=5000),
    team=st.integers(min_value=0, max_value=5000),
    complaints=st.integers(min_value=0, max_value=20),
    size=st.integers(min_value=1, max_value=7),
    attainment=st.one_of(st.none(), st.decimals(min_value=0, max_value=3, places=4)),
    coefficient=st.decimals(min_value="0.5", max_value="2", places=2),
)
def test_lines_add_up_and_stay_between_floor_and_cap(
    own: int, team: int, complaints: int, size: int, attainment: Any, coefficient: Decimal
) -> None:
    # given the rules and any figures
    body = parse_rules(world.RULES)
    figures = {("new_5g_plans", "staff"): own, ("new_5g_plans", "org_unit"): team,
               ("complaints", "staff"): complaints}  # fmt: skip
    # when the lines are made twice
    made = [
        compute.month_lines(
            month="2024-12", employee_no="E1", team_unit="G1", team_size=size, body=body,
            figure=lambda kpi, grain, key: figures.get((kpi, str(grain))),
            attainment=attainment, coefficient=coefficient,
        )
        for _ in range(2)
    ]  # fmt: skip
    # then they are identical, add up to the total, and the total is within floor and cap
    total = compute.total_of(made[0])
    assert compute.fingerprint(made[0]) == compute.fingerprint(made[1])
    assert Decimal("0") <= total <= Decimal("5000")
    assert all(line.amount == line.amount.quantize(Decimal("0.01")) for line in made[0])
