"""Console pages of the province's store rules: the grading rule sets (and the monthly re-grade
button), and the coverage view with its targets."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from quanwang.channels.choices import GradingCriterion, GridType
from quanwang.channels.models import GradingRun
from quanwang.channels.stores import coverage as coverage_service
from quanwang.channels.stores.coverage import GRADES
from quanwang.channels.stores.forms import CoverageTargetForm, RegradeForm, RuleSetForm
from quanwang.channels.stores.jobs import start_regrade
from quanwang.channels.stores.regrading import newest_sales_month
from quanwang.channels.stores.rules import (
    coverage_targets,
    current_rule_set,
    may_read_rules,
    may_set_rules,
    rules_from_form,
    save_rule_set,
    set_coverage_target,
    visible_rule_sets,
)
from quanwang.core.choices import Action, Reach, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.querysets import has_grant

# Beyond this many grids the coverage page lists the counties only, until one is chosen.
GRIDS_LISTED = 300


def _require_rules(request: HttpRequest) -> None:
    if not may_read_rules(request.user):
        raise Http404


def _rules_context(request: HttpRequest, form: RuleSetForm | None = None) -> dict[str, object]:
    current = current_rule_set()
    versions = list(visible_rule_sets(request.user).select_related("created_by")[:20])
    locations = [(label, current.location_points.get(value)) for value, label in GridType.choices]
    return {
        "current": current,
        "weights": [
            (label, getattr(current, f"weight_{value}"))
            for value, label in GradingCriterion.choices
        ],
        "locations": locations,
        "versions": versions,
        "runs": [
            (run, [run.by_grade.get(str(g), 0) for g in GRADES])
            for run in GradingRun.objects.select_related("rule_set", "ran_by")[:12]
        ],
        "may_add": may_set_rules(request.user, Action.ADD),
        "may_regrade": may_set_rules(request.user, Action.CHANGE),
        "form": form or RuleSetForm(current=current),
        "regrade_form": RegradeForm(initial={"month": newest_sales_month() or ""}),
    }


@login_required
def grading_rules(request: HttpRequest) -> HttpResponse:
    _require_rules(request)
    return render(request, "channels/stores/rules.html", _rules_context(request))


@login_required
@require_POST
def grading_rules_save(request: HttpRequest) -> HttpResponse:
    _require_rules(request)
    if not may_set_rules(request.user, Action.ADD):
        raise Http404
    form = RuleSetForm(request.POST)
    if form.is_valid():
        try:
            saved = save_rule_set(
                actor=request.user,
                rules=rules_from_form(form.cleaned_data),
                note=form.cleaned_data.get("note") or "",
            )
        except NotFound as exc:
            raise Http404 from exc
        except ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(
                request,
                _("Saved as version %(v)d; it applies from the next grading.")
                % {"v": saved.version},
            )
            return redirect("channels:stores-rules")
    return render(request, "channels/stores/rules.html", _rules_context(request, form))


@login_required
@require_POST
def regrade_start(request: HttpRequest) -> HttpResponse:
    _require_rules(request)
    if not may_set_rules(request.user, Action.CHANGE):
        raise Http404
    form = RegradeForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for e in form.errors.get("month", [])))
        return redirect("channels:stores-rules")
    try:
        job = start_regrade(actor=request.user, month=form.cleaned_data["month"])
    except NotFound as exc:
        raise Http404 from exc
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("channels:stores-rules")
    return redirect("core:job-detail", pk=job.pk)


def _require_coverage(request: HttpRequest) -> None:
    """The coverage view is for staff who reach whole units, not a partner's own stores."""
    if not has_grant(request.user, resource=Resource.STORE, action=Action.VIEW, only=Reach.SUBTREE):
        raise Http404


@login_required
def coverage(request: HttpRequest) -> HttpResponse:
    _require_coverage(request)
    county = (request.GET.get("county") or "").strip()[:32]
    short_only = request.GET.get("short") == "1"
    counties = coverage_service.coverage(user=request.user, county=county or None)
    total_grids = sum(len(c.grids) for c in counties)
    listed = bool(county) or total_grids <= GRIDS_LISTED
    if short_only:
        for row in counties:
            row.grids = [g for g in row.grids if not g.met] if listed else row.grids
    targets = coverage_targets()
    return render(
        request,
        "channels/stores/coverage.html",
        {
            "counties": counties,
            "county": county,
            "short_only": short_only,
            "list_grids": listed,
            "total_grids": total_grids,
            "targets": [(t, targets[t.value]) for t in GridType],
            "may_set": may_set_rules(request.user, Action.CHANGE),
            "target_form": CoverageTargetForm(),
        },
    )


@login_required
@require_POST
def coverage_target_save(request: HttpRequest) -> HttpResponse:
    _require_coverage(request)
    form = CoverageTargetForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
        return redirect("channels:stores-coverage")
    try:
        set_coverage_target(actor=request.user, **form.cleaned_data)
    except NotFound as exc:
        raise Http404 from exc
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The coverage target was saved."))
    return redirect("channels:stores-coverage")
