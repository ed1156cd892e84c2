"""Factories for real database rows: tests build what they need, never mocks."""

from __future__ import annotations

import itertools
from typing import Any

from django.contrib.auth import get_user_model

from quanwang.core.choices import OrgLevel, Role
from quanwang.core.models import OrgUnit, RoleAssignment, Staff

PASSWORD = "correct-horse-battery-9"
_sequence = itertools.count(1)


def org_unit(
    *,
    code: str,
    parent: OrgUnit | None = None,
    level: OrgLevel | None = None,
    name: str | None = None,
) -> OrgUnit:
    depth_levels = [OrgLevel.GROUP, OrgLevel.CITY, OrgLevel.COUNTY, OrgLevel.GRID]
    chosen = level or depth_levels[0 if parent is None else parent.path.count("/") - 1]
    return OrgUnit.objects.create(
        code=code,
        name=name or f"单位{code}",
        level=chosen,
        parent=parent,
        path=f"{parent.path if parent else '/'}{code}/",
    )


def user(
    *,
    role: Role | None = None,
    at: OrgUnit | None = None,
    username: str | None = None,
    **extra: Any,
) -> Any:
    name = username or f"user{next(_sequence)}"
    created = get_user_model().objects.create_user(username=name, password=PASSWORD, **extra)
    if role is not None and at is not None:
        RoleAssignment.objects.create(user=created, role=role, org_unit=at)
    return created


def staff(
    *, at: OrgUnit, mobile: str = "13812345678", name: str = "张三", employee_no: str | None = None
) -> Staff:
    return Staff.objects.create(
        employee_no=employee_no or f"E{next(_sequence):05d}",
        name=name,
        mobile=mobile,
        org_unit=at,
    )


class Tree:
    """Two cities under one province, each with a county and a grid."""

    def __init__(self) -> None:
        self.province = org_unit(code="P1", name="省公司")
        self.city_a = org_unit(code="CA", parent=self.province, name="甲市")
        self.city_b = org_unit(code="CB", parent=self.province, name="乙市")
        self.county_a = org_unit(code="CA-1", parent=self.city_a, name="甲一区")
        self.county_b = org_unit(code="CB-1", parent=self.city_b, name="乙一区")
        self.grid_a = org_unit(code="CA-1-G1", parent=self.county_a, name="甲一网格")
        self.grid_b = org_unit(code="CB-1-G1", parent=self.county_b, name="乙一网格")


def warehouse_customers(tree: Tree, directory: Any) -> dict[str, str]:
    """Load a plan, both grids and one subscriber per grid (with usage) into the warehouse.

    Returns subscriber IDs by grid code. The subscriber of city B carries a FOREIGNMARK name.
    """
    from pathlib import Path

    from quanwang.data.importer import import_file

    files = {
        "plans": "plan_id,name,plan_type,monthly_fee,is_5g\nP1,5G畅享,postpaid,129,是\n",
        "grids": "grid_id,name,grid_type,county_code,boundary_wkt\n"
        f'{tree.grid_a.code},甲网格,沿街,{tree.county_a.code},"POLYGON((120 30, 120.01 30, '
        '120.01 30.01, 120 30.01, 120 30))"\n'
        f'{tree.grid_b.code},乙网格,沿街,{tree.county_b.code},"POLYGON((121 31, 121.01 31, '
        '121.01 31.01, 121 31.01, 121 31))"\n',
        "subscribers": "subscriber_id,msisdn,name,segment,payment_type,join_date,status,plan_id,"
        "grid_id\n"
        f"SA1,13812340001,张三,个人,postpaid,2020-01-05,active,P1,{tree.grid_a.code}\n"
        f"SB1,13912340002,FOREIGNMARK,个人,postpaid,2020-01-05,active,P1,{tree.grid_b.code}\n",
        "monthly_usage": "subscriber_id,month,arpu,mou,dou_gb\n"
        "SA1,2024-01,88,300,20\nSA1,2024-02,92,310,22\nSB1,2024-01,50,100,5\n",
        "contacts": "subscriber_id,month,peer_hash,peer_operator,calls,minutes,sms\n"
        "SA1,2024-02,h1,移动,12,30,0\nSA1,2024-02,h2,本网,3,5,1\n",
    }
    for table, text in files.items():
        path = Path(directory) / f"{table}.csv"
        path.write_text(text, encoding="utf-8")
        import_file(table_name=table, path=path)
    return {tree.grid_a.code: "SA1", tree.grid_b.code: "SB1"}


def canonical_files(directory: Any, **tables: list[dict[str, Any]]) -> dict[str, Any]:
    """Parquet files of canonical tables in their exact shape; columns not given are NULL."""
    from pathlib import Path

    import pyarrow as pa
    import pyarrow.parquet as pq

    from quanwang.data.arrow import table_schema

    files = {}
    for name, records in tables.items():
        schema = table_schema(name)
        columns = {f.name: [r.get(f.name) for r in records] for f in schema}
        path = Path(directory) / f"{name}.parquet"
        pq.write_table(pa.Table.from_pydict(columns, schema=schema), path)
        files[name] = path
    return files


# The IBM Telco churn export's columns mapped onto `subscribers` (plan P1 must exist).
TELCO_SUBSCRIBER_COLUMNS: dict[str, Any] = {
    "subscriber_id": {"from": "customerID"},
    "msisdn": {"expr": "'1380000' || substr(customerID, 1, 4)"},
    "gender": {"from": "gender", "map": {"Female": "女", "Male": "男"}},
    "segment": {"const": "个人"},
    "payment_type": {"const": "postpaid"},
    "join_date": {"expr": "DATE '2024-06-01' - CAST(tenure AS INTEGER) * 30"},
    "status": {"from": "Churn", "map": {"Yes": "churned", "No": "active"}},
    "plan_id": {"const": "P1"},
}
