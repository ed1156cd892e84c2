"""Console pages of the insight app: value tiers, grids, snapshots and their comparison."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from quanwang.core.choices import Action, Resource
from quanwang.core.errors import ServiceError
from quanwang.core.formatting import unit_names
from quanwang.core.querysets import has_grant
from quanwang.core.services.orgs import home_unit
from quanwang.core.tabular import append_row, new_workbook, workbook_bytes
from quanwang.insight import services
from quanwang.insight.catalog import LABELS
from quanwang.insight.choices import Engine, LifecycleStage, ValueTier
from quanwang.insight.churn import ModelRegistry
from quanwang.insight.compare import comparison
from quanwang.insight.dashboard import customer_value
from quanwang.insight.forms import PipelineForm
from quanwang.insight.offnet import offnet_report
from quanwang.insight.snapshots import Snapshot, SnapshotStore

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _guard(request: HttpRequest) -> None:
    if not has_grant(request.user, resource=Resource.INSIGHT, action=Action.VIEW):
        raise Http404


def _chosen(value: str) -> Snapshot | None:
    """`2024-06/<run id>` from a query string, or the newest complete snapshot."""
    month, _sep, run_id = value.partition("/")
    return services.find_snapshot(month=month or None, run_id=run_id or None)


def _snapshot_options() -> list[tuple[Snapshot, str]]:
    """The snapshots to choose from, each with its engine's name."""
    engines = dict(Engine.choices)
    return [(s, engines.get(s.engine, s.engine)) for s in SnapshotStore().list()]


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    _guard(request)
    snapshot = _chosen(request.GET.get("snapshot", ""))
    context: dict[str, Any] = {
        "snapshot": snapshot,
        "snapshot_options": _snapshot_options(),
        "can_run": has_grant(request.user, resource=Resource.INSIGHT, action=Action.ADD),
        "form": PipelineForm(),
    }
    if snapshot is not None:
        page = customer_value(user=request.user, snapshot=snapshot)
        report, risk = page.report, page.risk
        context |= {
            "report": report,
            "grids": page.grids[:50],
            "grid_names": unit_names(g["grid_id"] for g in page.grids[:50]),
            "grid_map": page.grid_map,
            "lifecycle": page.lifecycle,
            "funnel": page.funnel,
            "chart": {
                "tiers": [str(row.tier.label) for row in report.rows],
                "customers": [row.customers for row in report.rows],
                "revenue_share": [round(100 * row.revenue_share, 1) for row in report.rows],
                "clv": [
                    None if row.clv_12m is None else round(row.clv_12m, 2) for row in report.rows
                ],
                "lifecycle": [[str(stage.label), n] for stage, n in page.lifecycle],
                "funnel": [[label, n] for label, n in page.funnel],
                "bands": [band for band, _n in page.histogram],
                "band_counts": [n for _band, n in page.histogram],
                "risk_bands": [band for band, _n in risk["bands"]] if risk else [],
                "risk_counts": [n for _band, n in risk["bands"]] if risk else [],
            },
            "risk": risk,
            "drivers": [
                (LABELS.get(code, (code, code)), n) for code, n in (risk or {}).get("drivers", [])
            ],
        }
    return render(request, "insight/dashboard.html", context)


@login_required
@require_POST
def run(request: HttpRequest) -> HttpResponse:
    _guard(request)
    form = PipelineForm(request.POST)
    home = home_unit(user=request.user, resource=Resource.INSIGHT, action=Action.ADD)
    if home is None:
        raise Http404
    if form.is_valid():
        try:
            job = services.start_pipeline(
                actor=request.user,
                month=form.cleaned_data["month"],
                engine=Engine(form.cleaned_data["engine"]),
                org_unit=home,
            )
        except ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            return redirect("core:job-detail", pk=job.pk)
    return render(
        request,
        "insight/dashboard.html",
        {"snapshot": None, "snapshot_options": _snapshot_options(), "can_run": True, "form": form},
    )


@dataclass(frozen=True)
class MigrationRow:
    label: str
    cells: list[int]
    total: int  # the row's customers: a tier's before, or the new and moved in


@login_required
def compare(request: HttpRequest) -> HttpResponse:
    _guard(request)
    snapshots = SnapshotStore().list()
    before = _chosen(request.GET.get("before", "")) if request.GET.get("before") else None
    after = _chosen(request.GET.get("after", "")) if request.GET.get("after") else None
    if before is None and len(snapshots) > 1:
        before, after = snapshots[1], snapshots[0]
    header: list[str] = []
    matrix: list[MigrationRow] = []
    column_totals: list[int] = []
    drift: list[tuple[tuple[str, str], float]] = []
    if before is not None and after is not None:
        found = comparison(user=request.user, before=before, after=after)
        drift = [(LABELS.get(name, (name, name)), psi) for name, psi in found.drift]
        migration = found.migration
        labels = dict(ValueTier.choices) | dict(services.Migration.choices)
        header = [str(labels[t]) for t in migration.targets]
        matrix = [
            MigrationRow(label=str(labels[source]), cells=cells, total=sum(cells))
            for source, cells in migration.rows()
        ]
        column_totals = [sum(column) for column in zip(*(r.cells for r in matrix), strict=True)]
        column_totals.append(sum(column_totals))
    return render(
        request,
        "insight/compare.html",
        {
            "snapshots": snapshots,
            "before": before,
            "after": after,
            "header": header,
            "matrix": matrix,
            "column_totals": column_totals,
            "drift": drift,
        },
    )


def _xlsx(filename: str, title: str, header: list[str], rows: list[list[Any]]) -> HttpResponse:
    book = new_workbook()
    sheet = book.active
    sheet.title = title
    append_row(sheet, header)
    for row in rows:
        append_row(sheet, row)
    response = HttpResponse(workbook_bytes(book), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _snapshot_or_404(request: HttpRequest) -> Snapshot:
    _guard(request)
    snapshot = _chosen(request.GET.get("snapshot", ""))
    if snapshot is None:
        raise Http404
    return snapshot


@login_required
def grids_xlsx(request: HttpRequest) -> HttpResponse:
    snapshot = _snapshot_or_404(request)
    rows = customer_value(user=request.user, snapshot=snapshot).grids
    header = [
        _("Grid"), _("Customers"), _("Revenue"), _("Key and large"), _("Switching cost"),
        _("Churn risk %"),
    ]  # fmt: skip
    return _xlsx(
        f"grids-{snapshot.month}.xlsx",
        snapshot.month,
        header,
        [
            [
                row["grid_id"],
                row["customers"],
                row["revenue"],
                row["key_and_large"],
                row["switching_cost"],
                row["churn_risk_percent"],
            ]
            for row in rows
        ],
    )


@login_required
def tiers_xlsx(request: HttpRequest) -> HttpResponse:
    snapshot = _snapshot_or_404(request)
    report = customer_value(user=request.user, snapshot=snapshot).report
    header = [
        _("Tier"), _("Customers"), _("Share of customers"), _("Revenue"), _("Share of revenue"),
        _("12-month CLV (mean)"),
    ]  # fmt: skip
    return _xlsx(
        f"tiers-{snapshot.month}.xlsx",
        snapshot.month,
        header,
        [
            [
                str(row.tier.label),
                row.customers,
                round(row.customer_share, 4),
                round(row.revenue, 2),
                round(row.revenue_share, 4),
                None if row.clv_12m is None else round(row.clv_12m, 2),
            ]
            for row in report.rows
        ],
    )


@login_required
def offnet_xlsx(request: HttpRequest) -> HttpResponse:
    """The user's win-over targets as a list to work from, strongest first."""
    snapshot = _snapshot_or_404(request)
    if not (snapshot.path / "offnet_pool").exists():
        raise Http404
    targets = services.offnet_targets(
        user=request.user, snapshot=snapshot, limit=services.POOL_EXPORT_LIMIT
    )
    header = [
        _("Number (hash)"), _("Operator"), _("Our customers calling"), _("Calls"), _("Minutes"),
        _("Referrer"), _("Grid"), _("Tie strength"),
    ]  # fmt: skip
    return _xlsx(
        f"offnet-pool-{snapshot.month}.xlsx",
        snapshot.month,
        header,
        [
            [
                t["target"],
                t["peer_operator"],
                t["our_ties"],
                t["calls"],
                t["minutes"],
                t["referrer_id"],
                t["referrer_grid_id"],
                t["tie_strength"],
            ]
            for t in targets
        ],
    )


@login_required
def customer_panel(request: HttpRequest, subscriber_id: str) -> HttpResponse:
    """The customer 360's insight panel: tier, CLV, switching cost, lifecycle stage, 5G
    propensity, churn risk and its reasons."""
    _guard(request)
    found = services.customer_insight(user=request.user, subscriber_id=subscriber_id)
    if found is not None:
        found["tier_label"] = ValueTier(found["value_tier"]).label
        risk = found.get("churn_risk")
        found["risk_percent"] = None if risk is None else round(100 * risk, 1)
        stage = found.get("lifecycle_stage")
        found["stage_label"] = None if stage is None else LifecycleStage(stage).label
        upgrade = found.get("upgrade_5g_propensity")
        found["upgrade_percent"] = None if upgrade is None else round(100 * upgrade)
    return render(request, "insight/_customer_panel.html", {"insight": found})


@login_required
def models(request: HttpRequest) -> HttpResponse:
    """Churn models: AUC, lift by decile and calibration of each, newest first."""
    _guard(request)
    registered = ModelRegistry().list()
    chosen = next((m for m in registered if m.model_id == request.GET.get("model")), None)
    model = chosen or (registered[0] if registered else None)
    chart = {}
    if model is not None:
        bins = model.metrics["calibration"]
        chart = {
            "deciles": list(range(1, 11)),
            "lift": [round(x, 2) for x in model.metrics["lift_by_decile"]],
            "predicted": [round(100 * b["predicted"], 2) for b in bins],
            "observed": [round(100 * b["observed"], 2) for b in bins],
        }
    importance = [
        (LABELS.get(name, (name, name)), share)
        for name, share in (model.importance() if model else [])
    ]
    return render(
        request,
        "insight/models.html",
        {"models": registered, "model": model, "chart": chart, "importance": importance},
    )


@login_required
def offnet(request: HttpRequest) -> HttpResponse:
    """异网策反目标池: competitors' numbers tied to our customers, with the best referrer."""
    _guard(request)
    snapshot = _chosen(request.GET.get("snapshot", ""))
    report = None
    if snapshot is not None and (snapshot.path / "offnet_pool").exists():
        report = offnet_report(user=request.user, snapshot=snapshot)
    chart = {
        "operators": [row["operator"] for row in (report or {}).get("by_operator", [])],
        "numbers": [row["numbers"] for row in (report or {}).get("by_operator", [])],
    }
    grid_names = unit_names(t["referrer_grid_id"] for t in (report or {}).get("targets", []))
    return render(
        request,
        "insight/offnet.html",
        {"snapshot": snapshot, "report": report, "chart": chart, "grid_names": grid_names},
    )
