"""The post-evaluation report (事后评估报告) of a campaign, as XLSX and as PDF.

XLSX: four sheets — summary (the campaign, the overall figures with their intervals, the
revenue estimate, caveats and method), then one row per value tier, org unit and channel.
Figures are stored as numbers (with number formats), so the sheet can be recomputed from.

PDF: the same content, rendered by WeasyPrint from the Django template
campaigns/report_pdf.html. Chinese text needs a CJK font, embedded in the file so it reads
the same on a machine without one: WenQuanYi Micro Hei by default (Debian's
fonts-wqy-microhei), or the file named by settings.QUANWANG_PDF_FONT.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from openpyxl.styles import Font  # type: ignore[import-untyped]

from quanwang.campaigns.channel_strata import UNGRADED
from quanwang.campaigns.choices import CampaignType, Channel, GridType
from quanwang.campaigns.estimate_check import EstimateCheck, EstimateQuantity, estimate_notes
from quanwang.campaigns.evaluation import (
    MIN_CELL,
    Caveat,
    Comparison,
    Dimension,
    Evaluation,
    Interval,
)
from quanwang.campaigns.report_labels import Column, Field, Heading, Metric, Sheet
from quanwang.channels.choices import StoreGrade
from quanwang.core.pdf import font_face_css, html_to_pdf
from quanwang.core.tabular import append_row, new_workbook, workbook_bytes, write_private
from quanwang.insight.choices import ValueTier

PERCENT = "0.00%"
MONEY = "#,##0.00"
COUNT = "#,##0"
RATIO = "0.00"


@dataclass(frozen=True)
class CampaignInfo:
    """What the report says about the campaign; plain values, no model instances."""

    name: str
    campaign_type: CampaignType
    hypothesis: str
    objective: str
    window_start: date
    window_end: date
    segment: str
    offers: Sequence[str]
    channels: Sequence[Channel]
    budget: float


def method_notes(*, evaluation: Evaluation) -> list[str]:
    level = f"{evaluation.confidence:.0%}"
    return [
        _(
            "Response uplift: the treated response rate minus the control's, with a "
            "%(level)s Newcombe hybrid score interval (Wilson intervals of both rates)."
        )
        % {"level": level},
        _(
            "Revenue per head: treated minus control, with a %(level)s Welch t interval. "
            "Incremental responders and revenue scale these to the treated group's size."
        )
        % {"level": level},
        _(
            "ROI = (incremental revenue − costs) / costs; costs are the offer cost of each "
            "treated taker and the contact cost of each contacted customer."
        ),
        _(
            "Tiers and org units compare treated and control customers of the same stratum. "
            "The control group is never contacted, so each channel is compared with the "
            "whole control group."
        ),
        _("Groups under %(count)d customers get no interval.") % {"count": evaluation.min_group},
        _(
            "Store grades: a treated customer counts for the store whose task list they are "
            "on; the control customers of each grid are dealt to the grid's stores in the "
            "same shares, so each grade is compared with the control customers its stores "
            "would have had. Grid types compare the customers of the grids of each type."
        ),
        _(
            "A store-grade or grid-type cell with under %(count)d customers in either group "
            "is not compared with the control group: its treated figures only."
        )
        % {"count": MIN_CELL},
    ]


def _check_format(check: EstimateCheck) -> str:
    if check.quantity == EstimateQuantity.NET_REVENUE:
        return MONEY
    if check.quantity == EstimateQuantity.ROI:
        return PERCENT
    return RATIO


# --- values shared by the sheets and the PDF ----------------------------------------------


def key_label(
    *, dimension: Dimension, key: str | None, org_unit_names: Mapping[str, str] | None = None
) -> str:
    """How a stratum reads: a tier's or channel's label, an org unit's name."""
    if key is None:
        missing = {
            Dimension.CHANNEL: Heading.NO_CHANNEL,
            Dimension.STORE_GRADE: Heading.NO_STORE,
        }.get(dimension, Heading.UNKNOWN)
        return str(missing.label)
    if dimension == Dimension.TIER and key in ValueTier.values:
        return str(ValueTier(key).label)
    if dimension == Dimension.CHANNEL and key in Channel.values:
        return str(Channel(key).label)
    if dimension == Dimension.STORE_GRADE:
        if key == UNGRADED:
            return str(Heading.UNGRADED.label)
        return str(StoreGrade(key).label) if key in StoreGrade.values else key
    if dimension == Dimension.GRID_TYPE and key in GridType.values:
        return str(GridType(key).label)
    if dimension == Dimension.ORG_UNIT and org_unit_names:
        return org_unit_names.get(key, key)
    return key


def _ends(interval: Interval | None) -> tuple[float | None, float | None]:
    return (interval.low, interval.high) if interval else (None, None)


def _summary_metrics(
    evaluation: Evaluation, campaign: CampaignInfo
) -> list[tuple[Metric, float | int | str | None, Interval | None, str]]:
    """(metric, value, interval, number format) rows of the summary."""
    o = evaluation.overall
    rows: list[tuple[Metric, float | int | str | None, Interval | None, str]] = [
        (Metric.TREATED, o.treated.size, None, COUNT),
        (Metric.CONTROL, o.control.size, None, COUNT),
        (Metric.TREATED_RESPONDERS, o.treated.responders, None, COUNT),
        (Metric.CONTROL_RESPONDERS, o.control.responders, None, COUNT),
        (Metric.TREATED_RATE, o.treated.response_rate, None, PERCENT),
        (Metric.CONTROL_RATE, o.control.response_rate, None, PERCENT),
        (Metric.UPLIFT, o.uplift, o.uplift_ci, PERCENT),
        (Metric.RELATIVE_LIFT, o.relative_lift, None, PERCENT),
        (Metric.INCREMENTAL_RESPONDERS, o.incremental_responders, o.incremental_responders_ci,
         COUNT),
        (Metric.TREATED_REVENUE, o.treated.revenue_per_head, None, MONEY),
        (Metric.CONTROL_REVENUE, o.control.revenue_per_head, None, MONEY),
        (Metric.REVENUE_DIFFERENCE, o.revenue_per_head_difference,
         o.revenue_per_head_difference_ci, MONEY),
        (Metric.INCREMENTAL_REVENUE, o.incremental_revenue, o.incremental_revenue_ci, MONEY),
        (Metric.OFFER_COSTS, o.costs.offer, None, MONEY),
        (Metric.CONTACT_COSTS, o.costs.contact, None, MONEY),
        (Metric.COSTS, o.costs.total, None, MONEY),
        (Metric.NET_REVENUE, o.net_incremental_revenue,
         o.incremental_revenue_ci.scaled(1.0, -o.costs.total) if o.incremental_revenue_ci
         else None, MONEY),
        (Metric.ROI, o.roi, o.roi_ci, PERCENT),
        (Metric.BUDGET_USED, o.costs.total / campaign.budget if campaign.budget > 0 else None,
         None, PERCENT),
    ]  # fmt: skip
    estimate = evaluation.estimate
    if estimate is not None:
        rows += [
            (Metric.ESTIMATE_LOW, estimate.estimate.low, None, MONEY),
            (Metric.ESTIMATE_EXPECTED, estimate.estimate.expected, None, MONEY),
            (Metric.ESTIMATE_HIGH, estimate.estimate.high, None, MONEY),
            (Metric.ESTIMATE_POSITION, str(estimate.position.label), None, "@"),
            (Metric.ESTIMATE_RATIO, estimate.ratio_to_expected, None, PERCENT),
        ]
    return rows


def _has_interval(metric: Metric) -> bool:
    return metric in {
        Metric.UPLIFT,
        Metric.INCREMENTAL_RESPONDERS,
        Metric.REVENUE_DIFFERENCE,
        Metric.INCREMENTAL_REVENUE,
        Metric.NET_REVENUE,
        Metric.ROI,
    }


def _caveats(comparison: Comparison) -> str:
    return "；".join(str(c.label) for c in comparison.caveats)


# (column, value of a comparison, number format)
BREAKDOWN: list[tuple[Column, Callable[[Comparison], Any], str]] = [
    (Column.TREATED, lambda c: c.treated.size, COUNT),
    (Column.CONTROL, lambda c: c.control.size, COUNT),
    (Column.TREATED_RATE, lambda c: c.treated.response_rate, PERCENT),
    (Column.CONTROL_RATE, lambda c: c.control.response_rate, PERCENT),
    (Column.UPLIFT, lambda c: c.uplift, PERCENT),
    (Column.UPLIFT_LOW, lambda c: _ends(c.uplift_ci)[0], PERCENT),
    (Column.UPLIFT_HIGH, lambda c: _ends(c.uplift_ci)[1], PERCENT),
    (Column.INCREMENTAL_RESPONDERS, lambda c: c.incremental_responders, COUNT),
    (Column.REVENUE_DIFFERENCE, lambda c: c.revenue_per_head_difference, MONEY),
    (Column.REVENUE_LOW, lambda c: _ends(c.revenue_per_head_difference_ci)[0], MONEY),
    (Column.REVENUE_HIGH, lambda c: _ends(c.revenue_per_head_difference_ci)[1], MONEY),
    (Column.INCREMENTAL_REVENUE, lambda c: c.incremental_revenue, MONEY),
    (Column.COSTS, lambda c: c.costs.total, MONEY),
    (Column.ROI, lambda c: c.roi, PERCENT),
    (Column.NOTES, _caveats, "@"),
]
#: Breakdowns only some campaigns have (through the channels): no sheet without them.
OPTIONAL_DIMENSIONS = frozenset({Dimension.STORE_GRADE, Dimension.GRID_TYPE})
CI_COLUMNS = {Column.UPLIFT_LOW, Column.UPLIFT_HIGH, Column.REVENUE_LOW, Column.REVENUE_HIGH}
SHEET_DIMENSIONS = {
    Sheet.TIER: Dimension.TIER,
    Sheet.ORG_UNIT: Dimension.ORG_UNIT,
    Sheet.CHANNEL: Dimension.CHANNEL,
    Sheet.STORE_GRADE: Dimension.STORE_GRADE,
    Sheet.GRID_TYPE: Dimension.GRID_TYPE,
}


def _campaign_fields(campaign: CampaignInfo) -> list[tuple[Field, str | float]]:
    return [
        (Field.NAME, campaign.name),
        (Field.TYPE, str(campaign.campaign_type.label)),
        (Field.HYPOTHESIS, campaign.hypothesis),
        (Field.OBJECTIVE, campaign.objective),
        (Field.WINDOW, f"{campaign.window_start.isoformat()} – {campaign.window_end.isoformat()}"),
        (Field.SEGMENT, campaign.segment),
        (Field.OFFERS, "、".join(campaign.offers)),
        (Field.CHANNELS, "、".join(str(c.label) for c in campaign.channels)),
        (Field.BUDGET, campaign.budget),
    ]


# --- XLSX ---------------------------------------------------------------------------------


def report_xlsx(
    *,
    evaluation: Evaluation,
    campaign: CampaignInfo,
    org_unit_names: Mapping[str, str] | None = None,
    checks: Sequence[EstimateCheck] = (),
    revenue_per_taker: float | None = None,
) -> bytes:
    """The report as an XLSX workbook: summary, by tier, by org unit, by channel. `checks`:
    the figures against the design estimate, each with its like (`estimate_check`)."""
    book = new_workbook()
    summary = book.active
    summary.title = str(Sheet.SUMMARY.label)
    bold = Font(bold=True)
    append_row(summary, [str(Heading.TITLE.label)])
    summary["A1"].font = Font(bold=True, size=14)
    for label, fact in _campaign_fields(campaign):
        append_row(summary, [str(label.label), fact])
        if label == Field.BUDGET:
            summary.cell(summary.max_row, 2).number_format = MONEY
    append_row(summary, [])
    append_row(
        summary,
        [
            str(Heading.RESULTS.label),
            str(Heading.VALUE.label),
            f"{Heading.CI_LOW.label} ({evaluation.confidence:.0%})",
            f"{Heading.CI_HIGH.label} ({evaluation.confidence:.0%})",
        ],
    )
    for cell in summary[summary.max_row]:
        cell.font = bold
    too_few = Caveat.TOO_FEW in evaluation.overall.caveats
    for metric, value, interval, number_format in _summary_metrics(evaluation, campaign):
        ends: tuple[float | str | None, ...] = _ends(interval)
        if interval is None and too_few and _has_interval(metric):
            ends = (str(Heading.TOO_FEW.label),) * 2
        append_row(summary, [str(metric.label), value, *ends])
        for index in (2, 3, 4):
            summary.cell(summary.max_row, index).number_format = number_format
    if checks:
        _append_checks(summary, checks, revenue_per_taker, bold)
    append_row(summary, [])
    append_row(summary, [str(Heading.CAVEATS.label)])
    summary.cell(summary.max_row, 1).font = bold
    for caveat in evaluation.overall.caveats:
        append_row(summary, [str(caveat.label)])
    append_row(summary, [])
    append_row(summary, [str(Heading.METHOD.label)])
    summary.cell(summary.max_row, 1).font = bold
    for note in method_notes(evaluation=evaluation):
        append_row(summary, [note])
    summary.column_dimensions["A"].width = 40
    for letter in "BCD":
        summary.column_dimensions[letter].width = 18

    for sheet, dimension in SHEET_DIMENSIONS.items():
        if dimension in OPTIONAL_DIMENSIONS and not evaluation.breakdown(dimension):
            continue  # a campaign with no task list or no typed grid has no such sheet
        page = book.create_sheet(str(sheet.label))
        append_row(
            page, [str(Column.KEY.label), *(str(column.label) for column, _v, _f in BREAKDOWN)]
        )
        for cell in page[1]:
            cell.font = bold
        for comparison in evaluation.breakdown(dimension):
            few = Caveat.TOO_FEW in comparison.caveats
            values: list[Any] = [
                key_label(dimension=dimension, key=comparison.key, org_unit_names=org_unit_names)
            ]
            for column, value_of, _format in BREAKDOWN:
                value = value_of(comparison)
                values.append(
                    str(Heading.TOO_FEW.label)
                    if value is None and few and column in CI_COLUMNS
                    else value
                )
            append_row(page, values)
            for index, (_column, _value_of, number_format) in enumerate(BREAKDOWN, start=2):
                page.cell(page.max_row, index).number_format = number_format
        page.freeze_panes = "B2"
        page.column_dimensions["A"].width = 24
    return workbook_bytes(book)


def _append_checks(
    summary: Any, checks: Sequence[EstimateCheck], revenue_per_taker: float | None, bold: Font
) -> None:
    append_row(summary, [])
    append_row(summary, [str(Heading.AGAINST_ESTIMATE.label)])
    summary.cell(summary.max_row, 1).font = bold
    headings = [
        Heading.QUANTITY, Heading.ESTIMATED_LOW, Heading.ESTIMATED_EXPECTED,
        Heading.ESTIMATED_HIGH, Heading.MEASURED, Heading.CI_LOW, Heading.CI_HIGH,
        Heading.POSITION,
    ]  # fmt: skip
    append_row(summary, [str(h.label) for h in headings])
    for cell in summary[summary.max_row]:
        cell.font = bold
    for check in checks:
        e = check.estimate
        append_row(
            summary,
            [str(check.quantity.label), e.low, e.expected, e.high, check.actual,
             *_ends(check.actual_ci), str(check.position.label)],
        )  # fmt: skip
        for index in range(2, 8):
            summary.cell(summary.max_row, index).number_format = _check_format(check)
    for note in estimate_notes(checks=checks, revenue_per_taker=revenue_per_taker):
        append_row(summary, [note])


# --- PDF ----------------------------------------------------------------------------------


def _format(value: Any, number_format: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return "—"
    if number_format == PERCENT:
        return f"{value:.2%}"
    if number_format == COUNT:
        return f"{value:,.0f}"
    if number_format == MONEY:
        return f"{value:,.2f}"
    return f"{value:.2f}"


def _interval_text(interval: Interval | None, number_format: str, *, too_few: bool) -> str:
    if interval is None:
        return str(Heading.TOO_FEW.label) if too_few else ""
    return f"[{_format(interval.low, number_format)}, {_format(interval.high, number_format)}]"


PDF_COLUMNS = [
    Column.TREATED,
    Column.CONTROL,
    Column.TREATED_RATE,
    Column.CONTROL_RATE,
    Column.UPLIFT,
    Column.INCREMENTAL_RESPONDERS,
    Column.REVENUE_DIFFERENCE,
    Column.INCREMENTAL_REVENUE,
    Column.COSTS,
    Column.ROI,
]


def _pdf_rows(
    evaluation: Evaluation, dimension: Dimension, org_unit_names: Mapping[str, str] | None
) -> list[list[str]]:
    specs = {column: (value_of, number_format) for column, value_of, number_format in BREAKDOWN}
    rows = []
    for comparison in evaluation.breakdown(dimension):
        few = Caveat.TOO_FEW in comparison.caveats
        cells = [key_label(dimension=dimension, key=comparison.key, org_unit_names=org_unit_names)]
        for column in PDF_COLUMNS:
            value_of, number_format = specs[column]
            text = _format(value_of(comparison), number_format)
            if column == Column.UPLIFT:
                text += " " + _interval_text(comparison.uplift_ci, PERCENT, too_few=few)
            if column == Column.REVENUE_DIFFERENCE:
                ci = comparison.revenue_per_head_difference_ci
                text += " " + _interval_text(ci, MONEY, too_few=few)
            cells.append(text.strip())
        cells.append(_caveats(comparison))
        rows.append(cells)
    return rows


def report_html(
    *,
    evaluation: Evaluation,
    campaign: CampaignInfo,
    org_unit_names: Mapping[str, str] | None = None,
    checks: Sequence[EstimateCheck] = (),
    revenue_per_taker: float | None = None,
) -> str:
    """The report as HTML for the PDF (the template campaigns/report_pdf.html)."""
    too_few = Caveat.TOO_FEW in evaluation.overall.caveats
    metrics = [
        {
            "label": str(metric.label),
            "value": _format(value, number_format),
            "interval": _interval_text(interval, number_format, too_few=too_few)
            if _has_interval(metric)
            else "",
        }
        for metric, value, interval, number_format in _summary_metrics(evaluation, campaign)
    ]
    fields = [
        {"label": str(label.label), "value": _format(value, MONEY)}
        for label, value in _campaign_fields(campaign)
    ]
    sections = [
        {
            "title": str(sheet.label),
            "rows": _pdf_rows(evaluation, dimension, org_unit_names),
        }
        for sheet, dimension in SHEET_DIMENSIONS.items()
    ]
    headers = [str(Column.KEY.label), *(str(c.label) for c in PDF_COLUMNS), str(Column.NOTES.label)]
    return render_to_string(
        "campaigns/report_pdf.html",
        {
            "font_css": font_face_css(),
            "title": str(Heading.TITLE.label),
            "campaign_name": campaign.name,
            "fields": fields,
            "results_title": str(Heading.RESULTS.label),
            "value_heading": str(Heading.VALUE.label),
            "interval_heading": _("%(level)s CI") % {"level": f"{evaluation.confidence:.0%}"},
            "metrics": metrics,
            "caveats_title": str(Heading.CAVEATS.label),
            "caveats": [str(c.label) for c in evaluation.overall.caveats],
            "sections": sections,
            "headers": headers,
            "method_title": str(Heading.METHOD.label),
            "method": method_notes(evaluation=evaluation),
            "checks_title": str(Heading.AGAINST_ESTIMATE.label),
            "check_headers": [
                str(Heading.QUANTITY.label),
                str(Heading.ESTIMATED_LOW.label),
                str(Heading.ESTIMATED_EXPECTED.label),
                str(Heading.ESTIMATED_HIGH.label),
                str(Heading.MEASURED.label),
                _("%(level)s CI") % {"level": f"{evaluation.confidence:.0%}"},
                str(Heading.POSITION.label),
            ],
            "checks": [_check_cells(check) for check in checks],
            "check_notes": estimate_notes(checks=checks, revenue_per_taker=revenue_per_taker),
        },
    )


def _check_cells(check: EstimateCheck) -> list[str]:
    number_format = _check_format(check)
    e = check.estimate
    return [
        str(check.quantity.label),
        *(_format(v, number_format) for v in (e.low, e.expected, e.high, check.actual)),
        _interval_text(check.actual_ci, number_format, too_few=False),
        str(check.position.label),
    ]


def report_pdf(
    *,
    evaluation: Evaluation,
    campaign: CampaignInfo,
    org_unit_names: Mapping[str, str] | None = None,
    checks: Sequence[EstimateCheck] = (),
    revenue_per_taker: float | None = None,
) -> bytes:
    """The report as a PDF with its Chinese font embedded."""
    html = report_html(
        evaluation=evaluation,
        campaign=campaign,
        org_unit_names=org_unit_names,
        checks=checks,
        revenue_per_taker=revenue_per_taker,
    )
    return html_to_pdf(html)


@dataclass(frozen=True)
class ReportFiles:
    xlsx: Path
    pdf: Path


def write_report(
    *,
    evaluation: Evaluation,
    campaign: CampaignInfo,
    directory: Path,
    stem: str,
    org_unit_names: Mapping[str, str] | None = None,
    checks: Sequence[EstimateCheck] = (),
    revenue_per_taker: float | None = None,
    before_writing: Callable[[str], None] | None = None,
) -> ReportFiles:
    """Write <stem>.xlsx and <stem>.pdf into `directory`; `before_writing` is told each
    file's suffix before it is written (a job's progress)."""
    directory.mkdir(parents=True, exist_ok=True)
    files = ReportFiles(xlsx=directory / f"{stem}.xlsx", pdf=directory / f"{stem}.pdf")
    options: dict[str, Any] = {
        "evaluation": evaluation,
        "campaign": campaign,
        "org_unit_names": org_unit_names,
        "checks": checks,
        "revenue_per_taker": revenue_per_taker,
    }
    if before_writing:
        before_writing("xlsx")
    write_private(files.xlsx, report_xlsx(**options))
    if before_writing:
        before_writing("pdf")
    write_private(files.pdf, report_pdf(**options))
    return files
