"""Moving staff grades: the rules propose (`propose_moves`), a manager above decides (`decide`),
and the province places a staff member by hand (`place_staff`). Every applied move writes the
history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import Staff
from quanwang.core.querysets import has_grant, scope_filter
from quanwang.performance import periods
from quanwang.performance.grades import appraisal
from quanwang.performance.grades.choices import OPEN_STATUSES, MoveStatus
from quanwang.performance.grades.rules import Position, Proposal, Result, evaluate
from quanwang.performance.grades.services.rule_sets import rules_on
from quanwang.performance.models import GradeHistory, GradeMove, StaffGrade

COMMENT_MAX = 300


@dataclass(frozen=True)
class ProposeResult:
    """What one proposal run did, for the job's result and the command's line."""

    period: str
    rule_version: int
    evaluated: int
    created: int
    updated: int
    unchanged: int
    withdrawn: int
    already_decided: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _periods_counted(*, period: periods.Period, needed: int, since: dt.date | None) -> list[str]:
    """The appraised period and the ones before it, newest first, as many as the rules need,
    only those that start on or after the current grade's effective day (a run that earned a
    move, or came before a placement, does not count again)."""
    found: list[str] = []
    current = period
    while len(found) < needed and (since is None or current.start >= since):
        found.append(current.code)
        current = current.previous()
    return found


def _staff_to_appraise(by: Any) -> QuerySet[StaffGrade]:
    graded = StaffGrade.objects.select_related("staff")
    if getattr(by, "is_superuser", False):
        return graded
    if not (
        has_grant(by, resource=Resource.STAFF_GRADE, action=Action.APPROVE)
        or has_grant(by, resource=Resource.STAFF_GRADE, action=Action.CHANGE)
    ):
        raise NotFound()
    return graded.restrict(by, Action.APPROVE)


def propose_moves(*, period: str, by: Any) -> ProposeResult:
    """Evaluate the rules for every graded staff member `by` may decide for (everyone for the
    system account) after `period`, and keep one proposal each, with its reasons.

    Idempotent: proposing a period again creates nothing twice; a pending proposal whose
    results changed (a late fact correction) is updated, or withdrawn when no longer earned;
    a decided one is left alone."""
    try:
        appraised = periods.parse(period)
    except periods.PeriodError as exc:
        raise ServiceError(str(exc), field="period") from exc
    rules = rules_on(appraised.end)
    if appraised.kind != rules.period_kind:
        raise ServiceError(
            _("The rules appraise by %(kind)s: name a period of that kind.")
            % {"kind": rules.period_kind.label},
            field="period",
        )
    grades = list(_staff_to_appraise(by))
    # The results are read first, outside the transaction (they come from the warehouse).
    proposals: dict[int, Proposal | None] = {}
    for grade in grades:
        counted = _periods_counted(period=appraised, needed=rules.periods_needed, since=grade.since)
        results = [
            Result(
                code, appraisal.appraisal_result(employee_no=grade.staff.employee_no, period=code)
            )
            for code in counted
        ]
        proposals[grade.staff_id] = evaluate(
            rules=rules, position=Position(grade.level, grade.step), results=results
        )
    counts = {"created": 0, "updated": 0, "unchanged": 0, "withdrawn": 0, "already_decided": 0}
    actor = by if getattr(by, "pk", None) else None
    with transaction.atomic():
        existing = {
            m.staff_id: m
            for m in GradeMove.objects.select_for_update().filter(
                period=appraised.code, staff_id__in=list(proposals)
            )
        }
        for staff_id, proposal in proposals.items():
            counts[_keep(staff_id, appraised.code, proposal, existing.get(staff_id), actor)] += 1
    return ProposeResult(
        period=appraised.code, rule_version=rules.version, evaluated=len(grades), **counts
    )


def _fields(proposal: Proposal) -> dict[str, Any]:
    return {
        "direction": proposal.direction,
        "from_level": proposal.before.level,
        "from_step": proposal.before.step,
        "to_level": proposal.after.level,
        "to_step": proposal.after.step,
        "reasons": proposal.reasons(),
    }


def _keep(
    staff_id: int, period: str, proposal: Proposal | None, move: GradeMove | None, actor: Any
) -> str:
    """Create, update, withdraw or keep the proposal of one staff member; what was done."""
    if move is not None and move.status not in OPEN_STATUSES:
        return "already_decided"
    if proposal is None:
        if move is not None and move.status == MoveStatus.PENDING:
            move.status = MoveStatus.WITHDRAWN
            move.save(update_fields=["status", "updated_at"])
            return "withdrawn"
        return "unchanged"
    fields = _fields(proposal)
    if move is None:
        _move, created = GradeMove.objects.get_or_create(
            staff_id=staff_id, period=period, defaults=fields | {"proposed_by": actor}
        )
        return "created" if created else "unchanged"
    if move.status == MoveStatus.PENDING and all(
        getattr(move, name) == value for name, value in fields.items()
    ):
        return "unchanged"
    for name, value in fields.items():
        setattr(move, name, value)
    move.status = MoveStatus.PENDING
    move.save()
    return "updated"


def decidable_moves(user: Any) -> QuerySet[GradeMove]:
    """Moves `user` may decide: STAFF_GRADE APPROVE over the staff member's unit, never their
    own."""
    moves = GradeMove.objects.restrict(user, Action.APPROVE).select_related("staff__org_unit")
    return moves.exclude(staff__user_id=getattr(user, "pk", None)) if user.pk else moves


def decide(*, move: GradeMove | int, approve: bool, by: Any, comment: str = "") -> GradeMove:
    """Approve (apply the move, write the history) or reject a proposed move. A manager above
    the staff member (STAFF_GRADE APPROVE), never for their own grade; outside their scope it
    does not exist. Deciding the same way twice applies once; the other way is refused."""
    pk = move.pk if isinstance(move, GradeMove) else int(move)
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise ServiceError(_("Keep the comment under 300 characters."), field="comment")
    with transaction.atomic():
        # Fixed order: the move, then the staff member's grade.
        locked = (
            GradeMove.objects.restrict(by, Action.APPROVE)
            .select_for_update(of=("self",))
            .select_related("staff")
            .filter(pk=pk)
            .first()
        )
        if locked is None:
            raise NotFound()
        if locked.staff.user_id is not None and locked.staff.user_id == getattr(by, "pk", None):
            raise ServiceError(_("Nobody decides a move of their own grade."))
        wanted = MoveStatus.APPROVED if approve else MoveStatus.REJECTED
        if locked.status == wanted:
            return locked
        if locked.status == MoveStatus.WITHDRAWN:
            raise ServiceError(_("This move was withdrawn: the results no longer earn it."))
        if locked.status != MoveStatus.PENDING:
            raise ServiceError(
                _("This move was already decided: %(status)s.")
                % {"status": MoveStatus(locked.status).label}
            )
        if not approve and not comment:
            raise ServiceError(_("Say why the move is rejected."), field="comment")
        if approve:
            _apply(locked, by=by, comment=comment)
        locked.status = wanted
        locked.decided_by = by if getattr(by, "pk", None) else None
        locked.decided_at = timezone.now()
        locked.comment = comment
        locked.save()
    return locked


def _apply(move: GradeMove, *, by: Any, comment: str) -> None:
    grade = StaffGrade.objects.select_for_update().filter(staff_id=move.staff_id).first()
    if grade is None or (grade.level, grade.step) != (move.from_level, move.from_step):
        raise ServiceError(
            _("The grade changed since this move was proposed: propose the period again.")
        )
    # The new grade holds from the day after the appraisal period: what it rewards.
    effective = periods.parse(move.period).end + dt.timedelta(days=1)
    grade.level, grade.step, grade.since = move.to_level, move.to_step, effective
    grade.save()
    GradeHistory.objects.create(
        staff_id=move.staff_id,
        move=move,
        period=move.period,
        from_level=move.from_level,
        from_step=move.from_step,
        to_level=move.to_level,
        to_step=move.to_step,
        reasons=move.reasons,
        comment=comment,
        approved_by=by if getattr(by, "pk", None) else None,
        effective_on=effective,
    )


def placeable_staff(user: Any) -> QuerySet[Staff]:
    """Staff `user` may place by hand: STAFF_GRADE CHANGE over their unit, never themselves."""
    q = scope_filter(
        user,
        resource=Resource.STAFF_GRADE,
        action=Action.CHANGE,
        org_path_field="org_unit__path",
        owner_field=None,
    )
    staff = Staff.objects.all() if q is None else Staff.objects.filter(q)
    return staff.exclude(Q(user_id__isnull=False) & Q(user_id=getattr(user, "pk", None)))


def place_staff(
    *,
    employee_no: str,
    level: int,
    step: int,
    by: Any,
    reason: str,
    effective_on: dt.date | None = None,
) -> StaffGrade:
    """Give a staff member a grade by hand (the first placement, or a correction), with the
    history. Refused: outside the user's CHANGE scope (not found), their own, a rung that does
    not exist, no reason."""
    staff = placeable_staff(by).filter(employee_no=employee_no).first()
    if staff is None:
        raise NotFound()
    position = Position(int(level), int(step))
    if not position.valid:
        raise ServiceError(_("A grade is a level and a step from 1 to 10."), field="step")
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("Say why the grade is set by hand."), field="reason")
    day = effective_on or timezone.localdate()
    with transaction.atomic():
        # The staff row first: two first placements at once find no grade to lock, and the
        # second would otherwise add a second grade row (an integrity error).
        Staff.objects.select_for_update().filter(pk=staff.pk).first()
        grade = StaffGrade.objects.select_for_update().filter(staff=staff).first()
        before = None if grade is None else Position(grade.level, grade.step)
        if grade is not None and before == position:
            return grade
        if grade is None:
            grade = StaffGrade(staff=staff)
        grade.level, grade.step, grade.since = position.level, position.step, day
        grade.save()
        GradeHistory.objects.create(
            staff=staff,
            from_level=before.level if before else None,
            from_step=before.step if before else None,
            to_level=position.level,
            to_step=position.step,
            reasons={"rule": "placed"},
            comment=reason[:COMMENT_MAX],
            approved_by=by if getattr(by, "pk", None) else None,
            effective_on=day,
        )
    return grade
