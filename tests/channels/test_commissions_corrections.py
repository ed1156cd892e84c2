"""Approved statements are frozen: late corrections come back as adjustment lines in the next
statement, re-runs give identical lines, and a store's months close in order."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from quanwang.channels.commissions.choices import StatementStatus
from quanwang.channels.commissions.services import runs
from quanwang.channels.commissions.services.rules import RuleTerms
from quanwang.channels.models import CommissionRun, CommissionStatement
from quanwang.core.errors import ServiceError
from quanwang.data.warehouse import Warehouse
from tests import factories
from tests.channels.test_commissions_world import FIXED_50, World, write_table

D = Decimal


def test_a_late_sale_refund_and_change_on_a_frozen_month_become_adjustments_next_month(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # given June approved with two sales (A1, A2) paying 50 each
    world = World(tree, tmp_path)
    world.rules(FIXED_50, RuleTerms(product="5G套餐", fixed_amount=D("80")))
    world.sale("A1", "2024-06-03")
    world.sale("A2", "2024-06-04")
    world.put()
    world.close("2024-06")
    june = world.statement("2024-06")
    assert june is not None
    assert june.total == D("100.00")
    frozen_lines = world.lines("2024-06")
    # when late facts dated in June arrive: a sale added, A1 refunded, A2 corrected to 5G套餐
    world.sale("L1", "2024-06-20")
    world.refund("R1", "2024-06-25", "A1")
    world.sale("A2", "2024-06-04", product="5G套餐")
    world.put()
    rerun = world.run("2024-06")
    world.run("2024-07")
    # then re-running June changes nothing: its statement is frozen
    assert rerun["frozen_stores"] == 1
    assert rerun["statements"] == 0
    june.refresh_from_db()
    assert june.status == StatementStatus.APPROVED
    assert june.total == D("100.00")
    assert world.lines("2024-06") == frozen_lines
    # and July carries each correction as an adjustment for June
    july = world.lines("2024-07")
    assert {
        (r["sale_id"], r["kind"], r["due_month"], r["amount"], r["adjustment"]) for r in july
    } == {
        ("L1", "upfront", "2024-06", D("50.00"), True),
        ("A1", "upfront", "2024-06", D("-50.00"), True),
        ("A2", "upfront", "2024-06", D("30.00"), True),
    }
    a2 = next(r for r in july if r["sale_id"] == "A2")
    assert (a2["due_amount"], a2["paid_before"]) == (D("80.00"), D("50.00"))
    statement = world.statement("2024-07")
    assert statement is not None
    assert statement.adjustment_total == D("30.00")


def test_a_correction_is_paid_once_not_again_in_later_months(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # given a late June sale adjusted in July's approved statement
    world = World(tree, tmp_path)
    world.rules(FIXED_50)
    world.sale("A1", "2024-06-03")
    world.put()
    world.close("2024-06")
    world.sale("L1", "2024-06-20")
    world.put()
    world.close("2024-07")
    # when August is computed
    world.run("2024-08")
    # then nothing is paid again
    assert world.statement("2024-08") is None
    assert world.paying("2024-07") == [("L1", "upfront", "2024-06", D("50.00"))]


def test_a_rerun_gives_identical_lines_and_file(tree: factories.Tree, tmp_path: Path) -> None:
    # given June computed once
    world = World(tree, tmp_path)
    world.rules(FIXED_50)
    for n in range(5):
        world.sale(f"A{n}", f"2024-06-0{n + 1}", store="S1" if n % 2 else "S2")
    world.refund("R1", "2024-06-09", "A1")
    world.put()
    first = world.run("2024-06")
    before = {s.store_id: s.fingerprint for s in CommissionStatement.objects.all()}
    # when it is computed again with the same facts
    second = world.run("2024-06")
    # then the lines file is byte-identical and so is every statement's fingerprint
    assert first["lines_sha256"] == second["lines_sha256"]
    assert {s.store_id: s.fingerprint for s in CommissionStatement.objects.all()} == before
    # and the first attempt's file is pruned: only the statements' file remains
    files = list((Path(settings.VAR_DIR) / "commissions" / "2024-06").glob("*/lines.parquet"))
    assert len(files) == 1


def test_a_store_waits_for_its_earlier_statement_to_be_approved(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # given June computed but not approved
    world = World(tree, tmp_path)
    world.rules(FIXED_50)
    world.sale("A1", "2024-06-03")
    world.sale("A2", "2024-07-03")
    world.put()
    world.run("2024-06")
    # when July is computed
    result = world.run("2024-07")
    # then the store gets no July statement until June is approved
    assert result["waiting_stores"] == 1
    assert world.statement("2024-07") is None
    world.approve("2024-06")
    world.run("2024-07")
    assert world.paying("2024-07") == [("A2", "upfront", "2024-07", D("50.00"))]


def test_nobody_approves_statements_they_computed(tree: factories.Tree, tmp_path: Path) -> None:
    # given June computed by the runner
    world = World(tree, tmp_path)
    world.rules(FIXED_50)
    world.sale("A1", "2024-06-03")
    world.put()
    world.run("2024-06")
    # when the runner approves
    with translation.override("en"), pytest.raises(ServiceError, match="computed"):
        runs.approve_statements(actor=world.runner, month="2024-06")
    # then it stays computed, and another approver may
    assert world.statement("2024-06").status == StatementStatus.COMPUTED  # type: ignore[union-attr]
    assert world.approve("2024-06") == 1


def test_a_county_manager_may_not_approve(tree: factories.Tree, tmp_path: Path) -> None:
    # given June computed, and a county manager (view only) over the store
    from quanwang.core.choices import Role

    world = World(tree, tmp_path)
    world.rules(FIXED_50)
    world.sale("A1", "2024-06-03")
    world.put()
    world.run("2024-06")
    viewer = factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a)
    # when they approve the month
    approved = runs.approve_statements(actor=viewer, month="2024-06")
    # then nothing is approved
    assert approved == 0
    assert world.statement("2024-06").status == StatementStatus.COMPUTED  # type: ignore[union-attr]


def test_a_second_start_while_a_run_is_queued_returns_the_same_job(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # given a run of June queued for the worker
    world = World(tree, tmp_path)
    first = runs.start_run(actor=world.runner, month="2024-06", background=False)
    # when someone starts June again
    second = runs.start_run(actor=world.admin, month="2024-06", background=False)
    # then it is the same job: one run, no duplicate statements
    assert second.pk == first.pk
    assert CommissionRun.objects.filter(month="2024-06").count() == 1


def test_a_job_finding_the_month_held_by_another_live_run_stops(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # given June held by a queued job
    from quanwang.core.choices import JobKind, JobStatus
    from quanwang.core.jobs import execute_job
    from quanwang.core.services.jobs import start_job

    world = World(tree, tmp_path)
    world.rules(FIXED_50)
    world.sale("A1", "2024-06-03")
    world.put()
    holder = runs.start_run(actor=world.runner, month="2024-06", background=False)
    # when a second job of the same month (started around the lock) runs
    intruder = start_job(
        actor=world.admin,
        kind=JobKind.RUN_COMMISSIONS,
        org_unit=tree.province,
        params={"month": "2024-06"},
        background=False,
    )
    finished = execute_job(job_id=intruder.pk)
    # then it fails naming the holder, and writes no statement
    assert finished.status == JobStatus.FAILED
    assert f"#{holder.pk}" in finished.error
    assert CommissionStatement.objects.count() == 0
    # and the holder still runs to the end
    assert execute_job(job_id=holder.pk).status == JobStatus.SUCCEEDED
    assert CommissionStatement.objects.count() == 1


def test_a_month_before_the_first_statements_is_refused(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # given statements from June on, and an April sale never paid in Quanwang
    world = World(tree, tmp_path)
    world.rules(FIXED_50)
    world.sale("A0", "2024-04-03")
    world.sale("A1", "2024-06-03")
    world.put()
    world.close("2024-06")
    # when April is started
    with pytest.raises(ServiceError, match="2024-06"):
        runs.start_run(actor=world.runner, month="2024-04", background=False)
    # then July does not pay April as if it were owed
    world.run("2024-07")
    assert world.statement("2024-07") is None


def test_a_month_not_begun_is_refused(tree: factories.Tree, tmp_path: Path) -> None:
    world = World(tree, tmp_path)
    with translation.override("en"), pytest.raises(ServiceError, match="not begun"):
        runs.start_run(actor=world.runner, month="2999-01", background=False)
    with pytest.raises(ServiceError):
        runs.start_run(actor=world.runner, month="2024-13", background=False)


MONTHS = ["2024-05", "2024-06", "2024-07", "2024-08"]


@st.composite
def histories(draw: st.DrawFn) -> list[tuple[int, str, list[tuple[int, int, str]]]]:
    """Sales (month index, id) with their refunds/reversals (known from month index, dated in
    month index, kind): some arrive late, dated in a month already approved."""
    sales = []
    for n in range(draw(st.integers(1, 6))):
        sold = draw(st.integers(0, len(MONTHS) - 1))
        cancels = []
        for _k in range(draw(st.integers(0, 3))):
            dated = draw(st.integers(sold, len(MONTHS) - 1))
            known = draw(st.integers(dated, len(MONTHS) - 1))
            cancels.append((known, dated, draw(st.sampled_from(["退款", "冲正"]))))
        sales.append((sold, f"A{n}", cancels))
    return sales


@pytest.mark.django_db
def test_whatever_the_refunds_a_sale_is_paid_once_or_not_at_all(tmp_path: Path) -> None:
    tree = factories.Tree()
    world = World(tree, tmp_path)
    world.rules(FIXED_50)

    @hypothesis_settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
    @given(histories())
    def check(history: list[tuple[int, str, list[tuple[int, int, str]]]]) -> None:
        # given a fresh ledger and sales whose refunds and reversals come in over the months
        CommissionStatement.objects.all().delete()
        CommissionRun.objects.all().delete()
        for month_index, month in enumerate(MONTHS):
            world.sales.clear()
            for sold, sale_id, cancels in history:
                world.sale(sale_id, f"{MONTHS[sold]}-10")
                for n, (known, dated, kind) in enumerate(cancels):
                    if known <= month_index:
                        world.refund(f"{sale_id}-C{n}", f"{MONTHS[dated]}-1{n}", sale_id, kind=kind)
            if not world.sales:
                write_table("channel_sales", [], world.directory)
            else:
                world.put()
            # when each month is computed and approved in turn
            world.close(month)
        # then a sale refunded or reversed by the end is paid nothing in all, any other 50
        paid: dict[str, Decimal] = {}
        for month in MONTHS:
            for sale_id, _kind, _due, amount in world.paying(month):
                paid[sale_id] = paid.get(sale_id, D(0)) + amount
        for _sold, sale_id, cancels in history:
            expected = D(0) if cancels else D(50)
            assert paid.get(sale_id, D(0)) == expected, (sale_id, history)

    check()
    assert Warehouse().count("channel_sales") >= 1
