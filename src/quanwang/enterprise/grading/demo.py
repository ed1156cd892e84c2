"""The demo operator's grading (enterprise app): the province's rule set, managers' qualitative
scores on some of the account_manager's accounts (with comments, one criterion scored twice so
the history shows), and the month before the newest and the newest graded, so the account page
and the dashboard show grades with their explanation. Running it twice changes nothing more:
the scores carry idempotency keys and a re-grade rewrites the same rows."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.core.errors import ServiceError
from quanwang.core.models import Staff
from quanwang.enterprise.choices import TeamRole
from quanwang.enterprise.grading import kept
from quanwang.enterprise.grading.choices import Criterion
from quanwang.enterprise.grading.grades import Rules
from quanwang.enterprise.grading.regrading import regrade
from quanwang.enterprise.grading.rules import current_rule_set, provinces, save_rule_set
from quanwang.enterprise.grading.services import score_account
from quanwang.enterprise.models import Account, AccountGrading
from quanwang.insight.months import Month

MANAGER_LOGIN = "account_manager"
# The province's marketing admin saves the calibrated rules (a grant at the root).
CALIBRATING_LOGIN = "admin"
# The quantitative criteria whose scale tops the demo calibrates, and where: the figure about
# the top 5% of accounts reach gets full points.
CALIBRATED = (Criterion.REVENUE.value, Criterion.MEMBERS.value, Criterion.VALUE_ADDED.value)
TOP_SHARE = 0.95
SCORED_ACCOUNTS = 6
# (criterion, score, comment) a manager might give; cycled over the scored accounts.
SCORES = (
    ("cooperation", 85, "总经理主动约见，愿意共建5G专网"),
    ("potential", 70, "新园区明年投产，员工将翻倍"),
    ("strategic", 90, "市重点项目，行业标杆客户"),
    ("cooperation", 40, "对价格敏感，正在比较友商方案"),
    ("potential", 55, "业务稳定，增量有限"),
    ("strategic", 60, "区域龙头企业"),
)


def _score_book(say: Callable[[str], Any]) -> None:
    user = get_user_model().objects.filter(username=MANAGER_LOGIN).first()
    staff = Staff.objects.filter(user__username=MANAGER_LOGIN).first()
    if user is None or staff is None:
        return
    book = list(
        Account.objects.filter(
            team_members__staff=staff, team_members__role=TeamRole.LEAD
        ).order_by("enterprise_id")[:SCORED_ACCOUNTS]
    )
    today = timezone.localdate()
    saved = 0
    for index, account in enumerate(book):
        for step in range(2):
            criterion, score, comment = SCORES[(index + step) % len(SCORES)]
            # The first account's first criterion is scored twice, a month apart.
            when = today - timedelta(days=30 * (1 - step)) if index == 0 else today
            score_account(
                user=user,
                account_pk=account.pk,
                criterion=criterion if not (index == 0 and step) else SCORES[0][0],
                score=score if not (index == 0 and step) else 78,
                comment=comment,
                scored_on=when,
                idempotency_key=f"demo-{account.enterprise_id}-{step}",
            )
            saved += 1
    say(_("Qualitative scores: %(n)d on %(a)d accounts.") % {"n": saved, "a": len(book)})


def _calibrate(month: str, say: Callable[[str], Any]) -> bool:
    """Save the demo province's second rule set, its scales calibrated to its own accounts as
    a province would: full points at about the top 5% of its accounts' figures (the defaults
    suit large accounts, and the generated city's are small). Once: False when a province has
    a second version already or nothing is graded yet."""
    admin = get_user_model().objects.filter(username=CALIBRATING_LOGIN).first()
    rows = list(AccountGrading.objects.filter(month=month).values_list("contributions", flat=True))
    if admin is None or not rows:
        return False
    saved = False
    for province in provinces():
        rule_set = current_rule_set(province)
        if rule_set.version > 1:
            continue
        base = Rules.of(rule_set)
        scales = dict(base.scales)
        for criterion in CALIBRATED:
            figures = sorted(float(r[criterion]["value"] or 0) for r in rows if criterion in r)
            if figures:
                top = figures[min(len(figures) - 1, int(len(figures) * TOP_SHARE))]
                scales[criterion] = (scales[criterion][0], _round_up(top))
        save_rule_set(
            actor=admin,
            province=province,
            rules=replace(base, scales=scales),
            note=_(
                "Scales calibrated to the province's accounts: full points at about the top 5%."
            ),
        )
        saved = True
    if saved:
        say(_("Grading rules: scales calibrated to the demo province's accounts (version 2)."))
    return saved


def _round_up(figure: float) -> float:
    """A round figure at or above `figure` (1 or 2 significant digits), for a scale's top."""
    if figure <= 0:
        return 1.0
    step = 10 ** max(0, len(str(int(figure))) - 2)
    return float(math.ceil(figure / step) * step)


def build_demo(*, say: Callable[[str], Any]) -> None:
    for province in provinces():
        current_rule_set(province)
    _score_book(say)
    newest = kept.newest_usage_month()
    if newest is None:
        say(_("No usage in the warehouse: accounts not graded."))
        return
    try:
        regrade(month=newest)
    except ServiceError:
        pass
    else:
        _calibrate(newest, say)
    for month in (str(Month.parse(newest).shift(-1)), newest):
        try:
            run = regrade(month=month)
        except ServiceError as exc:
            say(_("Accounts of %(month)s not graded: %(why)s") % {"month": month, "why": exc})
            continue
        say(
            _("Account grades %(month)s: A %(a)d, B %(b)d, C %(c)d.")
            % {
                "month": run.month,
                "a": run.by_grade.get("A", 0),
                "b": run.by_grade.get("B", 0),
                "c": run.by_grade.get("C", 0),
            }
        )
