"""Campaign figures per grid and month, for grid scorecards and the grid P&L (channels).

Read from what the campaigns keep (docs/campaigns-tasks.md, "Figures per grid"):

- targeted: treated customers of the grid contacted in the month, once per campaign: a
  gateway accepted a message for them (the steps' batch files, `sent_at`), or a grid or store
  recorded a task outcome that reached them (contacted, accepted, refused; `recorded_at`);
- accepted: of them, those who took the campaign's offer (an imported response, or a task
  outcome "accepted"), whenever they took it;
- tasks_total / tasks_done: the grid's and its stores' task-list entries (one per campaign
  and customer, an account manager's customers not counted: they are not on the grid's
  lists) whose deadline falls in the month (their store's quota, else their grid's, else the
  county's that covers the grid, else the campaign's end), and of them those with an outcome
  recorded;
- offer_cost: the takers of the grid who took in the month, each at the sum of the campaign's
  offers' cost per taker. A taker's date is their response's `responded_on`, else the day
  their acceptance was recorded on a task, else the day they were first contacted.

The month runs in the console's time zone (settings.TIME_ZONE). Campaigns count from their
issue until `RESPONSE_MONTHS` after their end (orders come in after a campaign closes).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from django.conf import settings
from django.db import connection
from django.db.models import Sum
from django.utils.translation import gettext as _

from quanwang.campaigns.channels import SendStatus
from quanwang.campaigns.choices import CampaignState, ContactOutcome
from quanwang.campaigns.issuing import ACCOUNT_MANAGER, campaign_dir
from quanwang.campaigns.models import Campaign, Quota, TaskOutcome
from quanwang.campaigns.responses import responses_file
from quanwang.campaigns.tasks.outcomes import REACHED
from quanwang.campaigns.tasks.scope import task_steps
from quanwang.core.choices import OrgLevel
from quanwang.core.errors import ServiceError
from quanwang.core.models import OrgUnit
from quanwang.data.warehouse import sql_literal

#: Months after a campaign's end in which its takers' orders still count.
RESPONSE_MONTHS = 3
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
ISSUED_STATES = (
    CampaignState.ISSUED,
    CampaignState.RUNNING,
    CampaignState.CLOSED,
    CampaignState.EVALUATED,
)


@dataclass(frozen=True)
class GridCampaignFigures:
    targeted: int  # treated customers of the grid contacted in the month
    accepted: int  # of them, those who took the offer
    tasks_total: int  # grid and store task-list entries of the grid due in the month
    tasks_done: int  # of them, those with an outcome recorded
    offer_cost: Decimal  # offer costs of the grid's takers in the month (yuan)


EMPTY = GridCampaignFigures(0, 0, 0, 0, Decimal("0"))


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    """The first day of `month` (YYYY-MM) and of the month after it."""
    if not MONTH.fullmatch(month or ""):
        raise ServiceError(
            _("%(month)s is not a month: write it as YYYY-MM, e.g. 2024-07.") % {"month": month},
            field="month",
        )
    first = dt.date(int(month[:4]), int(month[5:]), 1)
    following = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following


def _moments(first: dt.date, following: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The month's bounds as aware moments of the console's time zone."""
    zone = ZoneInfo(settings.TIME_ZONE)
    return (
        dt.datetime.combine(first, dt.time(), tzinfo=zone),
        dt.datetime.combine(following, dt.time(), tzinfo=zone),
    )


def _months_back(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def _campaigns(first: dt.date, following: dt.date) -> list[Campaign]:
    """Issued campaigns that can have figures in the month."""
    return [
        c
        for c in Campaign.objects.filter(
            state__in=ISSUED_STATES,
            starts_on__lt=following,
            ends_on__gte=_months_back(first, RESPONSE_MONTHS),
        )
        .exclude(audience_path="")
        .select_related("org_unit")
        .order_by("pk")
        if Path(c.audience_path).is_file()
    ]


def _offer_costs(campaigns: list[Campaign]) -> dict[int, Decimal]:
    costs = (
        Campaign.objects.filter(pk__in=[c.pk for c in campaigns])
        .annotate(cost=Sum("offers__cost_per_taker"))
        .values_list("pk", "cost")
    )
    return {pk: cost or Decimal("0") for pk, cost in costs}


def _deadlines(campaign: Campaign) -> tuple[dict[str, dt.date], dict[str, dt.date]]:
    """grid code → the deadline of its customers' tasks (the grid's quota, else the nearest
    county quota over it), and store code → its store quota's deadline."""
    grid_deadline: dict[str, dt.date] = {}
    store_deadline: dict[str, dt.date] = {}
    above: list[tuple[str, dt.date]] = []
    for quota in Quota.objects.filter(
        campaign=campaign, account_manager__isnull=True
    ).select_related("org_unit", "store"):
        if quota.store is not None:
            store_deadline[quota.store.store_id] = quota.deadline
        elif quota.org_unit.level == OrgLevel.GRID:
            grid_deadline[quota.org_unit.code] = quota.deadline
        else:
            above.append((quota.org_unit.path, quota.deadline))
    if above:
        grids = OrgUnit.objects.filter(
            level=OrgLevel.GRID, path__startswith=campaign.org_unit.path
        ).values_list("code", "path")
        for code, path in grids:
            if code in grid_deadline:
                continue
            covering = [(p, d) for p, d in above if path.startswith(p)]
            if covering:
                grid_deadline[code] = max(covering, key=lambda held: len(held[0]))[1]
    return grid_deadline, store_deadline


def _table(columns: dict[str, tuple[list[object], pa.DataType]]) -> pa.Table:
    return pa.table({name: pa.array(values, kind) for name, (values, kind) in columns.items()})


def _campaign_ctes(
    campaign: Campaign, *, start: dt.datetime, end: dt.datetime, first: dt.date
) -> str:
    """The campaign's customers as counted (the `contact` rows: one per treated customer of a
    grid, whether contacted and whether they took in the month) and its task-list entries
    (the `due` rows, with their deadline): the WITH clause over its files and the tables
    `_connection` registers (outcomes, deadlines, campaign ends, costs)."""
    pk = int(campaign.pk)
    audience = f"read_parquet({sql_literal(campaign.audience_path)})"
    names = pq.read_schema(campaign.audience_path).names
    managed = f"a.{ACCOUNT_MANAGER}" if ACCOUNT_MANAGER in names else "CAST(NULL AS VARCHAR)"
    folder = campaign_dir(pk)
    sends = (
        f"SELECT subscriber_id, min(sent_at) AS at FROM "
        f"read_parquet({sql_literal(str(folder / 'dispatch' / '*' / 'batch-*.parquet'))}) "
        f"WHERE status = '{SendStatus.ACCEPTED}' GROUP BY 1"
        if any(folder.glob("dispatch/*/batch-*.parquet"))
        else "SELECT NULL::VARCHAR AS subscriber_id, NULL::TIMESTAMPTZ AS at WHERE false"
    )
    responses = responses_file(pk)
    answered = (
        f"SELECT subscriber_id, responded_on FROM read_parquet({sql_literal(str(responses))})"
        if responses.exists()
        else "SELECT NULL::VARCHAR AS subscriber_id, NULL::DATE AS responded_on WHERE false"
    )
    steps = task_steps(pk)
    plans = (
        " UNION ALL ".join(
            f"SELECT {rank} AS step_rank, subscriber_id, grid_id, CAST(store_id AS VARCHAR) "
            f"AS store_id FROM read_parquet({sql_literal(str(step.plan))})"
            for rank, step in enumerate(steps)
        )
        if steps
        else "SELECT 0 AS step_rank, NULL::VARCHAR AS subscriber_id, NULL::VARCHAR AS grid_id, "
        "NULL::VARCHAR AS store_id WHERE false"
    )
    reached = ", ".join(f"'{o}'" for o in REACHED)
    start_at, end_at = sql_literal(start.isoformat()), sql_literal(end.isoformat())
    first_day = sql_literal(first.isoformat())

    def within(moment: str) -> str:
        return f"({moment} >= {start_at}::TIMESTAMPTZ AND {moment} < {end_at}::TIMESTAMPTZ)"

    accepted = f"o.outcome = '{ContactOutcome.ACCEPTED}'"
    by_task = f"CASE WHEN o.outcome IN ({reached}) THEN o.recorded_at END"
    return f"""
        WITH aud AS (
            SELECT subscriber_id, grid_id, in_control, {managed} AS manager
            FROM {audience} a),
        o AS (SELECT subscriber_id, outcome, recorded_at FROM outcomes WHERE campaign_id = {pk}),
        s AS ({sends}),
        r AS ({answered}),
        contact AS (
            SELECT aud.subscriber_id, aud.grid_id,
                   coalesce({within("s.at")} OR {within(by_task)}, false) AS contacted_in_month,
                   r.subscriber_id IS NOT NULL OR coalesce({accepted}, false) AS took,
                   -- The day taken: the response's, else the task acceptance's, else the
                   -- first contact's (dates compared as dates, moments as moments).
                   CASE WHEN r.responded_on IS NOT NULL
                        THEN r.responded_on >= {first_day}::DATE
                             AND r.responded_on < {first_day}::DATE + INTERVAL 1 MONTH
                        WHEN coalesce({accepted}, false) THEN {within("o.recorded_at")}
                        ELSE {within(f"least(s.at, {by_task})")}
                   END AS took_in_month
            FROM aud
            LEFT JOIN s USING (subscriber_id)
            LEFT JOIN o USING (subscriber_id)
            LEFT JOIN r USING (subscriber_id)
            WHERE NOT aud.in_control AND aud.grid_id IS NOT NULL),
        tasks AS (
            SELECT p.subscriber_id, p.grid_id, p.store_id
            FROM ({plans}) p
            LEFT JOIN aud USING (subscriber_id)
            WHERE aud.manager IS NULL AND p.grid_id IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY p.subscriber_id ORDER BY p.step_rank) = 1),
        due AS (
            SELECT t.subscriber_id, t.grid_id, o.subscriber_id IS NOT NULL AS done,
                   coalesce(sd.deadline, gd.deadline,
                            (SELECT ends_on FROM campaign_ends WHERE campaign_id = {pk}))
                       AS deadline
            FROM tasks t
            LEFT JOIN o USING (subscriber_id)
            LEFT JOIN (SELECT key, deadline FROM deadlines
                       WHERE campaign_id = {pk} AND kind = 'store') sd ON sd.key = t.store_id
            LEFT JOIN (SELECT key, deadline FROM deadlines
                       WHERE campaign_id = {pk} AND kind = 'grid') gd ON gd.key = t.grid_id)"""


def _campaign_sql(
    campaign: Campaign, *, start: dt.datetime, end: dt.datetime, first: dt.date
) -> str:
    """One row per (grid, measure) of the campaign."""
    pk = int(campaign.pk)
    first_day = sql_literal(first.isoformat())
    return f"""
        {_campaign_ctes(campaign, start=start, end=end, first=first)}
        SELECT grid_id,
               count(*) FILTER (WHERE contacted_in_month) AS targeted,
               count(*) FILTER (WHERE contacted_in_month AND took) AS accepted,
               0 AS tasks_total, 0 AS tasks_done,
               count(*) FILTER (WHERE took AND coalesce(took_in_month, false))
                   * (SELECT cost FROM costs WHERE campaign_id = {pk}) AS offer_cost
        FROM contact GROUP BY grid_id
        UNION ALL
        SELECT grid_id, 0, 0, count(*), count(*) FILTER (WHERE done), 0
        FROM due
        WHERE deadline >= {first_day}::DATE AND deadline < {first_day}::DATE + INTERVAL 1 MONTH
        GROUP BY grid_id"""


def _outcomes(campaigns: list[Campaign]) -> pa.Table:
    """The campaigns' recorded outcomes (campaign_id, subscriber_id, outcome, recorded_at),
    read through the database cursor: the ORM's conversion of 300,000 moments took 3 of a
    1M-customer month's 8 seconds."""
    query = TaskOutcome.objects.filter(campaign__in=[c.pk for c in campaigns]).values_list(
        "campaign_id", "subscriber_id", "outcome", "recorded_at"
    )
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    names = ("campaign_id", "subscriber_id", "outcome", "recorded_at")
    if not rows:
        return pa.table(
            {
                "campaign_id": pa.array([], pa.int64()),
                "subscriber_id": pa.array([], pa.string()),
                "outcome": pa.array([], pa.string()),
                "recorded_at": pa.array([], pa.timestamp("us", tz="UTC")),
            }
        )
    return pa.table({name: pa.array([r[i] for r in rows]) for i, name in enumerate(names)})


@contextmanager
def _connection(campaigns: list[Campaign]) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection with the tables the campaigns' SQL reads registered: their
    recorded outcomes, their quotas' deadlines, their ends and their offers' costs."""
    costs = _offer_costs(campaigns)
    outcomes = _outcomes(campaigns)
    keys: list[object] = []
    kinds: list[object] = []
    owners: list[object] = []
    days: list[object] = []
    for campaign in campaigns:
        grids, stores = _deadlines(campaign)
        for kind, found in (("grid", grids), ("store", stores)):
            for key, deadline in found.items():
                owners.append(campaign.pk)
                kinds.append(kind)
                keys.append(key)
                days.append(deadline)
    con = duckdb.connect()
    try:
        # Comparisons of moments, not local dates: no time zone database needed in DuckDB.
        con.execute("SET TimeZone = 'UTC'")
        con.register("raw_outcomes", outcomes)
        # SQLite hands the moments over as UTC text, PostgreSQL as aware datetimes.
        moment = (
            "CAST(CAST(recorded_at AS TIMESTAMP) AS TIMESTAMPTZ)"
            if pa.types.is_string(outcomes.schema.field("recorded_at").type)
            else "CAST(recorded_at AS TIMESTAMPTZ)"
        )
        con.execute(
            "CREATE TEMP TABLE outcomes AS SELECT CAST(campaign_id AS BIGINT) AS campaign_id, "
            "CAST(subscriber_id AS VARCHAR) AS subscriber_id, CAST(outcome AS VARCHAR) AS "
            f"outcome, {moment} AS recorded_at FROM raw_outcomes"
        )
        con.register(
            "deadlines",
            _table(
                {
                    "campaign_id": (owners, pa.int64()),
                    "kind": (kinds, pa.string()),
                    "key": (keys, pa.string()),
                    "deadline": (days, pa.date32()),
                }
            ),
        )
        con.register(
            "campaign_ends",
            _table(
                {
                    "campaign_id": ([c.pk for c in campaigns], pa.int64()),
                    "ends_on": ([c.ends_on for c in campaigns], pa.date32()),
                }
            ),
        )
        con.register(
            "costs",
            _table(
                {
                    "campaign_id": ([c.pk for c in campaigns], pa.int64()),
                    "cost": (
                        [costs.get(c.pk, Decimal("0")) for c in campaigns],
                        pa.decimal128(12, 2),
                    ),
                }
            ),
        )
        yield con
    finally:
        con.close()


def figures_by_grid(*, month: str) -> dict[str, GridCampaignFigures]:
    """grid_id → the month's campaign figures of the grid's customers and stores (the module
    says how each is counted). Grids without any figure are left out."""
    first, following = month_bounds(month)
    start, end = _moments(first, following)
    campaigns = _campaigns(first, following)
    if not campaigns:
        return {}
    with _connection(campaigns) as con:
        union = " UNION ALL ".join(
            f"({_campaign_sql(c, start=start, end=end, first=first)})" for c in campaigns
        )
        rows = con.execute(
            f"""SELECT grid_id, sum(targeted), sum(accepted), sum(tasks_total), sum(tasks_done),
                       sum(offer_cost)
                FROM ({union}) GROUP BY grid_id ORDER BY grid_id"""
        ).fetchall()
    return {
        str(grid): GridCampaignFigures(
            targeted=int(targeted),
            accepted=int(accepted),
            tasks_total=int(total),
            tasks_done=int(done),
            offer_cost=Decimal(str(cost or 0)).quantize(Decimal("0.01")),
        )
        for grid, targeted, accepted, total, done, cost in rows
        if targeted or accepted or total or done or cost
    }


class _Rows:
    """Which of a campaign's counted rows a figure of a grid's month is made of."""

    TARGETED = "contacted_in_month"
    ACCEPTED = "contacted_in_month AND took"
    OFFER_COST = "took AND coalesce(took_in_month, false)"
    TASKS = "true"
    TASKS_DONE = "done"


def _lines(*, grid_id: str, month: str, which: str, tasks: bool) -> list[dict[str, object]]:
    """The rows behind one campaign figure of `grid_id` in `month` (the module says how each
    is counted): one per campaign and customer (a task-list entry for the task figures). Their
    count, or for offer costs their sum, is the figure figures_by_grid gives."""
    first, following = month_bounds(month)
    start, end = _moments(first, following)
    campaigns = _campaigns(first, following)
    if not campaigns:
        return []
    grid = sql_literal(grid_id)
    first_day = sql_literal(first.isoformat())
    rows: list[dict[str, object]] = []
    with _connection(campaigns) as con:
        for campaign in campaigns:
            ctes = _campaign_ctes(campaign, start=start, end=end, first=first)
            if tasks:
                query = f"""{ctes}
                    SELECT subscriber_id, done, deadline, NULL AS cost FROM due
                    WHERE grid_id = {grid} AND ({which})
                      AND deadline >= {first_day}::DATE
                      AND deadline < {first_day}::DATE + INTERVAL 1 MONTH
                    ORDER BY subscriber_id"""
            else:
                query = f"""{ctes}
                    SELECT subscriber_id, took, NULL AS deadline,
                           (SELECT cost FROM costs WHERE campaign_id = {int(campaign.pk)})
                               AS cost
                    FROM contact WHERE grid_id = {grid} AND ({which})
                    ORDER BY subscriber_id"""
            for subscriber_id, flag, deadline, cost in con.execute(query).fetchall():
                row: dict[str, object] = {
                    _("Campaign"): f"{campaign.name} (#{campaign.pk})",
                    _("Subscriber ID"): subscriber_id,
                }
                if tasks:
                    row[_("Deadline")] = deadline
                    row[_("Outcome recorded")] = _("yes") if flag else _("no")
                elif which == _Rows.OFFER_COST:
                    row[_("Offer cost (yuan)")] = Decimal(str(cost or 0)).quantize(Decimal("0.01"))
                else:
                    row[_("Took the offer")] = _("yes") if flag else _("no")
                rows.append(row)
    return rows


def targeted_lines(*, grid_id: str, month: str) -> list[dict[str, object]]:
    return _lines(grid_id=grid_id, month=month, which=_Rows.TARGETED, tasks=False)


def accepted_lines(*, grid_id: str, month: str) -> list[dict[str, object]]:
    return _lines(grid_id=grid_id, month=month, which=_Rows.ACCEPTED, tasks=False)


def offer_cost_lines(*, grid_id: str, month: str) -> list[dict[str, object]]:
    return _lines(grid_id=grid_id, month=month, which=_Rows.OFFER_COST, tasks=False)


def task_lines(*, grid_id: str, month: str) -> list[dict[str, object]]:
    return _lines(grid_id=grid_id, month=month, which=_Rows.TASKS, tasks=True)


def task_lines_done(*, grid_id: str, month: str) -> list[dict[str, object]]:
    return _lines(grid_id=grid_id, month=month, which=_Rows.TASKS_DONE, tasks=True)
