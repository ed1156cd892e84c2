"""Console pages of the data app."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from quanwang.core.choices import Action, Resource
from quanwang.core.error_views import part_refused
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.forms import ReasonForm
from quanwang.core.querysets import has_grant
from quanwang.core.services.orgs import home_unit
from quanwang.core.uploads import store_upload
from quanwang.data import customers
from quanwang.data.forms import MappingForm, TableImportForm
from quanwang.data.import_scope import importable_tables
from quanwang.data.models import ImportMapping
from quanwang.data.schema import TABLES
from quanwang.data.services import save_mapping, start_import
from quanwang.data.warehouse import Warehouse


@login_required
def table_import(request: HttpRequest) -> HttpResponse:
    """Upload a file into a warehouse table the user may import; the import runs as a job with
    a progress bar, within the user's scope."""
    importable = importable_tables(request.user)
    if not importable:
        raise Http404
    home = home_unit(user=request.user, resource=Resource.JOB, action=Action.ADD)
    if home is None:
        raise Http404
    form = TableImportForm(
        request.POST or None,
        request.FILES or None,
        mappings=ImportMapping.objects.restrict(request.user),
        tables=importable,
    )
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        target = store_upload(upload)
        mapping = form.cleaned_data["mapping"]
        try:
            job = start_import(
                actor=request.user,
                table=form.cleaned_data["table"],
                path=target,
                filename=upload.name,
                org_unit=home,
                options=form.read_options(),
                mapping_id=mapping.pk if mapping else None,
                allow_empty=form.cleaned_data["allow_empty"],
                confirm_replace=form.cleaned_data["confirm_replace"],
            )
        except ServiceError as exc:
            target.unlink(missing_ok=True)  # no job will read it
            form.add_error(None, exc.message)
        else:
            return redirect("core:job-detail", pk=job.pk)
    store = Warehouse()
    tables = [(t, store.current_file(t.name) is not None) for t in importable]
    return render(request, "data/table_import.html", {"form": form, "tables": tables})


@login_required
def mapping_list(request: HttpRequest) -> HttpResponse:
    if not has_grant(request.user, resource=Resource.IMPORT_MAPPING, action=Action.VIEW):
        raise Http404
    mappings = ImportMapping.objects.restrict(request.user).select_related("org_unit")
    can_add = has_grant(request.user, resource=Resource.IMPORT_MAPPING, action=Action.ADD)
    return render(request, "data/mapping_list.html", {"mappings": mappings, "can_add": can_add})


@login_required
def mapping_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Create a mapping, or change one in scope; the service checks it against the table."""
    existing = None
    if pk is not None:
        existing = get_object_or_404(ImportMapping.objects.restrict(request.user), pk=pk)
        if not ImportMapping.objects.restrict(request.user, Action.CHANGE).filter(pk=pk).exists():
            raise Http404
    elif not has_grant(request.user, resource=Resource.IMPORT_MAPPING, action=Action.ADD):
        raise Http404
    initial = (
        {"name": existing.name, "table": existing.table, "spec": existing.spec} if existing else {}
    )
    form = MappingForm(request.POST or None, initial=initial, editing=existing is not None)
    if request.method == "POST" and form.is_valid():
        home = (
            existing.org_unit
            if existing
            else home_unit(user=request.user, resource=Resource.IMPORT_MAPPING, action=Action.ADD)
        )
        try:
            save_mapping(
                actor=request.user,
                name=form.cleaned_data["name"],
                table=form.cleaned_data["table"],
                spec=form.cleaned_data["spec"],
                org_unit=home,
                replace=existing is not None,
            )
        except ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            return redirect("data:mapping-list")
    table = TABLES.get(str(form["table"].value() or ""))
    return render(
        request,
        "data/mapping_edit.html",
        {"form": form, "mapping": existing, "columns_of": table, "tables": TABLES.values()},
    )


def _customer_guard(request: HttpRequest) -> None:
    if not has_grant(request.user, resource=Resource.CUSTOMER, action=Action.VIEW):
        raise Http404


@login_required
def customer_search(request: HttpRequest) -> HttpResponse:
    _customer_guard(request)
    query = request.GET.get("q", "")[:40]
    results = customers.search(user=request.user, query=query) if query else []
    # Grids by name, the code on hover.
    grid_names = {r["grid_id"]: r["grid_name"] for r in results if r.get("grid_name")}
    return render(
        request,
        "data/customer_search.html",
        {"query": query, "results": results, "grid_names": grid_names},
    )


@login_required
def customer_detail(request: HttpRequest, subscriber_id: str) -> HttpResponse:
    _customer_guard(request)
    try:
        view = customers.customer_360(user=request.user, subscriber_id=subscriber_id)
    except NotFound as exc:
        raise Http404 from exc
    usage = view["usage"]
    chart = {
        "months": [u["month"] for u in usage],
        "arpu": [u["arpu"] for u in usage],
        "dou": [u["dou_gb"] for u in usage],
        "mou": [u["mou"] for u in usage],
    }
    return render(
        request,
        "data/customer_detail.html",
        view
        | {
            "chart": chart,
            "can_view_pii": has_grant(
                request.user, resource=Resource.CUSTOMER, action=Action.VIEW_PII
            ),
            "reason_form": ReasonForm(),
            "grid_names": {view["profile"].get("grid_id"): view["profile"].get("grid_name")},
        },
    )


@login_required
@require_POST
def customer_reveal(request: HttpRequest, subscriber_id: str) -> HttpResponse:
    _customer_guard(request)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        return part_refused(
            request,
            form=form,
            template="data/_customer_reveal.html",
            context={"subscriber_id": subscriber_id},
            page=reverse("data:customer-detail", args=[subscriber_id]),
        )
    try:
        full = customers.reveal(
            user=request.user,
            subscriber_id=subscriber_id,
            reason=form.cleaned_data["reason"],
            ip_address=request.META.get("REMOTE_ADDR"),
        )
    except NotFound as exc:
        raise Http404 from exc
    return render(
        request, "data/_customer_reveal.html", {"full": full, "subscriber_id": subscriber_id}
    )
