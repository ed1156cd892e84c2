"""Monthly incentive statements (激励结算单) kept as a ledger, and their approval.

A run computes a month's statements of the staff in the starter's reach (INCENTIVE ADD), as a
job (JobKind.RUN_INCENTIVES) from the console or `quanwang incentives run`. It pins the
current actuals version: every statement names the version, business day and snapshot its
figures came from, and a re-run on the same facts gives identical lines (equal fingerprints).

One transaction per statement, the statement unique per staff member and month: a run killed
halfway and started again finishes the rest and duplicates nothing.

Approving (INCENTIVE APPROVE over the staff member's unit) freezes a statement: never
recomputed, never edited. Nobody approves their own statement nor one they computed. Facts
that change under an approved month come back as an adjustment line in the next statement
computed: what the month is due now, minus what approved statements already paid for it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.core.choices import JOB_LIVE, Action, JobKind, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import Job
from quanwang.core.querysets import has_grant, scope_filter
from quanwang.core.services.jobs import start_job
from quanwang.core.services.orgs import home_unit
from quanwang.performance.actuals import store
from quanwang.performance.actuals.store import ActualsVersion
from quanwang.performance.choices import Grain, PeriodKind
from quanwang.performance.incentives.choices import LineKind, RoleKind, StatementStatus
from quanwang.performance.incentives.services import compute, rules, sources
from quanwang.performance.models import IncentiveLine, IncentiveRuleSet, IncentiveStatement
from quanwang.performance.periods import Period, PeriodError
from quanwang.performance.periods import parse as parse_period


def parse_month(text: str) -> Period:
    try:
        period = parse_period(text)
    except PeriodError as exc:
        raise ServiceError(str(exc), field="month") from exc
    if period.kind is not PeriodKind.MONTH:
        raise ServiceError(
            _("Statements are monthly: give a month such as 2024-12, not %(code)s.")
            % {"code": text},
            field="month",
        )
    return period


# --- Starting ----------------------------------------------------------------------------


def start_run(*, actor: Any, month: str, background: bool = True) -> Job:
    """The job computing `month`'s statements in the actor's reach; while one is alive for the
    month, that one (two clicks start one run)."""
    if not has_grant(actor, resource=Resource.INCENTIVE, action=Action.ADD):
        raise NotFound()
    period = parse_month(month)
    if store.current() is None:
        raise ServiceError(
            _("No KPI actuals are computed yet: compute them first (quanwang compute-actuals)."),
            field="month",
        )
    org_unit = home_unit(user=actor, resource=Resource.INCENTIVE, action=Action.ADD)
    with transaction.atomic():
        live = (
            Job.objects.select_for_update()
            .filter(kind=JobKind.RUN_INCENTIVES, status__in=list(JOB_LIVE))
            .order_by("pk")
        )
        for job in live:
            if (job.params or {}).get("month") == period.code:
                return job
        return start_job(
            actor=actor,
            kind=JobKind.RUN_INCENTIVES,
            org_unit=org_unit,
            params={"month": period.code},
            background=background,
        )


# --- Computing ---------------------------------------------------------------------------


@dataclass
class _Context:
    """What one run reads once: the pinned version, the payees and team sizes per month."""

    version: ActualsVersion
    payees: dict[str, dict[str, sources.Payee]]
    team_sizes: dict[str, Counter[tuple[str, RoleKind]]]

    def payees_of(self, period: Period) -> dict[str, sources.Payee]:
        if period.code not in self.payees:
            found = sources.payees(period)
            self.payees[period.code] = found
            self.team_sizes[period.code] = Counter((p.team_unit, p.kind) for p in found.values())
        return self.payees[period.code]

    def team_size(self, period: Period, payee: sources.Payee) -> int:
        self.payees_of(period)
        return self.team_sizes[period.code][(payee.team_unit, payee.kind)] or 1


def _due_lines(
    ctx: _Context, *, payee: sources.Payee, period: Period, rule_set: IncentiveRuleSet
) -> list[compute.Line]:
    body = rules.body_of(rule_set)

    def figure(kpi: str, grain: Grain, key: str) -> float | None:
        return sources.figures(version=ctx.version, kpi=kpi, grain=grain, period=period.code).get(
            key
        )

    return compute.month_lines(
        month=period.code,
        employee_no=payee.staff.employee_no,
        team_unit=payee.team_unit,
        team_size=ctx.team_size(period, payee),
        body=body,
        figure=figure,
        attainment=sources.attainment(
            employee_no=payee.staff.employee_no,
            period=period,
            kpi=body.attainment_kpi,
            version=ctx.version,
        ),
        coefficient=sources.coefficient(staff=payee.staff, day=period.end)
        if body.use_grade_coefficient
        else Decimal(1),
    )


def _adjustments(ctx: _Context, *, payee: sources.Payee, period: Period) -> list[compute.Line]:
    """For each earlier month approved statements paid the staff member for: what it is due on
    today's facts minus what was paid, when they differ."""
    paid_rows = (
        IncentiveLine.objects.filter(
            statement__staff=payee.staff,
            statement__status=StatementStatus.APPROVED,
            for_month__lt=period.code,
        )
        .values("for_month")
        .annotate(paid=Sum("amount"))
        .order_by("for_month")
    )
    found: list[compute.Line] = []
    for row in paid_rows:
        month = parse_period(row["for_month"])
        if not sources.holds_period(ctx.version, month.code):
            continue  # the actuals no longer cover it: nothing to compare with
        original = (
            IncentiveStatement.objects.filter(
                staff=payee.staff, month=month.code, status=StatementStatus.APPROVED
            )
            .select_related("rule_set")
            .first()
        )
        if original is None:
            continue
        then = ctx.payees_of(month).get(payee.staff.employee_no) or payee
        due = compute.total_of(
            _due_lines(ctx, payee=then, period=month, rule_set=original.rule_set)
        )
        paid = compute.money(row["paid"] or Decimal(0))
        if due != paid:
            found.append(
                compute.Line(
                    kind=LineKind.ADJUSTMENT, for_month=month.code, period=month.code,
                    key=payee.staff.employee_no, base=due, paid_before=paid, amount=due - paid,
                )
            )  # fmt: skip
    return found


def payees_in_reach(actor: Any, payees: dict[str, sources.Payee]) -> list[sources.Payee]:
    # A job without its starter (the login was removed) runs as the system: everyone.
    q = (
        None
        if actor is None
        else scope_filter(
            actor,
            resource=Resource.INCENTIVE,
            action=Action.ADD,
            org_path_field="path",
            owner_field=None,
        )
    )
    if q is None:
        chosen = list(payees.values())
    else:
        from quanwang.core.models import OrgUnit

        codes = set(OrgUnit.objects.filter(q).values_list("code", flat=True))
        chosen = [p for p in payees.values() if p.staff.org_unit.code in codes]
    return sorted(chosen, key=lambda p: p.staff.employee_no)


def run_month(
    *, actor: Any, month: str, progress: Callable[[int, int], None] | None = None
) -> dict[str, Any]:
    """Compute and write `month`'s statements of the staff in the actor's reach (the job's
    work); what it did."""
    period = parse_month(month)
    version = store.current()
    if version is None:
        raise ServiceError(
            _("No KPI actuals are computed yet: compute them first (quanwang compute-actuals)."),
            field="month",
        )
    ctx = _Context(version=version, payees={}, team_sizes={})
    chosen = payees_in_reach(actor, ctx.payees_of(period))
    counts: Counter[str] = Counter()
    total = Decimal("0.00")
    started = timezone.now()
    for index, payee in enumerate(chosen, start=1):
        rule_set = rules.for_month(role_kind=payee.kind, month=period.code)
        if rule_set is None:
            counts["without_rules"] += 1
            continue
        lines = _due_lines(ctx, payee=payee, period=period, rule_set=rule_set)
        lines += _adjustments(ctx, payee=payee, period=period)
        outcome = _write(
            actor=actor, payee=payee, period=period, rule_set=rule_set, version=version,
            lines=lines, started=started,
        )  # fmt: skip
        counts[outcome] += 1
        if outcome != "frozen":
            total += compute.total_of(lines)
        if progress is not None:
            progress(index, len(chosen))
    return {
        "month": period.code,
        "statements": counts["written"] + counts["unchanged"],
        "unchanged": counts["unchanged"],
        "frozen": counts["frozen"],
        "without_rules": counts["without_rules"],
        "total": str(total),
        "actuals_version": version.version,
        "as_of": version.as_of.isoformat(),
    }


def _write(
    *,
    actor: Any,
    payee: sources.Payee,
    period: Period,
    rule_set: IncentiveRuleSet,
    version: ActualsVersion,
    lines: list[compute.Line],
    started: dt.datetime,
) -> str:
    """Write one statement in its own transaction: "written", "unchanged" (same lines), or
    "frozen" (approved: kept as it is)."""
    fingerprint = compute.fingerprint(lines)
    computed_by = actor if getattr(actor, "pk", None) else None
    with transaction.atomic():
        try:
            with transaction.atomic():
                IncentiveStatement.objects.get_or_create(
                    staff=payee.staff,
                    month=period.code,
                    defaults={
                        "org_unit": payee.staff.org_unit, "role_kind": payee.kind,
                        "rule_set": rule_set, "actuals_version": version.version,
                        "as_of": version.as_of, "snapshot": version.snapshot or "",
                        "fingerprint": "", "computed_at": started, "computed_by": computed_by,
                    },
                )  # fmt: skip
        except IntegrityError:
            pass  # created at the same moment by another run: lock that one
        statement = IncentiveStatement.objects.select_for_update().get(
            staff=payee.staff, month=period.code
        )
        if statement.status == StatementStatus.APPROVED:
            return "frozen"
        if statement.fingerprint == fingerprint and statement.line_count == len(lines):
            return "unchanged"
        statement.lines.all().delete()
        IncentiveLine.objects.bulk_create(
            [
                IncentiveLine(
                    statement=statement, line_no=n, kind=line.kind, for_month=line.for_month,
                    kpi=line.kpi, grain=line.grain, key=line.key, period=line.period,
                    quantity=line.quantity, rate=line.rate, share=line.share, base=line.base,
                    paid_before=line.paid_before, amount=line.amount,
                )
                for n, line in enumerate(lines, start=1)
            ]
        )  # fmt: skip
        statement.org_unit = payee.staff.org_unit
        statement.role_kind = payee.kind
        statement.rule_set = rule_set
        statement.actuals_version = version.version
        statement.as_of = version.as_of
        statement.snapshot = version.snapshot or ""
        statement.fingerprint = fingerprint
        statement.line_count = len(lines)
        statement.total = compute.total_of(lines)
        statement.adjustment_total = compute.total_of(
            [x for x in lines if x.kind == LineKind.ADJUSTMENT]
        )
        statement.deduction_total = compute.total_of(
            [x for x in lines if x.kind == LineKind.DEDUCTION]
        )
        statement.computed_by = computed_by
        statement.computed_at = started
        statement.save()
    return "written"


# --- Reading and approving ---------------------------------------------------------------


def visible(user: Any, action: Action = Action.VIEW) -> QuerySet[IncentiveStatement]:
    return IncentiveStatement.objects.restrict(user, action).select_related(
        "staff", "org_unit", "rule_set", "computed_by", "approved_by"
    )


def get_statement(*, user: Any, pk: int, action: Action = Action.VIEW) -> IncentiveStatement:
    found = visible(user, action).filter(pk=pk).first()
    if found is None:
        raise NotFound()
    return found


def may_approve(user: Any, statement: IncentiveStatement) -> bool:
    return (
        statement.status == StatementStatus.COMPUTED
        and statement.computed_by_id != getattr(user, "pk", None)
        and (statement.staff.user_id is None or statement.staff.user_id != user.pk)
        and visible(user, Action.APPROVE).filter(pk=statement.pk).exists()
    )


def approve_statements(*, actor: Any, month: str, statement_ids: list[int] | None = None) -> int:
    """Approve (and so freeze) the computed statements of `month` in the actor's reach, or those
    named; how many were approved now (an approved one again: 0, nothing changes). Refused for
    the actor's own statement and for statements the actor computed."""
    period = parse_month(month)
    if not has_grant(actor, resource=Resource.INCENTIVE, action=Action.APPROVE):
        raise NotFound()
    with transaction.atomic():
        chosen = IncentiveStatement.objects.restrict(actor, Action.APPROVE).filter(
            month=period.code
        )
        if statement_ids is not None:
            chosen = chosen.filter(pk__in=statement_ids)
            if chosen.count() != len(set(statement_ids)):
                raise NotFound()
        # Locked by their own pks, in pk order: the scope's joins cannot be locked.
        picked = list(
            IncentiveStatement.objects.select_for_update()
            .filter(pk__in=list(chosen.values_list("pk", flat=True)))
            .filter(status=StatementStatus.COMPUTED)
            .order_by("pk")
            .values_list("pk", "computed_by_id", "staff__user_id")
        )
        me = getattr(actor, "pk", None)
        if any(user_id == me for _pk, _c, user_id in picked):
            raise ServiceError(_("Nobody approves their own incentive statement."))
        if any(computed == me for _pk, computed, _u in picked):
            raise ServiceError(_("Nobody approves statements they computed."))
        return IncentiveStatement.objects.filter(pk__in=[pk for pk, _c, _u in picked]).update(
            status=StatementStatus.APPROVED, approved_by=actor, approved_at=timezone.now()
        )


def months_of(user: Any) -> list[str]:
    return sorted(
        set(visible(user).order_by().values_list("month", flat=True).distinct()), reverse=True
    )


def staff_filter(text: str) -> Q:
    return Q(staff__employee_no__icontains=text) | Q(staff__name__icontains=text)


__all__ = [
    "RoleKind",
    "approve_statements",
    "get_statement",
    "run_month",
    "start_run",
]
