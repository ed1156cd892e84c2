"""The console's column-mapping editor: list, create, change, and refusal of bad mappings."""

from __future__ import annotations

import json
from typing import Any

import pytest

from quanwang.core.choices import Role
from quanwang.core.errors import ServiceError
from quanwang.data.models import ImportMapping
from quanwang.data.services import find_mapping, save_mapping
from tests import factories

CHURN_SPEC = {"columns": {"subscriber_id": {"from": "customerID"}}}


def test_a_marketer_creates_a_mapping_in_the_console(tree: Any, client: Any) -> None:
    # Given a city marketer on the new-mapping page
    client.force_login(factories.user(role=Role.CITY_MARKETER, at=tree.city_a))

    # When they save a mapping for subscribers
    response = client.post(
        "/data/mappings/new/",
        {"name": "kaggle-churn", "table": "subscribers", "spec": json.dumps(CHURN_SPEC)},
    )

    # Then it is saved in their city and listed
    assert response.status_code == 302
    mapping = ImportMapping.objects.get(name="kaggle-churn")
    assert mapping.spec == CHURN_SPEC
    assert mapping.org_unit == tree.city_a
    assert "kaggle-churn" in client.get("/data/mappings/").content.decode()


def test_a_mapping_with_an_unknown_column_is_refused_with_the_reason(
    tree: Any, client: Any
) -> None:
    client.force_login(factories.user(role=Role.CITY_MARKETER, at=tree.city_a))
    bad = {"columns": {"no_such_column": {"from": "x"}}}

    response = client.post(
        "/data/mappings/new/", {"name": "bad", "table": "subscribers", "spec": json.dumps(bad)}
    )

    assert response.status_code == 200
    assert "no_such_column" in response.content.decode()
    assert not ImportMapping.objects.filter(name="bad").exists()


def test_a_mapping_that_is_not_json_is_refused(tree: Any, client: Any) -> None:
    client.force_login(factories.user(role=Role.CITY_MARKETER, at=tree.city_a))

    response = client.post(
        "/data/mappings/new/", {"name": "broken", "table": "subscribers", "spec": "{columns:"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["spec"]
    assert not ImportMapping.objects.filter(name="broken").exists()


def test_an_existing_mapping_is_changed_in_place(tree: Any, client: Any) -> None:
    # Given a saved mapping in the marketer's city
    marketer = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    mapping = save_mapping(
        actor=marketer, name="m1", table="subscribers", spec=CHURN_SPEC, org_unit=tree.city_a
    )
    client.force_login(marketer)
    changed = {"columns": {"subscriber_id": {"from": "cust_id"}}}

    # When it is edited (the name cannot change)
    response = client.post(
        f"/data/mappings/{mapping.pk}/",
        {"name": "renamed", "table": "subscribers", "spec": json.dumps(changed)},
    )

    # Then the same mapping holds the new rules
    assert response.status_code == 302
    mapping.refresh_from_db()
    assert (mapping.name, mapping.spec) == ("m1", changed)


def test_a_new_mapping_cannot_take_a_name_its_own_unit_holds(tree: Any, client: Any) -> None:
    # Given a mapping saved in the marketer's own city
    marketer = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    save_mapping(
        actor=marketer, name="m1", table="plans", spec={"columns": {}}, org_unit=tree.city_a
    )
    client.force_login(marketer)

    # When they create another mapping of that name
    response = client.post(
        "/data/mappings/new/",
        {"name": "m1", "table": "subscribers", "spec": json.dumps(CHURN_SPEC)},
    )

    # Then it is refused, and the saved one is unchanged
    assert response.status_code == 200
    assert "edit it instead" in response.content.decode() or "编辑" in response.content.decode()
    assert ImportMapping.objects.get(name="m1").table == "plans"


def test_a_user_of_another_org_learns_nothing_from_a_name_clash(tree: Any, client: Any) -> None:
    # Given a mapping of city A named "churn"
    marketer_a = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    theirs = save_mapping(
        actor=marketer_a, name="churn", table="plans", spec={"columns": {}}, org_unit=tree.city_a
    )
    page_without = _new_mapping_page(
        client, factories.user(role=Role.CITY_MARKETER, at=tree.city_b), "other"
    )

    # When a marketer of city B saves a mapping of the same name
    marketer_b = factories.user(role=Role.CITY_MARKETER, at=tree.city_b)
    page_with = _new_mapping_page(client, marketer_b, "churn")

    # Then it is saved like any other name (same answer as for a free name), in city B, and
    # city A's mapping is unchanged and still not visible to B
    assert (page_with.status_code, page_with["Location"]) == (
        page_without.status_code,
        page_without["Location"],
    )
    ours = ImportMapping.objects.get(name="churn", org_unit=tree.city_b)
    assert ours.spec == CHURN_SPEC
    theirs.refresh_from_db()
    assert (theirs.table, theirs.spec) == ("plans", {"columns": {}})
    client.force_login(marketer_b)
    listing = client.get("/data/mappings/").content.decode()
    assert f"/data/mappings/{theirs.pk}/" not in listing
    assert f"/data/mappings/{ours.pk}/" in listing


def test_a_mapping_name_held_by_two_orgs_resolves_to_the_users_own(tree: Any) -> None:
    # Given two cities each holding a mapping named "churn"
    a = save_mapping(
        actor=None, name="churn", table="plans", spec={"columns": {}}, org_unit=tree.city_a
    )
    b = save_mapping(
        actor=None, name="churn", table="plans", spec={"columns": {}}, org_unit=tree.city_b
    )
    marketer_a = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    marketer_b = factories.user(role=Role.CITY_MARKETER, at=tree.city_b)
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)

    # When the name is looked up as each user
    # Then each marketer gets their own city's; the admin, who sees both, must choose
    assert find_mapping(actor=marketer_a, name="churn") == a
    assert find_mapping(actor=marketer_b, name="churn") == b
    with pytest.raises(ServiceError, match="churn"):
        find_mapping(actor=admin, name="churn")


def _new_mapping_page(client: Any, user: Any, name: str) -> Any:
    client.force_login(user)
    return client.post(
        "/data/mappings/new/",
        {"name": name, "table": "subscribers", "spec": json.dumps(CHURN_SPEC)},
    )
