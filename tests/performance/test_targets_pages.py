"""The targets pages: the tree in my scope, one target, the change form; other scopes 404; a
staff member sees only their own targets."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse

from quanwang.core.choices import Role
from quanwang.performance.choices import Grain
from quanwang.performance.models.targets import Target, TargetChange
from quanwang.performance.targets.services import decompose, set_target
from tests import factories
from tests.performance.targets_support import actuals, register, target

pytestmark = pytest.mark.django_db


def _family(tree: Any, admin: Any) -> tuple[Target, Target, Target]:
    top = set_target(
        kpi="t_revenue",
        period="2024Q2",
        grain="org_unit",
        key="P1",
        value=1000,
        deadline=None,
        by=admin,
        reason="",
    )
    a, b = decompose(
        parent=top, rule="manual", into="units", by=admin, manual={"CA": 600, "CB": 400}
    )
    return top, a, b


def test_tree_and_detail_in_scope(tree: Any, monkeypatch: Any, login: Any) -> None:
    # given targets of the province and both cities, with figures
    register(monkeypatch)
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    _top, a, b = _family(tree, admin)
    actuals([("t_revenue", "org_unit", "CA", "CA", "2024Q2", 120.0)], as_of=dt.date(2024, 5, 15))
    marketer = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    client = login(marketer)
    # when city A's marketer opens the quarter's targets
    page = client.get(reverse("performance:targets-tree") + "?period=2024Q2")
    # then they see their city's target with its figures, not city B's
    assert page.status_code == 200
    html = page.content.decode()
    assert f'id="target-{a.pk}"' in html
    assert f'id="target-{b.pk}"' not in html
    assert 'id="figures-version"' in html
    assert "2024-05-15" in html
    # and city B's target, or a bad period, is not found
    assert client.get(reverse("performance:targets-detail", args=[b.pk])).status_code == 404
    assert client.get(reverse("performance:targets-tree") + "?period=x").status_code == 404
    assert client.get(reverse("performance:targets-detail", args=[a.pk])).status_code == 200


def test_change_form_applies_once(tree: Any, monkeypatch: Any, login: Any) -> None:
    # given the province's admin on a city's target
    register(monkeypatch)
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    top, a, _b = _family(tree, admin)
    client = login(admin)
    url = reverse("performance:targets-detail", args=[a.pk])
    form = {
        "form": "change",
        "value": "700",
        "absorb": "siblings",
        "reason": "调整",
        "expected_before": "600",
    }
    # when the change form is sent twice
    first = client.post(url, form)
    second = client.post(url, form)
    # then it is applied once; the second answer keeps the form with an error
    assert first.status_code == 302
    assert second.status_code == 200
    assert [t.value for t in Target.objects.filter(parent=top).order_by("key")] == [700, 300]
    assert TargetChange.objects.filter(reason="调整").count() == 2


def test_staff_member_sees_only_their_own(tree: Any, monkeypatch: Any, login: Any) -> None:
    # given two staff of one grid with targets, one of them with a login
    register(monkeypatch)
    me = factories.staff(at=tree.grid_a, employee_no="E1")
    other = factories.staff(at=tree.grid_a, employee_no="E2")
    me.user = factories.user(role=Role.ACCOUNT_MANAGER, at=tree.grid_a)
    me.save()
    mine = target(
        kpi="t_revenue",
        period="2024Q2",
        unit=tree.grid_a,
        value=5,
        grain=Grain.STAFF,
        key="E1",
        staff=me,
    )
    theirs = target(
        kpi="t_revenue",
        period="2024Q2",
        unit=tree.grid_a,
        value=5,
        grain=Grain.STAFF,
        key="E2",
        staff=other,
    )
    client = login(me.user)
    # then the tree shows mine only, and theirs is not found
    html = client.get(reverse("performance:targets-tree") + "?period=2024Q2").content.decode()
    assert f'id="target-{mine.pk}"' in html
    assert f'id="target-{theirs.pk}"' not in html
    assert client.get(reverse("performance:targets-detail", args=[theirs.pk])).status_code == 404
