"""Console pages of the grading part: the provinces' grading rules, and an account's grade
history with the managers' qualitative scores (the form to add one)."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from quanwang.core.choices import Action
from quanwang.core.errors import NotFound, ServiceError
from quanwang.enterprise.choices import AccountGrade, ServiceLevel
from quanwang.enterprise.grading.choices import Criterion, ServiceAction
from quanwang.enterprise.grading.forms import QualitativeScoreForm, RuleSetForm
from quanwang.enterprise.grading.grades import Rules
from quanwang.enterprise.grading.rules import (
    current_rule_set,
    may_read_rules,
    may_set_rules,
    provinces,
    rules_from_form,
    save_rule_set,
    visible_rule_sets,
)
from quanwang.enterprise.grading.sections import explain
from quanwang.enterprise.grading.services import (
    grade_history,
    newest_scores,
    qualitative_history,
    score_account,
)
from quanwang.enterprise.models import Account, GradingRun


def _province(request: HttpRequest) -> Any:
    code = request.GET.get("province") or request.POST.get("province")
    found = provinces()
    chosen = found.filter(code=code).first() if code else found.first()
    if chosen is None:
        raise Http404
    return chosen


def _rules_context(request: HttpRequest, province: Any, form: RuleSetForm | None = None) -> dict:
    current = current_rule_set(province)
    rules = Rules.of(current)
    return {
        "province": province,
        "provinces": list(provinces()),
        "current": current,
        "weights": [(c.label, rules.weights.get(str(c), 0)) for c in Criterion],
        "scales": [
            (Criterion(k).label, v[0], v[1]) for k, v in rules.scales.items() if k in Criterion
        ],
        "service": [
            (
                AccountGrade(grade).label,
                ServiceLevel(level).label,
                [ServiceAction(a).label for a in rules.actions_by_level.get(level, [])],
            )
            for grade, level in sorted(rules.service_by_grade.items())
        ],
        "versions": list(visible_rule_sets(request.user).filter(province=province)[:20]),
        "runs": list(GradingRun.objects.all()[:12]),
        "may_add": may_set_rules(request.user, Action.ADD),
        "form": form or RuleSetForm(rules=rules),
    }


@login_required
def rules_page(request: HttpRequest) -> HttpResponse:
    if not may_read_rules(request.user):
        raise Http404
    province = _province(request)
    return render(request, "enterprise/grading/rules.html", _rules_context(request, province))


@login_required
@require_POST
def rules_save(request: HttpRequest) -> HttpResponse:
    if not may_read_rules(request.user) or not may_set_rules(request.user, Action.ADD):
        raise Http404
    province = _province(request)
    base = Rules.of(current_rule_set(province))
    form = RuleSetForm(request.POST, rules=base)
    if form.is_valid():
        try:
            saved = save_rule_set(
                actor=request.user,
                province=province,
                rules=rules_from_form(form.cleaned_data, base=base),
                note=form.cleaned_data.get("note") or "",
            )
        except NotFound as exc:
            raise Http404 from exc
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                _("Version %(v)d saved; it grades from the next run.") % {"v": saved.version},
            )
            return redirect(f"{request.path.rsplit('save/', 1)[0]}?province={province.code}")
    return render(
        request,
        "enterprise/grading/rules.html",
        _rules_context(request, province, form),
        status=400,
    )


def _account(request: HttpRequest, enterprise_id: str, action: Action = Action.VIEW) -> Account:
    found = (
        Account.objects.restrict(request.user, action).filter(enterprise_id=enterprise_id).first()
    )
    if found is None:
        raise Http404
    return found


def _account_context(
    request: HttpRequest, account: Account, form: QualitativeScoreForm | None = None
) -> dict:
    history = list(grade_history(user=request.user, account=account)[:24])
    may_score = Account.objects.restrict(request.user, Action.CHANGE).filter(pk=account.pk).exists()
    return {
        "account": account,
        "history": history,
        "newest": explain(history[0]) if history else None,
        "scores": list(qualitative_history(user=request.user, account=account)[:50]),
        "newest_scores": newest_scores(user=request.user, account=account),
        "may_score": may_score,
        "form": form or QualitativeScoreForm(initial={"idempotency_key": uuid.uuid4().hex}),
    }


@login_required
def account_grading(request: HttpRequest, enterprise_id: str) -> HttpResponse:
    account = _account(request, enterprise_id)
    return render(request, "enterprise/grading/account.html", _account_context(request, account))


@login_required
@require_POST
def account_score(request: HttpRequest, enterprise_id: str) -> HttpResponse:
    account = _account(request, enterprise_id, Action.CHANGE)
    form = QualitativeScoreForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            score_account(
                user=request.user,
                account_pk=account.pk,
                criterion=data["criterion"],
                score=data["score"],
                comment=data["comment"],
                idempotency_key=data.get("idempotency_key") or None,
            )
        except NotFound as exc:
            raise Http404 from exc
        except ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Score saved; it counts from the next grading."))
            return redirect(request.path.rsplit("score/", 1)[0])
    return render(
        request,
        "enterprise/grading/account.html",
        _account_context(request, account, form),
        status=400,
    )
