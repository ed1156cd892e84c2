"""The targets API: set at the top, decompose, change with reconciliation; another city's
target 404; bad input 422 naming the field with nothing saved; a double submit made once."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from quanwang.core.choices import Role
from quanwang.core.services.tokens import create_token
from quanwang.performance.models.targets import Target, TargetChange
from tests import factories
from tests.performance.targets_support import actuals, register

pytestmark = pytest.mark.django_db

URL = "/api/v1/performance/targets"
Q2 = "2024Q2"


def _auth(user: Any) -> dict[str, str]:
    _token, secret = create_token(user=user, name="api")
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def _post(client: Client, url: str, body: dict[str, Any], auth: dict[str, str]) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json", **auth)


@pytest.fixture
def admin(tree: factories.Tree, monkeypatch: Any) -> Any:
    register(monkeypatch)
    # last quarter's revenue: city A made 3 parts, city B 1 part
    actuals(
        [
            ("t_revenue", "org_unit", "CA", "CA", "2024Q1", 300.0),
            ("t_revenue", "org_unit", "CB", "CB", "2024Q1", 100.0),
        ],
        as_of=dt.date(2024, 4, 10),
    )
    return factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)


def _top(client: Client, auth: dict[str, str], value: str = "1000") -> Any:
    body = {"kpi": "t_revenue", "period": Q2, "key": "P1", "value": value, "reason": "年度目标"}
    return _post(client, URL, body, auth)


def test_set_decompose_change_and_list(admin: Any, client: Client) -> None:
    auth = _auth(admin)
    # when the province sets its quarter's revenue target twice (a double submit)
    first, again = _top(client, auth), _top(client, auth)
    # then one target exists, due at the quarter's end
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["deadline"] == "2024-06-30"
    assert Target.objects.count() == 1
    # when it is decomposed over the cities by last quarter's share
    top = first.json()["id"]
    split = _post(client, f"{URL}/{top}/decompose", {"rule": "last_share"}, auth)
    # then the cities get 750 and 250, which add up to the top
    assert split.status_code == 200
    assert {c["key"]: c["value"] for c in split.json()} == {"CA": 750.0, "CB": 250.0}
    assert all(c["parent_id"] == top for c in split.json())
    # when city A is raised to 800 by hand, the difference taken by its sibling
    city_a = next(c["id"] for c in split.json() if c["key"] == "CA")
    body = {"value": "800", "absorb": "siblings", "expected_before": "750", "reason": "新商圈"}
    changed = _post(client, f"{URL}/{city_a}/change", body, auth)
    # then A is 800, B 200, the top still 1000, and the change is in the history with its reason
    assert changed.status_code == 200
    assert changed.json()["value"] == 800.0
    assert Target.objects.get(key="CB").value == Decimal(200)
    assert Target.objects.get(key="P1").value == Decimal(1000)
    assert TargetChange.objects.filter(target_id=city_a, reason="新商圈").exists()
    # when the same change is sent again (a double submit); then it is refused, not applied twice
    twice = _post(client, f"{URL}/{city_a}/change", body, auth)
    assert twice.status_code == 422
    assert twice.json()["field"] == "value"
    assert Target.objects.get(key="CB").value == Decimal(200)
    # and the quarter's list shows all three with their progress fields
    listed = client.get(URL, {"period": Q2}, **auth).json()
    assert sorted(t["key"] for t in listed) == ["CA", "CB", "P1"]
    assert {"attainment", "expected", "pace", "forecast", "behind"} <= set(listed[0])


def test_another_citys_target_is_not_found(
    admin: Any, tree: factories.Tree, client: Client
) -> None:
    # given the province's target decomposed over both cities
    auth = _auth(admin)
    top = _top(client, auth).json()["id"]
    split = _post(client, f"{URL}/{top}/decompose", {"rule": "last_share"}, auth).json()
    city_a = next(c["id"] for c in split if c["key"] == "CA")
    # when city B's marketer lists, decomposes, changes or sets city A's targets
    theirs = _auth(factories.user(role=Role.CITY_MARKETER, at=tree.city_b))
    listed = client.get(URL, {"period": Q2}, **theirs).json()
    decomposed = _post(client, f"{URL}/{city_a}/decompose", {"rule": "last_share"}, theirs)
    changed = _post(
        client,
        f"{URL}/{city_a}/change",
        {"value": "1", "absorb": "parent", "expected_before": "750", "reason": "x"},
        theirs,
    )
    made = _post(
        client, URL, {"kpi": "t_revenue", "period": "2024Q3", "key": "CA", "value": "5"}, theirs
    )
    # then they see their own city only, and every write answers 404 and changes nothing
    assert [t["key"] for t in listed] == ["CB"]
    assert (decomposed.status_code, changed.status_code, made.status_code) == (404, 404, 404)
    assert Target.objects.get(pk=city_a).value == Decimal(750)
    assert Target.objects.count() == 3
    # and a grid manager, who only reads targets, cannot set one at all
    reader = _auth(factories.user(role=Role.GRID_MANAGER, at=tree.grid_a))
    assert _top(client, reader, value="5").status_code == 404


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kpi": "nope"}, "kpi"),
        ({"value": "abc"}, "value"),
        ({"value": "-5"}, "value"),
        ({"period": "2024-13"}, "period"),
        ({"grain": "planet"}, "grain"),
        ({"deadline": "2024-01-01"}, "deadline"),
        ({"deadline": "not a date"}, "deadline"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    admin: Any, client: Client, changes: dict[str, Any], field: str
) -> None:
    body = {"kpi": "t_revenue", "period": Q2, "key": "P1", "value": "10"} | changes
    answer = _post(client, URL, body, _auth(admin))
    assert answer.status_code == 422
    assert answer.json()["field"] == field
    assert not Target.objects.exists()


def test_a_missing_field_is_named(admin: Any, client: Client) -> None:
    answer = _post(client, URL, {"kpi": "t_revenue", "period": Q2, "value": "10"}, _auth(admin))
    assert answer.status_code == 422
    assert answer.json()["field"] == "key"
    assert not Target.objects.exists()


def test_a_manual_decomposition_that_does_not_add_up_is_refused(admin: Any, client: Client) -> None:
    # given the top target of 1000
    auth = _auth(admin)
    top = _top(client, auth).json()["id"]
    # when the cities are given 600 and 300 by hand
    body = {"rule": "manual", "manual": {"CA": "600", "CB": "300"}}
    answer = _post(client, f"{URL}/{top}/decompose", body, auth)
    # then it is refused naming the field and the difference, and nothing is saved
    assert answer.status_code == 422
    assert answer.json()["field"] == "manual"
    assert "100" in answer.json()["detail"]
    assert Target.objects.count() == 1
    # and a bad rule or a bad "into" is named too
    assert _post(client, f"{URL}/{top}/decompose", {"rule": "x"}, auth).json()["field"] == "rule"
    bad_into = _post(client, f"{URL}/{top}/decompose", {"rule": "manual", "into": "x"}, auth)
    assert bad_into.json()["field"] == "into"
    # and a decomposition that adds up is taken
    good = {"rule": "manual", "manual": {"CA": "600", "CB": "400"}}
    assert _post(client, f"{URL}/{top}/decompose", good, auth).status_code == 200
    assert Target.objects.count() == 3
