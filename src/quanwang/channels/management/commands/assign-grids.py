"""`quanwang assign-grids`: place customers, stores and enterprises in the grid polygons."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from quanwang.channels.geo.choices import How
from quanwang.channels.geo.runs import assign_all, runs
from quanwang.data.labels import label
from quanwang.data.schema import TABLES
from quanwang.insight.choices import Engine
from quanwang.insight.engines import EngineUnavailable, connect


class Command(BaseCommand):
    help = _(
        "Place customers, stores and enterprises with coordinates in the grid whose polygon "
        "holds them (those without keep their imported grid); list those outside every grid."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--engine", choices=[e.value for e in Engine], default=Engine.DUCKDB.value
        )
        parser.add_argument("--list", action="store_true", help=_("list the kept runs and stop"))

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            for kept in runs():
                outside = sum(c.get(How.UNASSIGNED.value, 0) for c in kept.counts.values())
                self.stdout.write(
                    f"{kept.run_id}  {kept.manifest.get('engine', ''):<6} "
                    f"{kept.manifest.get('seconds', 0):>8.1f}s  "
                    + _("%(n)d outside every grid")
                    % {"n": outside}
                )
            return
        engine = Engine(options["engine"])
        if engine is Engine.SPARK:
            try:  # fail here, in one line, rather than halfway
                connect(engine)
            except EngineUnavailable as exc:
                raise CommandError(str(exc)) from exc
        run = assign_all(engine=engine)
        index = run.manifest.get("index") or {}
        self.stdout.write(
            _("Grids with a boundary: %(grids)d (without: %(without)d); cell side %(delta)s°.")
            % {
                "grids": run.manifest["grids_with_boundary"],
                "without": run.manifest["grids_without_boundary"],
                "delta": f"{index.get('delta', 0):.6f}",
            }
        )
        labels = dict(How.choices)
        for table, counts in run.counts.items():
            shown = ", ".join(f"{labels[how]} {counts.get(how, 0):,}" for how in labels)
            self.stdout.write(f"{label(TABLES[table])}: {shown}")
        self.stdout.write(
            _("Run %(run)s on %(engine)s in %(seconds).1f s.")
            % {"run": run.run_id, "engine": engine.value, "seconds": run.manifest["seconds"]}
        )
