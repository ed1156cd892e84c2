from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from quanwang.core.choices import AuditAction, Role
from quanwang.core.errors import NotFound
from quanwang.core.models import AuditRecord, OrgUnit
from quanwang.data.customers import customer_360, reveal, search
from quanwang.data.importer import import_file
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


@pytest.fixture
def family(tree: factories.Tree, tmp_path: Path) -> OrgUnit:
    """One family over three grids: SA1 and SA3 in grid A, SA2 in a second grid of county A,
    SB2 in city B's grid. Returns county A's second grid."""
    factories.warehouse_customers(tree, tmp_path)
    second = factories.org_unit(code="CA-1-G2", parent=tree.county_a, name="甲一网格二")
    rows = [
        ("SA1", "13812340001", tree.grid_a.code), ("SA3", "13812340003", tree.grid_a.code),
        ("SA2", "13812340002", second.code), ("SB2", "13912340009", tree.grid_b.code),
    ]  # fmt: skip
    grids = tmp_path / "grids.csv"
    grids.write_text(
        "grid_id,name,grid_type,county_code\n"
        + "".join(f"{g.code},{g.name},沿街,{g.parent.code}\n"
                  for g in (tree.grid_a, second, tree.grid_b)),  # type: ignore[union-attr]
        encoding="utf-8",
    )  # fmt: skip
    import_file(table_name="grids", path=grids)
    source = tmp_path / "family.csv"
    source.write_text(
        "subscriber_id,msisdn,name,segment,payment_type,join_date,status,plan_id,grid_id,"
        "family_id\n"
        + "".join(f"{sid},{msisdn},某某,个人,postpaid,2020-01-05,active,P1,{grid},F1\n"
                  for sid, msisdn, grid in rows),
        encoding="utf-8",
    )  # fmt: skip
    assert import_file(table_name="subscribers", path=source).loaded == 4
    return second


def test_a_grid_manager_sees_own_grid_family_members_and_only_a_count_of_the_others(
    tree: factories.Tree, family: OrgUnit
) -> None:
    # Given a grid manager of grid A, where SA1 and SA3 of a family of four live
    user = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)

    # When they open SA1
    view = customer_360(user=user, subscriber_id="SA1")

    # Then SA3 is listed; SA2 (another grid of the county) and SB2 (another city) are counted
    assert [m["subscriber_id"] for m in view["family"]] == ["SA3"]
    assert view["family_outside_scope"] == 2


def test_a_county_manager_over_both_grids_sees_both_members(
    tree: factories.Tree, family: OrgUnit
) -> None:
    user = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)

    view = customer_360(user=user, subscriber_id="SA1")

    assert [m["subscriber_id"] for m in view["family"]] == ["SA2", "SA3"]
    assert view["family_outside_scope"] == 1


def test_the_360_page_lists_no_member_outside_scope_and_says_how_many_there_are(
    tree: factories.Tree, family: OrgUnit, client: Client
) -> None:
    client.force_login(factories.user(role=Role.GRID_MANAGER, at=tree.grid_a))

    page = client.get("/customers/SA1/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "/customers/SA3/" in page
    assert "SA2" not in page
    assert "SB2" not in page
    assert "2 more family members are outside your area." in page
