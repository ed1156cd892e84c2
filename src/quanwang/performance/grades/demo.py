"""The demo's staff grades: version 1 of the rules, every staff member placed on the ladder
(spread like the seeds' account-manager grades: about 30% junior, 60% middle, 10% senior),
and the moves the last closed quarter earns. Idempotent: a second run adds nothing. Runs after
the targets demo (the proposals read the staff's appraisal results)."""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Callable

from django.db import transaction

from quanwang.core.errors import ServiceError
from quanwang.core.models import Staff
from quanwang.core.terminal import system_actor
from quanwang.performance import periods
from quanwang.performance.actuals.reading import business_day
from quanwang.performance.choices import PeriodKind
from quanwang.performance.grades.choices import GradeLevel
from quanwang.performance.grades.rules import Position, Rules
from quanwang.performance.grades.services.moves import propose_moves
from quanwang.performance.grades.services.rule_sets import root_unit, save_rule_set
from quanwang.performance.models import GradeHistory, GradeRuleSet, StaffGrade


def _rung(employee_no: str) -> Position:
    """A fixed rung per staff member (the same on every run)."""
    mark = zlib.crc32(employee_no.encode())
    share = mark % 10
    level = (
        GradeLevel.JUNIOR if share < 3 else GradeLevel.MIDDLE if share < 9 else GradeLevel.SENIOR
    )
    return Position(level, (mark // 10) % 10 + 1)


def build_grades_demo(*, say: Callable[[str], None]) -> None:
    if root_unit() is None:
        say("grades: no org tree, skipped")
        return
    today = business_day() or dt.date.today()
    start = dt.date(today.year - 1, 1, 1)
    actor = system_actor()
    if not GradeRuleSet.objects.exists():
        # The demo's targets cover one quarter, so its rules move a grade on one quarter's
        # result (the defaults ask for two in a row).
        save_rule_set(
            by=actor,
            rules=Rules(promote_periods=1, demote_periods=1),
            valid_from=start,
            note="三级十档演示规则",
        )
    ungraded = list(Staff.objects.filter(grade__isnull=True).order_by("employee_no"))
    with transaction.atomic():
        StaffGrade.objects.bulk_create(
            [
                StaffGrade(staff=s, level=_rung(s.employee_no).level,
                           step=_rung(s.employee_no).step, since=start)
                for s in ungraded
            ],
            ignore_conflicts=True,
        )  # fmt: skip
        GradeHistory.objects.bulk_create(
            [
                GradeHistory(staff=s, to_level=_rung(s.employee_no).level,
                             to_step=_rung(s.employee_no).step, reasons={"rule": "placed"},
                             comment="入职定级", effective_on=start)
                for s in ungraded
            ]
        )  # fmt: skip
    say(f"grades: {len(ungraded)} staff placed")
    # The quarter of the business day once its last day is in, else the one before.
    quarter = periods.period_of(PeriodKind.QUARTER, today)
    closed = quarter if today >= quarter.end else quarter.previous()
    try:
        done = propose_moves(period=closed.code, by=actor)
    except ServiceError as exc:
        say(f"grades: no proposals ({exc.message})")
        return
    say(f"grades: {closed.code}: {done.created} moves proposed, {done.updated} updated")
