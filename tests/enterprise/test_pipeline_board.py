"""The pipeline board's sums, the merge rule, the order copy, the API and the pages."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quanwang.core.services.tokens import create_token
from quanwang.enterprise.accounts.merging import checks, hooks
from quanwang.enterprise.models import EnterpriseOrder, Opportunity
from quanwang.enterprise.pipeline.choices import OpportunityStage as S
from quanwang.enterprise.pipeline.services.board import board
from quanwang.enterprise.pipeline.services.stages import OPEN_STAGES, move_stage
from tests import factories
from tests.enterprise import pipeline_world as pw


@pytest.fixture
def world(tree: Any) -> pw.World:
    return pw.build(tree)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    deals=st.lists(
        st.tuples(
            st.sampled_from(OPEN_STAGES),
            st.integers(min_value=0, max_value=10**10),
            st.one_of(st.none(), st.integers(min_value=0, max_value=100)),
        ),
        max_size=12,
    )
)
def test_board_columns_add_up_to_the_total(world, deals):
    # given any open deals on the manager's account
    Opportunity.objects.all().delete()
    for stage, amount, probability in deals:
        pw.opportunity(
            user=world.am_user,
            account=world.a,
            stage=stage,
            amount_fen=amount,
            probability=probability,
        )
    # when the board is drawn
    found = board(user=world.am_user, today=pw.TODAY)
    # then each column's sums are its rows', and the columns add up to every open deal
    rows = list(Opportunity.objects.filter(status="open"))
    assert found.count == len(rows)
    assert found.amount_fen == sum(o.amount_fen for o in rows)
    assert found.weighted_fen == sum(o.weighted_fen for o in rows)
    for column in found.columns:
        mine = [o for o in rows if o.stage == column.stage]
        assert column.weighted_fen == sum(o.weighted_fen for o in mine)


def test_board_per_manager_and_won_this_month(world):
    pw.opportunity(user=world.am_user, account=world.a, stage=S.QUOTE, amount_fen=100_00)
    won = pw.opportunity(user=world.am_user, account=world.a, amount_fen=500_00)
    move_stage(user=world.am_user, opportunity_id=won.pk, stage=S.WON, today=pw.TODAY)
    pw.opportunity(user=world.other_user, account=world.far, amount_fen=999_00)
    found = board(user=world.admin, manager=world.am, today=pw.TODAY)
    assert (found.count, found.amount_fen, found.won_count, found.won_fen) == (1, 100_00, 1, 500_00)
    assert board(user=world.admin, unit=world.tree.city_b, today=pw.TODAY).amount_fen == 999_00


def test_a_merge_of_two_accounts_with_open_opportunities_is_refused(world):
    other_a = pw.ent.account(at=world.tree.grid_a, name="甲物流分公司")
    pw.ent.on_team(account=other_a, staff=world.am)
    pw.opportunity(user=world.am_user, account=world.a)
    pw.opportunity(user=world.am_user, account=other_a)
    refuse = checks()["pipeline"]
    reason = refuse(survivor=world.a, merged=other_a, user=world.am_user)
    assert reason
    assert "甲物流分公司" in reason
    # one side closed: allowed, and the rows follow the survivor
    for o in Opportunity.objects.filter(account=other_a):
        move_stage(user=world.am_user, opportunity_id=o.pk, stage=S.LOST, reason="重复")
    assert refuse(survivor=world.a, merged=other_a, user=world.am_user) is None
    moved = hooks()["pipeline"](survivor=world.a, merged=other_a)
    assert moved["opportunities"] == 1
    assert hooks()["pipeline"](survivor=world.a, merged=other_a)["opportunities"] == 0


def test_orders_are_copied_from_the_warehouse_and_listed_open_first(world, settings, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from quanwang.data.warehouse import Warehouse
    from quanwang.enterprise.pipeline.sections import account_section
    from quanwang.enterprise.pipeline.services.orders import sync_orders

    rows = [
        (
            "O1",
            world.a.enterprise_id,
            "专线",
            "新装",
            "已完成",
            dt.date(2026, 5, 1),
            dt.date(2026, 5, 9),
            100.0,
        ),
        ("O2", world.a.enterprise_id, "云", "故障", "处理中", dt.date(2026, 6, 1), None, 0.0),
        ("O3", world.a.enterprise_id, "彩铃", "变更", "受理中", dt.date(2026, 5, 20), None, 12.5),
        ("O4", "UNKNOWN", "云", "咨询", "受理中", dt.date(2026, 6, 2), None, 0.0),
    ]
    names = [
        "order_id",
        "enterprise_id",
        "product",
        "kind",
        "status",
        "created_date",
        "closed_date",
        "amount",
    ]
    table = pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)})
    path = tmp_path / "orders.parquet"
    pq.write_table(table, path)

    class _Store(Warehouse):
        def relation(self, name: str) -> str:
            return f"read_parquet('{path}')"

        def read_file(self, table: str) -> Any:
            return path

    report = sync_orders(warehouse=_Store())
    assert (report.listed, report.created, report.unlinked) == (4, 4, 1)
    assert sync_orders(warehouse=_Store()).created == 0  # idempotent
    assert EnterpriseOrder.objects.get(order_id="O3").amount_fen == 1250
    section = account_section(account=world.a, user=world.am_user)
    assert [o.order_id for o, _age in section["open_orders"]] == ["O3", "O2"]
    assert [o.order_id for o in section["closed_orders"]] == ["O1"]
    assert account_section(account=world.a, user=world.other_user)["open_orders"] == []


def _auth(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_api_creates_once_per_key_moves_and_hides_others(world, client: Client):
    _token, secret = create_token(user=world.am_user, name="cli")
    body = {
        "account_id": world.a.pk,
        "title": "专线扩容",
        "expected_close": "2026-08-01",
        "idempotency_key": "api-1",
        "amount_fen": 20_000_00,
        "product_ids": [world.product.pk],
    }
    first = client.post(
        "/api/v1/enterprise/opportunities", body, content_type="application/json", **_auth(secret)
    )
    again = client.post(
        "/api/v1/enterprise/opportunities", body, content_type="application/json", **_auth(secret)
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    pk = first.json()["id"]
    moved = client.post(
        f"/api/v1/enterprise/opportunities/{pk}/stage",
        {"stage": "lost"},
        content_type="application/json",
        **_auth(secret),
    )
    assert moved.status_code == 422
    assert moved.json()["field"] == "reason"
    theirs = pw.opportunity(user=world.other_user, account=world.far)
    hidden = client.post(
        f"/api/v1/enterprise/opportunities/{theirs.pk}/stage",
        {"stage": "quote"},
        content_type="application/json",
        **_auth(secret),
    )
    assert hidden.status_code == 404
    listed = client.get("/api/v1/enterprise/opportunities", **_auth(secret)).json()
    assert [o["id"] for o in listed] == [pk]


LATIN_WORD = re.compile(r">[^<]*\b[A-Za-z]{4,}\b[^<]*<")


def test_pages_render_in_chinese_and_scope_by_account(world, login):
    mine = pw.opportunity(user=world.am_user, account=world.a)
    theirs = pw.opportunity(user=world.other_user, account=world.far)
    client = login(world.am_user)
    for url in (
        "/enterprise/pipeline/",
        f"/enterprise/pipeline/{mine.pk}/",
        "/enterprise/pipeline/new/",
        "/enterprise/products/",
    ):
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert page.status_code == 200, url
        assert "Traceback" not in page.content.decode()
    assert client.get(f"/enterprise/pipeline/{theirs.pk}/").status_code == 404
    posted = client.post(f"/enterprise/pipeline/{theirs.pk}/stage/", {"stage": "quote"})
    assert posted.status_code == 404
    created = client.post(
        "/enterprise/pipeline/new/",
        {
            "account": world.a.pk,
            "title": "新商机",
            "amount": "1000",
            "expected_close": "2026-09-01",
            "key": "form-1",
            "stage": "lead",
        },
    )
    assert created.status_code == 302
    assert Opportunity.objects.filter(title="新商机").count() == 1


def test_only_the_province_saves_the_catalogue(world, login):
    am_page = login(world.am_user).post(
        "/enterprise/products/",
        {"code": "X1", "industry": "物流", "name": "x", "product_lines": ["云"]},
    )
    assert am_page.status_code == 404
    admin = factories.user(role=None, is_superuser=True, username="root")
    saved = login(admin).post(
        "/enterprise/products/",
        {
            "code": "edu-1",
            "industry": "教育",
            "name": "智慧校园",
            "product_lines": ["云", "专线"],
            "price": "800",
        },
    )
    assert saved.status_code == 302
    from quanwang.enterprise.models import IndustryProduct

    product = IndustryProduct.objects.get(code="EDU-1")
    assert (product.list_price_fen, product.product_lines) == (80000, ["云", "专线"])


def test_the_demo_fills_the_account_managers_pipeline(world):
    from django.contrib.auth import get_user_model

    from quanwang.core.choices import Role
    from quanwang.core.models import RoleAssignment
    from quanwang.enterprise.pipeline.demo import build_demo

    login = get_user_model().objects.create_user(username="account_manager", password="x")
    RoleAssignment.objects.create(user=login, role=Role.ACCOUNT_MANAGER, org_unit=world.tree.grid_a)
    world.am.user = login
    world.am.save()
    said: list[str] = []
    build_demo(say=said.append)
    build_demo(say=said.append)  # a second run adds nothing
    mine = Opportunity.objects.filter(owner=world.am)
    assert mine.count() == 7
    assert set(mine.values_list("status", flat=True)) == {"open", "won", "lost"}
    assert EnterpriseOrder.objects.filter(account=world.a, is_open=True).exists()
