"""Account features (集团客户特征) per account and month, from the warehouse, in one Ibis
expression that runs on DuckDB and on Spark from the same code.

`account_features(tables, month=…, operations=…)` is the expression: per enterprise of the
`enterprises` table, its members and members on-net, members churned in the month, the
members' revenue of the month and of the three months before, the members' call minutes with
competitors' numbers (contacts.peer_operator other than 本网) this month and before, the
members' complaints, and from `enterprise_products` the products held, agreements, bundles and
趸交 prepayment in force, contracts ending within three months and the first start date.
`operations` is a small table the nightly step reads from the operations database (care
moments done and visits received per account, the last visit) and hands in as a memtable, the
same on both engines.

Day counts, switching cost and churn risk are worked out from the expression's Arrow result
(`derive`, enterprise.grading.scoring): identical whichever engine produced it. The result is
kept as Parquet per data version and month (`kept`), and `features_for` serves a page's
accounts from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ibis
import ibis.expr.types as ir

from quanwang.insight.months import Month

# The warehouse tables the features read.
TABLES = (
    "enterprises",
    "enterprise_members",
    "subscribers",
    "monthly_usage",
    "contacts",
    "complaints",
    "enterprise_products",
)
OUR_NETWORK = "本网"
# Months before the graded one that growth and "competitor contact rising" compare with.
BEFORE_MONTHS = 3
# A contract ending within this many months of the month's end counts as ending soon.
ENDING_MONTHS = 3

# The operations database's figures per account (grading.operations), as handed in.
OPERATIONS_SCHEMA = ibis.schema(
    {
        "enterprise_id": "string",
        "care_12m": "int64",
        "visits_12m": "int64",
        "last_visit": "date",
    }
)

# Tables the generator adds with this issue: an empty table of this shape stands in for one
# the warehouse does not know yet or has not imported.
FALLBACK_SCHEMAS: Mapping[str, ibis.Schema] = {
    "enterprise_products": ibis.schema(
        {
            "product_instance_id": "string",
            "enterprise_id": "string",
            "product": "string",
            "start_date": "date",
            "contract_end": "date",
            "monthly_fee": "float64",
            "agreement": "boolean",
            "bundled": "boolean",
            "prepaid": "float64",
        }
    ),
}


def empty_operations() -> ir.Table:
    return ibis.memtable(OPERATIONS_SCHEMA.to_pyarrow().empty_table())


def _fen(column: ir.NumericValue) -> ir.IntegerValue:
    """Yuan (a double rounded to fen on import) as whole fen: sums of these are exact."""
    return (column.cast("float64").fill_null(0.0) * 100.0).round(0).cast("int64")


def _date(value: Any) -> ir.DateValue:
    return ibis.literal(value, type="date")


def account_features(
    tables: Mapping[str, ir.Table],
    *,
    month: Month,
    operations: ir.Table,
    monthly: ir.Table | None = None,
) -> ir.Table:
    """One row per enterprise of the `enterprises` table: its figures for `month` (module doc).
    Columns are plain counts, fen, minutes and dates; ratios and points come later (derive).
    `monthly`: trend_expr's result when the caller computed it once already (kept.compute
    materialises it, so the members' usage is joined once for both)."""
    start, end = _date(month.first_day), _date(month.last_day)
    ending_by = _date(month.shift(ENDING_MONTHS).last_day)
    months = month.back(BEFORE_MONTHS + 1)
    now, before = months[0], months[1:]

    members_rows = tables["enterprise_members"]
    members_rows = members_rows.filter(
        members_rows.joined_date.isnull() | (members_rows.joined_date <= end)
    ).select("enterprise_id", "subscriber_id", "joined_date")
    subscribers = tables["subscribers"].select(
        "subscriber_id", "status", "churn_date", sub_join=tables["subscribers"].join_date
    )
    people = members_rows.left_join(subscribers, "subscriber_id")
    # A churned line without a churn date left before the month (the export knows no date).
    undated = people.churn_date.isnull() & (people.status == "churned").fill_null(False)
    gone_by_end = (people.churn_date <= end).fill_null(False) | undated
    gone_before = (people.churn_date < start).fill_null(False) | undated
    members = people.group_by("enterprise_id").aggregate(
        members=(~gone_before).sum().cast("int64"),
        members_on_net=(~gone_by_end).sum().cast("int64"),
        churned_members=people.churn_date.between(start, end).fill_null(False).sum().cast("int64"),
        first_member=people.joined_date.fill_null(people.sub_join).min(),
    )
    pairs = members_rows.select("enterprise_id", "subscriber_id")

    # Per account and month first (the trend's table): the join of usage and members is the
    # heaviest step, and the trend needs it too.
    paid = monthly if monthly is not None else trend_expr(tables, month=month)
    paid = paid.filter(paid.month.isin(months))
    revenue = paid.group_by("enterprise_id").aggregate(
        revenue_fen=paid.revenue_fen.sum(where=paid.month == now).fill_null(0).cast("int64"),
        before_fen=paid.revenue_fen.sum(where=paid.month.isin(before)).fill_null(0).cast("int64"),
        before_months=(paid.month.isin(before) & (paid.billed_members > 0)).sum().cast("int64"),
    )

    calls = tables["contacts"]
    calls = calls.filter(calls.month.isin(months)).select(
        "subscriber_id",
        "month",
        minutes=calls.minutes.fill_null(0.0),
        rival=calls.peer_operator != OUR_NETWORK,
    )
    talked = calls.inner_join(pairs, "subscriber_id")
    this_month = talked.month == now
    contact = talked.group_by("enterprise_id").aggregate(
        competitor_minutes=talked.minutes.sum(where=this_month & talked.rival).fill_null(0.0),
        contact_minutes=talked.minutes.sum(where=this_month).fill_null(0.0),
        competitor_minutes_before=talked.minutes.sum(where=~this_month & talked.rival).fill_null(
            0.0
        ),
        contact_minutes_before=talked.minutes.sum(where=~this_month).fill_null(0.0),
    )

    complaint_rows = tables["complaints"]
    since = _date(month.shift(-(BEFORE_MONTHS - 1)).first_day)
    complaint_rows = complaint_rows.filter(complaint_rows.created_date.between(since, end)).select(
        "subscriber_id", "created_date"
    )
    complained = complaint_rows.inner_join(pairs, "subscriber_id")
    complaints = complained.group_by("enterprise_id").aggregate(
        complaints=(complained.created_date >= start).sum().cast("int64"),
        complaints_3m=complained.count().cast("int64"),
    )

    products = tables["enterprise_products"]
    products = products.filter(
        (products.start_date.isnull() | (products.start_date <= end))
        & (products.contract_end.isnull() | (products.contract_end >= end))
    )
    ending = products.contract_end.notnull() & (products.contract_end <= ending_by)
    held = products.group_by("enterprise_id").aggregate(
        products_held=products["product"].nunique().cast("int64"),
        product_lines=products.count().cast("int64"),
        agreements=products.agreement.fill_null(False).sum().cast("int64"),
        bundles=products.bundled.fill_null(False).sum().cast("int64"),
        prepaid_fen=_fen(products.prepaid).sum().cast("int64"),
        monthly_fee_fen=_fen(products.monthly_fee).sum().cast("int64"),
        contracts_ending=ending.sum().cast("int64"),
        nearest_contract_end=products.contract_end.min(),
        first_product=products.start_date.min(),
    )

    accounts = tables["enterprises"].select("enterprise_id", "industry", "size")
    ops = operations.select("enterprise_id", "care_12m", "visits_12m", "last_visit")
    joined = (
        accounts.left_join(members, "enterprise_id")
        .left_join(revenue, "enterprise_id")
        .left_join(contact, "enterprise_id")
        .left_join(complaints, "enterprise_id")
        .left_join(held, "enterprise_id")
        .left_join(ops, "enterprise_id")
    )
    zero_int = (
        "members",
        "members_on_net",
        "churned_members",
        "revenue_fen",
        "before_fen",
        "before_months",
        "complaints",
        "complaints_3m",
        "products_held",
        "product_lines",
        "agreements",
        "bundles",
        "prepaid_fen",
        "monthly_fee_fen",
        "contracts_ending",
        "care_12m",
        "visits_12m",
    )
    zero_float = (
        "competitor_minutes",
        "contact_minutes",
        "competitor_minutes_before",
        "contact_minutes_before",
    )
    return joined.select(
        "enterprise_id",
        industry=joined.industry.fill_null(""),
        size=joined["size"],
        **{name: joined[name].fill_null(0).cast("int64") for name in zero_int},
        **{name: joined[name].fill_null(0.0).cast("float64") for name in zero_float},
        nearest_contract_end=joined.nearest_contract_end,
        first_member=joined.first_member,
        first_product=joined.first_product,
        last_visit=joined.last_visit,
    )


def member_fields_expr(members: ir.Table, account_fields: ir.Table) -> ir.Table:
    """Per member of an account: the account's fields for campaign targeting (the segment
    builder joins this on subscriber_id). `account_fields` is the kept month's table."""
    fields = account_fields.select(
        "enterprise_id",
        "grade",
        "industry",
        "churn_risk",
        "switching_cost",
        "nearest_contract_end",
    )
    return members.select("subscriber_id", "enterprise_id").inner_join(fields, "enterprise_id")


TREND_MONTHS = 6


def trend_expr(tables: Mapping[str, ir.Table], *, month: Month) -> ir.Table:
    """Per account and month, the six months up to `month`: billed members and their revenue
    (the account page's trend)."""
    months = month.back(TREND_MONTHS)
    usage = tables["monthly_usage"]
    usage = usage.filter(usage.month.isin(months)).select(
        "subscriber_id", "month", fen=_fen(usage.arpu)
    )
    pairs = tables["enterprise_members"].select("enterprise_id", "subscriber_id")
    paid = usage.inner_join(pairs, "subscriber_id")
    return paid.group_by(["enterprise_id", "month"]).aggregate(
        billed_members=paid.count().cast("int64"), revenue_fen=paid.fen.sum().cast("int64")
    )


def _as_account(row: dict[str, Any]) -> dict[str, Any]:
    from quanwang.enterprise.grading.scoring import (
        RISK_FIGURES,
        RISK_WEIGHTS,
        SWITCHING_FIGURES,
        SWITCHING_WEIGHTS,
    )

    out = {k: v for k, v in row.items() if not k.startswith(("sc_", "risk_"))}
    out["switching_components"] = {
        str(c): {"points": row[f"sc_{c}"], "weight": w, "value": row.get(SWITCHING_FIGURES[c])}
        for c, w in SWITCHING_WEIGHTS.items()
    }
    out["risk_signals"] = {
        str(s): {"points": row[f"risk_{s}"], "weight": w, "value": row.get(RISK_FIGURES[s])}
        for s, w in RISK_WEIGHTS.items()
    }
    return out


def features_for(*, enterprise_ids: list[str], month: str | None = None) -> dict[str, dict]:
    """The kept features of these accounts for `month` (None: the newest kept), by
    enterprise_id: members, members_on_net, churned_members, revenue_fen, revenue_growth,
    competitor_minutes and competitor_share (and _before), complaints, products_held,
    agreements, bundles, prepaid_fen, contracts_ending, nearest_contract_end, tenure_days,
    care_12m, visits_12m, last_visit, switching_cost with switching_components {component:
    {points, weight, value}}, churn_risk with risk_signals {signal: {points, weight, value}},
    and the month's grade, score and service_level once graded. Accounts without a row are
    left out; {} before anything was kept. Reads the kept file (grading.kept), not the
    warehouse: a dictionary lookup per account."""
    from quanwang.enterprise.grading.kept import load

    kept = load(month)
    if kept is None:
        return {}
    return {
        row["enterprise_id"]: _as_account(row) | {"month": kept.month}
        for row in kept.rows(list(enterprise_ids))
    }


def member_account_fields(con_or_tables: Any, *, month: str | None = None) -> ir.Table:
    """Per member (subscriber_id) of an account, the account's fields for campaign targeting:
    enterprise_id, grade, industry, churn_risk, switching_cost, nearest_contract_end — an Ibis
    table of the backend given (a connection, or a mapping of tables holding at least
    `enterprise_members`), read from the kept file of `month` (None: the newest kept) and the
    warehouse's enterprise_members. Raises LookupError when nothing is kept yet."""
    from quanwang.data.warehouse import Warehouse
    from quanwang.enterprise.grading.kept import kept_path

    path = kept_path(month)
    if path is None:
        raise LookupError(month or "newest")
    if isinstance(con_or_tables, Mapping):
        members = con_or_tables["enterprise_members"]
        backend = members.get_backend()
    else:
        backend = con_or_tables
        source = Warehouse().read_file("enterprise_members")
        if source is None:
            raise LookupError("enterprise_members")
        members = backend.read_parquet(str(source), table_name="eg_member_fields_members")
    fields = backend.read_parquet(str(path), table_name="eg_member_fields_accounts")
    return member_fields_expr(members, fields)
