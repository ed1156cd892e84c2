"""Console pages of segments (目标客户): the visual builder with its live preview, the saved
segments (open, edit as a new version, copy, delete while unused)."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from quanwang.campaigns import saved_segments
from quanwang.campaigns import segments as segment_services
from quanwang.campaigns.forms import ListUploadForm, PreviewForm, SegmentEditForm, SegmentForm
from quanwang.campaigns.models import CustomerList, Segment
from quanwang.campaigns.rule_fields import builder_config, builder_fields
from quanwang.campaigns.rules import describe
from quanwang.core.choices import Action, Resource
from quanwang.core.errors import ServiceError
from quanwang.core.querysets import has_grant
from quanwang.core.services.orgs import home_unit
from quanwang.insight.snapshots import SnapshotStore


def _guard(request: HttpRequest, action: Action = Action.VIEW) -> None:
    if not has_grant(request.user, resource=Resource.CAMPAIGN, action=action):
        raise Http404


def _home(request: HttpRequest) -> Any:
    home = home_unit(user=request.user, resource=Resource.CAMPAIGN, action=Action.ADD)
    if home is None:
        raise Http404
    return home


def _zh() -> bool:
    return (get_language() or "zh-hans").startswith("zh")


def _builder_context(request: HttpRequest, *, rule_text: str) -> dict[str, Any]:
    """The builder's data blocks: the fields of the newest snapshot, the ID lists the user may
    add, its words, and the rule it opens with (as the text posted or saved)."""
    snapshot = SnapshotStore().latest()
    lists = segment_services.usable(CustomerList.objects.all(), request.user)
    return {
        "fields": builder_fields(snapshot.columns) if snapshot is not None else [],
        "builder": builder_config(
            lists=[(item.pk, f"{item.name}（{item.size}）") for item in lists[:200]]
        ),
        "initial_rule": rule_text,
    }


def _posted_rule(form: Any) -> str:
    return str(form.data.get("rule", "")) if form.is_bound else ""


def _refused(form: Any, exc: ServiceError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


@login_required
def segment_list(request: HttpRequest) -> HttpResponse:
    """The saved segments, and the builder of a new one."""
    _guard(request)
    can_add = has_grant(request.user, resource=Resource.CAMPAIGN, action=Action.ADD)
    form = SegmentForm(request.POST or None)
    if request.method == "POST":
        _guard(request, Action.ADD)
        if form.is_valid():
            try:
                version = saved_segments.create_segment(
                    actor=request.user,
                    name=form.cleaned_data["name"],
                    rule=form.cleaned_data["rule"],
                    description=form.cleaned_data["description"],
                    org_unit=_home(request),
                )
            except ServiceError as exc:
                _refused(form, exc)
            else:
                messages.success(
                    request,
                    _("Saved %(name)s, version %(number)s.")
                    % {"name": version.segment.name, "number": version.number},
                )
                url = reverse("campaigns:segment", args=[version.segment_id])
                return redirect(f"{url}?saved={version.pk}")
    segments = saved_segments.visible_segments(request.user).prefetch_related("versions")
    changeable = set(saved_segments.changeable_segments(request.user).values_list("pk", flat=True))
    # Narrowed to what the user sees: whether another unit's segment is in use is not theirs.
    used = set(
        saved_segments.visible_segments(request.user)
        .filter(versions__campaign__isnull=False)
        .values_list("pk", flat=True)
    )
    rows = [
        {
            "segment": segment,
            "newest": max(segment.versions.all(), key=lambda v: v.number, default=None),
            "changeable": segment.pk in changeable,
            "used": segment.pk in used,
        }
        for segment in segments.order_by("org_unit__path", "name")
    ]
    return render(
        request,
        "campaigns/segments.html",
        {
            "form": form,
            "can_add": can_add,
            "rows": rows,
            "upload_form": ListUploadForm(),
            "zh": _zh(),
            **_builder_context(request, rule_text=_posted_rule(form)),
        },
    )


@login_required
def segment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One segment: its versions, the builder on the newest (saving adds a version) for those
    who may change it, read-only with a copy button for the units below its own."""
    _guard(request)
    segment = _visible_or_404(request, pk)
    versions = list(segment.versions.order_by("-number").select_related("created_by"))
    newest = versions[0] if versions else None
    can_change = saved_segments.can_change(request.user, segment)
    initial = {
        "name": segment.name,
        "description": segment.description,
        "base": newest.number if newest else 0,
    }
    form = SegmentEditForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if not can_change:
            raise Http404
        if form.is_valid():
            try:
                version = saved_segments.save_version(
                    actor=request.user,
                    pk=segment.pk,
                    base=form.cleaned_data["base"],
                    rule=form.cleaned_data["rule"],
                    name=form.cleaned_data["name"],
                    description=form.cleaned_data["description"],
                )
            except ServiceError as exc:
                _refused(form, exc)
            else:
                messages.success(
                    request,
                    _("Saved %(name)s, version %(number)s.")
                    % {"name": version.segment.name, "number": version.number},
                )
                url = reverse("campaigns:segment", args=[segment.pk])
                return redirect(f"{url}?saved={version.pk}")
    rule_text = (
        _posted_rule(form)
        if form.is_bound
        else json.dumps(newest.rule if newest else {}, ensure_ascii=False)
    )
    used_by = saved_segments.campaigns_per_version(segment)
    return render(
        request,
        "campaigns/segment_detail.html",
        {
            "segment": segment,
            "versions": [(v, used_by.get(v.pk, 0)) for v in versions],
            "newest": newest,
            "form": form,
            "can_change": can_change,
            "can_add": has_grant(request.user, resource=Resource.CAMPAIGN, action=Action.ADD),
            "in_use": sum(used_by.values()) > 0,
            "zh": _zh(),
            **_builder_context(request, rule_text=rule_text),
        },
    )


def _visible_or_404(request: HttpRequest, pk: int) -> Segment:
    try:
        return saved_segments.visible_segments(request.user).get(pk=pk)
    except Segment.DoesNotExist:
        raise Http404 from None


@login_required
@require_POST
def segment_copy(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request, Action.ADD)
    source = _visible_or_404(request, pk)
    try:
        copy = saved_segments.copy_segment(
            actor=request.user, pk=source.pk, org_unit=_home(request)
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("campaigns:segment", pk=source.pk)
    messages.success(
        request,
        _("Copied %(source)s to %(name)s: change it and save.")
        % {"source": source.name, "name": copy.name},
    )
    return redirect("campaigns:segment", pk=copy.pk)


@login_required
@require_POST
def segment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request)
    segment = _visible_or_404(request, pk)
    try:
        name = saved_segments.delete_segment(actor=request.user, pk=segment.pk)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("campaigns:segment", pk=segment.pk)
    messages.success(request, _("Deleted %(name)s.") % {"name": name})
    return redirect("campaigns:segments")


@login_required
@require_POST
def segment_preview(request: HttpRequest) -> HttpResponse:
    """The live preview: count and breakdowns of the rule being edited (an htmx partial)."""
    _guard(request)
    form = PreviewForm(request.POST)
    context: dict[str, Any] = {}
    if not form.is_valid():
        context["error"] = "; ".join(str(e) for errors in form.errors.values() for e in errors)
    else:
        rule = form.cleaned_data["rule"]
        try:
            result = segment_services.preview(user=request.user, rule=rule)
        except ServiceError as exc:
            context["error"] = exc.message
        else:
            lists = dict(
                segment_services.usable(CustomerList.objects.all(), request.user).values_list(
                    "pk", "name"
                )
            )
            context |= {
                "preview": result,
                "text": describe(result.rule, language="zh" if _zh() else "en", lists=lists),
            }
    return render(request, "campaigns/_preview.html", context)
