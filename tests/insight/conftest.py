from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import duckdb
import pytest

from quanwang.insight.pipeline import run_pipeline
from tests import factories

MONTH = "2024-06"


def msisdn_hash(number: str) -> str:
    return hashlib.sha256(number.encode()).hexdigest()


def usage_rows(subscriber_id: str, arpus: dict[str, float], **extra: Any) -> list[dict[str, Any]]:
    return [
        {"subscriber_id": subscriber_id, "month": m, "arpu": a, **extra} for m, a in arpus.items()
    ]


PLANS = [
    {
        "plan_id": "P5G",
        "name": "5G129",
        "plan_type": "postpaid",
        "monthly_fee": 129.0,
        "is_5g": True,
    },
    {"plan_id": "P4G", "name": "4G19", "plan_type": "prepaid", "monthly_fee": 19.0, "is_5g": False},
    {
        "plan_id": "PBB",
        "name": "宽带",
        "plan_type": "broadband",
        "monthly_fee": 100.0,
        "is_5g": False,
    },
]


def _msisdn(subscriber_id: str) -> str:
    """A valid mobile number (11 digits) made from the ID: its digits, or a hash of it."""
    import zlib

    tail = subscriber_id.rjust(8, "0")[-8:]
    if not tail.isdigit():
        tail = str(zlib.crc32(subscriber_id.encode()) % 10**8).rjust(8, "0")
    return "139" + tail


def subscriber(subscriber_id: str, **fields: Any) -> dict[str, Any]:
    import datetime as dt

    return {
        "subscriber_id": subscriber_id,
        "msisdn": fields.pop("msisdn", _msisdn(subscriber_id)),
        "segment": "个人",
        "payment_type": "postpaid",
        "join_date": dt.date(2020, 1, 1),
        "status": "active",
        "plan_id": "P4G",
        "grid_id": "G1",
        **fields,
    }


@pytest.fixture
def run(tmp_path: Path) -> Any:
    """Run the pipeline on hand-made tables; returns the snapshot's rows by subscriber."""

    def _run(month: str = MONTH, **tables: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        files = factories.canonical_files(tmp_path, **({"plans": PLANS} | tables))
        snapshot = run_pipeline(month=month, files=files)
        relation = duckdb.sql(f"SELECT * FROM {snapshot.relation}")
        names = relation.columns
        return {row[0]: dict(zip(names, row, strict=True)) for row in relation.fetchall()}

    return _run
