"""Console pages of performance.grades: a unit's distribution, a staff member's card (a staff
member reads their own only), the moves to decide, and the rules (the province saves)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.models import Staff
from quanwang.core.querysets import has_grant
from quanwang.performance.actuals.reading import business_day
from quanwang.performance.choices import PeriodKind
from quanwang.performance.grades.choices import GradeLevel, MoveStatus
from quanwang.performance.grades.explain import explain, period_label
from quanwang.performance.grades.forms import DecideForm, PlaceForm, RuleSetForm
from quanwang.performance.grades.jobs import start_propose
from quanwang.performance.grades.rules import ALL_POSITIONS, Position, Rules, percent
from quanwang.performance.grades.services.moves import (
    decidable_moves,
    decide,
    place_staff,
    placeable_staff,
)
from quanwang.performance.grades.services.reading import card, distribution, reached_units
from quanwang.performance.grades.services.rule_sets import (
    may_read_rules,
    may_set_rules,
    rule_set_on,
    save_rule_set,
)
from quanwang.performance.models import GradeMove, GradeRuleSet
from quanwang.performance.periods import period_of


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    """The login's own card (the entry a staff member follows)."""
    pk = request.user.pk
    staff = None if pk is None else Staff.objects.filter(user_id=int(pk)).first()
    if staff is None or not has_grant(
        request.user, resource=Resource.STAFF_GRADE, action=Action.VIEW
    ):
        raise Http404
    return redirect("performance:grades-card", employee_no=staff.employee_no)


@login_required
def distribution_page(request: HttpRequest) -> HttpResponse:
    try:
        found = distribution(user=request.user, unit_code=request.GET.get("unit") or None)
    except NotFound as exc:
        raise Http404 from exc
    units = reached_units(request.user).exclude(level="grid").order_by("path")[:200]
    return render(
        request,
        "performance/grades/distribution.html",
        {
            "d": found,
            "units": units,
            "staff": [(s, p.label if p else "") for s, p in found.staff],
            "may_decide": has_grant(
                request.user, resource=Resource.STAFF_GRADE, action=Action.APPROVE
            ),
        },
    )


def _move_row(move: GradeMove) -> dict[str, Any]:
    return {
        "move": move,
        "period": period_label(move.period),
        "before": Position(move.from_level, move.from_step).label,
        "after": Position(move.to_level, move.to_step).label,
        "why": explain(move.reasons),
        "status": MoveStatus(move.status).label,
    }


@login_required
def card_page(
    request: HttpRequest, employee_no: str, *, place_form: PlaceForm | None = None
) -> HttpResponse:
    try:
        found = card(user=request.user, employee_no=employee_no)
    except NotFound as exc:
        raise Http404 from exc
    placeable = placeable_staff(request.user).filter(pk=found.staff.pk).exists()
    status = 400 if place_form is not None else 200
    history = [
        {
            "line": line,
            "before": (
                Position(line.from_level, line.from_step).label
                if line.from_level is not None and line.from_step is not None
                else ""
            ),
            "after": Position(line.to_level, line.to_step).label,
            "period": period_label(line.period) if line.period else "",
            "why": explain(line.reasons),
        }
        for line in found.history
    ]
    return render(
        request,
        "performance/grades/card.html",
        {
            "c": found,
            "grade": found.position.label if found.position else "",
            "history": history,
            "moves": [_move_row(m) for m in found.moves],
            "place_form": (place_form or _place_form(found)) if placeable else None,
        },
        status=status,
    )


def _place_form(found: Any) -> PlaceForm:
    position = found.position
    return PlaceForm(
        initial={
            "level": position.level if position else GradeLevel.JUNIOR.value,
            "step": position.step if position else 1,
            "effective_on": business_day() or dt.date.today(),
        }
    )


@login_required
@require_POST
def place_view(request: HttpRequest, employee_no: str) -> HttpResponse:
    """Set a staff member's grade by hand (STAFF_GRADE CHANGE over them, never one's own; the
    same grade sent twice is kept once)."""
    if not placeable_staff(request.user).filter(employee_no=employee_no).exists():
        raise Http404
    form = PlaceForm(request.POST)
    if form.is_valid():
        try:
            place_staff(
                employee_no=employee_no,
                level=form.cleaned_data["level"],
                step=form.cleaned_data["step"],
                by=request.user,
                reason=form.cleaned_data["reason"],
                effective_on=form.cleaned_data["effective_on"],
            )
        except NotFound as exc:
            raise Http404 from exc
        except ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Grade set."))
            return redirect(reverse("performance:grades-card", args=[employee_no]))
    return card_page(request, employee_no, place_form=form)


@login_required
def moves_page(request: HttpRequest) -> HttpResponse:
    if not has_grant(request.user, resource=Resource.STAFF_GRADE, action=Action.APPROVE):
        raise Http404
    moves = decidable_moves(request.user)
    pending = [_move_row(m) for m in moves.filter(status=MoveStatus.PENDING)[:200]]
    decided = [
        _move_row(m)
        for m in moves.exclude(status=MoveStatus.PENDING)
        .select_related("decided_by")
        .order_by("-updated_at")[:30]
    ]
    day = business_day() or dt.date.today()
    quarter = period_of(PeriodKind.QUARTER, day)
    # The last appraisal quarter whose last day is in (the business day's once it ends).
    closed = quarter if day >= quarter.end else quarter.previous()
    return render(
        request,
        "performance/grades/moves.html",
        {"pending": pending, "decided": decided, "form": DecideForm(), "period": closed.code},
    )


@login_required
@require_POST
def propose_view(request: HttpRequest) -> HttpResponse:
    """Start the rules' proposals for a period as a job (two clicks start one)."""
    try:
        job = start_propose(actor=request.user, period=request.POST.get("period", ""))
    except NotFound as exc:
        raise Http404 from exc
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("performance:grades-moves")
    return redirect("core:job-detail", job.pk)


@login_required
@require_POST
def decide_view(request: HttpRequest, pk: int) -> HttpResponse:
    form = DecideForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose approve or reject."))
        return redirect("performance:grades-moves")
    try:
        move = decide(
            move=pk,
            approve=form.cleaned_data["approve"],
            by=request.user,
            comment=form.cleaned_data["comment"],
        )
    except NotFound as exc:
        raise Http404 from exc
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        done = _("Approved.") if move.status == MoveStatus.APPROVED else _("Rejected.")
        messages.success(request, done)
    return redirect("performance:grades-moves")


def _rules_context(request: HttpRequest, form: RuleSetForm | None = None) -> dict[str, Any]:
    day = business_day() or dt.date.today()
    current = rule_set_on(day)
    rules = Rules.of(current)
    return {
        "current": current,
        "rules": rules,
        "promote_at": percent(rules.promote_at),
        "demote_below": percent(rules.demote_below),
        "lowest": rules.lowest.label,
        "highest": rules.highest.label,
        "coefficients": [
            (level_label, [rules.coefficient(p) for p in positions])
            for level_label, positions in _by_level()
        ],
        "versions": list(GradeRuleSet.objects.select_related("created_by")[:20]),
        "may_set": may_set_rules(request.user),
        "form": form or RuleSetForm(rules=rules),
    }


def _by_level() -> list[tuple[str, list[Position]]]:
    return [
        (str(level.label), [p for p in ALL_POSITIONS if p.level == level.value])
        for level in GradeLevel
    ]


@login_required
def rules_page(request: HttpRequest) -> HttpResponse:
    if not may_read_rules(request.user):
        raise Http404
    return render(request, "performance/grades/rules.html", _rules_context(request))


@login_required
@require_POST
def rules_save(request: HttpRequest) -> HttpResponse:
    if not may_read_rules(request.user) or not may_set_rules(request.user):
        raise Http404
    form = RuleSetForm(request.POST, rules=Rules())
    if form.is_valid():
        try:
            saved = save_rule_set(
                by=request.user,
                rules=form.rules(),
                valid_from=form.cleaned_data["valid_from"],
                note=form.cleaned_data.get("note") or "",
            )
        except NotFound as exc:
            raise Http404 from exc
        except ServiceError as exc:
            form.add_service_error(exc.field, exc.message)
        else:
            messages.success(
                request,
                _("Version %(v)d saved; it holds from %(day)s.")
                % {"v": saved.version, "day": saved.valid_from.isoformat()},
            )
            return redirect(reverse("performance:grades-rules"))
    return render(
        request, "performance/grades/rules.html", _rules_context(request, form), status=400
    )
