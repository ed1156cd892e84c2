"""Opt-out reviews (退订复核): SMS replies that may be an opt-out, decided by a marketer.

`responses.receive_sms` holds a reply that is not clearly an opt-out nor clearly something else
(`退款`, `不要`, `我不想退订`) as a pending ReplyReview in the customer's unit. A marketer of that
unit (Resource.OPT_OUT_REVIEW, CHANGE) decides once: "opt out" records the SMS opt-out as of
the reply's time, as if the keyword had been clear; "not an opt-out" closes it. Either way the
decision and who made it stay on the record.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.campaigns.choices import Channel, ReviewState
from quanwang.campaigns.models import ReplyReview
from quanwang.campaigns.responses import record_opt_out
from quanwang.core.choices import Action
from quanwang.core.errors import NotFound, ServiceError

DECISIONS = frozenset({ReviewState.OPTED_OUT, ReviewState.DISMISSED})


def reply_reviews(*, user: Any, pending: bool = True) -> QuerySet[ReplyReview]:
    """The reviews the user may see: waiting ones oldest first (an opt-out should not wait),
    or decided ones newest first."""
    visible = ReplyReview.objects.restrict(user, Action.VIEW).select_related(
        "campaign", "org_unit", "decided_by"
    )
    if pending:
        return visible.filter(state=ReviewState.PENDING).order_by("received_at", "pk")
    return visible.exclude(state=ReviewState.PENDING).order_by("-decided_at", "-pk")


def decide_review(*, actor: Any, pk: int, decision: ReviewState | str) -> ReplyReview:
    """Decide a pending review in the actor's scope; NotFound outside it."""
    if decision not in DECISIONS:
        raise ServiceError(_("Choose opt out or not an opt-out."), field="decision")
    with transaction.atomic():
        review = (
            ReplyReview.objects.restrict(actor, Action.CHANGE)
            .select_for_update()
            .filter(pk=pk)
            .first()
        )
        if review is None:
            raise NotFound()
        if review.state != ReviewState.PENDING:
            raise ServiceError(
                _("This reply was decided already: %(state)s.")
                % {"state": ReviewState(review.state).label}
            )
        if decision == ReviewState.OPTED_OUT:
            # Written before the row commits, not after: if the commit fails, the customer
            # stays opted out (the safe side) and deciding again adds nothing, the opt-out file
            # keeping one row per subscriber and channel.
            record_opt_out(
                subscriber_id=review.subscriber_id, channel=Channel.SMS, at=review.received_at
            )
        review.state = ReviewState(decision)
        review.decided_by = actor
        review.decided_at = timezone.now()
        review.save(update_fields=["state", "decided_by", "decided_at"])
    return review
