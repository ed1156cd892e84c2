"""The console's column-mapping editor: list, create, change, and refusal of bad mappings."""

from __future__ import annotations

import json
from typing import Any

from quanwang.core.choices import Role
from quanwang.data.models import ImportMapping
from quanwang.data.services import save_mapping
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


def test_a_new_mapping_cannot_take_an_existing_name(tree: Any, client: Any) -> None:
    marketer = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    save_mapping(actor=marketer, name="m1", table="plans", spec={"columns": {}}, org_unit=None)
    client.force_login(marketer)

    response = client.post(
        "/data/mappings/new/",
        {"name": "m1", "table": "subscribers", "spec": json.dumps(CHURN_SPEC)},
    )

    assert response.status_code == 200
    assert ImportMapping.objects.get(name="m1").table == "plans"
