"""Listing the tasks a user may see: a page of them by priority, one row, the counts by state."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from quanwang.campaigns.issuing import ACCOUNT_MANAGER
from quanwang.campaigns.models import Campaign, Quota, TaskOutcome
from quanwang.campaigns.tasks.scope import (
    TaskReach,
    TaskScope,
    TaskStep,
    campaigns_in_reach,
    task_scope,
    task_steps,
)
from quanwang.campaigns.tasks.tables import (
    KeptTable,
    PriorityBasis,
    campaign_table,
    cursor,
    store_names,
)
from quanwang.core.choices import Action, OrgLevel, PiiKind
from quanwang.core.errors import ServiceError
from quanwang.core.masking import mask
from quanwang.core.models import OrgUnit, Staff
from quanwang.insight.choices import ValueTier

PAGE_SIZE = 50


class TaskState(models.TextChoices):
    """Where a task stands: not yet recorded, or its latest outcome."""

    NOT_RECORDED = "not_recorded", gettext_lazy("Not yet recorded")
    # The outcomes' own codes and labels (ContactOutcome).
    CONTACTED = "contacted", gettext_lazy("Contacted")
    ACCEPTED = "accepted", gettext_lazy("Accepted")
    REFUSED = "refused", gettext_lazy("Refused")
    UNREACHABLE = "unreachable", gettext_lazy("Unreachable")


@dataclass(frozen=True, kw_only=True)
class TaskFilters:
    campaign_id: int | None = None
    grid: str | None = None
    store: str | None = None
    state: TaskState | None = None
    #: An account manager's employee number: that manager's customers.
    account_manager: str | None = None
    #: One customer (with `campaign_id`: one task).
    subscriber_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class TaskRow:
    campaign_id: int
    campaign: str
    step: str
    script: str
    subscriber_id: str
    msisdn: str  # masked
    name: str  # masked
    grid_id: str | None
    grid: str  # the grid's name (its code when unknown)
    store_id: str | None
    store: str  # the store's name (its code when unknown)
    #: The account manager whose list the customer is on (employee number), and their name.
    account_manager: str | None
    account_manager_name: str
    value_tier: str | None
    tier: str  # the value tier's label
    churn_risk: float | None
    churn_reasons: str | None
    #: The score the campaign's tasks are ranked by (`basis`), and the task's place in its
    #: campaign as a share (0.03: among the top 3%).
    priority: float | None
    priority_rank: float | None
    basis: PriorityBasis | None
    #: The place as the list shows it ("Top 3%"; "" without a score), and the basis's label.
    place: str
    basis_label: str
    deadline: dt.date | None
    state: TaskState
    note: str
    attempts: int
    recorded_at: dt.datetime | None

    @property
    def top_percent(self) -> int | None:
        """The task's place as a whole percentage, rounded up (the first of 200: 1)."""
        if self.priority is None or self.priority_rank is None:
            return None
        return _top_percent(self.priority_rank)


def _top_percent(rank: float) -> int:
    # Rounded first: cume_dist's 0.07 is 0.07000000000000001 in binary, not "top 8%".
    return max(1, math.ceil(round(rank * 100, 6)))


@dataclass(frozen=True, kw_only=True)
class TaskPage:
    rows: list[TaskRow]
    #: Rows matching every filter.
    total: int
    #: Rows by state, matching every filter but the state one (the counts above the list).
    counts: dict[TaskState, int]
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))

    @property
    def listed(self) -> int:
        """Rows matching every filter but the state one."""
        return sum(self.counts.values())


@dataclass(frozen=True, kw_only=True)
class TaskCampaign:
    name: str
    scripts: dict[str, str]  # the task text of each step
    basis: PriorityBasis | None
    basis_label: str


@dataclass(frozen=True, kw_only=True)
class _Recorded:
    outcome: str
    note: str
    attempts: int
    recorded_at: dt.datetime


@dataclass(frozen=True, kw_only=True)
class _Source:
    """The task rows a user may see, ready to query: SQL over `con`, where this request's
    recorded outcomes are the table `outcomes`; the outcomes and the quotas' deadlines are
    also at hand by key, to complete the rows of a page."""

    con: Any
    #: The task rows (the campaigns' kept tables), without quotas or outcomes.
    rows: str
    scope: TaskScope
    campaigns: dict[int, TaskCampaign]
    #: (campaign, customer) → the outcome recorded.
    recorded: dict[tuple[int, str], _Recorded]
    #: (campaign, grid, None) or (campaign, None, account manager) → the quota's deadline.
    deadlines: dict[tuple[int, str | None, str | None], dt.date]
    #: (campaign, store) → the store quota's deadline (a campaign issued to stores).
    store_deadlines: dict[tuple[int, str], dt.date]


#: The list's order: priority (each task's place in its campaign), newest campaign first
#: among equals, then by customer, so that every page is the same on every view.
TASK_ORDER = "priority_rank ASC NULLS LAST, campaign_id DESC, subscriber_id"


def _states_sql(rows: str) -> str:
    """The task rows `rows` with their state (the counts by state need no quota)."""
    return f"""
        SELECT p.*, coalesce(o.outcome, '{TaskState.NOT_RECORDED}') AS state
        FROM ({rows}) p
        LEFT JOIN outcomes o ON o.campaign_id = p.campaign_id
                            AND o.subscriber_id = p.subscriber_id"""


def _where(scope: TaskScope, filters: TaskFilters, *, with_state: bool) -> tuple[str, list[Any]]:
    where, params = scope.sql()
    parts = [where]
    for column, value in (
        ("campaign_id", filters.campaign_id),
        ("grid_id", filters.grid),
        ("store_id", filters.store),
        (ACCOUNT_MANAGER, filters.account_manager),
        ("subscriber_id", filters.subscriber_id),
    ):
        if value:
            parts.append(f"{column} = ?")
            params.append(value)
    if with_state and filters.state:
        parts.append("state = ?")
        params.append(str(filters.state))
    return " AND ".join(parts), params


def _connection(
    *, user: Any, campaigns: list[Campaign], filters: TaskFilters
) -> tuple[
    Any,
    dict[tuple[int, str], _Recorded],
    dict[tuple[int, str | None, str | None], Any],
    dict[tuple[int, str], Any],
]:
    """A DuckDB cursor holding the user's recorded outcomes (table `outcomes`), and the
    outcomes and the campaigns' quota deadlines by key (the stores' apart)."""
    ids = [c.pk for c in campaigns]
    outcomes = TaskOutcome.objects.filter(campaign_id__in=ids)
    if user is not None:
        outcomes = outcomes.restrict(user, Action.VIEW)
    if filters.grid:
        # An account manager's customer in that grid has the manager's unit on the outcome.
        outcomes = outcomes.filter(
            models.Q(org_unit__code=filters.grid) | models.Q(account_manager__isnull=False)
        )
    if filters.account_manager:
        outcomes = outcomes.filter(account_manager__employee_no=filters.account_manager)
    if filters.subscriber_id:
        outcomes = outcomes.filter(subscriber_id=filters.subscriber_id)
    recorded = {
        (campaign, subscriber): _Recorded(
            outcome=outcome, note=note, attempts=attempts, recorded_at=at
        )
        for campaign, subscriber, outcome, note, attempts, at in outcomes.values_list(
            "campaign_id", "subscriber_id", "outcome", "note", "attempts", "recorded_at"
        )
    }
    # A grid's quota applies to its customers of no account manager, an account manager's
    # to theirs: keyed apart, a task finds one of the two, never both.
    deadlines = {}
    store_deadlines = {}
    for campaign, grid, manager, store, deadline in Quota.objects.filter(
        campaign_id__in=ids
    ).values_list(
        "campaign_id", "org_unit__code", "account_manager__employee_no", "store__store_id",
        "deadline",
    ):  # fmt: skip
        if store:  # a store's share of its grid's quota, held at the grid too
            store_deadlines[(campaign, store)] = deadline
        else:
            deadlines[(campaign, None if manager else grid, manager or None)] = deadline
    con = cursor()
    # Only the outcomes go to DuckDB (for the counts and the state filter): the rows of a
    # page find their quota and outcome by key. Every table named in a query costs its
    # binding (a call into Python for an Arrow one), which cost more than the joins did.
    con.register(
        "outcomes",
        pa.table(
            {
                "campaign_id": pa.array([k[0] for k in recorded], pa.int64()),
                "subscriber_id": pa.array([k[1] for k in recorded], pa.string()),
                "outcome": pa.array([r.outcome for r in recorded.values()], pa.string()),
            }
        ),
    )
    return con, recorded, deadlines, store_deadlines


def _open(*, user: Any, filters: TaskFilters, reach: TaskReach | None = None) -> _Source | None:
    scope = reach.scope if reach is not None else task_scope(user, Action.VIEW)
    if filters.grid and not scope.grids.holds(filters.grid):
        raise ServiceError(
            _("Grid %(grid)s is not one of your grids.") % {"grid": filters.grid}, field="grid"
        )
    if filters.account_manager and not scope.holds_manager(filters.account_manager):
        raise ServiceError(
            _("Account manager %(manager)s is not one whose tasks you follow.")
            % {"manager": filters.account_manager},
            field="account_manager",
        )
    if reach is not None:
        campaigns = [c for c in reach.campaigns if filters.campaign_id in (None, c.pk)]
    else:
        campaigns = campaigns_in_reach(scope=scope, campaign_id=filters.campaign_id)
    if filters.campaign_id is not None and not campaigns:
        raise ServiceError(
            _("Campaign %(id)s has no task list in your grids.") % {"id": filters.campaign_id},
            field="campaign",
        )
    steps = [s for c in campaigns for s in task_steps(c.pk)]
    if not steps:
        return None
    tables: list[str] = []
    chosen: dict[int, TaskCampaign] = {}
    for c in campaigns:
        mine = [s for s in steps if s.campaign_id == c.pk]
        if mine:
            table = _kept(c, mine)
            tables.append(f"SELECT * FROM {table.name}")
            chosen[c.pk] = TaskCampaign(
                name=c.name,
                scripts={s.step: s.text for s in mine},
                basis=table.basis,
                basis_label=str(table.basis.label) if table.basis else "",
            )
    con, recorded, deadlines, store_deadlines = _connection(
        user=user, campaigns=campaigns, filters=filters
    )
    return _Source(
        con=con,
        # The campaigns' task rows, one per campaign and customer, kept ready per process.
        rows=" UNION ALL ".join(tables),
        scope=scope,
        campaigns=chosen,
        recorded=recorded,
        deadlines=deadlines,
        store_deadlines=store_deadlines,
    )


def _kept(campaign: Campaign, steps: list[TaskStep]) -> KeptTable:
    return campaign_table(
        campaign_id=campaign.pk,
        plans=[(s.step, s.plan) for s in steps],
        audience=campaign.audience_path,
    )


def _counts(source: _Source, filters: TaskFilters) -> dict[TaskState, int]:
    """Tasks by state under every filter but the state one."""
    counts = dict.fromkeys(TaskState, 0)
    where, params = _where(source.scope, filters, with_state=False)
    for state, n in source.con.execute(
        f"SELECT state, count(*) FROM ({_states_sql(source.rows)}) WHERE {where} GROUP BY 1",
        params,
    ).fetchall():
        counts[TaskState(state)] = int(n)
    return counts


def _records(
    source: _Source, filters: TaskFilters, *, limit: int | None, offset: int = 0
) -> list[dict[str, Any]]:
    where, params = _where(source.scope, filters, with_state=True)
    page = f" LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
    # Without a state filter the page is chosen from the task rows alone (at 35,000 tasks,
    # 10 ms against 40 with the outcomes joined first).
    rows = _states_sql(source.rows) if filters.state else source.rows
    result = source.con.execute(
        f"SELECT * FROM ({rows}) WHERE {where} ORDER BY {TASK_ORDER}{page}", params
    )
    names = [d[0] for d in result.description or []]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def _rows(records: list[dict[str, Any]], source: _Source) -> list[TaskRow]:
    """The records as rows, with the names of their grids, stores and account managers (each
    read once for these rows only)."""
    grids = dict(
        OrgUnit.objects.filter(
            level=OrgLevel.GRID, code__in={r["grid_id"] for r in records if r["grid_id"]}
        ).values_list("code", "name")
    )
    stores = store_names(source.con, {r["store_id"] for r in records if r["store_id"]})
    managers = dict(
        Staff.objects.filter(
            employee_no__in={r[ACCOUNT_MANAGER] for r in records if r[ACCOUNT_MANAGER]}
        ).values_list("employee_no", "name")
    )
    campaigns = source.campaigns
    return [
        TaskRow(
            campaign_id=r["campaign_id"],
            campaign=campaigns[r["campaign_id"]].name,
            step=r["step"],
            script=campaigns[r["campaign_id"]].scripts.get(r["step"], ""),
            subscriber_id=r["subscriber_id"],
            msisdn=mask(r["msisdn"], PiiKind.MSISDN),
            name=mask(r["name"], PiiKind.NAME),
            grid_id=r["grid_id"],
            grid=grids.get(r["grid_id"], r["grid_id"] or ""),
            store_id=r["store_id"],
            store=stores.get(r["store_id"], r["store_id"] or ""),
            account_manager=r[ACCOUNT_MANAGER],
            account_manager_name=managers.get(r[ACCOUNT_MANAGER], r[ACCOUNT_MANAGER] or ""),
            value_tier=r["value_tier"],
            tier=str(ValueTier(r["value_tier"]).label)
            if r["value_tier"] in ValueTier.values
            else r["value_tier"] or "",
            churn_risk=r["churn_risk"],
            churn_reasons=r["churn_reasons_zh"],
            priority=r["priority"],
            priority_rank=r["priority_rank"],
            basis=campaigns[r["campaign_id"]].basis,
            # Labels made here, once a row, rather than by a template tag on every row.
            place=_("Top %(p)s%%") % {"p": _top_percent(r["priority_rank"])}
            if r["priority"] is not None and r["priority_rank"] is not None
            else "",
            basis_label=campaigns[r["campaign_id"]].basis_label,
            deadline=source.store_deadlines.get((r["campaign_id"], r["store_id"] or ""))
            or source.deadlines.get(
                (r["campaign_id"], None, r[ACCOUNT_MANAGER])
                if r[ACCOUNT_MANAGER]
                else (r["campaign_id"], r["grid_id"], None)
            ),
            state=TaskState(done.outcome) if done else TaskState.NOT_RECORDED,
            note=done.note if done else "",
            attempts=done.attempts if done else 0,
            recorded_at=done.recorded_at if done else None,
        )
        for r in records
        for done in [source.recorded.get((r["campaign_id"], r["subscriber_id"]))]
    ]


def _empty(page_size: int) -> TaskPage:
    return TaskPage(
        rows=[], total=0, counts=dict.fromkeys(TaskState, 0), page=1, page_size=page_size
    )


def task_list(
    *,
    user: Any,
    filters: TaskFilters | None = None,
    page: int = 1,
    page_size: int = PAGE_SIZE,
    reach: TaskReach | None = None,
) -> TaskPage:
    """One page of the tasks `user` may see (CAMPAIGN_TASK VIEW over their grids, and the
    account managers in reach: `TaskScope`), across the issued and running campaigns with a
    task step, highest priority first (`TASK_ORDER`); numbers and names masked. A page past
    the last gives the last. `reach`: the user's, when the caller has worked it out already
    (`task_reach`)."""
    chosen = filters or TaskFilters()
    source = _open(user=user, filters=chosen, reach=reach)
    if source is None:
        return _empty(page_size)
    try:
        counts = _counts(source, chosen)
        total = counts[chosen.state] if chosen.state else sum(counts.values())
        number = min(max(page, 1), max(1, math.ceil(total / page_size)))
        records = _records(source, chosen, limit=page_size, offset=(number - 1) * page_size)
        rows = _rows(records, source)
    finally:
        source.con.close()
    return TaskPage(rows=rows, total=total, counts=counts, page=number, page_size=page_size)


def all_rows(*, user: Any, filters: TaskFilters) -> list[TaskRow]:
    """Every task under the filters, in the list's order (for a download)."""
    source = _open(user=user, filters=filters)
    if source is None:
        return []
    try:
        return _rows(_records(source, filters, limit=None), source)
    finally:
        source.con.close()


def task_row(
    *,
    user: Any,
    campaign_id: int,
    subscriber_id: str,
    filters: TaskFilters | None = None,
    reach: TaskReach | None = None,
) -> tuple[TaskRow | None, dict[TaskState, int]]:
    """One task as the list shows it to `user` (None when it is not on their lists), and the
    counts above the list under `filters` (those of the list the task was on): what a row
    answers when an outcome is recorded in place, from one read of the outcomes. Filters
    that no longer hold (a grid taken away) give the counts of the whole list."""
    chosen = filters or TaskFilters()
    try:
        source = _open(user=user, filters=chosen, reach=reach)
    except ServiceError:
        chosen = TaskFilters()
        source = _open(user=user, filters=chosen, reach=reach)
    if source is None:
        return None, dict.fromkeys(TaskState, 0)
    one = replace(chosen, state=None, campaign_id=campaign_id, subscriber_id=subscriber_id)
    try:
        counts = _counts(source, chosen)
        rows = _rows(_records(source, one, limit=1), source)
    finally:
        source.con.close()
    if not rows and chosen != TaskFilters():
        # The task is not under the list's filters (the campaign filter, a store typed
        # since): looked up on its own.
        only = TaskFilters(campaign_id=campaign_id, subscriber_id=subscriber_id)
        try:
            source = _open(user=user, filters=only, reach=reach)
        except ServiceError:
            source = None
        if source is not None:
            try:
                rows = _rows(_records(source, only, limit=1), source)
            finally:
                source.con.close()
    return (rows[0] if rows else None), counts
