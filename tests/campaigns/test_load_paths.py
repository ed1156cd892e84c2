"""The console's busiest campaign pages keep per process what does not change between page
views (issue 13, "the console under load"): the task list's rows and its DuckDB connection,
the segment preview's compiled rules. What they show must not change with it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest

from quanwang.campaigns import rules as rule_module
from quanwang.campaigns.models import Campaign
from quanwang.campaigns.segments import preview
from quanwang.campaigns.services import transition
from quanwang.campaigns.tasks import task_list, task_steps
from quanwang.core.choices import Role
from quanwang.insight.snapshots import Snapshot
from tests import factories
from tests.campaigns.conftest import (
    EXPIRING,
    TODAY,
    approved,
    dispatch_tasks,
    load_city_warehouse,
    marketer,
)


@pytest.fixture
def tasked(tree: factories.Tree, city: Snapshot, tmp_path: Path) -> Campaign:
    """An issued campaign whose first step (t1) went to the task lists."""
    load_city_warehouse(tree, tmp_path)
    designer = marketer(tree)
    campaign = transition(
        actor=designer, campaign=approved(tree, designer), move="issue", today=TODAY
    )
    dispatch_tasks(designer, campaign)
    return campaign


def counting_connects(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the DuckDB connections opened from now on."""
    opened: list[int] = []
    real = duckdb.connect

    def connect(*args: Any, **kwargs: Any) -> Any:
        opened.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(duckdb, "connect", connect)
    return opened


def test_a_task_list_page_view_opens_no_duckdb_connection_once_warm(
    tree: factories.Tree, tasked: Campaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a grid manager who has opened their task list once
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    first = task_list(user=manager)

    # When they open it again
    opened = counting_connects(monkeypatch)
    again = task_list(user=manager)

    # Then the same rows come back without a new connection (70-90 ms each on 2 cores)
    assert opened == []
    assert again.total == first.total > 0
    assert [r.subscriber_id for r in again.rows] == [r.subscriber_id for r in first.rows]


def test_a_replanned_step_replaces_the_kept_task_rows(
    tree: factories.Tree, tasked: Campaign
) -> None:
    # Given a task list read once, then its plan rewritten with its first customer only
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    before = task_list(user=manager)
    plan = task_steps(tasked.pk)[0].plan
    kept = pq.read_table(plan).slice(0, 1)
    pq.write_table(kept, plan)

    # When the list is read again
    after = task_list(user=manager)

    # Then it shows the plan as it is now
    assert before.total > 1
    assert after.total == 1
    assert after.rows[0].subscriber_id == kept.column("subscriber_id")[0].as_py()


def test_a_repeated_preview_is_not_compiled_again_and_counts_the_same(
    tree: factories.Tree, city: Snapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a rule previewed once by a county manager
    county = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    province = marketer(tree)
    rule = {"all": [EXPIRING, {"field": "arpu_3m", "op": ">=", "value": 20}]}
    first = preview(user=county, rule=rule)

    # When it is previewed again, by them and by the province
    compiled: list[int] = []
    real = rule_module.compile_rule

    def compile_rule(*args: Any, **kwargs: Any) -> Any:
        compiled.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr("quanwang.campaigns.segments.compile_rule", compile_rule)
    again = preview(user=county, rule=rule)
    wider = preview(user=province, rule=rule)

    # Then nothing is compiled, and each sees their own scope's counts
    assert compiled == []
    assert (again.count, again.by_tier, again.by_grid) == (
        first.count,
        first.by_tier,
        first.by_grid,
    )
    assert {code for code, _name, _n in again.by_grid} == {tree.grid_a.code}
    assert {code for code, _name, _n in wider.by_grid} == {tree.grid_a.code, tree.grid_b.code}
    assert wider.count > again.count
