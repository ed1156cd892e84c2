"""The fact tables KPIs read, opened on DuckDB or Spark from the same code.

Three kinds of fact table:

- warehouse tables (data.schema.TABLES), read from the file every reader uses
  (`Warehouse.read_file`: the grid-placed copy where the nightly placement wrote one);
- snapshot tables of the newest insight snapshot: the wide table (`wide`) and the off-net
  win-over pool (`offnet_pool`);
- operations facts kept in the database, extracted to Parquet first (`extract_ops_facts`)
  through the owning apps' read services, so a KPI reads them as Ibis tables like the rest.

`month_of(table)` is the month ("YYYY-MM") each row of a fact table belongs to: the actuals
fingerprint tables per month to redo only the months a late correction touched. An undated
table (a dimension: subscribers, plans, grids…) has no month (None): a change to it redoes
every month.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from quanwang.data.warehouse import Warehouse
from quanwang.insight.snapshots import Snapshot, SnapshotStore
from quanwang.performance.kpis.definitions import FactTables


class Fact(StrEnum):
    """Names of the fact tables (warehouse tables keep their canonical names)."""

    SUBSCRIBERS = "subscribers"
    PLANS = "plans"
    MONTHLY_USAGE = "monthly_usage"
    GRIDS = "grids"
    CONTACTS = "contacts"
    COMPLAINTS = "complaints"
    STORES = "stores"
    STORE_SALES = "store_sales"
    CHANNEL_SALES = "channel_sales"
    ENTERPRISES = "enterprises"
    ENTERPRISE_MEMBERS = "enterprise_members"
    ENTERPRISE_PRODUCTS = "enterprise_products"
    ENTERPRISE_ORDERS = "enterprise_orders"
    # Snapshot tables.
    WIDE = "wide"
    OFFNET_POOL = "offnet_pool"
    # Operations facts (extract_ops_facts).
    CAMPAIGN_FIGURES = "campaign_figures"
    CAMPAIGN_RESULTS = "campaign_results"
    STORE_VISIT_PLANS = "store_visit_plans"
    ENTERPRISE_VISITS = "enterprise_visits"
    OPPORTUNITIES = "opportunities"


WAREHOUSE_FACTS = (
    Fact.SUBSCRIBERS, Fact.PLANS, Fact.MONTHLY_USAGE, Fact.GRIDS, Fact.CONTACTS,
    Fact.COMPLAINTS, Fact.STORES, Fact.STORE_SALES, Fact.CHANNEL_SALES, Fact.ENTERPRISES,
    Fact.ENTERPRISE_MEMBERS, Fact.ENTERPRISE_PRODUCTS, Fact.ENTERPRISE_ORDERS,
)  # fmt: skip
SNAPSHOT_FACTS = (Fact.WIDE, Fact.OFFNET_POOL)
OPS_FACTS = (
    Fact.CAMPAIGN_FIGURES, Fact.CAMPAIGN_RESULTS, Fact.STORE_VISIT_PLANS,
    Fact.ENTERPRISE_VISITS, Fact.OPPORTUNITIES,
)  # fmt: skip

#: How far back the operations facts are extracted by default (a year and the quarter before).
DEFAULT_EXTRACT_MONTHS = 15


def _month_column(column: str) -> Callable[[ir.Table], ir.StringValue]:
    return lambda t: t[column].cast("string")


def _month_of_date(column: str) -> Callable[[ir.Table], ir.StringValue]:
    # Built from year and month rather than strftime: the same text on DuckDB and Spark.
    def month(t: ir.Table) -> ir.StringValue:
        day = t[column]
        return (
            day.year().cast("string") + ibis.literal("-") + day.month().cast("string").lpad(2, "0")
        )

    return month


#: name → the month of each row (None: an undated table).
MONTHS: dict[str, Callable[[ir.Table], ir.StringValue] | None] = {
    Fact.SUBSCRIBERS: None,
    Fact.PLANS: None,
    Fact.GRIDS: None,
    Fact.STORES: None,
    Fact.ENTERPRISES: None,
    Fact.ENTERPRISE_MEMBERS: None,
    Fact.ENTERPRISE_PRODUCTS: None,
    Fact.MONTHLY_USAGE: _month_column("month"),
    Fact.CONTACTS: _month_column("month"),
    Fact.STORE_SALES: _month_column("month"),
    Fact.COMPLAINTS: _month_of_date("created_date"),
    Fact.CHANNEL_SALES: _month_of_date("sale_date"),
    Fact.ENTERPRISE_ORDERS: _month_of_date("created_date"),
    Fact.WIDE: _month_column("month"),
    Fact.OFFNET_POOL: _month_column("month"),
    Fact.CAMPAIGN_FIGURES: _month_column("month"),
    Fact.CAMPAIGN_RESULTS: _month_of_date("window_end"),
    Fact.STORE_VISIT_PLANS: _month_column("month"),
    Fact.ENTERPRISE_VISITS: _month_of_date("visited_on"),
    Fact.OPPORTUNITIES: _month_of_date("closed_on"),
}


def month_of(table: ir.Table, name: str | None = None) -> ir.StringValue | None:
    """The month ("YYYY-MM") of each row of fact table `table` (`name`: its fact name, else the
    name it was opened under), or None for an undated table."""
    found = MONTHS.get(name or table.get_name())
    return None if found is None else found(table)


# --- opening ------------------------------------------------------------------------------


def warehouse_files(store: Warehouse | None = None) -> dict[str, Path]:
    """The file readers use of each warehouse fact table loaded so far."""
    warehouse = store or Warehouse()
    found = {}
    for name in WAREHOUSE_FACTS:
        path = warehouse.read_file(name)
        if path is not None:
            found[name.value] = path
    return found


def snapshot_files(snapshot: Snapshot | None) -> dict[str, str]:
    """Parquet globs of the snapshot's tables that exist (a snapshot may have no pool)."""
    if snapshot is None:
        return {}
    found = {}
    for name, folder in ((Fact.WIDE, "wide"), (Fact.OFFNET_POOL, "offnet_pool")):
        if any((snapshot.path / folder).glob("*.parquet")):
            found[name.value] = str(snapshot.path / folder / "*.parquet")
    return found


def available(
    *, snapshot: Snapshot | None = None, extracts: Mapping[str, Path] | None = None
) -> set[str]:
    """The fact tables present now: loaded warehouse tables, the snapshot's, and the operations
    facts (always extractable: the database is there)."""
    chosen = snapshot if snapshot is not None else SnapshotStore().latest()
    names = set(warehouse_files()) | set(snapshot_files(chosen))
    names |= set(extracts) if extracts is not None else {f.value for f in OPS_FACTS}
    return names


def open_fact_tables(
    con: Any,
    *,
    snapshot: Snapshot | None,
    extracts: Mapping[str, Path],
    store: Warehouse | None = None,
) -> FactTables:
    """Every fact table present, as Ibis tables of `con` (a DuckDB or Spark backend), named by
    `Fact`. The snapshot's pool gains a `month` column (the snapshot's month)."""
    tables: dict[str, Any] = {}
    for name, path in warehouse_files(store).items():
        tables[name] = con.read_parquet(str(path), table_name=name)
    for name, glob in snapshot_files(snapshot).items():
        table = con.read_parquet(glob, table_name=f"{name}_source")
        if snapshot is not None and "month" not in table.columns:
            # The snapshot's tables describe its month.
            table = table.mutate(month=ibis.literal(snapshot.month))
        tables[name] = table
    for name, path in extracts.items():
        tables[name] = con.read_parquet(str(path), table_name=name)
    return tables


# --- operations facts ---------------------------------------------------------------------

CAMPAIGN_FIGURES_SCHEMA = pa.schema(
    [
        ("grid_id", pa.string()),
        ("month", pa.string()),
        ("targeted", pa.int64()),
        ("accepted", pa.int64()),
        ("tasks_total", pa.int64()),
        ("tasks_done", pa.int64()),
    ]
)
STORE_VISIT_PLANS_SCHEMA = pa.schema(
    [
        ("store_id", pa.string()),
        ("grid_id", pa.string()),
        ("month", pa.string()),
        ("planned", pa.int64()),
        ("logged", pa.int64()),
        ("counted", pa.int64()),
    ]
)
ENTERPRISE_VISITS_SCHEMA = pa.schema(
    [
        ("visit_id", pa.int64()),
        ("enterprise_id", pa.string()),
        ("grid_id", pa.string()),
        ("employee_no", pa.string()),
        ("staff_unit", pa.string()),
        ("visited_on", pa.date32()),
    ]
)
OPPORTUNITIES_SCHEMA = pa.schema(
    [
        ("opportunity_id", pa.int64()),
        ("enterprise_id", pa.string()),
        ("grid_id", pa.string()),
        ("account_unit", pa.string()),
        ("owner_employee_no", pa.string()),
        ("status", pa.string()),
        ("closed_on", pa.date32()),
        ("amount", pa.float64()),
    ]
)


def default_months(*, today: dt.date | None = None) -> list[str]:
    """The months extracted when none are named: DEFAULT_EXTRACT_MONTHS up to the newest month
    of monthly_usage (the business month: the demo's data ends in an earlier year), else today's."""
    newest = _newest_usage_month()
    day = today or dt.date.today()
    year, month = (int(newest[:4]), int(newest[5:])) if newest else (day.year, day.month)
    index = year * 12 + month - 1
    return [
        f"{i // 12:04d}-{i % 12 + 1:02d}"
        for i in range(index - DEFAULT_EXTRACT_MONTHS + 1, index + 1)
    ]


def _newest_usage_month() -> str | None:
    import duckdb

    path = Warehouse().read_file("monthly_usage")
    if path is None:
        return None
    found = duckdb.connect().execute("SELECT max(month) FROM read_parquet(?)", [str(path)])
    value = found.fetchone()
    return str(value[0]) if value and value[0] else None


def extract_ops_facts(folder: Path, *, months: Sequence[str] | None = None) -> dict[str, Path]:
    """Write the operations facts of `months` (default: `default_months()`) as Parquet files
    under `folder`, one per fact table, and return name → file. Read through the owning apps'
    services: campaign figures (campaigns.services.channel_figures), visit plans (the channels
    visit plan), enterprise visits and opportunities (enterprise), evaluated campaigns' results
    (insight.history, as the pipeline gathers them)."""
    from quanwang.insight.history import results_files, results_input

    chosen = sorted(set(months or default_months()))
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}

    def keep(name: Fact, rows: list[dict[str, Any]], schema: pa.Schema) -> None:
        target = folder / f"{name.value}.parquet"
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), target)
        written[name.value] = target

    keep(Fact.CAMPAIGN_FIGURES, _campaign_figures(chosen), CAMPAIGN_FIGURES_SCHEMA)
    keep(Fact.STORE_VISIT_PLANS, _store_visit_plans(chosen), STORE_VISIT_PLANS_SCHEMA)
    keep(Fact.ENTERPRISE_VISITS, _enterprise_visits(chosen), ENTERPRISE_VISITS_SCHEMA)
    keep(Fact.OPPORTUNITIES, _opportunities(chosen), OPPORTUNITIES_SCHEMA)
    target = folder / f"{Fact.CAMPAIGN_RESULTS.value}.parquet"
    written[Fact.CAMPAIGN_RESULTS.value] = results_input(paths=results_files(), target=target)
    return written


def _month_range(months: Sequence[str]) -> tuple[dt.date, dt.date]:
    from quanwang.performance.periods import parse

    return parse(months[0]).start, parse(months[-1]).end


def _campaign_figures(months: Sequence[str]) -> list[dict[str, Any]]:
    from quanwang.campaigns.services.channel_figures import figures_by_grid

    rows = []
    for month in months:
        for grid, found in sorted(figures_by_grid(month=month).items()):
            rows.append(
                {
                    "grid_id": grid,
                    "month": month,
                    "targeted": found.targeted,
                    "accepted": found.accepted,
                    "tasks_total": found.tasks_total,
                    "tasks_done": found.tasks_done,
                }
            )
    return rows


def _store_visit_plans(months: Sequence[str]) -> list[dict[str, Any]]:
    """Per active store and month: visits planned, logged and counted (up to the plan), by the
    rule of channels.visits.services.attainment (so the grids' sums are the scorecard's)."""
    from collections import Counter

    from django.db.models import Count
    from django.db.models.functions import TruncMonth

    from quanwang.channels.models import Store, StoreVisit
    from quanwang.channels.visits.services.plan import Plan
    from quanwang.performance.periods import parse

    if not months:
        return []
    first, last = _month_range(months)
    plan = Plan.load()
    logged: Counter[tuple[int, str]] = Counter()
    for store_pk, month_start, count in (
        StoreVisit.objects.filter(visited_on__range=(first, last))
        .annotate(m=TruncMonth("visited_on"))
        .values_list("store_id", "m")
        .annotate(n=Count("pk"))
        .values_list("store_id", "m", "n")
    ):
        logged[(store_pk, f"{month_start:%Y-%m}")] += count
    stores = (
        Store.objects.filter(active=True)
        .exclude(grid_id="")
        .order_by("store_id")
        .values_list("pk", "store_id", "grid_id", "grade", "org_unit__path")
    )
    rows = []
    for pk, store_id, grid_id, grade, path in stores:
        for month in months:
            wanted = plan.planned_in(org_path=path, grade=grade, days=parse(month).days)
            done = logged[(pk, month)]
            rows.append(
                {
                    "store_id": store_id,
                    "grid_id": grid_id,
                    "month": month,
                    "planned": wanted,
                    "logged": done,
                    "counted": min(done, wanted),
                }
            )
    return rows


def _enterprise_visits(months: Sequence[str]) -> list[dict[str, Any]]:
    from quanwang.enterprise.models import EnterpriseVisit

    if not months:
        return []
    first, last = _month_range(months)
    return [
        {
            "visit_id": pk,
            "enterprise_id": enterprise_id,
            "grid_id": grid_id or None,
            "employee_no": employee_no,
            "staff_unit": unit,
            "visited_on": visited_on,
        }
        for pk, enterprise_id, grid_id, employee_no, unit, visited_on in (
            EnterpriseVisit.objects.filter(visited_on__range=(first, last))
            .order_by("pk")
            .values_list(
                "pk",
                "account__enterprise_id",
                "account__grid_id",
                "visitor__employee_no",
                "visitor__org_unit__code",
                "visited_on",
            )
        )
    ]


def _opportunities(months: Sequence[str]) -> list[dict[str, Any]]:
    from quanwang.enterprise.models import Opportunity

    if not months:
        return []
    first, last = _month_range(months)
    return [
        {
            "opportunity_id": pk,
            "enterprise_id": enterprise_id,
            "grid_id": grid_id or None,
            "account_unit": unit,
            "owner_employee_no": owner,
            "status": str(status),
            "closed_on": closed_on,
            "amount": (amount_fen or 0) / 100,
        }
        for pk, enterprise_id, grid_id, unit, owner, status, closed_on, amount_fen in (
            Opportunity.objects.filter(closed_on__range=(first, last))
            .order_by("pk")
            .values_list(
                "pk",
                "account__enterprise_id",
                "account__grid_id",
                "account__org_unit__code",
                "owner__employee_no",
                "status",
                "closed_on",
                "amount_fen",
            )
        )
    ]
