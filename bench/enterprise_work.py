"""The visit plan's reads (enterprise work): the due list of an account manager and of a county,
the dashboard's counted figure, and the managers' summary.

    QUANWANG_VAR_DIR=/tmp/var_work .venv/bin/python bench/enterprise_work.py [--accounts 20000]

Builds, in a throw-away test database (no migrations: the models' tables as they are), one
county with `--accounts` accounts of mixed grades led by 200 account managers (one of them the
login with 40 accounts), and 6 visits per account. Times (median of 5), in ms:
- baseline: the plain restricted count of the county's live accounts;
- visits_due for the account manager (40 accounts) and for the county (every account, in
  Python);
- due_counts for the county (the dashboard's figure, counted in the database);
- the portfolio summary (dashboard lines) and the grade distribution.
Prints the times and the ratios to the baseline.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
import uuid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20000)
    args = parser.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quanwang.settings")
    import django
    from django.conf import settings

    django.setup()
    settings.DATABASES["default"].setdefault("TEST", {})["MIGRATE"] = False
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    connection.creation.create_test_db(verbosity=0, autoclobber=True)

    from tests import factories

    from quanwang.core.choices import Role
    from quanwang.core.models import Staff
    from quanwang.enterprise.choices import AccountGrade, ManagerGrade, TeamRole
    from quanwang.enterprise.models import (
        Account,
        AccountManagerProfile,
        AccountTeamMember,
        EnterpriseVisit,
    )
    from quanwang.enterprise.work.services import grades, plan, portfolio

    today = dt.date(2026, 6, 15)
    tree = factories.Tree()
    county = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    login = factories.user(role=Role.ACCOUNT_MANAGER, at=tree.grid_a)
    staff = Staff.objects.bulk_create(
        Staff(employee_no=f"B{n:05d}", name=f"经理{n}", mobile="13800000000", org_unit=tree.grid_a)
        for n in range(200)
    )
    Staff.objects.filter(pk=staff[0].pk).update(user=login)
    AccountManagerProfile.objects.bulk_create(
        AccountManagerProfile(staff=s, grade=list(ManagerGrade)[n % 3]) for n, s in enumerate(staff)
    )
    grades_cycle = [AccountGrade.A, AccountGrade.B, AccountGrade.C, AccountGrade.C, ""]
    accounts = Account.objects.bulk_create(
        Account(
            enterprise_id=f"BE{n:07d}",
            name=f"集团{n}",
            org_unit=tree.grid_a,
            grade=grades_cycle[n % 5],
            account_manager=staff[0] if n < 40 else staff[1 + n % 199],
        )
        for n in range(args.accounts)
    )
    AccountTeamMember.objects.bulk_create(
        AccountTeamMember(account=a, staff_id=a.account_manager_id, role=TeamRole.LEAD)
        for a in accounts
    )
    EnterpriseVisit.objects.bulk_create(
        EnterpriseVisit(
            account=a,
            visitor_id=a.account_manager_id,
            visited_on=today - dt.timedelta(days=(n * 7 + k * 23) % 180),
            purpose="needs",
            outcome="x",
            idempotency_key=uuid.uuid4(),
        )
        for n, a in enumerate(accounts)
        for k in range(6)
    )

    def timed(run: object) -> float:
        times = []
        for _ in range(5):
            began = time.perf_counter()
            run()  # type: ignore[operator]
            times.append((time.perf_counter() - began) * 1000)
        return statistics.median(times)

    baseline = timed(lambda: Account.objects.restrict(county).filter(active=True).count())
    figures = {
        "visits_due, account manager (40 accounts)": timed(
            lambda: plan.visits_due(user=login, on=today)
        ),
        f"visits_due, county ({args.accounts} accounts)": timed(
            lambda: plan.visits_due(user=county, on=today)
        ),
        "due_counts, county (dashboard figure)": timed(
            lambda: plan.due_counts(user=county, on=today)
        ),
        "portfolio summary, county (dashboard lines)": timed(
            lambda: portfolio.summary(user=county, limit=8)
        ),
        "grade distribution, county": timed(lambda: grades.distribution(user=county)),
    }
    print(f"database: {connection.vendor}; accounts {args.accounts}, visits {6 * args.accounts}")
    print(f"baseline (restricted count of the county's accounts): {baseline:.1f} ms")
    for name, ms in figures.items():
        print(f"{name}: {ms:.1f} ms  ({ms / baseline:.1f}x baseline)")
    connection.creation.destroy_test_db(":memory:", verbosity=0)


if __name__ == "__main__":
    main()
