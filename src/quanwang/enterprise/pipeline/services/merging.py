"""The pipeline's part in a merge of account B (merged) into account A (survivor), through
enterprise.accounts.merging.

- Refusal: both accounts have open opportunities. Two open pipelines on one account would
  double-count the board and mix owners; the managers close or move one side's first.
  The fact is checked over all opportunities, not only those the merging user may view: a
  user who cannot see one side's pipeline must not merge it away unseen.
- Re-pointing: the merged account's opportunities (open, won and lost) and its orders move to
  the survivor. Their stage history moves with them (it hangs off the opportunity). Running it
  again moves nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from quanwang.enterprise.models import EnterpriseOrder, Opportunity
from quanwang.enterprise.pipeline.choices import OpportunityStatus

if TYPE_CHECKING:
    from quanwang.enterprise.models import Account


def open_count(account: Account) -> int:
    return Opportunity.objects.filter(account=account, status=OpportunityStatus.OPEN).count()


def refuse_merge(*, survivor: Account, merged: Account, user: Any) -> str | None:
    """The reason to refuse the merge, or None."""
    kept, folded = open_count(survivor), open_count(merged)
    if kept and folded:
        return _(
            "Both accounts have open opportunities (%(kept)d on %(survivor)s, %(folded)d on "
            "%(merged)s): close or move one side's first."
        ) % {
            "kept": kept,
            "survivor": survivor.name,
            "folded": folded,
            "merged": merged.name,
        }
    return None


def repoint(*, survivor: Account, merged: Account) -> dict[str, int]:
    """Move the merged account's opportunities and orders to the survivor."""
    moved = Opportunity.objects.filter(account=merged).update(account=survivor)
    orders = EnterpriseOrder.objects.filter(account=merged).update(account=survivor)
    return {"opportunities": moved, "orders": orders}
