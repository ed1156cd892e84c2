"""Console pages of the geo part: the grid map, its data, the unassigned list, the overlaps and
a grid's customers, stores and enterprises. Thin: the services narrow every read to the
user's scope."""

from __future__ import annotations

import re

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified, JsonResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from quanwang.channels.geo import mapdata, services
from quanwang.channels.geo.choices import How, PointKind
from quanwang.channels.geo.polygons import grid_shapes
from quanwang.channels.geo.runs import latest_run
from quanwang.core.choices import Action, Resource
from quanwang.core.errors import NotFound
from quanwang.core.formatting import unit_names
from quanwang.core.querysets import has_grant
from quanwang.data.geometry import OVERLAP_RULE

COLUMN_LABELS = {
    "name": _("Name"),
    "msisdn": _("Mobile number"),
    "status": _("Status"),
    "store_type": _("Type"),
    "grade": _("Grade"),
    "industry": _("Industry"),
}
MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
GRID_PLACEHOLDER = "GRID-CODE"


def _guard(request: HttpRequest, resource: Resource = Resource.GRID_SCORECARD) -> None:
    if not has_grant(request.user, resource=resource, action=Action.VIEW):
        raise Http404


def _default_month() -> str:
    """The newest month the scorecards hold (the data may end before today), else last month."""
    try:
        from quanwang.channels.scorecards.services import newest_month
    except ImportError:  # the scorecards part is optional to the map
        newest = None
    else:
        newest = newest_month()
    if newest:
        return newest
    today = timezone.localdate()
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def _scorecard_url() -> str:
    """The grid page's URL with GRID_PLACEHOLDER for its code, or '' until it exists."""
    for kwargs in ({"code": GRID_PLACEHOLDER}, {"grid_id": GRID_PLACEHOLDER}, None):
        try:
            if kwargs is None:
                return reverse("channels:scorecards-grid", args=[GRID_PLACEHOLDER])
            return reverse("channels:scorecards-grid", kwargs=kwargs)
        except NoReverseMatch:
            continue
    return ""


def _store_url() -> str:
    """The store page's URL with GRID_PLACEHOLDER for its ID, or '' until it exists."""
    try:
        return reverse("channels:stores-detail", kwargs={"store_id": GRID_PLACEHOLDER})
    except NoReverseMatch:
        return ""


def _page_number(request: HttpRequest) -> int:
    try:
        return int(request.GET.get("page", "1"))
    except ValueError:
        return 1


@login_required
@require_GET
def grid_map(request: HttpRequest) -> HttpResponse:
    _guard(request)
    scope = services.scope_for(request.user)
    shapes = grid_shapes()
    counties = sorted(
        {c for g, c in zip(shapes.ids, shapes.counties, strict=True) if mapdata.visible(scope, g)}
    )
    names = unit_names(counties)
    kinds = [
        k
        for k in PointKind
        if has_grant(request.user, resource=services.RESOURCES[k], action=Action.VIEW)
    ]
    points_url = reverse(
        "channels:geo-grid-points", kwargs={"grid_id": GRID_PLACEHOLDER, "kind": "KIND"}
    )
    month = request.GET.get("month", "")
    setup = {
        "shapes": reverse("channels:geo-map-shapes"),
        "values": reverse("channels:geo-map-values"),
        "scorecard": _scorecard_url(),
        "points": points_url,
        "placeholder": GRID_PLACEHOLDER,
        "kinds": [[k.value, str(k.label)] for k in kinds],
        "counties": {c: names.get(c) or c for c in counties},
        "text": {
            "all": str(_("All counties")),
            "no_value": str(_("no value")),
            "empty": str(_("None of your grids has a boundary.")),
            "scorecard": str(_("Grid scorecard")),
            "unavailable": str(
                _(
                    "This KPI has no values for the month chosen; the grids are drawn without "
                    "colours."
                )
            ),
        },
    }
    return render(
        request,
        "channels/geo/map.html",
        {
            "kpis": mapdata.kpi_choices(),
            "kpi": request.GET.get("kpi", mapdata.OWN_KPIS[0][0]),
            "month": month if MONTH.match(month) else _default_month(),
            "counties": [(c, names.get(c) or c) for c in counties],
            "has_grids": bool(len(shapes)),
            "setup": setup,
            "run": latest_run(),
        },
    )


@login_required
@require_GET
def map_shapes(request: HttpRequest) -> HttpResponse:
    """The outlines of the user's grids; 304 while the grids and the scope are unchanged."""
    _guard(request)
    body, tag = mapdata.outlines_json(services.scope_for(request.user))
    if request.headers.get("If-None-Match") == tag:
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type="application/json")
    response["ETag"] = tag
    response["Cache-Control"] = "private, no-cache"
    return response


@login_required
@require_GET
def map_values(request: HttpRequest) -> JsonResponse:
    _guard(request)
    kpi = request.GET.get("kpi") or mapdata.OWN_KPIS[0][0]
    month = request.GET.get("month") or _default_month()
    if kpi not in dict(mapdata.kpi_choices()) or not MONTH.match(month):
        raise Http404
    values = mapdata.kpi_values(kpi=kpi, month=month, scope=services.scope_for(request.user))
    return JsonResponse({"kpi": kpi, "month": month, "available": values is not None,
                         "values": values or {}})  # fmt: skip


def _kind(value: str) -> PointKind:
    try:
        return PointKind(value)
    except ValueError as exc:
        raise Http404 from exc


@login_required
@require_GET
def unassigned(request: HttpRequest) -> HttpResponse:
    _guard(request, Resource.CUSTOMER)
    kind = _kind(request.GET.get("kind", PointKind.SUBSCRIBERS.value))
    if not has_grant(request.user, resource=services.RESOURCES[kind], action=Action.VIEW):
        raise Http404
    listing = services.unassigned(user=request.user, kind=kind, page=_page_number(request))
    counts = services.unassigned_counts(user=request.user)
    grids = [row["imported_grid_id"] for row in listing.rows if row["imported_grid_id"]]
    return render(
        request,
        "channels/geo/unassigned.html",
        {
            "kind": kind,
            "kinds": [(value, label, counts.get(value, 0)) for value, label in PointKind.choices],
            "listing": listing,
            "grid_names": unit_names(grids),
        },
    )


@login_required
@require_GET
def overlaps(request: HttpRequest) -> HttpResponse:
    _guard(request)
    pairs = services.overlaps_for(user=request.user)
    shapes = grid_shapes()
    names = dict(zip(shapes.ids, shapes.names, strict=True))
    return render(
        request,
        "channels/geo/overlaps.html",
        {
            "pairs": [
                {
                    "pair": pair,
                    "first_name": names.get(pair.first, ""),
                    "second_name": names.get(pair.second, ""),
                    "share": round(pair.share * 100, 1),
                }
                for pair in pairs
            ],
            "rule": OVERLAP_RULE,
            "without_boundary": len(shapes.without_boundary),
            "with_boundary": len(shapes),
        },
    )


@login_required
@require_GET
def grid_points(request: HttpRequest, grid_id: str, kind: str) -> HttpResponse:
    chosen = _kind(kind)
    _guard(request, services.RESOURCES[chosen])
    try:
        listing = services.grid_points(
            user=request.user, grid_id=grid_id, kind=chosen, page=_page_number(request)
        )
    except NotFound as exc:
        raise Http404 from exc
    hows = dict(How.choices)
    store_url = _store_url() if chosen is PointKind.STORES else ""
    return render(
        request,
        "channels/geo/grid_points.html",
        {
            "grid_id": grid_id,
            "grid_name": unit_names([grid_id]).get(grid_id, ""),
            "kind": chosen,
            "labels": [COLUMN_LABELS[c] for c in services.COLUMNS[chosen]],
            "rows": [
                {
                    "id": row["id"],
                    "url": store_url.replace(GRID_PLACEHOLDER, row["id"]) if store_url else "",
                    "values": [row[c] for c in services.COLUMNS[chosen]],
                    "how_label": hows.get(row["how"], ""),
                }
                for row in listing.rows
            ],
            "listing": listing,
            "scorecard": _scorecard_url().replace(GRID_PLACEHOLDER, grid_id),
        },
    )
