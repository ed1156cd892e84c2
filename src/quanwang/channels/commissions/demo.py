"""The demo operator's commissions (built by `quanwang demo`, after the stores, visits and
funnel): a published rule set covering every product the stores sell, and the statements of
the newest month of sale lines, computed by the system account and approved by the province
admin, so that a new user finds a statement after `make run`. Running it again changes
nothing: the rule set is kept and an approved month is not recomputed."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import duckdb
from django.contrib.auth import get_user_model

from quanwang.channels.choices import StoreType
from quanwang.channels.commissions.choices import RuleSetStatus, StatementStatus
from quanwang.channels.commissions.services import rules as rule_services
from quanwang.channels.commissions.services import runs
from quanwang.channels.commissions.services.rules import RuleTerms, TierTerms
from quanwang.channels.models import CommissionRuleSet, CommissionStatement
from quanwang.core.choices import JobStatus
from quanwang.core.jobs import execute_job
from quanwang.core.terminal import system_actor
from quanwang.data.warehouse import Warehouse

RULE_SET = "标准酬金"
APPROVER = "admin"
D = Decimal

#: What a sale earns at the social channels, agents and partner stores (own halls earn none):
#: the card's 30 yuan, 60% on activation and the rest after 3 months if the line stays, taken
#: back if it churns within 3 months, 36 from 40 cards a month; a share of the first months'
#: revenue for plans and bundles; fixed amounts for broadband, devices and add-ons.
DEMO_TERMS: dict[str, dict[str, Any]] = {
    "号卡": {
        "fixed_amount": D(30),
        "upfront_share": D("0.6"),
        "deferred_months": 3,
        "clawback_months": 3,
        "tiers": (TierTerms(min_volume=40, fixed_amount=D(36)),),
    },
    "5G套餐": {"fixed_amount": D(20), "revenue_share": D("0.08"), "revenue_months": 6,
               "clawback_months": 3},
    "宽带": {"fixed_amount": D(60), "upfront_share": D("0.5"), "deferred_months": 6},
    "融合套餐": {"fixed_amount": D(80), "revenue_share": D("0.05"), "revenue_months": 12,
                "clawback_months": 6},
    "终端": {"fixed_amount": D(15)},
    "权益包": {"fixed_amount": D(2)},
}  # fmt: skip


def _sales_span() -> tuple[Any, Any, list[str]] | None:
    """The first and last day of the sale lines, and the products sold."""
    relation = Warehouse().relation("channel_sales")
    con = duckdb.connect()
    try:
        first, last = con.sql(f"SELECT min(sale_date), max(sale_date) FROM {relation}").fetchall()[
            0
        ]
        products = [
            row[0] for row in con.sql(f"SELECT DISTINCT product FROM {relation}").fetchall()
        ]
    finally:
        con.close()
    return None if first is None else (first, last, sorted(products))


def _rule_set(*, actor: Any, start: Any, products: list[str]) -> CommissionRuleSet:
    existing = CommissionRuleSet.objects.filter(name=RULE_SET, status=RuleSetStatus.ACTIVE).first()
    if existing is not None:
        return existing
    draft = rule_services.create_rule_set(
        actor=actor,
        name=RULE_SET,
        valid_from=start.replace(day=1),
        note="演示：自营厅不计酬金；社会渠道、代理商、合作店按产品计酬。",
    )
    for product in sorted(set(products) | set(DEMO_TERMS)):
        terms = DEMO_TERMS.get(product, {"fixed_amount": D(5)})
        for store_type in StoreType:
            if store_type is StoreType.OWN_HALL:
                rule = RuleTerms(product=product, store_type=store_type, note="自营厅")
            else:
                rule = RuleTerms(product=product, store_type=store_type, **terms)
            rule_services.add_rule(actor=actor, rule_set_id=draft.pk, terms=rule)
    return rule_services.publish_rule_set(actor=actor, rule_set_id=draft.pk)


def build_demo(*, say: Callable[[str], Any]) -> None:
    span = _sales_span()
    if span is None:
        say("no sale lines in the warehouse: no commission statement")
        return
    first, last, products = span
    system = system_actor()
    rule_set = _rule_set(actor=system, start=first, products=products)
    say(f"commission rules: {rule_set} ({rule_set.rules.count()} rules)")
    month = last.strftime("%Y-%m")
    if CommissionStatement.objects.filter(month=month, status=StatementStatus.APPROVED).exists():
        say(f"commission statements of {month}: approved already")
        return
    job = runs.start_run(actor=system, month=month, background=False)
    finished = execute_job(job_id=job.pk)
    if finished.status != JobStatus.SUCCEEDED:
        say(f"commission statements of {month} not computed: {finished.error}")
        return
    result = finished.result or {}
    approver = get_user_model().objects.filter(username=APPROVER).first()
    approved = runs.approve_statements(actor=approver, month=month) if approver else 0
    say(
        f"commission statements of {month}: {result.get('statements', 0):,} stores, "
        f"{result.get('lines', 0):,} lines, {result.get('total')} yuan; {approved:,} approved"
    )
