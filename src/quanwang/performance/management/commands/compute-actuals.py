# ruff: noqa: N999 (the command is named with a hyphen, like the others)
"""`quanwang compute-actuals [--as-of 2024-12-20] [--full] [--engine spark]`: synchronise who
holds which grid and account, compute every KPI's actuals for the open periods (only the
months whose facts changed unless --full) and print what was recomputed and the time."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from quanwang.core.errors import ServiceError
from quanwang.core.terminal import OneLineErrors
from quanwang.insight.choices import Engine
from quanwang.insight.engines import EngineUnavailable
from quanwang.performance.actuals.services import run_actuals


class Command(OneLineErrors, BaseCommand):
    help = _("Compute the KPI actuals of the open periods (incrementally).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--as-of", help=_("the business day, e.g. 2024-12-20 (default: the newest fact day)")
        )
        parser.add_argument("--full", action="store_true", help=_("recompute every month"))
        parser.add_argument(
            "--engine", choices=[e.value for e in Engine], default=Engine.DUCKDB.value,
            help=_("the engine the facts are read on"),
        )  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        as_of = None
        if options["as_of"]:
            try:
                as_of = dt.date.fromisoformat(options["as_of"])
            except ValueError as exc:
                raise CommandError(
                    _("--as-of: “%(value)s” is not a day (write 2024-12-20).")
                    % {"value": options["as_of"]}
                ) from exc
        try:
            result = run_actuals(
                as_of=as_of, full=options["full"], engine=Engine(options["engine"])
            )
        except (ServiceError, EngineUnavailable) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            _(
                "Actuals as of %(as_of)s: %(rows)d values, %(recomputed)d KPI-months "
                "recomputed (%(seconds).1f s)."
            )
            % result
        )
        for code in result["recomputed_kpis"]:
            self.stdout.write(f"  {code}")
        for code, tables in result["skipped"].items():
            self.stdout.write(
                _("  %(kpi)s left out: missing %(tables)s")
                % {"kpi": code, "tables": ", ".join(tables)}
            )
        timings = ", ".join(f"{k} {v:.2f} s" for k, v in result["timings"].items())
        self.stdout.write(_("Timings: %(timings)s") % {"timings": timings})
