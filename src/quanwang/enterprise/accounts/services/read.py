"""What the account pages read: the visible accounts, the 360 page's parts and the enterprise
dashboard's figures. Only indexed lookups on the operations database and the grading part's
precomputed figures (`features_for`, a kept file): never a scan of the warehouse."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from django.db.models import Count, Q, QuerySet

from quanwang.core.choices import Action, Reach, Resource
from quanwang.core.querysets import has_grant, scope_filter
from quanwang.enterprise.accounts.choices import ChangeKind
from quanwang.enterprise.accounts.services.tree import ancestors, descendants
from quanwang.enterprise.choices import AccountStatus, Ownership, TeamRole
from quanwang.enterprise.models import (
    Account,
    AccountChange,
    AccountMember,
    AccountMerge,
    AccountProduct,
    AccountTeamMember,
)

logger = logging.getLogger(__name__)

# A contract ending within this many days is highlighted ("ends within 3 months").
ENDING_SOON_DAYS = 92
MEMBERS_SHOWN = 20
TREE_SHOWN = 200
HISTORY_SHOWN = 20


def reachable_accounts(
    user: Any, *, resource: Resource = Resource.ENTERPRISE_ACCOUNT, action: Action = Action.VIEW
) -> QuerySet[Account]:
    """The accounts on which `user` may `action` records of `resource` (the account itself,
    its key persons, visits or opportunities), each once.

    The same reach as `restrict` (core.querysets.scope_filter), written without joining the
    team: a subtree grant is a filter on the account's unit path, an own grant (an account
    manager's) the accounts whose team the user is on, a small indexed subquery. Joining the
    team would repeat accounts, and wrapping `restrict` in `pk IN (…)` makes SQLite evaluate
    it over every account (110 ms at 100,000 accounts, for a one-account page)."""
    reach = scope_filter(
        user, resource=resource, action=action, org_path_field="org_unit__path", owner_field=None
    )
    if reach is None:
        return Account.objects.all()
    if has_grant(user, resource=resource, action=action, only=Reach.OWN):
        teams = AccountTeamMember.objects.filter(staff__user_id=user.pk).values("account_id")
        reach |= Q(pk__in=teams)
    return Account.objects.filter(reach)


def visible_accounts(user: Any, action: Action = Action.VIEW) -> QuerySet[Account]:
    """The accounts `user` may `action`, once each."""
    return reachable_accounts(user, action=action).select_related("org_unit", "account_manager")


def may(user: Any, account: Account, action: Action) -> bool:
    """Whether `user` may `action` this account (an indexed lookup by its pk)."""
    if not has_grant(user, resource=Resource.ENTERPRISE_ACCOUNT, action=action):
        return False
    return Account.objects.restrict(user, action).filter(pk=account.pk).exists()


def features_for(enterprise_ids: list[str], month: str | None = None) -> dict[str, dict]:
    """The grading part's figures per account (members, revenue_fen, ...), or {} while it
    has none: the pages show nothing rather than fail (the part may not have run yet)."""
    if not enterprise_ids:
        return {}
    try:
        module = import_module("quanwang.enterprise.grading.features")
    except ModuleNotFoundError:
        return {}
    reader = getattr(module, "features_for", None)
    if reader is None:
        return {}
    try:
        found: dict[str, dict] = reader(enterprise_ids=enterprise_ids, month=month)
    except (LookupError, OSError, ValueError) as exc:
        # No kept file yet (nothing graded): an empty figure, logged, not a broken page.
        logger.info("no account features: %s", exc)
        return {}
    return found or {}


@dataclass
class TreeNode:
    account: Account
    depth: int
    members: int = 0
    revenue_fen: int | None = None
    # Rolled up over the node and everything below it.
    total_members: int = 0
    total_revenue_fen: int | None = None
    children: list[int] = field(default_factory=list)

    @property
    def revenue_yuan(self) -> float | None:
        return None if self.revenue_fen is None else self.revenue_fen / 100

    @property
    def total_revenue_yuan(self) -> float | None:
        return None if self.total_revenue_fen is None else self.total_revenue_fen / 100


@dataclass
class Tree:
    up: list[Account]
    nodes: list[TreeNode]
    total_members: int
    total_revenue_fen: int | None
    size: int

    @property
    def total_revenue_yuan(self) -> float | None:
        return None if self.total_revenue_fen is None else self.total_revenue_fen / 100


def hierarchy(account: Account) -> Tree:
    """The account's place in the hierarchy: the accounts above it, and itself with the
    accounts below it, each with its own and its subtree's members and revenue."""
    below = descendants(account)
    everyone = [account, *below]
    figures = features_for([a.enterprise_id for a in everyone])
    nodes: dict[int, TreeNode] = {}
    for item in everyone:
        row = figures.get(item.enterprise_id) or {}
        revenue = row.get("revenue_fen")
        nodes[item.pk] = TreeNode(
            account=item,
            depth=0,
            members=item.member_count,
            revenue_fen=int(revenue) if revenue is not None else None,
        )
    for item in below:
        if item.parent_id in nodes:
            nodes[item.parent_id].children.append(item.pk)
    ordered: list[TreeNode] = []

    def walk(pk: int, depth: int) -> None:
        node = nodes[pk]
        node.depth = depth
        ordered.append(node)
        for child in node.children:
            walk(child, depth + 1)

    walk(account.pk, 0)
    # Bottom-up: the walk lists parents before their children.
    for node in reversed(ordered):
        node.total_members += node.members
        if node.revenue_fen is not None:
            node.total_revenue_fen = (node.total_revenue_fen or 0) + node.revenue_fen
        above = node.account.parent_id
        parent = nodes.get(above) if above is not None and node is not ordered[0] else None
        if parent is not None:
            parent.total_members += node.total_members
            if node.total_revenue_fen is not None:
                parent.total_revenue_fen = (parent.total_revenue_fen or 0) + node.total_revenue_fen
    top = ordered[0]
    return Tree(
        up=list(reversed(ancestors(account))),
        nodes=ordered[:TREE_SHOWN],
        total_members=top.total_members,
        total_revenue_fen=top.total_revenue_fen,
        size=len(ordered),
    )


@dataclass
class ProductRow:
    product: AccountProduct
    ending_soon: bool
    ended: bool

    @property
    def fee_yuan(self) -> float:
        return self.product.monthly_fee_fen / 100


def products(account: Account, *, today: dt.date) -> list[ProductRow]:
    soon = today + dt.timedelta(days=ENDING_SOON_DAYS)
    rows = AccountProduct.objects.filter(account=account, active=True).order_by(
        "contract_end", "product_instance_id"
    )
    return [
        ProductRow(
            product=p,
            ending_soon=p.contract_end is not None and today <= p.contract_end <= soon,
            ended=p.contract_end is not None and p.contract_end < today,
        )
        for p in rows
    ]


def members(account: Account) -> list[AccountMember]:
    return list(
        AccountMember.objects.filter(account=account).order_by("subscriber_id")[:MEMBERS_SHOWN]
    )


def team(account: Account) -> list[AccountTeamMember]:
    return list(
        AccountTeamMember.objects.filter(account=account)
        .select_related("staff")
        .order_by("role", "staff__employee_no")
    )


def shown_change(kind: str, value: str) -> str:
    """A history entry's before/after as people read it: labels, not codes."""
    if not value:
        return ""
    if kind == ChangeKind.OWNERSHIP and value in Ownership.values:
        return str(Ownership(value).label)
    if kind in (ChangeKind.TEAM_ADDED, ChangeKind.TEAM_REMOVED) and "|" in value:
        who, role = value.rsplit("|", 1)
        return f"{who} · {TeamRole(role).label}" if role in TeamRole.values else who
    return value


def history(account: Account) -> list[AccountChange]:
    rows = list(
        AccountChange.objects.filter(account=account)
        .select_related("changed_by")
        .order_by("-changed_at", "-pk")[:HISTORY_SHOWN]
    )
    for row in rows:
        row.before_shown = shown_change(row.kind, row.before)
        row.after_shown = shown_change(row.kind, row.after)
    return rows


def merged_from(account: Account) -> list[AccountMerge]:
    return list(AccountMerge.objects.filter(account=account).select_related("merged"))


@dataclass
class Dashboard:
    accounts: int
    by_grade: list[tuple[str, int]]
    by_industry: list[tuple[str, int]]
    # Yuan per industry, largest first.
    revenue_by_industry: list[tuple[str, float]]
    has_revenue: bool


def dashboard(user: Any) -> Dashboard:
    """Accounts by grade and industry (indexed counts), revenue by industry (features)."""
    live = visible_accounts(user).exclude(status=AccountStatus.MERGED).filter(active=True)
    by_grade = [
        (row["grade"], row["n"])
        for row in live.order_by().values("grade").annotate(n=Count("pk")).order_by("grade")
    ]
    by_industry = [
        (row["industry"], row["n"])
        for row in live.order_by().values("industry").annotate(n=Count("pk")).order_by("-n")
    ]
    industry_of = dict(live.values_list("enterprise_id", "industry"))
    figures = features_for(list(industry_of))
    revenue: Counter[str] = Counter()
    seen: defaultdict[str, int] = defaultdict(int)
    for eid, row in figures.items():
        if eid in industry_of and row.get("revenue_fen") is not None:
            revenue[industry_of[eid]] += int(row["revenue_fen"])
            seen[industry_of[eid]] += 1
    return Dashboard(
        accounts=sum(n for _g, n in by_grade),
        by_grade=by_grade,
        by_industry=by_industry,
        revenue_by_industry=[(k, v / 100) for k, v in revenue.most_common()],
        has_revenue=bool(seen),
    )
