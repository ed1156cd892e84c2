"""The demo operator's geo (built by `quanwang demo`, after the campaigns): the generated
city's grids carry hexagon boundaries (data.generator), so the demo places its customers,
stores and enterprises in them and prepares what the map and overlaps pages read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext as _

from quanwang.channels.geo import mapdata, services
from quanwang.channels.geo.polygons import grid_shapes
from quanwang.channels.geo.runs import assign_all


def build_demo(*, say: Callable[[str], Any]) -> None:
    shapes = grid_shapes()
    if not len(shapes):
        say(_("Grid map: no grid has a boundary; nothing to place."))
        return
    run = assign_all()
    mapdata.outlines(shapes)
    overlaps = services.all_overlaps()
    placed = sum(counts.get("polygon", 0) for counts in run.counts.values())
    outside = sum(counts.get("unassigned", 0) for counts in run.counts.values())
    say(
        _(
            "Grid map: %(grids)d grid polygons, %(overlaps)d overlapping pairs; %(placed)d "
            "points placed by polygon, %(outside)d outside every grid (%(seconds).1f s)."
        )
        % {
            "grids": len(shapes),
            "overlaps": len(overlaps),
            "placed": placed,
            "outside": outside,
            "seconds": run.manifest["seconds"],
        }
    )
