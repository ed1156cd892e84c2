"""The grid assignment's nightly step: every customer, store and enterprise with coordinates
placed in the grid polygons, kept as a new run (channels.geo.runs)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy

from quanwang.channels.geo.runs import assign_all
from quanwang.core import nightly
from quanwang.insight.choices import Engine


@nightly.after_snapshot("geo", gettext_lazy("Grid assignment by coordinates"))
def nightly_assignment(snapshot: Any) -> dict[str, Any]:
    # On the engine that built the snapshot: a Spark deployment assigns on Spark.
    run = assign_all(engine=Engine(getattr(snapshot, "engine", Engine.DUCKDB)))
    return {"run": run.run_id}
