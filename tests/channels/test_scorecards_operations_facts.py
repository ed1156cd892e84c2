"""The facts behind a scorecard's visit and commission figures: the visits part and the
commissions part list the rows their per-grid figures add up (the scorecard's facts page reads
them through channels.scorecards.services.drill)."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone, translation

from quanwang.channels.commissions.choices import StatementStatus
from quanwang.channels.commissions.services.by_grid import paid_by_grid, paid_lines
from quanwang.channels.models import CommissionStatement
from quanwang.channels.scorecards.services.drill import _operations
from quanwang.channels.visits.services.attainment import attainment_by_grid, visit_lines
from tests import factories
from tests.channels.records import channel_records


def test_visit_rows_add_up_to_the_grids_visits_done_and_planned(tree: factories.Tree) -> None:
    # Given a store of grid A visited yesterday (the records' visit), in this month
    records = channel_records(grid=tree.grid_a, mark="甲")
    month = records.visit.visited_on.strftime("%Y-%m")
    grid = tree.grid_a.code

    # When the rows behind the grid's figures are listed, in English
    with translation.override("en"):
        rows = visit_lines(grid_id=grid, month=month)

    # Then one row per active store, and their sums are the scorecard's figures
    figures = attainment_by_grid(month=month)[grid]
    assert [row["Store ID"] for row in rows] == [records.store.store_id]
    assert sum(int(row["Visits counted"]) for row in rows) == figures.done == 1  # type: ignore[call-overload]
    assert sum(int(row["Visits planned"]) for row in rows) == figures.planned  # type: ignore[call-overload]


def test_paid_rows_are_the_approved_statements_the_grid_p_and_l_sums(
    tree: factories.Tree,
) -> None:
    # Given an approved statement of June for grid A's store and one still computed for B's
    approved = channel_records(grid=tree.grid_a, mark="甲").statement
    assert approved is not None
    other = channel_records(grid=tree.grid_b, mark="乙", statement=False).store
    CommissionStatement.objects.create(
        run=approved.run, store=other, month="2024-06", lines_path="commissions/乙.parquet",
        fingerprint="0" * 64, total=Decimal("99"), computed_at=timezone.now(),
    )  # fmt: skip
    CommissionStatement.objects.filter(pk=approved.pk).update(
        status=StatementStatus.APPROVED, total=Decimal("123.45"), approved_at=timezone.now()
    )

    # When grid A's and grid B's rows are listed
    with translation.override("en"):
        rows_a = paid_lines(grid_id=tree.grid_a.code, month="2024-06")
        rows_b = paid_lines(grid_id=tree.grid_b.code, month="2024-06")

    # Then A's row is its approved statement, summing to what the P&L subtracts; B has none
    assert [row["Statement"] for row in rows_a] == [approved.pk]
    assert (
        sum(Decimal(str(row["Total (yuan)"])) for row in rows_a)
        == paid_by_grid(month="2024-06")[tree.grid_a.code]
    )
    assert rows_b == []


def test_the_scorecards_drill_down_reaches_the_visit_rows(tree: factories.Tree) -> None:
    # Given a visited store of grid A
    records = channel_records(grid=tree.grid_a, mark="甲")
    month = records.visit.visited_on.strftime("%Y-%m")

    # When the scorecard's facts of visits done are asked for
    facts = _operations(tree.grid_a.code, month, "visits_done", None)

    # Then the part's rows come back, not "unavailable"
    assert not facts.unavailable
    assert facts.total == 1
