from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from quanwang.core.choices import AuditAction, Role
from quanwang.core.errors import NotFound
from quanwang.core.models import AuditRecord
from quanwang.data.customers import customer_360, reveal, search
from tests import factories


@pytest.fixture
def customers(tree: factories.Tree, tmp_path: Path) -> dict[str, str]:
    return factories.warehouse_customers(tree, tmp_path)


def test_a_grid_manager_finds_a_customer_of_their_grid_masked(
    tree: factories.Tree, customers: dict[str, str]
) -> None:
    user = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)

    found = search(user=user, query="SA1")

    assert [(r["subscriber_id"], r["msisdn"], r["name"]) for r in found] == [
        ("SA1", "138****0001", "张*")
    ]


def test_a_customer_of_another_grid_is_not_there(
    tree: factories.Tree, customers: dict[str, str]
) -> None:
    user = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)

    assert search(user=user, query="SB1") == []
    with pytest.raises(NotFound):
        customer_360(user=user, subscriber_id="SB1")


def test_a_masked_number_finds_the_customer(
    tree: factories.Tree, customers: dict[str, str]
) -> None:
    user = factories.user(role=Role.CITY_MARKETER, at=tree.province)

    found = search(user=user, query="139****0002")

    assert [r["subscriber_id"] for r in found] == ["SB1"]


def test_a_full_number_finds_only_for_roles_that_may_see_it(
    tree: factories.Tree, customers: dict[str, str]
) -> None:
    marketer = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    manager = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)

    assert search(user=marketer, query="13812340001") == []
    assert [r["subscriber_id"] for r in search(user=manager, query="13812340001")] == ["SA1"]


def test_the_360_view_has_usage_and_the_call_circle(
    tree: factories.Tree, customers: dict[str, str]
) -> None:
    user = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)

    view = customer_360(user=user, subscriber_id="SA1")

    assert [u["month"] for u in view["usage"]] == ["2024-01", "2024-02"]
    assert {c["peer_operator"]: c["calls"] for c in view["circle"]} == {"移动": 12, "本网": 3}
    assert view["profile"]["msisdn"] == "138****0001"


def test_revealing_a_customer_number_is_audited(
    tree: factories.Tree, customers: dict[str, str]
) -> None:
    user = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)

    full = reveal(user=user, subscriber_id="SA1", reason="上门办理", ip_address=None)

    record = AuditRecord.objects.get()
    assert full["msisdn"] == "13812340001"
    assert (record.action, record.org_unit, record.reason) == (
        AuditAction.VIEW_PII,
        tree.grid_a,
        "上门办理",
    )


def test_a_city_marketer_cannot_reveal(tree: factories.Tree, customers: dict[str, str]) -> None:
    user = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)

    with pytest.raises(NotFound):
        reveal(user=user, subscriber_id="SA1", reason="x", ip_address=None)


def test_the_360_page_renders_the_usage_chart(
    tree: factories.Tree, customers: dict[str, str], client: Client
) -> None:
    client.force_login(factories.user(role=Role.GRID_MANAGER, at=tree.grid_a))

    page = client.get("/customers/SA1/").content.decode()

    assert 'id="usage-chart"' in page
    assert "2024-02" in page
    assert "13812340001" not in page
