"""Execution progress: each quota against its pace, the roll-up of quotas from grid to county
to city (`progress_tree`), and the early-warning thresholds.

A quota is held at one unit (a grid, a county for a campaign split by county, an account
manager at their own unit); every unit above it adds up what is below it, so the rows of
each level sum to the row above. Who reads the tree sees the rows of their own units only
(services.access.viewing_units): a county manager their county and its grids.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Max, QuerySet, Sum
from django.utils import timezone

from quanwang.campaigns.evaluation import Group
from quanwang.campaigns.issuing import ACCOUNT_MANAGER
from quanwang.campaigns.models import Campaign, EarlyWarning, Quota
from quanwang.campaigns.services.access import ancestor_paths, viewing_units
from quanwang.campaigns.services.evaluating import evaluation_table
from quanwang.campaigns.tasks.scope import task_steps
from quanwang.channels.models import Store
from quanwang.core.choices import OrgLevel
from quanwang.core.models import OrgUnit, Staff


@dataclass(frozen=True)
class WarningThresholds:
    """Early warning (预警): from `from_elapsed` of the window on, a unit below `below_pace` of
    its expected pace is flagged."""

    from_elapsed: float = 0.5
    below_pace: float = 0.6

    @property
    def from_elapsed_percent(self) -> str:
        return f"{self.from_elapsed:.0%}"

    @property
    def below_pace_percent(self) -> str:
        return f"{self.below_pace:.0%}"


def warning_thresholds() -> WarningThresholds:
    """The thresholds of settings.QUANWANG_EARLY_WARNING, checked: a typo or an out-of-range
    value stops the first page or command that reads them, loudly."""
    given = getattr(settings, "QUANWANG_EARLY_WARNING", None) or {}
    if not isinstance(given, dict):
        raise ImproperlyConfigured(
            "QUANWANG_EARLY_WARNING: expected a JSON object such as "
            '{"from_elapsed": 0.5, "below_pace": 0.6}'
        )
    unknown = sorted(set(given) - {"from_elapsed", "below_pace"})
    if unknown:
        raise ImproperlyConfigured(
            f"QUANWANG_EARLY_WARNING: unknown keys {unknown} (use from_elapsed, below_pace)"
        )
    for key, value in given.items():
        # bool is an int to Python, but a flag where a share belongs is a mistake.
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ImproperlyConfigured(
                f"QUANWANG_EARLY_WARNING {key}: expected a number, got {value!r}"
            )
    thresholds = WarningThresholds(**{k: float(v) for k, v in given.items()})
    if not 0.0 <= thresholds.from_elapsed <= 1.0:
        raise ImproperlyConfigured(
            "QUANWANG_EARLY_WARNING from_elapsed: a share of the window between 0 and 1, "
            f"got {thresholds.from_elapsed}"
        )
    if not 0.0 < thresholds.below_pace <= 1.0:
        raise ImproperlyConfigured(
            "QUANWANG_EARLY_WARNING below_pace: a share of the expected pace above 0 and at "
            f"most 1, got {thresholds.below_pace}"
        )
    return thresholds


@dataclass(frozen=True)
class UnitProgress:
    unit: OrgUnit
    audience: int
    target: int
    contacted: int
    responders: int
    expected_by_now: float
    pace: float | None  # responders ÷ expected by now
    behind: bool
    #: The account manager whose quota this is (held at `unit`, their org unit); None for a
    #: grid's quota.
    account_manager: Staff | None = None
    #: The store whose quota this is (held at `unit`, its grid; campaigns.store_quotas).
    store: Store | None = None


@dataclass(frozen=True)
class Tally:
    """Treated customers, those contacted, and the takers among them."""

    treated: int = 0
    contacted: int = 0
    responders: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            treated=self.treated + other.treated,
            contacted=self.contacted + other.contacted,
            responders=self.responders + other.responders,
        )


@dataclass(frozen=True)
class ProgressRow:
    """One row of the roll-up: a unit (or an account manager) with its quota, held there or
    added up from the rows below, against what was achieved and what the time elapsed asks."""

    unit: OrgUnit
    #: Indentation under the first row the reader sees (0: one of their own units).
    depth: int
    audience: int
    contacted: int
    responders: int
    #: Takers asked for; None where no quota is held at or below the row (a grid of a
    #: campaign split by county).
    target: int | None
    expected_by_now: float | None
    pace: float | None
    behind: bool
    deadline: dt.date | None
    #: Whether the quota is set at this row; else it adds up the rows below.
    holds_quota: bool
    #: Share of the window elapsed on the day read (0 to 1).
    elapsed: float
    account_manager: Staff | None = None
    #: The row's latest early warning (only a row holding a quota is warned; a store's row is
    #: its grid manager's to follow, not warned on its own).
    warning: EarlyWarning | None = None
    store: Store | None = None

    @property
    def achieved_share(self) -> float | None:
        """Takers ÷ quota, capped at 1 (the bar's length); None without a quota."""
        if not self.target:
            return None
        return min(self.responders / self.target, 1.0)

    @property
    def achieved_width(self) -> str:
        """The bar's length as a CSS width (a string: a float would be localised)."""
        return f"{(self.achieved_share or 0.0) * 100:.1f}%"

    @property
    def expected_width(self) -> str:
        """Where the expected-by-now mark sits on the bar, as a CSS offset."""
        return f"{self.elapsed * 100:.1f}%"


@dataclass(frozen=True)
class CampaignProgress:
    """What the campaign page shows of the execution: the quotas in the reader's reach, the
    roll-up tree, and the day's position in the window."""

    quotas: list[UnitProgress]
    tree: list[ProgressRow]
    elapsed: float
    day: dt.date


def elapsed_share(*, campaign: Campaign, day: dt.date) -> float:
    """The share of the campaign's window elapsed on `day`, between 0 and 1."""
    span = max((campaign.ends_on - campaign.starts_on).days, 1)
    return min(max((day - campaign.starts_on).days / span, 0.0), 1.0)


#: A tally's key: (grid, None, store or None) for the customers of no account manager (the
#: store only where it holds a quota), (None, employee number, None) for an account manager's.
TallyKey = tuple[str | None, str | None, str | None]


def _tallies(campaign: Campaign, *, stores: bool = False) -> dict[TallyKey, Tally]:
    """Treated customers, those contacted and the treated takers, by `TallyKey`. With
    `stores` (the campaign was issued to stores), a customer on a store's task list counts
    for the store. Counted in Arrow: a DuckDB connection of its own would cost more than the
    counting."""
    table = evaluation_table(campaign=campaign)
    # Only a campaign split by account manager froze them with its customers.
    if ACCOUNT_MANAGER in pq.read_schema(campaign.audience_path).names:
        managers = pq.read_table(campaign.audience_path, columns=["subscriber_id", ACCOUNT_MANAGER])
        table = table.join(managers, "subscriber_id", join_type="left outer")
        manager = table[ACCOUNT_MANAGER]
    else:
        manager = pa.nulls(table.num_rows, pa.string())
    if stores:
        table = table.join(task_stores(campaign), "subscriber_id", join_type="left outer")
        store = pc.if_else(pc.is_null(manager), table["store_id"], pa.scalar(None, pa.string()))
    else:
        store = pa.nulls(table.num_rows, pa.string())
    treated = pc.equal(table["group"], str(Group.TREATED)).fill_null(False)
    counted = pa.table(
        {
            "grid": pc.if_else(pc.is_null(manager), table["grid_id"], pa.scalar(None, pa.string())),
            "manager": manager,
            "store": store,
            "treated": treated.cast(pa.int64()),
            "contacted": table["contacted"].fill_null(False).cast(pa.int64()),
            "responders": pc.and_(table["responded"].fill_null(False), treated).cast(pa.int64()),
        }
    )
    sums = counted.group_by(["grid", "manager", "store"]).aggregate(
        [("treated", "sum"), ("contacted", "sum"), ("responders", "sum")]
    )
    return {
        (row["grid"], row["manager"], row["store"]): Tally(
            int(row["treated_sum"]), int(row["contacted_sum"]), int(row["responders_sum"])
        )
        for row in sums.to_pylist()
    }


def task_stores(campaign: Campaign) -> pa.Table:
    """(subscriber_id, store_id): the store of each customer on the campaign's task lists
    (a customer on two task steps as on the first)."""
    plans = [
        pq.read_table(step.plan, columns=["subscriber_id", "store_id"]).cast(
            pa.schema([("subscriber_id", pa.string()), ("store_id", pa.string())])
        )
        for step in task_steps(campaign.pk)
    ]
    if not plans:
        return pa.table({"subscriber_id": pa.array([], pa.string()),
                         "store_id": pa.array([], pa.string())})  # fmt: skip
    if len(plans) == 1:  # a plan lists each customer once
        return plans[0]
    # In step order, the first row of each customer (a null store counts as found).
    firsts = (
        pa.concat_tables(plans)
        .group_by("subscriber_id", use_threads=False)
        .aggregate([("store_id", "first", pc.ScalarAggregateOptions(skip_nulls=False))])
    )
    return firsts.rename_columns(["subscriber_id", "store_id"])


@dataclass(eq=False)
class _Node:
    """A unit (or an account manager) of the roll-up while it is built."""

    unit: OrgUnit
    account_manager: Staff | None = None
    quota: Quota | None = None
    own: Tally = field(default_factory=Tally)
    children: list[_Node] = field(default_factory=list)
    store: Store | None = None

    def sort_key(self) -> tuple[bool, str, str]:
        manager = self.account_manager
        who = manager.employee_no if manager else self.store.store_id if self.store else ""
        return (manager is not None, self.unit.path, who)

    def total(self) -> Tally:
        tally = self.own
        for child in self.children:
            tally = tally + child.total()
        return tally

    def target(self) -> int | None:
        if self.quota is not None:
            return self.quota.target
        below = [t for t in (c.target() for c in self.children) if t is not None]
        return sum(below) if below else None

    def deadline(self) -> dt.date | None:
        if self.quota is not None:
            return self.quota.deadline
        below = [d for d in (c.deadline() for c in self.children) if d is not None]
        return max(below) if below else None


def _build(*, campaign: Campaign, quotas: list[Quota], tallies: dict[TallyKey, Tally]) -> _Node:
    """The roll-up from the campaign's unit down to its grids (their stores under them) and
    account managers."""
    root_path = campaign.org_unit.path
    grid_codes = sorted({g for g, m, _s in tallies if m is None and g})
    grids = {
        u.code: u
        for u in OrgUnit.objects.filter(
            level=OrgLevel.GRID, code__in=grid_codes, path__startswith=root_path
        )
    }
    for quota in quotas:  # a grid's quota whose customers left no row still shows
        if quota.account_manager is None and quota.org_unit.level == OrgLevel.GRID:
            grids.setdefault(quota.org_unit.code, quota.org_unit)
    held = {q.org_unit_id: q for q in quotas if q.account_manager is None and q.store is None}
    shops = [q for q in quotas if q.store is not None]
    quota_stores = {q.store.store_id for q in shops if q.store is not None}
    leaves = []
    for code, unit in grids.items():
        # The grid's own customers: those on no store's quota (a store without one counts
        # for its grid).
        own = sum(
            (t for (g, m, s), t in tallies.items() if g == code and m is None
             and s not in quota_stores),
            Tally(),
        )  # fmt: skip
        leaf = _Node(unit=unit, quota=held.get(unit.pk), own=own)
        leaf.children = [
            _Node(
                unit=q.org_unit,
                store=q.store,
                quota=q,
                own=tallies.get((code, None, q.store.store_id), Tally()),
            )
            for q in shops
            if q.org_unit_id == unit.pk and q.store is not None
        ]
        leaves.append(leaf)
    managed = [
        _Node(
            unit=q.org_unit,
            account_manager=q.account_manager,
            quota=q,
            own=tallies.get((None, q.account_manager.employee_no, None), Tally()),
        )
        for q in quotas
        if q.account_manager is not None
    ]
    # The units between the campaign's and the leaves (an account manager's own unit among
    # them), each once.
    wanted = {
        path
        for node in leaves + managed
        if node.unit.path.startswith(root_path)
        for path in [*ancestor_paths(node.unit.path), node.unit.path]
        if path.startswith(root_path)
    } - {u.path for u in grids.values()}
    nodes = {root_path: _Node(unit=campaign.org_unit, quota=held.get(campaign.org_unit_id))}
    for unit in OrgUnit.objects.filter(path__in=wanted - {root_path}):
        nodes[unit.path] = _Node(unit=unit, quota=held.get(unit.pk))
    for path, node in sorted(nodes.items(), key=lambda item: len(item[0]), reverse=True):
        if path != root_path:
            _parent_of(nodes, path, root_path).children.append(node)
    by_path = dict(nodes)
    for leaf in leaves:
        if leaf.unit.path == root_path:  # a grid's own campaign: the grid is the root
            nodes[root_path].own = leaf.own
            nodes[root_path].children.extend(leaf.children)
            continue
        by_path[leaf.unit.path] = leaf
        _parent_of(nodes, leaf.unit.path, root_path).children.append(leaf)
    for node in managed:  # under their own unit's row
        by_path.get(node.unit.path, nodes[root_path]).children.append(node)
    return nodes[root_path]


def _parent_of(nodes: dict[str, _Node], path: str, root_path: str) -> _Node:
    """The nearest row above `path`: its parent unit's, else the campaign's."""
    for above in reversed(ancestor_paths(path)):
        if above in nodes:
            return nodes[above]
    return nodes[root_path]


def _rows(
    root: _Node,
    *,
    elapsed: float,
    limits: WarningThresholds,
    scope: list[str] | None,
    warnings: dict[tuple[int, int | None], EarlyWarning],
) -> list[ProgressRow]:
    """The tree depth first, narrowed to the rows within `scope` (None: every row)."""
    rows: list[ProgressRow] = []

    def visit(node: _Node, depth: int) -> None:
        shown = scope is None or any(node.unit.path.startswith(p) for p in scope)
        if shown:
            tally, target = node.total(), node.target()
            expected = None if target is None else target * elapsed
            pace = tally.responders / expected if expected else None
            manager_id = node.account_manager.pk if node.account_manager else None
            warned = node.quota is not None and node.store is None
            rows.append(
                ProgressRow(
                    unit=node.unit,
                    depth=depth,
                    audience=tally.treated,
                    contacted=tally.contacted,
                    responders=tally.responders,
                    target=target,
                    expected_by_now=None if expected is None else round(expected, 1),
                    pace=None if pace is None else round(pace, 2),
                    behind=elapsed >= limits.from_elapsed
                    and pace is not None
                    and pace < limits.below_pace,
                    deadline=node.deadline(),
                    holds_quota=node.quota is not None,
                    elapsed=elapsed,
                    account_manager=node.account_manager,
                    warning=warnings.get((node.unit.pk, manager_id)) if warned else None,
                    store=node.store,
                )
            )
        for child in sorted(node.children, key=_Node.sort_key):
            visit(child, depth + 1 if shown else depth)

    visit(root, 0)
    return rows


def _latest_warnings(campaign: Campaign) -> dict[tuple[int, int | None], EarlyWarning]:
    newest: dict[tuple[int, int | None], EarlyWarning] = {}
    for warning in EarlyWarning.objects.filter(campaign=campaign).order_by("-day", "-pk"):
        newest.setdefault((warning.org_unit_id, warning.account_manager_id), warning)
    return newest


def campaign_progress(
    *, campaign: Campaign, user: Any, today: dt.date | None = None
) -> CampaignProgress | None:
    """The campaign's execution as `user` may read it (None: everything): the quotas held in
    their units, and the roll-up of their units. None before the campaign is issued."""
    quotas = list(
        Quota.objects.filter(campaign=campaign).select_related(
            "org_unit", "account_manager", "store"
        )
    )
    # A frozen audience lost from disk (a restore without the var dir) leaves the page without
    # its progress, not failing.
    if not quotas or not campaign.audience_path or not Path(campaign.audience_path).is_file():
        return None
    limits = warning_thresholds()
    day = today or timezone.localdate()
    elapsed = elapsed_share(campaign=campaign, day=day)
    tallies = _tallies(campaign, stores=any(q.store_id is not None for q in quotas))
    root = _build(campaign=campaign, quotas=quotas, tallies=tallies)
    scope = viewing_units(user)
    everything = _rows(root, elapsed=elapsed, limits=limits, scope=None, warnings={})
    held = {
        (
            row.unit.pk,
            row.account_manager.pk if row.account_manager else None,
            row.store.pk if row.store else None,
        ): row
        for row in everything
        if row.holds_quota
    }
    in_reach = [
        q for q in quotas if scope is None or any(q.org_unit.path.startswith(p) for p in scope)
    ]
    return CampaignProgress(
        quotas=[
            _unit_progress(q, held.get((q.org_unit_id, q.account_manager_id, q.store_id)))
            for q in in_reach
        ],
        tree=_rows(
            root,
            elapsed=elapsed,
            limits=limits,
            scope=scope,
            warnings=_latest_warnings(campaign),
        ),
        elapsed=elapsed,
        day=day,
    )


def _unit_progress(quota: Quota, row: ProgressRow | None) -> UnitProgress:
    """A quota's progress, from its row of the tree (none for a quota held outside the
    campaign's unit, which issuing never sets: nothing counted)."""
    return UnitProgress(
        unit=quota.org_unit,
        audience=quota.audience,
        target=quota.target,
        contacted=row.contacted if row else 0,
        responders=row.responders if row else 0,
        expected_by_now=(row.expected_by_now or 0.0) if row else 0.0,
        pace=row.pace if row else None,
        behind=row.behind if row else False,
        account_manager=quota.account_manager,
        store=quota.store,
    )


def execution_progress(*, campaign: Campaign, today: dt.date | None = None) -> list[UnitProgress]:
    """Each quota's unit (or account manager) against its target and the time elapsed, with
    early warnings. An account manager's customers count for them, not for their grid; a
    county's quota counts the customers of its grids."""
    progress = campaign_progress(campaign=campaign, user=None, today=today)
    return progress.quotas if progress is not None else []


@dataclass(frozen=True)
class ScopeQuota:
    """A reader's own quota of a campaign: what their unit is asked for (held there, added up
    from their units below, or the county's quota that covers their grid) and by when."""

    unit: OrgUnit
    audience: int
    target: int
    deadline: dt.date
    #: Whether it is the quota of a unit above theirs that covers them (a county's quota,
    #: shared out by its county manager).
    shared: bool


def scope_quotas(*, user: Any, campaigns: list[Campaign]) -> dict[int, list[ScopeQuota]]:
    """Each campaign's quotas as seen from `user`'s units (the campaign list): per unit where
    they hold a VIEW grant, the sum of the quotas in its subtree, else the quota held over it;
    for the system and superusers, the campaign's total. Added up by the database, a query per
    unit; no achievement: that needs the frozen audience, read on the campaign's own page."""
    if not campaigns:
        return {}
    scope = viewing_units(user)
    found: dict[int, list[ScopeQuota]] = {}
    if scope is None:
        by_unit = {c.pk: c.org_unit for c in campaigns}
        # A store's quota is a share of its grid's: not added again.
        for row in _sums(Quota.objects.filter(campaign__in=campaigns, store__isnull=True)):
            found[row["campaign_id"]] = [_scope_quota(by_unit[row["campaign_id"]], row)]
        return found
    units = {u.path: u for u in OrgUnit.objects.filter(path__in=scope)}
    for path in scope:
        if path not in units:
            continue
        below: set[int] = set()
        for row in _sums(
            Quota.objects.filter(
                campaign__in=campaigns, org_unit__path__startswith=path, store__isnull=True
            )
        ):
            below.add(row["campaign_id"])
            found.setdefault(row["campaign_id"], []).append(_scope_quota(units[path], row))
        # A quota held over the unit (a county's, for its grids), the nearest first.
        over = (
            Quota.objects.filter(
                campaign__in=campaigns,
                org_unit__path__in=ancestor_paths(path),
                account_manager__isnull=True,
                store__isnull=True,
            )
            .exclude(campaign_id__in=below)
            .select_related("org_unit")
            .order_by("campaign_id", "-org_unit__path")
        )
        shared: set[int] = set()
        for quota in over:
            if quota.campaign_id in shared:
                continue
            shared.add(quota.campaign_id)
            found.setdefault(quota.campaign_id, []).append(
                ScopeQuota(
                    unit=quota.org_unit,
                    audience=quota.audience,
                    target=quota.target,
                    deadline=quota.deadline,
                    shared=True,
                )
            )
    return found


def _sums(quotas: QuerySet[Quota]) -> Any:
    return (
        quotas.values("campaign_id")
        .annotate(audience=Sum("audience"), target=Sum("target"), deadline=Max("deadline"))
        .order_by("campaign_id")
    )


def _scope_quota(unit: OrgUnit, row: dict[str, Any]) -> ScopeQuota:
    return ScopeQuota(
        unit=unit,
        audience=int(row["audience"]),
        target=int(row["target"]),
        deadline=row["deadline"],
        shared=False,
    )
