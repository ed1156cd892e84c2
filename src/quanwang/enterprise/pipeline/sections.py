"""What the pipeline adds to the account 360 page and the enterprise dashboard
(enterprise.sections): the account's opportunities, its orders (open first, oldest first,
with their age) and the campaign tasks that reached its members; the dashboard's pipeline by
stage and what was won this month. Each read is restricted to the user and indexed, so the
section costs a few milliseconds whatever the number of accounts."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Max
from django.utils import timezone

from quanwang.core.choices import Action, Resource
from quanwang.core.querysets import has_grant
from quanwang.enterprise.models import Account, AccountMember, EnterpriseOrder
from quanwang.enterprise.pipeline.services import visible_opportunities
from quanwang.enterprise.pipeline.services.board import board

OPPORTUNITIES_SHOWN = 10
OPEN_ORDERS_SHOWN = 10
CLOSED_ORDERS_SHOWN = 5
CAMPAIGNS_SHOWN = 10


def _orders(*, user: Any, account: Account) -> tuple[list[Any], list[Any]]:
    keys = EnterpriseOrder.objects.restrict(user, Action.VIEW).filter(account=account)
    rows = EnterpriseOrder.objects.filter(pk__in=keys.values("pk"))
    open_rows = list(
        rows.filter(is_open=True).order_by("created_date", "order_id")[:OPEN_ORDERS_SHOWN]
    )
    closed = list(
        rows.filter(is_open=False).order_by("-closed_date", "-created_date")[:CLOSED_ORDERS_SHOWN]
    )
    return open_rows, closed


def _campaign_tasks(*, user: Any, account: Account) -> list[dict[str, Any]]:
    """Per campaign, the tasks the account team's managers held for this account's members
    (campaigns split by account manager put enterprise members on their lists), by outcome.
    Narrowed through the team's managers first: TaskOutcome is indexed by manager, not by
    subscriber."""
    if not has_grant(user, resource=Resource.CAMPAIGN_TASK, action=Action.VIEW):
        return []
    from quanwang.campaigns.models import TaskOutcome

    team = account.team_members.values("staff_id")
    members = AccountMember.objects.filter(account=account).values("subscriber_id")
    rows = (
        TaskOutcome.objects.restrict(user, Action.VIEW)
        .filter(account_manager_id__in=team, subscriber_id__in=members)
        .values("campaign_id", "campaign__name", "outcome")
        .annotate(n=Count("pk"), last=Max("recorded_at"))
    )
    by_campaign: dict[int, dict[str, Any]] = {}
    for row in rows:
        entry = by_campaign.setdefault(
            row["campaign_id"],
            {"name": row["campaign__name"], "outcomes": {}, "total": 0, "last": row["last"]},
        )
        entry["outcomes"][row["outcome"]] = row["n"]
        entry["total"] += row["n"]
        entry["last"] = max(entry["last"], row["last"])
    from quanwang.campaigns.choices import ContactOutcome

    ordered = sorted(by_campaign.values(), key=lambda e: e["last"], reverse=True)[:CAMPAIGNS_SHOWN]
    for entry in ordered:
        entry["outcomes"] = [
            (str(ContactOutcome(code).label) if code in ContactOutcome.values else code, n)
            for code, n in sorted(entry["outcomes"].items())
        ]
    return ordered


def account_section(*, account: Account, user: Any, **_context: Any) -> dict[str, Any] | None:
    if not has_grant(user, resource=Resource.OPPORTUNITY, action=Action.VIEW):
        return None
    today = timezone.localdate()
    opportunities = list(
        visible_opportunities(user=user)
        .filter(account=account)
        .select_related("owner")
        .order_by("status", "expected_close", "pk")[:OPPORTUNITIES_SHOWN]
    )
    open_orders, closed_orders = _orders(user=user, account=account)
    return {
        "account": account,
        "opportunities": opportunities,
        "open_orders": [(o, o.age_days(today=today)) for o in open_orders],
        "closed_orders": closed_orders,
        "campaigns": _campaign_tasks(user=user, account=account),
        "can_add": has_grant(user, resource=Resource.OPPORTUNITY, action=Action.ADD),
    }


def dashboard_section(*, user: Any, **_context: Any) -> dict[str, Any] | None:
    if not has_grant(user, resource=Resource.OPPORTUNITY, action=Action.VIEW):
        return None
    return {"board": board(user=user, today=timezone.localdate(), cards=0)}
