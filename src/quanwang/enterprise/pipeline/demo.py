"""The demo operator's pipeline: an industry product catalogue for four industries, an open
pipeline for the account_manager login across the stages with some won and lost, and orders
on its accounts (copied from the warehouse's enterprise_orders when the demo loaded one)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.core.models import Staff
from quanwang.enterprise.models import Account, EnterpriseOrder, IndustryProduct
from quanwang.enterprise.pipeline.choices import OpportunityStage as S
from quanwang.enterprise.pipeline.choices import OrderStatus
from quanwang.enterprise.pipeline.services.catalogue import (
    ProductTerms,
    publish_offer,
    save_product,
)
from quanwang.enterprise.pipeline.services.opportunities import NewOpportunity, create_opportunity
from quanwang.enterprise.pipeline.services.orders import sync_orders
from quanwang.enterprise.pipeline.services.stages import move_stage

CATALOGUE = [
    ("LOG-FLEET", "物流", "智慧车队", ("物联网", "集团V网"), 3_000_00),
    ("LOG-WMS", "物流", "仓储专线上云", ("专线", "云"), 8_000_00),
    ("EDU-CAMPUS", "教育", "智慧校园", ("专线", "云", "集团短信"), 6_000_00),
    ("MFG-5G", "制造", "5G智能工厂", ("5G专网", "物联网", "云"), 20_000_00),
    ("GOV-OFFICE", "政务", "政务协同办公", ("集团V网", "集团短信", "彩铃"), 2_000_00),
]
# (title, stage, amount in yuan, days to close, then: None, or the closing stage and reason)
DEALS = [
    ("车队定位物联网卡扩容", S.LEAD, 60_000, 60, None),
    ("总部专线升级", S.QUALIFIED, 120_000, 45, None),
    ("仓储上云整体方案", S.PROPOSAL, 380_000, 30, None),
    ("集团V网续约", S.QUOTE, 90_000, 14, None),
    ("5G专网试点", S.NEGOTIATION, 650_000, 7, None),
    ("集团短信平台", S.NEGOTIATION, 40_000, 3, (S.WON, "")),
    ("视频监控专线", S.PROPOSAL, 150_000, 20, (S.LOST, "竞争对手报价低20%")),
]


def _catalogue() -> list[IndustryProduct]:
    products = []
    today = timezone.localdate()
    for code, industry, name, lines, price in CATALOGUE:
        product = save_product(
            user=None,
            terms=ProductTerms(
                code=code, industry=industry, name=name, product_lines=lines, list_price_fen=price
            ),
        )
        if product.offer_id is None:
            product = publish_offer(user=None, product_id=product.pk, today=today)
        products.append(product)
    return products


def build_demo(*, say: Callable[[str], Any]) -> None:
    products = _catalogue()
    say(_("Industry product catalogue: %(n)d products.") % {"n": len(products)})
    login = get_user_model().objects.filter(username="account_manager").first()
    staff = Staff.objects.filter(user=login).first() if login else None
    accounts = (
        list(Account.objects.filter(team_members__staff=staff).order_by("pk")[:6]) if staff else []
    )
    if not accounts:
        say(_("No account on the account_manager login's team: no demo pipeline."))
        return
    today = timezone.localdate()
    for index, (title, stage, yuan, days, closing) in enumerate(DEALS):
        account = accounts[index % len(accounts)]
        fitting = [p.pk for p in products if p.industry == account.industry][:2]
        opportunity, created = create_opportunity(
            user=login,
            data=NewOpportunity(
                account_id=account.pk,
                title=title,
                expected_close=today + dt.timedelta(days=days),
                idempotency_key=f"demo-{index}",
                amount_fen=yuan * 100,
                stage=stage,
                product_ids=tuple(fitting),
                proposal=_("Whole-solution proposal for %(account)s.") % {"account": account.name},
                proposal_file=f"{title}.pdf",
            ),
        )
        if created and closing is not None:
            move_stage(
                user=login, opportunity_id=opportunity.pk, stage=closing[0], reason=closing[1]
            )
    synced = sync_orders()
    if synced.listed == 0:
        _demo_orders(accounts, today)
    say(
        _("Pipeline: %(n)d opportunities for the account_manager login; %(orders)d orders.")
        % {"n": len(DEALS), "orders": EnterpriseOrder.objects.count()}
    )


def _demo_orders(accounts: list[Account], today: dt.date) -> None:
    """Orders written straight to the copy when the demo warehouse has no orders table."""
    rows = [
        ("专线", "新装", OrderStatus.IN_PROGRESS, 12, None),
        ("云", "故障", OrderStatus.RECEIVED, 3, None),
        ("集团短信", "变更", OrderStatus.DONE, 40, 35),
        ("彩铃", "咨询", OrderStatus.DONE, 20, 19),
    ]
    for a_index, account in enumerate(accounts):
        for o_index, (product, kind, status, age, closed_after) in enumerate(rows):
            created = today - dt.timedelta(days=age + a_index)
            EnterpriseOrder.objects.update_or_create(
                order_id=f"DEMO-{account.enterprise_id}-{o_index}",
                defaults={
                    "enterprise_id": account.enterprise_id,
                    "account": account,
                    "product": product,
                    "kind": kind,
                    "status": status,
                    "is_open": status in (OrderStatus.RECEIVED, OrderStatus.IN_PROGRESS),
                    "created_date": created,
                    "closed_date": today - dt.timedelta(days=closed_after)
                    if closed_after
                    else None,
                    "amount_fen": 0,
                },
            )
