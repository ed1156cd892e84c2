"""The account hierarchy (集团 → 分支/下属单位): walking it and moving an account in it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.utils.translation import gettext as _

from quanwang.core.errors import ServiceError
from quanwang.enterprise.models import Account

# A hierarchy deeper than this is a data error, not an organisation; it bounds every walk.
MAX_DEPTH = 64


def descendants(account: Account) -> list[Account]:
    """Every account below `account` (children, their children, ...), breadth first, by
    enterprise ID within a level; merged accounts are left out. One indexed query a level."""
    found: list[Account] = []
    seen = {account.pk}
    level = [account.pk]
    for _depth in range(MAX_DEPTH):
        children = list(
            Account.objects.filter(parent_id__in=level)
            .exclude(merged_into__isnull=False)
            .order_by("enterprise_id")
        )
        children = [c for c in children if c.pk not in seen]
        if not children:
            break
        seen.update(c.pk for c in children)
        found.extend(children)
        level = [c.pk for c in children]
    return found


def ancestors(account: Account) -> list[Account]:
    """The accounts above `account`, nearest first."""
    found: list[Account] = []
    seen = {account.pk}
    parent_id = account.parent_id
    while parent_id is not None and parent_id not in seen and len(found) < MAX_DEPTH:
        parent = Account.objects.filter(pk=parent_id).first()
        if parent is None:
            break
        found.append(parent)
        seen.add(parent.pk)
        parent_id = parent.parent_id
    return found


def find_cycle(parents: Mapping[str, str | None]) -> list[str] | None:
    """The enterprise IDs of a cycle in `parents` (child → parent), in walk order, or None."""
    done: set[str] = set()
    for start in sorted(parents):
        path: list[str] = []
        on_path: dict[str, int] = {}
        node: str | None = start
        while node is not None and node not in done:
            if node in on_path:
                return path[on_path[node] :]
            on_path[node] = len(path)
            path.append(node)
            node = parents.get(node)
        done.update(path)
    return None


def cycle_error(cycle: Iterable[str]) -> ServiceError:
    ids = list(cycle)
    chain = " → ".join([*ids, ids[0]]) if ids else ""
    return ServiceError(
        _("The account hierarchy has a cycle: %(chain)s. Nothing was changed.") % {"chain": chain},
        field="parent_enterprise_id",
    )
