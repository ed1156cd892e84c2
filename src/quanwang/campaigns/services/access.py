"""Which campaigns a user may see or act on."""

from __future__ import annotations

from typing import Any

from quanwang.campaigns.models import Campaign
from quanwang.core.choices import Action
from quanwang.core.errors import NotFound


def visible(user: Any, action: Action = Action.VIEW) -> Any:
    """The campaigns `user` may act on; all of them for the system (no user: commands, jobs)."""
    if user is None:
        return Campaign.objects.all()
    return Campaign.objects.restrict(user, action)


def get_campaign(*, user: Any, pk: int, action: Action = Action.VIEW) -> Campaign:
    campaign = visible(user, action).filter(pk=pk).first()
    if campaign is None:
        raise NotFound()
    return campaign
