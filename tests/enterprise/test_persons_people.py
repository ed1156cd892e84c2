"""Key persons on several accounts with their own roles, the same role twice refused, rating
history with the newest in force, a merge moving everything to the survivor, and the demo."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone, translation

from quanwang.core.choices import Role
from quanwang.core.errors import NotFound, ServiceError
from quanwang.enterprise.choices import PersonRole
from quanwang.enterprise.models.persons import (
    Attitude,
    CareMoment,
    Influence,
    KeyPerson,
    KeyPersonRole,
    PersonRating,
)
from quanwang.enterprise.persons.merging import on_merge
from quanwang.enterprise.persons.services.people import (
    PersonInput,
    RatingInput,
    add_person,
    add_role,
    current_ratings,
    rate,
)
from tests import factories
from tests.enterprise import factories as ent
from tests.enterprise import persons_factories as pf


@pytest.fixture(autouse=True)
def english() -> Any:
    with translation.override("en"):
        yield


def _manager(tree: factories.Tree) -> tuple[Any, Any, Any]:
    staff = factories.staff(at=tree.grid_a)
    user = factories.user(role=Role.ACCOUNT_MANAGER, at=tree.grid_a)
    staff.user = user
    staff.save()
    first, second = ent.account(at=tree.grid_a), ent.account(at=tree.grid_a)
    ent.on_team(account=first, staff=staff)
    ent.on_team(account=second, staff=staff)
    return user, first, second


def test_one_person_holds_roles_on_several_accounts(tree: factories.Tree) -> None:
    user, first, second = _manager(tree)
    given = PersonInput(name="王建国", mobile="13900000001", role=PersonRole.DECISION_MAKER)
    placed = add_person(user=user, account_pk=first.pk, given=given)
    # The same number and name on another account links the same person with its own role
    again = add_person(
        user=user,
        account_pk=second.pk,
        given=PersonInput(name="王建国", mobile="139-0000-0001", role=PersonRole.FINANCE),
    )
    assert again.person.pk == placed.person.pk
    assert not again.new_person
    # A second role on the first account is fine; the same role twice is refused
    add_role(user=user, person_pk=placed.person.pk, account_pk=first.pk, role=PersonRole.IT)
    with pytest.raises(ServiceError) as refused:
        add_role(
            user=user,
            person_pk=placed.person.pk,
            account_pk=first.pk,
            role=PersonRole.DECISION_MAKER,
        )
    assert refused.value.field == "role"
    assert KeyPerson.objects.count() == 1
    assert KeyPersonRole.objects.count() == 3
    # The same number under another name is refused
    with pytest.raises(ServiceError) as other:
        add_person(
            user=user,
            account_pk=first.pk,
            given=PersonInput(name="王建军", mobile="13900000001", role=PersonRole.USER),
        )
    assert other.value.field == "mobile"


def test_another_scopes_account_is_not_found(tree: factories.Tree) -> None:
    user, _first, _second = _manager(tree)
    elsewhere = ent.account(at=tree.grid_b)
    with pytest.raises(NotFound):
        add_person(
            user=user,
            account_pk=elsewhere.pk,
            given=PersonInput(name="甲", mobile="13900000001", role=PersonRole.USER),
        )
    assert not KeyPerson.objects.exists()


def test_rating_history_keeps_every_rating_and_the_newest_is_in_force(
    tree: factories.Tree,
) -> None:
    user, first, _second = _manager(tree)
    person = pf.person()
    pf.role(account=first, person=person)
    old = RatingInput(influence=2, attitude=Attitude.OPPOSE, relationship=1)
    rate(
        user=user,
        person_pk=person.pk,
        account_pk=first.pk,
        given=RatingInput(**(old.__dict__ | {"rated_on": dt.date(2024, 1, 1)})),
    )
    rate(
        user=user,
        person_pk=person.pk,
        account_pk=first.pk,
        given=RatingInput(
            influence=4, attitude=Attitude.SUPPORT, relationship=4, rated_on=dt.date(2024, 6, 1)
        ),
    )
    assert PersonRating.objects.count() == 2
    assert current_ratings(account=first)[person.pk].attitude == Attitude.SUPPORT
    with pytest.raises(ServiceError) as refused:
        rate(
            user=user,
            person_pk=person.pk,
            account_pk=first.pk,
            given=RatingInput(influence=6, attitude=Attitude.SUPPORT, relationship=3),
        )
    assert refused.value.field == "influence"


def test_a_merge_moves_the_persons_rows_keeping_history(tree: factories.Tree) -> None:
    # Given two accounts with a shared person in the same role, ratings, an edge and a moment
    _user, survivor, merged = _manager(tree)
    shared, other = pf.person(), pf.person()
    pf.role(account=survivor, person=shared)
    pf.role(account=merged, person=shared)
    pf.role(account=merged, person=other, role=PersonRole.IT)
    pf.rating(account=merged, person=shared, on=dt.date(2024, 1, 1))
    pf.rating(account=survivor, person=shared, on=dt.date(2024, 2, 1))
    Influence.objects.create(account=merged, source=other, target=shared)
    pf.moment(person=other, on=dt.date(2024, 3, 1), account=merged)
    # When merged, twice (a retry)
    moved = on_merge(survivor=survivor, merged=merged)
    on_merge(survivor=survivor, merged=merged)
    # Then everything points at the survivor, the duplicate role once, history whole
    assert moved["key_person_roles"] == 1
    assert moved["key_person_roles_already_there"] == 1
    assert not KeyPersonRole.objects.filter(account=merged).exists()
    assert KeyPersonRole.objects.filter(account=survivor).count() == 2
    assert PersonRating.objects.filter(account=survivor).count() == 2
    assert Influence.objects.get().account_id == survivor.pk
    assert CareMoment.objects.get().account_id == survivor.pk


def test_the_demo_gives_the_account_manager_a_working_week(tree: factories.Tree) -> None:
    from quanwang.enterprise.persons.demo import build_demo
    from quanwang.enterprise.persons.services.care import due_care

    staff = factories.staff(at=tree.grid_a)
    user = factories.user(role=Role.ACCOUNT_MANAGER, at=tree.grid_a, username="account_manager")
    staff.user = user
    staff.save()
    for _ in range(2):
        ent.on_team(account=ent.account(at=tree.grid_a), staff=staff)
    said: list[str] = []
    build_demo(say=said.append)
    build_demo(say=said.append)  # twice: the same world
    today = timezone.localdate()
    week = today - dt.timedelta(days=today.weekday())
    due = list(due_care(user=user, start=week, end=week + dt.timedelta(days=6)))
    assert len(due) >= 2
    assert KeyPerson.objects.count() == 10
    assert CareMoment.objects.filter(status="done", actions__isnull=False).exists()
    assert Influence.objects.count() == 8
