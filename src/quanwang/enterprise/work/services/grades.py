"""Account managers' grades (初级 / 中级 / 高级客户经理): moves with their history, the real
distribution against the seeds' proportions, and the accounts whose lead's grade may not own
them.

The seeds: senior managers lead industry solutions and are about 10% of all account managers;
middle managers serve the A and B accounts and are 50–70%; junior managers give basic service
and are 20–40%. So an A or B account led by a junior manager, or by a lead with no grade at all,
breaks the rule and is flagged."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import Staff
from quanwang.core.querysets import scope_filter
from quanwang.enterprise.choices import AccountGrade, ManagerGrade
from quanwang.enterprise.models import (
    Account,
    AccountManagerProfile,
    ManagerGradeChange,
)
from quanwang.enterprise.models.work import NOTE_MAX_LENGTH
from quanwang.enterprise.work.services.plan import LIVE_STATUSES

#: The seeds' share of each grade among all account managers, as (low, high) percentages.
#: "About 10%" for seniors is read as 5–15%.
PROPORTIONS: dict[ManagerGrade, tuple[int, int]] = {
    ManagerGrade.SENIOR: (5, 15),
    ManagerGrade.MIDDLE: (50, 70),
    ManagerGrade.JUNIOR: (20, 40),
}
#: The manager grades that may lead an account of each grade.
MAY_LEAD: dict[str, frozenset[str]] = {
    AccountGrade.A: frozenset({ManagerGrade.MIDDLE, ManagerGrade.SENIOR}),
    AccountGrade.B: frozenset({ManagerGrade.MIDDLE, ManagerGrade.SENIOR}),
}


def managers_for(*, user: Any, action: Action = Action.VIEW) -> QuerySet[Staff]:
    """The staff with an account-manager grade whose file `user` may `action`: those of the
    user's subtree (ENTERPRISE_ACCOUNT over their unit), or an account manager's own."""
    q = scope_filter(
        user,
        resource=Resource.ENTERPRISE_ACCOUNT,
        action=action,
        org_path_field="org_unit__path",
        # An account manager reads their own grade; changing one needs the subtree (below).
        owner_field="user" if action == Action.VIEW else None,
    )
    staff = Staff.objects.filter(account_manager_profile__isnull=False)
    return staff if q is None else staff.filter(q)


def gradable_staff(*, user: Any) -> QuerySet[Staff]:
    """Staff whose grade `user` may give or move: ENTERPRISE_ACCOUNT CHANGE over their unit
    (a subtree grant; nobody grades themselves)."""
    q = scope_filter(
        user,
        resource=Resource.ENTERPRISE_ACCOUNT,
        action=Action.CHANGE,
        org_path_field="org_unit__path",
        owner_field=None,
    )
    staff = Staff.objects.all()
    staff = staff if q is None else staff.filter(q)
    return staff.exclude(user_id=getattr(user, "pk", None)) if user is not None else staff


@dataclass(frozen=True)
class GradeMove:
    profile: AccountManagerProfile
    change: ManagerGradeChange | None  # None: the grade was already that one


def set_manager_grade(
    *,
    actor: Any,
    staff_pk: int,
    grade: ManagerGrade | str,
    reason: str,
    effective_on: dt.date | None = None,
) -> GradeMove:
    """Give `staff` a grade, or move it, recording who, when and why. The same grade again
    records nothing (a retry of the same form)."""
    if grade not in ManagerGrade.values:
        raise ServiceError(_("Choose a manager grade."), field="grade")
    reason = reason.strip()
    if not reason:
        raise ServiceError(_("Say why the grade moves."), field="reason")
    if len(reason) > NOTE_MAX_LENGTH:
        raise ServiceError(
            _("The reason is too long (at most %(n)s characters).") % {"n": NOTE_MAX_LENGTH},
            field="reason",
        )
    on = effective_on or timezone.localdate()
    if on > timezone.localdate() + dt.timedelta(days=366):
        raise ServiceError(_("The date is too far ahead."), field="effective_on")
    with transaction.atomic():
        # The staff row is the lock: two moves at once are taken one after the other.
        staff = (
            gradable_staff(user=actor).select_for_update().filter(pk=staff_pk).first()
            if actor is not None
            else Staff.objects.select_for_update().filter(pk=staff_pk).first()
        )
        if staff is None:
            raise NotFound()
        profile = AccountManagerProfile.objects.filter(staff=staff).first()
        before = profile.grade if profile is not None else ""
        if profile is not None and before == grade:
            return GradeMove(profile, None)
        if profile is None:
            profile = AccountManagerProfile.objects.create(staff=staff, grade=grade, since=on)
        else:
            profile.grade = grade
            profile.since = on
            profile.save(update_fields=["grade", "since"])
        change = ManagerGradeChange.objects.create(
            staff=staff,
            from_grade=before,
            to_grade=grade,
            effective_on=on,
            reason=reason,
            changed_by=actor,
        )
    return GradeMove(profile, change)


def history(*, user: Any, staff: Staff) -> QuerySet[ManagerGradeChange]:
    return (
        ManagerGradeChange.objects.restrict(user)
        .filter(staff=staff)
        .select_related("changed_by")
        .order_by("-effective_on", "-pk")
    )


@dataclass(frozen=True)
class GradeShare:
    grade: ManagerGrade
    count: int
    percent: float
    low: int
    high: int

    @property
    def out_of_range(self) -> bool:
        return not self.low <= self.percent <= self.high

    @property
    def band_width(self) -> int:
        return self.high - self.low

    @property
    def direction(self) -> str:
        """'over', 'under' or '' for within the range."""
        if self.percent > self.high:
            return "over"
        if self.percent < self.low:
            return "under"
        return ""


@dataclass(frozen=True)
class Distribution:
    total: int
    shares: list[GradeShare]

    @property
    def flagged(self) -> list[GradeShare]:
        return [s for s in self.shares if s.out_of_range] if self.total else []


def distribution(*, user: Any) -> Distribution:
    """How the graded account managers in `user`'s reach split by grade, against the seeds'
    proportions, the seniors first."""
    counts = Counter(
        AccountManagerProfile.objects.filter(
            staff__in=managers_for(user=user).values("pk")
        ).values_list("grade", flat=True)
    )
    total = sum(counts.values())
    shares = [
        GradeShare(
            grade=grade,
            count=counts.get(grade, 0),
            percent=round(100 * counts.get(grade, 0) / total, 1) if total else 0.0,
            low=PROPORTIONS[grade][0],
            high=PROPORTIONS[grade][1],
        )
        for grade in (ManagerGrade.SENIOR, ManagerGrade.MIDDLE, ManagerGrade.JUNIOR)
    ]
    return Distribution(total=total, shares=shares)


def violation_filter() -> Q:
    """Accounts of a grade with a rule whose lead's grade is not allowed (or who has none)."""
    q = Q(pk__in=[])
    for account_grade, allowed in MAY_LEAD.items():
        q |= Q(grade=account_grade) & (
            Q(account_manager__isnull=True)
            | Q(account_manager__account_manager_profile__isnull=True)
            | ~Q(account_manager__account_manager_profile__grade__in=sorted(allowed))
        )
    return q


def violations(*, user: Any) -> QuerySet[Account]:
    """The live A/B accounts `user` may read whose lead is junior, ungraded or missing."""
    return (
        Account.objects.restrict(user)
        .filter(status__in=LIVE_STATUSES, active=True)
        .filter(violation_filter())
        .select_related("account_manager", "account_manager__account_manager_profile", "org_unit")
        .order_by("grade", "enterprise_id")
    )


def is_violation(account: Account) -> bool:
    allowed = MAY_LEAD.get(account.grade)
    if allowed is None:
        return False
    lead = account.account_manager
    profile = getattr(lead, "account_manager_profile", None) if lead is not None else None
    return profile is None or profile.grade not in allowed


def grade_of(staff: Staff | None) -> str:
    """The staff member's manager grade, '' when they have none."""
    if staff is None:
        return ""
    try:
        return str(staff.account_manager_profile.grade)
    except AccountManagerProfile.DoesNotExist:
        return ""
