"""The evaluation's figures as the campaign page shows them (事后评估结果).

Evaluating a campaign writes, beside its XLSX and PDF report, a small JSON file of the figures
the page shows: the overall comparison, the breakdowns by value tier, org unit and channel,
and the checks against the design estimate (`estimate_check`). The page reads it back, so
opening the campaign never evaluates anything again. It holds codes and numbers only: labels
are given when the page is rendered, in the reader's language.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from quanwang.campaigns.estimate_check import (
    DesignEstimate,
    EstimateCheck,
    EstimateQuantity,
    headline,
)
from quanwang.campaigns.evaluation import (
    MIN_CELL,
    Caveat,
    Comparison,
    Dimension,
    EstimatePosition,
    Evaluation,
    Interval,
)
from quanwang.campaigns.report import key_label
from quanwang.core import formatting
from quanwang.core.tabular import private_file

VERSION = 1


def _ends(interval: Interval | None) -> list[float] | None:
    return [interval.low, interval.high] if interval else None


def _comparison(comparison: Comparison) -> dict[str, Any]:
    return {
        "key": comparison.key,
        "treated": comparison.treated.size,
        "control": comparison.control.size,
        "treated_responders": comparison.treated.responders,
        "control_responders": comparison.control.responders,
        "treated_rate": comparison.treated.response_rate,
        "control_rate": comparison.control.response_rate,
        "uplift": comparison.uplift,
        "uplift_ci": _ends(comparison.uplift_ci),
        "relative_lift": comparison.relative_lift,
        "incremental_responders": comparison.incremental_responders,
        "incremental_responders_ci": _ends(comparison.incremental_responders_ci),
        "incremental_revenue": comparison.incremental_revenue,
        "incremental_revenue_ci": _ends(comparison.incremental_revenue_ci),
        "offer_costs": comparison.costs.offer,
        "contact_costs": comparison.costs.contact,
        "costs": comparison.costs.total,
        "net_incremental_revenue": comparison.net_incremental_revenue,
        "roi": comparison.roi,
        "roi_ci": _ends(comparison.roi_ci),
        "caveats": [str(c.value) for c in comparison.caveats],
    }


def _check(check: EstimateCheck) -> dict[str, Any]:
    return {
        "quantity": str(check.quantity.value),
        "low": check.estimate.low,
        "expected": check.estimate.expected,
        "high": check.estimate.high,
        "actual": check.actual,
        "actual_ci": _ends(check.actual_ci),
        "position": str(check.position.value),
        "ratio": check.ratio_to_expected,
    }


def summarize(
    *,
    evaluation: Evaluation,
    checks: Sequence[EstimateCheck],
    estimate: DesignEstimate | None,
) -> dict[str, Any]:
    """The figures the campaign page shows, as JSON-ready values."""
    return {
        "version": VERSION,
        "confidence": evaluation.confidence,
        "min_group": evaluation.min_group,
        "overall": _comparison(evaluation.overall),
        "breakdowns": {
            str(d.value): [_comparison(c) for c in evaluation.breakdown(d)] for d in Dimension
        },
        "checks": [_check(c) for c in checks],
        "verdict": (lead := headline(list(checks))) and str(lead.quantity.value),
        "monthly_revenue": estimate.monthly_revenue if estimate else None,
        "months": estimate.months if estimate else None,
    }


def write_summary(path: Path, summary: Mapping[str, Any]) -> None:
    with private_file(path, "w", encoding="utf-8") as handle:
        json.dump(summary, handle, ensure_ascii=False)


def read_summary(path: Path) -> dict[str, Any] | None:
    """The stored figures; None when there are none, or of another version."""
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return summary if isinstance(summary, dict) and summary.get("version") == VERSION else None


# --- the page ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One comparison on the page: overall, or one stratum of a breakdown."""

    label: str
    code: str | None
    figures: Mapping[str, Any]
    caveats: list[str]

    @property
    def significant(self) -> bool | None:
        ci = self.figures.get("uplift_ci")
        return None if ci is None else not ci[0] <= 0.0 <= ci[1]


@dataclass(frozen=True)
class Check:
    """One estimated quantity against its measured like, its figures formatted for the page
    (`shown`: low, expected, high, actual, ci_low, ci_high, ratio)."""

    quantity: str
    label: str
    figures: Mapping[str, Any]
    position: str
    position_label: str
    shown: Mapping[str, str]


@dataclass(frozen=True)
class Breakdown:
    dimension: str
    title: str
    rows: list[Row]


@dataclass(frozen=True)
class SummaryPage:
    """What the evaluation card shows, labelled in the reader's language."""

    confidence: float
    overall: Row
    breakdowns: list[Breakdown]
    checks: list[Check]
    verdict: Check | None
    monthly_revenue: float | None
    months: float | None
    charts: dict[str, Any] = field(default_factory=dict)
    #: Under this many customers in either group a store-grade or grid-type cell is not
    #: compared (evaluation.MIN_CELL); None when the page has neither breakdown.
    min_cell: int | None = None

    @property
    def revenue_per_taker(self) -> float | None:
        if self.monthly_revenue is None or self.months is None:
            return None
        return self.monthly_revenue * self.months


CHANNEL_DIMENSIONS = (Dimension.STORE_GRADE.value, Dimension.GRID_TYPE.value)
BREAKDOWN_TITLES = {
    Dimension.TIER: Dimension.TIER.label,
    Dimension.ORG_UNIT: Dimension.ORG_UNIT.label,
    Dimension.CHANNEL: Dimension.CHANNEL.label,
    Dimension.STORE_GRADE: Dimension.STORE_GRADE.label,
    Dimension.GRID_TYPE: Dimension.GRID_TYPE.label,
}


def _caveat_labels(codes: Sequence[str]) -> list[str]:
    return [str(Caveat(c).label) for c in codes if c in Caveat.values]


def _row(figures: Mapping[str, Any], dimension: Dimension | None, names: Mapping[str, str]) -> Row:
    key = figures.get("key")
    label = (
        key_label(dimension=dimension, key=key, org_unit_names=names)
        if dimension is not None
        else str(_("All customers"))
    )
    return Row(label=label, code=key, figures=figures, caveats=_caveat_labels(figures["caveats"]))


def _shown(check: Mapping[str, Any]) -> dict[str, str]:
    """A check's figures as the page shows them: takers as counts, net revenue in 元 (万元
    when large), ROI as a percentage."""
    shapes: dict[str, Callable[[Any], str]] = {
        EstimateQuantity.NET_REVENUE.value: formatting.money,
        EstimateQuantity.ROI.value: formatting.percent,
    }
    shape = shapes.get(check["quantity"], formatting.count)
    ci = check.get("actual_ci") or [None, None]
    figures = {k: check.get(k) for k in ("low", "expected", "high", "actual")}
    return {
        **{name: shape(value) for name, value in figures.items()},
        "ci_low": shape(ci[0]),
        "ci_high": shape(ci[1]),
        "ratio": formatting.percent(check.get("ratio"), 0),
    }


def _points(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 2)


def _chart(breakdown: Breakdown, confidence: float) -> dict[str, Any]:
    """One breakdown's chart: uplift in percentage points with its interval, and the
    incremental takers, per stratum."""
    rows = breakdown.rows
    return {
        "title": breakdown.title,
        "labels": [r.label for r in rows],
        "uplift": [_points(r.figures.get("uplift")) for r in rows],
        "low": [_points((r.figures.get("uplift_ci") or [None, None])[0]) for r in rows],
        "high": [_points((r.figures.get("uplift_ci") or [None, None])[1]) for r in rows],
        "takers": [
            None
            if r.figures.get("incremental_responders") is None
            else round(r.figures["incremental_responders"], 1)
            for r in rows
        ],
        "uplift_name": _("Response uplift (percentage points)"),
        "interval_name": _("%(level)s interval") % {"level": f"{confidence:.0%}"},
        "takers_name": _("Incremental takers"),
    }


def summary_page(summary: Mapping[str, Any], *, org_unit_names: Mapping[str, str]) -> SummaryPage:
    """The stored figures labelled for the page, with its charts' data."""
    breakdowns = [
        Breakdown(
            dimension=str(d.value),
            title=str(BREAKDOWN_TITLES[d]),
            rows=[_row(f, d, org_unit_names) for f in summary["breakdowns"].get(str(d.value), [])],
        )
        for d in Dimension
    ]
    checks = [
        Check(
            quantity=c["quantity"],
            label=str(EstimateQuantity(c["quantity"]).label),
            figures=c,
            position=c["position"],
            position_label=str(EstimatePosition(c["position"]).label),
            shown=_shown(c),
        )
        for c in summary.get("checks", [])
        if c.get("quantity") in EstimateQuantity.values
    ]
    confidence = float(summary.get("confidence") or 0.95)
    verdict = next((c for c in checks if c.quantity == summary.get("verdict")), None)
    return SummaryPage(
        confidence=confidence,
        overall=_row(summary["overall"], None, org_unit_names),
        breakdowns=breakdowns,
        checks=checks,
        verdict=verdict,
        monthly_revenue=summary.get("monthly_revenue"),
        months=summary.get("months"),
        charts={b.dimension: _chart(b, confidence) for b in breakdowns if b.rows},
        min_cell=MIN_CELL
        if any(b.rows for b in breakdowns if b.dimension in CHANNEL_DIMENSIONS)
        else None,
    )
