"""The care calendar: recurring birthdays and festivals make each year's occurrence once, a
29 February birthday falls on 28 February in a common year, a moment needs a date, what was
done is recorded once per form, and due_care is narrowed to the user's accounts."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from quanwang.core.choices import Role
from quanwang.core.errors import NotFound, ServiceError
from quanwang.enterprise.choices import PersonRole
from quanwang.enterprise.models.persons import (
    CareAction,
    CareKind,
    CareMoment,
    CareStatus,
    Festival,
)
from quanwang.enterprise.persons.festivals import birthday_in, festival_date
from quanwang.enterprise.persons.services.care import (
    ActionInput,
    MomentInput,
    add_moment,
    due_care,
    ensure_occurrences,
    record_action,
)
from tests import factories
from tests.enterprise import factories as ent
from tests.enterprise import persons_factories as pf


@pytest.fixture(autouse=True)
def english() -> Any:
    with translation.override("en"):
        yield


def _manager_with_person(tree: factories.Tree, **person: Any) -> tuple[Any, Any, Any]:
    staff = factories.staff(at=tree.grid_a)
    user = factories.user(role=Role.ACCOUNT_MANAGER, at=tree.grid_a)
    staff.user = user
    staff.save()
    account = ent.account(at=tree.grid_a)
    ent.on_team(account=account, staff=staff)
    someone = pf.person(**person)
    pf.role(account=account, person=someone)
    return user, account, someone


@given(year=st.integers(min_value=1901, max_value=2199))
def test_a_29_february_birthday_falls_in_every_year(year: int) -> None:
    # Given a birthday on 29 February, when placed in any year
    on = birthday_in(dt.date(1988, 2, 29), year)
    # Then it is 29 Feb in a leap year and 28 Feb otherwise, never another month
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    assert on == dt.date(year, 2, 29 if leap else 28)


def test_festival_dates_keep_known_days() -> None:
    assert festival_date(Festival.SPRING, 2024) == dt.date(2024, 2, 10)
    assert festival_date(Festival.SPRING, 2025) == dt.date(2025, 1, 29)
    assert festival_date(Festival.MID_AUTUMN, 2025) == dt.date(2025, 10, 6)
    assert festival_date(Festival.DRAGON_BOAT, 2026) == dt.date(2026, 6, 19)
    assert festival_date(Festival.NATIONAL, 2040) == dt.date(2040, 10, 1)
    # Outside the table, a lunar festival has no date rather than a wrong one
    assert festival_date(Festival.SPRING, 2040) is None


@settings(deadline=None, max_examples=20)
@given(year=st.sampled_from(range(2023, 2036)))
def test_lunar_festivals_follow_each_other(year: int) -> None:
    spring = festival_date(Festival.SPRING, year)
    lantern = festival_date(Festival.LANTERN, year)
    assert spring is not None
    assert lantern is not None
    # 元宵 is the 15th day of the first month: 14 days after 春节, always
    assert (lantern - spring).days == 14
    assert dt.date(year, 1, 20) <= spring <= dt.date(year, 2, 21)


def test_a_leap_day_birthday_recurs_on_28_february(tree: factories.Tree) -> None:
    # Given a person born on 29 Feb with a birthday moment in 2024 (a leap year)
    user, _account, someone = _manager_with_person(tree, birthday=dt.date(1980, 2, 29))
    add_moment(
        user=user,
        person_pk=someone.pk,
        given=MomentInput(kind=CareKind.BIRTHDAY),
        today=dt.date(2024, 1, 5),
    )
    # When the calendar of February 2025 is read
    due = list(due_care(user=user, start=dt.date(2025, 2, 1), end=dt.date(2025, 2, 28)))
    # Then the 2025 birthday is on 28 Feb, made once however often it is read
    assert [(m.kind, m.date) for m in due] == [(CareKind.BIRTHDAY, dt.date(2025, 2, 28))]
    due_care(user=user, start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31))
    assert CareMoment.objects.filter(person=someone, kind=CareKind.BIRTHDAY).count() == 2


def test_festivals_recur_from_the_table(tree: factories.Tree) -> None:
    # Given a Spring Festival moment added in early 2024
    user, _account, someone = _manager_with_person(tree)
    first = add_moment(
        user=user,
        person_pk=someone.pk,
        given=MomentInput(kind=CareKind.FESTIVAL, festival=Festival.SPRING),
        today=dt.date(2024, 1, 2),
    )
    assert first.date == dt.date(2024, 2, 10)
    assert first.recurring
    # When 2026's calendar is read (2025 never was)
    due = list(due_care(user=user, start=dt.date(2026, 2, 1), end=dt.date(2026, 2, 28)))
    # Then 2026's 春节 is there, on its lunar date
    assert [m.date for m in due] == [dt.date(2026, 2, 17)]
    # And nothing is made before the series began
    assert ensure_occurrences(user=None, years=range(2020, 2024)) == 0


def test_a_birthday_moment_without_a_birthday_is_refused(tree: factories.Tree) -> None:
    user, _account, someone = _manager_with_person(tree)
    with pytest.raises(ServiceError) as refused:
        add_moment(user=user, person_pk=someone.pk, given=MomentInput(kind=CareKind.BIRTHDAY))
    assert refused.value.field == "kind"
    assert "no birthday" in refused.value.message
    assert not CareMoment.objects.exists()


def test_a_one_off_moment_needs_its_date(tree: factories.Tree) -> None:
    user, _account, someone = _manager_with_person(tree)
    with pytest.raises(ServiceError) as refused:
        add_moment(user=user, person_pk=someone.pk, given=MomentInput(kind=CareKind.ILLNESS))
    assert refused.value.field == "date"


def test_the_same_form_twice_adds_one_moment(tree: factories.Tree) -> None:
    user, _account, someone = _manager_with_person(tree)
    key = uuid.uuid4()
    given = MomentInput(kind=CareKind.PROMOTION, date=dt.date(2024, 3, 1), note="升任副总")
    first = add_moment(user=user, person_pk=someone.pk, given=given, idempotency_key=key)
    again = add_moment(user=user, person_pk=someone.pk, given=given, idempotency_key=key)
    assert first.pk == again.pk
    assert CareMoment.objects.count() == 1


def test_recording_an_action_marks_the_moment_done_once(tree: factories.Tree) -> None:
    # Given a due moment
    user, _account, someone = _manager_with_person(tree)
    moment = pf.moment(person=someone, on=dt.date(2024, 3, 1))
    key = uuid.uuid4()
    given = ActionInput(what="送花篮", done_on=dt.date(2024, 3, 1), cost_fen=30000)
    # When the action form is sent twice (a retry)
    first = record_action(user=user, moment_pk=moment.pk, given=given, idempotency_key=key)
    again = record_action(user=user, moment_pk=moment.pk, given=given, idempotency_key=key)
    # Then one action is recorded and the moment is done
    assert first.pk == again.pk
    assert CareAction.objects.count() == 1
    moment.refresh_from_db()
    assert moment.status == CareStatus.DONE


def test_due_care_is_narrowed_to_the_users_accounts(tree: factories.Tree) -> None:
    # Given a manager's person and another account's person, both with a moment this week
    user, account, mine = _manager_with_person(tree)
    other_account = ent.account(at=tree.grid_b)
    theirs = pf.person()
    pf.role(account=other_account, person=theirs, role=PersonRole.FINANCE)
    day = dt.date(2024, 5, 8)
    pf.moment(person=mine, on=day, account=account)
    pf.moment(person=theirs, on=day, account=other_account)
    # When each reads the week
    week = (dt.date(2024, 5, 6), dt.date(2024, 5, 12))
    county_a = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    outsider = factories.user(role=Role.ACCOUNT_MANAGER, at=tree.grid_a)
    # Then the manager sees only theirs, the county only its unit's, an outsider nothing
    assert [m.person_id for m in due_care(user=user, start=week[0], end=week[1])] == [mine.pk]
    assert [m.person_id for m in due_care(user=county_a, start=week[0], end=week[1])] == [mine.pk]
    assert list(due_care(user=outsider, start=week[0], end=week[1])) == []
    # And a person on two of the manager's accounts is listed once
    second = ent.account(at=tree.grid_a)
    ent.on_team(account=second, staff=account.account_manager)
    pf.role(account=second, person=mine, role=PersonRole.IT)
    assert len(due_care(user=user, start=week[0], end=week[1])) == 1


def test_another_scope_cannot_record_an_action(tree: factories.Tree) -> None:
    _user, _account, someone = _manager_with_person(tree)
    moment = pf.moment(person=someone, on=dt.date(2024, 3, 1))
    outsider = factories.user(role=Role.ACCOUNT_MANAGER, at=tree.grid_b)
    with pytest.raises(NotFound):
        record_action(
            user=outsider,
            moment_pk=moment.pk,
            given=ActionInput(what="x", done_on=dt.date(2024, 3, 1)),
            idempotency_key=uuid.uuid4(),
        )
    assert not CareAction.objects.exists()
