"""The partner's own view: its store's sales, tasks, statements, visits and issues, and
nothing of another store: partner A asking for partner B's store, visits or issues gets 404."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from quanwang.channels.visits.choices import CommitmentSide, IssueCategory
from quanwang.channels.visits.sections import partner_section
from quanwang.channels.visits.services.issues import raise_issue
from quanwang.channels.visits.services.partner import partner_stores, store_sales
from quanwang.channels.visits.services.visit_log import CommitmentInput
from quanwang.core.choices import Role
from tests import factories
from tests.channels.test_visits_helpers import logged, partner_of, store


@pytest.fixture
def two_partners(tree: factories.Tree) -> dict[str, Any]:
    """Partner A's store in grid A and partner B's in grid B, each visited, each with an
    issue; and a store in A's grid that A is no partner of."""
    today = timezone.localdate()
    shop_a, shop_b = store(tree.grid_a, name="甲合作店"), store(tree.grid_b, name="乙合作店")
    neighbour = store(tree.grid_a, name="甲邻店")
    manager_a = factories.user(role=Role.GRID_MANAGER, at=tree.grid_a)
    manager_b = factories.user(role=Role.GRID_MANAGER, at=tree.grid_b)
    promise = [CommitmentInput(CommitmentSide.OURS, "补发物料", today)]
    found = {
        "a": partner_of(shop_a), "b": partner_of(shop_b), "shop_a": shop_a, "shop_b": shop_b,
        "neighbour": neighbour,
        "visit_a": logged(manager_a, shop_a, today, commitments=promise),
        "visit_b": logged(manager_b, shop_b, today),
        "visit_neighbour": logged(manager_a, neighbour, today),
    }  # fmt: skip
    for key, shop in (("issue_a", shop_a), ("issue_b", shop_b)):
        found[key] = raise_issue(
            user=found[key[-1]], store_pk=shop.pk, category=IssueCategory.LATE_SUPPLY,
            description=f"{shop.name}缺货", idempotency_key=uuid.uuid4(),
        )  # fmt: skip
    return found


def test_a_partner_sees_its_own_store(two_partners: dict[str, Any], login: Any) -> None:
    # Given partner A, logged in
    client = login(two_partners["a"])
    shop = two_partners["shop_a"]

    # When they open their page
    home = client.get("/partner/")
    page = client.get(f"/partner/stores/{shop.pk}/")

    # Then it is their store's page, with its visit, open commitment and issue
    assert home.status_code == 302
    assert home["Location"] == f"/partner/stores/{shop.pk}/"
    text = page.content.decode()
    assert page.status_code == 200
    assert "甲合作店" in text
    assert f"/visits/{two_partners['visit_a'].pk}/" in text
    assert "补发物料" in text
    assert "甲合作店缺货" in text
    assert f"?store={shop.store_id}" in text  # its task list
    # and nothing of the other stores
    for other in ("乙合作店", "甲邻店"):
        assert other not in text


def test_partner_a_cannot_see_partner_bs_store_visits_or_issues(
    two_partners: dict[str, Any], login: Any
) -> None:
    # Given partner A
    client = login(two_partners["a"])
    shop_b = two_partners["shop_b"]

    # When they ask for B's store page, its issue form, its visit and its issue, and for
    # the visit of a store in their own grid that they are no partner of
    urls = [
        f"/partner/stores/{shop_b.pk}/",
        f"/partner/stores/{shop_b.pk}/issues/new/",
        f"/partner/stores/{two_partners['neighbour'].pk}/",
        f"/visits/{two_partners['visit_b'].pk}/",
        f"/visits/{two_partners['visit_neighbour'].pk}/",
        f"/visits/issues/{two_partners['issue_b'].pk}/",
    ]

    # Then every one is not found; nor can they raise an issue for B's store
    assert {url: client.get(url).status_code for url in urls} == dict.fromkeys(urls, 404)
    raised = client.post(
        f"/partner/stores/{shop_b.pk}/issues/new/",
        {"idempotency_key": str(uuid.uuid4()), "category": "其他", "description": "x"},
    )
    assert raised.status_code == 404
    # while their own visit and issue open
    assert client.get(f"/visits/{two_partners['visit_a'].pk}/").status_code == 200
    assert client.get(f"/visits/issues/{two_partners['issue_a'].pk}/").status_code == 200
    # and the staff lists hold only their own
    issues = client.get("/visits/issues/").content.decode()
    assert "甲合作店缺货" in issues
    assert "乙合作店缺货" not in issues


def test_the_partner_section_holds_only_the_partners_own(two_partners: dict[str, Any]) -> None:
    a = two_partners["a"]
    section = partner_section(stores=[two_partners["shop_a"], two_partners["shop_b"]], user=a)
    assert section is not None
    assert [r["visit"] for r in section["visits"]] == [two_partners["visit_a"]]
    assert [r["issue"] for r in section["issues"]] == [two_partners["issue_a"]]


def test_the_partners_page_is_not_for_staff(two_partners: dict[str, Any], login: Any) -> None:
    # A grid manager of grid A is no partner of A's store: the partner pages are not found
    manager = factories.user(role=Role.GRID_MANAGER, at=two_partners["shop_a"].org_unit)
    client = login(manager)
    assert client.get("/partner/").status_code == 404
    assert client.get(f"/partner/stores/{two_partners['shop_a'].pk}/").status_code == 404
    assert not partner_stores(user=manager).exists()


def test_a_partner_sees_its_stores_sales_from_the_warehouse(
    tree: factories.Tree, tmp_path: Path, login: Any
) -> None:
    # Given store sales in the warehouse for the partner's store and another
    from quanwang.data.importer import import_file

    shop, other = store(tree.grid_a), store(tree.grid_b)
    partner = partner_of(shop)
    files = {
        "grids": "grid_id,name,grid_type,county_code,boundary_wkt\n"
        f"{tree.grid_a.code},甲网格,沿街,{tree.county_a.code},\n"
        f"{tree.grid_b.code},乙网格,沿街,{tree.county_b.code},\n",
        "stores": "store_id,name,store_type,grid_id\n"
        f"{shop.store_id},{shop.name},合作店,{tree.grid_a.code}\n"
        f"{other.store_id},{other.name},合作店,{tree.grid_b.code}\n",
        "store_sales": "store_id,month,product,units,revenue\n"
        f"{shop.store_id},2024-05,5G套餐,12,1200\n{shop.store_id},2024-06,5G套餐,10,1000\n"
        f"{shop.store_id},2024-06,宽带,3,900\n{other.store_id},2024-06,宽带,99,99999\n",
    }
    for table, text in files.items():
        path = tmp_path / f"{table}.csv"
        path.write_text(text, encoding="utf-8")
        import_file(table_name=table, path=path)

    # When the partner's sales are read
    sales = store_sales(store_id=shop.store_id)

    # Then they are the store's months, newest first, over all its products
    assert [(m.month, m.units, m.revenue) for m in sales] == [
        ("2024-06", 13, 1900.0), ("2024-05", 12, 1200.0),
    ]  # fmt: skip
    text = login(partner).get(f"/partner/stores/{shop.pk}/").content.decode()
    assert "2024-06" in text
    assert "99999" not in text


def test_a_partner_with_two_stores_chooses_one(tree: factories.Tree, login: Any) -> None:
    first, second = store(tree.grid_a, name="一号店"), store(tree.grid_a, name="二号店")
    partner = partner_of(first)
    second.partners.add(partner)
    page = login(partner).get("/partner/")
    assert page.status_code == 200
    assert "一号店" in page.content.decode()
    assert "二号店" in page.content.decode()


def test_the_home_card_lists_a_partners_stores_only(two_partners: dict[str, Any]) -> None:
    from django.template.loader import render_to_string

    from quanwang.channels.visits.sections import home_section

    card = home_section(user=two_partners["a"])
    assert card == {"stores": [two_partners["shop_a"]]}
    html = render_to_string("channels/visits/_home_partner.html", card)
    assert f"/partner/stores/{two_partners['shop_a'].pk}/" in html
    staff = factories.user(role=Role.GRID_MANAGER, at=two_partners["shop_a"].org_unit)
    assert home_section(user=staff) is None
