"""Drill-down: the rows behind a value add up to it; another scope gets a 404; XLSX export."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.urls import reverse

from quanwang.core.choices import Role
from quanwang.performance.actuals.store import publish
from quanwang.performance.kpis import drill
from tests import factories
from tests.performance import kpis_world as w


def _published() -> None:
    w.write_warehouse()
    publish(
        [
            {"kpi": "churn_rate", "grain": "org_unit", "key": w.G1, "org_unit": w.G1,
             "period": w.MONTH, "numerator": 1.0, "denominator": 3.0},
            {"kpi": "revenue", "grain": "org_unit", "key": "CA", "org_unit": "CA",
             "period": w.MONTH, "numerator": 180.0, "denominator": None},
        ],
        as_of=dt.date(2024, 6, 30),
        snapshot=None,
    )  # fmt: skip


def test_rows_add_up_to_the_value(tree: Any) -> None:
    # given kept values for a grid and a city
    _published()
    # when their rows are listed
    churn = drill.rows(kpi="churn_rate", grain="org_unit", key=w.G1, period=w.MONTH)
    revenue = drill.rows(kpi="revenue", grain="org_unit", key="CA", period=w.MONTH)
    # then they add up to the kept numerator and denominator
    assert (churn.numerator, churn.denominator) == (1.0, 3.0)
    assert churn.value == churn.figure.value
    assert revenue.numerator == revenue.figure.numerator == 180.0
    assert len(revenue.rows) == 3


def test_store_rows(tree: Any) -> None:
    w.write_warehouse()
    found = drill.rows(kpi="new_5g_plans", grain="store", key="ST1", period=w.MONTH)
    assert found.numerator == 1.0
    assert len(found.rows) == 3  # a sale, its refund, another sale


def test_drill_page_and_xlsx_within_scope(tree: Any, login: Any) -> None:
    _published()
    manager = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    client = login(manager)
    url = reverse("performance:kpis-drill", args=["churn_rate", "org_unit", w.G1, w.MONTH])
    page = client.get(url)
    assert page.status_code == 200
    assert b'id="drill"' in page.content
    export = client.get(
        reverse("performance:kpis-drill-xlsx", args=["churn_rate", "org_unit", w.G1, w.MONTH])
    )
    assert export.status_code == 200
    assert export.content[:2] == b"PK"


def test_another_scope_gets_404(tree: Any, login: Any) -> None:
    # given a grid manager of city B
    _published()
    other = factories.user(role=Role.GRID_MANAGER, at=tree.grid_b)
    client = login(other)
    # then grid A's value, city A's value and an unknown KPI are all 404
    for args in (["churn_rate", "org_unit", w.G1, w.MONTH], ["revenue", "org_unit", "CA", w.MONTH],
                 ["nope", "org_unit", w.G1, w.MONTH]):  # fmt: skip
        assert client.get(reverse("performance:kpis-drill", args=args)).status_code == 404
        assert client.get(reverse("performance:kpis-drill-xlsx", args=args)).status_code == 404


def test_catalogue_and_kpi_pages(tree: Any, login: Any) -> None:
    _published()
    client = login(factories.user(role=Role.GRID_MANAGER, at=tree.grid_a))
    index = client.get(reverse("performance:kpis-index"))
    assert index.status_code == 200
    assert b'data-code="churn_rate"' in index.content
    page = client.get(
        reverse("performance:kpis-detail", args=["churn_rate"]) + f"?period={w.MONTH}"
    )
    assert page.status_code == 200
    assert w.G1.encode() in page.content
    # city B's manager sees no value of grid A
    other = login(factories.user(role=Role.GRID_MANAGER, at=tree.grid_b))
    assert (
        w.G1.encode()
        not in other.get(
            reverse("performance:kpis-detail", args=["churn_rate"]) + f"?period={w.MONTH}"
        ).content
    )
