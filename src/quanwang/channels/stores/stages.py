"""The partner's relationship stage: 拉郎配 (a forced match) → 谈恋爱 (courting) → 过日子
(settled), with criteria a marketer can check, computed from facts.

The system suggests the highest stage whose every criterion holds; a user with CHANGE on the
store decides (services.change_stage), with the reason kept in the stage's history.

谈恋爱 (courting), all of:
- open at least COURTING_MONTHS months;
- sales over the last three months at most COURTING_DROP below the three before;
- no issue of the partner's open longer than COURTING_ISSUE_DAYS days;
- at least COURTING_KEPT of the commitments due so far kept (either side), or none due yet.

过日子 (settled), all of:
- open at least SETTLED_MONTHS months;
- sales in each of the last SALES_MONTHS months of the warehouse;
- sales over the last three months not below the three before;
- no issue open longer than SETTLED_ISSUE_DAYS days, and at most SETTLED_OPEN_ISSUES open;
- at least SETTLED_KEPT of at least SETTLED_MIN_DUE commitments due so far kept.

A commitment due so far is one kept or broken, or still open past its date (dropped ones do not
count). A criterion whose facts are missing (no opening date) is not met.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.channels.choices import PartnerStage
from quanwang.channels.models import Store
from quanwang.channels.stores.facts import MonthSales
from quanwang.insight.months import Month

COURTING_MONTHS = 3
COURTING_DROP = 0.2
COURTING_ISSUE_DAYS = 60
COURTING_KEPT = 0.5
SETTLED_MONTHS = 12
SALES_MONTHS = 6
SETTLED_ISSUE_DAYS = 30
SETTLED_OPEN_ISSUES = 1
SETTLED_KEPT = 0.8
SETTLED_MIN_DUE = 3
STAGE_ORDER = (PartnerStage.FORCED, PartnerStage.COURTING, PartnerStage.SETTLED)


@dataclass(frozen=True)
class StageFacts:
    months_open: int | None
    # Sales of the last three months against the three before (0.1: up 10%); None: no base.
    sales_trend: float | None
    months_with_sales: int  # of the last SALES_MONTHS months of the warehouse
    open_issues: int
    oldest_open_issue_days: int | None
    commitments_due: int
    commitments_kept: int

    @property
    def kept_share(self) -> float | None:
        return self.commitments_kept / self.commitments_due if self.commitments_due else None


@dataclass(frozen=True)
class Criterion:
    text: str
    met: bool


@dataclass(frozen=True)
class StageAssessment:
    facts: StageFacts
    criteria: dict[str, list[Criterion]] = field(default_factory=dict)

    @property
    def suggested(self) -> PartnerStage:
        chosen = PartnerStage.FORCED
        for stage in STAGE_ORDER[1:]:
            if all(c.met for c in self.criteria[str(stage)]):
                chosen = stage
        return chosen

    def as_json(self) -> dict[str, Any]:
        return {
            "facts": asdict(self.facts),
            "suggested": str(self.suggested),
            "criteria": {k: [asdict(c) for c in v] for k, v in self.criteria.items()},
        }


def months_between(start: dt.date, end: dt.date) -> int:
    return max(0, (end.year - start.year) * 12 + end.month - start.month)


def sales_facts(sales: list[MonthSales], *, newest: str | None) -> tuple[float | None, int]:
    """The three-month trend and the months with sales among the last SALES_MONTHS, counted
    back from `newest` (the warehouse's newest sales month)."""
    if newest is None:
        return None, 0
    by_month = {s.month: s.revenue for s in sales}
    months = Month.parse(newest).back(SALES_MONTHS)
    recent = sum(by_month.get(m, 0.0) for m in months[:3])
    before = sum(by_month.get(m, 0.0) for m in months[3:6])
    trend = (recent - before) / before if before > 0 else None
    return trend, sum(1 for m in months if by_month.get(m, 0.0) > 0)


def partner_facts(store: Store, *, today: dt.date) -> tuple[int, int | None, int, int]:
    """Open issues, the age in days of the oldest, commitments due so far and those kept, from
    the visits part's records."""
    from quanwang.channels.models import Commitment, PartnerIssue
    from quanwang.channels.visits.choices import CommitmentStatus, IssueStatus

    open_issues = list(
        PartnerIssue.objects.filter(store=store)
        .exclude(status=IssueStatus.RESOLVED)
        .values_list("raised_at", flat=True)
    )
    oldest = min(open_issues, default=None)
    oldest_days = (today - timezone.localdate(oldest)).days if oldest else None
    due = Commitment.objects.filter(store=store).filter(
        Q(status__in=[CommitmentStatus.KEPT, CommitmentStatus.BROKEN])
        | Q(status=CommitmentStatus.OPEN, due_on__lt=today)
    )
    kept = due.filter(status=CommitmentStatus.KEPT).count()
    return len(open_issues), oldest_days, due.count(), kept


def assess(
    *,
    store: Store,
    sales: list[MonthSales],
    newest_month: str | None,
    today: dt.date | None = None,
) -> StageAssessment:
    day = today or timezone.localdate()
    trend, with_sales = sales_facts(sales, newest=newest_month)
    open_issues, oldest, due, kept = partner_facts(store, today=day)
    facts = StageFacts(
        months_open=months_between(store.opened_date, day) if store.opened_date else None,
        sales_trend=trend,
        months_with_sales=with_sales,
        open_issues=open_issues,
        oldest_open_issue_days=oldest,
        commitments_due=due,
        commitments_kept=kept,
    )
    return StageAssessment(
        facts=facts,
        criteria={
            str(PartnerStage.FORCED): [],
            str(PartnerStage.COURTING): _courting(facts),
            str(PartnerStage.SETTLED): _settled(facts),
        },
    )


def _open_for(facts: StageFacts, months: int) -> Criterion:
    return Criterion(
        _("Open at least %(n)d months") % {"n": months},
        facts.months_open is not None and facts.months_open >= months,
    )


def _courting(facts: StageFacts) -> list[Criterion]:
    share = facts.kept_share
    return [
        _open_for(facts, COURTING_MONTHS),
        Criterion(
            _("Sales of the last three months at most %(p)d%% below the three before")
            % {"p": round(COURTING_DROP * 100)},
            facts.sales_trend is None or facts.sales_trend >= -COURTING_DROP,
        ),
        Criterion(
            _("No issue open longer than %(n)d days") % {"n": COURTING_ISSUE_DAYS},
            facts.oldest_open_issue_days is None
            or facts.oldest_open_issue_days <= COURTING_ISSUE_DAYS,
        ),
        Criterion(
            _("At least %(p)d%% of the commitments due kept (or none due yet)")
            % {"p": round(COURTING_KEPT * 100)},
            share is None or share >= COURTING_KEPT,
        ),
    ]


def _settled(facts: StageFacts) -> list[Criterion]:
    share = facts.kept_share
    return [
        _open_for(facts, SETTLED_MONTHS),
        Criterion(
            _("Sales in each of the last %(n)d months") % {"n": SALES_MONTHS},
            facts.months_with_sales >= SALES_MONTHS,
        ),
        Criterion(
            _("Sales of the last three months not below the three before"),
            facts.sales_trend is not None and facts.sales_trend >= 0,
        ),
        Criterion(
            _("No issue open longer than %(n)d days, and at most %(k)d open")
            % {"n": SETTLED_ISSUE_DAYS, "k": SETTLED_OPEN_ISSUES},
            (
                facts.oldest_open_issue_days is None
                or facts.oldest_open_issue_days <= SETTLED_ISSUE_DAYS
            )
            and facts.open_issues <= SETTLED_OPEN_ISSUES,
        ),
        Criterion(
            _("At least %(p)d%% of at least %(n)d commitments due kept")
            % {"p": round(SETTLED_KEPT * 100), "n": SETTLED_MIN_DUE},
            share is not None
            and facts.commitments_due >= SETTLED_MIN_DUE
            and share >= SETTLED_KEPT,
        ),
    ]
