"""The demo's account-manager work: every lead graded (the login with a move in its history),
and the account_manager's book visited so that the day opens with visits due and overdue;
built twice, the same."""

from __future__ import annotations

from django.utils import timezone

from quanwang.core.choices import Role
from quanwang.enterprise.choices import AccountGrade, ManagerGrade
from quanwang.enterprise.models import AccountManagerProfile, EnterpriseVisit, ManagerGradeChange
from quanwang.enterprise.work.choices import DueReason, DueState
from quanwang.enterprise.work.demo import MIN_MANAGERS, build_demo
from quanwang.enterprise.work.services import grades
from quanwang.enterprise.work.services.plan import visits_due
from tests import factories
from tests.enterprise import factories as ent


def test_the_demo_grades_the_managers_and_fills_the_account_managers_day(
    tree: factories.Tree,
) -> None:
    # Given the account_manager login leading 12 accounts of every grade
    login = factories.user(role=Role.ACCOUNT_MANAGER, at=tree.county_a, username="account_manager")
    staff = factories.staff(at=tree.county_a)
    staff.user = login
    staff.save()
    for n in range(12):
        account = ent.account(at=tree.grid_a, grade=AccountGrade.values[n % 3])
        ent.on_team(account=account, staff=staff)
    said: list[str] = []
    # When the demo is built twice
    build_demo(say=said.append)
    counts = (EnterpriseVisit.objects.count(), ManagerGradeChange.objects.count())
    build_demo(say=said.append)
    assert (EnterpriseVisit.objects.count(), ManagerGradeChange.objects.count()) == counts
    # Then enough managers are graded to show a distribution, the login middle after a move
    assert AccountManagerProfile.objects.count() >= MIN_MANAGERS
    assert AccountManagerProfile.objects.get(staff=staff).grade == ManagerGrade.MIDDLE
    assert ManagerGradeChange.objects.filter(staff=staff).count() == 2
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    assert {s.grade for s in grades.distribution(user=admin).shares if s.count} == set(ManagerGrade)
    # And the login's day has visits due today, overdue and a follow-up
    due = visits_due(user=login, on=timezone.localdate())
    states = {d.state for d in due}
    assert states == {DueState.DUE_TODAY, DueState.OVERDUE}
    assert DueReason.FOLLOW_UP in {d.reason for d in due}
    assert len(due) < 12  # not everything: most of the book is on plan
    assert EnterpriseVisit.objects.filter(visitor=staff).count() > 12
