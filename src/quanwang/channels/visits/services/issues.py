"""Issues partners have with us (合作方问题): raised by our staff in a visit (visit_log) or by
the partner from its own page (here), followed open → in progress → resolved with who, when
and how, and aged: days open, age buckets, the oldest first."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from quanwang.channels.models import PartnerIssue
from quanwang.channels.visits.choices import (
    ISSUE_MOVES,
    IssueCategory,
    IssueSource,
    IssueStatus,
)
from quanwang.channels.visits.services.scope import stores_for, visible
from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound, ServiceError

UNRESOLVED = (IssueStatus.OPEN, IssueStatus.IN_PROGRESS)


@dataclass(frozen=True)
class AgeBucket:
    #: The oldest age (days) in the bucket; None: no limit.
    up_to: int | None
    label: str | Promise


AGE_BUCKETS = (
    AgeBucket(7, gettext_lazy("Up to a week")),
    AgeBucket(30, gettext_lazy("8 to 30 days")),
    AgeBucket(90, gettext_lazy("31 to 90 days")),
    AgeBucket(None, gettext_lazy("Over 90 days")),
)


def days_open(issue: PartnerIssue, *, today: dt.date) -> int:
    """Whole days from the day it was raised to the day it was resolved, or to `today`."""
    end = timezone.localdate(issue.resolved_at) if issue.resolved_at else today
    return max(0, (end - timezone.localdate(issue.raised_at)).days)


def bucket_of(days: int) -> AgeBucket:
    for bucket in AGE_BUCKETS:
        if bucket.up_to is None or days <= bucket.up_to:
            return bucket
    raise AssertionError("the last bucket has no limit")


@dataclass(frozen=True)
class AgedIssue:
    issue: PartnerIssue
    days_open: int
    bucket: AgeBucket


@dataclass(frozen=True)
class BucketCount:
    bucket: AgeBucket
    issues: int


@dataclass(frozen=True)
class Aging:
    """The unresolved issues, the oldest first, and how many are of each age."""

    rows: list[AgedIssue]
    buckets: list[BucketCount]


def issues_in_reach(
    *,
    user: Any,
    statuses: tuple[IssueStatus, ...] = UNRESOLVED,
    category: IssueCategory | None = None,
) -> QuerySet[PartnerIssue]:
    found = visible(PartnerIssue, user=user).filter(status__in=statuses)
    if category is not None:
        found = found.filter(category=category)
    return found.select_related("store", "store__org_unit", "raised_by").order_by("raised_at", "pk")


def aging(*, user: Any, today: dt.date, category: IssueCategory | None = None) -> Aging:
    """The unresolved issues `user` may read, aged on `today`, the oldest first."""
    rows = []
    counts: dict[AgeBucket, int] = dict.fromkeys(AGE_BUCKETS, 0)
    for issue in issues_in_reach(user=user, category=category):
        days = days_open(issue, today=today)
        bucket = bucket_of(days)
        counts[bucket] += 1
        rows.append(AgedIssue(issue=issue, days_open=days, bucket=bucket))
    # Oldest first by the day raised; issues of one day by when they were raised.
    return Aging(rows=rows, buckets=[BucketCount(b, n) for b, n in counts.items()])


def raise_issue(
    *,
    user: Any,
    store_pk: int,
    category: IssueCategory,
    description: str,
    idempotency_key: uuid.UUID,
    now: dt.datetime | None = None,
) -> PartnerIssue:
    """A partner (or anyone who may add issues for the store) raises an issue. The same
    form sent again returns the issue it raised the first time."""
    store = (
        stores_for(user=user, resource=Resource.PARTNER_ISSUE, action=Action.ADD)
        .filter(pk=store_pk)
        .first()
    )
    if store is None:
        raise NotFound()
    earlier = _raised_before(user=user, store_pk=store.pk, key=idempotency_key)
    if earlier is not None:
        return earlier
    if category not in IssueCategory.values:
        raise ServiceError(_("Choose what the issue is about."), field="category")
    description = description.strip()
    if not description:
        raise ServiceError(_("Describe the issue."), field="description")
    partner = store.partners.filter(pk=user.pk).exists()
    try:
        with transaction.atomic():
            return PartnerIssue.objects.create(
                store=store,
                category=category,
                description=description,
                source=IssueSource.PARTNER if partner else IssueSource.STAFF,
                raised_by=user,
                raised_at=now or timezone.now(),
                idempotency_key=idempotency_key,
            )
    except IntegrityError:
        earlier = _raised_before(user=user, store_pk=store.pk, key=idempotency_key)
        if earlier is None:
            raise
        return earlier


def _raised_before(*, user: Any, store_pk: int, key: uuid.UUID) -> PartnerIssue | None:
    earlier = PartnerIssue.objects.filter(raised_by=user, idempotency_key=key).first()
    if earlier is not None and earlier.store_id != store_pk:
        raise ServiceError(_("This form was already used for another store: open a new one."))
    return earlier


def move_issue(
    *,
    user: Any,
    issue_pk: int,
    to: IssueStatus,
    resolution: str = "",
    now: dt.datetime | None = None,
) -> PartnerIssue:
    """Take an issue up (in progress) or resolve it, saying how. Each step is recorded with
    who and when; a resolved issue stays resolved."""
    issue = visible(PartnerIssue, user=user, action=Action.CHANGE).filter(pk=issue_pk).first()
    if issue is None:
        raise NotFound()
    current = IssueStatus(issue.status)
    if to not in ISSUE_MOVES[current]:
        raise ServiceError(
            _("An issue that is %(now)s cannot become %(to)s.")
            % {"now": current.label, "to": IssueStatus(to).label if to in IssueStatus else to},
            field="to",
        )
    resolution = resolution.strip()
    if to == IssueStatus.RESOLVED and not resolution:
        raise ServiceError(_("Say how the issue was resolved."), field="resolution")
    moment = now or timezone.now()
    changes: dict[str, Any] = {"status": to}
    if to == IssueStatus.IN_PROGRESS:
        changes |= {"started_by": user, "started_at": moment}
    else:
        changes |= {"resolved_by": user, "resolved_at": moment, "resolution": resolution}
    with transaction.atomic():
        # Moved from the state it was read in, or not at all: a concurrent move wins once.
        moved = PartnerIssue.objects.filter(pk=issue.pk, status=current).update(**changes)
    issue.refresh_from_db()
    if not moved:
        raise ServiceError(
            _("Someone changed this issue meanwhile: it is now %(now)s.")
            % {"now": issue.get_status_display()}
        )
    return issue
