"""`quanwang import TABLE FILE`: runs an import job in the foreground with a progress bar.

Its exit status tells a script what happened (docs/imports.md): ImportExit.
"""

import os
import sys
from enum import IntEnum
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from quanwang.core.choices import JobKind, JobStatus
from quanwang.core.errors import ServiceError
from quanwang.core.jobs import quarantine_path
from quanwang.core.models import Job
from quanwang.core.services.jobs import start_job
from quanwang.core.terminal import OneLineErrors, command_actor, run_with_progress
from quanwang.data.importer import REJECT_LABELS
from quanwang.data.schema import TABLES
from quanwang.data.services import start_import
from quanwang.data.sources import DELIMITER_NAMES, ReadOptions

ORG_TREE = "org-units"


class ImportExit(IntEnum):
    """The exit status of `quanwang import`. 2 is left to what it means for every command: the
    command line or the settings are wrong (argparse, and `quanwang` itself before the command
    runs, say so with 2)."""

    LOADED = 0  # every row read loaded (a file with no data row included)
    FAILED = 1  # nothing changed: the file, mapping, table or user was refused
    SOME_QUARANTINED = 3  # the good rows loaded; the others are in the rejected-rows file
    NOTHING_LOADED = 4  # rows were read and every one was quarantined


def exit_status(result: dict[str, Any]) -> ImportExit:
    """What a finished import's result says to a script."""
    quarantined = int(result.get("quarantined") or 0)
    if quarantined == 0:
        return ImportExit.LOADED
    if int(result.get("loaded") or 0) == 0:
        return ImportExit.NOTHING_LOADED
    return ImportExit.SOME_QUARANTINED


class Command(OneLineErrors, BaseCommand):
    help = _(
        "Import a CSV, XLSX or Parquet file into a table. Exit status: 0 every row loaded, "
        "1 failed (nothing changed), 2 a wrong command line, 3 some rows quarantined, "
        "4 every row quarantined."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        # Checked in handle, not by argparse: its refusal is English and many lines long.
        parser.add_argument(
            "table",
            metavar="TABLE",
            help=_("org-units loads the console's org tree; the others are warehouse tables: "
                   "%(tables)s")
            % {"tables": ", ".join(sorted(TABLES))},
        )  # fmt: skip
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
        table = options["table"]
        if table != ORG_TREE and table not in TABLES:
            raise CommandError(
                _("Unknown table %(t)s; the tables are %(tables)s.")
                % {"t": table, "tables": ", ".join([ORG_TREE, *sorted(TABLES)])}
            )
        source: Path = options["file"]
        if not source.is_file():
            raise CommandError(_("File not found: %(path)s") % {"path": source})
        if not os.access(source, os.R_OK):
            raise CommandError(
                _("%(file)s: the file cannot be read (permission denied)") % {"file": source.name}
            )
        actor, org_unit = command_actor(options["user"])
        try:
            job = self._start(options, source.resolve(), actor, org_unit)
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        if options["background"]:
            self.stdout.write(_("Queued job #%(id)d.") % {"id": job.pk})
            return
        status = self._report(run_with_progress(job))
        if status is not ImportExit.LOADED and getattr(self, "_called_from_command_line", False):
            sys.exit(status)

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

    def _report(self, job: Job) -> ImportExit:
        result = job.result or {}
        for line in result.get("errors", []):
            self.stderr.write(line)
        if job.status != JobStatus.SUCCEEDED:
            raise CommandError(job.error or job.get_status_display())
        self.stdout.write(
            _("Read %(rows_read)d rows: %(loaded)d loaded, %(quarantined)d quarantined.") % result
        )
        labels = {str(code): label for code, label in REJECT_LABELS.items()}
        for reason, count in (result.get("by_reason") or {}).items():
            self.stdout.write(f"  {labels.get(reason, reason)}: {count}")
        if result.get("updated_columns"):
            self.stdout.write(
                _("Columns updated: %(c)s") % {"c": ", ".join(result["updated_columns"])}
            )
        if result.get("unused_columns"):
            self.stdout.write(
                _("Columns not loaded: %(c)s") % {"c": ", ".join(result["unused_columns"])}
            )
        for note in result.get("notes") or []:  # how a workbook was read
            self.stdout.write(note)
        if result.get("quarantine_file"):
            path = quarantine_path(result["quarantine_file"])
            self.stdout.write(_("Rejected rows: %(f)s") % {"f": path})
        return exit_status(result)
