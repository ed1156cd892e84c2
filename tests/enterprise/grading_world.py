"""A small warehouse of enterprises for the grading tests: canonical Parquet files placed as the
current version of each table (the importer's layout), so the features read them as they
read an import."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from quanwang.data.arrow import table_schema
from quanwang.data.schema import TABLES
from quanwang.data.warehouse import Warehouse
from quanwang.enterprise.grading.features import FALLBACK_SCHEMAS

MONTH = "2024-06"
BEFORE = ("2024-03", "2024-04", "2024-05")


def schema_of(name: str) -> pa.Schema:
    if name in TABLES:
        return table_schema(name)
    return FALLBACK_SCHEMAS[name].to_pyarrow()


def place(tables: dict[str, list[dict[str, Any]]], *, version: str = "v1") -> Warehouse:
    """Write each table as the warehouse's current version."""
    store = Warehouse()
    for name, records in tables.items():
        schema = schema_of(name)
        columns = {f.name: [r.get(f.name) for r in records] for f in schema}
        folder = store.root / name / version
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pydict(columns, schema=schema), folder / "data.parquet")
        (store.root / name / "CURRENT").write_text(version, encoding="utf-8")
    return store


def world() -> dict[str, list[dict[str, Any]]]:
    """Three enterprises:

    - E1: 4 members (one churned in the month), revenue 100 a member before and 90 now, calls
      with 移动 rising, 2 products (one under agreement, bundled, prepaid 1200 on fee 100,
      its contract ending 2024-08-15), a complaint;
    - E2: 1 member, no products, steady revenue;
    - E3: no members at all.
    """
    subscribers = [
        {
            "subscriber_id": f"S{i}",
            "msisdn": f"1380000000{i}",
            "segment": "政企",
            "payment_type": "postpaid",
            "join_date": date(2019, 1, 1),
            "status": "active",
            "plan_id": "P1",
        }
        for i in range(1, 6)
    ]
    subscribers[3] |= {"status": "churned", "churn_date": date(2024, 6, 10)}
    members = [
        {"enterprise_id": "E1", "subscriber_id": f"S{i}", "joined_date": date(2020, 6, 30)}
        for i in range(1, 5)
    ] + [{"enterprise_id": "E2", "subscriber_id": "S5", "joined_date": None}]
    usage = [
        {"subscriber_id": f"S{i}", "month": m, "arpu": 100.0} for i in range(1, 6) for m in BEFORE
    ] + [{"subscriber_id": f"S{i}", "month": MONTH, "arpu": 90.0} for i in (1, 2, 3, 5)]
    contacts = [
        {"subscriber_id": "S1", "month": MONTH, "peer_hash": "a", "peer_operator": "移动",
         "calls": 5, "minutes": 30.0},
        {"subscriber_id": "S1", "month": MONTH, "peer_hash": "b", "peer_operator": "本网",
         "calls": 5, "minutes": 70.0},
        {"subscriber_id": "S1", "month": "2024-05", "peer_hash": "a", "peer_operator": "移动",
         "calls": 1, "minutes": 10.0},
        {"subscriber_id": "S1", "month": "2024-05", "peer_hash": "b", "peer_operator": "本网",
         "calls": 9, "minutes": 90.0},
    ]  # fmt: skip
    return {
        "enterprises": [
            {"enterprise_id": "E1", "name": "甲集团", "industry": "物流", "size": 300},
            {"enterprise_id": "E2", "name": "乙集团", "industry": "金融", "size": 20},
            {"enterprise_id": "E3", "name": "丙集团", "industry": "教育", "size": None},
        ],
        "subscribers": subscribers,
        "enterprise_members": members,
        "monthly_usage": usage,
        "contacts": contacts,
        "complaints": [
            {"complaint_id": "C1", "subscriber_id": "S2", "created_date": date(2024, 6, 3),
             "category": "网络", "level": "普通"},
            {"complaint_id": "C2", "subscriber_id": "S2", "created_date": date(2024, 4, 3),
             "category": "网络", "level": "普通"},
        ],
        "enterprise_products": [
            {"product_instance_id": "PI1", "enterprise_id": "E1", "product": "专线",
             "start_date": date(2018, 1, 1), "contract_end": date(2024, 8, 15),
             "monthly_fee": 100.0, "agreement": True, "bundled": True, "prepaid": 1200.0},
            {"product_instance_id": "PI2", "enterprise_id": "E1", "product": "集团V网",
             "start_date": date(2021, 1, 1), "contract_end": None, "monthly_fee": 0.0,
             "agreement": False, "bundled": False, "prepaid": 0.0},
            {"product_instance_id": "PI3", "enterprise_id": "E2", "product": "云",
             "start_date": date(2020, 1, 1), "contract_end": date(2023, 1, 1),
             "monthly_fee": 50.0, "agreement": True, "bundled": False, "prepaid": 0.0},
        ],
    }  # fmt: skip


def all_tables(con: Any, directory: Path, tables: dict[str, list[dict[str, Any]]]) -> dict:
    """The tables as Parquet files read by `con` (the engine tests)."""
    out = {}
    for name, records in tables.items():
        schema = schema_of(name)
        columns = {f.name: [r.get(f.name) for r in records] for f in schema}
        path = directory / f"{name}.parquet"
        pq.write_table(pa.Table.from_pydict(columns, schema=schema), path)
        out[name] = con.read_parquet(str(path), table_name=f"t_{name}")
    return out
