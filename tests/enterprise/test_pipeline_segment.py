"""The segment builder's account fields end to end: warehouse → nightly wide table (the
account columns joined through core.wide_columns) → the builder's preview count, checked
against a direct count of the same facts."""

from __future__ import annotations

import datetime as dt

import duckdb
from django.utils import translation

from quanwang.campaigns.rule_fields import builder_fields
from quanwang.campaigns.segments import preview
from quanwang.enterprise.choices import AccountGrade
from quanwang.insight.pipeline import run_pipeline
from tests.enterprise import accounts_world
from tests.enterprise import factories as ent
from tests.insight.conftest import PLANS, subscriber, usage_rows

MONTH = "2026-05"
RULE = {
    "all": [
        {"field": "account_grade", "op": "=", "value": "B"},
        {"field": "account_industry", "op": "=", "value": "物流"},
        {"field": "account_contract_months", "op": "<=", "value": 3},
    ]
}
# (enterprise, grade, industry, contract end, members)
ACCOUNTS = [
    ("E-LOG-B-SOON", AccountGrade.B, "物流", dt.date(2026, 7, 31), 7),
    ("E-LOG-B-LATE", AccountGrade.B, "物流", dt.date(2027, 3, 1), 5),
    ("E-LOG-A-SOON", AccountGrade.A, "物流", dt.date(2026, 6, 15), 4),
    ("E-EDU-B-SOON", AccountGrade.B, "教育", dt.date(2026, 8, 1), 3),
    ("E-LOG-B-ENDED", AccountGrade.B, "物流", dt.date(2026, 4, 1), 2),
]


def test_b_grade_logistics_members_with_contracts_ending_within_3_months(tree, tmp_path, settings):
    # given accounts, their members (plus people on no account) and their products
    subscribers, usage, members, products = [], [], [], []
    for eid, grade, industry, ends, n in ACCOUNTS:
        ent.account(at=tree.grid_a, enterprise_id=eid, grade=grade, industry=industry)
        products.append(
            {
                "product_instance_id": f"PI-{eid}",
                "enterprise_id": eid,
                "product": "专线",
                "contract_end": ends,
            }
        )
        for i in range(n):
            sid = f"{eid}-{i}"
            subscribers.append(subscriber(sid, enterprise_id=eid, segment="政企"))
            members.append({"enterprise_id": eid, "subscriber_id": sid})
    for i in range(6):
        subscribers.append(subscriber(f"LONE-{i}"))
    for row in subscribers:
        usage += usage_rows(row["subscriber_id"], {"2026-03": 50.0, "2026-04": 60.0, MONTH: 70.0})
    accounts_world.put(
        tmp_path,
        plans=PLANS,
        subscribers=subscribers,
        monthly_usage=usage,
        enterprise_members=members,
        enterprise_products=products,
    )
    # when the nightly builds the wide table
    snapshot = run_pipeline(month=MONTH)
    # then the builder offers the account fields under their Chinese names
    fields = {f["name"]: f for f in builder_fields(snapshot.columns)}
    assert fields["account_grade"]["group"] == "account"
    with translation.override("zh-hans"):
        assert {
            f["label"] for f in builder_fields(snapshot.columns) if f["name"].startswith("account_")
        } >= {
            "集团客户等级",
            "集团客户行业",
        }
    # and the preview counts exactly the members of the B-grade logistics account ending soon
    counted = preview(user=None, rule=RULE, snapshot=snapshot).count
    direct = duckdb.sql(
        f"SELECT count(*) FROM {snapshot.relation} WHERE account_grade = 'B' "
        "AND account_industry = '物流' AND account_contract_months <= 3"
    ).fetchall()[0][0]
    expected = sum(n for eid, g, ind, ends, n in ACCOUNTS if eid == "E-LOG-B-SOON")
    assert counted == direct == expected == 7
    rows = duckdb.sql(
        f"SELECT account_contract_months FROM {snapshot.relation} "
        "WHERE subscriber_id = 'E-LOG-B-SOON-0'"
    ).fetchall()[0]
    assert rows == (2,)  # 2026-05 → 2026-07
    loners = duckdb.sql(
        f"SELECT count(*) FROM {snapshot.relation} WHERE account_grade IS NULL"
    ).fetchall()[0][0]
    assert loners == 6
