"""The morning sheet's fallback when a team has no open campaign task: the newest snapshot's
customers of the team's grids by churn risk × 12-month value, with no personal data."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from django.urls import reverse

from quanwang.core.choices import Role
from quanwang.insight.snapshots import Snapshot, SnapshotStore
from tests import factories

ROWS = [
    # subscriber, grid, risk, 12-month value (risk × value: 50, 90, 10, 500)
    ("A1", "CA-1-G1", 0.5, 100.0),
    ("A2", "CA-1-G1", 0.1, 900.0),
    ("A3", "CA-1-G1", 0.01, 1000.0),
    ("B1", "CB-1-G1", 0.5, 1000.0),
]


def _snapshot() -> Snapshot:
    store = SnapshotStore()
    run_id, staging = store.begin("2024-12")
    (staging / "wide").mkdir()
    table = pa.table(
        {
            "subscriber_id": [r[0] for r in ROWS],
            "grid_id": [r[1] for r in ROWS],
            "churn_risk": [r[2] for r in ROWS],
            "clv_12m": [r[3] for r in ROWS],
            "value_tier": ["regular"] * len(ROWS),
            "name": ["张三丰"] * len(ROWS),
        }
    )
    pq.write_table(table, staging / "wide" / "part-0.parquet")
    snapshot = Snapshot(month="2024-12", run_id=run_id, engine="duckdb", created="", rows=4,
                        seconds=0.0)  # fmt: skip
    return store.complete(staging, snapshot)


def test_a_team_without_tasks_gets_its_customers_by_risk_times_value(
    tree: factories.Tree, login: Any
) -> None:
    # Given a snapshot with three customers in grid A and one in grid B, and no campaign task
    _snapshot()
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    # When grid A's manager opens the grid's morning sheet
    page = login(manager).get(reverse("performance:boards-morning", args=[tree.grid_a.code]))
    body = page.content.decode()
    # Then grid A's customers are listed by risk × value (A2 90, A1 50, A3 10), linked to
    # their 360 page, with no name and nothing of grid B
    assert page.status_code == 200
    listed = body[body.index('id="at-risk"') :]
    assert listed.index("A2") < listed.index("A1") < listed.index("A3")
    assert reverse("data:customer-detail", args=["A2"]) in listed
    assert reverse("data:customer-detail", args=["B1"]) not in listed
    assert "张三丰" not in body
