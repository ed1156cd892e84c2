"""The demo operator's key persons (enterprise app): on the demo account manager's accounts,
persons with roles (one on two accounts), ratings with history, influence edges and care
moments, several due this week whatever day the demo is built, some done with actions."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.enterprise.choices import PersonRole
from quanwang.enterprise.models import Account
from quanwang.enterprise.models.persons import (
    Attitude,
    CareAction,
    CareKind,
    CareMoment,
    CareStatus,
    Festival,
    Influence,
    KeyPerson,
    KeyPersonRole,
    PersonRating,
)
from quanwang.enterprise.persons.festivals import birthday_in, festival_date
from quanwang.enterprise.persons.services.people import ensure_birthday_moment

DEMO_USER = "account_manager"
# (surname+name, role, title, influence, attitude, relationship) per account, in order.
_CAST = [
    ("王建国", PersonRole.DECISION_MAKER, "总经理", 5, Attitude.SUPPORT, 4),
    ("李秀英", PersonRole.FINANCE, "财务总监", 4, Attitude.NEUTRAL, 3),
    ("张伟", PersonRole.IT, "信息部主任", 3, Attitude.SUPPORT, 5),
    ("刘洋", PersonRole.INFLUENCER, "副总经理", 4, Attitude.OPPOSE, 2),
    ("陈静", PersonRole.USER, "行政主管", 2, Attitude.NEUTRAL, 3),
]


def build_demo(*, say: Callable[[str], Any]) -> None:
    user = get_user_model().objects.filter(username=DEMO_USER).first()
    accounts = list(
        Account.objects.filter(team_members__staff__user=user).distinct().order_by("pk")[:4]
        if user
        else []
    )
    if not accounts:
        say(_("Key persons: no account of the demo account manager; nothing added."))
        return
    today = timezone.localdate()
    with transaction.atomic():
        persons = _cast(accounts, today)
        _care(user, persons, accounts, today)
    say(
        _("Key persons: %(persons)d persons on %(accounts)d accounts, with care moments.")
        % {"persons": len(persons), "accounts": len(accounts)}
    )


def _cast(accounts: list[Account], today: dt.date) -> list[KeyPerson]:
    persons: list[KeyPerson] = []
    for a_index, account in enumerate(accounts):
        on_account: list[KeyPerson] = []
        for p_index, (name, role, title, influence, attitude, relationship) in enumerate(_CAST):
            # Birthdays spread over the year; the first account's boss has theirs today and its
            # IT head in three days, so the week always has some.
            shift = {0: 0, 2: 3}.get(p_index) if a_index == 0 else None
            spread = today + dt.timedelta(days=shift if shift is not None else 29 * p_index + 50)
            born = birthday_in(spread, spread.year - 40 - p_index)
            person, _created = KeyPerson.objects.get_or_create(
                mobile=f"1390{a_index:02d}{p_index:05d}",
                defaults={"name": name if a_index == 0 else f"{name[0]}{name[1:]}{a_index}",
                          "birthday": born, "title": title},
            )  # fmt: skip
            KeyPersonRole.objects.get_or_create(
                account=account, person=person, role=role, defaults={"title": title}
            )
            # History: an older rating a quarter ago, and the one in force.
            for rated_on, shift in ((today - dt.timedelta(days=90), -1), (today, 0)):
                PersonRating.objects.get_or_create(
                    account=account,
                    person=person,
                    rated_on=rated_on,
                    defaults={
                        "influence": influence,
                        "attitude": attitude if shift == 0 else Attitude.NEUTRAL,
                        "relationship": max(1, relationship + shift),
                    },
                )
            ensure_birthday_moment(person=person, today=today)
            on_account.append(person)
        # The decision maker is swayed by the deputy and the IT head; finance by the boss.
        for source, target, strength in ((3, 0, 4), (2, 0, 3), (0, 1, 5), (4, 2, 2)):
            Influence.objects.get_or_create(
                account=account,
                source=on_account[source],
                target=on_account[target],
                defaults={"strength": strength},
            )
        persons.extend(on_account)
    if len(accounts) > 1:
        # The first account's boss also sits on the second account's board.
        KeyPersonRole.objects.get_or_create(
            account=accounts[1],
            person=persons[0],
            role=PersonRole.INFLUENCER,
            defaults={"title": "董事"},
        )
    return persons


def _care(user: Any, persons: list[KeyPerson], accounts: list[Account], today: dt.date) -> None:
    week_start = today - dt.timedelta(days=today.weekday())
    one_offs = [
        (persons[0], CareKind.PROMOTION, today, "升任集团副总裁"),
        (persons[1], CareKind.ILLNESS, week_start + dt.timedelta(days=min(6, today.weekday() + 2)),
         "住院手术"),
        (persons[2], CareKind.SETBACK, today - dt.timedelta(days=9), "项目未中标"),
        (persons[3], CareKind.OTHER, today - dt.timedelta(days=20), "乔迁新居"),
    ]  # fmt: skip
    for person, kind, on, note in one_offs:
        CareMoment.objects.get_or_create(
            person=person,
            kind=kind,
            date=on,
            defaults={"account": accounts[0], "note": note, "created_by": user},
        )
    # Festivals every year for the decision makers.
    for person in persons[:: len(_CAST)]:
        for festival in (Festival.SPRING, Festival.MID_AUTUMN, Festival.NATIONAL):
            day = festival_date(festival, today.year)
            if day is not None:
                CareMoment.objects.get_or_create(
                    person=person,
                    kind=CareKind.FESTIVAL,
                    festival=festival,
                    date=day,
                    recurring=True,
                )
    # The older ones were looked after.
    for moment in CareMoment.objects.filter(
        person__in=persons, date__lt=today - dt.timedelta(days=5), status=CareStatus.DUE
    )[:4]:
        CareAction.objects.get_or_create(
            moment=moment,
            defaults={
                "what": "电话慰问并送上果篮",
                "done_by": user,
                "done_on": moment.date,
                "cost_fen": 20000,
                "idempotency_key": uuid.uuid4(),
            },
        )
        moment.status = CareStatus.DONE
        moment.save(update_fields=["status"])
