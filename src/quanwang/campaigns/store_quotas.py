"""Issuing a campaign to stores (下发到网点): a share of a grid's quota, store by store.

Issuing sets quotas per grid (or per county: issuing.split_quotas). Those who work the task
lists of a grid (CAMPAIGN_TASK CHANGE over it, through a subtree grant) then issue the
campaign to the grid's stores: each store quota names the store, how many of its grid's
treated customers go on the store's task list (`audience`), how many takers are expected of it
(`target`) and by when. The store's org unit (its grid) holds the quota row.

The rules (`issue_to_stores`):
- the store quotas under one quota (the nearest held at or above the stores' grids: the
  grid's, or the county's in a campaign split by county) add up to at most its customers and
  its takers, and the store quotas of one grid to at most the grid's treated customers (an
  account manager's customers are theirs, never a store's): over-allocating is refused,
  naming the store, the quota and the figures;
- two issuers at once cannot over-allocate together: the campaign row, then the quotas that
  hold the stores, are locked in one fixed order (the quotas by their unit's path) before the
  sums are read, so the second waits for the first and reads its shares;
- store quotas are set while the campaign is issued or running and before its first task
  step is planned: from then on the task lists are made (dispatch deals each grid's customers
  to its stores by these quotas) and the shares are fixed;
- a store given 0 customers and 0 takers loses its quota.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from quanwang.campaigns.choices import CampaignState
from quanwang.campaigns.issuing import ACCOUNT_MANAGER
from quanwang.campaigns.models import Campaign, CampaignEvent, Quota
from quanwang.campaigns.services.access import ancestor_paths, visible
from quanwang.campaigns.tasks.scope import OPEN_STATES, task_steps
from quanwang.channels.models import Store
from quanwang.core.choices import Action, OrgLevel, Reach, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import OrgUnit
from quanwang.core.services.orgs import units_granting
from quanwang.data.warehouse import sql_literal

#: Columns of the store quotas handed to dispatch (`dispatch._store_spread`).
STORE_QUOTA_SCHEMA = pa.schema(
    [("grid_id", pa.string()), ("store_id", pa.string()), ("audience", pa.int64())]
)


@dataclass(frozen=True, kw_only=True)
class StoreShare:
    """One store's share of a campaign, as an issuer asks for it."""

    store_id: str  # the store's code (网点编码)
    audience: int  # customers of its grid to put on its task list
    target: int  # takers expected of it
    deadline: dt.date | None = None  # None: the deadline of the quota it is a share of


def stores_in_reach(*, user: Any, campaign: Campaign) -> Any:
    """The active stores of the campaign's grids that `user` may issue it to: in their store
    file (Store.objects.restrict) and in a grid where their subtree grants work the tasks."""
    stores = Store.objects.filter(
        active=True,
        org_unit__level=OrgLevel.GRID,
        org_unit__path__startswith=campaign.org_unit.path,
    ).select_related("org_unit")
    if user is None:
        return stores
    units = units_granting(
        user=user, resource=Resource.CAMPAIGN_TASK, action=Action.CHANGE, only=Reach.SUBTREE
    )
    return stores.filter(
        pk__in=Store.objects.restrict(user, Action.VIEW).values("pk"), org_unit__in=units
    )


def may_issue_to_stores(*, user: Any, campaign: Campaign) -> bool:
    """Whether the campaign page offers `user` the store quota form now."""
    return (
        campaign.state in OPEN_STATES
        and bool(campaign.audience_path)
        and not task_steps(campaign.pk)
        and stores_in_reach(user=user, campaign=campaign).exists()
    )


def _holder_of(grid: OrgUnit, holders: dict[str, Quota]) -> Quota | None:
    """The nearest quota held at or above `grid` (`holders` by their unit's path)."""
    for path in [grid.path, *reversed(ancestor_paths(grid.path))]:
        if path in holders:
            return holders[path]
    return None


def treated_by_grid(campaign: Campaign) -> dict[str, int]:
    """grid code → the campaign's treated customers of that grid who are no account manager's
    (those a store's task list can take)."""
    names = pq.read_schema(campaign.audience_path).names
    mine = f" AND {ACCOUNT_MANAGER} IS NULL" if ACCOUNT_MANAGER in names else ""
    # A connection of its own: the module's default one refuses a second thread meanwhile.
    con = duckdb.connect()
    try:
        rows = con.execute(
            f"SELECT grid_id, count(*) FROM read_parquet({sql_literal(campaign.audience_path)}) "
            f"WHERE NOT in_control AND grid_id IS NOT NULL{mine} GROUP BY 1"
        ).fetchall()
    finally:
        con.close()
    return {str(grid): int(n) for grid, n in rows}


def _checked_shares(shares: Sequence[StoreShare]) -> list[StoreShare]:
    seen: set[str] = set()
    for share in shares:
        code = share.store_id
        if code in seen:
            raise ServiceError(
                _("Store %(store)s is given twice: give each store one share.") % {"store": code},
                field="store",
            )
        seen.add(code)
        if share.audience < 0 or share.target < 0:
            raise ServiceError(
                _("Store %(store)s: customers and takers cannot be negative.") % {"store": code},
                field="audience" if share.audience < 0 else "target",
            )
        if share.target > share.audience:
            raise ServiceError(
                _(
                    "Store %(store)s: %(target)d takers expected of %(audience)d customers; "
                    "a store cannot be asked for more takers than customers."
                )
                % {"store": code, "target": share.target, "audience": share.audience},
                field="target",
            )
    return list(shares)


def _stores(*, actor: Any, campaign: Campaign, codes: list[str]) -> dict[str, Store]:
    found = {s.store_id: s for s in stores_in_reach(user=actor, campaign=campaign).filter(
        store_id__in=codes
    )}  # fmt: skip
    for code in codes:
        if code not in found:
            raise ServiceError(
                _(
                    "Store %(store)s is not one of the active stores of this campaign's grids "
                    "whose tasks you work."
                )
                % {"store": code},
                field="store",
            )
    return found


def issue_to_stores(*, actor: Any, campaign_id: int, shares: Sequence[StoreShare]) -> list[Quota]:
    """Set the store quotas `shares` of an issued campaign (the module says the rules); the
    campaign's other store quotas stay. Returns the store quotas now held by those stores."""
    campaign = visible(actor).filter(pk=campaign_id).select_related("org_unit").first()
    if campaign is None:
        raise NotFound()
    chosen = _checked_shares(shares)
    if not chosen:
        raise ServiceError(_("Name at least one store."), field="store")
    stores = _stores(actor=actor, campaign=campaign, codes=[s.store_id for s in chosen])
    # Read outside the lock (a file): the frozen audience never changes once issued.
    treated = treated_by_grid(campaign) if campaign.audience_path else {}
    with transaction.atomic():
        # The campaign first, then the quotas by their unit's path: every issuer takes the
        # locks in this one order, so two never wait on each other.
        locked = Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
        if locked is None:
            raise NotFound()
        _check_open(locked)
        held = list(
            Quota.objects.select_for_update()
            .filter(campaign=locked, account_manager__isnull=True, store__isnull=True)
            .select_related("org_unit")
            .order_by("org_unit__path", "pk")
        )
        holders = {q.org_unit.path: q for q in held}
        existing = {
            q.store.store_id: q
            for q in Quota.objects.filter(campaign=locked, store__isnull=False).select_related(
                "store", "org_unit"
            )
            if q.store is not None
        }
        planned = _planned(existing, chosen, stores)
        _check_sums(planned=planned, holders=holders, treated=treated)
        changed = _save(locked, chosen=chosen, stores=stores, existing=existing, holders=holders)
        # Kept in the console's language, whoever issued: the history is read by everyone.
        with translation.override(settings.LANGUAGE_CODE):
            comment = _("Issued to stores: %(shares)s") % {
                "shares": "; ".join(f"{s.store_id} {s.audience}/{s.target}" for s in chosen)
            }
        CampaignEvent.objects.create(
            campaign=locked,
            from_state=locked.state,
            to_state=locked.state,
            actor=actor,
            comment=comment,
        )
    return changed


def _check_open(campaign: Campaign) -> None:
    if campaign.state not in OPEN_STATES or not campaign.audience_path:
        raise ServiceError(
            _("Only an issued or running campaign is issued to stores; this one is %(state)s.")
            % {"state": CampaignState(campaign.state).label}
        )
    steps = task_steps(campaign.pk)
    if steps:
        raise ServiceError(
            _(
                "The task lists are made (step %(step)s): the stores' shares are fixed from "
                "the first task step on."
            )
            % {"step": steps[0].step}
        )


@dataclass(frozen=True)
class _Planned:
    store: Store
    audience: int
    target: int


def _planned(
    existing: dict[str, Quota], chosen: list[StoreShare], stores: dict[str, Store]
) -> list[_Planned]:
    """Every store quota of the campaign as it would be: the existing ones, changed by
    `chosen`."""
    planned = {
        code: _Planned(store=q.store, audience=q.audience, target=q.target)
        for code, q in existing.items()
        if q.store is not None
    }
    for share in chosen:
        planned[share.store_id] = _Planned(
            store=stores[share.store_id], audience=share.audience, target=share.target
        )
    return [p for p in planned.values() if p.audience or p.target]


def _check_sums(
    *, planned: list[_Planned], holders: dict[str, Quota], treated: dict[str, int]
) -> None:
    by_holder: dict[int, tuple[Quota, list[_Planned]]] = {}
    by_grid: dict[str, list[_Planned]] = {}
    for share in sorted(planned, key=lambda p: p.store.store_id):
        grid = share.store.org_unit
        holder = _holder_of(grid, holders)
        if holder is None:
            raise ServiceError(
                _("Grid %(grid)s of store %(store)s holds no quota of this campaign.")
                % {"grid": grid.name, "store": share.store.store_id},
                field="store",
            )
        by_holder.setdefault(holder.pk, (holder, []))[1].append(share)
        by_grid.setdefault(grid.code, []).append(share)
    for holder, shares in by_holder.values():
        for measure, limit in (("audience", holder.audience), ("target", holder.target)):
            total = sum(getattr(s, measure) for s in shares)
            if total > limit:
                raise ServiceError(
                    _(
                        "Over-allocated: the stores under %(unit)s would get %(total)d "
                        "%(what)s (%(stores)s), more than its quota's %(limit)d."
                    )
                    % {
                        "unit": holder.org_unit.name,
                        "total": total,
                        "what": _("customers") if measure == "audience" else _("takers"),
                        "stores": ", ".join(
                            f"{s.store.store_id} {getattr(s, measure)}" for s in shares
                        ),
                        "limit": limit,
                    },
                    field=measure,
                )
    for code, shares in by_grid.items():
        total = sum(s.audience for s in shares)
        if total > treated.get(code, 0):
            raise ServiceError(
                _(
                    "Over-allocated: the stores of grid %(grid)s would get %(total)d customers, "
                    "and the grid has %(treated)d treated customers."
                )
                % {"grid": shares[0].store.org_unit.name, "total": total,
                   "treated": treated.get(code, 0)},
                field="audience",
            )  # fmt: skip


def _save(
    campaign: Campaign,
    *,
    chosen: list[StoreShare],
    stores: dict[str, Store],
    existing: dict[str, Quota],
    holders: dict[str, Quota],
) -> list[Quota]:
    saved = []
    for share in chosen:
        store = stores[share.store_id]
        current = existing.get(share.store_id)
        if share.audience == 0 and share.target == 0:
            if current is not None:
                current.delete()
            continue
        holder = _holder_of(store.org_unit, holders)
        assert holder is not None  # _check_sums refused a store without one
        deadline = share.deadline or holder.deadline
        if deadline > holder.deadline:
            raise ServiceError(
                _("Store %(store)s: its deadline %(day)s is after its quota's, %(limit)s.")
                % {"store": store.store_id, "day": deadline, "limit": holder.deadline},
                field="deadline",
            )
        if current is None:
            current = Quota(campaign=campaign, store=store)
        current.org_unit = store.org_unit
        current.audience = share.audience
        current.target = share.target
        current.deadline = deadline
        current.save()
        saved.append(current)
    return saved


def store_quota_table(*, campaign_id: int) -> pa.Table:
    """The campaign's store quotas as dispatch deals customers by them (`STORE_QUOTA_SCHEMA`:
    grid code, store code, customers)."""
    rows = list(
        Quota.objects.filter(campaign_id=campaign_id, store__isnull=False)
        .order_by("org_unit__code", "store__store_id")
        .values_list("org_unit__code", "store__store_id", "audience")
    )
    return pa.table(
        {
            "grid_id": pa.array([r[0] for r in rows], pa.string()),
            "store_id": pa.array([r[1] for r in rows], pa.string()),
            "audience": pa.array([r[2] for r in rows], pa.int64()),
        },
        schema=STORE_QUOTA_SCHEMA,
    )


def even_shares(
    *, campaign: Campaign, stores: Sequence[Store], take_rate: float, portion: float = 1.0
) -> list[StoreShare]:
    """`portion` of each grid's treated customers (rounded down) shared evenly (±1, the first
    stores by code get the extra ones) over the given stores of the grid, each asked for
    `take_rate` of its customers rounded down (so that the shares never add up to more than
    the quota, rounded up); the rest stay on the grid's own list."""
    treated = {g: math.floor(n * portion) for g, n in treated_by_grid(campaign).items()}
    by_grid: dict[str, list[Store]] = {}
    for store in sorted(stores, key=lambda s: s.store_id):
        by_grid.setdefault(store.org_unit.code, []).append(store)
    shares = []
    for code, grid_stores in by_grid.items():
        customers, count = treated.get(code, 0), len(grid_stores)
        for index, store in enumerate(grid_stores):
            audience = customers // count + (1 if index < customers % count else 0)
            shares.append(
                StoreShare(
                    store_id=store.store_id,
                    audience=audience,
                    target=min(audience, math.floor(audience * take_rate)),
                )
            )
    return shares
