from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests import factories


@pytest.fixture(autouse=True)
def _var_dir(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path / "var"
    settings.VAR_DIR.mkdir()


@pytest.fixture
def tree(db: None) -> factories.Tree:
    return factories.Tree()


@pytest.fixture
def login(client: Client) -> Any:
    def _login(user: Any) -> Client:
        client.force_login(user)
        return client

    return _login


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The heavy warehouse-only tests (model training, Spark parity, uplift) exercise DuckDB,
    Spark and LightGBM, not the operations database: CI runs them once, in the SQLite pass."""
    from django.db import connection

    if connection.vendor == "sqlite" or os.environ.get("QUANWANG_TEST_EVERYWHERE") == "1":
        return
    skip = pytest.mark.skip(reason="warehouse-only: runs in the SQLite pass")
    for item in items:
        if item.get_closest_marker("warehouse_only"):
            item.add_marker(skip)
