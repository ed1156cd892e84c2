"""Console pages of the campaigns app: segments with a live preview, campaigns and their steps."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from quanwang.campaigns import segments as segment_services
from quanwang.campaigns import services
from quanwang.campaigns import tasks as task_services
from quanwang.campaigns import warnings as warning_services
from quanwang.campaigns.choices import (
    CampaignState,
    CampaignType,
    Channel,
    ContactOutcome,
)
from quanwang.campaigns.forms import (
    CampaignForm,
    DispatchForm,
    EstimateForm,
    ListUploadForm,
    MoveForm,
    PreviewForm,
    ResponseUploadForm,
    SegmentForm,
    TaskFilterForm,
    TaskOutcomeForm,
)
from quanwang.campaigns.models import CustomerList, Offer, Segment, SegmentVersion
from quanwang.campaigns.rules import CODED, OPS_BY_KIND, column_kind, describe
from quanwang.core.choices import Action, Resource
from quanwang.core.errors import ServiceError
from quanwang.core.querysets import has_grant
from quanwang.core.services.orgs import home_unit
from quanwang.core.uploads import store_upload
from quanwang.insight.catalog import LABELS
from quanwang.insight.snapshots import SnapshotStore

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


def _fields_for_builder() -> list[dict[str, Any]]:
    """The wide table's columns as the rule builder offers them."""
    snapshot = SnapshotStore().latest()
    if snapshot is None:
        return []
    zh = (get_language() or "zh-hans").startswith("zh")
    fields = []
    for name, duckdb_type in snapshot.columns.items():
        if name in {"subscriber_id", "snapshot_month"} or name.startswith("churn_reasons"):
            continue
        kind = column_kind(duckdb_type)
        labels = LABELS.get(name, (name, name))
        fields.append(
            {
                "name": name,
                "label": labels[0 if zh else 1],
                "kind": kind.value,
                "ops": sorted(op.value for op in OPS_BY_KIND[kind]),
                "codes": sorted(CODED.get(name, {})),
            }
        )
    return sorted(fields, key=lambda f: f["label"])


@login_required
def segment_list(request: HttpRequest) -> HttpResponse:
    _guard(request)
    can_add = has_grant(request.user, resource=Resource.CAMPAIGN, action=Action.ADD)
    form = SegmentForm(request.POST or None)
    if request.method == "POST":
        _guard(request, Action.ADD)
        if form.is_valid():
            try:
                version = segment_services.save_segment(
                    actor=request.user,
                    name=form.cleaned_data["name"],
                    rule=form.cleaned_data["rule"],
                    description=form.cleaned_data["description"],
                    org_unit=_home(request),
                )
            except ServiceError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                return redirect(f"{request.path}?saved={version.pk}")
    segments = Segment.objects.restrict(request.user).prefetch_related("versions")
    return render(
        request,
        "campaigns/segments.html",
        {
            "form": form,
            "can_add": can_add,
            "segments": segments,
            "lists": CustomerList.objects.restrict(request.user)[:50],
            "upload_form": ListUploadForm(),
            "fields": _fields_for_builder(),
        },
    )


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
            lists = dict(CustomerList.objects.restrict(request.user).values_list("pk", "name"))
            zh = (get_language() or "zh-hans").startswith("zh")
            context |= {
                "preview": result,
                "text": describe(rule, language="zh" if zh else "en", lists=lists),
            }
    return render(request, "campaigns/_preview.html", context)


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
    if form.is_valid():
        named = _stored_as_named(form.cleaned_data["file"])
        try:
            segment_services.upload_list(
                actor=request.user,
                name=form.cleaned_data["name"],
                path=named,
                org_unit=_home(request),
            )
        except ServiceError as exc:
            return render(request, "campaigns/_message.html", {"error": exc.message}, status=400)
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
    segments = SegmentVersion.objects.filter(
        segment__in=Segment.objects.restrict(request.user)
    ).select_related("segment")
    return CampaignForm(
        request.POST or None,
        segments=segments,
        offers=Offer.objects.restrict(request.user),
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


@login_required
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request)
    try:
        campaign = services.get_campaign(user=request.user, pk=pk)
    except ServiceError as exc:
        raise Http404 from exc
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
            "move_form": MoveForm(),
            "estimate_form": EstimateForm() if campaign.state in services.EDITABLE else None,
            "progress": services.execution_progress(campaign=campaign),
            "uplift": services.uplift_facts(campaign=campaign),
            "thresholds": services.warning_thresholds(),
            "warnings": warning_services.campaign_warnings(user=request.user, campaign=campaign),
            "dispatch_steps": services.dispatch_steps(campaign=campaign),
            "dispatch_form": DispatchForm(
                initial={"channel": campaign.channels[0] if campaign.channels else None}
            )
            if campaign.state in services.DISPATCHABLE
            else None,
            "response_form": ResponseUploadForm() if campaign.audience_path else None,
            "report": services.report_files(campaign=campaign),
            "events": campaign.events.select_related("actor"),
        },
    )


@login_required
@require_POST
def campaign_move(request: HttpRequest, pk: int, move: str) -> HttpResponse:
    _guard(request)
    form = MoveForm(request.POST)
    form.is_valid()
    try:
        campaign = services.get_campaign(user=request.user, pk=pk)
        services.transition(
            actor=request.user,
            campaign=campaign,
            move=move,
            comment=form.cleaned_data.get("comment", ""),
        )
    except ServiceError as exc:
        return render(request, "campaigns/_message.html", {"error": exc.message}, status=400)
    return redirect("campaigns:detail", pk=pk)


@login_required
@require_POST
def campaign_estimate(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request, Action.CHANGE)
    form = EstimateForm(request.POST)
    if not form.is_valid():
        return render(
            request, "campaigns/_message.html", {"error": form.errors.as_text()}, status=400
        )
    try:
        campaign = services.get_campaign(user=request.user, pk=pk, action=Action.CHANGE)
        services.update_estimate(actor=request.user, campaign=campaign, overrides=form.overrides())
    except ServiceError as exc:
        return render(request, "campaigns/_message.html", {"error": exc.message}, status=400)
    return redirect("campaigns:detail", pk=pk)


@login_required
@require_POST
def campaign_dispatch(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request, Action.CHANGE)
    form = DispatchForm(request.POST)
    if not form.is_valid():
        return render(
            request, "campaigns/_message.html", {"error": form.errors.as_text()}, status=400
        )
    try:
        campaign = services.get_campaign(user=request.user, pk=pk, action=Action.CHANGE)
        job = services.start_dispatch(
            actor=request.user,
            campaign=campaign,
            step=form.cleaned_data["step"],
            channel=Channel(form.cleaned_data["channel"]),
            text=form.cleaned_data["text"],
        )
    except ServiceError as exc:
        return render(request, "campaigns/_message.html", {"error": exc.message}, status=400)
    return redirect("core:job-detail", pk=job.pk)


@login_required
@require_POST
def campaign_responses(request: HttpRequest, pk: int) -> HttpResponse:
    _guard(request, Action.CHANGE)
    form = ResponseUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(
            request, "campaigns/_message.html", {"error": form.errors.as_text()}, status=400
        )
    named = _stored_as_named(form.cleaned_data["file"])
    try:
        campaign = services.get_campaign(user=request.user, pk=pk, action=Action.CHANGE)
        report = services.load_responses(campaign=campaign, path=named)
    except ServiceError as exc:
        return render(request, "campaigns/_message.html", {"error": exc.message}, status=400)
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


# Task lists (任务清单): the grids', stores' and account managers' share of each campaign's
# task steps.

TASK_FILTERS = ("campaign", "grid", "account_manager", "store", "outcome", "page")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _task_guard(request: HttpRequest, action: Action = Action.VIEW) -> None:
    if not has_grant(request.user, resource=Resource.CAMPAIGN_TASK, action=action):
        raise Http404


def _tasks_url(query: str) -> str:
    """The task list with the filters found in `query` (and nothing else)."""
    given = QueryDict(query)
    kept = QueryDict(mutable=True)
    for key in TASK_FILTERS:
        if given.get(key):
            kept[key] = given[key]
    encoded = kept.urlencode()
    return reverse("campaigns:tasks") + (f"?{encoded}" if encoded else "")


def _changed(query: QueryDict, **changes: str) -> str:
    """`query` with some filters changed (an empty value drops one), back on the first page."""
    changed = query.copy()
    changed.pop("page", None)
    for key, value in changes.items():
        changed[key] = value
    return changed.urlencode()


def _task_filters(
    request: HttpRequest, reach: task_services.TaskReach | None = None
) -> tuple[TaskFilterForm, task_services.TaskFilters]:
    form = TaskFilterForm(
        request.GET or None,
        choices=task_services.filter_choices(user=request.user, reach=reach),
    )
    valid = form.is_bound and form.is_valid()
    return form, form.filters() if valid else task_services.TaskFilters()


@login_required
def task_list(request: HttpRequest) -> HttpResponse:
    _task_guard(request)
    # The user's scope and campaigns, once for the filters and the list.
    reach = task_services.task_reach(user=request.user)
    form, filters = _task_filters(request, reach)
    try:
        number = int(request.GET.get("page", "1"))
    except ValueError:
        number = 1
    try:
        result = task_services.task_list(
            user=request.user, filters=filters, page=number, reach=reach
        )
    except ServiceError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        result = task_services.task_list(user=request.user, page=number, reach=reach)
    # The service pages the rows itself; the Paginator only numbers the pages for the template.
    numbering: Paginator[Any] = Paginator(range(result.total), result.page_size)
    page = Page(result.rows, result.page, numbering)
    return render(
        request,
        "campaigns/task_list.html",
        {
            "form": form,
            "filters": filters,
            "page": page,
            "result": result,
            "counts": [
                {
                    "state": state,
                    "n": n,
                    "url": _tasks_url(_changed(request.GET, outcome=str(state))),
                    "active": state == filters.state,
                }
                for state, n in result.counts.items()
            ],
            "all_url": _tasks_url(_changed(request.GET, outcome="")),
            # Labels translated once, not on each of the page's rows; the form's URL too.
            # The same buttons on every row: rendered once, not 50 times by the template.
            "outcome_buttons": format_html_join(
                "",
                '<button type="submit" name="outcome" value="{}">{}</button>',
                ContactOutcome.choices,
            ),
            "record_url": reverse("campaigns:task-record"),
            # The customer 360's address less its ID: one reverse() for the page, not a row.
            "customer_base": reverse("data:customer-detail", args=["0"]).removesuffix("0/"),
            "back": request.GET.urlencode(),
            "can_record": has_grant(
                request.user, resource=Resource.CAMPAIGN_TASK, action=Action.CHANGE
            ),
            "can_open_customer": has_grant(
                request.user, resource=Resource.CUSTOMER, action=Action.VIEW
            ),
        },
    )


@login_required
@require_POST
def task_record(request: HttpRequest) -> HttpResponse:
    _task_guard(request, Action.CHANGE)
    form = TaskOutcomeForm(request.POST)
    back = _tasks_url(request.POST.get("back", ""))
    if not form.is_valid():
        messages.error(request, form.errors.as_text())
        return redirect(back)
    data = form.cleaned_data
    try:
        campaign = task_services.task_campaign(user=request.user, pk=data["campaign"])
        task_services.record_outcome(
            actor=request.user,
            campaign=campaign,
            subscriber_id=data["subscriber_id"],
            outcome=data["outcome"],
            note=data["note"],
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("%(customer)s: %(outcome)s recorded.")
            % {
                "customer": data["subscriber_id"],
                "outcome": ContactOutcome(data["outcome"]).label,
            },
        )
    return redirect(back)


@login_required
def task_xlsx(request: HttpRequest) -> HttpResponse:
    _task_guard(request)
    form, filters = _task_filters(request)
    try:
        if form.is_bound and not form.is_valid():
            raise ServiceError(form.errors.as_text())
        content = task_services.export_xlsx(user=request.user, filters=filters)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect(_tasks_url(request.GET.urlencode()))
    safe = re.sub(r"[^0-9A-Za-z_.-]+", "_", filters.grid or filters.account_manager or "grid")
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="tasks-{safe}.xlsx"'
    return response
