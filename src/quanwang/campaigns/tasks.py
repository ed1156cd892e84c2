"""Task lists (任务清单): who each grid, store and account manager is to contact for a
campaign, and what came of each contact.

A task step (Channel.TASK) is planned like any other step, through the contact policy, and its
plan (var/campaigns/<id>/dispatch/<step>/plan.parquet) IS the task list: one row per customer
with their grid and the store that serves them, or, in a campaign split by account manager
(TaskSplit.ACCOUNT_MANAGER), the account manager of their enterprise (`account_manager`, an
employee number, frozen on issue). Nothing is copied into the database; what is recorded is
one TaskOutcome row per campaign and customer (the latest outcome counts, `attempts` how many
times it was recorded). The outcomes feed the closed loop: evaluation
(services.evaluation_table) and the contact history of later steps (contact_log).

Who sees what (`TaskScope`): CAMPAIGN_TASK over grids, as customer rows are narrowed
everywhere (data.customers.customer_scope), for the customers of no account manager; an
account manager's customers go with the manager: to the manager themselves (an own-records
grant, Reach.OWN) and to those whose subtree grants reach the manager's org unit (a county
manager follows their county's account managers; a grid manager does not see them). A task
list is not narrowed by the campaign's own org unit: a grid manager works the province's
campaigns in their grid without seeing the campaigns.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from quanwang.campaigns.choices import CampaignState, Channel, ContactOutcome
from quanwang.campaigns.dispatch import TASK_HISTORY_SCHEMA
from quanwang.campaigns.issuing import ACCOUNT_MANAGER, campaign_dir
from quanwang.campaigns.models import Campaign, Quota, TaskOutcome
from quanwang.campaigns.task_tables import campaign_table
from quanwang.campaigns.task_tables import cursor as task_tables_cursor
from quanwang.core.choices import Action, OrgLevel, PiiKind, Reach, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.masking import mask
from quanwang.core.models import OrgUnit, Staff
from quanwang.core.querysets import has_grant
from quanwang.core.services.orgs import units_granting
from quanwang.core.tabular import append_row, new_workbook, workbook_bytes
from quanwang.data.customers import Scope, customer_scope
from quanwang.data.warehouse import sql_literal
from quanwang.insight.choices import ValueTier

PAGE_SIZE = 50
#: Outcomes are recorded, and tasks listed, only while the campaign is being executed.
OPEN_STATES = frozenset({CampaignState.ISSUED, CampaignState.RUNNING})
#: Outcomes that mean the customer was reached (an unreachable customer was only tried).
REACHED = (ContactOutcome.CONTACTED, ContactOutcome.ACCEPTED, ContactOutcome.REFUSED)
NOTE_LENGTH = 200  # TaskOutcome.note's max_length
#: A contact time this far ahead of the server's clock is a typo, not clock skew.
FUTURE_SLACK = dt.timedelta(minutes=5)


class TaskState(models.TextChoices):
    """Where a task stands: not yet recorded, or its latest outcome."""

    NOT_RECORDED = "not_recorded", gettext_lazy("Not yet recorded")
    # The outcomes' own codes and labels (ContactOutcome).
    CONTACTED = "contacted", gettext_lazy("Contacted")
    ACCEPTED = "accepted", gettext_lazy("Accepted")
    REFUSED = "refused", gettext_lazy("Refused")
    UNREACHABLE = "unreachable", gettext_lazy("Unreachable")


@dataclass(frozen=True, kw_only=True)
class TaskStep:
    campaign_id: int
    step: str
    plan: Path
    planned_at: str
    text: str


@dataclass(frozen=True, kw_only=True)
class TaskFilters:
    campaign_id: int | None = None
    grid: str | None = None
    store: str | None = None
    state: TaskState | None = None
    #: An account manager's employee number: that manager's customers.
    account_manager: str | None = None


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
    grid: str
    store_id: str | None
    #: The account manager whose list the customer is on (employee number), and their name.
    account_manager: str | None
    account_manager_name: str
    value_tier: str | None
    tier: str  # the value tier's label
    churn_risk: float | None
    churn_reasons: str | None
    deadline: dt.date | None
    state: TaskState
    note: str
    attempts: int
    recorded_at: dt.datetime | None


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
class TaskChoices:
    """What the filters offer: the user's campaigns with tasks, their grids, and the account
    managers whose tasks they follow (employee number, name)."""

    campaigns: list[tuple[int, str]]
    grids: list[tuple[str, str]]
    account_managers: list[tuple[str, str]]


def task_steps(campaign_id: int) -> list[TaskStep]:
    """The campaign's task steps that have a plan, first planned first."""
    found = []
    for decision_file in (campaign_dir(campaign_id) / "dispatch").glob("*/decision.json"):
        decision = json.loads(decision_file.read_text())
        # decision.json is written after the plan: its presence means the plan is whole.
        if decision.get("channel") != Channel.TASK:
            continue
        found.append(
            TaskStep(
                campaign_id=campaign_id,
                step=decision_file.parent.name,
                plan=decision_file.parent / "plan.parquet",
                planned_at=str(decision.get("send_at", "")),
                text=str(decision.get("text", "")),
            )
        )
    return sorted(found, key=lambda s: (s.planned_at, s.step))


@dataclass(frozen=True)
class TaskScope:
    """The task rows a user may see (or record): the customers of no account manager by
    their grid, an account manager's customers by the manager."""

    grids: Scope
    #: Employee numbers of the account managers whose customers are in reach; None: all.
    managers: tuple[str, ...] | None

    @property
    def empty(self) -> bool:
        return self.grids.grids == () and not self.grids.gridless and self.managers == ()

    def holds_manager(self, employee_no: str) -> bool:
        return self.managers is None or employee_no in self.managers

    def holds(self, task: dict[str, Any]) -> bool:
        """Whether a row (grid_id, account_manager) is in reach."""
        if task.get(ACCOUNT_MANAGER):
            return self.holds_manager(task[ACCOUNT_MANAGER])
        return self.grids.holds(task.get("grid_id"))

    def sql(self) -> tuple[str, list[Any]]:
        grids, params = self.grids.sql("grid_id")
        if self.managers is None:
            managers = "true"
        elif self.managers:
            managers = f"{ACCOUNT_MANAGER} IN (SELECT unnest(?))"
            params.append(list(self.managers))
        else:
            managers = "false"
        return (
            f"(({ACCOUNT_MANAGER} IS NULL AND {grids}) "
            f"OR ({ACCOUNT_MANAGER} IS NOT NULL AND {managers}))",
            params,
        )


def _scope(user: Any, action: Action) -> TaskScope:
    if user is None:  # the system: commands and jobs
        return TaskScope(grids=Scope(grids=None, gridless=True), managers=None)
    if not has_grant(user, resource=Resource.CAMPAIGN_TASK, action=action):
        return TaskScope(grids=Scope(grids=(), gridless=False), managers=())
    grids = customer_scope(user, action, Resource.CAMPAIGN_TASK)
    if grids.grids is None or grids.gridless:  # the whole tree: every manager too
        return TaskScope(grids=grids, managers=None)
    # The account managers of the units the user's subtree grants reach, and the user
    # themselves when they hold an own-records grant (an account manager's login).
    units = units_granting(
        user=user, resource=Resource.CAMPAIGN_TASK, action=action, only=Reach.SUBTREE
    )
    managers = set(Staff.objects.filter(org_unit__in=units).values_list("employee_no", flat=True))
    if has_grant(user, resource=Resource.CAMPAIGN_TASK, action=action, only=Reach.OWN):
        managers |= set(Staff.objects.filter(user=user).values_list("employee_no", flat=True))
    return TaskScope(grids=grids, managers=tuple(sorted(managers)))


def _campaigns(
    *, scope: TaskScope, campaign_id: int | None = None, open_only: bool = True
) -> list[Campaign]:
    """Campaigns (issued or running ones, unless `open_only` is False) with a task step
    that can reach the scope's grids or account managers."""
    if scope.empty:
        return []
    # Not Campaign.objects.restrict: a grid manager holds no grant on a province campaign,
    # yet works its tasks in their grid; the rows are narrowed by grid below.
    campaigns = Campaign.objects.exclude(audience_path="").select_related("org_unit")
    if open_only:
        campaigns = campaigns.filter(state__in=OPEN_STATES)
    if campaign_id is not None:
        campaigns = campaigns.filter(pk=campaign_id)
    grids = scope.grids
    paths: list[str] = []
    if grids.grids is not None:
        paths = list(
            OrgUnit.objects.filter(level=OrgLevel.GRID, code__in=grids.grids).values_list(
                "path", flat=True
            )
        )
    managed: set[int] = set()
    if scope.managers:
        managed = set(
            Quota.objects.filter(
                campaign__in=campaigns, account_manager__employee_no__in=scope.managers
            ).values_list("campaign_id", flat=True)
        )
    return [
        c
        for c in campaigns.order_by("-pk")
        if (
            grids.grids is None
            or (grids.gridless and c.org_unit.parent_id is None)
            or any(p.startswith(c.org_unit.path) for p in paths)
            or c.pk in managed
        )
        and task_steps(c.pk)
    ]


@dataclass(frozen=True)
class TaskReach:
    """What a user's task lists reach: their scope and the open campaigns with a task list in
    it. Worked out once for a page view, which both offers the filters and lists the tasks."""

    scope: TaskScope
    campaigns: list[Campaign]


def task_reach(*, user: Any) -> TaskReach:
    scope = _scope(user, Action.VIEW)
    return TaskReach(scope=scope, campaigns=_campaigns(scope=scope))


def filter_choices(*, user: Any, reach: TaskReach | None = None) -> TaskChoices:
    chosen = reach or task_reach(user=user)
    scope, found = chosen.scope, chosen.campaigns
    grids = OrgUnit.objects.filter(level=OrgLevel.GRID).order_by("path")
    if scope.grids.grids is not None:
        grids = grids.filter(code__in=scope.grids.grids)
    # The account managers with a quota in those campaigns, of those in reach.
    managers = Staff.objects.filter(
        pk__in=Quota.objects.filter(
            campaign__in=[c.pk for c in found], account_manager__isnull=False
        ).values("account_manager_id")
    ).order_by("employee_no")
    if scope.managers is not None:
        managers = managers.filter(employee_no__in=scope.managers)
    return TaskChoices(
        campaigns=[(c.pk, c.name) for c in found],
        grids=list(grids.values_list("code", "name")),
        account_managers=[(m.employee_no, f"{m.name} ({m.employee_no})") for m in managers],
    )


def _column(names: list[str], name: str, kind: str) -> str:
    return name if name in names else f"CAST(NULL AS {kind}) AS {name}"


def _plan_manager(plan: Path) -> str:
    """The plan's account manager column (a plan made before the split existed has none)."""
    return _column(pq.read_schema(plan).names, ACCOUNT_MANAGER, "VARCHAR")


def _task_rows_sql(campaigns: list[Campaign], steps: list[TaskStep]) -> str:
    """SQL of the campaigns' task rows, one per campaign and customer (a customer on two task
    steps is listed under the first), with their frozen audience's facts. The rows of each
    campaign are kept ready per process (`task_tables`)."""
    tables = [
        campaign_table(
            campaign_id=c.pk,
            plans=[(s.step, s.plan) for s in steps if s.campaign_id == c.pk],
            audience=c.audience_path,
        )
        for c in campaigns
        if any(s.campaign_id == c.pk for s in steps)
    ]
    return " UNION ALL ".join(f"SELECT * FROM {table}" for table in tables)


def _states_sql(rows: str) -> str:
    """The task rows `rows` with their state (the counts by state need no quota)."""
    return f"""
        SELECT p.*, coalesce(o.outcome, '{TaskState.NOT_RECORDED}') AS state
        FROM ({rows}) p
        LEFT JOIN outcomes o ON o.campaign_id = p.campaign_id
                            AND o.subscriber_id = p.subscriber_id"""


def _tasks_sql(rows: str) -> str:
    """The task rows `rows` with the deadline of their grid's quota, or of their account
    manager's, and their recorded outcome; quotas and outcomes are this request's."""
    # A grid's quota and an account manager's are joined apart, each on equal keys: one join
    # whose condition held an OR compared every task with every quota (70 ms for the 1M
    # city's 35,000 tasks and 400 quotas). A task matches one of the two, never both.
    return f"""
        SELECT p.campaign_id, p.step, p.subscriber_id, p.grid_id, p.store_id,
               p.{ACCOUNT_MANAGER}, p.msisdn, p.name, p.value_tier, p.churn_risk,
               p.churn_reasons_zh, coalesce(qg.deadline, qm.deadline) AS deadline,
               coalesce(o.outcome, '{TaskState.NOT_RECORDED}') AS state, o.note, o.attempts,
               o.recorded_at
        FROM ({rows}) p
        LEFT JOIN (SELECT * FROM quotas WHERE {ACCOUNT_MANAGER} IS NULL) qg
               ON p.{ACCOUNT_MANAGER} IS NULL AND qg.campaign_id = p.campaign_id
              AND qg.grid_id = p.grid_id
        LEFT JOIN quotas qm ON qm.campaign_id = p.campaign_id
                           AND qm.{ACCOUNT_MANAGER} = p.{ACCOUNT_MANAGER}
        LEFT JOIN outcomes o ON o.campaign_id = p.campaign_id
                            AND o.subscriber_id = p.subscriber_id"""


def _where(scope: TaskScope, filters: TaskFilters, *, with_state: bool) -> tuple[str, list[Any]]:
    where, params = scope.sql()
    parts = [where]
    if filters.grid:
        parts.append("grid_id = ?")
        params.append(filters.grid)
    if filters.store:
        parts.append("store_id = ?")
        params.append(filters.store)
    if filters.account_manager:
        parts.append(f"{ACCOUNT_MANAGER} = ?")
        params.append(filters.account_manager)
    if with_state and filters.state:
        parts.append("state = ?")
        params.append(str(filters.state))
    return " AND ".join(parts), params


def _connection(*, user: Any, campaigns: list[Campaign], filters: TaskFilters) -> Any:
    """A DuckDB connection holding the campaigns' quotas and the user's recorded outcomes."""
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
    recorded = list(
        outcomes.values_list(
            "campaign_id", "subscriber_id", "outcome", "note", "attempts", "recorded_at"
        )
    )
    quotas = list(
        Quota.objects.filter(campaign_id__in=ids).values_list(
            "campaign_id", "org_unit__code", "account_manager__employee_no", "deadline"
        )
    )
    con = task_tables_cursor()
    con.register(
        "outcomes",
        pa.table(
            {
                "campaign_id": pa.array([r[0] for r in recorded], pa.int64()),
                "subscriber_id": pa.array([r[1] for r in recorded], pa.string()),
                "outcome": pa.array([r[2] for r in recorded], pa.string()),
                "note": pa.array([r[3] for r in recorded], pa.string()),
                "attempts": pa.array([r[4] for r in recorded], pa.int64()),
                # Naive UTC: DuckDB hands zoned timestamps back only through pytz.
                "recorded_at": pa.array(
                    [r[5].astimezone(dt.UTC).replace(tzinfo=None) for r in recorded],
                    pa.timestamp("us"),
                ),
            }
        ),
    )
    con.register(
        "quotas",
        pa.table(
            {
                "campaign_id": pa.array([q[0] for q in quotas], pa.int64()),
                "grid_id": pa.array([q[1] for q in quotas], pa.string()),
                ACCOUNT_MANAGER: pa.array([q[2] for q in quotas], pa.string()),
                "deadline": pa.array([q[3] for q in quotas], pa.date32()),
            }
        ),
    )
    return con


@dataclass(frozen=True, kw_only=True)
class TaskCampaign:
    name: str
    scripts: dict[str, str]  # the task text of each step


@dataclass(frozen=True, kw_only=True)
class _Source:
    """The task rows a user may see, ready to query: SQL over `con`, narrowed by `where`."""

    con: Any
    #: The task rows (`_task_rows_sql`), without quotas or outcomes.
    rows: str
    scope: TaskScope
    campaigns: dict[int, TaskCampaign]


def _open(*, user: Any, filters: TaskFilters, reach: TaskReach | None = None) -> _Source | None:
    scope = reach.scope if reach is not None else _scope(user, Action.VIEW)
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
        campaigns = _campaigns(scope=scope, campaign_id=filters.campaign_id)
    if filters.campaign_id is not None and not campaigns:
        raise ServiceError(
            _("Campaign %(id)s has no task list in your grids.") % {"id": filters.campaign_id},
            field="campaign",
        )
    steps = [s for c in campaigns for s in task_steps(c.pk)]
    if not steps:
        return None
    return _Source(
        con=_connection(user=user, campaigns=campaigns, filters=filters),
        rows=_task_rows_sql(campaigns, steps),
        scope=scope,
        campaigns={
            c.pk: TaskCampaign(
                name=c.name, scripts={s.step: s.text for s in steps if s.campaign_id == c.pk}
            )
            for c in campaigns
        },
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


TASK_ORDER = f"campaign_id DESC, {ACCOUNT_MANAGER} NULLS FIRST, grid_id, store_id, subscriber_id"


def _records(
    source: _Source, filters: TaskFilters, *, limit: int | None, offset: int = 0
) -> list[dict[str, Any]]:
    where, params = _where(source.scope, filters, with_state=True)
    page = f" LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
    if filters.state is None:
        # No filter needs the outcomes: the page is chosen from the task rows alone and only
        # its rows are joined to quotas and outcomes (at 35,000 tasks, 40 ms against 10).
        rows = f"SELECT * FROM ({source.rows}) WHERE {where} ORDER BY {TASK_ORDER}{page}"
        sql = f"SELECT * FROM ({_tasks_sql(rows)}) ORDER BY {TASK_ORDER}"
    else:
        sql = f"SELECT * FROM ({_tasks_sql(source.rows)}) WHERE {where} ORDER BY {TASK_ORDER}{page}"
    result = source.con.execute(sql, params)
    names = [d[0] for d in result.description or []]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def _rows(records: list[dict[str, Any]], campaigns: dict[int, TaskCampaign]) -> list[TaskRow]:
    grids = dict(
        OrgUnit.objects.filter(
            level=OrgLevel.GRID, code__in={r["grid_id"] for r in records if r["grid_id"]}
        ).values_list("code", "name")
    )
    managers = dict(
        Staff.objects.filter(
            employee_no__in={r[ACCOUNT_MANAGER] for r in records if r[ACCOUNT_MANAGER]}
        ).values_list("employee_no", "name")
    )
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
            account_manager=r[ACCOUNT_MANAGER],
            account_manager_name=managers.get(r[ACCOUNT_MANAGER], r[ACCOUNT_MANAGER] or ""),
            value_tier=r["value_tier"],
            tier=str(ValueTier(r["value_tier"]).label)
            if r["value_tier"] in ValueTier.values
            else r["value_tier"] or "",
            churn_risk=r["churn_risk"],
            churn_reasons=r["churn_reasons_zh"],
            deadline=r["deadline"],
            state=TaskState(r["state"]),
            note=r["note"] or "",
            attempts=int(r["attempts"] or 0),
            recorded_at=r["recorded_at"].replace(tzinfo=dt.UTC) if r["recorded_at"] else None,
        )
        for r in records
    ]


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
    task step; numbers and names masked. A page past the last gives the last. `reach`: the
    user's, when the caller has worked it out already (`task_reach`)."""
    chosen = filters or TaskFilters()
    source = _open(user=user, filters=chosen, reach=reach)
    if source is None:
        return TaskPage(
            rows=[], total=0, counts=dict.fromkeys(TaskState, 0), page=1, page_size=page_size
        )
    try:
        counts = _counts(source, chosen)
        total = counts[chosen.state] if chosen.state else sum(counts.values())
        number = min(max(page, 1), max(1, math.ceil(total / page_size)))
        records = _records(source, chosen, limit=page_size, offset=(number - 1) * page_size)
    finally:
        source.con.close()
    return TaskPage(
        rows=_rows(records, source.campaigns),
        total=total,
        counts=counts,
        page=number,
        page_size=page_size,
    )


def export_xlsx(*, user: Any, filters: TaskFilters) -> bytes:
    """The filtered task list of one grid, or of one account manager, as a workbook to work
    from (numbers masked)."""
    if not filters.grid and not filters.account_manager:
        raise ServiceError(
            _("Choose a grid or an account manager to download their task list."), field="grid"
        )
    source = _open(user=user, filters=filters)
    rows: list[TaskRow] = []
    if source is not None:
        try:
            rows = _rows(_records(source, filters, limit=None), source.campaigns)
        finally:
            source.con.close()
    book = new_workbook(write_only=True)
    sheet = book.create_sheet(title=_("Task list")[:31])
    header = [
        _("Campaign"), _("Step"), _("Subscriber ID"), _("Number"), _("Name"), _("Grid"),
        _("Store"), _("Account manager"), _("Value tier"), _("Churn risk"), _("Churn reasons"),
        _("Deadline"), _("Outcome"), _("Note"), _("Attempts"), _("Recorded at"), _("Script"),
    ]  # fmt: skip
    append_row(sheet, header)
    for row in rows:
        recorded = timezone.localtime(row.recorded_at) if row.recorded_at else None
        append_row(
            sheet,
            [
                row.campaign,
                row.step,
                row.subscriber_id,
                row.msisdn,
                row.name,
                row.grid,
                row.store_id or "",
                row.account_manager_name,
                row.tier,
                None if row.churn_risk is None else round(row.churn_risk, 4),
                row.churn_reasons or "",
                row.deadline,
                str(row.state.label),
                row.note,
                row.attempts,
                recorded.replace(tzinfo=None) if recorded else None,
                row.script,
            ],
        )
    return workbook_bytes(book)


def task_campaign(*, user: Any, pk: int) -> Campaign:
    """A campaign with a task list in the grids where the user records outcomes, in any
    state (record_outcome says when it is closed); NotFound otherwise."""
    found = _campaigns(scope=_scope(user, Action.CHANGE), campaign_id=pk, open_only=False)
    if not found:
        raise NotFound()
    return found[0]


def _task_of(campaign: Campaign, subscriber_id: str) -> dict[str, Any] | None:
    """The customer's row on the campaign's task list: grid, store and account manager, or
    None."""
    steps = task_steps(campaign.pk)
    if not steps:
        return None
    plans = " UNION ALL ".join(
        f"SELECT {rank} AS step_rank, grid_id, CAST(store_id AS VARCHAR) AS store_id, "
        f"{_plan_manager(s.plan)} FROM read_parquet({sql_literal(str(s.plan))}) "
        "WHERE subscriber_id = $id"
        for rank, s in enumerate(steps)
    )
    con = task_tables_cursor()
    found = con.execute(
        f"SELECT grid_id, store_id, {ACCOUNT_MANAGER} FROM ({plans}) ORDER BY step_rank LIMIT 1",
        {"id": subscriber_id},
    ).fetchall()
    con.close()
    if not found:
        return None
    return {"grid_id": found[0][0], "store_id": found[0][1], ACCOUNT_MANAGER: found[0][2]}


def record_outcome(
    *,
    actor: Any,
    campaign: Campaign,
    subscriber_id: str,
    outcome: ContactOutcome | str,
    note: str = "",
    at: dt.datetime | None = None,
) -> TaskOutcome:
    """Record what came of contacting one customer of the campaign's task list. One row per
    campaign and customer: the latest contact (by `at`) sets the outcome and note, and every
    recording counts one more attempt."""
    if outcome not in ContactOutcome.values:
        raise ServiceError(
            _("%(outcome)s is not a contact outcome: use contacted, accepted, refused or "
              "unreachable.") % {"outcome": outcome or "''"},
            field="outcome",
        )  # fmt: skip
    chosen = ContactOutcome(outcome)
    note = note.strip()
    if len(note) > NOTE_LENGTH:
        raise ServiceError(
            _("The note is %(length)d characters long; keep it to %(limit)d.")
            % {"length": len(note), "limit": NOTE_LENGTH},
            field="note",
        )
    moment = at or timezone.now()
    if timezone.is_naive(moment):
        raise ServiceError(_("Give the contact time with its time zone."), field="at")
    if moment > timezone.now() + FUTURE_SLACK:
        raise ServiceError(_("The contact time is in the future."), field="at")
    scope = _scope(actor, Action.CHANGE)
    with transaction.atomic():
        # The campaign row is locked so that closing it and recording on it do not interleave,
        # and so that two recordings of one customer count two attempts.
        locked = Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
        if locked is None:
            raise NotFound()
        if locked.state not in OPEN_STATES:
            raise ServiceError(
                _("Campaign %(name)s is %(state)s: outcomes are recorded only while it is "
                  "issued or running.")
                % {"name": locked.name, "state": CampaignState(locked.state).label},
                field="campaign",
            )  # fmt: skip
        task = _task_of(locked, subscriber_id)
        if task is None:
            raise ServiceError(
                _("Customer %(id)s is not on this campaign's task list.") % {"id": subscriber_id},
                field="subscriber_id",
            )
        employee_no = task[ACCOUNT_MANAGER]
        manager = (
            Staff.objects.select_related("org_unit").filter(employee_no=employee_no).first()
            if employee_no
            else None
        )
        if not scope.holds(task):
            if employee_no:
                message = _(
                    "Customer %(id)s is on the task list of account manager %(manager)s, "
                    "whose tasks you may not record."
                ) % {"id": subscriber_id, "manager": manager.name if manager else employee_no}
            else:
                message = _("Customer %(id)s is in a grid whose tasks you may not record.") % {
                    "id": subscriber_id
                }
            raise ServiceError(message, field="subscriber_id")
        if manager is not None:  # an account manager's customer: at the manager's own unit
            unit = manager.org_unit
        else:
            grid = (
                OrgUnit.objects.filter(level=OrgLevel.GRID, code=task["grid_id"]).first()
                if task["grid_id"]
                else None
            )
            unit = grid or locked.org_unit
        existing = (
            TaskOutcome.objects.select_for_update()
            .filter(campaign=locked, subscriber_id=subscriber_id)
            .first()
        )
        if existing is None:
            return TaskOutcome.objects.create(
                campaign=locked,
                subscriber_id=subscriber_id,
                org_unit=unit,
                store_id=task["store_id"] or "",
                account_manager=manager,
                outcome=chosen,
                note=note,
                attempts=1,
                recorded_by=actor,
                recorded_at=moment,
            )
        existing.attempts += 1
        fields = ["attempts"]
        # An older contact entered late counts as an attempt but does not undo a newer one.
        if moment >= existing.recorded_at:
            existing.outcome = chosen
            existing.note = note
            existing.recorded_by = actor
            existing.recorded_at = moment
            fields += ["outcome", "note", "recorded_by", "recorded_at"]
        existing.save(update_fields=fields)
        return existing


def outcomes_table(*, campaign_id: int) -> pa.Table:
    """The campaign's recorded outcomes (subscriber_id, outcome), for its evaluation."""
    rows = list(
        TaskOutcome.objects.filter(campaign_id=campaign_id).values_list("subscriber_id", "outcome")
    )
    return pa.table(
        {
            "subscriber_id": pa.array([r[0] for r in rows], pa.string()),
            "outcome": pa.array([r[1] for r in rows], pa.string()),
        }
    )


def contact_log(*, since: dt.datetime | None = None) -> pa.Table:
    """Every recorded task outcome, all campaigns, as contact history for the contact policy
    (`dispatch.TASK_HISTORY_SCHEMA`): one contact per customer and campaign, at the latest
    recording (earlier attempts are counted in `attempts`, not here)."""
    outcomes = TaskOutcome.objects.all()
    if since is not None:
        outcomes = outcomes.filter(recorded_at__gte=since)
    rows = list(outcomes.values_list("subscriber_id", "recorded_at", "outcome"))
    return pa.table(
        {
            "subscriber_id": pa.array([r[0] for r in rows], pa.string()),
            "channel": pa.array([str(Channel.TASK)] * len(rows), pa.string()),
            "sent_at": pa.array([r[1] for r in rows], pa.timestamp("us", tz="UTC")),
            "outcome": pa.array([r[2] for r in rows], pa.string()),
        },
        schema=TASK_HISTORY_SCHEMA,
    )
