"""Console pages of the omni-channel funnel (全渠道营销公式): the grids' funnels of a month, and
one grid's funnel with its stores'. Thin: the figures are kept per data version
(services.kept), the reach is services.access."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from quanwang.channels.funnel.services.access import visible_grid, visible_grids
from quanwang.channels.funnel.services.kept import Funnels, current_funnels
from quanwang.channels.funnel.services.read import FunnelMonth, grid_month, store_month
from quanwang.channels.models import Store
from quanwang.core.choices import Action, Reach, Resource
from quanwang.core.querysets import has_grant

PAGE_SIZE = 50


@dataclass(frozen=True)
class Row:
    code: str
    name: str
    funnel: FunnelMonth | None
    pk: int | None = None


def _guard(request: HttpRequest) -> None:
    # Grids' funnels are for those who follow stores over a subtree; a partner's login sees
    # its own store's funnel on its own page.
    if not has_grant(request.user, resource=Resource.STORE, action=Action.VIEW, only=Reach.SUBTREE):
        raise Http404


def _chosen_month(request: HttpRequest, funnels: Funnels | None) -> str | None:
    if funnels is None or not funnels.months:
        return None
    asked = request.GET.get("month", "")
    return asked if asked in funnels.months else funnels.months[-1]


@login_required
def funnel_index(request: HttpRequest) -> HttpResponse:
    _guard(request)
    funnels = current_funnels()
    month = _chosen_month(request, funnels)
    grids = visible_grids(request.user).order_by("code")
    held = set(funnels.grids) if funnels is not None else set()
    page = Paginator(
        [g for g in grids.only("pk", "code", "name") if g.code in held], PAGE_SIZE
    ).get_page(request.GET.get("page"))
    rows = [
        Row(
            code=g.code,
            name=g.name,
            funnel=grid_month(funnels, g.code, month) if funnels and month else None,
        )
        for g in page
    ]
    return render(
        request,
        "channels/funnel/index.html",
        {
            "months": list(reversed(funnels.months)) if funnels else [],
            "month": month,
            "page": page,
            "rows": rows,
        },
    )


@login_required
def funnel_grid(request: HttpRequest, code: str) -> HttpResponse:
    _guard(request)
    grid = visible_grid(request.user, code)
    if grid is None:
        raise Http404
    funnels = current_funnels()
    month = _chosen_month(request, funnels)
    stores = Store.objects.restrict(request.user).filter(grid_id=grid.code).order_by("store_id")
    rows: list[Row] = []
    if funnels is not None and month is not None:
        rows = [
            Row(
                code=s.store_id,
                name=s.name,
                pk=s.pk,
                funnel=store_month(funnels, s.store_id, month),
            )
            for s in stores.only("pk", "store_id", "name")
        ]
    context: dict[str, Any] = {
        "grid": grid,
        "months": list(reversed(funnels.months)) if funnels else [],
        "month": month,
        "funnel": grid_month(funnels, grid.code, month) if funnels and month else None,
        "funnel_key": f"grid-{grid.pk}",
        "rows": rows,
    }
    return render(request, "channels/funnel/grid.html", context)
