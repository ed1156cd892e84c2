"""Whose tasks a user sees or records (`TaskScope`), and the campaigns with a task list in it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quanwang.campaigns.choices import CampaignState, Channel
from quanwang.campaigns.issuing import ACCOUNT_MANAGER, campaign_dir
from quanwang.campaigns.models import Campaign, Quota
from quanwang.core.choices import Action, OrgLevel, Reach, Resource
from quanwang.core.models import OrgUnit, Staff
from quanwang.core.permissions import reach
from quanwang.core.querysets import active_assignments, has_grant
from quanwang.core.services.orgs import units_granting
from quanwang.data.customers import Scope, customer_scope
from quanwang.data.warehouse import sql_literal

#: Outcomes are recorded, and tasks listed, only while the campaign is being executed.
OPEN_STATES = frozenset({CampaignState.ISSUED, CampaignState.RUNNING})


@dataclass(frozen=True, kw_only=True)
class TaskStep:
    campaign_id: int
    step: str
    plan: Path
    planned_at: str
    text: str


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
    their grid, or by their store for a partner's login (its own stores, Store.partners), an
    account manager's customers by the manager."""

    grids: Scope
    #: Employee numbers of the account managers whose customers are in reach; None: all.
    managers: tuple[str, ...] | None
    #: Codes of the stores whose task lists are in reach wherever their grid is (a partner's
    #: own stores, through an own-records grant).
    stores: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return (
            self.grids.grids == ()
            and not self.grids.gridless
            and self.managers == ()
            and not self.stores
        )

    def holds_manager(self, employee_no: str) -> bool:
        return self.managers is None or employee_no in self.managers

    def holds(self, task: dict[str, Any]) -> bool:
        """Whether a row (grid_id, store_id, account_manager) is in reach."""
        if task.get(ACCOUNT_MANAGER):
            return self.holds_manager(task[ACCOUNT_MANAGER])
        return self.grids.holds(task.get("grid_id")) or (
            bool(task.get("store_id")) and task.get("store_id") in self.stores
        )

    def sql(self) -> tuple[str, list[Any]]:
        """The scope as a DuckDB condition over task rows. The codes are written into it:
        list parameters (`IN (SELECT unnest(?))`) cost a join to plan, several ms a query."""
        grids = self.grids
        if grids.grids is None:
            by_grid = "true"
        else:
            parts = [f"grid_id IN ({_listed(grids.grids)})"] if grids.grids else []
            if grids.gridless:
                parts.append("grid_id IS NULL")
            if self.stores:
                parts.append(f"store_id IN ({_listed(self.stores)})")
            by_grid = "(" + " OR ".join(parts) + ")" if parts else "false"
        if self.managers is None:
            managers = "true"
        elif self.managers:
            managers = f"{ACCOUNT_MANAGER} IN ({_listed(self.managers)})"
        else:
            managers = "false"
        return (
            f"(({ACCOUNT_MANAGER} IS NULL AND {by_grid}) "
            f"OR ({ACCOUNT_MANAGER} IS NOT NULL AND {managers}))",
            [],
        )


def _listed(codes: tuple[str, ...]) -> str:
    return ", ".join(sql_literal(code) for code in codes)


def _grants(user: Any, action: Action) -> tuple[object, ...]:
    """What `user`'s task scope for `action` is made of: their role assignments in force and
    the reach each grants (the scope is worked out from these and the org tree alone)."""
    if user is None or getattr(user, "is_superuser", False):
        return ("all",)
    return tuple(
        (a.pk, reach(role=a.role, resource=Resource.CAMPAIGN_TASK, action=action))
        for a in active_assignments(user)
    )


def same_scope(user: Any, first: Action, second: Action) -> bool:
    """Whether `user`'s task scopes for two actions are one (every role of the demo grants
    recording wherever it grants listing): the second need not be worked out again."""
    return _grants(user, first) == _grants(user, second)


def task_scope(user: Any, action: Action) -> TaskScope:
    """`user`'s task scope for `action` (VIEW to list, CHANGE to record); None: the system."""
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
    stores: tuple[str, ...] = ()
    if has_grant(user, resource=Resource.CAMPAIGN_TASK, action=action, only=Reach.OWN):
        managers |= set(Staff.objects.filter(user=user).values_list("employee_no", flat=True))
        stores = partner_stores(user)
    return TaskScope(grids=grids, managers=tuple(sorted(managers)), stores=stores)


def partner_stores(user: Any) -> tuple[str, ...]:
    """Codes of the stores `user` is a partner login of, as their store file shows them
    (Store.objects.restrict: a partner's own-records grant reaches its own stores)."""
    from quanwang.channels.models import Store  # the channels app builds on campaigns

    return tuple(
        Store.objects.restrict(user, Action.VIEW)
        .filter(partners=user)
        .order_by("store_id")
        .values_list("store_id", flat=True)
    )


def campaigns_in_reach(
    *, scope: TaskScope, campaign_id: int | None = None, open_only: bool = True
) -> list[Campaign]:
    """Campaigns (issued or running ones, unless `open_only` is False) with a task step
    that can reach the scope's grids or account managers, newest first."""
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
    if scope.stores:  # a partner's stores: the campaigns that reach their grids
        from quanwang.channels.models import Store

        paths += list(
            Store.objects.filter(store_id__in=scope.stores).values_list("org_unit__path", flat=True)
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
    it. Worked out once for a request, which both offers the filters and lists the tasks."""

    scope: TaskScope
    campaigns: list[Campaign]


def task_reach(*, user: Any) -> TaskReach:
    scope = task_scope(user, Action.VIEW)
    return TaskReach(scope=scope, campaigns=campaigns_in_reach(scope=scope))


@dataclass(frozen=True, kw_only=True)
class TaskChoices:
    """What the filters offer: the user's campaigns with tasks, their grids, and the account
    managers whose tasks they follow (employee number, name)."""

    campaigns: list[tuple[int, str]]
    grids: list[tuple[str, str]]
    account_managers: list[tuple[str, str]]


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
