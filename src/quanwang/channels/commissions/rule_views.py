"""Console pages of the commission rules (酬金规则): thin, the rules are in services.rules."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from quanwang.channels.commissions.choices import RuleSetStatus
from quanwang.channels.commissions.forms import RuleForm, RuleSetDatesForm, RuleSetForm
from quanwang.channels.commissions.services import rules as services
from quanwang.channels.models import CommissionRuleSet
from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.querysets import has_grant
from quanwang.core.services.orgs import home_unit


def _guard(request: HttpRequest, action: Action = Action.VIEW) -> None:
    if not has_grant(request.user, resource=Resource.CHANNEL_RULES, action=action):
        raise Http404


def _visible(request: HttpRequest, pk: int) -> CommissionRuleSet:
    found = services.visible_rule_sets(user=request.user).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def _can_change(request: HttpRequest, rule_set: CommissionRuleSet) -> bool:
    return (
        CommissionRuleSet.objects.restrict(request.user, Action.CHANGE)
        .filter(pk=rule_set.pk)
        .exists()
    )


def _form_error(form: Any, exc: ServiceError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


@login_required
def rule_set_list(request: HttpRequest) -> HttpResponse:
    _guard(request)
    can_add = (
        home_unit(user=request.user, resource=Resource.CHANNEL_RULES, action=Action.ADD) is not None
    )
    form = RuleSetForm(request.POST or None) if can_add else None
    if request.method == "POST":
        if form is None:
            raise Http404
        if form.is_valid():
            try:
                created = services.create_rule_set(
                    actor=request.user,
                    name=form.cleaned_data["name"],
                    valid_from=form.cleaned_data["valid_from"],
                    valid_until=form.cleaned_data["valid_until"],
                    note=form.cleaned_data["note"],
                )
            except NotFound as exc:
                raise Http404 from exc
            except ServiceError as exc:
                _form_error(form, exc)
            else:
                return redirect("channels:commissions-ruleset", pk=created.pk)
    return render(
        request,
        "channels/commissions/rule_set_list.html",
        {
            "rule_sets": services.visible_rule_sets(user=request.user).order_by("name", "-version"),
            "form": form,
        },
    )


@login_required
def rule_set_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request)
    rule_set = _visible(request, pk)
    editable = rule_set.status == RuleSetStatus.DRAFT and _can_change(request, rule_set)
    rule_form = RuleForm(request.POST or None) if editable else None
    if request.method == "POST":
        if rule_form is None:
            raise Http404
        if rule_form.is_valid():
            try:
                services.add_rule(actor=request.user, rule_set_id=pk, terms=rule_form.terms())
            except NotFound as exc:
                raise Http404 from exc
            except ServiceError as exc:
                _form_error(rule_form, exc)
            else:
                messages.success(request, _("Rule added."))
                return redirect("channels:commissions-ruleset", pk=pk)
    problems = services.check_rule_set(rule_set) if editable else []
    return render(
        request,
        "channels/commissions/rule_set_detail.html",
        {
            "rule_set": rule_set,
            "rules": rule_set.rules.prefetch_related("tiers"),
            "editable": editable,
            "can_copy": _can_change(request, rule_set) and rule_set.status != RuleSetStatus.DRAFT,
            "rule_form": rule_form,
            "dates_form": RuleSetDatesForm(
                initial={
                    "valid_from": rule_set.valid_from,
                    "valid_until": rule_set.valid_until,
                    "note": rule_set.note,
                }
            )
            if editable
            else None,
            "problems": problems,
            "other_versions": services.visible_rule_sets(user=request.user)
            .filter(name=rule_set.name)
            .exclude(pk=pk)
            .order_by("-version"),
        },
    )


def _post_action(request: HttpRequest, pk: int, action: Any, success: str) -> HttpResponse:
    _guard(request, Action.CHANGE)
    try:
        result = action()
    except services.RuleSetRefused as exc:
        for problem in exc.problems:
            messages.error(request, problem)
    except NotFound as exc:
        raise Http404 from exc
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success)
        if isinstance(result, CommissionRuleSet):
            return redirect("channels:commissions-ruleset", pk=result.pk)
    return redirect("channels:commissions-ruleset", pk=pk)


@login_required
@require_POST
def rule_delete(request: HttpRequest, pk: int, rule_pk: int) -> HttpResponse:
    return _post_action(
        request,
        pk,
        lambda: services.delete_rule(actor=request.user, rule_set_id=pk, rule_id=rule_pk),
        _("Rule removed."),
    )


@login_required
@require_POST
def rule_set_publish(request: HttpRequest, pk: int) -> HttpResponse:
    return _post_action(
        request,
        pk,
        lambda: services.publish_rule_set(actor=request.user, rule_set_id=pk),
        _("The rule set is published: it applies from its first day."),
    )


@login_required
@require_POST
def rule_set_new_version(request: HttpRequest, pk: int) -> HttpResponse:
    return _post_action(
        request,
        pk,
        lambda: services.new_version(actor=request.user, rule_set_id=pk),
        _("A new version was drafted with the same rules: set its first day and publish it."),
    )


@login_required
@require_POST
def rule_set_dates(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request, Action.CHANGE)
    form = RuleSetDatesForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("channels:commissions-ruleset", pk=pk)
    return _post_action(
        request,
        pk,
        lambda: services.change_draft(
            actor=request.user,
            rule_set_id=pk,
            valid_from=form.cleaned_data["valid_from"],
            valid_until=form.cleaned_data["valid_until"],
            note=form.cleaned_data["note"],
        ),
        _("Saved."),
    )
