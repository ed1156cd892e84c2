"""Factories for the persons part's records (key persons, roles, ratings, care moments)."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from quanwang.enterprise.choices import PersonRole
from quanwang.enterprise.models import Account
from quanwang.enterprise.models.persons import (
    Attitude,
    CareKind,
    CareMoment,
    KeyPerson,
    KeyPersonRole,
    PersonRating,
)

_sequence = itertools.count(1)


def person(*, name: str | None = None, mobile: str | None = None, **extra: Any) -> KeyPerson:
    number = next(_sequence)
    return KeyPerson.objects.create(
        name=name or f"关键人{number}", mobile=mobile or f"139{number:08d}", **extra
    )


def role(
    *,
    account: Account,
    person: KeyPerson,
    role: PersonRole | str = PersonRole.DECISION_MAKER,
    title: str = "总经理",
) -> KeyPersonRole:
    return KeyPersonRole.objects.create(account=account, person=person, role=role, title=title)


def rating(
    *,
    account: Account,
    person: KeyPerson,
    on: dt.date,
    influence: int = 3,
    attitude: Attitude | str = Attitude.NEUTRAL,
    relationship: int = 3,
) -> PersonRating:
    return PersonRating.objects.create(
        account=account,
        person=person,
        rated_on=on,
        influence=influence,
        attitude=attitude,
        relationship=relationship,
    )


def moment(
    *,
    person: KeyPerson,
    on: dt.date,
    kind: CareKind | str = CareKind.PROMOTION,
    account: Account | None = None,
    **extra: Any,
) -> CareMoment:
    return CareMoment.objects.create(person=person, kind=kind, date=on, account=account, **extra)
