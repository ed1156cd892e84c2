"""Grading accounts A/B/C (enterprise.grading): rule sets refused when weights do not sum to
100, exact contributions, what would move an account up, the monthly re-grade, the nightly
step, two re-grades at once, qualitative scores."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quanwang.core.choices import Role
from quanwang.core.errors import NotFound, ServiceError
from quanwang.enterprise.choices import AccountGrade, ServiceLevel
from quanwang.enterprise.grading.choices import QUALITATIVE, QUANTITATIVE, Criterion
from quanwang.enterprise.grading.grades import (
    DEFAULT_RULES,
    FULL,
    SCALE,
    Rules,
    grade_account,
)
from quanwang.enterprise.grading.regrading import regrade
from quanwang.enterprise.grading.rules import current_rule_set, save_rule_set
from quanwang.enterprise.grading.services import score_account
from quanwang.enterprise.models import Account, AccountGrading, GradingRun, QualitativeScore
from tests import factories
from tests.enterprise import factories as ent
from tests.enterprise.grading_world import MONTH, place, world

CRITERIA = [str(c) for c in Criterion]

weights = st.lists(st.integers(0, 100), min_size=len(CRITERIA) - 1, max_size=len(CRITERIA) - 1).map(
    lambda cuts: dict(
        zip(
            CRITERIA,
            [b - a for a, b in zip([0, *sorted(cuts)], [*sorted(cuts), 100], strict=True)],
            strict=True,
        )
    )
)
thresholds = st.tuples(st.integers(1, 99), st.integers(1, 99)).filter(lambda t: t[0] != t[1])
figures = st.fixed_dictionaries(
    {
        "revenue": st.floats(0, 50_000, allow_nan=False),
        "members": st.floats(0, 300, allow_nan=False),
        "growth": st.one_of(st.none(), st.floats(-60, 60, allow_nan=False)),
        "value_added": st.one_of(st.none(), st.floats(0, 1000, allow_nan=False)),
        "satisfaction": st.floats(0, 10, allow_nan=False),
    }
)
manager_scores = st.dictionaries(
    st.sampled_from([str(c) for c in QUALITATIVE]), st.integers(0, 100)
)


def _rules(w: dict[str, int], t: tuple[int, int]) -> Rules:
    return Rules(weights=w, a_min=max(t), b_min=min(t))


@given(w=weights, t=thresholds, f=figures, q=manager_scores)
@settings(max_examples=300, deadline=None)
def test_contributions_add_up_to_the_score_exactly(
    w: dict[str, int], t: tuple[int, int], f: dict[str, Any], q: dict[str, int]
) -> None:
    # given any weights summing to 100, thresholds, figures and manager scores
    rules = _rules(w, t)
    # when an account is graded
    graded = grade_account(figures=f, qualitative=q, rules=rules)
    # then its contributions add up to its score, to the last decimal, and decide its grade
    total = sum(Decimal(str(c["contribution"])) for c in graded.contributions.values())
    assert total == graded.score
    assert 0 <= graded.score <= 100
    expected = (
        AccountGrade.A
        if graded.score >= rules.a_min
        else AccountGrade.B
        if graded.score >= rules.b_min
        else AccountGrade.C
    )
    assert graded.grade == expected


@given(w=weights, t=thresholds, f=figures, q=manager_scores)
@settings(max_examples=300, deadline=None)
def test_what_would_move_the_account_up_is_exact(
    w: dict[str, int], t: tuple[int, int], f: dict[str, Any], q: dict[str, int]
) -> None:
    # given any graded account below A
    rules = _rules(w, t)
    graded = grade_account(figures=f, qualitative=q, rules=rules)
    order = [AccountGrade.C, AccountGrade.B, AccountGrade.A]
    if graded.grade == AccountGrade.A:
        assert graded.move_up == []
        return
    target = order[order.index(graded.grade) + 1]
    for move in graded.move_up:
        key, to = move["criterion"], round(move["to_points"] * 100)
        weight = rules.weights[key]

        def units(points: int, key: str = key, weight: int = weight) -> int:
            return graded.score_units - graded.points[key] * weight + points * weight

        # then with that criterion at the points named the account reaches the next grade
        assert rules.grade_of(units(to)) == target or rules.grade_of(units(to)) > target
        assert units(to) >= rules.threshold(target) * SCALE
        # and one step less does not (a hundredth of a point; a whole point for a manager's)
        step = 100 if key in {str(c) for c in QUALITATIVE} else 1
        assert units(to - step) < rules.threshold(target) * SCALE
        # and for a quantitative criterion, the figure named gives exactly those points
        if key in {str(c) for c in QUANTITATIVE}:
            from quanwang.enterprise.grading.grades import scale_points

            assert scale_points(move["to_figure"], rules.scales[key], missing=0) >= to - 1
    # every criterion left out could not do it alone
    named = {m["criterion"] for m in graded.move_up}
    for key, weight in rules.weights.items():
        if key in named or weight == 0:
            continue
        best = graded.score_units - graded.points[key] * weight + FULL * weight
        assert best < rules.threshold(target) * SCALE or graded.points[key] == FULL
    # the first is the smallest change
    changes = [m["change_points"] for m in graded.move_up]
    assert changes == sorted(changes)


def test_weights_not_summing_to_100_are_refused_naming_them(tree: factories.Tree) -> None:
    # given weights that add up to 95
    w = {str(k): v for k, v in DEFAULT_RULES.weights.items()}
    w["revenue"] -= 5
    # when the province saves them
    with pytest.raises(ServiceError) as caught:
        save_rule_set(actor=None, province=tree.province, rules=Rules(weights=w))
    # then they are refused, naming each weight and the sum, and nothing is saved
    assert caught.value.field == "weights"
    assert "95%" in caught.value.message
    assert "25%" in caught.value.message
    assert current_rule_set(tree.province).version == 1


def test_only_a_grant_at_the_root_saves_rules(tree: factories.Tree) -> None:
    # given a county manager (rules: read only) and an admin of the province
    county = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
    rules = Rules(weights={str(k): v for k, v in DEFAULT_RULES.weights.items()}, a_min=80)
    # when each saves, then the county manager is refused as if nothing were there
    with pytest.raises(NotFound):
        save_rule_set(actor=county, province=tree.province, rules=rules)
    saved = save_rule_set(actor=admin, province=tree.province, rules=rules)
    assert saved.version == 1
    assert current_rule_set(tree.province).a_min == 80


def _accounts(tree: factories.Tree) -> dict[str, Account]:
    place(world())
    return {e: ent.account(at=tree.grid_a, enterprise_id=e) for e in ("E1", "E2", "E3")}


def test_regrade_writes_each_account_grade_with_its_explanation(tree: factories.Tree) -> None:
    # given three accounts in the warehouse, and a manager's score of E1's strategic importance
    accounts = _accounts(tree)
    manager = factories.user(role=Role.ACCOUNT_MANAGER, at=tree.grid_a)
    staff = factories.staff(at=tree.grid_a)
    staff.user = manager
    staff.save()
    ent.on_team(account=accounts["E1"], staff=staff)
    score_account(
        user=manager,
        account_pk=accounts["E1"].pk,
        criterion="strategic",
        score=90,
        comment="市重点物流园区",
    )
    # when June is graded
    run = regrade(month=MONTH)
    # then every account has June's grade, its contributions, thresholds and service level
    assert run.accounts == 3
    assert sum(run.by_grade.values()) == 3
    e1 = AccountGrading.objects.get(account=accounts["E1"], month=MONTH)
    assert e1.contributions["strategic"]["source"] == "manager"
    assert e1.contributions["strategic"]["points"] == 90
    assert e1.contributions["cooperation"]["source"] == "default"
    assert sum(Decimal(str(c["contribution"])) for c in e1.contributions.values()) == e1.score
    assert e1.thresholds == {"a_min": 70, "b_min": 45}
    assert e1.rule_set_version == 1
    # and the account file follows the grade and its service level
    account = Account.objects.get(pk=accounts["E1"].pk)
    assert account.grade == e1.grade
    assert (
        account.service_level
        == {
            "A": ServiceLevel.RELATIONSHIP,
            "B": ServiceLevel.SOLUTION,
            "C": ServiceLevel.PROACTIVE,
        }[e1.grade]
    )
    if e1.grade != AccountGrade.A:
        assert e1.move_up
        assert e1.move_up[0]["change_points"] > 0


def test_regrade_twice_gives_the_same_rows_and_counts_runs(tree: factories.Tree) -> None:
    _accounts(tree)
    first = list(AccountGrading.objects.values_list("account_id", "grade", "score"))
    regrade(month=MONTH)
    first = list(AccountGrading.objects.order_by("account_id").values_list("grade", "score"))
    run = regrade(month=MONTH)
    again = list(AccountGrading.objects.order_by("account_id").values_list("grade", "score"))
    assert first == again
    assert run.runs == 2
    assert GradingRun.objects.count() == 1


def test_regrade_of_a_month_without_usage_names_the_months(tree: factories.Tree) -> None:
    _accounts(tree)
    with pytest.raises(ServiceError) as caught:
        regrade(month="2023-01")
    assert "2024-06" in caught.value.message
    assert caught.value.field == "month"
    with pytest.raises(ServiceError):
        regrade(month="June")


def test_the_nightly_step_grades_the_snapshot_month(tree: factories.Tree) -> None:
    from quanwang.core import nightly

    # given accounts in the warehouse
    _accounts(tree)
    step = next(s for s in nightly.steps() if s.name == "enterprise.grading")

    class Snapshot:
        month = "2024-09"  # after the data: the newest month of usage is graded
        engine = "duckdb"

    # when the nightly pipeline runs its step
    result = step.run(Snapshot())
    # then June is graded and the account features are kept
    assert result is not None
    assert result["month"] == MONTH
    assert result["accounts_graded"] == 3
    assert AccountGrading.objects.filter(month=MONTH).count() == 3


def test_qualitative_scores_keep_history_and_refuse_bad_input(tree: factories.Tree) -> None:
    # given an account manager on E1's team, and an outsider of the other city
    accounts = _accounts(tree)
    manager = factories.user(role=Role.ACCOUNT_MANAGER, at=tree.grid_a)
    staff = factories.staff(at=tree.grid_a)
    staff.user = manager
    staff.save()
    ent.on_team(account=accounts["E1"], staff=staff)
    outsider = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_b)
    pk = accounts["E1"].pk
    # when the manager scores twice with one key (a double click), then once more
    a = score_account(
        user=manager, account_pk=pk, criterion="cooperation", score=60, comment="愿意合作",
        idempotency_key="k1",
    )  # fmt: skip
    b = score_account(
        user=manager, account_pk=pk, criterion="cooperation", score=60, comment="愿意合作",
        idempotency_key="k1",
    )  # fmt: skip
    score_account(
        user=manager, account_pk=pk, criterion="cooperation", score=80, comment="签约意向"
    )
    # then one row a click, both kept, the newest counts
    assert a.pk == b.pk
    assert QualitativeScore.objects.count() == 2
    run_rules = current_rule_set(tree.province)
    assert run_rules.version == 1
    regrade(month=MONTH)
    e1 = AccountGrading.objects.get(account_id=pk, month=MONTH)
    assert e1.contributions["cooperation"]["points"] == 80
    # and bad input is refused naming the field; an outsider finds nothing
    for bad, field in (
        ({"criterion": "revenue"}, "criterion"),
        ({"score": 101}, "score"),
        ({"comment": " "}, "comment"),
    ):
        kwargs: dict[str, Any] = {"criterion": "potential", "score": 50, "comment": "潜力较大"}
        with pytest.raises(ServiceError) as caught:
            score_account(user=manager, account_pk=pk, **(kwargs | bad))
        assert caught.value.field == field
    with pytest.raises(NotFound):
        score_account(
            user=outsider, account_pk=pk, criterion="potential", score=1, comment="无关人员"
        )


@pytest.fixture
def shared_db(transactional_db: None, settings: Any) -> Any:
    """The test database where other threads' connections see it (tests.processes)."""
    from tests.processes import database_shared_with_processes

    with database_shared_with_processes(settings):
        yield


def test_two_regrades_at_once_write_one_history(shared_db: None) -> None:
    import threading

    from django.db import connections

    # given accounts in the warehouse
    tree = factories.Tree()
    _accounts(tree)
    current_rule_set(tree.province)
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run() -> None:
        try:
            start.wait()
            regrade(month=MONTH)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    # when two re-grades of June run at the same moment
    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    # then both succeed and June holds one grade per account and one run, run twice
    assert not errors, errors
    assert AccountGrading.objects.filter(month=MONTH).count() == 3
    assert GradingRun.objects.get(month=MONTH).runs == 2


def test_the_command_grades_a_month_and_says_how_many(tree: factories.Tree) -> None:
    from io import StringIO

    from django.core.management import call_command

    # given accounts in the warehouse
    _accounts(tree)
    out = StringIO()
    # when the operator runs `quanwang regrade-accounts --month 2024-06`
    call_command("regrade-accounts", month=MONTH, stdout=out)
    # then June is graded and the command says so
    assert AccountGrading.objects.filter(month=MONTH).count() == 3
    assert MONTH in out.getvalue()
