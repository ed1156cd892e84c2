"""A small world of facts with known KPI values (June 2024), for the kpis tests.

Grids G1 = CA-1-G1 and G2 = CB-1-G1 (the factories' tree). In June 2024, G1: lines in service
at the end s1, s2, s4 (3); at the start s1, s3, s4 (3); s2 joined, s3 left (net adds 0, churn
rate 1/3); mobile s1, s2, on 5G s1 (1/2), both with broadband at home through family F1's
broadband line s4 (2/2); billed s1 100 + s2 50 + s3 30 (revenue 180, ARPU 60); one complaint.
G2: s5 on a bundle (customers 1, 5G 0/1, broadband 1/1), revenue 80. s6 joins in July, s7 has
no grid. Store ST1 (G1): sales 300 + 99.5 yuan, 4 units; lines sold: 5G +1 −1 +1 = 1,
broadband 1. Account E1 (G1): members s1, s2 (revenue 150), one opportunity won. Campaign
figures of G1: 4 of 10 took, 3 of 5 tasks done; store visits 4 counted of 4 planned; an
evaluated campaign whose control took at 1/4, with treated s1 (took) and s2: 0.75 − 0.25 = 0.5.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings

from quanwang.data.arrow import table_schema
from quanwang.insight.history import RESULTS_SCHEMA
from quanwang.performance.kpis import facts
from quanwang.performance.kpis.definitions import BuildContext

G1, G2 = "CA-1-G1", "CB-1-G1"
MONTH = "2024-06"
CTX = BuildContext(as_of=dt.date(2024, 6, 30), months=(MONTH,))
D = dt.date


def _sub(sid: str, grid: str | None, join: dt.date, plan: str, **extra: Any) -> dict[str, Any]:
    return {
        "subscriber_id": sid,
        "msisdn": "1380013800" + sid[-1],
        "segment": "个人",
        "payment_type": "postpaid",
        "join_date": join,
        "status": "active",
        "plan_id": plan,
        "grid_id": grid,
        **extra,
    }


WAREHOUSE: dict[str, list[dict[str, Any]]] = {
    "grids": [
        {"grid_id": G1, "name": "一号网格", "grid_type": "沿街", "county_code": "CA-1"},
        {"grid_id": G2, "name": "二号网格", "grid_type": "沿街", "county_code": "CB-1"},
    ],
    "plans": [
        {"plan_id": "P4", "name": "4G", "plan_type": "postpaid", "monthly_fee": 58, "is_5g": False},
        {"plan_id": "P5", "name": "5G", "plan_type": "postpaid", "monthly_fee": 128, "is_5g": True},
        {
            "plan_id": "BB",
            "name": "宽带",
            "plan_type": "broadband",
            "monthly_fee": 50,
            "is_5g": False,
        },
        {
            "plan_id": "BD",
            "name": "融合",
            "plan_type": "bundle",
            "monthly_fee": 199,
            "is_5g": False,
        },
    ],
    "subscribers": [
        _sub("s1", G1, D(2023, 1, 1), "P5", family_id="F1"),
        _sub("s2", G1, D(2024, 6, 10), "P4", family_id="F1"),
        _sub("s3", G1, D(2023, 5, 1), "P4", churn_date=D(2024, 6, 15), status="churned"),
        _sub("s4", G1, D(2023, 1, 1), "BB", family_id="F1"),
        _sub("s5", G2, D(2024, 1, 1), "BD"),
        _sub("s6", G2, D(2024, 7, 5), "P4"),
        _sub("s7", None, D(2023, 1, 1), "P5"),
    ],
    "monthly_usage": [
        {"subscriber_id": s, "month": MONTH, "arpu": a}
        for s, a in (("s1", 100.0), ("s2", 50.0), ("s3", 30.0), ("s5", 80.0), ("s7", 40.0))
    ],
    "complaints": [
        {
            "complaint_id": "C1",
            "subscriber_id": "s1",
            "created_date": D(2024, 6, 3),
            "category": "网络",
            "level": "普通",
        },
        {
            "complaint_id": "C2",
            "subscriber_id": "s5",
            "created_date": D(2024, 5, 20),
            "category": "资费",
            "level": "普通",
        },
    ],
    "stores": [{"store_id": "ST1", "name": "一号厅", "store_type": "自营厅", "grid_id": G1}],
    "store_sales": [
        {"store_id": "ST1", "month": MONTH, "product": "A", "units": 3, "revenue": 300.0},
        {"store_id": "ST1", "month": MONTH, "product": "B", "units": 1, "revenue": 99.5},
    ],
    "channel_sales": [
        {
            "sale_id": "X1",
            "store_id": "ST1",
            "sale_date": D(2024, 6, 2),
            "product": "5G",
            "plan_id": "P5",
            "amount": 128.0,
            "kind": "销售",
        },
        {
            "sale_id": "X2",
            "store_id": "ST1",
            "sale_date": D(2024, 6, 5),
            "product": "5G",
            "plan_id": "P5",
            "amount": -128.0,
            "kind": "退款",
            "original_sale_id": "X1",
        },
        {
            "sale_id": "X3",
            "store_id": "ST1",
            "sale_date": D(2024, 6, 7),
            "product": "5G",
            "plan_id": "P5",
            "amount": 128.0,
            "kind": "销售",
        },
        {
            "sale_id": "X4",
            "store_id": "ST1",
            "sale_date": D(2024, 6, 8),
            "product": "宽带",
            "plan_id": "BB",
            "amount": 50.0,
            "kind": "销售",
        },
    ],
    "enterprises": [{"enterprise_id": "E1", "name": "甲公司", "industry": "制造", "grid_id": G1}],
    "enterprise_members": [
        {"enterprise_id": "E1", "subscriber_id": "s1"},
        {"enterprise_id": "E1", "subscriber_id": "s2"},
    ],
}

OPS: dict[str, tuple[pa.Schema, list[dict[str, Any]]]] = {
    "campaign_figures": (
        facts.CAMPAIGN_FIGURES_SCHEMA,
        [{"grid_id": G1, "month": MONTH, "targeted": 10, "accepted": 4, "tasks_total": 5,
          "tasks_done": 3}],
    ),
    "store_visit_plans": (
        facts.STORE_VISIT_PLANS_SCHEMA,
        [{"store_id": "ST1", "grid_id": G1, "month": MONTH, "planned": 4, "logged": 6,
          "counted": 4}],
    ),
    "enterprise_visits": (
        facts.ENTERPRISE_VISITS_SCHEMA,
        [{"visit_id": 1, "enterprise_id": "E1", "grid_id": G1, "employee_no": "E100",
          "staff_unit": G1, "visited_on": D(2024, 6, 12)}],
    ),
    "opportunities": (
        facts.OPPORTUNITIES_SCHEMA,
        [{"opportunity_id": 1, "enterprise_id": "E1", "grid_id": G1, "account_unit": G1,
          "owner_employee_no": "E100", "status": "won", "closed_on": D(2024, 6, 11),
          "amount": 5000.0},
         {"opportunity_id": 2, "enterprise_id": "E1", "grid_id": G1, "account_unit": G1,
          "owner_employee_no": "E100", "status": "lost", "closed_on": D(2024, 6, 12),
          "amount": 100.0}],
    ),
    "campaign_results": (
        RESULTS_SCHEMA,
        [{"campaign_id": 1, "subscriber_id": f"c{i}", "group": "control", "responded": i == 0,
          "window_end": D(2024, 6, 30)} for i in range(4)]
        + [{"campaign_id": 1, "subscriber_id": "s1", "group": "treated", "responded": True,
            "window_end": D(2024, 6, 30)},
           {"campaign_id": 1, "subscriber_id": "s2", "group": "treated", "responded": False,
            "window_end": D(2024, 6, 30)}],
    ),
}  # fmt: skip


def write_warehouse(*, skip: tuple[str, ...] = ()) -> None:
    """The world's warehouse tables as current versions under VAR_DIR/warehouse."""
    root = Path(settings.VAR_DIR) / "warehouse"
    for name, rows in WAREHOUSE.items():
        if name in skip:
            continue
        folder = root / name / "v1"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(
            pa.Table.from_pylist(rows, schema=table_schema(name)), folder / "data.parquet"
        )
        (root / name / "CURRENT").write_text("v1", encoding="utf-8")


def write_extracts(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    found = {}
    for name, (schema, rows) in OPS.items():
        path = folder / f"{name}.parquet"
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
        found[name] = path
    return found


def values(
    con: Any, kpi: Any, tables: Any, ctx: BuildContext = CTX
) -> dict[tuple[str, str], tuple[float, float | None]]:
    """(grain, key) → (numerator, denominator) of the KPI's base values, over the days."""
    rows = con.to_pyarrow(kpi.build(tables, ctx)).to_pylist()
    found: dict[tuple[str, str], tuple[float, float | None]] = {}
    for row in rows:
        key = (row["grain"], row["key"])
        top, bottom = found.get(key, (0.0, None))
        if row["denominator"] is not None:
            bottom = (bottom or 0.0) + row["denominator"]
        found[key] = (top + row["numerator"], bottom)
    return found
