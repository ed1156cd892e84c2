"""The care calendar's read (enterprise persons): `due_care` for an account manager's week.

    QUANWANG_VAR_DIR=/tmp/var_pers .venv/bin/python bench/enterprise_persons.py [--accounts 200]

Builds, in a throw-away test database (no migrations: the models' tables as they are), one
account manager with `--accounts` accounts of 5 key persons each, every person with a
birthday series and two festival series, and times (median of 5):
- baseline: the plain restricted query of the week's due moments (no generation);
- due_care's first read of a new year (it makes that year's occurrences);
- due_care's later reads (nothing to make).
Prints the times in ms and the ratios to the baseline.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=200)
    args = parser.parse_args()
    # The test factories build the records: the repository root on the path.
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
    from tests.enterprise import factories as ent
    from tests.enterprise import persons_factories as pf

    from quanwang.core.choices import Action, Role
    from quanwang.enterprise.models.persons import CareKind, CareMoment, CareStatus, Festival
    from quanwang.enterprise.persons.services.care import due_care

    tree = factories.Tree()
    staff = factories.staff(at=tree.grid_a)
    user = factories.user(role=Role.ACCOUNT_MANAGER, at=tree.grid_a)
    staff.user = user
    staff.save()
    moments = []
    for a in range(args.accounts):
        account = ent.account(at=tree.grid_a)
        ent.on_team(account=account, staff=staff)
        for p in range(5):
            person = pf.person(birthday=dt.date(1970 + p, 1 + (a + p) % 12, 1 + (a * p) % 28))
            pf.role(account=account, person=person)
            moments.append(
                CareMoment(
                    person=person,
                    kind=CareKind.BIRTHDAY,
                    recurring=True,
                    date=person.birthday.replace(year=2025),
                )
            )
            for festival, day in (
                (Festival.SPRING, dt.date(2025, 1, 29)),
                (Festival.NATIONAL, dt.date(2025, 10, 1)),
            ):
                moments.append(CareMoment(person=person, kind=CareKind.FESTIVAL, festival=festival,
                                          recurring=True, date=day))  # fmt: skip
    CareMoment.objects.bulk_create(moments)
    start, end = dt.date(2026, 1, 26), dt.date(2026, 2, 1)

    def timed(run: object) -> float:
        began = time.perf_counter()
        list(run())  # type: ignore[operator]
        return (time.perf_counter() - began) * 1000

    def baseline() -> object:
        return (
            CareMoment.objects.restrict(user, Action.VIEW)
            .filter(date__gte=start, date__lte=end, status=CareStatus.DUE)
            .select_related("person", "account")
        )

    base = statistics.median(timed(baseline) for _ in range(5))
    first = timed(lambda: due_care(user=user, start=start, end=end))
    later = statistics.median(timed(lambda: due_care(user=user, start=start, end=end))
                              for _ in range(5))  # fmt: skip
    persons = args.accounts * 5
    print(f"persons={persons} series={len(moments)} moments_now={CareMoment.objects.count()}")
    print(f"baseline restricted query: {base:.1f} ms")
    print(f"due_care first read of 2026 (makes the year): {first:.1f} ms ({first / base:.1f}x)")
    print(f"due_care later reads: {later:.1f} ms ({later / base:.1f}x)")


if __name__ == "__main__":
    main()
