"""The `grades` command: propose through the job (twice creates once), place, decide, and a
bad period refused naming the option."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from quanwang.core.models import Job
from quanwang.performance.grades import appraisal
from quanwang.performance.grades.choices import MoveStatus
from quanwang.performance.models import GradeMove, StaffGrade
from tests import factories


def test_the_command_places_proposes_once_and_decides(
    tree: factories.Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a staff member placed from the command line, with two poor quarters
    factories.staff(at=tree.grid_a, employee_no="E300")
    call_command(
        "grades",
        "place",
        "--staff",
        "E300",
        "--level",
        "2",
        "--step",
        "1",
        "--reason",
        "入职定级",
        stdout=StringIO(),
    )
    StaffGrade.objects.filter(staff__employee_no="E300").update(since=dt.date(2024, 1, 1))
    poor = {("E300", "2024Q4"): 0.5, ("E300", "2024Q3"): 0.6}
    monkeypatch.setattr(
        appraisal,
        "appraisal_result",
        lambda *, employee_no, period: poor.get((employee_no, period)),
    )
    # when the moves of 2024Q4 are proposed twice
    for _ in range(2):
        call_command("grades", "propose", "--period", "2024Q4", stdout=StringIO())
    # then one demotion across the level is waiting, and each run was a job
    move = GradeMove.objects.get()
    assert (move.to_level, move.to_step, move.status) == (1, 10, MoveStatus.PENDING)
    assert Job.objects.filter(kind="propose_grade_moves").count() == 2
    # a bad period is refused, naming the option
    with pytest.raises(CommandError) as bad:
        call_command("grades", "propose", "--period", "2024-13", stdout=StringIO())
    assert "--period" in str(bad.value)
    # and approving applies it
    call_command("grades", "decide", "--move", str(move.pk), "--approve", stdout=StringIO())
    assert StaffGrade.objects.get(staff__employee_no="E300").level == 1


def test_the_demo_places_everyone_once(
    tree: factories.Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    from quanwang.performance.grades.demo import build_grades_demo
    from quanwang.performance.models import GradeHistory, GradeRuleSet

    # given three staff and no results
    for no in ("D1", "D2", "D3"):
        factories.staff(at=tree.grid_a, employee_no=no)
    monkeypatch.setattr(appraisal, "appraisal_result", lambda *, employee_no, period: None)
    said: list[str] = []
    # when the demo runs twice
    build_grades_demo(say=said.append)
    build_grades_demo(say=said.append)
    # then each is placed once, with one history line, under rules version 1
    assert StaffGrade.objects.count() == 3
    assert GradeHistory.objects.count() == 3
    assert GradeRuleSet.objects.get().version == 1
    assert said
