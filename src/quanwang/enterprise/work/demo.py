"""The demo operator's account-manager work (enterprise app): a grade for every account
manager who leads accounts (about the seeds' proportions, with their history), and for the
account_manager login three months of visits to their book, arranged so that the day opens
with visits due today, a few overdue and one follow-up. Running it twice changes nothing:
grades are set only where missing and each visit has a fixed form key."""

from __future__ import annotations

import datetime as dt
import uuid
import zlib
from collections.abc import Callable
from typing import Any

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.core.models import Staff
from quanwang.enterprise.choices import ManagerGrade, TeamRole
from quanwang.enterprise.models import (
    Account,
    AccountManagerProfile,
    AccountTeamMember,
    EnterpriseVisit,
    KeyPersonRole,
)
from quanwang.enterprise.models.work import VisitPurpose
from quanwang.enterprise.work.services.grades import set_manager_grade
from quanwang.enterprise.work.services.plan import LIVE_STATUSES
from quanwang.enterprise.work.services.rules import current_intervals

MANAGER_LOGIN = "account_manager"
#: Shown with at least this many graded managers, so that the distribution means something.
MIN_MANAGERS = 10
#: The visits' form keys: fixed per account and day, so a second run finds them.
_KEYS = uuid.UUID("6f1d0c1e-7a44-4c55-9d1e-2f8a4c3b9e01")
OUTCOMES = (
    "了解到客户明年扩建园区，需要专线扩容",
    "客户对5G专网试点有兴趣，约定演示",
    "反馈集团V网资费疑问，已当场解释",
    "续签意向明确，等待法务审核合同",
    "信息部主任更换，已建立联系",
)
NEXT_STEPS = ("送方案", "约演示", "跟进合同", "邀请参加联谊会", "")


def _grade_for(rank: int, total: int) -> ManagerGrade:
    """The seeds' proportions by position: the first 10% senior, the next 60% middle."""
    share = rank / max(total, 1)
    if share < 0.1:
        return ManagerGrade.SENIOR
    return ManagerGrade.MIDDLE if share < 0.7 else ManagerGrade.JUNIOR


def _managers(login_staff: Staff) -> list[Staff]:
    leads = list(
        Staff.objects.filter(
            pk__in=AccountTeamMember.objects.filter(role=TeamRole.LEAD).values("staff_id")
        )
        .annotate(n=Count("account_teams"))
        .order_by("-n", "employee_no")
    )
    if login_staff not in leads:
        leads.insert(0, login_staff)
    # Too few to show a distribution: add account managers in the login's unit.
    number = 1
    while len(leads) < MIN_MANAGERS:
        extra, _created = Staff.objects.get_or_create(
            employee_no=f"AMDEMO{number:03d}",
            defaults={
                "name": f"客户经理{number:02d}",
                "mobile": f"1390000{number:04d}",
                "title": "政企客户经理",
                "org_unit": login_staff.org_unit,
            },
        )
        number += 1
        if extra not in leads:
            leads.append(extra)
    return leads


def _grades(*, login_staff: Staff) -> int:
    managers = _managers(login_staff)
    others = [s for s in managers if s != login_staff]
    given = 0
    for staff in managers:
        if AccountManagerProfile.objects.filter(staff=staff).exists():
            continue
        if staff == login_staff:
            # The login was junior until last quarter: its history shows the move.
            on = timezone.localdate() - dt.timedelta(days=400)
            set_manager_grade(
                actor=None,
                staff_pk=staff.pk,
                grade=ManagerGrade.JUNIOR,
                reason=_("Demo: grade on joining"),
                effective_on=on,
            )
            set_manager_grade(
                actor=None,
                staff_pk=staff.pk,
                grade=ManagerGrade.MIDDLE,
                reason=_("Demo: two good quarters of appraisal"),
                effective_on=timezone.localdate() - dt.timedelta(days=80),
            )
        else:
            set_manager_grade(
                actor=None,
                staff_pk=staff.pk,
                grade=_grade_for(others.index(staff), len(others)),
                reason=_("Demo: grade on joining"),
                effective_on=timezone.localdate() - dt.timedelta(days=200),
            )
        given += 1
    return given


def _visit(
    *, account: Account, staff: Staff, on: dt.date, n: int, follow_up: dt.date | None = None
) -> bool:
    key = uuid.uuid5(_KEYS, f"{account.enterprise_id}/{on.isoformat()}")
    step = NEXT_STEPS[n % len(NEXT_STEPS)]
    visit, created = EnterpriseVisit.objects.get_or_create(
        visitor=staff,
        idempotency_key=key,
        defaults={
            "account": account,
            "visited_on": on,
            "purpose": list(VisitPurpose.values)[n % 6],
            "outcome": OUTCOMES[n % len(OUTCOMES)],
            "next_step": step or ("约下次拜访" if follow_up else ""),
            "follow_up_on": follow_up,
            "logged_for": account,
            "created_by": staff.user,
        },
    )
    if created:
        persons = list(
            KeyPersonRole.objects.filter(account=account).values_list("person_id", flat=True)[:2]
        )
        if persons:
            visit.persons_met.set(persons)
    return created


def _visits(*, staff: Staff) -> int:
    """Three months of visits to each account of the login's book, the last one placed so that
    about one account in six is due today, one in six overdue, and one has a follow-up today."""
    today = timezone.localdate()
    intervals = current_intervals()
    book = list(
        Account.objects.filter(
            team_members__staff=staff,
            team_members__role=TeamRole.LEAD,
            status__in=LIVE_STATUSES,
            active=True,
        ).order_by("grade", "enterprise_id")
    )
    made = 0
    for n, account in enumerate(book):
        interval = intervals.days(account.grade)
        spread = zlib.crc32(account.enterprise_id.encode()) % 5
        if n % 6 == 0:
            last_age = interval  # due today
        elif n % 6 == 1:
            last_age = interval + 3 + spread  # overdue
        else:
            last_age = max(1, interval // 2 - spread)  # on plan
        last = today - dt.timedelta(days=last_age)
        follow = today if n == 2 else None
        made += _visit(account=account, staff=staff, on=last, n=n, follow_up=follow)
        # Earlier visits on the plan's rhythm, back three months.
        earlier = last - dt.timedelta(days=interval)
        while earlier >= today - dt.timedelta(days=92):
            made += _visit(account=account, staff=staff, on=earlier, n=n + 1)
            earlier -= dt.timedelta(days=interval)
    return made


def build_demo(*, say: Callable[[str], Any]) -> None:
    staff = Staff.objects.filter(user__username=MANAGER_LOGIN).select_related("org_unit").first()
    if staff is None:
        say(_("No account_manager login with a staff record: no visits built."))
        return
    graded = _grades(login_staff=staff)
    made = _visits(staff=staff)
    say(
        _("Account managers: %(graded)d graded; %(visits)d visits logged for the account_manager.")
        % {"graded": graded, "visits": made}
    )
