"""Services of the enterprise pipeline part. The cross-part answer lives here:
`open_opportunities(user=...)` (the accounts part's merge rule, the work part's portfolio).

- `stages`: the stage rules, default probabilities and moves;
- `opportunities`: create and change an opportunity;
- `board`: the pipeline board per manager and per unit;
- `catalogue`: the industry product catalogue and its campaign offers;
- `orders`: service requests and orders synced from the warehouse;
- `merging`: re-pointing this part's rows when two accounts merge.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from quanwang.core.choices import Action
from quanwang.enterprise.models import Opportunity
from quanwang.enterprise.pipeline.choices import OpportunityStatus


def visible_opportunities(*, user: Any, action: Action = Action.VIEW) -> QuerySet[Opportunity]:
    """The opportunities `user` may `action`, each once: the owner lookup goes through the
    account team (a to-many join), so the restricted query is taken as a subquery of keys
    instead of being used directly (sums over it would count a row per team member)."""
    keys = Opportunity.objects.restrict(user, action).values("pk")
    return Opportunity.objects.filter(pk__in=keys)


def open_opportunities(*, user: Any) -> QuerySet[Opportunity]:
    """The open opportunities (not won, not lost) `user` may view, soonest close first."""
    return (
        visible_opportunities(user=user)
        .filter(status=OpportunityStatus.OPEN)
        .select_related("account", "owner")
        .order_by("expected_close", "pk")
    )
