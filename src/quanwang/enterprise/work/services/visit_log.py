"""Logging a visit to an account (拜访记录): purpose, the account's key persons met, outcome and
the next step, with an optional follow-up date that puts the account back in the due list.

A visit form carries its own key (a UUID made when the form was shown): a double tap, two
clicks at once or a retry of the same form log one visit. The unique constraint on (visitor,
key) settles a race the first look-up cannot see. A visit for an account outside the user's
scope is refused as not found: another scope's account looks like one that does not exist."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.core.choices import Action
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import Staff
from quanwang.enterprise.models import Account, EnterpriseVisit, KeyPerson, KeyPersonRole
from quanwang.enterprise.models.work import NOTE_MAX_LENGTH, VisitPurpose
from quanwang.enterprise.work.services.plan import visitable_accounts

#: How far back a visit may be logged: when it is made, or soon after.
BACKDATE_DAYS = 31
#: How far ahead a follow-up may be set.
FOLLOW_UP_MAX_DAYS = 366


@dataclass(frozen=True)
class VisitInput:
    visited_on: dt.date
    purpose: VisitPurpose | str
    outcome: str
    next_step: str = ""
    follow_up_on: dt.date | None = None
    persons_met: Sequence[int] = ()


@dataclass(frozen=True)
class LoggedVisit:
    visit: EnterpriseVisit
    #: False: the form had been sent before, and this is the visit it logged then.
    created: bool


def staff_of(user: Any) -> Staff | None:
    """The staff record behind a login, if it has one."""
    pk = getattr(user, "pk", None)
    return Staff.objects.filter(user_id=pk).first() if pk is not None else None


def visitor_of(user: Any) -> Staff:
    """The staff record behind a login: only staff visit accounts."""
    staff = staff_of(user)
    if staff is None:
        raise ServiceError(_("Only a staff member can log a visit: your login has no staff file."))
    return staff


def visitable_account(*, user: Any, account_pk: int) -> Account:
    """The account, if `user` may log a visit to it; NotFound otherwise."""
    account = (
        visitable_accounts(user=user, action=Action.ADD)
        .select_related("org_unit", "account_manager")
        .filter(pk=account_pk)
        .first()
    )
    if account is None:
        raise NotFound()
    return account


def persons_of(*, user: Any, account: Account) -> list[tuple[KeyPerson, str]]:
    """The account's key persons the user may read, each with their role(s) there: the only
    people a visit to it can name as met."""
    roles = (
        KeyPersonRole.objects.restrict(user)
        .filter(account=account)
        .select_related("person")
        .order_by("role", "person_id")
    )
    found: dict[int, tuple[KeyPerson, list[str]]] = {}
    for role in roles:
        found.setdefault(role.person_id, (role.person, []))[1].append(str(role.get_role_display()))
    return [(person, " / ".join(labels)) for person, labels in found.values()]


def _check(*, account: Account, data: VisitInput, today: dt.date, person_ids: set[int]) -> None:
    if data.purpose not in VisitPurpose.values:
        raise ServiceError(_("Choose the purpose of the visit."), field="purpose")
    if data.visited_on > today:
        raise ServiceError(_("A visit cannot be logged for a day to come."), field="visited_on")
    if data.visited_on < today - dt.timedelta(days=BACKDATE_DAYS):
        raise ServiceError(
            _("A visit can be logged up to %(days)s days after it was made.")
            % {"days": BACKDATE_DAYS},
            field="visited_on",
        )
    if not data.outcome.strip():
        raise ServiceError(_("Say what came of the visit."), field="outcome")
    for field in ("outcome", "next_step"):
        if len(getattr(data, field)) > NOTE_MAX_LENGTH:
            raise ServiceError(
                _("Too long: at most %(n)s characters.") % {"n": NOTE_MAX_LENGTH}, field=field
            )
    if data.follow_up_on is not None:
        if data.follow_up_on <= data.visited_on:
            raise ServiceError(
                _("A follow-up comes after the visit it was set in."), field="follow_up_on"
            )
        if data.follow_up_on > today + dt.timedelta(days=FOLLOW_UP_MAX_DAYS):
            raise ServiceError(_("The follow-up date is too far ahead."), field="follow_up_on")
        if not data.next_step.strip():
            raise ServiceError(
                _("Say what the follow-up is for: write the next step."), field="next_step"
            )
    unknown = set(data.persons_met) - person_ids
    if unknown:
        raise ServiceError(
            _("Only key persons of this account can be named as met."), field="persons_met"
        )


def log_visit(
    *,
    user: Any,
    account_pk: int,
    data: VisitInput,
    idempotency_key: uuid.UUID,
    now: dt.datetime | None = None,
) -> LoggedVisit:
    """Log `user`'s visit to the account. The same form sent again returns the visit it logged
    the first time."""
    moment = now or timezone.now()
    account = visitable_account(user=user, account_pk=account_pk)
    visitor = visitor_of(user)
    earlier = _logged_before(visitor=visitor, account=account, key=idempotency_key)
    if earlier is not None:
        return LoggedVisit(earlier, created=False)
    person_ids = {person.pk for person, _role in persons_of(user=user, account=account)}
    _check(account=account, data=data, today=timezone.localdate(moment), person_ids=person_ids)
    try:
        with transaction.atomic():
            visit = EnterpriseVisit.objects.create(
                account=account,
                visitor=visitor,
                visited_on=data.visited_on,
                purpose=data.purpose,
                outcome=data.outcome.strip(),
                next_step=data.next_step.strip(),
                follow_up_on=data.follow_up_on,
                idempotency_key=idempotency_key,
                logged_for=account,
                created_by=user,
            )
            if data.persons_met:
                visit.persons_met.set(sorted(set(data.persons_met)))
    except IntegrityError:
        # The same form, sent at the same moment, won the race: that is the visit.
        earlier = _logged_before(visitor=visitor, account=account, key=idempotency_key)
        if earlier is None:
            raise
        return LoggedVisit(earlier, created=False)
    return LoggedVisit(visit, created=True)


def _logged_before(*, visitor: Staff, account: Account, key: uuid.UUID) -> EnterpriseVisit | None:
    earlier = EnterpriseVisit.objects.filter(visitor=visitor, idempotency_key=key).first()
    if earlier is not None and earlier.logged_for_id not in (account.pk, None):
        # A form is for one account: its key sent for another is a forged or mixed-up form.
        raise ServiceError(_("This form was already used for another account: open a new one."))
    return earlier
