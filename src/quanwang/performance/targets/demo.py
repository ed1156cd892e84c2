"""The demo operator's targets: the business day's quarter, set at the top unit by the demo
admin and decomposed down the tree, each decomposition rule shown once.

- Each KPI of `PLAN` is set at the root (last quarter's figure, or this quarter's run rate,
  plus growth), then decomposed: to the cities by last period's share, to the counties by
  customer base, to the grids by potential (the win-over pool), and each grid to the staff
  responsible for it (grid managers and the staff held there); the account KPI goes from the
  counties to their staff (account managers). Where a rule has no figures to share by (a
  small demo without last quarter, or without a win-over pool), the next rule that has some
  is used, down to an even manual split, so the demo always ends decomposed.
- Store targets: a grid with stores has its store-sales target decomposed over its stores
  by hand (Rule.MANUAL), so every rule appears once.
- One grid target is locked, and one is changed by hand with its reason (the difference goes
  to its unlocked siblings): the history page shows both.

Idempotent and resumable: a target already decomposed (its `rule` is set) is not decomposed
again, the top value is set only when missing, and the lock and the manual change are made
once. A second run changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count
from django.utils.translation import gettext as _

from quanwang.core.choices import OrgLevel
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import OrgUnit
from quanwang.core.terminal import system_actor
from quanwang.performance import periods
from quanwang.performance.actuals import reading
from quanwang.performance.choices import Aggregation, Grain, OverTime, PeriodKind
from quanwang.performance.kpis.definitions import KpiDefinition
from quanwang.performance.models.targets import Target, TargetChange
from quanwang.performance.targets import kpis
from quanwang.performance.targets.choices import Absorb, ChangeKind, Into, Rule
from quanwang.performance.targets.services import (
    candidates,
    change_target,
    decompose,
    set_locked,
    set_target,
)
from quanwang.performance.targets.services.common import rounded, step

Say = Callable[[str], None]

#: The demo admin login (quanwang.data.demo): the province sets the targets.
ADMIN_USERNAME = "admin"

#: Growth asked of the top over last quarter (flows and stocks) and, for a rate, points added.
GROWTH = Decimal("1.05")
RATE_POINTS = Decimal("0.02")

#: The rule tried first for the children at each level (cities, counties, grids, staff). The
#: others follow when it has nothing to share by.
LEVEL_RULES = {
    OrgLevel.CITY: Rule.LAST_SHARE,
    OrgLevel.COUNTY: Rule.CUSTOMER_BASE,
    OrgLevel.GRID: Rule.POTENTIAL,
}
STAFF_RULE = Rule.LAST_SHARE
#: What "potential" measures in the demo: the win-over pool's size (off-net numbers).
POTENTIAL_KPI = "winover_pool"

REASON_SET = "演示：省公司下达本季度目标"
REASON_SPLIT = "演示：逐级分解"
REASON_LOCK = "演示：已与网格签订目标责任书，锁定"
REASON_CHANGE = "演示：新商圈开业，上调该网格目标，差额由同县其他网格分摊"
REASON_STORES = "演示：按门店面积手工分配"


@dataclass(frozen=True)
class Plan:
    """One KPI the demo sets: whom it reaches (units down to the grids and their staff, or to
    the counties and their staff), and whether the grids' stores get a share."""

    kpi: str
    to_grid_staff: bool = True
    to_county_staff: bool = False
    to_stores: bool = False


PLAN = (
    Plan("revenue"),
    Plan("net_adds"),
    Plan("penetration_5g"),
    Plan("store_sales", to_grid_staff=False, to_stores=True),
    Plan("account_revenue", to_grid_staff=False, to_county_staff=True),
)


def _name(code: str) -> str:
    """The KPI's Chinese name for the demo's messages (its code when unknown)."""
    found = kpis.find(code)
    return str(found.name) if found is not None else code


def _admin() -> Any:
    found = get_user_model().objects.filter(username=ADMIN_USERNAME, is_active=True).first()
    return found if found is not None else system_actor()


def _root() -> OrgUnit | None:
    return OrgUnit.objects.filter(parent__isnull=True).order_by("path").first()


def _top_value(
    definition: KpiDefinition, *, root: str, quarter: periods.Period, today: dt.date
) -> Decimal | None:
    """The root's target: last quarter's figure grown, or (no last quarter) this quarter's so
    far run to the quarter's end, grown; a rate gets a few points more, held at most 1."""
    last = reading.figure(
        kpi=definition.code, grain=Grain.ORG_UNIT, key=root, period=quarter.previous().code
    )
    now = reading.figure(kpi=definition.code, grain=Grain.ORG_UNIT, key=root, period=quarter.code)
    if definition.aggregation is Aggregation.RATIO:
        seen = now if now is not None and now.value is not None else last
        if seen is None or seen.value is None:
            return None
        return rounded(min(Decimal(1), Decimal(str(seen.value)) + RATE_POINTS), definition)
    if last is not None and last.value:
        base = Decimal(str(last.value))
    elif now is not None and now.value:
        base = Decimal(str(now.value))
        if definition.over_time is OverTime.FLOW:
            base /= Decimal(str(max(quarter.elapsed_share(today), 0.01)))
    else:
        return None
    value = rounded(abs(base) * GROWTH, definition)
    return value if value > 0 else None


def _split(parent: Target, *, into: Into, first: Rule, by: Any, say: Say) -> list[Target]:
    """Decompose `parent` over `into` (once: an already decomposed target keeps its children),
    `first` tried first, then the other rules, then an even manual split."""
    if parent.rule:
        return list(parent.children.order_by("key"))
    order = [
        first,
        *[r for r in (Rule.LAST_SHARE, Rule.CUSTOMER_BASE, Rule.POTENTIAL) if r != first],
    ]
    for rule in order:
        try:
            return decompose(
                parent=parent,
                rule=rule,
                into=into,
                by=by,
                reason=REASON_SPLIT,
                basis_kpi=POTENTIAL_KPI if rule is Rule.POTENTIAL else None,
            )
        except ServiceError as refused:
            if refused.field == "into":
                say(_("targets: %(target)s not decomposed: %(why)s")
                    % {"target": parent, "why": refused.message})  # fmt: skip
                return []
            continue  # no figures to share by: the next rule
    return _even(parent, into=into, by=by, reason=REASON_SPLIT)


def _even(parent: Target, *, into: Into, by: Any, reason: str) -> list[Target]:
    """An even manual split (the last resort, and the stores' rule): equal shares, the
    remainder on the first children, so a sum adds up exactly."""
    holders = candidates(parent=parent, into=into)
    definition = kpis.definition(parent.kpi)
    if definition.aggregation is Aggregation.RATIO:
        values = [parent.value] * len(holders)
    else:
        unit = step(definition)
        each = (parent.value / len(holders) / unit).to_integral_value(ROUND_FLOOR) * unit
        values = [each] * len(holders)
        left = parent.value - each * len(holders)
        index = 0
        while left >= unit:
            values[index % len(values)] += unit
            left -= unit
            index += 1
    manual = {h.key: f"{v:f}" for h, v in zip(holders, values, strict=True)}
    try:
        return decompose(
            parent=parent, rule=Rule.MANUAL, into=into, by=by, reason=reason, manual=manual
        )
    except ServiceError:
        return []


def _kpi_targets(
    plan: Plan,
    *,
    root: OrgUnit,
    quarter: periods.Period,
    today: dt.date,
    store_grid: int | None,
    by: Any,
    say: Say,
) -> int:
    """Set and decompose one KPI; how many of its targets exist afterwards."""
    try:
        definition = kpis.targetable(plan.kpi, grain=Grain.ORG_UNIT)
    except ServiceError as refused:
        say(
            _("targets: %(kpi)s skipped: %(why)s")
            % {"kpi": _name(plan.kpi), "why": refused.message}
        )
        return 0
    top = Target.objects.filter(
        kpi=plan.kpi, period=quarter.code, grain=Grain.ORG_UNIT, key=root.code
    ).first()
    if top is None:
        value = _top_value(definition, root=root.code, quarter=quarter, today=today)
        if value is None:
            say(_("targets: %(kpi)s skipped: no figures to set it from") % {"kpi": _name(plan.kpi)})
            return 0
        top = set_target(
            kpi=plan.kpi, period=quarter.code, grain=Grain.ORG_UNIT, key=root.code, value=value,
            deadline=None, by=by, reason=REASON_SET,
        )  # fmt: skip
    level = [top]
    while level:
        below: list[Target] = []
        for parent in level:
            unit = parent.org_unit
            if unit.level == OrgLevel.GRID:
                if plan.to_grid_staff:
                    _split(parent, into=Into.STAFF, first=STAFF_RULE, by=by, say=say)
                elif plan.to_stores and unit.pk == store_grid:
                    _stores(parent, by=by)
                continue
            if unit.level == OrgLevel.COUNTY and plan.to_county_staff:
                _split(parent, into=Into.STAFF, first=STAFF_RULE, by=by, say=say)
                continue
            child_level = OrgUnit.objects.filter(parent=unit).values_list("level", flat=True)
            rule = LEVEL_RULES.get(OrgLevel(child_level.first() or OrgLevel.GRID), Rule.LAST_SHARE)
            below += [c for c in _split(parent, into=Into.UNITS, first=rule, by=by, say=say)
                      if c.grain == Grain.ORG_UNIT]  # fmt: skip
        level = below
    return Target.objects.filter(kpi=plan.kpi, period=quarter.code).count()


def _store_grid() -> int | None:
    """The grid (by code) with the most active stores: its store-sales target goes to them."""
    from quanwang.channels.models import Store

    first = (
        Store.objects.filter(active=True, org_unit__level=OrgLevel.GRID)
        .values("org_unit_id", "org_unit__code")
        .annotate(n=Count("pk"))
        .order_by("-n", "org_unit__code")
        .first()
    )
    return first["org_unit_id"] if first else None


def _stores(parent: Target, *, by: Any) -> None:
    if parent.rule:
        return
    try:
        _even(parent, into=Into.STORES, by=by, reason=REASON_STORES)
    except ServiceError:
        return  # no stores after all


def _lock_and_change(*, quarter: periods.Period, by: Any, say: Say) -> None:
    """Lock one grid's revenue target and change another's by hand, once each."""
    grids = list(
        Target.objects.filter(
            kpi="revenue", period=quarter.code, grain=Grain.ORG_UNIT,
            org_unit__level=OrgLevel.GRID, parent__isnull=False,
        ).select_related("org_unit").order_by("parent_id", "key")
    )  # fmt: skip
    families: dict[int, list[Target]] = {}
    for grid in grids:
        families.setdefault(grid.parent_id or 0, []).append(grid)
    # The lock in the first county with two grids or more; the change in another such county
    # (or the same one when it has a third grid to take the difference).
    roomy = [f for f in families.values() if len(f) >= 2]
    if not roomy:
        return
    if not Target.objects.filter(kpi="revenue", period=quarter.code, locked=True).exists():
        set_locked(target=roomy[0][0], locked=True, by=by, reason=REASON_LOCK)
    if TargetChange.objects.filter(
        target__kpi="revenue", target__period=quarter.code, kind=ChangeKind.CHANGED
    ).exists():
        return
    family = roomy[1] if len(roomy) > 1 else roomy[0]
    changed = next(t for t in reversed(family) if not t.locked)
    changed.refresh_from_db()
    free = [t for t in family if t.pk != changed.pk and not t.locked]
    if not free:
        return
    room = sum((t.value for t in free), Decimal(0))
    raise_by = rounded(min(changed.value * Decimal("0.1"), room / 2), kpis.definition("revenue"))
    if raise_by <= 0:
        return
    try:
        change_target(
            target=changed, value=changed.value + raise_by, absorb=Absorb.SIBLINGS, by=by,
            reason=REASON_CHANGE, expected_before=changed.value,
        )  # fmt: skip
    except (ServiceError, NotFound) as refused:
        say(_("targets: the manual change was refused: %(why)s") % {"why": str(refused)})


def build_targets_demo(*, say: Say) -> None:
    """The business day's quarter's targets (see the module); idempotent."""
    today = reading.business_day()
    root = _root()
    if today is None or root is None:
        say(_("targets: no actuals or no org tree yet, nothing set"))
        return
    quarter = periods.period_of(PeriodKind.QUARTER, today)
    by = _admin()
    store_grid = _store_grid()
    counts = {
        plan.kpi: _kpi_targets(
            plan, root=root, quarter=quarter, today=today, store_grid=store_grid, by=by, say=say
        )
        for plan in PLAN
    }
    _lock_and_change(quarter=quarter, by=by, say=say)
    say(
        _("targets of %(quarter)s: %(counts)s")
        % {
            "quarter": quarter.code,
            "counts": "、".join(f"{_name(k)} {n}" for k, n in counts.items() if n),
        }
    )
