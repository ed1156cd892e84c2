from __future__ import annotations

from datetime import timedelta

from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone

from quanwang.core.choices import Role
from quanwang.core.models import OrgUnit
from tests import factories


def _login(client: Client, username: str, password: str) -> int:
    return client.post("/login/", {"username": username, "password": password}).status_code


def test_the_console_is_chinese_by_default(client: Client, db: None) -> None:
    page = client.get("/login/").content.decode()

    assert 'lang="zh-hans"' in page
    assert "登录" in page


def test_the_language_switch_gives_english(client: Client, db: None) -> None:
    client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})

    page = client.get("/login/").content.decode()

    assert 'lang="en"' in page
    assert "Log in" in page


def test_the_home_page_shows_the_five_capabilities(tree: factories.Tree, client: Client) -> None:
    client.force_login(factories.user(role=Role.CITY_MARKETER, at=tree.city_a))

    page = client.get("/").content.decode()

    for label in ("营销分析", "营销策划", "营销推广", "营销执行", "营销支撑"):
        assert label in page


def test_five_wrong_passwords_lock_the_login_for_a_cool_off(tree: factories.Tree) -> None:
    # Given a user who types a wrong password five times
    client = Client()
    user = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    for _ in range(5):
        _login(client, user.username, "wrong")

    # When they then type the right one, they are refused with the lockout page
    locked = client.post("/login/", {"username": user.username, "password": factories.PASSWORD})
    assert locked.status_code == 429
    assert "登录失败次数过多" in locked.content.decode() or "Too many" in locked.content.decode()

    # And when the cool-off has passed, the right password works again
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert _login(client, user.username, factories.PASSWORD) == 302


def test_a_wrong_password_shows_an_error_and_keeps_the_user_out(tree: factories.Tree) -> None:
    client = Client()
    user = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)

    response = client.post("/login/", {"username": user.username, "password": "wrong"})

    assert response.status_code == 200
    assert client.get("/").status_code == 302


def test_a_form_with_a_missing_field_says_which_and_saves_nothing(
    tree: factories.Tree, client: Client
) -> None:
    client.force_login(factories.user(role=Role.CITY_MARKETER, at=tree.city_a))
    before = OrgUnit.objects.count()

    response = client.post(
        "/org-units/new/", {"parent": tree.county_a.pk, "code": "N1", "level": "grid"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"name"}
    assert OrgUnit.objects.count() == before


def test_a_form_with_an_over_long_field_says_which_and_saves_nothing(
    tree: factories.Tree, client: Client
) -> None:
    client.force_login(factories.user(role=Role.CITY_MARKETER, at=tree.city_a))

    response = client.post(
        f"/org-units/{tree.county_a.pk}/edit/", {"name": "长" * 101, "name_en": ""}
    )

    assert response.context["form"].errors.keys() == {"name"}
    tree.county_a.refresh_from_db()
    assert tree.county_a.name == "甲一区"


def test_an_org_unit_created_in_the_console_gets_its_path(
    tree: factories.Tree, client: Client
) -> None:
    client.force_login(factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a))

    response = client.post(
        "/org-units/new/",
        {"parent": tree.county_a.pk, "code": "CA-1-G9", "name": "新网格", "level": "grid"},
    )

    unit = OrgUnit.objects.get(code="CA-1-G9")
    assert response.status_code == 302
    assert unit.path == "/P1/CA/CA-1/CA-1-G9/"


def test_switching_to_a_scope_the_user_does_not_hold_is_404(
    tree: factories.Tree, client: Client
) -> None:
    client.force_login(factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a))
    other = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_b)

    response = client.post("/scope/", {"scope": other.role_assignments.get().pk})

    assert response.status_code == 404
