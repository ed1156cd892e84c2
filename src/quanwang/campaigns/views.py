"""Console pages of the campaigns app: campaigns and their steps, and ID list uploads (the
segment pages are segment_views)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from quanwang.campaigns import segments as segment_services
from quanwang.campaigns import services
from quanwang.campaigns import warnings as warning_services
from quanwang.campaigns.choices import (
    CampaignState,
    CampaignType,
    Channel,
)
from quanwang.campaigns.forms import (
    CampaignForm,
    DispatchForm,
    EstimateForm,
    ListUploadForm,
    MoveForm,
    ResponseUploadForm,
)
from quanwang.campaigns.saved_segments import usable_versions
from quanwang.core.choices import Action, Resource
from quanwang.core.error_views import form_errors_text
from quanwang.core.errors import ServiceError
from quanwang.core.querysets import has_grant
from quanwang.core.services.orgs import home_unit
from quanwang.core.uploads import store_upload

MOVE_LABELS = {
    "submit": _("Submit for approval"),
    "revise": _("Back to draft"),
    "approve": _("Approve"),
    "reject": _("Reject"),
    "issue": _("Issue"),
    "start": _("Start"),
    "close": _("Close"),
    "evaluate": _("Evaluate against the control group"),
}


def _guard(request: HttpRequest, action: Action = Action.VIEW) -> None:
    if not has_grant(request.user, resource=Resource.CAMPAIGN, action=action):
        raise Http404


def _home(request: HttpRequest) -> Any:
    home = home_unit(user=request.user, resource=Resource.CAMPAIGN, action=Action.ADD)
    if home is None:
        raise Http404
    return home


def _stored_as_named(upload: Any) -> Path:
    """The upload on disk under its own file name: readers tell CSV from XLSX by the suffix and
    name the file in their errors. The caller removes it."""
    stored = store_upload(upload)
    named = stored.with_name(Path(upload.name).name)
    stored.rename(named)
    return named


@login_required
@require_POST
def list_upload(request: HttpRequest) -> HttpResponse:
    _guard(request, Action.ADD)
    form = ListUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        # Shown at the top of the segments page, the navigation kept.
        messages.error(request, form_errors_text(form))
        return redirect("campaigns:segments")
    named = _stored_as_named(form.cleaned_data["file"])
    try:
        segment_services.upload_list(
            actor=request.user,
            name=form.cleaned_data["name"],
            path=named,
            org_unit=_home(request),
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    finally:
        named.unlink(missing_ok=True)
    return redirect("campaigns:segments")


@login_required
def campaign_list(request: HttpRequest) -> HttpResponse:
    _guard(request)
    campaigns = services.visible(request.user).select_related(
        "org_unit", "segment_version__segment"
    )
    state = request.GET.get("state")
    if state in CampaignState.values:
        campaigns = campaigns.filter(state=state)
    return render(
        request,
        "campaigns/campaign_list.html",
        {
            "campaigns": campaigns[:200],
            "states": CampaignState.choices,
            "state": state,
            "can_add": has_grant(request.user, resource=Resource.CAMPAIGN, action=Action.ADD),
            "warnings": warning_services.open_warnings(user=request.user),
        },
    )


def _campaign_form(request: HttpRequest) -> CampaignForm:
    # Its own units' segments and those of the units above it (saved_segments).
    segments = usable_versions(request.user)
    return CampaignForm(
        request.POST or None,
        segments=segments,
        # Its own unit's offers and those of the units above it (services.offers).
        offers=services.usable_offers(org_unit=_home(request)),
        sources=services.uplift_sources(user=request.user),
    )


@login_required
def campaign_new(request: HttpRequest) -> HttpResponse:
    _guard(request, Action.ADD)
    form = _campaign_form(request)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        design = services.Design(
            name=data["name"],
            campaign_type=CampaignType(data["campaign_type"]),
            hypothesis=data["hypothesis"],
            objective_metric=data["objective_metric"],
            objective_target=data["objective_target"],
            objective_deadline=data["objective_deadline"],
            segment_version=data["segment_version"],
            offers=list(data["offers"]),
            channels=[Channel(c) for c in data["channels"]],
            starts_on=data["starts_on"],
            ends_on=data["ends_on"],
            budget=data["budget"],
            control_share=data["control_share"],
            seed=data["seed"],
            targeting=data["targeting"],
            targeting_share=data["targeting_share"],
            uplift_source=data["uplift_source"],
            task_split=data["task_split"],
        )
        try:
            campaign = services.create_campaign(
                actor=request.user, org_unit=_home(request), design=design
            )
        except ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            return redirect("campaigns:detail", pk=campaign.pk)
    return render(request, "campaigns/campaign_new.html", {"form": form})


def _refused(form: Any, exc: ServiceError) -> None:
    """Put a service's refusal on the form: next to its field, or above the form."""
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


@login_required
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request)
    try:
        campaign = services.get_campaign(user=request.user, pk=pk)
    except ServiceError as exc:
        raise Http404 from exc
    return _detail_page(request, campaign)


def _detail_page(request: HttpRequest, campaign: Any, **forms: Any) -> HttpResponse:
    """The campaign page; `forms` replace its empty forms with a submitted one and its errors
    (move_form, estimate_form, dispatch_form, response_form), shown next to their fields."""
    # The forms that change the campaign, only for those who may change it (an auditor sees
    # no upload, dispatch or estimate form).
    may_change = services.visible(request.user, Action.CHANGE).filter(pk=campaign.pk).exists()
    moves = [
        (name, MOVE_LABELS[name])
        for name, move in services.MOVES.items()
        if campaign.state in move.source
        and services.visible(request.user, move.action).filter(pk=campaign.pk).exists()
    ]
    return render(
        request,
        "campaigns/campaign_detail.html",
        {
            "campaign": campaign,
            "state": CampaignState(campaign.state),
            "type": CampaignType(campaign.campaign_type),
            "channels": [Channel(c).label for c in campaign.channels],
            "moves": moves,
            "move_form": forms.get("move_form") or MoveForm(),
            "estimate_form": forms.get("estimate_form") or EstimateForm()
            if may_change and campaign.state in services.EDITABLE
            else None,
            "progress": services.execution_progress(campaign=campaign),
            "uplift": services.uplift_facts(campaign=campaign),
            "thresholds": services.warning_thresholds(),
            "warnings": warning_services.campaign_warnings(user=request.user, campaign=campaign),
            "dispatch_steps": services.dispatch_steps(campaign=campaign),
            "dispatch_form": forms.get("dispatch_form")
            or DispatchForm(initial={"channel": next(iter(campaign.channels), None)})
            if may_change and campaign.state in services.DISPATCHABLE
            else None,
            "response_form": forms.get("response_form") or ResponseUploadForm()
            if may_change and campaign.audience_path
            else None,
            "report": services.report_files(campaign=campaign),
            "events": campaign.events.select_related("actor"),
        },
    )


@login_required
@require_POST
def campaign_move(request: HttpRequest, pk: int, move: str) -> HttpResponse:
    _guard(request)
    campaign = _campaign_or_404(request, pk)
    form = MoveForm(request.POST)
    form.is_valid()
    try:
        services.transition(
            actor=request.user,
            campaign=campaign,
            move=move,
            comment=form.cleaned_data.get("comment", ""),
        )
    except ServiceError as exc:
        _refused(form, exc)
        return _detail_page(request, campaign, move_form=form)
    return redirect("campaigns:detail", pk=pk)


def _campaign_or_404(request: HttpRequest, pk: int) -> Any:
    try:
        return services.get_campaign(user=request.user, pk=pk)
    except ServiceError as exc:
        raise Http404 from exc


@login_required
@require_POST
def campaign_estimate(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request, Action.CHANGE)
    campaign = _campaign_or_404(request, pk)
    form = EstimateForm(request.POST)
    if form.is_valid():
        try:
            services.update_estimate(
                actor=request.user, campaign=campaign, overrides=form.overrides()
            )
        except ServiceError as exc:
            _refused(form, exc)
        else:
            return redirect("campaigns:detail", pk=pk)
    return _detail_page(request, campaign, estimate_form=form)


@login_required
@require_POST
def campaign_dispatch(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request, Action.CHANGE)
    campaign = _campaign_or_404(request, pk)
    form = DispatchForm(request.POST)
    if form.is_valid():
        try:
            job = services.start_dispatch(
                actor=request.user,
                campaign=campaign,
                step=form.cleaned_data["step"],
                channel=Channel(form.cleaned_data["channel"]),
                text=form.cleaned_data["text"],
            )
        except ServiceError as exc:
            _refused(form, exc)
        else:
            return redirect("core:job-detail", pk=job.pk)
    return _detail_page(request, campaign, dispatch_form=form)


@login_required
@require_POST
def campaign_responses(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request, Action.CHANGE)
    campaign = _campaign_or_404(request, pk)
    form = ResponseUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _detail_page(request, campaign, response_form=form)
    named = _stored_as_named(form.cleaned_data["file"])
    try:
        campaign = services.get_campaign(user=request.user, pk=pk, action=Action.CHANGE)
        report = services.load_responses(campaign=campaign, path=named)
    except ServiceError as exc:
        _refused(form, exc)
        return _detail_page(request, campaign, response_form=form)
    finally:
        named.unlink(missing_ok=True)
    return render(request, "campaigns/_responses.html", {"campaign": campaign, "report": report})


@login_required
def campaign_report(request: HttpRequest, pk: int, kind: str) -> FileResponse:
    _guard(request)
    try:
        campaign = services.get_campaign(user=request.user, pk=pk)
    except ServiceError as exc:
        raise Http404 from exc
    files = services.report_files(campaign=campaign)
    path = files.get(kind) if files else None
    if path is None:
        raise Http404
    return FileResponse(path.open("rb"), as_attachment=True, filename=path.name)
