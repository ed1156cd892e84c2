"""Logging a visit (拜访记录) on the four-point checklist, with the commitments made in it and
an issue the partner raised, in one transaction.

A visit form carries its own key (a UUID made when the form was shown): a double tap, two
clicks at once or a retry of the same form log one visit. The database's unique constraint on
(visitor, key) settles a race the first look-up cannot see."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.channels.models import Commitment, PartnerIssue, Store, StoreVisit
from quanwang.channels.visits.choices import CommitmentSide, IssueCategory, IssueSource
from quanwang.channels.visits.services.scope import stores_for
from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound, ServiceError

#: How far back a visit may be logged: a visit is logged when it is made, or soon after.
BACKDATE_DAYS = 31


@dataclass(frozen=True)
class VisitNotes:
    """The four points: 询近况, 问新情, 表支持, 问承诺."""

    how_are_things: str
    new_plans: str
    our_support: str
    their_commitment: str


@dataclass(frozen=True)
class CommitmentInput:
    side: CommitmentSide
    what: str
    due_on: dt.date


@dataclass(frozen=True)
class IssueInput:
    category: IssueCategory
    description: str


@dataclass(frozen=True)
class LoggedVisit:
    visit: StoreVisit
    #: False: the form had been sent before, and this is the visit it logged then.
    created: bool


def visitable_store(*, user: Any, store_pk: int) -> Store:
    """The store, if `user` may log a visit to it; NotFound otherwise (another scope's store
    looks the same as one that does not exist)."""
    store = (
        stores_for(user=user, resource=Resource.STORE_VISIT, action=Action.ADD)
        .select_related("org_unit")
        .filter(pk=store_pk)
        .first()
    )
    if store is None:
        raise NotFound()
    return store


def _check(
    *,
    store: Store,
    visited_on: dt.date,
    notes: VisitNotes,
    commitments: Sequence[CommitmentInput],
    today: dt.date,
) -> None:
    if not store.active:
        raise ServiceError(_("This store is no longer active: it cannot be visited."))
    if visited_on > today:
        raise ServiceError(_("A visit cannot be logged for a day to come."), field="visited_on")
    if visited_on < today - dt.timedelta(days=BACKDATE_DAYS):
        raise ServiceError(
            _("A visit can be logged up to %(days)s days after it was made.")
            % {"days": BACKDATE_DAYS},
            field="visited_on",
        )
    for field, text in vars(notes).items():
        if not text.strip():
            raise ServiceError(_("Write a note on each of the four points."), field=field)
    for commitment in commitments:
        if not commitment.what.strip():
            raise ServiceError(_("Say what was promised."), field="commitments")
        if commitment.due_on < visited_on:
            raise ServiceError(
                _("A commitment cannot be due before the visit it was made in."),
                field="commitments",
            )


def log_visit(
    *,
    user: Any,
    store_pk: int,
    visited_on: dt.date,
    notes: VisitNotes,
    idempotency_key: uuid.UUID,
    commitments: Sequence[CommitmentInput] = (),
    issue: IssueInput | None = None,
    now: dt.datetime | None = None,
) -> LoggedVisit:
    """Log `user`'s visit to the store, with the commitments made and an issue raised in it.
    The same form sent again returns the visit it logged the first time."""
    moment = now or timezone.now()
    store = visitable_store(user=user, store_pk=store_pk)
    earlier = _logged_before(user=user, store=store, key=idempotency_key)
    if earlier is not None:
        return LoggedVisit(earlier, created=False)
    _check(
        store=store,
        visited_on=visited_on,
        notes=notes,
        commitments=commitments,
        today=timezone.localdate(moment),
    )
    if issue is not None:
        if not stores_for(user=user, resource=Resource.PARTNER_ISSUE, action=Action.ADD).filter(
            pk=store.pk
        ):
            raise ServiceError(_("You may not raise issues for this store."), field="issue")
        if not issue.description.strip():
            raise ServiceError(_("Describe the issue."), field="issue_description")
    try:
        with transaction.atomic():
            visit = StoreVisit.objects.create(
                store=store,
                visitor=user,
                visited_on=visited_on,
                idempotency_key=idempotency_key,
                **{k: v.strip() for k, v in vars(notes).items()},
            )
            Commitment.objects.bulk_create(
                Commitment(
                    visit=visit, store=store, side=c.side, what=c.what.strip(), due_on=c.due_on
                )
                for c in commitments
            )
            if issue is not None:
                PartnerIssue.objects.create(
                    store=store,
                    visit=visit,
                    category=issue.category,
                    description=issue.description.strip(),
                    source=IssueSource.STAFF,
                    raised_by=user,
                    raised_at=moment,
                )
    except IntegrityError:
        # The same form, sent at the same moment, won the race: that is the visit.
        earlier = _logged_before(user=user, store=store, key=idempotency_key)
        if earlier is None:
            raise
        return LoggedVisit(earlier, created=False)
    return LoggedVisit(visit, created=True)


def _logged_before(*, user: Any, store: Store, key: uuid.UUID) -> StoreVisit | None:
    earlier = StoreVisit.objects.filter(visitor=user, idempotency_key=key).first()
    if earlier is not None and earlier.store_id != store.pk:
        # A form is for one store: its key sent for another is a forged or mixed-up form.
        raise ServiceError(_("This form was already used for another store: open a new one."))
    return earlier
