"""`quanwang import TABLE FILE`: runs an import job in the foreground with a progress bar."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from quanwang.core.choices import JobKind, JobStatus
from quanwang.core.errors import ServiceError
from quanwang.core.jobs import quarantine_path
from quanwang.core.models import Job
from quanwang.core.services.jobs import start_job
from quanwang.core.terminal import command_actor, run_with_progress
from quanwang.data.importer import REJECT_LABELS, Reject
from quanwang.data.schema import TABLES
from quanwang.data.services import start_import
from quanwang.data.sources import DELIMITER_NAMES, ReadOptions

ORG_TREE = "org-units"


class Command(BaseCommand):
    help = _("Import a CSV, XLSX or Parquet file into a table.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "table",
            choices=[ORG_TREE, *sorted(TABLES)],
            help=_("org-units loads the console's org tree; the others are warehouse tables"),
        )
        parser.add_argument("file", type=Path)
        parser.add_argument("--encoding", help=_("utf-8 or gbk; detected if omitted"))
        parser.add_argument(
            "--delimiter",
            choices=sorted(DELIMITER_NAMES),
            help=_("the separator of a text file; detected if omitted"),
        )
        parser.add_argument(
            "--sheet",
            help=_("the sheet of a workbook to load, by name, or all (every sheet in turn)"),
        )
        parser.add_argument(
            "--header-row",
            type=int,
            help=_("the row holding the column names (1 = the first); found if omitted"),
        )
        parser.add_argument("--mapping", help=_("name of a saved column mapping"))
        parser.add_argument(
            "--allow-empty",
            action="store_true",
            help=_("let a file with no good row empty a table it replaces"),
        )
        parser.add_argument(
            "--yes",
            action="store_true",
            help=_("confirm a replace that drops most of the table's rows"),
        )
        parser.add_argument(
            "--user",
            "--as",
            dest="user",
            help=_("Run as this user, within their scope (default: system)"),
        )
        parser.add_argument("--background", action="store_true", help=_("Queue for the worker"))

    def handle(self, *args: Any, **options: Any) -> None:
        source: Path = options["file"]
        if not source.is_file():
            raise CommandError(_("File not found: %(path)s") % {"path": source})
        actor, org_unit = command_actor(options["user"])
        try:
            job = self._start(options, source.resolve(), actor, org_unit)
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        if options["background"]:
            self.stdout.write(_("Queued job #%(id)d.") % {"id": job.pk})
            return
        self._report(run_with_progress(job))

    def _start(self, options: dict[str, Any], source: Path, actor: Any, org_unit: Any) -> Job:
        if options["table"] == ORG_TREE:
            return start_job(
                actor=actor,
                kind=JobKind.IMPORT_ORG_UNITS,
                org_unit=org_unit,
                params={
                    "path": str(source),
                    "filename": source.name,
                    "encoding": options["encoding"],
                },
                background=options["background"],
            )
        return start_import(
            actor=actor,
            table=options["table"],
            path=source,
            filename=source.name,
            org_unit=org_unit,
            options=ReadOptions.from_params(
                encoding=options["encoding"],
                delimiter=options["delimiter"],
                sheet=options["sheet"],
                header_row=options["header_row"],
            ),
            mapping_name=options["mapping"],
            allow_empty=options["allow_empty"],
            confirm_replace=options["yes"],
            background=options["background"],
        )

    def _report(self, job: Job) -> None:
        result = job.result or {}
        for line in result.get("errors", []):
            self.stderr.write(line)
        if job.status != JobStatus.SUCCEEDED:
            raise CommandError(job.error or job.get_status_display())
        self.stdout.write(
            _("Read %(rows_read)d rows: %(loaded)d loaded, %(quarantined)d quarantined.") % result
        )
        for reason, count in (result.get("by_reason") or {}).items():
            self.stdout.write(f"  {REJECT_LABELS.get(Reject(reason), reason)}: {count}")
        if result.get("unused_columns"):
            self.stdout.write(
                _("Columns not loaded: %(c)s") % {"c": ", ".join(result["unused_columns"])}
            )
        if result.get("quarantine_file"):
            path = quarantine_path(result["quarantine_file"])
            self.stdout.write(_("Rejected rows: %(f)s") % {"f": path})
