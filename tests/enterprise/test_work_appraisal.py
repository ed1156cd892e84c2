"""Appraisal facts per manager and month: each figure is the sum of the rows its facts page
lists (and its XLSX holds)."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from typing import Any

import pytest
from openpyxl import load_workbook

from quanwang.core.errors import ServiceError
from quanwang.enterprise.models import Opportunity
from quanwang.enterprise.pipeline.choices import OpportunityStage, OpportunityStatus
from quanwang.enterprise.work.choices import AppraisalMeasure
from quanwang.enterprise.work.services import appraisal
from tests import factories
from tests.enterprise.work_world import build, visit

MONTH = "2026-06"


def _won(world: Any, *, on: dt.date, fen: int, owner: Any = None) -> Opportunity:
    return Opportunity.objects.create(
        account=world.a, owner=owner or world.am, title=f"专线{fen}", stage=OpportunityStage.WON,
        status=OpportunityStatus.WON, amount_fen=fen, probability=100, expected_close=on,
        closed_on=on, idempotency_key=str(uuid.uuid4()),
    )  # fmt: skip


def test_each_figure_adds_up_from_its_rows(tree: factories.Tree) -> None:
    world = build(tree)
    # Given three visits in June (one to another month) and two opportunities won in June
    for day in (3, 10, 24):
        visit(account=world.a, visitor=world.am, on=dt.date(2026, 6, day))
    visit(account=world.b, visitor=world.am, on=dt.date(2026, 5, 30))
    visit(account=world.far, visitor=world.other, on=dt.date(2026, 6, 5))
    _won(world, on=dt.date(2026, 6, 8), fen=120_000)
    _won(world, on=dt.date(2026, 6, 20), fen=30_000)
    _won(world, on=dt.date(2026, 7, 1), fen=99_900)
    # When the facts are read
    facts = appraisal.appraisal_facts(staff=world.am, month=MONTH)
    # Then visits done are June's three, against a plan of 30/14 + 30/30 + 30/90 for A, B, C
    assert facts["visits_done"] == 3
    assert facts["visits_planned"] == pytest.approx(2.14 + 1.0 + 0.33)
    assert facts["visit_plan_rate"] == pytest.approx(3 / 3.47, abs=1e-3)
    assert (facts["opportunities_won"], facts["won_amount_fen"]) == (2, 150_000)
    # And each figure's rows add up to it
    done = appraisal.fact_rows(staff=world.am, month=MONTH, measure=AppraisalMeasure.VISITS_DONE)
    assert len(done.rows) == facts["visits_done"]
    planned = appraisal.fact_rows(
        staff=world.am, month=MONTH, measure=AppraisalMeasure.VISITS_PLANNED
    )
    assert sum(r[-1] for r in planned.rows) == pytest.approx(facts["visits_planned"])
    won = appraisal.fact_rows(
        staff=world.am, month=MONTH, measure=AppraisalMeasure.OPPORTUNITIES_WON
    )
    assert len(won.rows) == 2
    assert sum(r[-1] for r in won.rows) * 100 == facts["won_amount_fen"]


def test_revenue_and_retention_come_from_the_account_features(
    tree: factories.Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = build(tree)
    a, b, c = world.a.enterprise_id, world.b.enterprise_id, world.c.enterprise_id
    kept = {
        "2026-06": {
            a: {"revenue_fen": 110_000, "members": 100, "churned_members": 5},
            b: {"revenue_fen": 50_000, "members": 20, "churned_members": 0},
            c: {"revenue_fen": 0, "members": 0, "churned_members": 0},
        },
        "2026-05": {a: {"revenue_fen": 100_000}, b: {"revenue_fen": 50_000}},
    }

    def features(*, enterprise_ids: list[str], month: str | None = None) -> dict[str, dict]:
        found = kept.get(month or "", {})
        return {e: found[e] | {"month": month} for e in enterprise_ids if e in found}

    # The grading part's reader stands in with its kept figures: its own tests build the file.
    monkeypatch.setattr(appraisal, "revenue_features", features)
    facts = appraisal.appraisal_facts(staff=world.am, month=MONTH)
    assert (facts["revenue_previous_fen"], facts["revenue_fen"]) == (150_000, 160_000)
    assert facts["revenue_growth"] == pytest.approx(10_000 / 150_000, abs=1e-4)
    assert (facts["members_start"], facts["members_churned"]) == (120, 5)
    assert facts["member_retention"] == pytest.approx(115 / 120, abs=1e-4)
    revenue = appraisal.fact_rows(staff=world.am, month=MONTH, measure=AppraisalMeasure.REVENUE)
    assert sum(r[3] for r in revenue.rows) * 100 == facts["revenue_fen"]
    retention = appraisal.fact_rows(staff=world.am, month=MONTH, measure=AppraisalMeasure.RETENTION)
    assert sum(r[3] for r in retention.rows) == facts["members_churned"]


def test_without_account_features_revenue_is_left_out_not_zero(tree: factories.Tree) -> None:
    world = build(tree)
    facts = appraisal.appraisal_facts(staff=world.am, month=MONTH)
    assert facts["revenue_fen"] is None
    assert facts["member_retention"] is None
    rows = appraisal.fact_rows(staff=world.am, month=MONTH, measure=AppraisalMeasure.REVENUE)
    assert not rows.available


def test_a_bad_month_names_the_field(db: None) -> None:
    with pytest.raises(ServiceError) as refused:
        appraisal.month_bounds("2026-13")
    assert refused.value.field == "month"


def test_the_facts_page_and_its_xlsx_hold_the_rows(tree: factories.Tree, login: Any) -> None:
    world = build(tree)
    for day in (3, 10):
        visit(account=world.a, visitor=world.am, on=dt.date(2026, 6, day))
    client = login(world.county_user)
    summary = client.get(f"/enterprise/managers/{world.am.pk}/appraisal/?month={MONTH}")
    assert summary.status_code == 200
    assert summary.context["f"]["visits_done"] == 2
    page = client.get(f"/enterprise/managers/{world.am.pk}/appraisal/visits_done/?month={MONTH}")
    assert page.status_code == 200
    assert len(page.context["rows"]) == 2
    xlsx = client.get(
        f"/enterprise/managers/{world.am.pk}/appraisal/visits_done/xlsx/?month={MONTH}"
    )
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.max_row == 3  # the header and the two visits
    # Another county's manager's facts are not found; an unknown figure neither
    assert client.get(f"/enterprise/managers/{world.other.pk}/appraisal/").status_code == 404
    assert client.get(f"/enterprise/managers/{world.am.pk}/appraisal/bonus/").status_code == 404
