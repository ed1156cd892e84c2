"""Key persons and their roles on accounts, ratings (history kept, newest in force) and who
influences whom. Every read and write goes through the user's scope on Resource.KEY_PERSON; an
account reached through it (its unit, or its team for account managers) is where a user may
add and rate persons."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.enterprise.accounts.services.read import reachable_accounts
from quanwang.enterprise.choices import PersonRole
from quanwang.enterprise.models import Account
from quanwang.enterprise.models.persons import (
    Attitude,
    CareKind,
    CareMoment,
    Influence,
    KeyPerson,
    KeyPersonRole,
    PersonRating,
)
from quanwang.enterprise.persons.festivals import birthday_in


def person_accounts(*, user: Any, action: Action = Action.VIEW) -> QuerySet[Account]:
    """The accounts on which `user` may `action` key persons (KEY_PERSON's grant, read on the
    account: its unit, or its team for account managers)."""
    return reachable_accounts(user, resource=Resource.KEY_PERSON, action=action)


def person_account(*, user: Any, account_pk: int, action: Action = Action.VIEW) -> Account:
    account = person_accounts(user=user, action=action).filter(pk=account_pk).first()
    if account is None:
        raise NotFound()
    return account


def visible_persons(*, user: Any, action: Action = Action.VIEW) -> QuerySet[KeyPerson]:
    return KeyPerson.objects.restrict(user, action)


def find_person(*, user: Any, person_pk: int, action: Action = Action.VIEW) -> KeyPerson:
    person = visible_persons(user=user, action=action).filter(pk=person_pk).first()
    if person is None:
        raise NotFound()
    return person


@dataclass(frozen=True)
class PersonInput:
    name: str
    mobile: str
    role: PersonRole
    title: str = ""
    gender: str = ""
    birthday: dt.date | None = None
    since: dt.date | None = None


@dataclass(frozen=True)
class Placed:
    person: KeyPerson
    role: KeyPersonRole
    #: False: the mobile was already on file under the same name and this linked it.
    new_person: bool


def clean_mobile(value: str) -> str:
    return "".join(ch for ch in (value or "") if ch.isdigit() or ch == "+")


def check_person(given: PersonInput) -> None:
    if not given.name.strip():
        raise ServiceError(_("Enter the name."), field="name")
    mobile = clean_mobile(given.mobile)
    if not (8 <= len(mobile) <= 16):
        raise ServiceError(_("Enter a valid mobile number."), field="mobile")
    if given.role not in PersonRole.values:
        raise ServiceError(_("Choose a valid role."), field="role")


def place_person(*, account: Account, given: PersonInput) -> Placed:
    """Put a person on an account with a role (inside the caller's transaction): the mobile
    number decides who the person is. A number on file under another name is refused, and so
    is the same role twice on one account."""
    check_person(given)
    mobile = clean_mobile(given.mobile)
    name = given.name.strip()
    person = KeyPerson.objects.select_for_update().filter(mobile=mobile).first()
    new_person = person is None
    if person is None:
        person = KeyPerson.objects.create(
            name=name,
            mobile=mobile,
            gender=given.gender,
            birthday=given.birthday,
        )
    elif person.name != name:
        raise ServiceError(_("This mobile number is on file for another person."), field="mobile")
    elif given.birthday and person.birthday is None:
        person.birthday = given.birthday
        person.save(update_fields=["birthday", "updated_at"])
    if KeyPersonRole.objects.filter(account=account, person=person, role=given.role).exists():
        raise ServiceError(_("This person already holds that role on the account."), field="role")
    role = KeyPersonRole.objects.create(
        account=account, person=person, role=given.role, title=given.title, since=given.since
    )
    if person.birthday is not None:
        ensure_birthday_moment(person=person, today=timezone.localdate())
    return Placed(person=person, role=role, new_person=new_person)


def ensure_birthday_moment(*, person: KeyPerson, today: dt.date) -> None:
    """Start the person's birthday series (the next birthday); later years follow by
    care.ensure_occurrences."""
    if person.birthday is None:
        return
    if CareMoment.objects.filter(person=person, kind=CareKind.BIRTHDAY, recurring=True).exists():
        return
    date = birthday_in(person.birthday, today.year)
    if date < today:
        date = birthday_in(person.birthday, today.year + 1)
    CareMoment.objects.bulk_create(
        [CareMoment(person=person, kind=CareKind.BIRTHDAY, date=date, recurring=True)],
        ignore_conflicts=True,
    )


def add_person(*, user: Any, account_pk: int, given: PersonInput) -> Placed:
    """Add a key person to an account the user may add persons on."""
    account = person_account(user=user, account_pk=account_pk, action=Action.ADD)
    try:
        with transaction.atomic():
            return place_person(account=account, given=given)
    except IntegrityError as exc:
        # Two clicks at once: the other one created the person or the role.
        raise ServiceError(
            _("This person already holds that role on the account."), field="role"
        ) from exc


def add_role(
    *,
    user: Any,
    person_pk: int,
    account_pk: int,
    role: PersonRole,
    title: str = "",
    since: dt.date | None = None,
) -> KeyPersonRole:
    """Give a person the user reaches a role on another account the user may add on."""
    person = find_person(user=user, person_pk=person_pk)
    account = person_account(user=user, account_pk=account_pk, action=Action.ADD)
    if role not in PersonRole.values:
        raise ServiceError(_("Choose a valid role."), field="role")
    try:
        with transaction.atomic():
            return KeyPersonRole.objects.create(
                account=account, person=person, role=role, title=title, since=since
            )
    except IntegrityError as exc:
        raise ServiceError(
            _("This person already holds that role on the account."), field="role"
        ) from exc


@dataclass(frozen=True)
class RatingInput:
    influence: int
    attitude: Attitude
    relationship: int
    rated_on: dt.date | None = None


def rate(*, user: Any, person_pk: int, account_pk: int, given: RatingInput) -> PersonRating:
    """Add a rating; the earlier ones stay as history and the newest is in force."""
    account = person_account(user=user, account_pk=account_pk, action=Action.CHANGE)
    person = find_person(user=user, person_pk=person_pk, action=Action.CHANGE)
    if not KeyPersonRole.objects.filter(account=account, person=person).exists():
        raise ServiceError(_("The person holds no role on that account."), field="account")
    for field, value in (("influence", given.influence), ("relationship", given.relationship)):
        if not 1 <= int(value) <= 5:
            raise ServiceError(_("Enter a score from 1 to 5."), field=field)
    if given.attitude not in Attitude.values:
        raise ServiceError(_("Choose a valid attitude."), field="attitude")
    today = timezone.localdate()
    rated_on = given.rated_on or today
    if rated_on > today:
        raise ServiceError(_("The date cannot be in the future."), field="rated_on")
    return PersonRating.objects.create(
        person=person,
        account=account,
        influence=given.influence,
        attitude=given.attitude,
        relationship=given.relationship,
        rated_on=rated_on,
        rated_by=user if getattr(user, "pk", None) else None,
    )


def current_ratings(*, account: Account) -> dict[int, PersonRating]:
    """The rating in force per person at the account (the newest by date, then entry)."""
    newest: dict[int, PersonRating] = {}
    for rating in PersonRating.objects.filter(account=account).order_by("rated_on", "pk"):
        newest[rating.person_id] = rating
    return newest


def add_influence(
    *, user: Any, account_pk: int, source_pk: int, target_pk: int, strength: int = 3
) -> Influence:
    """Record (or restate) that one person influences another at an account."""
    account = person_account(user=user, account_pk=account_pk, action=Action.CHANGE)
    if source_pk == target_pk:
        raise ServiceError(_("A person cannot influence themselves."), field="target")
    if not 1 <= strength <= 5:
        raise ServiceError(_("Enter a score from 1 to 5."), field="strength")
    on_account = set(
        KeyPersonRole.objects.filter(
            account=account, person_id__in=[source_pk, target_pk]
        ).values_list("person_id", flat=True)
    )
    if on_account != {source_pk, target_pk}:
        raise ServiceError(_("Both persons must hold a role on the account."), field="source")
    influence, _created = Influence.objects.update_or_create(
        account=account,
        source_id=source_pk,
        target_id=target_pk,
        defaults={"strength": strength},
    )
    return influence


def roles_at(*, account: Account) -> QuerySet[KeyPersonRole]:
    return KeyPersonRole.objects.filter(account=account).select_related("person")
