"""The post-evaluation report (事后评估报告): XLSX figures read back, a PDF with its font."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from django.utils import translation
from openpyxl import load_workbook
from pypdf import PdfReader

from quanwang.campaigns.choices import CampaignType, Channel
from quanwang.campaigns.evaluation import (
    CampaignCosts,
    Evaluation,
    RevenueEstimate,
    evaluate,
)
from quanwang.campaigns.report import (
    BREAKDOWN,
    CampaignInfo,
    report_html,
    report_pdf,
    report_xlsx,
    write_report,
)
from quanwang.campaigns.report_labels import Column, Metric, Sheet
from quanwang.core.pdf import DEFAULT_FONT, font_face_css
from quanwang.insight.choices import ValueTier
from tests.campaigns.test_evaluation import stratified

CAMPAIGN = CampaignInfo(
    name="广州天河合约到期维系行动",
    campaign_type=CampaignType.RETENTION,
    hypothesis="合约3个月内到期的中高价值客户，主动续约优惠可降低离网",
    objective="到期客户续约率提升5个百分点，2024-10-31前",
    window_start=date(2024, 9, 1),
    window_end=date(2024, 10, 31),
    segment="近3月ARPU ≥ 80 且 合约3个月内到期",
    offers=("续约送流量", "积分加倍"),
    channels=(Channel.SMS, Channel.OUTBOUND_CALL),
    budget=250_000.0,
)
GRID_NAMES = {"G1": "天河北网格", "G2": "珠江新城网格"}


@pytest.fixture(scope="module")
def evaluation() -> Evaluation:
    table = stratified(np.random.default_rng(11), 40_000)
    # A grid with a handful of customers: its intervals are "too few".
    tiny = stratified(np.random.default_rng(12), 100)
    tiny = tiny.set_column(tiny.schema.get_field_index("grid_id"), "grid_id", [["G9"] * 100])
    return evaluate(
        audience=pa.concat_tables([table, tiny]),
        costs=CampaignCosts(
            offer_cost_per_taker=20.0,
            contact_cost_per_contact=0.05,
            contact_cost_by_channel={"outbound_call": 2.0},
        ),
        estimate=RevenueEstimate(low=10_000.0, expected=40_000.0, high=80_000.0),
    )


def rows_by_label(sheet: Any) -> dict[str, tuple[Any, ...]]:
    return {row[0]: row[1:] for row in sheet.iter_rows(values_only=True) if row and row[0]}


def test_the_xlsx_holds_the_evaluations_figures(evaluation: Evaluation) -> None:
    translation.activate("en")  # labels as their msgids, whatever the catalogue says
    try:
        check_workbook(evaluation)
    finally:
        translation.deactivate()


def check_workbook(evaluation: Evaluation) -> None:
    book = load_workbook(io.BytesIO(report_xlsx(
        evaluation=evaluation, campaign=CAMPAIGN, org_unit_names=GRID_NAMES
    )))  # fmt: skip
    # The store-grade and grid-type sheets come only with those breakdowns (none here).
    sheets = [str(s.label) for s in Sheet if s not in (Sheet.STORE_GRADE, Sheet.GRID_TYPE)]
    summary = rows_by_label(book[str(Sheet.SUMMARY.label)])
    label = {m: str(m.label) for m in Metric}
    columns = [str(Column.KEY.label), *(str(c.label) for c, _v, _f in BREAKDOWN)]
    assert book.sheetnames == sheets == [
        "Summary (总览)", "By tier (分层)", "By org unit (单位)", "By channel (渠道)"
    ]  # fmt: skip

    o = evaluation.overall
    assert summary["Campaign"][0] == CAMPAIGN.name
    assert summary["Budget (yuan)"][0] == 250_000.0
    assert summary[label[Metric.TREATED]][0] == o.treated.size
    assert summary[label[Metric.CONTROL]][0] == o.control.size
    assert o.uplift_ci is not None
    assert summary[label[Metric.UPLIFT]][:3] == pytest.approx(
        (o.uplift, o.uplift_ci.low, o.uplift_ci.high)
    )
    assert summary[label[Metric.INCREMENTAL_REVENUE]][0] == pytest.approx(o.incremental_revenue)
    assert summary[label[Metric.COSTS]][0] == pytest.approx(o.costs.total)
    assert summary[label[Metric.ROI]][0] == pytest.approx(o.roi)
    assert summary[label[Metric.ESTIMATE_EXPECTED]][0] == 40_000.0
    assert evaluation.estimate is not None
    position = summary[label[Metric.ESTIMATE_POSITION]][0]
    assert position == str(evaluation.estimate.position.label)

    tiers = list(book[sheets[1]].iter_rows(values_only=True))
    assert list(tiers[0]) == columns
    assert [row[0] for row in tiers[1:]] == [str(t.label) for t in ValueTier]
    uplift = columns.index(str(Column.UPLIFT.label))
    assert [row[uplift] for row in tiers[1:]] == pytest.approx(
        [c.uplift for c in evaluation.by_tier]
    )

    units = {row[0]: row for row in book[sheets[2]].iter_rows(min_row=2, values_only=True)}
    assert set(units) == {"天河北网格", "珠江新城网格", "G3", "G4", "G5", "G9"}
    low = columns.index(str(Column.UPLIFT_LOW.label))
    assert units["G9"][low] == "too few"
    assert units["G9"][uplift] is not None  # the point estimate is still shown

    channels = list(book[sheets[3]].iter_rows(min_row=2, values_only=True))
    treated = columns.index(str(Column.TREATED.label))
    control = columns.index(str(Column.CONTROL.label))
    assert sum(row[treated] for row in channels) == o.treated.size
    assert {row[control] for row in channels} == {o.control.size}
    costs = columns.index(str(Column.COSTS.label))
    call = next(c for c in evaluation.by_channel if c.key == "outbound_call")
    assert call.costs.contact == pytest.approx(2.0 * call.treated.size)
    assert sum(row[costs] for row in channels) == pytest.approx(o.costs.total)


def test_the_pdf_embeds_its_chinese_font_and_says_the_campaigns_name(
    evaluation: Evaluation, tmp_path: Path
) -> None:
    files = write_report(
        evaluation=evaluation,
        campaign=CAMPAIGN,
        directory=tmp_path / "reports",
        stem="campaign-42",
        org_unit_names=GRID_NAMES,
    )

    data = files.pdf.read_bytes()
    assert data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(data))
    embedded = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            for descendant in font.get_object().get("/DescendantFonts", []):
                descriptor = descendant.get_object()["/FontDescriptor"].get_object()
                if "/FontFile2" in descriptor or "/FontFile3" in descriptor:
                    embedded.add(str(descriptor["/FontName"]))
    assert embedded, "no embedded font"
    text = "".join(page.extract_text() for page in reader.pages)
    assert CAMPAIGN.name in text
    assert "天河北网格" in text
    assert CAMPAIGN.hypothesis in text
    assert files.xlsx.read_bytes().startswith(b"PK")  # a zip: the XLSX beside it


def test_the_html_of_an_evaluation_without_control_says_why() -> None:
    table = pa.table({"group": ["treated"] * 50, "responded": [True] * 5 + [False] * 45,
                      "revenue": [10.0] * 50})  # fmt: skip
    lonely = evaluate(audience=table, costs=CampaignCosts(
        offer_cost_per_taker=1, contact_cost_per_contact=0.1))  # fmt: skip

    with translation.override("en"):
        html = report_html(evaluation=lonely, campaign=CAMPAIGN)
        pdf = report_pdf(evaluation=lonely, campaign=CAMPAIGN)

    assert "No control group: the uplift cannot be measured" in html
    assert pdf.startswith(b"%PDF")


def test_the_font_is_the_one_named_else_debians(settings: Any, tmp_path: Path) -> None:
    # given no font named (QUANWANG_PDF_FONT unset: an empty setting)
    settings.QUANWANG_PDF_FONT = ""
    # then the PDFs embed Debian's file (make test installs it)
    assert DEFAULT_FONT.as_uri() in font_face_css()
    # and a font named by the setting is the one embedded
    named = tmp_path / "cjk.ttf"
    named.write_bytes(b"font")
    settings.QUANWANG_PDF_FONT = str(named)
    assert named.as_uri() in font_face_css()
