"""A user's to-dos (待办): campaigns waiting for their approval and SMS replies waiting for their
opt-out decision (`reviews`). The home page lists them; the navigation shows their count."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from quanwang.campaigns.choices import CampaignState, ReviewState
from quanwang.campaigns.models import Campaign, ReplyReview
from quanwang.campaigns.services import visible
from quanwang.core.choices import Action, Resource
from quanwang.core.querysets import has_grant


@dataclass(frozen=True)
class Todos:
    approvals: int
    opt_out_reviews: int

    @property
    def total(self) -> int:
        return self.approvals + self.opt_out_reviews


def approvals_waiting(*, user: Any) -> QuerySet[Campaign]:
    """Submitted campaigns `user` may approve or reject: within their APPROVE reach and not
    their own (nobody approves their own campaign), oldest first."""
    if not has_grant(user, resource=Resource.CAMPAIGN, action=Action.APPROVE):
        return Campaign.objects.none()
    return (
        visible(user, Action.APPROVE)
        .filter(state=CampaignState.SUBMITTED)
        .exclude(created_by_id=user.pk)
        .order_by("updated_at", "pk")
    )


def reviews_waiting(*, user: Any) -> QuerySet[ReplyReview]:
    """Pending opt-out reviews `user` may decide."""
    if not has_grant(user, resource=Resource.OPT_OUT_REVIEW, action=Action.CHANGE):
        return ReplyReview.objects.none()
    return ReplyReview.objects.restrict(user, Action.CHANGE).filter(state=ReviewState.PENDING)


def todos(*, user: Any) -> Todos:
    """How many things wait for `user`: no query for those who may neither approve nor
    decide."""
    if not getattr(user, "is_authenticated", False):
        return Todos(approvals=0, opt_out_reviews=0)
    return Todos(
        approvals=approvals_waiting(user=user).count(),
        opt_out_reviews=reviews_waiting(user=user).count(),
    )
