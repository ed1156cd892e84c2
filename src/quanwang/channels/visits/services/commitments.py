"""Commitments made in visits, by our side or the partner, tracked to closure: open → kept,
broken or dropped, with who closed it and when. Closing is final; a commitment still open
after its day is overdue."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.channels.models import Commitment
from quanwang.channels.visits.choices import CLOSED_COMMITMENT, CommitmentSide, CommitmentStatus
from quanwang.channels.visits.services.scope import person, visible
from quanwang.core.choices import Action
from quanwang.core.errors import NotFound, ServiceError


def is_overdue(commitment: Commitment, *, today: dt.date) -> bool:
    return commitment.status == CommitmentStatus.OPEN and commitment.due_on < today


def open_commitments(
    *, user: Any, today: dt.date, side: CommitmentSide | None = None
) -> QuerySet[Commitment]:
    """The open commitments `user` may read, the earliest due (so the overdue) first."""
    found = visible(Commitment, user=user).filter(status=CommitmentStatus.OPEN)
    if side is not None:
        found = found.filter(side=side)
    return found.select_related("store", "visit").order_by("due_on", "pk")


@dataclass(frozen=True)
class CommitmentCounts:
    open: int
    overdue: int
    kept: int
    broken: int
    dropped: int


def commitment_counts(*, user: Any, today: dt.date) -> CommitmentCounts:
    found = visible(Commitment, user=user)
    by_status = dict.fromkeys(CommitmentStatus, 0)
    for status in found.values_list("status", flat=True):
        by_status[CommitmentStatus(status)] += 1
    return CommitmentCounts(
        open=by_status[CommitmentStatus.OPEN],
        overdue=found.filter(status=CommitmentStatus.OPEN, due_on__lt=today).count(),
        kept=by_status[CommitmentStatus.KEPT],
        broken=by_status[CommitmentStatus.BROKEN],
        dropped=by_status[CommitmentStatus.DROPPED],
    )


def close_commitment(
    *,
    user: Any,
    commitment_pk: int,
    outcome: CommitmentStatus,
    note: str = "",
    now: dt.datetime | None = None,
) -> Commitment:
    """Close an open commitment as kept, broken or dropped. A commitment already closed stays
    as it was closed: two people closing it at once, or one twice, close it once."""
    commitment = visible(Commitment, user=user, action=Action.CHANGE).filter(pk=commitment_pk)
    found = commitment.first()
    if found is None:
        raise NotFound()
    if outcome not in CLOSED_COMMITMENT:
        raise ServiceError(_("Choose how the commitment ended."), field="outcome")
    note = note.strip()
    if outcome == CommitmentStatus.DROPPED and not note:
        raise ServiceError(_("Say why the commitment was dropped."), field="note")
    moment = now or timezone.now()
    with transaction.atomic():
        # Only an open commitment is closed: the condition is the lock.
        closed = Commitment.objects.filter(pk=found.pk, status=CommitmentStatus.OPEN).update(
            status=outcome, closed_by=user, closed_at=moment, closing_note=note
        )
    found.refresh_from_db()
    if not closed:
        raise ServiceError(
            _("This commitment was already closed (%(status)s) by %(who)s on %(when)s.")
            % {
                "status": found.get_status_display(),
                "who": person(found.closed_by),
                "when": timezone.localtime(found.closed_at).strftime("%Y-%m-%d %H:%M")
                if found.closed_at
                else "",
            }
        )
    return found
