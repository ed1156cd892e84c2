"""Task lists in priority order (issue 15): predicted uplift where the campaign has it, else
churn risk × the customer's value, highest first; names of grids and stores, codes on hover."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from quanwang.campaigns.models import Campaign
from quanwang.campaigns.services import transition
from quanwang.campaigns.tasks import PriorityBasis, TaskFilters, task_list
from quanwang.core.choices import Role
from quanwang.insight.snapshots import Snapshot
from tests import factories
from tests.campaigns.conftest import (
    TODAY,
    approved,
    dispatch_tasks,
    load_city_warehouse,
    marketer,
)


def _scored(campaign: Campaign) -> None:
    """Give the frozen audience a churn risk and a 12-month CLV, as the churn model does
    (the test city has none): products with ties, so that the tiebreak shows."""
    audience = pq.read_table(campaign.audience_path)
    numbers = [int(s[1:]) for s in audience["subscriber_id"].to_pylist()]
    risk = pa.array([(n % 7) / 10 for n in numbers], pa.float64())
    clv = pa.array([1000.0 + (n % 3) * 500 for n in numbers], pa.float64())
    pq.write_table(
        audience.append_column("churn_risk", risk).append_column("clv_12m", clv),
        campaign.audience_path,
    )


def _issued(tree: factories.Tree, tmp_path: Path) -> tuple[Any, Campaign]:
    load_city_warehouse(tree, tmp_path)
    designer = marketer(tree)
    campaign = transition(
        actor=designer, campaign=approved(tree, designer), move="issue", today=TODAY
    )
    return designer, campaign


@pytest.fixture
def tasked(tree: factories.Tree, city: Snapshot, tmp_path: Path) -> Campaign:
    """An issued campaign with churn risk and CLV whose step t1 went to the task lists."""
    designer, campaign = _issued(tree, tmp_path)
    _scored(campaign)
    dispatch_tasks(designer, campaign)
    return campaign


def _expected(campaign: Campaign, score: str) -> list[str]:
    """The treated customers by `score` over the frozen audience, highest first, then by ID:
    worked out here from the file, apart from the service."""
    return [
        row[0]
        for row in duckdb.execute(
            f"SELECT subscriber_id FROM read_parquet('{campaign.audience_path}') "
            f"WHERE NOT in_control ORDER BY {score} DESC NULLS LAST, subscriber_id"
        ).fetchall()
    ]


def test_tasks_are_listed_by_churn_risk_times_customer_value_highest_first(
    tasked: Campaign,
) -> None:
    # Given a campaign not targeted by uplift, whose audience has churn risk and 12-month CLV
    names = pq.read_schema(tasked.audience_path).names
    assert "predicted_uplift" not in names
    assert {"churn_risk", "clv_12m"} <= set(names)

    # When the whole list is read
    page = task_list(user=None, page_size=500)

    # Then it is in the order of risk × CLV, highest first, ties by customer
    assert [r.subscriber_id for r in page.rows] == _expected(
        tasked, "churn_risk * greatest(clv_12m, 0)"
    )
    assert {r.basis for r in page.rows} == {PriorityBasis.RISK_CLV}
    assert [r.top_percent for r in page.rows] == sorted(r.top_percent for r in page.rows)
    assert page.rows[-1].top_percent == 100


def test_without_a_churn_model_the_customers_value_ranks_the_tasks(
    tree: factories.Tree, city: Snapshot, tmp_path: Path
) -> None:
    # Given a campaign whose audience has ARPU but no churn risk (no churn model yet)
    designer, campaign = _issued(tree, tmp_path)
    dispatch_tasks(designer, campaign)
    assert "churn_risk" not in pq.read_schema(campaign.audience_path).names

    rows = task_list(user=None, page_size=500).rows

    # Then the highest ARPU comes first
    assert [r.subscriber_id for r in rows] == _expected(campaign, "arpu_3m")
    assert {r.basis for r in rows} == {PriorityBasis.ARPU}


def test_a_campaign_with_uplift_scores_is_listed_by_predicted_uplift(tasked: Campaign) -> None:
    # Given the frozen audience of an uplift-targeted campaign: predicted uplift that ranks the
    # customers against their risk × value (the lowest risk first)
    audience = pq.read_table(tasked.audience_path)
    risk = pc.fill_null(audience["churn_risk"], 0.0)
    uplift = pc.subtract(1.0, pc.multiply(risk, pc.fill_null(audience["clv_12m"], 0.0)))
    pq.write_table(audience.append_column("predicted_uplift", uplift), tasked.audience_path)

    # When the whole list is read
    rows = task_list(user=None, page_size=500).rows

    # Then the highest predicted uplift comes first, and the list says so
    assert [r.subscriber_id for r in rows] == _expected(tasked, "predicted_uplift")
    assert [r.subscriber_id for r in rows] != _expected(tasked, "churn_risk * greatest(clv_12m, 0)")
    assert {r.basis for r in rows} == {PriorityBasis.UPLIFT}


def test_a_filtered_list_keeps_the_priority_order(tasked: Campaign, tree: factories.Tree) -> None:
    everyone = [r.subscriber_id for r in task_list(user=None, page_size=500).rows]

    rows = task_list(user=None, filters=TaskFilters(store="ST-A2"), page_size=500).rows

    assert rows
    assert [r.subscriber_id for r in rows] == [
        s for s in everyone if s in {r.subscriber_id for r in rows}
    ]
    assert {r.store_id for r in rows} == {"ST-A2"}


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(page_size=st.integers(min_value=1, max_value=30))
def test_the_pages_together_are_the_whole_list_in_order(tasked: Campaign, page_size: int) -> None:
    whole = task_list(user=None, page_size=500)

    pages = [
        task_list(user=None, page=n, page_size=page_size)
        for n in range(1, math.ceil(whole.total / page_size) + 1)
    ]

    assert [r.subscriber_id for p in pages for r in p.rows] == [r.subscriber_id for r in whole.rows]


def test_rows_show_store_and_grid_names_with_the_codes_on_hover(
    tasked: Campaign, tree: factories.Tree, client: Any
) -> None:
    # Given grid A's manager, whose customers are dealt over stores 甲1店-甲3店 (ST-A1..3)
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    rows = task_list(user=manager, page_size=500).rows
    assert {(r.store_id, r.store) for r in rows} == {(f"ST-A{n}", f"甲{n}店") for n in (1, 2, 3)}
    assert {r.grid for r in rows} == {tree.grid_a.name}
    client.force_login(manager)

    # When they open the task list
    html = client.get("/campaigns/tasks/").content.decode()

    # Then each row names the store and the grid, their codes in the title
    assert '<span class="store" title="ST-A1">甲1店</span>' in html
    assert f'<span class="grid" title="{tree.grid_a.code}">{tree.grid_a.name}</span>' in html


def test_the_workbook_lists_the_tasks_in_the_same_order_as_the_page(
    tasked: Campaign, tree: factories.Tree, client: Any
) -> None:
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    listed = [r.subscriber_id for r in task_list(user=manager, page_size=500).rows]
    client.force_login(manager)

    answer = client.get(
        f"/campaigns/tasks/tasks.xlsx?grid={tree.grid_a.code}", HTTP_ACCEPT_LANGUAGE="en"
    )

    rows = list(load_workbook(io.BytesIO(answer.content)).active.iter_rows(values_only=True))
    header = list(rows[0])
    assert [r[header.index("Subscriber ID")] for r in rows[1:]] == listed
    assert [r[header.index("Priority")] for r in rows[1:]] == list(range(1, len(listed) + 1))
    assert {r[header.index("Store")] for r in rows[1:]} == {"甲1店", "甲2店", "甲3店"}
