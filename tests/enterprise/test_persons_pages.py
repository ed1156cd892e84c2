"""The persons pages, by role: the account manager works them, the county manager and the
auditor read their unit's, the city marketer reads masked, an outsider gets 404; a reveal needs
a reason and is audited; the home page and the task list carry the care reminders; the map has
a table fallback for phones and nothing is wider than a phone."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from quanwang.core.choices import AuditAction, AuditTarget, Role
from quanwang.core.models import AuditRecord
from quanwang.enterprise.choices import PersonRole
from quanwang.enterprise.models.persons import CareAction, CareStatus, Influence, KeyPersonRole
from quanwang.enterprise.persons import pii
from tests import factories
from tests.enterprise import factories as ent
from tests.enterprise import persons_factories as pf

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


class World:
    def __init__(self, tree: factories.Tree) -> None:
        self.tree = tree
        staff = factories.staff(at=tree.grid_a)
        self.manager = factories.user(role=Role.ACCOUNT_MANAGER, at=tree.grid_a)
        staff.user = self.manager
        staff.save()
        self.account = ent.account(at=tree.grid_a, name="甲集团")
        ent.on_team(account=self.account, staff=staff)
        self.boss = pf.person(name="王建国", mobile="13912345678")
        self.deputy = pf.person(name="刘洋", mobile="13987654321")
        pf.role(account=self.account, person=self.boss)
        pf.role(account=self.account, person=self.deputy, role=PersonRole.INFLUENCER)
        pf.rating(account=self.account, person=self.boss, on=dt.date(2024, 1, 1), influence=5)
        Influence.objects.create(account=self.account, source=self.deputy, target=self.boss)
        self.today = timezone.localdate()
        self.moment = pf.moment(person=self.boss, on=self.today, account=self.account)


@pytest.fixture
def world(tree: factories.Tree) -> World:
    return World(tree)


def _pages(w: World) -> list[str]:
    return [
        reverse("enterprise:persons-care"),
        reverse("enterprise:persons-care") + "?view=month",
        reverse("enterprise:persons-detail", args=[w.boss.pk]),
        reverse("enterprise:persons-account", args=[w.account.pk]),
    ]


@pytest.mark.parametrize(
    ("role", "at"),
    [
        (Role.ACCOUNT_MANAGER, None),
        (Role.COUNTY_MANAGER, "county_a"),
        (Role.AUDITOR, "province"),
        (Role.CITY_MARKETER, "city_a"),
    ],
)
def test_each_role_reads_the_pages_masked(world: World, login: Any, role: Role, at: Any) -> None:
    user = world.manager if at is None else factories.user(role=role, at=getattr(world.tree, at))
    client = login(user)
    for url in _pages(world):
        response = client.get(url, **ZH)
        assert response.status_code == 200, url
        text = response.content.decode()
        # Masked everywhere: neither the name nor the number in full
        assert "王建国" not in text, url
        assert "13912345678" not in text, url
        assert "Traceback" not in text
    detail = client.get(reverse("enterprise:persons-detail", args=[world.boss.pk]), **ZH)
    assert "王**" in detail.content.decode()
    assert "139****5678" in detail.content.decode()


def test_an_outsider_gets_404(world: World, login: Any) -> None:
    outsider = factories.user(role=Role.ACCOUNT_MANAGER, at=world.tree.grid_b)
    county_b = factories.user(role=Role.COUNTY_MANAGER, at=world.tree.county_b)
    for user in (outsider, county_b):
        client = login(user)
        for url in _pages(world)[2:]:
            assert client.get(url, **ZH).status_code == 404, url
        assert (
            client.post(
                reverse("enterprise:persons-reveal", args=[world.boss.pk]), {"reason": "x"}
            ).status_code
            == 404
        )
        assert (
            client.post(
                reverse("enterprise:persons-care-action", args=[world.moment.pk]),
                {"key": str(uuid.uuid4()), "what": "x", "done_on": "2024-01-01"},
            ).status_code
            == 404
        )
        # The calendar itself lists nothing of the other scope
        care = client.get(reverse("enterprise:persons-care"), **ZH).content.decode()
        assert f"moment-{world.moment.pk}" not in care
    assert not CareAction.objects.exists()


def test_a_reveal_needs_a_reason_and_is_audited(world: World, login: Any) -> None:
    client = login(world.manager)
    url = reverse("enterprise:persons-reveal", args=[world.boss.pk])
    # Without a reason: nothing shown, nothing audited
    refused = client.post(url, {"reason": ""}, **ZH)
    assert refused.status_code == 302
    assert not AuditRecord.objects.exists()
    # With one: shown in full, and audited with the reason
    shown = client.post(url, {"reason": "拜访前核对联系方式"}, **ZH)
    assert "13912345678" in shown.content.decode()
    record = AuditRecord.objects.get()
    assert (record.action, record.target_type, record.target_id) == (
        AuditAction.VIEW_PII,
        AuditTarget.KEY_PERSON,
        str(world.boss.pk),
    )
    assert record.reason == "拜访前核对联系方式"
    assert "王建国" not in record.target_repr


def test_who_may_not_see_personal_data_cannot_reveal(world: World, login: Any) -> None:
    for role, at in ((Role.AUDITOR, "province"), (Role.CITY_MARKETER, "city_a")):
        client = login(factories.user(role=role, at=getattr(world.tree, at)))
        detail = client.get(reverse("enterprise:persons-detail", args=[world.boss.pk]), **ZH)
        assert 'id="reveal"' not in detail.content.decode()
        response = client.post(
            reverse("enterprise:persons-reveal", args=[world.boss.pk]), {"reason": "好奇"}
        )
        assert response.status_code == 404
    assert not AuditRecord.objects.exists()


def test_the_export_is_masked(world: World, login: Any) -> None:
    client = login(world.manager)
    text = client.get(reverse("enterprise:persons-export") + "?full=1").content.decode()
    assert "139****5678" in text
    assert "13912345678" not in text


def test_a_full_export_is_for_the_export_right_only_and_audited(world: World) -> None:
    # given a superuser (every grant, EXPORT_PII included) and the account manager (none)
    admin = factories.user(username="root", is_superuser=True)
    # when both ask for the full export
    full = pii.export_csv(user=admin, full=True, reason="审计抽查")
    masked = pii.export_csv(user=world.manager, full=True, reason="")
    # then only the superuser's carries the numbers, and only it is audited, with its reason
    assert "13912345678" in full
    assert "13912345678" not in masked
    assert "139****5678" in masked
    record = AuditRecord.objects.get()
    assert (record.action, record.actor, record.reason) == (
        AuditAction.EXPORT_PII,
        admin,
        "审计抽查",
    )


def test_recording_an_action_from_the_calendar(world: World, login: Any) -> None:
    client = login(world.manager)
    key = str(uuid.uuid4())
    form = {"key": key, "what": "送花", "done_on": world.today.isoformat(), "cost": "88.5"}
    url = reverse("enterprise:persons-care-action", args=[world.moment.pk])
    client.post(url, form)
    client.post(url, form)  # a double tap
    action = CareAction.objects.get()
    assert action.cost_fen == 8850
    world.moment.refresh_from_db()
    assert world.moment.status == CareStatus.DONE


def test_home_page_and_task_list_show_the_reminders(world: World, login: Any) -> None:
    client = login(world.manager)
    home = client.get("/", **ZH).content.decode()
    assert f'id="reminder-{world.moment.pk}"' in home
    tasks = client.get(reverse("campaigns:tasks"), **ZH)
    assert f'id="reminder-{world.moment.pk}"' in tasks.content.decode()
    # Those who follow a unit from above get no reminders of other people's care
    county = login(factories.user(role=Role.COUNTY_MANAGER, at=world.tree.county_a))
    assert 'id="care-reminders"' not in county.get("/", **ZH).content.decode()


def test_the_map_has_a_phone_table_and_nothing_wider_than_a_phone(world: World, login: Any) -> None:
    client = login(world.manager)
    page = client.get(reverse("enterprise:persons-account", args=[world.account.pk]), **ZH)
    text = page.content.decode()
    assert f'id="person-table-{world.account.pk}"' in text
    assert f'id="person-graph-{world.account.pk}-data"' in text
    assert "@media (max-width: 600px) { .person-graph { display:none; } }" in text
    for url in _pages(world):
        body = client.get(url, **ZH).content.decode()
        widths = [int(w) for w in re.findall(r"(?:min-)?width:\s*(\d+)px", body)]
        assert all(w <= 390 for w in widths if w != 600), (url, widths)


def test_the_account_manager_adds_a_key_person_and_an_influence_from_the_page(
    client: Any, world: World
) -> None:
    # Given the account manager on their account's key persons page
    client.force_login(world.manager)
    page = client.get(reverse("enterprise:persons-account", args=[world.account.pk]), **ZH)
    assert 'id="add-person"' in page.content.decode()
    add = reverse("enterprise:persons-account-add", args=[world.account.pk])
    form = {"name": "陈静", "mobile": "139 0000 7777", "role": PersonRole.FINANCE}

    # When they add a person, twice (a double click), then record her influence on the boss
    client.post(add, form)
    client.post(add, form)
    chen = KeyPersonRole.objects.get(account=world.account, role=PersonRole.FINANCE).person
    client.post(
        reverse("enterprise:persons-influence-add", args=[world.account.pk]),
        {"source": chen.pk, "target": world.boss.pk, "strength": 4},
    )

    # Then she holds the role once, her number cleaned, and the arrow is on the map
    assert KeyPersonRole.objects.filter(person=chen, account=world.account).count() == 1
    assert chen.mobile == "13900007777"
    assert Influence.objects.get(source=chen, target=world.boss).strength == 4


def test_nobody_adds_persons_or_influences_on_another_scopes_account(
    client: Any, world: World, tree: factories.Tree
) -> None:
    # Given a county manager of county B, and a person influencing themselves
    outsider = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_b)
    client.force_login(outsider)

    # When they post to grid A's account
    added = client.post(
        reverse("enterprise:persons-account-add", args=[world.account.pk]),
        {"name": "乙", "mobile": "13900008888", "role": PersonRole.USER},
    )
    linked = client.post(
        reverse("enterprise:persons-influence-add", args=[world.account.pk]),
        {"source": world.boss.pk, "target": world.deputy.pk, "strength": 2},
    )

    # Then both answer 404 and nothing changed
    assert added.status_code == linked.status_code == 404
    assert not KeyPersonRole.objects.filter(person__mobile="13900008888").exists()
    assert not Influence.objects.filter(source=world.boss).exists()


def test_a_person_cannot_influence_themselves(client: Any, world: World) -> None:
    client.force_login(world.manager)
    client.post(
        reverse("enterprise:persons-influence-add", args=[world.account.pk]),
        {"source": world.boss.pk, "target": world.boss.pk, "strength": 3},
    )
    assert not Influence.objects.filter(source=world.boss, target=world.boss).exists()
