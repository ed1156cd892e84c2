"""The grid assignment's place in the jobs: every customer, store and enterprise with
coordinates placed in the grid polygons, kept as a new run (channels.geo.runs) and made what
every reader of the warehouse sees (channels.geo.placing).

- before each nightly snapshot (core.nightly), so the wide table, the scorecards and the
  store file count each customer in the grid its coordinates lie in;
- after each import of a placed table or of the grids (data.after_import), so an import never
  leaves readers on its rows' imported grids until the night. Registered before the store
  file's sync (channels.job_handlers imports geo first), which then reads the placed stores.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy

from quanwang.channels.geo.choices import PointKind
from quanwang.channels.geo.polygons import grid_shapes
from quanwang.channels.geo.runs import assign_all
from quanwang.core import nightly
from quanwang.data.after_import import after_import
from quanwang.data.warehouse import Warehouse
from quanwang.insight.choices import Engine


@nightly.before_snapshot("geo", gettext_lazy("Grid assignment by coordinates"))
def nightly_assignment(engine: str) -> dict[str, Any]:
    # On the engine that builds the snapshot: a Spark deployment assigns on Spark.
    run = assign_all(engine=Engine(engine))
    return {"run": run.run_id}


def assign_after_import() -> dict[str, str]:
    store = Warehouse()
    if not len(grid_shapes(store)):
        # No grid has a boundary: every row keeps its imported grid, nothing to place; a
        # copy placed by older boundaries no longer holds.
        for kind in PointKind:
            store.drop_placed(kind.value)
        return {}
    run = assign_all(store=store)
    return {"grid_assignment": run.run_id}


for _table in (*PointKind.values, "grids"):
    after_import(_table, "grid_assignment")(assign_after_import)
