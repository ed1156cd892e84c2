"""Early warnings (预警) for targets behind pace, with the campaigns' mechanism
(campaigns.warnings): at most one a day per target (a unique row), sent to the managers of the
target's unit by level (MANAGER_ROLES, falling back up the tree) or, for a staff member's own
target, to them; by SMS when a gateway is configured (after the commit), else shown in the
console. Idempotent: a second run the same day adds no row and sends nothing already sent, each
message keyed "target-warning-<id>:user-<id>"."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from quanwang.campaigns.choices import WarningDelivery
from quanwang.campaigns.warnings import deliver_record, recipients, unsent
from quanwang.performance.actuals.store import ActualsVersion, current
from quanwang.performance.choices import PeriodKind
from quanwang.performance.models.targets import Target, TargetWarning
from quanwang.performance.periods import period_of
from quanwang.performance.targets import kpis
from quanwang.performance.targets.progress import attainment_table

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Raised:
    warning: TargetWarning
    #: False when the day's warning for the target already existed (a second run).
    created: bool


def raise_target_warnings(
    *, today: dt.date | None = None, version: ActualsVersion | None = None
) -> list[Raised]:
    """One warning per target of the open periods behind pace on `today` (the business day by
    default), sent after the commit."""
    version = version or current()
    if version is None:
        return []
    day = today or version.as_of
    behind: list[tuple[int, float, float, float]] = []
    for kind in PeriodKind:
        table = attainment_table(period=period_of(kind, day).code, on=day, version=version)
        rows = (
            table.filter(table.column("behind"))
            .select(["target_id", "pace", "actual", "expected"])
            .to_pylist()
        )
        behind += [(r["target_id"], r["pace"], r["actual"], r["expected"]) for r in rows]
    if not behind:
        return []
    targets = Target.objects.select_related("org_unit", "staff", "staff__user", "staff__org_unit")
    found = targets.in_bulk([b[0] for b in behind])
    raised = []
    with transaction.atomic():
        for target_id, pace, actual, expected in sorted(behind):
            target = found[target_id]
            warning, created = TargetWarning.objects.get_or_create(
                target=target,
                day=day,
                defaults={
                    "pace": pace,
                    "actual": actual,
                    "expected": expected,
                    # Called only when the row is created: a second run asks nobody.
                    "delivered": partial(recipients, unit=target.org_unit, staff=target.staff),
                    "delivery": WarningDelivery.CONSOLE,
                },
            )
            raised.append(Raised(warning=warning, created=created))
            if created:
                logger.info("%s", warning_text(warning))
            if unsent(warning):
                transaction.on_commit(partial(deliver, warning_id=warning.pk))
    return raised


def deliver(*, warning_id: int) -> TargetWarning:
    delivered: TargetWarning = deliver_record(
        model=TargetWarning,
        pk=warning_id,
        step=f"target-warning-{warning_id}",
        text=warning_text,
    )
    return delivered


def warning_text(warning: TargetWarning) -> str:
    """The warning as its recipient reads it, in the deployment's language (Chinese)."""
    target = Target.objects.select_related("org_unit", "staff").get(pk=warning.target_id)
    definition = kpis.find(target.kpi)
    with translation.override(settings.LANGUAGE_CODE):
        who = target.staff.name if target.staff is not None else target.org_unit.name
        return _(
            "Target warning: %(who)s is behind pace on %(kpi)s for %(period)s on %(day)s: "
            "%(actual)s so far against %(expected)s expected by now (pace %(pace)s)."
        ) % {
            "who": who,
            "kpi": definition.name if definition else target.kpi,
            "period": target.period,
            "day": warning.day.isoformat(),
            "actual": f"{warning.actual:g}",
            "expected": f"{warning.expected:g}",
            "pace": f"{warning.pace:.0%}",
        }
