"""The console page that evaluates an experiment from a file (评估实验文件): thin, the work is in
`experiments` and `experiment_report`.

Two steps: the upload is stored privately (`core.uploads`: 0600, random name) and its columns
read; the user picks the arm column, the two arms and the outcomes; the evaluation deletes the
upload and keeps only the result (figures, no customer rows) in the session, for the table and
its downloads. An upload the user walks away from is deleted by the uploads sweep after an hour.
Who may evaluate: whoever may evaluate a campaign (Resource.CAMPAIGN, Action.CHANGE).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from quanwang.campaigns.experiment_forms import ExperimentDesignForm, ExperimentUploadForm
from quanwang.campaigns.experiment_report import (
    ReportKind,
    about_rows,
    display_rows,
    report_bytes,
)
from quanwang.campaigns.experiments import (
    ExperimentError,
    ExperimentResult,
    FileSummary,
    evaluate_file,
    summarise_file,
)
from quanwang.core.choices import Action, Resource
from quanwang.core.querysets import has_grant
from quanwang.core.uploads import release_upload, store_upload, uploads_dir

UPLOAD_KEY = "campaigns.experiment.upload"
RESULT_KEY = "campaigns.experiment.result"
# The names `store_upload` gives: a random hex name and the upload's suffix.
STORED_NAME = re.compile(r"[0-9a-f]{32}\.[a-z]+")
CONTENT_TYPES = {
    ReportKind.CSV: "text/csv; charset=utf-8",
    ReportKind.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _guard(request: HttpRequest) -> None:
    if not has_grant(request.user, resource=Resource.CAMPAIGN, action=Action.CHANGE):
        raise Http404


def _upload(request: HttpRequest) -> tuple[Path, FileSummary] | None:
    """The file this user uploaded and has not evaluated yet, with its columns."""
    kept = request.session.get(UPLOAD_KEY)
    if not kept or not STORED_NAME.fullmatch(str(kept.get("stored", ""))):
        return None
    path = uploads_dir() / kept["stored"]
    if not path.is_file():  # swept, or the session outlived it
        request.session.pop(UPLOAD_KEY, None)
        return None
    return path, FileSummary.from_json(kept["summary"])


def _discard_upload(request: HttpRequest) -> None:
    found = _upload(request)
    if found:
        release_upload(found[0])
    request.session.pop(UPLOAD_KEY, None)


def _result(request: HttpRequest) -> ExperimentResult | None:
    kept = request.session.get(RESULT_KEY)
    return ExperimentResult.from_json(kept) if kept else None


def _page(request: HttpRequest, **forms: Any) -> HttpResponse:
    upload = _upload(request)
    result = _result(request)
    context: dict[str, Any] = {
        "upload_form": forms.get("upload_form") or ExperimentUploadForm(),
        "summary": upload[1] if upload else None,
        "result": result,
    }
    if upload:
        context["design_form"] = forms.get("design_form") or ExperimentDesignForm(summary=upload[1])
    if result:
        context["rows"] = display_rows(result)
        context["about"] = about_rows(result)
    # A form refused is no error page: the whole page again, its errors next to the fields,
    # answered 200 like every console form (core.error_views).
    return render(request, "campaigns/experiment_evaluate.html", context)


@login_required
def experiment_evaluate(request: HttpRequest) -> HttpResponse:
    _guard(request)
    if request.method != "POST":
        return _page(request)
    step = request.POST.get("step")
    if step == "upload":
        form = ExperimentUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return _page(request, upload_form=form)
        _discard_upload(request)
        upload = form.cleaned_data["file"]
        stored = store_upload(upload)
        try:
            summary = summarise_file(path=stored, display_name=Path(upload.name).name)
        except ExperimentError as exc:
            release_upload(stored)
            form.add_error("file", exc.message)
            return _page(request, upload_form=form)
        request.session[UPLOAD_KEY] = {"stored": stored.name, "summary": summary.as_json()}
        request.session.pop(RESULT_KEY, None)
        return redirect("campaigns:experiment-evaluate")
    if step == "evaluate":
        upload = _upload(request)
        if upload is None:
            return redirect("campaigns:experiment-evaluate")
        path, summary = upload
        design_form = ExperimentDesignForm(
            request.POST, summary=summary, group=request.POST.get("group")
        )
        if not design_form.is_valid():
            return _page(request, design_form=design_form)
        try:
            result = evaluate_file(
                path=path, design=design_form.design(), display_name=summary.name
            )
        except ExperimentError as exc:
            design_form.add_error(None, exc.message)
            return _page(request, design_form=design_form)
        _discard_upload(request)
        request.session[RESULT_KEY] = result.as_json()
        return redirect("campaigns:experiment-evaluate")
    # "start over"
    _discard_upload(request)
    request.session.pop(RESULT_KEY, None)
    return redirect("campaigns:experiment-evaluate")


@login_required
@require_GET
def experiment_arms(request: HttpRequest) -> HttpResponse:
    """The arm choices narrowed to one column (the page swaps them in when the column changes)."""
    _guard(request)
    upload = _upload(request)
    if upload is None:
        raise Http404
    form = ExperimentDesignForm(summary=upload[1], group=request.GET.get("group"))
    return render(request, "campaigns/_experiment_arms.html", {"design_form": form})


@login_required
@require_GET
def experiment_download(request: HttpRequest, kind: str) -> HttpResponse:
    _guard(request)
    result = _result(request)
    if result is None or kind not in ReportKind.values:
        raise Http404
    chosen = ReportKind(kind)
    response = HttpResponse(report_bytes(result, chosen), content_type=CONTENT_TYPES[chosen])
    name = f"{Path(result.file).stem}-lifts.{chosen.value}"
    response["Content-Disposition"] = content_disposition_header(True, name) or "attachment"
    return response
