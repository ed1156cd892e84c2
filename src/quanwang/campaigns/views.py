"""Console pages of the campaigns app: campaigns and their steps, and ID list uploads (the
segment pages are segment_views)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
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
    StoreQuotaForm,
    campaign_initial,
)
from quanwang.campaigns.saved_segments import usable_versions
from quanwang.campaigns.store_quotas import (
    StoreShare,
    issue_to_stores,
    may_issue_to_stores,
    stores_in_reach,
)
from quanwang.campaigns.tasks import OPEN_STATES, task_steps
from quanwang.core.choices import Action, Resource
from quanwang.core.error_views import form_errors_text
from quanwang.core.errors import NotFound, ServiceError
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
    shown = campaigns[:200]
    # The reader's own quota of each issued campaign (their units', or their county's).
    quotas = services.scope_quotas(user=request.user, campaigns=list(shown))
    return render(
        request,
        "campaigns/campaign_list.html",
        {
            "campaigns": shown,
            "rows": [(c, quotas.get(c.pk, [])) for c in shown],
            "states": CampaignState.choices,
            "state": state,
            "can_add": has_grant(request.user, resource=Resource.CAMPAIGN, action=Action.ADD),
            "warnings": warning_services.open_warnings(user=request.user),
        },
    )


def _campaign_form(
    request: HttpRequest, *, org_unit: Any = None, initial: dict[str, Any] | None = None
) -> CampaignForm:
    # Its own units' segments and those of the units above it (saved_segments).
    segments = usable_versions(request.user)
    return CampaignForm(
        request.POST or None,
        initial=initial,
        segments=segments,
        # The campaign's unit's offers and those of the units above it (services.offers).
        offers=services.usable_offers(org_unit=org_unit or _home(request)),
        sources=services.uplift_sources(user=request.user),
    )


@login_required
def campaign_new(request: HttpRequest) -> HttpResponse:
    _guard(request, Action.ADD)
    form = _campaign_form(request)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = services.create_campaign(
                actor=request.user, org_unit=_home(request), design=form.design()
            )
        except ServiceError as exc:
            _refused(form, exc)
        else:
            return redirect("campaigns:detail", pk=campaign.pk)
    return render(request, "campaigns/campaign_new.html", {"form": form})


@login_required
@require_POST
def campaign_estimate_preview(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """The estimate the form's design would get (htmx, from the new or edit form), saving
    nothing: a loss shows in red before the draft is created or changed."""
    campaign = None
    if pk is None:
        _guard(request, Action.ADD)
        org_unit = _home(request)
    else:
        _guard(request, Action.CHANGE)
        campaign = _campaign_or_404(request, pk, Action.CHANGE)
        org_unit = campaign.org_unit
    form = _campaign_form(request, org_unit=org_unit)
    context: dict[str, Any] = {"error": None, "estimate": None}
    if not form.is_valid():
        context["error"] = form_errors_text(form)
    else:
        try:
            context["estimate"] = services.preview_estimate(
                actor=request.user, org_unit=org_unit, design=form.design(), campaign=campaign
            ).as_json()
        except NotFound as exc:
            raise Http404 from exc
        except ServiceError as exc:
            context["error"] = exc.message
    return render(request, "campaigns/_estimate_preview.html", context)


@login_required
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The new-campaign form, filled with a draft's design; saving recomputes the estimate.
    Past its draft, the campaign page says why it cannot change."""
    _guard(request, Action.CHANGE)
    campaign = _campaign_or_404(request, pk, Action.CHANGE)
    try:
        services.check_editable(campaign)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("campaigns:detail", pk=pk)
    form = _campaign_form(request, org_unit=campaign.org_unit, initial=campaign_initial(campaign))
    if request.method == "POST" and form.is_valid():
        try:
            services.change_campaign(actor=request.user, campaign=campaign, design=form.design())
        except NotFound as exc:
            raise Http404 from exc
        except ServiceError as exc:
            _refused(form, exc)
        else:
            return redirect("campaigns:detail", pk=pk)
    return render(request, "campaigns/campaign_new.html", {"form": form, "campaign": campaign})


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


def _task_list_url(request: HttpRequest, campaign: Any) -> str | None:
    """The task list of this campaign, for those who work or follow task lists, while its
    outcomes are recorded (issued or running) and once a task step went out."""
    if campaign.state not in OPEN_STATES or not has_grant(
        request.user, resource=Resource.CAMPAIGN_TASK, action=Action.VIEW
    ):
        return None
    if not task_steps(campaign.pk):
        return None
    return reverse("campaigns:tasks") + "?" + urlencode({"campaign": campaign.pk})


def _detail_page(request: HttpRequest, campaign: Any, **forms: Any) -> HttpResponse:
    """The campaign page; `forms` replace its empty forms with a submitted one and its errors
    (move_form, estimate_form, dispatch_form, response_form), shown next to their fields."""
    # The forms that change the campaign, only for those who may change it (an auditor sees
    # no upload, dispatch or estimate form).
    may_change = services.visible(request.user, Action.CHANGE).filter(pk=campaign.pk).exists()
    moves = [
        (name, MOVE_LABELS[name])
        for name, move in services.MOVES.items()
        # The evaluation card starts the evaluation, as a background job.
        if campaign.state in move.source
        and name != "evaluate"
        and services.visible(request.user, move.action).filter(pk=campaign.pk).exists()
    ]
    editable = may_change and campaign.state in services.EDITABLE
    store_quota_form = forms.get("store_quota_form") or (
        _store_quota_form(request, campaign)
        if may_issue_to_stores(user=request.user, campaign=campaign)
        else None
    )
    progress = services.campaign_progress(campaign=campaign, user=request.user)
    evaluation = services.evaluation_panel(campaign=campaign, user=request.user)
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
            "estimate_form": forms.get("estimate_form")
            or (EstimateForm(estimate=campaign.estimate) if editable else None),
            "may_edit": editable,
            # The quotas and their roll-up within the reader's units (a grid manager sees
            # their grid's row of a province campaign, not the other grids').
            "progress": progress.quotas if progress else [],
            "progress_tree": progress.tree if progress else [],
            "elapsed": progress.elapsed if progress else None,
            "task_list_url": _task_list_url(request, campaign),
            "store_quota_form": store_quota_form,
            "uplift": services.uplift_facts(campaign=campaign),
            "thresholds": services.warning_thresholds(),
            "warnings": warning_services.campaign_warnings(user=request.user, campaign=campaign),
            "dispatch_steps": services.dispatch_steps(campaign=campaign),
            "dispatch_form": forms.get("dispatch_form")
            or (
                DispatchForm(initial={"channel": next(iter(campaign.channels), None)})
                if may_change and campaign.state in services.DISPATCHABLE
                else None
            ),
            # Closed once the campaign is evaluated, or while it is (a refused upload's form
            # still says why).
            "response_form": forms.get("response_form")
            or (ResponseUploadForm() if may_change and evaluation.takes_responses else None),
            "response_report": forms.get("response_report"),
            "rejected_url": forms.get("rejected_url"),
            "evaluation": evaluation,
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
            acknowledge_loss=bool(form.cleaned_data.get("acknowledge_loss")),
        )
    except ServiceError as exc:
        _refused(form, exc)
        return _detail_page(request, campaign, move_form=form)
    return redirect("campaigns:detail", pk=pk)


def _campaign_or_404(request: HttpRequest, pk: int, action: Action = Action.VIEW) -> Any:
    try:
        return services.get_campaign(user=request.user, pk=pk, action=action)
    except ServiceError as exc:
        raise Http404 from exc


@login_required
@require_POST
def campaign_estimate(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request, Action.CHANGE)
    campaign = _campaign_or_404(request, pk)
    form = EstimateForm(request.POST, estimate=campaign.estimate)
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
    # The rejected rows download from the campaign's page, never as a server path.
    rejected = Path(report.quarantine_file).name if report.quarantine_file else None
    return _detail_page(
        request,
        campaign,
        response_report=report,
        rejected_url=reverse("campaigns:responses-rejected", args=[campaign.pk, rejected])
        if rejected
        else None,
    )


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


def _store_quota_form(request: HttpRequest, campaign: Any, data: Any = None) -> StoreQuotaForm:
    """The store quota form, offering the stores the user may issue the campaign to."""
    stores = stores_in_reach(user=request.user, campaign=campaign).order_by("store_id")
    choices = [
        (s.store_id, f"{s.name} ({s.store_id}) · {s.org_unit.name}"
         + (f" · {s.get_grade_display()}" if s.grade else ""))
        for s in stores
    ]  # fmt: skip
    return StoreQuotaForm(data, stores=choices)


@login_required
@require_POST
def campaign_store_quotas(request: HttpRequest, pk: int) -> HttpResponse:
    """Issue the campaign to one store (its share of its grid's quota)."""
    _guard(request)
    campaign = _campaign_or_404(request, pk)
    if not stores_in_reach(user=request.user, campaign=campaign).exists():
        raise Http404  # no store of theirs to issue it to: nothing here for them
    form = _store_quota_form(request, campaign, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            issue_to_stores(
                actor=request.user,
                campaign_id=campaign.pk,
                shares=[
                    StoreShare(
                        store_id=data["store"],
                        audience=data["audience"],
                        target=data["target"],
                        deadline=data.get("deadline"),
                    )
                ],
            )
        except NotFound as exc:
            raise Http404 from exc
        except ServiceError as exc:
            _refused(form, exc)
        else:
            messages.success(request, _("The store's quota is set."))
            return redirect(reverse("campaigns:detail", args=[pk]) + "#store-quotas")
    return _detail_page(request, campaign, store_quota_form=form)
