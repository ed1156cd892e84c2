"""`quanwang evaluate-experiment FILE --group COL --treated A --control B --outcome visit,conversion
--revenue spend [--out REPORT.xlsx|.csv]`: the lift of each outcome of a two-arm experiment, with
95% intervals, printed and written as a report beside the file (or to --out)."""

# The command's name is its file's name, hyphen included.
# ruff: noqa: N999
from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from quanwang.campaigns.evaluation import DEFAULT_CONFIDENCE
from quanwang.campaigns.experiment_report import default_report_path, text_table, write_report
from quanwang.campaigns.experiments import (
    ExperimentDesign,
    ExperimentError,
    evaluate_file,
    split_names,
)


class Command(BaseCommand):
    help = _(
        "Evaluate a two-arm experiment from a file (CSV, XLSX, Parquet): each outcome's rate or "
        "mean in both arms and the lift with its confidence interval."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help=_("the experiment's file, one row per customer"))
        parser.add_argument("--group", required=True, help=_("the column naming each row's arm"))
        parser.add_argument("--treated", required=True, help=_("the treated arm's value"))
        parser.add_argument("--control", required=True, help=_("the control arm's value"))
        parser.add_argument(
            "--outcome",
            default="",
            help=_("yes/no (0/1) columns, comma-separated: compared by rate"),
        )
        parser.add_argument(
            "--revenue", default="", help=_("amount columns, comma-separated: compared by mean")
        )
        parser.add_argument(
            "--confidence",
            type=float,
            default=DEFAULT_CONFIDENCE,
            help=_("the intervals' confidence (default 0.95)"),
        )
        parser.add_argument(
            "--out",
            help=_("the report to write, .xlsx or .csv (default: FILE-lifts.xlsx beside the file)"),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        design = ExperimentDesign(
            group=options["group"],
            treated=options["treated"],
            control=options["control"],
            outcomes=split_names(options["outcome"]),
            revenue=split_names(options["revenue"]),
            confidence=options["confidence"],
        )
        out = Path(options["out"]) if options["out"] else default_report_path(path)
        if out.suffix.lower() not in {".csv", ".xlsx"}:
            raise CommandError(_("--out: name a .xlsx or .csv file"))
        try:
            result = evaluate_file(path=path, design=design)
        except ExperimentError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(text_table(result))
        try:
            write_report(result, out)
        except OSError as exc:
            raise CommandError(
                _("%(file)s: cannot write the report (%(reason)s)")
                % {"file": out, "reason": exc.strerror or exc}
            ) from exc
        self.stdout.write(_("Report written to %(file)s") % {"file": out})
