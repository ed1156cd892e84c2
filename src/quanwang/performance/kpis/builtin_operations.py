"""Built-in KPIs over campaigns, visits, stores and enterprise accounts.

- Campaign acceptance and tasks completed: the campaigns app's figures per grid and month
  (campaigns.services.channel_figures, the scorecards' source), extracted to Parquet.
- Incremental takers: from evaluated campaigns' results, each treated customer counts
  (took the offer ? 1 : 0) − the campaign's control response rate, dated on the campaign's
  window end, at the customer's grid: the sum over a grid is its treated takers beyond what the
  control group says would have taken anyway.
- Visits done against plan: per store and month, visits counted up to the plan over visits
  planned (channels.visits' rule), at the store.
- Store sales: store_sales revenue and units per store and month.
- Enterprise account revenue: the members' billed revenue (monthly_usage.arpu) per account and
  month, as enterprise.grading reads it; opportunities won: won opportunities closed in the
  month, at the account; account visits: enterprise visits logged by a staff member.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
from django.utils.translation import gettext_lazy as _

from quanwang.performance.choices import Aggregation, Direction, Grain, OverTime
from quanwang.performance.kpis.base import fact_rows, from_facts, in_window, months_table
from quanwang.performance.kpis.definitions import BuildContext, FactTables, KpiDefinition
from quanwang.performance.kpis.facts import Fact

UNIT_GRAINS = frozenset({Grain.ORG_UNIT, Grain.STAFF})
STORE_GRAINS = frozenset({Grain.ORG_UNIT, Grain.STORE, Grain.STAFF})
ACCOUNT_GRAINS = frozenset({Grain.ORG_UNIT, Grain.ACCOUNT, Grain.STAFF})
WON = "won"
CONTROL, TREATED = "control", "treated"


def _campaign_facts(numerator: str, denominator: str):  # type: ignore[no-untyped-def]
    def facts(tables: FactTables, ctx: BuildContext) -> ir.Table:
        figures = tables[Fact.CAMPAIGN_FIGURES]
        months = months_table(ctx)
        rows = figures.join(months, figures.month == months.m_month)
        rows = rows.filter((rows[numerator] != 0) | (rows[denominator] != 0))
        return fact_rows(
            rows,
            grain=Grain.ORG_UNIT,
            key=rows.grid_id,
            org_unit=rows.grid_id,
            day=rows.m_day,
            numerator=rows[numerator],
            denominator=rows[denominator],
            month=rows.month,
        )

    return facts


def _incremental_facts(tables: FactTables, ctx: BuildContext) -> ir.Table:
    results = tables[Fact.CAMPAIGN_RESULTS]
    results = results.filter(results.window_end.notnull())
    control = results.filter(results.group == CONTROL)
    rates = control.group_by("campaign_id").aggregate(
        control_rate=control.responded.fill_null(False).cast("float64").mean()
    )
    treated = results.filter(
        (results.group == TREATED) & in_window(results.window_end, ctx)
    ).left_join(rates, "campaign_id")
    subs = tables[Fact.SUBSCRIBERS]
    grids = subs.filter(subs.grid_id.notnull()).select("subscriber_id", "grid_id")
    rows = treated.join(grids, "subscriber_id")
    took = ibis.ifelse(rows.responded.fill_null(False), 1.0, 0.0)
    return fact_rows(
        rows,
        grain=Grain.ORG_UNIT,
        key=rows.grid_id,
        org_unit=rows.grid_id,
        day=rows.window_end,
        numerator=took - rows.control_rate.fill_null(0.0),
        campaign_id=rows.campaign_id,
        subscriber_id=rows.subscriber_id,
        responded=rows.responded,
    )


def _visit_facts(tables: FactTables, ctx: BuildContext) -> ir.Table:
    plans = tables[Fact.STORE_VISIT_PLANS]
    months = months_table(ctx)
    rows = plans.join(months, plans.month == months.m_month)
    return fact_rows(
        rows,
        grain=Grain.STORE,
        key=rows.store_id,
        org_unit=rows.grid_id,
        day=rows.m_day,
        numerator=rows.counted,
        denominator=rows.planned,
        month=rows.month,
        logged=rows.logged,
    )


def _store_sales_facts(column: str):  # type: ignore[no-untyped-def]
    def facts(tables: FactTables, ctx: BuildContext) -> ir.Table:
        sales = tables[Fact.STORE_SALES]
        months = months_table(ctx)
        rows = sales.join(months, sales.month == months.m_month)
        stores = tables[Fact.STORES].select("store_id", store_grid=tables[Fact.STORES].grid_id)
        rows = rows.left_join(stores, "store_id")
        return fact_rows(
            rows,
            grain=Grain.STORE,
            key=rows.store_id,
            org_unit=rows.store_grid,
            day=rows.m_day,
            numerator=rows[column].fill_null(0),
            month=rows.month,
            product=rows.product,
        )

    return facts


def _account_revenue_facts(tables: FactTables, ctx: BuildContext) -> ir.Table:
    months = months_table(ctx)
    usage = tables[Fact.MONTHLY_USAGE].select("subscriber_id", "month", "arpu")
    usage = usage.join(months, usage.month == months.m_month)
    members = tables[Fact.ENTERPRISE_MEMBERS].select("enterprise_id", "subscriber_id")
    accounts = tables[Fact.ENTERPRISES].select(
        "enterprise_id", account_grid=tables[Fact.ENTERPRISES].grid_id
    )
    rows = usage.join(members, "subscriber_id").left_join(accounts, "enterprise_id")
    return fact_rows(
        rows,
        grain=Grain.ACCOUNT,
        key=rows.enterprise_id,
        org_unit=rows.account_grid,
        day=rows.m_day,
        numerator=rows.arpu,
        subscriber_id=rows.subscriber_id,
        month=rows.month,
        arpu=rows.arpu,
    )


def _won_facts(tables: FactTables, ctx: BuildContext) -> ir.Table:
    opportunities = tables[Fact.OPPORTUNITIES]
    rows = opportunities.filter(
        (opportunities.status == WON) & in_window(opportunities.closed_on, ctx)
    )
    return fact_rows(
        rows,
        grain=Grain.ACCOUNT,
        key=rows.enterprise_id,
        org_unit=rows.grid_id.fill_null(rows.account_unit),
        day=rows.closed_on,
        numerator=ibis.literal(1),
        opportunity_id=rows.opportunity_id,
        owner_employee_no=rows.owner_employee_no,
        amount=rows.amount,
    )


def _account_visit_facts(tables: FactTables, ctx: BuildContext) -> ir.Table:
    visits = tables[Fact.ENTERPRISE_VISITS]
    rows = visits.filter(in_window(visits.visited_on, ctx) & visits.employee_no.notnull())
    return fact_rows(
        rows,
        grain=Grain.STAFF,
        key=rows.employee_no,
        org_unit=rows.staff_unit,
        day=rows.visited_on,
        numerator=ibis.literal(1),
        visit_id=rows.visit_id,
        enterprise_id=rows.enterprise_id,
    )


def operation_kpis() -> list[KpiDefinition]:
    month = (("month", _("Month")),)
    return [
        from_facts(
            "acceptance_rate",
            _campaign_facts("accepted", "targeted"),
            name=_("Campaign acceptance"),
            unit="%",
            direction=Direction.HIGHER,
            aggregation=Aggregation.RATIO,
            over_time=OverTime.FLOW,
            grains=UNIT_GRAINS,
            inputs=(Fact.CAMPAIGN_FIGURES.value,),
            detail=month,
            decimals=4,
            description=_("Customers who took an offer over customers contacted by campaigns."),
        ),
        from_facts(
            "incremental_takers",
            _incremental_facts,
            name=_("Incremental takers"),
            unit=_("customers"),
            direction=Direction.HIGHER,
            aggregation=Aggregation.SUM,
            over_time=OverTime.FLOW,
            grains=UNIT_GRAINS,
            inputs=(Fact.CAMPAIGN_RESULTS.value, Fact.SUBSCRIBERS.value),
            detail=(
                ("campaign_id", _("Campaign")),
                ("subscriber_id", _("Subscriber ID")),
                ("responded", _("Took the offer")),
            ),
            decimals=1,
            description=_(
                "Treated takers of evaluated campaigns beyond the control group's response rate."
            ),
        ),
        from_facts(
            "task_completion",
            _campaign_facts("tasks_done", "tasks_total"),
            name=_("Tasks completed"),
            unit="%",
            direction=Direction.HIGHER,
            aggregation=Aggregation.RATIO,
            over_time=OverTime.FLOW,
            grains=UNIT_GRAINS,
            inputs=(Fact.CAMPAIGN_FIGURES.value,),
            detail=month,
            decimals=4,
            description=_("Campaign tasks with an outcome recorded over tasks due in the month."),
        ),
        from_facts(
            "visit_attainment",
            _visit_facts,
            name=_("Visits done against plan"),
            unit="%",
            direction=Direction.HIGHER,
            aggregation=Aggregation.RATIO,
            over_time=OverTime.FLOW,
            grains=STORE_GRAINS,
            inputs=(Fact.STORE_VISIT_PLANS.value,),
            detail=(*month, ("logged", _("Visits logged"))),
            decimals=4,
            description=_("Store visits done (up to each store's plan) over visits planned."),
        ),
        from_facts(
            "store_sales",
            _store_sales_facts("revenue"),
            name=_("Store sales"),
            unit=_("yuan"),
            direction=Direction.HIGHER,
            aggregation=Aggregation.SUM,
            over_time=OverTime.FLOW,
            grains=STORE_GRAINS,
            inputs=(Fact.STORE_SALES.value, Fact.STORES.value),
            detail=(*month, ("product", _("Product"))),
            decimals=2,
            description=_("Revenue of the stores' sales."),
        ),
        from_facts(
            "store_units",
            _store_sales_facts("units"),
            name=_("Store units sold"),
            unit=_("units"),
            direction=Direction.HIGHER,
            aggregation=Aggregation.SUM,
            over_time=OverTime.FLOW,
            grains=STORE_GRAINS,
            inputs=(Fact.STORE_SALES.value, Fact.STORES.value),
            detail=(*month, ("product", _("Product"))),
            description=_("Units the stores sold."),
        ),
        from_facts(
            "account_revenue",
            _account_revenue_facts,
            name=_("Enterprise account revenue"),
            unit=_("yuan"),
            direction=Direction.HIGHER,
            aggregation=Aggregation.SUM,
            over_time=OverTime.FLOW,
            grains=ACCOUNT_GRAINS,
            inputs=(
                Fact.MONTHLY_USAGE.value,
                Fact.ENTERPRISE_MEMBERS.value,
                Fact.ENTERPRISES.value,
            ),
            detail=(
                ("subscriber_id", _("Subscriber ID")),
                *month,
                ("arpu", _("Billed amount (yuan)")),
            ),
            decimals=2,
            description=_("Billed revenue of the account's member lines."),
        ),
        from_facts(
            "opportunities_won",
            _won_facts,
            name=_("Opportunities won"),
            unit=_("opportunities"),
            direction=Direction.HIGHER,
            aggregation=Aggregation.SUM,
            over_time=OverTime.FLOW,
            grains=ACCOUNT_GRAINS,
            inputs=(Fact.OPPORTUNITIES.value,),
            detail=(
                ("opportunity_id", _("Opportunity")),
                ("owner_employee_no", _("Owner")),
                ("amount", _("Amount (yuan)")),
            ),
            description=_("Enterprise opportunities won, by the day they closed."),
        ),
        from_facts(
            "account_visits",
            _account_visit_facts,
            name=_("Account visits"),
            unit=_("visits"),
            direction=Direction.HIGHER,
            aggregation=Aggregation.SUM,
            over_time=OverTime.FLOW,
            grains=UNIT_GRAINS,
            inputs=(Fact.ENTERPRISE_VISITS.value,),
            detail=(("visit_id", _("Visit")), ("enterprise_id", _("Enterprise ID"))),
            description=_("Visits to enterprise accounts logged by the staff member."),
        ),
    ]
