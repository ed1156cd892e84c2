"""The care calendar (关怀日历): moments to show care to key persons, what was done for them.

Birthdays and festivals recur: each CareMoment row is one year's occurrence, and reading the
calendar for a span makes the occurrences of the years it covers from each series' newest
row (once: a partial unique constraint settles a race). A moment needs a date: a birthday
without the person's birthday, or a festival the table has no date for, is refused.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.core.choices import Action
from quanwang.core.errors import NotFound, ServiceError
from quanwang.enterprise.models import Account
from quanwang.enterprise.models.persons import (
    RECURRING_KINDS,
    CareAction,
    CareKind,
    CareMoment,
    CareStatus,
    Festival,
    KeyPerson,
)
from quanwang.enterprise.persons.festivals import birthday_in, festival_date

#: The longest span one calendar read may cover (a year, and a little to cross a new year).
MAX_SPAN_DAYS = 400


def due_care(*, user: Any, start: dt.date, end: dt.date) -> QuerySet[CareMoment]:
    """The care moments still due between `start` and `end` (both included) on the persons
    `user` reaches, oldest first; this years' occurrences of recurring moments are made first."""
    if end < start:
        start, end = end, start
    ensure_occurrences(user=user, years=range(start.year, end.year + 1))
    return (
        CareMoment.objects.restrict(user, Action.VIEW)
        .filter(date__gte=start, date__lte=end, status=CareStatus.DUE)
        .select_related("person", "account")
        .order_by("date", "pk")
    )


def moments_between(*, user: Any, start: dt.date, end: dt.date) -> QuerySet[CareMoment]:
    """Every moment (due, done, skipped) between two dates: the calendar page."""
    if end < start:
        start, end = end, start
    if (end - start).days > MAX_SPAN_DAYS:
        raise ServiceError(_("Choose a span of at most a year."), field="end")
    ensure_occurrences(user=user, years=range(start.year, end.year + 1))
    return (
        CareMoment.objects.restrict(user, Action.VIEW)
        .filter(date__gte=start, date__lte=end)
        .select_related("person", "account")
        .prefetch_related("actions")
        .order_by("date", "pk")
    )


def _occurrence_date(*, kind: str, festival: str, person: KeyPerson, year: int) -> dt.date | None:
    if kind == CareKind.BIRTHDAY:
        return birthday_in(person.birthday, year) if person.birthday else None
    if kind == CareKind.FESTIVAL and festival:
        return festival_date(festival, year)
    return None


def ensure_occurrences(*, user: Any | None, years: range) -> int:
    """Make the missing occurrences, in `years`, of the recurring series `user` reaches (all
    of them when `user` is None: the nightly step). Only years after a series' newest row are
    made, so a series never reaches back before it began. Returns how many were made."""
    base = CareMoment.objects.all() if user is None else CareMoment.objects.restrict(user)
    series = (
        base.filter(recurring=True)
        .values("person_id", "kind", "festival")
        .annotate(last=Max("date"))
    )
    wanted: list[tuple[int, str, str, int]] = []
    for row in series:
        key = (row["person_id"], row["kind"], row["festival"])
        for year in years:
            # Never before the series' newest row: a series starts where it was first made.
            if year > row["last"].year:
                wanted.append((*key, year))
    if not wanted:
        return 0
    persons = KeyPerson.objects.in_bulk({w[0] for w in wanted})
    last_rows = {
        (m.person_id, m.kind, m.festival): m
        for m in CareMoment.objects.filter(recurring=True, person_id__in=persons.keys()).order_by(
            "date", "pk"
        )
    }
    made: list[CareMoment] = []
    for person_id, kind, festival, year in wanted:
        person = persons[person_id]
        date = _occurrence_date(kind=kind, festival=festival, person=person, year=year)
        if date is None:
            continue
        template = last_rows[(person_id, kind, festival)]
        made.append(
            CareMoment(
                person=person,
                account_id=template.account_id,
                kind=kind,
                festival=festival,
                date=date,
                recurring=True,
                note=template.note,
            )
        )
    # A second reader making the same occurrences at once hits the partial unique constraint.
    CareMoment.objects.bulk_create(made, ignore_conflicts=True)
    return len(made)


@dataclass(frozen=True)
class MomentInput:
    kind: CareKind
    date: dt.date | None = None
    festival: Festival | None = None
    account_id: int | None = None
    note: str = ""


def changeable_person(*, user: Any, person_pk: int) -> KeyPerson:
    person = KeyPerson.objects.restrict(user, Action.CHANGE).filter(pk=person_pk).first()
    if person is None:
        raise NotFound()
    return person


def _moment_date(*, person: KeyPerson, given: MomentInput, today: dt.date) -> dt.date:
    if given.kind == CareKind.BIRTHDAY:
        if person.birthday is None:
            raise ServiceError(
                _("This person has no birthday on file: add it before a birthday moment."),
                field="kind",
            )
        date = birthday_in(person.birthday, today.year)
        # Already past this year: the next one is the one to prepare for.
        return date if date >= today else birthday_in(person.birthday, today.year + 1)
    if given.kind == CareKind.FESTIVAL:
        if not given.festival:
            raise ServiceError(_("Choose the festival."), field="festival")
        for year in (today.year, today.year + 1):
            on = festival_date(given.festival, year)
            if on is not None and on >= today:
                return on
        raise ServiceError(
            _("The calendar has no date for this festival this year: enter the date."),
            field="festival",
        )
    if given.date is None:
        raise ServiceError(_("Enter the date of the moment."), field="date")
    return given.date


def add_moment(
    *,
    user: Any,
    person_pk: int,
    given: MomentInput,
    idempotency_key: uuid.UUID | None = None,
    today: dt.date | None = None,
) -> CareMoment:
    """Record a care moment for a person the user may change. Birthdays and festivals take
    their date from the person or the festival table and recur every year."""
    today = today or timezone.localdate()
    person = changeable_person(user=user, person_pk=person_pk)
    if idempotency_key is not None:
        earlier = CareMoment.objects.filter(
            created_by=user, idempotency_key=idempotency_key
        ).first()
        if earlier is not None:
            return earlier
    account = None
    if given.account_id is not None:
        account = (
            Account.objects.restrict(user, Action.VIEW)
            .filter(pk=given.account_id, key_person_roles__person=person)
            .first()
        )
        if account is None:
            raise ServiceError(_("The person holds no role on that account."), field="account")
    date = _moment_date(person=person, given=given, today=today)
    recurring = given.kind in RECURRING_KINDS
    festival = (given.festival or "") if given.kind == CareKind.FESTIVAL else ""
    if recurring:
        existing = CareMoment.objects.filter(
            person=person, kind=given.kind, festival=festival, date=date, recurring=True
        ).first()
        if existing is not None:
            return existing
    try:
        with transaction.atomic():
            return CareMoment.objects.create(
                person=person,
                account=account,
                kind=given.kind,
                festival=festival,
                date=date,
                recurring=recurring,
                note=given.note,
                created_by=user,
                idempotency_key=idempotency_key,
            )
    except IntegrityError:
        # Two clicks at once: the other one recorded it.
        found = CareMoment.objects.filter(
            person=person, kind=given.kind, festival=festival, date=date
        ).first()
        if found is None and idempotency_key is not None:
            found = CareMoment.objects.filter(
                created_by=user, idempotency_key=idempotency_key
            ).first()
        if found is None:
            raise
        return found


@dataclass(frozen=True)
class ActionInput:
    what: str
    done_on: dt.date
    cost_fen: int | None = None


@transaction.atomic
def record_action(
    *,
    user: Any,
    moment_pk: int,
    given: ActionInput,
    idempotency_key: uuid.UUID,
    today: dt.date | None = None,
) -> CareAction:
    """Record what was done for a moment and mark it done. The form's key makes a retry or a
    double tap record one action."""
    today = today or timezone.localdate()
    moment_ids = CareMoment.objects.restrict(user, Action.CHANGE).filter(pk=moment_pk)
    moment = CareMoment.objects.select_for_update().filter(pk__in=moment_ids.values("pk")).first()
    if moment is None:
        raise NotFound()
    earlier = CareAction.objects.filter(done_by=user, idempotency_key=idempotency_key).first()
    if earlier is not None:
        return earlier
    what = given.what.strip()
    if not what:
        raise ServiceError(_("Say what was done."), field="what")
    if given.done_on > today:
        raise ServiceError(_("The date cannot be in the future."), field="done_on")
    if given.cost_fen is not None and given.cost_fen < 0:
        raise ServiceError(_("The cost cannot be negative."), field="cost")
    action = CareAction.objects.create(
        moment=moment,
        what=what[:200],
        done_by=user,
        done_on=given.done_on,
        cost_fen=given.cost_fen,
        idempotency_key=idempotency_key,
    )
    if moment.status != CareStatus.DONE:
        moment.status = CareStatus.DONE
        moment.save(update_fields=["status"])
    return action


@transaction.atomic
def skip_moment(*, user: Any, moment_pk: int) -> CareMoment:
    """Mark a due moment skipped (no action this time); skipping twice changes nothing."""
    moment_ids = CareMoment.objects.restrict(user, Action.CHANGE).filter(pk=moment_pk)
    moment = CareMoment.objects.select_for_update().filter(pk__in=moment_ids.values("pk")).first()
    if moment is None:
        raise NotFound()
    if moment.status == CareStatus.DUE:
        moment.status = CareStatus.SKIPPED
        moment.save(update_fields=["status"])
    return moment
