"""Console pages of the core app. Thin: parse, restrict, call one service, render."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from quanwang.core.choices import Action, JobKind, OrgLevel, PiiKind, Resource
from quanwang.core.error_views import part_refused
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.filtersets import (
    AuditRecordFilterSet,
    JobFilterSet,
    OrgUnitFilterSet,
    StaffFilterSet,
)
from quanwang.core.forms import (
    ExportForm,
    OrgImportForm,
    OrgUnitCreateForm,
    OrgUnitEditForm,
    ReasonForm,
    TokenForm,
)
from quanwang.core.jobs import RESULT_LABELS, quarantine_path, result_display
from quanwang.core.masking import mask
from quanwang.core.models import ApiToken, AuditRecord, Job, OrgUnit, Staff
from quanwang.core.querysets import has_grant
from quanwang.core.services import jobs as job_services
from quanwang.core.services import orgs as org_services
from quanwang.core.services import staff as staff_services
from quanwang.core.services import tokens as token_services
from quanwang.core.services.orgs import units_granting
from quanwang.core.uploads import store_upload

PAGE_SIZE = 50


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR")


def _page(request: HttpRequest, queryset: QuerySet[Any]) -> Page[Any]:
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _require(request: HttpRequest, resource: Resource, action: Action = Action.VIEW) -> None:
    """A page of records this role never sees does not exist for it."""
    if not has_grant(request.user, resource=resource, action=action):
        raise Http404


def _form_error(form: Any, exc: ServiceError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


@login_required
def orgunit_list(request: HttpRequest) -> HttpResponse:
    _require(request, Resource.ORG_UNIT)
    filterset = OrgUnitFilterSet(request.GET, queryset=OrgUnit.objects.restrict(request.user))
    can_add = units_granting(
        user=request.user, resource=Resource.ORG_UNIT, action=Action.ADD
    ).exists()
    return render(
        request,
        "core/orgunit_list.html",
        {"filterset": filterset, "page": _page(request, filterset.qs), "can_add": can_add},
    )


@login_required
def orgunit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    unit = get_object_or_404(OrgUnit.objects.restrict(request.user), pk=pk)
    children = OrgUnit.objects.restrict(request.user).filter(parent=unit)
    can_change = OrgUnit.objects.restrict(request.user, Action.CHANGE).filter(pk=pk).exists()
    return render(
        request,
        "core/orgunit_detail.html",
        {"unit": unit, "children": children, "can_change": can_change},
    )


@login_required
def orgunit_create(request: HttpRequest) -> HttpResponse:
    form = OrgUnitCreateForm(request.POST or None, user=request.user)
    if not form.fields["parent"].queryset.exists():  # type: ignore[attr-defined]
        raise Http404
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            unit = org_services.create_org_unit(
                actor=request.user,
                code=data["code"],
                name=data["name"],
                name_en=data["name_en"],
                level=OrgLevel(data["level"]),
                parent=data["parent"],
            )
        except NotFound as exc:
            raise Http404 from exc
        except ServiceError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Org unit %(name)s created.") % {"name": unit.name})
            return redirect("core:orgunit-detail", pk=unit.pk)
    return render(request, "core/orgunit_form.html", {"form": form, "title": _("New org unit")})


@login_required
def orgunit_edit(request: HttpRequest, pk: int) -> HttpResponse:
    unit = get_object_or_404(OrgUnit.objects.restrict(request.user, Action.CHANGE), pk=pk)
    form = OrgUnitEditForm(
        request.POST or None, initial={"name": unit.name, "name_en": unit.name_en}
    )
    if request.method == "POST" and form.is_valid():
        try:
            org_services.update_org_unit(
                actor=request.user,
                org_unit=unit,
                name=form.cleaned_data["name"],
                name_en=form.cleaned_data["name_en"],
            )
        except NotFound as exc:
            raise Http404 from exc
        messages.success(request, _("Saved."))
        return redirect("core:orgunit-detail", pk=unit.pk)
    return render(
        request, "core/orgunit_form.html", {"form": form, "title": unit.name, "unit": unit}
    )


@login_required
def staff_list(request: HttpRequest) -> HttpResponse:
    _require(request, Resource.STAFF)
    filterset = StaffFilterSet(
        request.GET, queryset=Staff.objects.restrict(request.user).select_related("org_unit")
    )
    page = _page(request, filterset.qs)
    for member in page:
        member.masked_mobile = mask(member.mobile, PiiKind.MSISDN)
    return render(
        request,
        "core/staff_list.html",
        {"filterset": filterset, "page": page, "export_form": ExportForm()},
    )


@login_required
def staff_detail(request: HttpRequest, pk: int) -> HttpResponse:
    member = get_object_or_404(
        Staff.objects.restrict(request.user).select_related("org_unit"), pk=pk
    )
    return render(
        request,
        "core/staff_detail.html",
        {
            "member": member,
            "masked_mobile": mask(member.mobile, PiiKind.MSISDN),
            "can_view_pii": staff_services.can_view_pii(actor=request.user, staff=member),
            "reason_form": ReasonForm(),
        },
    )


@login_required
@require_POST
def staff_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    form = ReasonForm(request.POST)
    if not Staff.objects.restrict(request.user, Action.VIEW_PII).filter(pk=pk).exists():
        raise Http404
    if not form.is_valid():
        return part_refused(
            request,
            form=form,
            template="core/_reveal.html",
            context={"pk": pk},
            page=reverse("core:staff-detail", args=[pk]),
        )
    mobile = staff_services.reveal_mobile(
        actor=request.user,
        staff_id=pk,
        reason=form.cleaned_data["reason"],
        ip_address=client_ip(request),
    )
    return render(request, "core/_reveal.html", {"mobile": mobile, "pk": pk})


@login_required
@require_POST
def staff_export(request: HttpRequest) -> HttpResponse:
    form = ExportForm(request.POST)
    filterset = StaffFilterSet(request.GET, queryset=Staff.objects.all())
    if not form.is_valid():
        messages.error(request, _("Give the reason for the export (at most 200 characters)."))
        return redirect("core:staff-list")
    try:
        content = staff_services.export_csv(
            actor=request.user,
            queryset=filterset.qs,
            full=form.cleaned_data["full"],
            reason=form.cleaned_data["reason"],
            ip_address=client_ip(request),
        )
    except NotFound:
        messages.error(request, _("Nothing to export, or you may not export full data."))
        return redirect("core:staff-list")
    response = HttpResponse("\ufeff" + content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="staff.csv"'
    return response


@login_required
def job_list(request: HttpRequest) -> HttpResponse:
    _require(request, Resource.JOB)
    job_services.notice_lapsed_jobs()
    filterset = JobFilterSet(
        request.GET,
        queryset=Job.objects.restrict(request.user).select_related("org_unit", "created_by"),
    )
    return render(
        request,
        "core/job_list.html",
        {"filterset": filterset, "page": _page(request, filterset.qs)},
    )


def _job_context(request: HttpRequest, pk: int) -> dict[str, Any]:
    job_services.notice_lapsed_jobs()
    job = get_object_or_404(
        Job.objects.restrict(request.user).select_related("org_unit", "created_by"), pk=pk
    )
    can_change = Job.objects.restrict(request.user, Action.CHANGE).filter(pk=pk).exists()
    result = job.result or {}
    result_items = [
        (RESULT_LABELS.get(key, key), result_display(key, value, result))
        for key, value in result.items()
        if key not in {"errors", "quarantine_file"}
    ]
    return {
        "job": job,
        "can_change": can_change,
        "result_items": result_items,
        "has_quarantine": bool(result.get("quarantine_file")),
    }


@login_required
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "core/job_detail.html", _job_context(request, pk))


@login_required
def job_progress(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "core/_job_progress.html", _job_context(request, pk))


@login_required
def job_quarantine(request: HttpRequest, pk: int) -> FileResponse:
    """The rejected rows of an import, as CSV with file, row, field, value and reason."""
    job = get_object_or_404(Job.objects.restrict(request.user), pk=pk)
    name = (job.result or {}).get("quarantine_file")
    path = quarantine_path(name) if name else None
    if path is None or not path.is_file():
        raise Http404
    # Named after the user's own file, not the stored one (an upload's is a random name).
    uploaded = Path(str((job.params or {}).get("filename") or "")).stem
    filename = f"{uploaded}-rejected.csv" if uploaded else path.name
    return FileResponse(path.open("rb"), as_attachment=True, filename=filename)


def _job_action(request: HttpRequest, pk: int, action: Callable[..., Job]) -> HttpResponse:
    try:
        action(actor=request.user, job_id=pk)
    except NotFound as exc:
        raise Http404 from exc
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("core:job-detail", pk=pk)


@login_required
@require_POST
def job_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _job_action(request, pk, job_services.cancel_job)


@login_required
@require_POST
def job_retry(request: HttpRequest, pk: int) -> HttpResponse:
    return _job_action(request, pk, job_services.retry_job)


@login_required
def org_import(request: HttpRequest) -> HttpResponse:
    units = units_granting(user=request.user, resource=Resource.ORG_UNIT, action=Action.ADD)
    job_units = units_granting(user=request.user, resource=Resource.JOB, action=Action.ADD)
    home = (units & job_units).order_by("path").first()
    if home is None:
        raise Http404
    form = OrgImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        target = store_upload(upload)
        job = job_services.start_job(
            actor=request.user,
            kind=JobKind.IMPORT_ORG_UNITS,
            org_unit=home,
            params={
                "path": str(target),
                "filename": upload.name,
                "encoding": form.cleaned_data["encoding"] or None,
            },
        )
        return redirect("core:job-detail", pk=job.pk)
    return render(request, "core/org_import.html", {"form": form})


@login_required
def audit_list(request: HttpRequest) -> HttpResponse:
    _require(request, Resource.AUDIT_RECORD)
    queryset = AuditRecord.objects.restrict(request.user).select_related("org_unit", "actor")
    filterset = AuditRecordFilterSet(request.GET, queryset=queryset)
    return render(
        request,
        "core/audit_list.html",
        {"filterset": filterset, "page": _page(request, filterset.qs)},
    )


@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    _require(request, Resource.API_TOKEN)
    form = TokenForm(request.POST or None)
    secret = None
    if request.method == "POST" and form.is_valid():
        try:
            _token, secret = token_services.create_token(
                user=request.user, name=form.cleaned_data["name"], days=form.cleaned_data["days"]
            )
        except ServiceError as exc:
            _form_error(form, exc)
        else:
            form = TokenForm()
    tokens = ApiToken.objects.restrict(request.user)
    return render(
        request, "core/token_list.html", {"form": form, "tokens": tokens, "secret": secret}
    )


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        token_services.revoke_token(actor=request.user, token_id=pk)
    except NotFound as exc:
        raise Http404 from exc
    messages.success(request, _("Token revoked."))
    return redirect("core:token-list")
