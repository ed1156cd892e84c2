"""Evaluation through the channels: results by store grade and by grid type, each cell against
its control customers where it has enough of them (evaluation.MIN_CELL), on the page, in the
XLSX and in the PDF."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from django.urls import reverse
from openpyxl import load_workbook
from pypdf import PdfReader

from quanwang.campaigns.choices import CampaignState, ContactOutcome, GridType
from quanwang.campaigns.evaluation import MIN_CELL, CampaignCosts, Caveat, evaluate
from quanwang.campaigns.evaluation_summary import read_summary
from quanwang.campaigns.models import Campaign, TaskOutcome
from quanwang.campaigns.report_labels import Sheet
from quanwang.campaigns.services import evaluate_campaign, evaluation_table
from quanwang.campaigns.services.evaluating import summary_file
from quanwang.channels.choices import StoreGrade
from quanwang.core.choices import Role
from quanwang.data.importer import import_file
from tests import factories
from tests.campaigns.channel_support import campaign_of_files, responses, store, task_plan

NO_COSTS = CampaignCosts(offer_cost_per_taker=0.0, contact_cost_per_contact=0.0)


def _rows(grade: str | None, grid_type: str, group: str, size: int, takers: int) -> list[dict]:
    return [
        {"group": group, "responded": i < takers, "revenue": 0.0, "store_grade": grade,
         "grid_type": grid_type}
        for i in range(size)
    ]  # fmt: skip


def test_each_grade_and_grid_type_is_compared_with_its_own_control_customers() -> None:
    # Given key stores' customers: 20 treated (6 took) against 10 control (1 took); small
    # stores': 12 treated (3 took) against 4 control (1 took); all of them in street grids but
    # the small stores' control, in campus grids
    table = pa.Table.from_pylist(
        _rows("重点店", "沿街", "treated", 20, 6)
        + _rows("重点店", "沿街", "control", 10, 1)
        + _rows("芝麻店", "沿街", "treated", 12, 3)
        + _rows("芝麻店", "校园", "control", 4, 1)
    )

    # When it is evaluated
    result = evaluate(
        audience=table, costs=NO_COSTS, grade_order=StoreGrade.values,
        grid_type_order=GridType.values,
    )  # fmt: skip

    # Then key stores: 30% against 10%, +20 points, 4 incremental takers (0.2 × 20), compared
    # but without an interval (under 30 a group)
    key, small = result.by_store_grade
    assert key.key == "重点店"
    assert (key.treated.size, key.control.size) == (20, 10)
    assert key.uplift == pytest.approx(0.20)
    assert key.incremental_responders == pytest.approx(4.0)
    assert key.uplift_ci is None
    assert Caveat.TOO_FEW in key.caveats
    # And small stores: 4 control customers are under MIN_CELL: no comparison, treated only
    assert small.key == "芝麻店"
    assert MIN_CELL > 4
    assert (small.treated.size, small.treated.responders) == (12, 3)
    assert small.uplift is None
    assert small.incremental_responders is None
    assert Caveat.TOO_FEW_TO_COMPARE in small.caveats
    assert Caveat.TOO_FEW not in small.caveats
    # And by grid type: street grids 32 treated (9 took) against 10 control (1 took); campus
    # grids have no treated customer, 4 control: not compared
    street, campus = result.by_grid_type
    assert (street.key, street.treated.size, street.control.size) == ("沿街", 32, 10)
    assert street.uplift == pytest.approx(9 / 32 - 1 / 10)
    assert (campus.key, campus.uplift) == ("校园", None)


@pytest.fixture
def channel_campaign(tree: factories.Tree, tmp_path: Path) -> Campaign:
    """Grid A (沿街): treated A1-A6, A1-A3 on ST-A1's list (重点店 in the store file), A4-A6 on
    ST-A2's (no grade in the file; 芝麻店 in the warehouse); control A7-A10. Grid B (校园):
    treated B1-B2 on no store's list, control B3. A1, A2 and A4 accepted on their tasks; A7
    and B3 (control) ordered anyway. The campaign is closed."""
    a, b = tree.grid_a, tree.grid_b
    files = factories.canonical_files(
        tmp_path,
        grids=[
            {"grid_id": a.code, "name": a.name, "grid_type": "沿街", "county_code": "X"},
            {"grid_id": b.code, "name": b.name, "grid_type": "校园", "county_code": "Y"},
        ],
        stores=[
            {"store_id": "ST-A1", "name": "甲一店", "store_type": "合作店", "grid_id": a.code},
            {"store_id": "ST-A2", "name": "甲二店", "store_type": "合作店", "grid_id": a.code,
             "grade": "芝麻店"},
        ],
    )  # fmt: skip
    for table in ("grids", "stores"):
        import_file(table_name=table, path=files[table])
    store("ST-A1", grid=a, grade="重点店")
    store("ST-A2", grid=a)
    campaign = campaign_of_files(
        org_unit=tree.province,
        audience=[
            *[(f"A{i}", a.code, i >= 7) for i in range(1, 11)],
            ("B1", b.code, False), ("B2", b.code, False), ("B3", b.code, True),
        ],
        state=CampaignState.CLOSED,
    )  # fmt: skip
    task_plan(
        campaign,
        [*[(f"A{i}", a.code, "ST-A1") for i in (1, 2, 3)],
         *[(f"A{i}", a.code, "ST-A2") for i in (4, 5, 6)],
         ("B1", b.code, None), ("B2", b.code, None)],
    )  # fmt: skip
    for subscriber in ("A1", "A2", "A4"):
        TaskOutcome.objects.create(
            campaign=campaign, subscriber_id=subscriber, org_unit=a, store_id="ST-A1",
            outcome=ContactOutcome.ACCEPTED, recorded_at="2024-07-05T10:00:00+08:00",
        )  # fmt: skip
    responses(campaign, [("A7", None, 10.0), ("B3", None, 5.0)])
    return campaign


def test_the_control_customers_are_dealt_to_stores_in_the_treateds_shares(
    channel_campaign: Campaign,
) -> None:
    table = evaluation_table(campaign=channel_campaign, strata=True)
    rows = {r["subscriber_id"]: r for r in table.to_pylist()}

    # Treated: their list's store, graded from the store file, else from the warehouse
    assert [rows[f"A{i}"]["store_grade"] for i in range(1, 7)] == ["重点店"] * 3 + ["芝麻店"] * 3
    # Control of grid A: half and half, as the treated (3 and 3 of 6 → 2 and 2 of 4)
    control = Counter(rows[f"A{i}"]["store_grade"] for i in range(7, 11))
    assert control == {"重点店": 2, "芝麻店": 2}
    # Grid B's treated are on no store's list: its control customer neither
    assert {rows[s]["store_grade"] for s in ("B1", "B2", "B3")} == {None}
    assert {rows[s]["grid_type"] for s in rows} == {"沿街", "校园"}
    assert [rows[s]["grid_type"] for s in ("A1", "B3")] == ["沿街", "校园"]


def test_the_breakdowns_reach_the_page_the_xlsx_and_the_pdf(
    channel_campaign: Campaign, tree: factories.Tree, login: Any
) -> None:
    # When the closed campaign is evaluated
    files = evaluate_campaign(campaign=channel_campaign)
    Campaign.objects.filter(pk=channel_campaign.pk).update(state=CampaignState.EVALUATED)

    # Then the page's figures hold both breakdowns: 重点店 3 treated (2 took), 2 control
    summary = read_summary(summary_file(channel_campaign.pk))
    assert summary is not None
    grades = {r["key"]: r for r in summary["breakdowns"]["store_grade"]}
    assert (grades["重点店"]["treated"], grades["重点店"]["treated_responders"]) == (3, 2)
    assert grades["重点店"]["control"] == 2
    assert grades["重点店"]["uplift"] is None  # 2 control customers: too few to compare
    assert "too_few_to_compare" in grades["重点店"]["caveats"]
    assert {r["key"] for r in summary["breakdowns"]["grid_type"]} == {"沿街", "校园"}

    # And the XLSX has a sheet for each, labelled
    book = load_workbook(files.xlsx)
    sheet = book[str(Sheet.STORE_GRADE.label)]
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == [
        "Key store", "Small store", "No store",
    ]  # fmt: skip
    assert str(Sheet.GRID_TYPE.label) in book.sheetnames

    # And the PDF reads them
    text = "".join(
        page.extract_text() for page in PdfReader(io.BytesIO(files.pdf.read_bytes())).pages
    )
    assert "Key store" in text
    assert "Street grid" in text

    # And the campaign page shows both tables, with the smallest-cell rule stated
    client = login(factories.user(role=Role.PROVINCE_ADMIN, at=tree.province))
    page = client.get(reverse("campaigns:detail", args=[channel_campaign.pk])).content.decode()
    assert 'id="breakdown-store_grade"' in page
    assert 'id="breakdown-grid_type"' in page
    assert 'id="evaluation-min-cell"' in page
