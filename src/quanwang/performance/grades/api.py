"""The grades API (/api/v1/performance/grades…, /grade-moves…): a unit's 三级十档 distribution,
a staff member's grade card, the moves the caller may decide, and deciding one. The rules and
the scope are the services' (grades.services): outside it, a unit, card or move is a 404."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from quanwang.core.api_schema import CleanText, ErrorOut, clean_query
from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound
from quanwang.core.querysets import has_grant
from quanwang.performance.grades.choices import MoveStatus
from quanwang.performance.grades.services.moves import decidable_moves, decide
from quanwang.performance.grades.services.reading import card, distribution
from quanwang.performance.models import GradeMove

router = Router(tags=["performance"])

#: Pending moves per answer at most.
MOVES_LISTED = 500


class LevelCountsOut(Schema):
    level: int
    #: Staff at steps 1–10 of the level.
    counts: list[int]
    total: int


class StaffGradeOut(Schema):
    employee_no: str
    name: str
    org_unit: str
    level: int | None
    step: int | None


class DistributionOut(Schema):
    unit: str
    levels: list[LevelCountsOut]
    graded: int
    ungraded: int
    pending_moves: int
    staff_total: int
    #: The first staff (by unit, then employee number); the counts cover everyone.
    staff: list[StaffGradeOut]


class HistoryOut(Schema):
    period: str
    from_level: int | None
    from_step: int | None
    to_level: int
    to_step: int
    effective_on: dt.date
    reasons: dict[str, Any]
    comment: str


class MoveOut(Schema):
    id: int
    employee_no: str
    period: str
    direction: str
    from_level: int
    from_step: int
    to_level: int
    to_step: int
    reasons: dict[str, Any]
    status: str
    comment: str


class CardOut(Schema):
    employee_no: str
    name: str
    org_unit: str
    level: int | None
    step: int | None
    since: dt.date | None
    coefficient: Decimal
    history: list[HistoryOut]
    moves: list[MoveOut]


class DecisionIn(Schema):
    approve: bool
    comment: CleanText = Field("", max_length=300)


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _move(move: GradeMove) -> dict[str, Any]:
    return {
        "id": move.pk,
        "employee_no": move.staff.employee_no,
        "period": move.period,
        "direction": move.direction,
        "from_level": move.from_level,
        "from_step": move.from_step,
        "to_level": move.to_level,
        "to_step": move.to_step,
        "reasons": move.reasons or {},
        "status": move.status,
        "comment": move.comment,
    }


@router.get("/grades", response={200: DistributionOut, 404: ErrorOut, 422: ErrorOut})
def grade_distribution(request: HttpRequest, unit: str | None = None) -> dict[str, Any]:
    """How the staff held under `unit` (default: the caller's first) spread over the levels
    and steps."""
    found = distribution(user=_user(request), unit_code=clean_query(unit, field="unit") or None)
    return {
        "unit": found.unit.code,
        "levels": [
            {"level": row.level.value, "counts": row.counts, "total": row.total}
            for row in found.rows
        ],
        "graded": found.graded,
        "ungraded": found.ungraded,
        "pending_moves": found.pending,
        "staff_total": found.staff_total,
        "staff": [
            {
                "employee_no": staff.employee_no,
                "name": staff.name,
                "org_unit": staff.org_unit.code,
                "level": position.level if position else None,
                "step": position.step if position else None,
            }
            for staff, position in found.staff
        ],
    }


@router.get("/grades/staff/{employee_no}", response={200: CardOut, 404: ErrorOut, 422: ErrorOut})
def grade_card(request: HttpRequest, employee_no: str) -> dict[str, Any]:
    """A staff member's grade, coefficient, history and moves (a staff login: their own)."""
    number = clean_query(employee_no, field="employee_no") or ""
    found = card(user=_user(request), employee_no=number)
    return {
        "employee_no": found.staff.employee_no,
        "name": found.staff.name,
        "org_unit": found.staff.org_unit.code,
        "level": found.position.level if found.position else None,
        "step": found.position.step if found.position else None,
        "since": found.grade.since if found.grade else None,
        "coefficient": found.coefficient,
        "history": [
            {
                "period": line.period,
                "from_level": line.from_level,
                "from_step": line.from_step,
                "to_level": line.to_level,
                "to_step": line.to_step,
                "effective_on": line.effective_on,
                "reasons": line.reasons or {},
                "comment": line.comment,
            }
            for line in found.history
        ],
        "moves": [_move(m) for m in found.moves],
    }


@router.get("/grade-moves", response={200: list[MoveOut], 404: ErrorOut})
def pending_moves(request: HttpRequest) -> list[dict[str, Any]]:
    """The proposed moves waiting for the caller's decision (never their own)."""
    if not has_grant(_user(request), resource=Resource.STAFF_GRADE, action=Action.APPROVE):
        raise NotFound()
    moves = decidable_moves(_user(request)).filter(status=MoveStatus.PENDING)
    return [_move(m) for m in moves.order_by("pk")[:MOVES_LISTED]]


@router.post(
    "/grade-moves/{move_id}/decision", response={200: MoveOut, 404: ErrorOut, 422: ErrorOut}
)
def decide_move(request: HttpRequest, move_id: int, payload: DecisionIn) -> dict[str, Any]:
    """Approve (the grade moves, the history is written) or reject (say why) a move. The same
    decision twice applies once; the other decision afterwards is refused."""
    if not has_grant(_user(request), resource=Resource.STAFF_GRADE, action=Action.APPROVE):
        raise NotFound()
    if not 1 <= move_id <= 2**63 - 1:
        raise NotFound()
    decided = decide(
        move=move_id, approve=payload.approve, by=_user(request), comment=payload.comment
    )
    return _move(decided)  # decide() returns the move it locked, with its staff member
