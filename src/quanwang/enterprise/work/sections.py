"""What the work part adds to pages other parts own (enterprise.sections): the account page
(last visits, next due, the lead's manager grade), the home page (an account manager's visits
due today and overdue) and the enterprise dashboard (visits due in reach, violations, the
managers' portfolios). Each returns its template's context, or None to add nothing."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from quanwang.core.choices import Action, Reach, Resource
from quanwang.core.querysets import has_grant
from quanwang.enterprise.models import Account, EnterpriseVisit
from quanwang.enterprise.persons.pii import masked_name
from quanwang.enterprise.work.choices import DueState
from quanwang.enterprise.work.links import account_url
from quanwang.enterprise.work.services import grades, portfolio
from quanwang.enterprise.work.services.plan import (
    annotated,
    due_counts,
    due_item,
    visitable_accounts,
    visits_due,
)
from quanwang.enterprise.work.services.rules import current_intervals

#: Visits listed on the account page, the newest first.
LAST_VISITS = 5
#: Due accounts listed on the home page and the dashboard.
LISTED = 8


def account_section(*, account: Account, user: Any) -> dict[str, Any] | None:
    """The account's last visits, when the next is due and the lead's manager grade (None:
    the user may not read the account's visits)."""
    readable = visitable_accounts(user=user).filter(pk=account.pk)
    found = annotated(readable).select_related(
        "account_manager", "account_manager__account_manager_profile"
    )
    here = found.first()
    if here is None:
        return None
    today = timezone.localdate()
    visits = (
        EnterpriseVisit.objects.restrict(user)
        .filter(account=account)
        .select_related("visitor")
        .prefetch_related("persons_met")
        .order_by("-visited_on", "-pk")[:LAST_VISITS]
    )
    return {
        "account": here,
        "next": due_item(account=here, on=today, intervals=current_intervals()),
        "visits": [
            {"v": v, "persons": [masked_name(p) for p in v.persons_met.all()]} for v in visits
        ],
        "lead": here.account_manager,
        "lead_grade": grades.grade_of(here.account_manager),
        "violation": grades.is_violation(here),
        "can_log": visitable_accounts(user=user, action=Action.ADD).filter(pk=account.pk).exists(),
    }


def home_section(*, user: Any) -> dict[str, Any] | None:
    """An account manager's visits due today and overdue (None for anyone else)."""
    if not has_grant(user, resource=Resource.ENTERPRISE_VISIT, action=Action.ADD, only=Reach.OWN):
        return None
    today = timezone.localdate()
    due = visits_due(user=user, on=today)
    overdue = sum(1 for d in due if d.state == DueState.OVERDUE)
    return {
        "today": today,
        "overdue": overdue,
        "due_today": len(due) - overdue,
        "rows": [{"d": d, "url": account_url(d.account)} for d in due[:LISTED]],
        "more": max(0, len(due) - LISTED),
    }


def dashboard_section(*, user: Any) -> dict[str, Any] | None:
    """Visits due in the user's reach, the A/B accounts led by too junior a manager, and the
    managers' portfolios (None: the user reads no visits)."""
    if not has_grant(user, resource=Resource.ENTERPRISE_VISIT, action=Action.VIEW):
        return None
    today = timezone.localdate()
    counts = due_counts(user=user, on=today)
    violating = grades.violations(user=user)
    return {
        "today": today,
        "overdue": counts[DueState.OVERDUE],
        "due_today": counts[DueState.DUE_TODAY],
        "violations": [
            {"a": a, "url": account_url(a), "lead_grade": grades.grade_of(a.account_manager)}
            for a in violating[:LISTED]
        ],
        "violation_count": violating.count(),
        "lines": portfolio.summary(user=user, limit=LISTED),
        "distribution": grades.distribution(user=user),
        "subtree": has_grant(
            user, resource=Resource.ENTERPRISE_ACCOUNT, action=Action.VIEW, only=Reach.SUBTREE
        ),
    }
