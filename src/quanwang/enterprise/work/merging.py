"""The work part's step in a merge of two accounts (enterprise.accounts.merging): the merged
account's visits move to the survivor, each keeping the account it was logged for
(EnterpriseVisit.logged_for), so the survivor's visit plan counts them and the history stays."""

from __future__ import annotations

from quanwang.enterprise.accounts.merging import on_merge
from quanwang.enterprise.models import Account, EnterpriseVisit


@on_merge("work")
def move_visits(*, survivor: Account, merged: Account) -> dict[str, int]:
    """Re-point the merged account's visits; idempotent (a second run finds none to move)."""
    visits = EnterpriseVisit.objects.filter(account=merged)
    # A visit logged before `logged_for` existed keeps the account it was on.
    visits.filter(logged_for__isnull=True).update(logged_for=merged)
    moved = visits.update(account=survivor)
    return {"visits": moved}
