"""A small world for the commission tests: stores in the store file, sale lines, churn dates
and revenue in the warehouse, a published rule set, and people to run and approve statements.

The facts are written straight into the warehouse's current files (the importer's checks are
the data app's, tested there); `World.put()` writes the whole of each table again, as an
upsert import of corrected lines leaves it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from django.conf import settings

from quanwang.channels.choices import StoreType
from quanwang.channels.commissions.services import rules as rule_services
from quanwang.channels.commissions.services import runs
from quanwang.channels.models import CommissionStatement, Store
from quanwang.core.choices import JobStatus, Role
from quanwang.core.jobs import execute_job
from quanwang.data.schema import TABLES
from quanwang.data.warehouse import Warehouse, sql_literal
from tests import factories


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def make_store(store_id: str, *, at: Any, store_type: str = StoreType.PARTNER) -> Store:
    return Store.objects.create(
        store_id=store_id,
        name=f"网点{store_id}",
        store_type=store_type,
        org_unit=at,
        grid_id=at.code,
        owner_name="李四",
        contact_msisdn="13900001111",
    )


def write_table(table: str, records: list[dict[str, Any]], directory: Path) -> None:
    """Make `records` the table's current version in the default warehouse."""
    files = factories.canonical_files(directory, **{table: records})
    source = sql_literal(str(files[table]))
    store = Warehouse()
    con = duckdb.connect()
    with store.lock(table):
        store.commit(
            con=con,
            table=TABLES[table],
            select_where=lambda condition: (
                f"SELECT * FROM read_parquet({source}) WHERE {condition}"
            ),
        )
    con.close()


class World:
    """Two stores (one per city), a province admin who writes the rules, a city marketer of
    each city who runs statements, and a province admin who approves them."""

    def __init__(self, tree: factories.Tree, directory: Path) -> None:
        self.tree = tree
        self.directory = directory
        self.s1 = make_store("S1", at=tree.grid_a)
        self.s2 = make_store("S2", at=tree.grid_b, store_type=StoreType.AGENT)
        self.admin = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
        self.runner = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
        self.approver = factories.user(role=Role.PROVINCE_ADMIN, at=tree.province)
        self.sales: dict[str, dict[str, Any]] = {}
        self.churn: dict[str, dt.date | None] = {}
        self.usage: dict[tuple[str, str], float] = {}

    # --- facts ----------------------------------------------------------------------------

    def sale(
        self,
        sale_id: str,
        when: str,
        *,
        store: str = "S1",
        product: str = "号卡",
        plan: str | None = "P1",
        subscriber: str | None = None,
        kind: str = "销售",
        original: str | None = None,
    ) -> None:
        self.sales[sale_id] = {
            "sale_id": sale_id,
            "store_id": store,
            "sale_date": day(when),
            "product": product,
            "plan_id": plan,
            "subscriber_id": subscriber,
            "amount": 100.0 if kind == "销售" else -100.0,
            "kind": kind,
            "original_sale_id": original,
        }
        if subscriber is not None:
            self.churn.setdefault(subscriber, None)

    def refund(self, sale_id: str, when: str, original: str, *, kind: str = "退款") -> None:
        store = self.sales[original]["store_id"] if original in self.sales else "S1"
        self.sale(sale_id, when, store=store, plan=None, kind=kind, original=original)

    def put(self) -> None:
        write_table("channel_sales", list(self.sales.values()), self.directory)
        write_table(
            "subscribers",
            [
                {"subscriber_id": s, "churn_date": c, "status": "churned" if c else "active"}
                for s, c in sorted(self.churn.items())
            ],
            self.directory,
        )
        write_table(
            "monthly_usage",
            [
                {"subscriber_id": s, "month": m, "arpu": a}
                for (s, m), a in sorted(self.usage.items())
            ],
            self.directory,
        )

    # --- rules ----------------------------------------------------------------------------

    def rules(
        self,
        *terms: rule_services.RuleTerms,
        start: str = "2024-01-01",
        end: str | None = None,
        name: str = "标准酬金",
    ) -> Any:
        rule_set = rule_services.create_rule_set(
            actor=self.admin,
            name=name,
            valid_from=day(start),
            valid_until=day(end) if end else None,
        )
        for term in terms:
            rule_services.add_rule(actor=self.admin, rule_set_id=rule_set.pk, terms=term)
        return rule_services.publish_rule_set(actor=self.admin, rule_set_id=rule_set.pk)

    # --- runs -----------------------------------------------------------------------------

    def run(self, month: str, *, by: Any = None) -> dict[str, Any]:
        job = runs.start_run(actor=by or self.runner, month=month, background=False)
        finished = execute_job(job_id=job.pk)
        assert finished.status == JobStatus.SUCCEEDED, finished.error
        return dict(finished.result or {})

    def approve(self, month: str) -> int:
        return runs.approve_statements(actor=self.approver, month=month)

    def close(self, month: str) -> dict[str, Any]:
        result = self.run(month)
        self.approve(month)
        return result

    def statement(self, month: str, store: str = "S1") -> CommissionStatement | None:
        return CommissionStatement.objects.filter(month=month, store__store_id=store).first()

    def lines(self, month: str, store: str = "S1") -> list[dict[str, Any]]:
        found = self.statement(month, store)
        if found is None:
            return []
        path = Path(settings.VAR_DIR) / found.lines_path
        table = pq.read_table(path).to_pylist()
        return [r for r in table if r["store_id"] == store and r["month"] == month]

    def paying(self, month: str, store: str = "S1") -> list[tuple[str, str, str, Decimal]]:
        """(sale, kind, due month, amount) of the month's money lines."""
        return [
            (r["sale_id"], r["kind"], r["due_month"], r["amount"])
            for r in self.lines(month, store)
            if r["amount"] != 0
        ]


FIXED_50 = rule_services.RuleTerms(product="号卡", fixed_amount=Decimal("50.00"))


def test_the_world_writes_facts_the_warehouse_reads(tree: factories.Tree, tmp_path: Path) -> None:
    # given a sale written through the helper
    world = World(tree, tmp_path)
    world.sale("A1", "2024-06-03", subscriber="U1")
    world.put()
    # when the warehouse is read
    count = Warehouse().count("channel_sales")
    # then the sale is there
    assert count == 1
