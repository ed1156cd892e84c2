"""A small operator for the scorecard tests, whose figures are worked out by hand below.

Org tree: province P → city CT → counties C1 (grids G1, G2; manager E1 runs both) and C2
(grid G3, manager E2). Months held: 2024-05 and 2024-06.

Grid G1 (June): S1 5G plan, family F1 whose broadband line S3 is in service; S2 joined
2024-06-10; S3 the broadband line; S4 left 2024-06-15; S5 left 2024-05-20; S6 on a bundle.
  customers at the end of June: S1 S2 S3 S6 = 4; at its start: S1 S3 S4 S6 = 4;
  joins 1 (S2), churns 1 (S4): net adds 0; churn rate 1/4;
  mobile: S1 S2 S6 = 3; on 5G: S1 = 1; broadband at home: S1 (F1), S6 (bundle) = 2;
  revenue 100 + 20 + 30 + 150 = 300 over 4 billed: ARPU 75.
Grid G1 (May): end S1 S3 S4 S6 = 4; start S1 S3 S4 S5 S6 = 5; churns 1 (S5): rate 1/5;
  revenue 90 + 40 + 25 + 150 = 305.
Grid G2 (June): S7 5G plan; S8 left 2024-06-01: end 1, start 2, churns 1: rate 1/2;
  revenue 200 + 10 = 210.
Grid G3: S9, prepaid.
The snapshot of 2024-06 scores G1: S1 0.005, S2 0.015, S6 0.07, S3 0.2 (2 of 4 at ≥ 5%);
G2: S7 0.03.

(No tests here: the other test_scorecards_* modules import it.)
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from django.conf import settings

from quanwang.core.choices import OrgLevel, Role
from quanwang.core.models import OrgUnit
from quanwang.data.warehouse import new_version
from quanwang.insight.snapshots import Snapshot, SnapshotStore
from tests import factories
from tests.factories import canonical_files

MAY, JUNE = "2024-05", "2024-06"
D = dt.date

PLANS = [
    {"plan_id": "P5G", "name": "5G畅享", "plan_type": "postpaid", "monthly_fee": 129.0,
     "is_5g": True},
    {"plan_id": "P4G", "name": "4G卡", "plan_type": "prepaid", "monthly_fee": 19.0,
     "is_5g": False},
    {"plan_id": "PBB", "name": "宽带", "plan_type": "broadband", "monthly_fee": 100.0,
     "is_5g": False},
    {"plan_id": "PBU", "name": "融合套餐", "plan_type": "bundle", "monthly_fee": 199.0,
     "is_5g": False},
]  # fmt: skip

GRIDS = [
    {"grid_id": "G1", "name": "一网格", "grid_type": "沿街", "county_code": "C1",
     "manager_employee_no": "E1"},
    {"grid_id": "G2", "name": "二网格", "grid_type": "沿街", "county_code": "C1",
     "manager_employee_no": "E1"},
    {"grid_id": "G3", "name": "三网格", "grid_type": "农村", "county_code": "C2",
     "manager_employee_no": "E2"},
]  # fmt: skip


def subscriber(sid: str, grid: str, plan: str, joined: dt.date, **extra: Any) -> dict[str, Any]:
    return {
        "subscriber_id": sid,
        "msisdn": "1380000" + sid[1:].rjust(4, "0"),
        "name": "王小" + sid,
        "segment": "个人",
        "payment_type": "prepaid" if plan == "P4G" else "postpaid",
        "join_date": joined,
        "status": "churned" if extra.get("churn_date") else "active",
        "plan_id": plan,
        "grid_id": grid,
        **extra,
    }


SUBSCRIBERS = [
    subscriber("S1", "G1", "P5G", D(2020, 1, 1), family_id="F1"),
    subscriber("S2", "G1", "P4G", D(2024, 6, 10)),
    subscriber("S3", "G1", "PBB", D(2019, 3, 1), family_id="F1"),
    subscriber("S4", "G1", "P4G", D(2021, 1, 1), churn_date=D(2024, 6, 15)),
    subscriber("S5", "G1", "P4G", D(2022, 1, 1), churn_date=D(2024, 5, 20)),
    subscriber("S6", "G1", "PBU", D(2023, 1, 1)),
    subscriber("S7", "G2", "P5G", D(2020, 1, 1)),
    subscriber("S8", "G2", "P4G", D(2020, 1, 1), churn_date=D(2024, 6, 1)),
    subscriber("S9", "G3", "P4G", D(2020, 1, 1)),
]

USAGE = [
    {"subscriber_id": sid, "month": month, "arpu": arpu}
    for sid, month, arpu in [
        ("S1", MAY, 90.0), ("S4", MAY, 40.0), ("S5", MAY, 25.0), ("S6", MAY, 150.0),
        ("S7", MAY, 200.0), ("S8", MAY, 12.0), ("S9", MAY, 19.0),
        ("S1", JUNE, 100.0), ("S2", JUNE, 20.0), ("S4", JUNE, 30.0), ("S6", JUNE, 150.0),
        ("S7", JUNE, 200.0), ("S8", JUNE, 10.0), ("S9", JUNE, 19.0),
    ]
]  # fmt: skip

RISK = {"S1": 0.005, "S2": 0.015, "S6": 0.07, "S3": 0.2, "S7": 0.03, "S9": 0.01}
GRID_OF = {s["subscriber_id"]: s["grid_id"] for s in SUBSCRIBERS}


class World:
    """The org tree and logins of the scorecard tests."""

    def __init__(self) -> None:
        self.province = factories.org_unit(code="P", name="省公司")
        self.city = factories.org_unit(code="CT", parent=self.province, name="市公司")
        self.c1 = factories.org_unit(code="C1", parent=self.city, name="一区")
        self.c2 = factories.org_unit(code="C2", parent=self.city, name="二区")
        self.g1 = factories.org_unit(code="G1", parent=self.c1, name="一网格")
        self.g2 = factories.org_unit(code="G2", parent=self.c1, name="二网格")
        self.g3 = factories.org_unit(code="G3", parent=self.c2, name="三网格")
        factories.staff(at=self.g1, employee_no="E1", name="李网格")
        factories.staff(at=self.g3, employee_no="E2", name="赵网格")
        self.admin = factories.user(role=Role.PROVINCE_ADMIN, at=self.province)
        self.county_manager = factories.user(role=Role.COUNTY_MANAGER, at=self.c1)
        self.grid_manager = factories.user(role=Role.GRID_MANAGER, at=self.g1)
        self.partner = factories.user(role=Role.CHANNEL_PARTNER, at=self.g1)

    def unit(self, code: str) -> OrgUnit:
        return OrgUnit.objects.get(code=code)


def put_warehouse(tmp_path: Path, **tables: list[dict[str, Any]]) -> None:
    """Make these rows the current version of each table of the warehouse, as an import does."""
    files = canonical_files(tmp_path, **tables)
    root = Path(settings.VAR_DIR) / "warehouse"
    for name, path in files.items():
        version = new_version()
        folder = root / name / version
        folder.mkdir(parents=True)
        (folder / "data.parquet").write_bytes(Path(path).read_bytes())
        (root / name / "CURRENT").write_text(version, encoding="utf-8")


def load_world(tmp_path: Path) -> None:
    put_warehouse(tmp_path, plans=PLANS, grids=GRIDS, subscribers=SUBSCRIBERS, monthly_usage=USAGE)


def put_snapshot(month: str = JUNE, risk: dict[str, float] | None = None) -> Snapshot:
    """A complete insight snapshot of `month` whose wide table holds the churn scores."""
    scores = RISK if risk is None else risk
    store = SnapshotStore()
    run_id, staging = store.begin(month)
    (staging / "wide").mkdir()
    table = pa.table(
        {
            "subscriber_id": list(scores),
            "grid_id": [GRID_OF[s] for s in scores],
            "churn_risk": list(scores.values()),
        }
    )
    pq.write_table(table, staging / "wide" / "part-0.parquet")
    snapshot = Snapshot(
        month=month,
        run_id=run_id,
        engine="duckdb",
        created=dt.datetime.now(dt.UTC).isoformat(),
        rows=len(scores),
        seconds=0.0,
    )
    return store.complete(staging, snapshot)


def kept_json() -> dict[str, Any]:
    folder = Path(settings.VAR_DIR) / "scorecards"
    newest = max(folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
    return json.loads(newest.read_text())


__all__ = ["JUNE", "MAY", "OrgLevel", "World", "kept_json", "load_world", "put_snapshot"]
