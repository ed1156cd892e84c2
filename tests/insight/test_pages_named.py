"""The insight pages name grids (the code on hover), write amounts in yuan and counts as whole
numbers, and name the engine rather than its code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.utils import translation

from quanwang.core.choices import Role
from quanwang.insight.pipeline import run_pipeline
from tests import factories


@pytest.fixture
def snapshot(tree: factories.Tree, tmp_path: Path) -> Any:
    factories.warehouse_customers(tree, tmp_path)
    return run_pipeline(month="2024-02")


def test_the_value_page_names_grids_and_writes_amounts_in_yuan(
    tree: factories.Tree, snapshot: Any, client: Any
) -> None:
    # Given a county manager of county A (one customer in grid A, ARPU 88 and 92)
    client.force_login(factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a))

    # When they read the customer value page
    with translation.override("en"):
        page = client.get("/insight/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    # Then their grid is named with its code on hover, revenue is in yuan, and the snapshot's
    # engine is named
    assert f'<td><span title="{tree.grid_a.code}">甲一网格</span></td>' in page
    assert "180.00 yuan" in page
    assert "¥" not in page
    assert "· DuckDB</option>" in page


def test_the_offnet_page_names_the_referrers_grid(
    tree: factories.Tree, snapshot: Any, client: Any
) -> None:
    client.force_login(factories.user(role=Role.GRID_MANAGER, at=tree.grid_a))

    page = client.get("/insight/offnet/").content.decode()

    assert f'<td><span title="{tree.grid_a.code}">甲一网格</span></td>' in page
