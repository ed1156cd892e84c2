"""Built-in KPIs about customers, revenue and the warehouse's dated facts.

Definitions mirror the grid scorecards (channels.scorecards.services.compute) so the figures
agree: for each month M, a line (a row of `subscribers`) is in service at the end of M when it
joined on or before M's last day and has no churn date or one after it; at the start of M when
it joined before M's first day and has no churn date or one on or after it; a churn date before
the join date places it nowhere. Joins / churns: join / churn date in M. Revenue: Σ
monthly_usage.arpu of M; billed customers: the lines with a usage row in M. Mobile: a prepaid,
postpaid or bundle plan; 5G: plans.is_5g; with broadband at home (融合): a mobile line on a
bundle, or whose family has a broadband or bundle line in service at the end of M. A line counts
in its grid (subscribers.grid_id); past months read today's plan and grid (the warehouse keeps
no history of them).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
from django.utils.translation import gettext_lazy as _

from quanwang.channels.scorecards.services.compute import (
    BROADBAND_PLAN_TYPES,
    BUNDLE,
    MOBILE_PLAN_TYPES,
    placed_lines,
)
from quanwang.performance.choices import Aggregation, Direction, Grain, OverTime
from quanwang.performance.kpis.base import fact_rows, flag, from_facts, in_window, months_table
from quanwang.performance.kpis.definitions import BuildContext, FactTables, KpiDefinition
from quanwang.performance.kpis.facts import Fact

UNIT_GRAINS = frozenset({Grain.ORG_UNIT, Grain.STAFF})
STORE_GRAINS = frozenset({Grain.ORG_UNIT, Grain.STORE, Grain.STAFF})
SUBSCRIBER_DETAIL = (("subscriber_id", _("Subscriber ID")), ("month", _("Month")))
CUSTOMER_INPUTS = (Fact.SUBSCRIBERS.value, Fact.PLANS.value)


def line_months(tables: FactTables, ctx: BuildContext) -> ir.Table:
    """One row per line with a grid and month of `ctx`: the line's flags in that month
    (at_end, at_start, joined, churned, mobile, on_5g, with_broadband) as 0/1."""
    lines = placed_lines(tables[Fact.SUBSCRIBERS], tables[Fact.PLANS])
    months = months_table(ctx)
    crossed = lines.cross_join(months)
    at_end = (crossed.join_date <= crossed.m_last) & (
        crossed.churn_date.isnull() | (crossed.churn_date > crossed.m_last)
    )
    at_start = (crossed.join_date < crossed.m_first) & (
        crossed.churn_date.isnull() | (crossed.churn_date >= crossed.m_first)
    )
    crossed = crossed.mutate(
        at_end=flag(at_end),
        at_start=flag(at_start),
        joined=flag(crossed.join_date.between(crossed.m_first, crossed.m_last)),
        churned=flag(crossed.churn_date.between(crossed.m_first, crossed.m_last)),
    )
    homes = crossed.filter(
        crossed.plan_type.isin(BROADBAND_PLAN_TYPES).fill_null(False)
        & crossed.family_id.notnull()
        & (crossed.at_end == 1)
    )
    homes = homes.select(h_family=homes.family_id, h_month=homes.m_month).distinct()
    ours = crossed.filter(crossed.grid_id.notnull())
    ours = ours.left_join(
        homes, (ours.family_id == homes.h_family) & (ours.m_month == homes.h_month)
    )
    mobile = ours.plan_type.isin(MOBILE_PLAN_TYPES).fill_null(False) & (ours.at_end == 1)
    at_home = mobile & ((ours.plan_type == BUNDLE).fill_null(False) | ours.h_family.notnull())
    return ours.select(
        "subscriber_id",
        "grid_id",
        "at_end",
        "at_start",
        "joined",
        "churned",
        month=ours.m_month,
        day=ours.m_day,
        mobile=flag(mobile),
        on_5g=flag(mobile & ours.is_5g.fill_null(False)),
        with_broadband=flag(at_home),
    )


def _line_kpi(numerator: str, denominator: str | None = None, *, minus: str | None = None):  # type: ignore[no-untyped-def]
    """Fact rows of a KPI over line_months: one row per line and month that counts in it."""

    def facts(tables: FactTables, ctx: BuildContext) -> ir.Table:
        lines = line_months(tables, ctx)
        top = lines[numerator] - (lines[minus] if minus else 0)
        bottom = lines[denominator] if denominator else None
        counts = top != 0 if bottom is None else (top != 0) | (bottom != 0)
        lines = lines.mutate(top=top, bottom=bottom if bottom is not None else ibis.null())
        lines = lines.filter(counts)
        return fact_rows(
            lines,
            grain=Grain.ORG_UNIT,
            key=lines.grid_id,
            org_unit=lines.grid_id,
            day=lines.day,
            numerator=lines.top,
            denominator=None if bottom is None else lines.bottom,
            subscriber_id=lines.subscriber_id,
            month=lines.month,
        )

    return facts


def _billed(tables: FactTables, ctx: BuildContext) -> ir.Table:
    """One row per usage row of a grid's line in the months of `ctx`."""
    months = months_table(ctx)
    usage = tables[Fact.MONTHLY_USAGE].select("subscriber_id", "month", "arpu")
    usage = usage.join(months, usage.month == months.m_month)
    subs = tables[Fact.SUBSCRIBERS]
    grids = subs.filter(subs.grid_id.notnull()).select("subscriber_id", "grid_id")
    billed = usage.join(grids, "subscriber_id")
    return billed.select("subscriber_id", "grid_id", "month", "arpu", day=billed.m_day)


def _revenue_facts(*, per_head: bool):  # type: ignore[no-untyped-def]
    def facts(tables: FactTables, ctx: BuildContext) -> ir.Table:
        billed = _billed(tables, ctx)
        return fact_rows(
            billed,
            grain=Grain.ORG_UNIT,
            key=billed.grid_id,
            org_unit=billed.grid_id,
            day=billed.day,
            numerator=billed.arpu,
            denominator=ibis.literal(1) if per_head else None,
            subscriber_id=billed.subscriber_id,
            month=billed.month,
        )

    return facts


def _billed_facts(tables: FactTables, ctx: BuildContext) -> ir.Table:
    billed = _billed(tables, ctx)
    return fact_rows(
        billed,
        grain=Grain.ORG_UNIT,
        key=billed.grid_id,
        org_unit=billed.grid_id,
        day=billed.day,
        numerator=ibis.literal(1),
        subscriber_id=billed.subscriber_id,
        month=billed.month,
    )


def _complaint_facts(tables: FactTables, ctx: BuildContext) -> ir.Table:
    complaints = tables[Fact.COMPLAINTS]
    complaints = complaints.filter(in_window(complaints.created_date, ctx))
    subs = tables[Fact.SUBSCRIBERS]
    grids = subs.filter(subs.grid_id.notnull()).select("subscriber_id", "grid_id")
    rows = complaints.join(grids, "subscriber_id")
    return fact_rows(
        rows,
        grain=Grain.ORG_UNIT,
        key=rows.grid_id,
        org_unit=rows.grid_id,
        day=rows.created_date,
        numerator=ibis.literal(1),
        complaint_id=rows.complaint_id,
        subscriber_id=rows.subscriber_id,
        category=rows.category,
        level=rows.level,
    )


def _sales_facts(plan_types: tuple[str, ...] | None):  # type: ignore[no-untyped-def]
    """Net new lines sold at stores: a sale counts +1, a refund or reversal −1 (the store's
    commission ledger reads the same lines), on a 5G plan (None) or a plan of `plan_types`."""

    def facts(tables: FactTables, ctx: BuildContext) -> ir.Table:
        sales = tables[Fact.CHANNEL_SALES]
        sales = sales.filter(in_window(sales.sale_date, ctx))
        plans = tables[Fact.PLANS].select("plan_id", "plan_type", "is_5g")
        rows = sales.join(plans, "plan_id")
        wanted = (
            rows.is_5g.fill_null(False)
            if plan_types is None
            else rows.plan_type.isin(plan_types).fill_null(False)
        )
        rows = rows.filter(wanted)
        stores = tables[Fact.STORES].select("store_id", store_grid=tables[Fact.STORES].grid_id)
        rows = rows.left_join(stores, "store_id")
        sign = ibis.ifelse(rows.kind == "销售", 1, -1)
        return fact_rows(
            rows,
            grain=Grain.STORE,
            key=rows.store_id,
            org_unit=rows.store_grid,
            day=rows.sale_date,
            numerator=sign,
            sale_id=rows.sale_id,
            kind=rows.kind,
            plan_id=rows.plan_id,
            subscriber_id=rows.subscriber_id,
        )

    return facts


def _winover_facts(tables: FactTables, ctx: BuildContext) -> ir.Table:
    """The snapshot's off-net win-over pool: each number counts at its referrer's grid, dated
    on the snapshot month's last day (or the as-of day)."""
    pool = tables[Fact.OFFNET_POOL]
    months = months_table(ctx)
    pool = pool.join(months, pool.month == months.m_month)
    pool = pool.filter(pool.referrer_grid_id.notnull())
    return fact_rows(
        pool,
        grain=Grain.ORG_UNIT,
        key=pool.referrer_grid_id,
        org_unit=pool.referrer_grid_id,
        day=pool.m_day,
        numerator=ibis.literal(1),
        peer_hash=pool.peer_hash,
        peer_operator=pool.peer_operator,
        referrer_id=pool.referrer_id,
    )


def customer_kpis() -> list[KpiDefinition]:
    sub_detail = SUBSCRIBER_DETAIL
    return [
        from_facts(
            "customers",
            _line_kpi("at_end"),
            name=_("Customers"),
            unit=_("customers"),
            direction=Direction.HIGHER,
            aggregation=Aggregation.SUM,
            over_time=OverTime.STOCK,
            grains=UNIT_GRAINS,
            inputs=CUSTOMER_INPUTS,
            detail=sub_detail,
            description=_("Lines in service at the end of the month, in their grid."),
        ),
        from_facts(
            "billed_customers",
            _billed_facts,
            name=_("Billed customers"),
            unit=_("customers"),
            direction=Direction.HIGHER,
            aggregation=Aggregation.SUM,
            over_time=OverTime.STOCK,
            grains=UNIT_GRAINS,
            inputs=(Fact.SUBSCRIBERS.value, Fact.MONTHLY_USAGE.value),
            detail=sub_detail,
            description=_("Lines with a bill (a usage row) in the month."),
        ),
        from_facts(
            "net_adds",
            _line_kpi("joined", minus="churned"),
            name=_("Net adds"),
            unit=_("customers"),
            direction=Direction.HIGHER,
            aggregation=Aggregation.SUM,
            over_time=OverTime.FLOW,
            grains=UNIT_GRAINS,
            inputs=CUSTOMER_INPUTS,
            detail=sub_detail,
            description=_("Lines joined in the month minus lines that left in it."),
        ),
        from_facts(
            "churn_rate",
            _line_kpi("churned", "at_start"),
            name=_("Churn rate"),
            unit="%",
            direction=Direction.LOWER,
            aggregation=Aggregation.RATIO,
            over_time=OverTime.FLOW,
            grains=UNIT_GRAINS,
            inputs=CUSTOMER_INPUTS,
            detail=sub_detail,
            decimals=4,
            description=_("Lines that left in the month over the lines in service at its start."),
        ),
        from_facts(
            "revenue",
            _revenue_facts(per_head=False),
            name=_("Revenue"),
            unit=_("yuan"),
            direction=Direction.HIGHER,
            aggregation=Aggregation.SUM,
            over_time=OverTime.FLOW,
            grains=UNIT_GRAINS,
            inputs=(Fact.SUBSCRIBERS.value, Fact.MONTHLY_USAGE.value),
            detail=(*sub_detail, ("arpu", _("Billed amount (yuan)"))),
            decimals=2,
            description=_("Billed revenue of the grid's lines (Σ monthly ARPU)."),
        ),
        from_facts(
            "arpu",
            _revenue_facts(per_head=True),
            name=_("ARPU"),
            unit=_("yuan"),
            direction=Direction.HIGHER,
            aggregation=Aggregation.RATIO,
            over_time=OverTime.FLOW,
            grains=UNIT_GRAINS,
            inputs=(Fact.SUBSCRIBERS.value, Fact.MONTHLY_USAGE.value),
            detail=(*sub_detail, ("arpu", _("Billed amount (yuan)"))),
            decimals=2,
            description=_("Billed revenue over billed customers (a ratio of sums)."),
        ),
        from_facts(
            "penetration_5g",
            _line_kpi("on_5g", "mobile"),
            name=_("5G plan penetration"),
            unit="%",
            direction=Direction.HIGHER,
            aggregation=Aggregation.RATIO,
            over_time=OverTime.STOCK,
            grains=UNIT_GRAINS,
            inputs=CUSTOMER_INPUTS,
            detail=sub_detail,
            decimals=4,
            description=_("Mobile lines on a 5G plan over mobile lines, at month end."),
        ),
        from_facts(
            "broadband_penetration",
            _line_kpi("with_broadband", "mobile"),
            name=_("Broadband / converged penetration"),
            unit="%",
            direction=Direction.HIGHER,
            aggregation=Aggregation.RATIO,
            over_time=OverTime.STOCK,
            grains=UNIT_GRAINS,
            inputs=CUSTOMER_INPUTS,
            detail=sub_detail,
            decimals=4,
            description=_(
                "Mobile lines with broadband at home (a bundle, or a broadband line in the "
                "family) over mobile lines, at month end."
            ),
        ),
        from_facts(
            "complaints",
            _complaint_facts,
            name=_("Complaints"),
            unit=_("complaints"),
            direction=Direction.LOWER,
            aggregation=Aggregation.SUM,
            over_time=OverTime.FLOW,
            grains=UNIT_GRAINS,
            inputs=(Fact.SUBSCRIBERS.value, Fact.COMPLAINTS.value),
            detail=(
                ("complaint_id", _("Complaint ID")),
                ("subscriber_id", _("Subscriber ID")),
                ("category", _("Category")),
                ("level", _("Level")),
            ),
            description=_("Complaints of the grid's customers (a deduction base)."),
        ),
        from_facts(
            "new_5g_plans",
            _sales_facts(None),
            name=_("New 5G plans"),
            unit=_("lines"),
            direction=Direction.HIGHER,
            aggregation=Aggregation.SUM,
            over_time=OverTime.FLOW,
            grains=STORE_GRAINS,
            inputs=(Fact.CHANNEL_SALES.value, Fact.PLANS.value, Fact.STORES.value),
            detail=(
                ("sale_id", _("Sale ID")),
                ("kind", _("Kind")),
                ("plan_id", _("Plan ID")),
                ("subscriber_id", _("Subscriber ID")),
            ),
            description=_(
                "5G plans sold at stores, less refunds and reversals (a piece-rate base)."
            ),
        ),
        from_facts(
            "new_broadband",
            _sales_facts(BROADBAND_PLAN_TYPES),
            name=_("New broadband"),
            unit=_("lines"),
            direction=Direction.HIGHER,
            aggregation=Aggregation.SUM,
            over_time=OverTime.FLOW,
            grains=STORE_GRAINS,
            inputs=(Fact.CHANNEL_SALES.value, Fact.PLANS.value, Fact.STORES.value),
            detail=(
                ("sale_id", _("Sale ID")),
                ("kind", _("Kind")),
                ("plan_id", _("Plan ID")),
                ("subscriber_id", _("Subscriber ID")),
            ),
            description=_("Broadband and bundle plans sold at stores, less refunds and reversals."),
        ),
        from_facts(
            "winover_pool",
            _winover_facts,
            name=_("Win-over pool"),
            unit=_("numbers"),
            direction=Direction.HIGHER,
            aggregation=Aggregation.SUM,
            over_time=OverTime.STOCK,
            grains=UNIT_GRAINS,
            inputs=(Fact.OFFNET_POOL.value,),
            uses_snapshot=True,
            detail=(
                ("peer_hash", _("Peer number hash")),
                ("peer_operator", _("Peer operator")),
                ("referrer_id", _("Referrer")),
            ),
            description=_(
                "Competitors' numbers our customers call, counted at the grid of the customer "
                "best placed to win them over (a potential for decomposing targets)."
            ),
        ),
    ]
