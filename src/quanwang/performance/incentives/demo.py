"""The demo operator's incentives (考核激励): one rule version per role kind (grid manager,
account manager, store clerk) from the business day's quarter's first day, the statements of
the last full month computed by the demo admin, and a few approved (frozen) by the city
marketer (nobody approves what they computed).

Idempotent: a role kind with a version already keeps it; a re-run of the month finds the same
lines (reported "unchanged") and leaves the approved ones frozen; approval happens once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

from quanwang.core.choices import Action
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.terminal import system_actor
from quanwang.performance import periods
from quanwang.performance.actuals import reading
from quanwang.performance.choices import PeriodKind
from quanwang.performance.incentives.choices import RoleKind, StatementStatus
from quanwang.performance.incentives.services import rules, statements
from quanwang.performance.models import IncentiveRuleSet, IncentiveStatement

Say = Callable[[str], None]

#: The demo logins (quanwang.data.demo): the province computes, the city approves.
COMPUTER = "admin"
APPROVER = "city_marketer"
#: How many statements the demo approves (the grid_manager login's among them when it has one).
APPROVED = 5
OWN_LOGIN = "grid_manager"

_TIERS = [
    {"from_attainment": "0", "multiplier": "0.8"},
    {"from_attainment": "0.8", "multiplier": "1.0"},
    {"from_attainment": "1.0", "multiplier": "1.1"},
    {"from_attainment": "1.2", "multiplier": "1.3"},
]

#: One rule body per role kind (services.schema.RuleBody; docs/performance/incentives.md).
RULES: dict[RoleKind, dict[str, Any]] = {
    RoleKind.GRID_MANAGER: {
        "piece_rates": [
            {"kpi": "new_5g_plans", "yuan_per_unit": "20"},
            {"kpi": "new_broadband", "yuan_per_unit": "30"},
        ],
        "team_share": "0.3",
        "tiers": _TIERS,
        "deductions": [{"kpi": "complaints", "yuan_per_unit": "50"}],
        "floor": "0",
        "cap": "8000",
    },
    RoleKind.ACCOUNT_MANAGER: {
        "piece_rates": [
            {"kpi": "opportunities_won", "yuan_per_unit": "300"},
            {"kpi": "account_revenue", "yuan_per_unit": "0.01"},
        ],
        "team_share": "0.2",
        "tiers": _TIERS,
        "deductions": [{"kpi": "complaints", "yuan_per_unit": "50"}],
        "floor": "0",
        "cap": "10000",
    },
    RoleKind.STORE_CLERK: {
        "piece_rates": [
            {"kpi": "store_units", "yuan_per_unit": "5"},
            {"kpi": "new_5g_plans", "yuan_per_unit": "10"},
        ],
        "team_share": "0.5",
        "tiers": _TIERS,
        "floor": "0",
        "cap": "5000",
    },
}

NOTES = {
    RoleKind.GRID_MANAGER: "演示：网格长计件+团队池，按达成率分档",
    RoleKind.ACCOUNT_MANAGER: "演示：客户经理按商机与集团收入计酬",
    RoleKind.STORE_CLERK: "演示：店员按销量计件，团队与个人各半",
}


def _user(username: str) -> Any:
    found = get_user_model().objects.filter(username=username, is_active=True).first()
    return found if found is not None else system_actor()


def last_full_month(day: dt.date) -> periods.Period:
    """The month `day` ends, else the month before it (a month paid is a month done)."""
    month = periods.period_of(PeriodKind.MONTH, day)
    return month if day >= month.end else month.previous()


def _rules(*, valid_from: dt.date, by: Any, say: Say) -> None:
    for kind, body in RULES.items():
        if IncentiveRuleSet.objects.filter(role_kind=kind).exists():
            continue  # kept as it is: the demo never adds a second version
        try:
            made = rules.add_version(
                actor=by, role_kind=kind, valid_from=valid_from, valid_until=None, rules=body,
                note=NOTES[kind],
            )  # fmt: skip
        except (ServiceError, NotFound) as refused:
            say(_("incentives: rules of %(kind)s refused: %(why)s")
                % {"kind": kind.label, "why": str(refused)})  # fmt: skip
            continue
        say(_("incentives: %(kind)s rules version %(n)d from %(day)s")
            % {"kind": kind.label, "n": made.version, "day": valid_from.isoformat()})  # fmt: skip


def _approve(*, month: str, by: Any, say: Say) -> None:
    mine = IncentiveStatement.objects.filter(month=month)
    if mine.filter(status=StatementStatus.APPROVED).exists():
        return  # approved once already
    computed = mine.filter(status=StatementStatus.COMPUTED).exclude(staff__user=by)
    by_pk = getattr(by, "pk", None)
    if by_pk is not None:
        computed = computed.exclude(computed_by=by)
    chosen = list(computed.filter(staff__user__username=OWN_LOGIN).values_list("pk", flat=True)[:1])
    chosen += [
        pk
        for pk in computed.order_by("staff__employee_no").values_list("pk", flat=True)[:APPROVED]
        if pk not in chosen
    ][: APPROVED - len(chosen)]
    # Only those the approver reaches (the city marketer: their city).
    reach = set(
        IncentiveStatement.objects.restrict(by, Action.APPROVE)
        .filter(pk__in=chosen)
        .values_list("pk", flat=True)
    )
    chosen = [pk for pk in chosen if pk in reach]
    if not chosen:
        return
    try:
        count = statements.approve_statements(actor=by, month=month, statement_ids=chosen)
    except (ServiceError, NotFound) as refused:
        say(_("incentives: approval refused: %(why)s") % {"why": str(refused)})
        return
    say(_("incentives: %(n)d statements of %(month)s approved") % {"n": count, "month": month})


def build_incentives_demo(*, say: Say) -> None:
    """See the module; idempotent."""
    today = reading.business_day()
    if today is None:
        say(_("incentives: no actuals yet, nothing computed"))
        return
    month = last_full_month(today)
    quarter = periods.period_of(PeriodKind.QUARTER, today)
    keeper = _user(COMPUTER)
    _rules(valid_from=min(quarter.start, month.start), by=keeper, say=say)
    try:
        done = statements.run_month(actor=keeper, month=month.code)
    except (ServiceError, NotFound) as refused:
        say(_("incentives: %(month)s not computed: %(why)s")
            % {"month": month.code, "why": str(refused)})  # fmt: skip
        return
    say(
        _("incentives: %(month)s: %(statements)d statements (%(unchanged)d unchanged, "
          "%(frozen)d frozen), %(total)s yuan") % done
    )  # fmt: skip
    _approve(month=month.code, by=_user(APPROVER), say=say)
