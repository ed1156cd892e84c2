"""The rules of 三级十档 alone (no database): promotion, demotion, level crossing, bounds, the
reasons a proposal carries, and rules that cannot work."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quanwang.performance.grades.choices import MoveDirection
from quanwang.performance.grades.rules import (
    ALL_POSITIONS,
    HIGHEST,
    LOWEST,
    Position,
    Result,
    RuleProblem,
    Rules,
    check,
    default_coefficients,
    evaluate,
    percent,
)

RULES = Rules()  # ≥110% for 2 periods: +1 step; <80% for 2 periods: −1 step


def _results(*values: float | None) -> list[Result]:
    codes = ["2024Q4", "2024Q3", "2024Q2", "2024Q1"]
    return [Result(code, value) for code, value in zip(codes, values, strict=False)]


def test_two_good_quarters_promote_one_step_with_their_reasons() -> None:
    # given a junior at step 5 with 120% and 115% in the last two quarters
    proposal = evaluate(rules=RULES, position=Position(1, 5), results=_results(1.2, 1.15, 0.5))
    # then one step up, and the reasons name the periods, results, threshold and rule
    assert proposal is not None
    assert proposal.direction is MoveDirection.PROMOTE
    assert proposal.after == Position(1, 6)
    reasons = proposal.reasons()
    assert reasons["rule"] == "promote"
    assert reasons["threshold"] == "1.10"
    assert reasons["results"] == [
        {"period": "2024Q4", "result": 1.2},
        {"period": "2024Q3", "result": 1.15},
    ]
    assert reasons["held_by_bounds"] is False


def test_one_good_quarter_or_a_missing_result_earns_nothing() -> None:
    # given only the newest quarter at 120%, or a quarter without targets in the run
    assert evaluate(rules=RULES, position=Position(1, 5), results=_results(1.2, 1.0)) is None
    assert evaluate(rules=RULES, position=Position(1, 5), results=_results(1.2, None)) is None
    # and too few periods counted (after a recent move) earn nothing either
    assert evaluate(rules=RULES, position=Position(1, 5), results=_results(1.3)) is None


def test_two_poor_quarters_demote_and_the_threshold_is_strict() -> None:
    proposal = evaluate(rules=RULES, position=Position(2, 3), results=_results(0.5, 0.79))
    assert proposal is not None
    assert proposal.direction is MoveDirection.DEMOTE
    assert proposal.after == Position(2, 2)
    # exactly 80% is not under 80%
    assert evaluate(rules=RULES, position=Position(2, 3), results=_results(0.5, 0.8)) is None


def test_moves_cross_levels_both_ways() -> None:
    # step 10 + 1 is the next level's step 1, and back
    up = evaluate(rules=RULES, position=Position(1, 10), results=_results(1.5, 1.5))
    down = evaluate(rules=RULES, position=Position(2, 1), results=_results(0.1, 0.1))
    assert up is not None
    assert up.after == Position(2, 1)
    assert down is not None
    assert down.after == Position(1, 10)


def test_bounds_hold_moves_and_stop_them_at_the_ends() -> None:
    # at the top and bottom nothing moves
    assert evaluate(rules=RULES, position=HIGHEST, results=_results(1.5, 1.5)) is None
    assert evaluate(rules=RULES, position=LOWEST, results=_results(0.0, 0.0)) is None
    # three steps from 3-9 stop at 3-10, and the reasons say so
    rules = Rules(promote_steps=3)
    held = evaluate(rules=rules, position=Position(3, 9), results=_results(1.5, 1.5))
    assert held is not None
    assert held.after == HIGHEST
    assert held.reasons()["held_by_bounds"]
    # narrower bounds (中级1档 … 中级10档) hold a middle grade inside its level
    middle = Rules(lowest=Position(2, 1), highest=Position(2, 10))
    assert evaluate(rules=middle, position=Position(2, 10), results=_results(2, 2)) is None


def test_rules_that_cannot_work_are_refused_naming_the_setting() -> None:
    with pytest.raises(RuleProblem) as crossed:
        check(Rules(promote_at=Decimal("0.7"), demote_below=Decimal("0.8")))
    assert crossed.value.field == "promote_at"
    with pytest.raises(RuleProblem) as steps:
        check(Rules(promote_steps=0))
    assert steps.value.field == "promote_steps"
    with pytest.raises(RuleProblem) as bounds:
        check(Rules(lowest=Position(3, 1), highest=Position(2, 10)))
    assert bounds.value.field == "lowest"
    coefficients = default_coefficients() | {"2-4": Decimal("0")}
    with pytest.raises(RuleProblem) as coefficient:
        check(Rules(coefficients=coefficients))
    assert coefficient.value.field == "c_2-4"
    check(RULES)  # the defaults work


def test_the_default_coefficients_rise_with_every_step() -> None:
    values = [RULES.coefficient(p) for p in ALL_POSITIONS]
    assert values == sorted(values)
    assert len(set(values)) == 30
    assert RULES.coefficient(LOWEST) == Decimal("0.80")
    assert RULES.coefficient(HIGHEST) == Decimal("1.38")
    assert percent(1.105) == "110.5%"
    assert percent(None) == "—"


_rungs = st.integers(min_value=0, max_value=29)
_value = st.one_of(st.none(), st.floats(min_value=0, max_value=2, allow_nan=False))


@settings(max_examples=30, deadline=None)
@given(
    start=_rungs,
    low=_rungs,
    span=st.integers(min_value=0, max_value=29),
    up=st.integers(min_value=1, max_value=10),
    down=st.integers(min_value=1, max_value=10),
    values=st.lists(_value, min_size=0, max_size=4),
)
def test_a_move_stays_in_bounds_goes_its_way_and_never_further_than_its_steps(
    start: int, low: int, span: int, up: int, down: int, values: list[float | None]
) -> None:
    # given any bounds, steps, a grade inside the bounds and any results
    high = min(29, low + span)
    start = max(low, min(high, start))
    rules = Rules(
        promote_steps=up,
        demote_steps=down,
        lowest=Position.of_index(low),
        highest=Position.of_index(high),
    )
    proposal = evaluate(rules=rules, position=Position.of_index(start), results=_results(*values))
    if proposal is None:
        return
    # then the new grade lies in the bounds, in the move's direction, at most its steps away
    after = proposal.after.index
    assert low <= after <= high
    if proposal.direction is MoveDirection.PROMOTE:
        assert start < after <= start + up
    else:
        assert start - down <= after < start
    assert all(r.value is not None for r in proposal.results)
