"""The omni-channel formula's decomposition: Shapley contributions that add up exactly to the
change of revenue, zeros included (channels.funnel.services.decompose)."""

from __future__ import annotations

from dataclasses import astuple
from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from quanwang.channels.funnel.services.decompose import (
    FACTORS,
    Counts,
    Factor,
    round_to_total,
    shapley_exact,
    shapley_fen,
)


def fen(before: Counts, after: Counts) -> dict[Factor, int]:
    row = shapley_fen(np.array([astuple(before)]), np.array([astuple(after)]))[0]
    return dict(zip(FACTORS, row, strict=True))


@st.composite
def consistent_counts(draw: st.DrawFn) -> Counts:
    """A store's month as the generator or an operator's export would have it: buyers among the
    visitors, at least one transaction per buyer, revenue only with transactions."""

    def term() -> tuple[int, int, int, int]:
        visitors = draw(st.integers(0, 50_000))
        buyers = draw(st.integers(0, visitors))
        transactions = draw(st.integers(buyers, buyers * 3)) if buyers else 0
        revenue = draw(st.integers(1, 10**10)) if transactions else 0
        return visitors, buyers, transactions, revenue

    return Counts(*term(), *term())


@st.composite
def any_counts(draw: st.DrawFn) -> Counts:
    """Counts as a bad export may hold them: anything not negative."""
    return Counts(*[draw(st.integers(0, 10**9)) for _ in range(8)])


@settings(max_examples=300, deadline=None)
@given(before=consistent_counts(), after=consistent_counts())
def test_the_contributions_add_up_to_the_change_exactly(before: Counts, after: Counts) -> None:
    # Given any two months of a store
    # When the change is decomposed, exactly and in whole fen
    exact = shapley_exact(before, after)
    rounded = fen(before, after)

    # Then both add up to the change to the fen, nothing is left unexplained, and the whole-fen
    # shares are the exact ones rounded (within a fen each)
    change = after.total_fen - before.total_fen
    assert sum(exact.values()) == change
    assert sum(rounded.values()) == change
    assert exact[Factor.UNEXPLAINED] == 0
    assert rounded[Factor.UNEXPLAINED] == 0
    for factor in FACTORS:
        assert abs(rounded[factor] - exact[factor]) < 1, factor


@settings(max_examples=200, deadline=None)
@given(before=any_counts(), after=any_counts())
def test_inconsistent_counts_still_add_up_with_the_gap_named(before: Counts, after: Counts) -> None:
    # Given counts that need not hold together (buyers without visitors, revenue without
    # transactions)
    # When decomposed
    rounded = fen(before, after)
    exact = shapley_exact(before, after)

    # Then the shares still add up to the change, the gap going to "unexplained"
    assert sum(rounded.values()) == after.total_fen - before.total_fen
    assert sum(exact.values()) == after.total_fen - before.total_fen


def test_the_worked_example_of_the_documentation() -> None:
    # Given a store whose walk-ins fell from 1,000 to 800 while conversion rose from 20% to
    # 25% and the basket from ¥200 to ¥210, and whose referrals rose from 50 to 60 with repeat
    # purchase from 1.2 to 1.25 (docs/channels/funnel.md)
    before = Counts(1000, 200, 240, 4_800_000, 50, 20, 24, 600_000)
    after = Counts(800, 200, 240, 5_040_000, 60, 24, 30, 750_000)

    # When the change of ¥3,900 is decomposed
    found = fen(before, after)

    # Then footfall cost ¥11,080, conversion won back ¥11,060, and so on, to the fen
    assert found == {
        Factor.FOOTFALL: -1_108_000,
        Factor.REFERRALS: 122_500,
        Factor.CONVERSION: 1_106_000,
        Factor.REPEAT: 27_500,
        Factor.BASKET: 242_000,
        Factor.UNEXPLAINED: 0,
    }
    assert shapley_exact(before, after)[Factor.FOOTFALL] == Fraction(-1_108_000)


def test_a_store_that_sold_nothing_last_month_credits_the_factors_that_appeared() -> None:
    # Given a store with visitors but no buyer last month, and sales this month
    before = Counts(100, 0, 0, 0, 0, 0, 0, 0)
    after = Counts(100, 20, 20, 600_000, 0, 0, 0, 0)

    # When decomposed
    found = fen(before, after)

    # Then footfall (unchanged) gets nothing; conversion, repeat and basket, which all came
    # from zero, share the ¥6,000 equally
    assert found[Factor.FOOTFALL] == 0
    assert found[Factor.CONVERSION] == found[Factor.REPEAT] == found[Factor.BASKET] == 200_000
    assert sum(found.values()) == 600_000


def test_a_store_that_lost_all_its_visitors_charges_footfall_for_the_loss() -> None:
    # Given a store that was closed all month (no visitors at all), after a normal month
    before = Counts(500, 100, 110, 2_200_000, 0, 0, 0, 0)
    after = Counts(0, 0, 0, 0, 0, 0, 0, 0)

    # When decomposed
    found = fen(before, after)

    # Then the loss is shared by the factors that went to zero, and adds up
    assert sum(found.values()) == -2_200_000
    assert all(found[f] < 0 for f in (Factor.FOOTFALL, Factor.CONVERSION, Factor.BASKET))


def test_revenue_without_transactions_is_shown_as_inconsistent() -> None:
    # Given an export with revenue but no transactions this month
    before = Counts(100, 10, 10, 100_000, 0, 0, 0, 0)
    after = Counts(100, 10, 0, 120_000, 0, 0, 0, 0)

    # When decomposed
    found = fen(before, after)

    # Then the counts' product (0) explains -¥1,000 and the ¥1,200 it cannot explain is named
    assert found[Factor.UNEXPLAINED] == 120_000
    assert sum(found.values()) == 20_000


def test_rounding_to_whole_fen_keeps_each_rows_total() -> None:
    # Given shares with fractions of a fen, negative ones among them
    values = np.array([[0.4, 0.4, 0.2], [-0.5, -0.5, 2.0], [1 / 3, 1 / 3, 1 / 3]])
    totals = np.array([1, 1, 1])

    # When rounded
    rounded = round_to_total(values, totals)

    # Then each row adds up to its total and moves no share by a fen or more
    assert rounded.sum(axis=1).tolist() == [1, 1, 1]
    assert np.all(np.abs(rounded - values) < 1)
