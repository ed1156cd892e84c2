"""Proposing and deciding grade moves: reasons kept, idempotent proposals, approval by a
manager above (never one's own, once only, 404 outside scope), the history, placement by hand,
the coefficient incentives read, and the rules' versions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from quanwang.core.errors import NotFound, ServiceError
from quanwang.performance.grades import appraisal, coefficient_on
from quanwang.performance.grades.choices import MoveStatus
from quanwang.performance.grades.rules import Rules
from quanwang.performance.grades.services.moves import decide, place_staff, propose_moves
from quanwang.performance.grades.services.rule_sets import rules_on, save_rule_set
from quanwang.performance.models import GradeHistory, GradeMove, StaffGrade
from tests import factories
from tests.performance.grades_world import World

Results = dict[tuple[str, str], float | None]


@pytest.fixture
def results(monkeypatch: pytest.MonkeyPatch) -> Results:
    """Stands in for the targets part's overall attainment: {(employee_no, period): result}."""
    found: dict[tuple[str, str], float | None] = {}

    def fake(*, employee_no: str, period: str) -> float | None:
        return found.get((employee_no, period))

    monkeypatch.setattr(appraisal, "appraisal_result", fake)
    return found


@pytest.fixture
def world(tree: factories.Tree) -> World:
    return World(tree)


def test_a_good_run_proposes_a_promotion_across_the_level_with_its_reasons(
    world: World, results: Results
) -> None:
    # given E100 (初级10档) at 120% and 115% in Q3 and Q4
    results[("E100", "2024Q4")] = 1.2
    results[("E100", "2024Q3")] = 1.15
    # when the county manager proposes Q4
    outcome = propose_moves(period="2024Q4", by=world.county)
    # then one promotion to 中级1档, with the periods, results and rule
    assert outcome.created == 1
    assert outcome.evaluated == 1
    move = GradeMove.objects.get(staff=world.staff)
    assert (move.from_level, move.from_step, move.to_level, move.to_step) == (1, 10, 2, 1)
    assert move.status == MoveStatus.PENDING
    assert move.reasons["rule"] == "promote"
    assert move.reasons["rule_version"] == 0
    assert [r["period"] for r in move.reasons["results"]] == ["2024Q4", "2024Q3"]


def test_proposing_again_creates_nothing_twice_and_follows_changed_results(
    world: World, results: Results
) -> None:
    results[("E200", "2024Q4")] = 0.5
    results[("E200", "2024Q3")] = 0.6
    first = propose_moves(period="2024Q4", by=world.admin)
    again = propose_moves(period="2024Q4", by=world.admin)
    assert (first.created, again.created, again.unchanged) == (1, 0, 2)
    assert GradeMove.objects.filter(staff=world.other).count() == 1
    # when a late correction lifts Q3 to 79.9% (still under 80%): the same move, new reasons
    results[("E200", "2024Q3")] = 0.799
    assert propose_moves(period="2024Q4", by=world.admin).updated == 1
    move = GradeMove.objects.get(staff=world.other)
    assert move.reasons["results"][1]["result"] == 0.799
    # when it lifts Q3 to 90%: the move is no longer earned and is withdrawn, not deleted
    results[("E200", "2024Q3")] = 0.9
    assert propose_moves(period="2024Q4", by=world.admin).withdrawn == 1
    move.refresh_from_db()
    assert move.status == MoveStatus.WITHDRAWN
    # and back under: the same row is pending again
    results[("E200", "2024Q3")] = 0.5
    propose_moves(period="2024Q4", by=world.admin)
    move.refresh_from_db()
    assert move.status == MoveStatus.PENDING
    assert GradeMove.objects.count() == 1


def test_a_bad_period_is_refused_naming_the_field(world: World, results: Results) -> None:
    for bad in ("2024-12", "Q4", ""):
        with pytest.raises(ServiceError) as refused:
            propose_moves(period=bad, by=world.admin)
        assert refused.value.field == "period"
    # a grid manager (own card only) may not propose
    with pytest.raises(NotFound):
        propose_moves(period="2024Q4", by=world.login)


def test_approval_applies_once_writes_the_history_and_resets_the_run(
    world: World, results: Results
) -> None:
    results.update({("E100", "2024Q4"): 1.2, ("E100", "2024Q3"): 1.2})
    propose_moves(period="2024Q4", by=world.admin)
    move = GradeMove.objects.get(staff=world.staff)
    # when the county manager approves twice (a double click)
    decide(move=move, approve=True, by=world.county, comment="连续两季超额")
    again = decide(move=move.pk, approve=True, by=world.county, comment="")
    # then the grade moved once and one history line names from, to, reasons and approver
    grade = StaffGrade.objects.get(staff=world.staff)
    assert (grade.level, grade.step, grade.since) == (2, 1, dt.date(2025, 1, 1))
    assert again.status == MoveStatus.APPROVED
    lines = GradeHistory.objects.filter(staff=world.staff, move__isnull=False)
    assert lines.count() == 1
    line = lines.get()
    assert (line.from_level, line.from_step, line.to_level, line.to_step) == (1, 10, 2, 1)
    assert line.approved_by == world.county
    assert line.reasons["rule"] == "promote"
    assert line.comment == "连续两季超额"
    assert line.period == "2024Q4"
    # rejecting it now is refused: it was decided
    with pytest.raises(ServiceError):
        decide(move=move, approve=False, by=world.county, comment="改主意")
    # and Q1 2025 at 120% alone earns nothing: Q4 already earned its promotion
    results[("E100", "2025Q1")] = 1.2
    assert propose_moves(period="2025Q1", by=world.admin).created == 0


def test_nobody_decides_their_own_move_and_another_scope_gets_not_found(
    world: World, results: Results
) -> None:
    results.update({("E100", "2024Q4"): 1.2, ("E100", "2024Q3"): 1.2})
    propose_moves(period="2024Q4", by=world.admin)
    move = GradeMove.objects.get(staff=world.staff)
    # the county of city B does not see it; the grid manager holds no approval
    with pytest.raises(NotFound):
        decide(move=move, approve=True, by=world.outsider, comment="")
    with pytest.raises(NotFound):
        decide(move=move, approve=True, by=world.login, comment="")
    # a manager who is also the staff member may not decide their own move
    world.login.is_superuser = True
    world.login.save()
    with pytest.raises(ServiceError) as own:
        decide(move=move, approve=True, by=world.login, comment="")
    assert own.value.field is None
    move.refresh_from_db()
    assert move.status == MoveStatus.PENDING
    assert StaffGrade.objects.get(staff=world.staff).level == 1


def test_a_rejection_needs_a_reason_and_keeps_the_grade(world: World, results: Results) -> None:
    results.update({("E200", "2024Q4"): 0.1, ("E200", "2024Q3"): 0.1})
    propose_moves(period="2024Q4", by=world.admin)
    move = GradeMove.objects.get(staff=world.other)
    with pytest.raises(ServiceError) as bare:
        decide(move=move, approve=False, by=world.admin, comment="  ")
    assert bare.value.field == "comment"
    decide(move=move, approve=False, by=world.admin, comment="季度内调岗,不计")
    move.refresh_from_db()
    assert move.status == MoveStatus.REJECTED
    assert move.decided_by == world.admin
    assert StaffGrade.objects.get(staff=world.other).level == 2
    # re-proposing leaves a decided move alone
    assert propose_moves(period="2024Q4", by=world.admin).already_decided == 1


def test_a_move_proposed_on_a_grade_that_changed_since_is_refused(
    world: World, results: Results
) -> None:
    results.update({("E200", "2024Q4"): 0.1, ("E200", "2024Q3"): 0.1})
    propose_moves(period="2024Q4", by=world.admin)
    move = GradeMove.objects.get(staff=world.other)
    place_staff(employee_no="E200", level=3, step=1, by=world.admin, reason="破格")
    with pytest.raises(ServiceError):
        decide(move=move, approve=True, by=world.admin, comment="")
    assert StaffGrade.objects.get(staff=world.other).level == 3


def test_placement_by_hand_is_scoped_checked_and_kept_in_the_history(world: World) -> None:
    # a county manager holds no CHANGE; nobody places themselves; a bad rung names the field
    with pytest.raises(NotFound):
        place_staff(employee_no="E100", level=1, step=1, by=world.county, reason="x")
    with pytest.raises(ServiceError) as rung:
        place_staff(employee_no="E100", level=4, step=1, by=world.admin, reason="x")
    assert rung.value.field == "step"
    with pytest.raises(ServiceError) as why:
        place_staff(employee_no="E100", level=1, step=2, by=world.admin, reason="")
    assert why.value.field == "reason"
    assert GradeHistory.objects.filter(staff=world.staff).count() == 1


def test_the_coefficient_follows_the_grade_held_on_the_day(world: World, results: Results) -> None:
    # no grade before the placement: 1.00; 初级10档 under the defaults: 0.98
    assert coefficient_on(staff=world.staff, day=dt.date(2023, 12, 31)) == Decimal("1.00")
    assert coefficient_on(staff=world.staff, day=dt.date(2024, 6, 1)) == Decimal("0.98")
    results.update({("E100", "2024Q4"): 1.2, ("E100", "2024Q3"): 1.2})
    propose_moves(period="2024Q4", by=world.admin)
    decide(move=GradeMove.objects.get(staff=world.staff), approve=True, by=world.admin)
    # from 2025-01-01 中级1档: 1.00; December 2024 still reads 0.98 (a re-run is identical)
    assert coefficient_on(staff=world.staff, day=dt.date(2024, 12, 31)) == Decimal("0.98")
    assert coefficient_on(staff=world.staff.pk, day=dt.date(2025, 1, 1)) == Decimal("1.00")


def test_rule_versions_are_kept_by_the_province_and_never_overlap(world: World) -> None:
    rules = Rules(period_kind="month", promote_at=Decimal("1.05"), promote_periods=3)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        save_rule_set(by=world.county, rules=rules, valid_from=dt.date(2024, 1, 1))
    saved = save_rule_set(by=world.admin, rules=rules, valid_from=dt.date(2024, 1, 1), note="月度")
    assert saved.version == 1
    assert rules_on(dt.date(2023, 12, 1)).version == 0
    assert rules_on(dt.date(2024, 2, 1)).promote_periods == 3
    with pytest.raises(ServiceError) as early:
        save_rule_set(by=world.admin, rules=rules, valid_from=dt.date(2024, 1, 1))
    assert early.value.field == "valid_from"
    with pytest.raises(ServiceError) as bad:
        save_rule_set(
            by=world.admin, rules=Rules(demote_below=Decimal("2")), valid_from=dt.date(2025, 1, 1)
        )
    assert bad.value.field == "promote_at"
    # now the rules appraise by month: a quarter is refused, naming the field
    with pytest.raises(ServiceError) as kind:
        propose_moves(period="2024Q4", by=world.admin)
    assert kind.value.field == "period"
