"""Keeping the composite scores (province: LEADERBOARD CHANGE): weights per KPI, checked."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from quanwang.core.api_schema import clean_query
from quanwang.core.choices import Action, Resource
from quanwang.core.errors import ServiceError
from quanwang.core.models import OrgUnit
from quanwang.core.querysets import has_grant
from quanwang.performance.models.boards import CompositeScore

_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
NAME_LENGTH = CompositeScore._meta.get_field("name").max_length or 100


def check_weights(weights: Mapping[str, Any]) -> dict[str, float]:
    """The weights as numbers; ServiceError naming the field for an unknown KPI, a weight
    that is not a positive number, or no weight at all."""
    from quanwang.performance.targets.kpis import find

    checked: dict[str, float] = {}
    for kpi, weight in weights.items():
        if find(kpi) is None:
            raise ServiceError(_("There is no KPI “%(code)s”.") % {"code": kpi}, field="weights")
        try:
            number = float(weight)
        except (TypeError, ValueError):
            number = -1.0
        if not number > 0:
            raise ServiceError(
                _("The weight of “%(code)s” must be a positive number.") % {"code": kpi},
                field="weights",
            )
        checked[kpi] = number
    if not checked:
        raise ServiceError(_("Give at least one KPI a weight."), field="weights")
    return checked


def _new_code() -> str:
    """A code for a new composite (the console names composites by their names only)."""
    taken = set(CompositeScore.objects.values_list("code", flat=True))
    number = len(taken) + 1
    while f"score-{number}" in taken:
        number += 1
    return f"score-{number}"


def save_composite(
    *,
    user: Any | None,
    code: str | None,
    name: str,
    weights: Mapping[str, Any],
    active: bool = True,
) -> CompositeScore:
    """Create or change the composite `code` (idempotent: the same input twice leaves one
    record; None: the composite of that name, or a new one with a code made here). `user`
    None: the system (CLI, demo); otherwise LEADERBOARD CHANGE at the top."""
    # The name is checked before it is looked up: a NUL byte cannot even be compared in
    # PostgreSQL text.
    name = (clean_query(name, field="name") or "").strip()
    if not name:
        raise ServiceError(_("Give the composite score a name."), field="name")
    if len(name) > NAME_LENGTH:
        raise ServiceError(
            _("The name is at most %(limit)s characters.") % {"limit": NAME_LENGTH}, field="name"
        )
    if code is None:
        # A new one by name: the same form sent twice changes the first instead of adding two.
        same_name = CompositeScore.objects.filter(name=name).first()
        code = same_name.code if same_name is not None else _new_code()
    if not _CODE.match(code or ""):
        raise ServiceError(
            _("The code must be lower-case letters, digits, - or _ (at most 40)."), field="code"
        )
    checked = check_weights(weights)
    top = OrgUnit.objects.filter(parent__isnull=True).order_by("path").first()
    if top is None:
        raise ServiceError(_("There is no org unit yet."), field="code")
    if user is not None:
        allowed = has_grant(user, resource=Resource.LEADERBOARD, action=Action.CHANGE)
        kept = CompositeScore.objects.restrict(user, Action.CHANGE)
        if not allowed or (
            kept.filter(code=code).count() == 0
            and CompositeScore.objects.filter(code=code).exists()
        ):
            raise ServiceError(_("Only the province keeps the composite scores."), field="code")
        from quanwang.performance.access import reader

        if not reader(user, resource=Resource.LEADERBOARD, action=Action.CHANGE).reaches_unit(
            top.code
        ):
            raise ServiceError(_("Only the province keeps the composite scores."), field="code")
    with transaction.atomic():
        composite, _created = CompositeScore.objects.select_for_update().get_or_create(
            code=code,
            defaults={"name": name.strip(), "weights": checked, "org_unit": top, "active": active},
        )
        composite.name = name.strip()
        composite.weights = checked
        composite.active = active
        composite.updated_by = user if user is not None else None
        composite.save()
    return composite
