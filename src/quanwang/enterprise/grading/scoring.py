"""Switching cost and churn risk of each account, from its features (grading.features).

Both are explainable: each is a weighted sum of components scored 0–100, and every component
is kept with its figure, so a page can say why.

Switching cost (转移成本) — one component per way of raising it, among the seeds' 17, that the
data can observe (docs/enterprise/grading.md lists all 17 and why the others are not):

| component | figure | 100 points at |
|---|---|---|
| agreements in force (协议) | product lines under agreement ÷ lines in force | all of them |
| bundles (捆绑) | bundled lines ÷ lines in force | all of them |
| 趸交 prepayment | prepaid ÷ monthly fees of the lines, in months | 12 months |
| members on-net | members on-net ÷ members | all of them |
| products held | distinct products in force | 4 products |
| tenure | years since the first member joined or product started | 10 years |
| care received | care moments done for its key persons, 12 months | 4 moments |
| planned visits received | visits logged, 12 months | 12 visits |

Churn risk — signals, each scored 0–100 from its figure:

| signal | figure | 0 points at | 100 points at |
|---|---|---|---|
| members leaving | members churned in the month ÷ members, % | 0 % | 5 % |
| revenue falling | revenue against the average of the 3 months before, % | 0 % | −25 % |
| competitor contact rising | competitors' share of call minutes now − before, points | 0 | +10 |
| contract ending | days from the month's end to the nearest contract end | 90 days | 0 days |
| no visit for long | days since the last visit (never: the most) | 90 days | 180 days |

Computed with numpy over the expression's Arrow result, so DuckDB and Spark give one answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from quanwang.enterprise.grading.choices import RiskSignal, SwitchingComponent
from quanwang.insight.months import Month

S = SwitchingComponent
R = RiskSignal

SWITCHING_WEIGHTS: Mapping[SwitchingComponent, int] = {
    S.AGREEMENT: 20,
    S.BUNDLE: 10,
    S.PREPAID: 10,
    S.MEMBERS_ON_NET: 15,
    S.PRODUCTS: 15,
    S.TENURE: 10,
    S.CARE: 10,
    S.VISITS: 10,
}
RISK_WEIGHTS: Mapping[RiskSignal, int] = {
    R.MEMBERS_LEAVING: 30,
    R.REVENUE_FALLING: 25,
    R.COMPETITOR_RISING: 20,
    R.CONTRACT_ENDING: 15,
    R.NO_VISIT: 10,
}
PREPAID_FULL_MONTHS = 12.0
PRODUCTS_FULL = 4.0
TENURE_FULL_YEARS = 10.0
CARE_FULL = 4.0
VISITS_FULL = 12.0
LEAVING_FULL_PCT = 5.0
FALLING_FULL_PCT = 25.0
RIVAL_FULL_POINTS = 10.0
ENDING_DAYS = 90.0
VISIT_QUIET_DAYS = 90.0
VISIT_LOST_DAYS = 180.0
DAYS_A_YEAR = 365.25


def _col(table: pa.Table, name: str, *, fill: float = 0.0) -> np.ndarray:
    return np.nan_to_num(
        table.column(name).to_numpy(zero_copy_only=False).astype("float64"), nan=fill
    )


def _days_between(table: pa.Table, name: str, reference: date, *, after: bool) -> np.ndarray:
    """Days from `reference` to each date (after) or from each date to it; NaN where none."""
    values = table.column(name).cast(pa.date32()).to_numpy(zero_copy_only=False)
    days = np.full(len(values), np.nan)
    present = ~np.isnat(values.astype("datetime64[D]"))
    delta = (values.astype("datetime64[D]") - np.datetime64(reference, "D")).astype("float64")
    days[present] = delta[present] if after else -delta[present]
    return days


def _ratio(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    out = np.zeros(len(top))
    np.divide(top, bottom, out=out, where=bottom > 0)
    return out


def _points(figure: np.ndarray, zero: float, full: float) -> np.ndarray:
    """0–100, linear from `zero` to `full` (either way round), capped; 2 decimals."""
    raw = (figure - zero) / (full - zero) * 100.0
    return np.round(np.clip(raw, 0.0, 100.0), 2) + 0.0  # no -0.0


def _weighted(points: Mapping[str, np.ndarray], weights: Mapping[Any, int]) -> np.ndarray:
    total = sum(points[str(k)] * w for k, w in weights.items())
    return np.round(np.asarray(total) / 100.0, 1)


def derive(table: pa.Table, *, month: Month) -> pa.Table:
    """`table` (account_features' result) with ratios, day counts, switching-cost components,
    churn-risk signals and both scores added."""
    end = month.last_day
    members = _col(table, "members")
    on_net = _col(table, "members_on_net")
    lines = _col(table, "product_lines")
    fees = _col(table, "monthly_fee_fen")
    prepaid = _col(table, "prepaid_fen")
    before_months = _col(table, "before_months")
    before_avg = _ratio(_col(table, "before_fen"), before_months)
    revenue = _col(table, "revenue_fen")
    growth = np.where(before_avg > 0, revenue / np.where(before_avg > 0, before_avg, 1) - 1, np.nan)
    share_now = _ratio(_col(table, "competitor_minutes"), _col(table, "contact_minutes"))
    share_before = _ratio(
        _col(table, "competitor_minutes_before"), _col(table, "contact_minutes_before")
    )
    first_member = _days_between(table, "first_member", end, after=False)
    first_product = _days_between(table, "first_product", end, after=False)
    tenure_days = np.fmax(first_member, first_product)
    to_contract_end = _days_between(table, "nearest_contract_end", end, after=True)
    since_visit = _days_between(table, "last_visit", end, after=False)
    prepaid_months = np.where(fees > 0, _ratio(prepaid, fees), np.where(prepaid > 0, 99.0, 0.0))

    switching = {
        str(S.AGREEMENT): _points(_ratio(_col(table, "agreements"), lines), 0, 1),
        str(S.BUNDLE): _points(_ratio(_col(table, "bundles"), lines), 0, 1),
        str(S.PREPAID): _points(prepaid_months, 0, PREPAID_FULL_MONTHS),
        str(S.MEMBERS_ON_NET): _points(_ratio(on_net, members), 0, 1),
        str(S.PRODUCTS): _points(_col(table, "products_held"), 0, PRODUCTS_FULL),
        str(S.TENURE): _points(
            np.nan_to_num(tenure_days, nan=0.0) / DAYS_A_YEAR, 0, TENURE_FULL_YEARS
        ),
        str(S.CARE): _points(_col(table, "care_12m"), 0, CARE_FULL),
        str(S.VISITS): _points(_col(table, "visits_12m"), 0, VISITS_FULL),
    }
    leaving_pct = _ratio(_col(table, "churned_members"), members) * 100.0
    rival_rise = (share_now - share_before) * 100.0
    risk = {
        str(R.MEMBERS_LEAVING): _points(leaving_pct, 0, LEAVING_FULL_PCT),
        str(R.REVENUE_FALLING): _points(
            np.nan_to_num(growth * 100.0, nan=0.0), 0, -FALLING_FULL_PCT
        ),
        str(R.COMPETITOR_RISING): _points(rival_rise, 0, RIVAL_FULL_POINTS),
        str(R.CONTRACT_ENDING): _points(np.nan_to_num(to_contract_end, nan=1e9), ENDING_DAYS, 0),
        str(R.NO_VISIT): _points(
            np.nan_to_num(since_visit, nan=1e9), VISIT_QUIET_DAYS, VISIT_LOST_DAYS
        ),
    }

    def nullable_int(values: np.ndarray) -> pa.Array:
        return pa.array(
            np.where(np.isnan(values), 0, values).astype("int64"), mask=np.isnan(values)
        )

    added: dict[str, pa.Array] = {
        "revenue_growth": pa.array(np.round(growth, 6), mask=np.isnan(growth)),
        "competitor_share": pa.array(np.round(share_now, 6)),
        "competitor_share_before": pa.array(np.round(share_before, 6)),
        "members_leaving_pct": pa.array(np.round(leaving_pct, 4)),
        "tenure_days": nullable_int(tenure_days),
        "days_to_contract_end": nullable_int(to_contract_end),
        "days_since_visit": nullable_int(since_visit),
        "prepaid_months": pa.array(np.round(prepaid_months, 4)),
        "switching_cost": pa.array(_weighted(switching, SWITCHING_WEIGHTS)),
        "churn_risk": pa.array(_weighted(risk, RISK_WEIGHTS)),
    }
    added |= {f"sc_{k}": pa.array(v) for k, v in switching.items()}
    added |= {f"risk_{k}": pa.array(v) for k, v in risk.items()}
    for name, values in added.items():
        table = table.append_column(name, values)
    return table


# The figure each component and signal is explained by (a column of the derived table).
SWITCHING_FIGURES: Mapping[SwitchingComponent, str] = {
    S.AGREEMENT: "agreements",
    S.BUNDLE: "bundles",
    S.PREPAID: "prepaid_months",
    S.MEMBERS_ON_NET: "members_on_net",
    S.PRODUCTS: "products_held",
    S.TENURE: "tenure_days",
    S.CARE: "care_12m",
    S.VISITS: "visits_12m",
}
RISK_FIGURES: Mapping[RiskSignal, str] = {
    R.MEMBERS_LEAVING: "members_leaving_pct",
    R.REVENUE_FALLING: "revenue_growth",
    R.COMPETITOR_RISING: "competitor_share",
    R.CONTRACT_ENDING: "days_to_contract_end",
    R.NO_VISIT: "days_since_visit",
}
