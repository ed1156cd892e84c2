"""The visit plan by account grade (有计划拜访): how many days may pass between two visits to an
account of each grade (the province's versioned rule, enterprise.work.services.rules), and which
accounts are due or overdue a visit on a day.

An account is due when the grade's interval has passed since its last visit, when the last
visit's follow-up date has come, or at once when it was never visited. Merged and closed
accounts are not visited."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery

from quanwang.core.choices import Action, Resource
from quanwang.enterprise.accounts.services.read import reachable_accounts
from quanwang.enterprise.choices import AccountGrade, AccountStatus
from quanwang.enterprise.models import Account, EnterpriseVisit
from quanwang.enterprise.work.choices import DueReason, DueState
from quanwang.enterprise.work.services.rules import current_intervals

#: Accounts that are visited: merged and closed ones are not.
LIVE_STATUSES = (AccountStatus.ACTIVE, AccountStatus.DORMANT)


def visit_interval_days(*, grade: str) -> int:
    """Days that may pass between two visits to an account of `grade` ('' or an unknown grade:
    the not-graded interval), by the rule set in force."""
    return current_intervals().days(grade)


@dataclass(frozen=True)
class DueVisit:
    account: Account
    grade: str
    interval_days: int
    last_visited_on: dt.date | None
    due_on: dt.date
    reason: DueReason
    # The last visit's next step, when the follow-up date is the reason.
    next_step: str
    days_overdue: int

    @property
    def state(self) -> DueState:
        return DueState.OVERDUE if self.days_overdue > 0 else DueState.DUE_TODAY


def visitable_accounts(*, user: Any, action: Action = Action.VIEW) -> QuerySet[Account]:
    """The live accounts whose visits `user` may `action`: the visit grant (ENTERPRISE_VISIT)
    decides, over the account's unit or, for an account manager (Reach.OWN), the accounts whose
    team they are on."""
    reached = reachable_accounts(user, resource=Resource.ENTERPRISE_VISIT, action=action)
    return reached.filter(status__in=LIVE_STATUSES, active=True)


def annotated(accounts: QuerySet[Account]) -> QuerySet[Account]:
    """Accounts with their last visit day and the newest visit's follow-up date and next step."""
    newest = EnterpriseVisit.objects.filter(account=OuterRef("pk")).order_by("-visited_on", "-pk")
    return accounts.annotate(
        last_visited_on=Max("visits__visited_on"),
        follow_up_on=Subquery(newest.values("follow_up_on")[:1]),
        follow_up_step=Subquery(newest.values("next_step")[:1]),
    )


def due_item(*, account: Any, on: dt.date, intervals: Any) -> DueVisit:
    """When `account` (annotated) is next due, and why; days_overdue < 0: not yet due."""
    grade = account.grade or ""
    interval = intervals.days(grade)
    last: dt.date | None = account.last_visited_on
    if last is None:
        due_on, reason, step = on, DueReason.NEVER, ""
    else:
        due_on, reason, step = last + dt.timedelta(days=interval), DueReason.PLAN, ""
        follow = account.follow_up_on
        if follow is not None and follow < due_on:
            due_on, reason, step = follow, DueReason.FOLLOW_UP, account.follow_up_step or ""
    return DueVisit(
        account=account,
        grade=grade,
        interval_days=interval,
        last_visited_on=last,
        due_on=due_on,
        reason=reason,
        next_step=step,
        days_overdue=(on - due_on).days,
    )


def visits_due(*, user: Any, on: dt.date, limit: int | None = None) -> list[DueVisit]:
    """The accounts `user` may visit that are due a visit on `on` or overdue, the most overdue
    first, then A before B before C."""
    intervals = current_intervals()
    overdue, today = _due_filters(on=on, intervals=intervals)
    accounts = (
        annotated(visitable_accounts(user=user))
        .filter(overdue | today)
        .select_related("org_unit", "account_manager")
    )
    due = [
        item
        for item in (due_item(account=a, on=on, intervals=intervals) for a in accounts)
        if item.days_overdue >= 0
    ]
    due.sort(key=lambda d: (-d.days_overdue, _grade_rank(d.grade), d.account.enterprise_id))
    return due[:limit] if limit is not None else due


def _grade_rank(grade: str) -> int:
    order = [AccountGrade.A, AccountGrade.B, AccountGrade.C]
    return order.index(AccountGrade(grade)) if grade in AccountGrade.values else len(order)


def _due_filters(*, on: dt.date, intervals: Any) -> tuple[Q, Q]:
    """(overdue, due today) as filters over `annotated` accounts: the database finds the due
    ones, so that a county's due list does not walk every account in Python."""
    # Each comparison says "is not null" itself: the negation in due_counts must not turn a
    # null into "unknown" (SQL's three values), which would drop never-visited accounts.
    overdue = Q(follow_up_on__isnull=False, follow_up_on__lt=on)
    today = Q(last_visited_on__isnull=True) | Q(follow_up_on=on)
    for grade in (*AccountGrade.values, ""):
        days = intervals.days(grade)
        of_grade = Q(grade=grade) if grade else ~Q(grade__in=AccountGrade.values)
        overdue |= of_grade & Q(
            last_visited_on__isnull=False, last_visited_on__lt=on - dt.timedelta(days=days)
        )
        today |= of_grade & Q(last_visited_on=on - dt.timedelta(days=days))
    return overdue, today


def due_counts(*, user: Any, on: dt.date) -> dict[DueState, int]:
    """How many accounts in `user`'s reach are overdue and due today, counted in the database
    (the dashboard's figure, for a unit with many accounts)."""
    overdue, today = _due_filters(on=on, intervals=current_intervals())
    found = annotated(visitable_accounts(user=user)).aggregate(
        overdue=Count("pk", filter=overdue), today=Count("pk", filter=today & ~overdue)
    )
    return {DueState.OVERDUE: found["overdue"], DueState.DUE_TODAY: found["today"]}
