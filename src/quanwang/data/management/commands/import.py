"""`quanwang import TABLE FILE`: runs an import job in the foreground with a progress bar."""

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from quanwang.core.choices import Action, JobKind, JobStatus, Resource
from quanwang.core.jobs import execute_job, quarantine_path
from quanwang.core.models import Job
from quanwang.core.services.jobs import start_job
from quanwang.core.services.orgs import units_granting

TABLES = {"org-units": JobKind.IMPORT_ORG_UNITS}


class Command(BaseCommand):
    help = _("Import a CSV file into a table (tables: %(tables)s).") % {"tables": ", ".join(TABLES)}

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("table", choices=sorted(TABLES))
        parser.add_argument("file", type=Path)
        parser.add_argument("--encoding", help=_("utf-8 or gbk; detected if omitted"))
        parser.add_argument(
            "--user", help=_("Run as this user, within their scope (default: system)")
        )
        parser.add_argument("--background", action="store_true", help=_("Queue for the worker"))

    def handle(self, *args: Any, **options: Any) -> None:
        source: Path = options["file"]
        if not source.is_file():
            raise CommandError(_("File not found: %(path)s") % {"path": source})
        actor = None
        org_unit = None
        if options["user"]:
            actor = get_user_model().objects.filter(username=options["user"]).first()
            if actor is None:
                raise CommandError(_("No such user: %(u)s") % {"u": options["user"]})
            org_unit = (
                units_granting(user=actor, resource=Resource.JOB, action=Action.ADD)
                .order_by("path")
                .first()
            )
            if org_unit is None and not actor.is_superuser:
                raise CommandError(_("This user may not run jobs."))
        job = start_job(
            actor=actor,
            kind=TABLES[options["table"]],
            org_unit=org_unit,
            params={
                "path": str(source.resolve()),
                "filename": source.name,
                "encoding": options["encoding"],
            },
            background=options["background"],
        )
        if options["background"]:
            self.stdout.write(_("Queued job #%(id)d.") % {"id": job.pk})
            return
        job = self._run_with_progress(job)
        self._report(job)

    def _run_with_progress(self, job: Job) -> Job:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            transient=False,
        ) as progress:
            bar = progress.add_task(_("Starting"), total=None)

            def listen(current: Job) -> None:
                progress.update(
                    bar,
                    completed=current.done,
                    total=current.total,
                    description=current.stage or _("Working"),
                )

            return execute_job(job_id=job.pk, listener=listen)

    def _report(self, job: Job) -> None:
        result = job.result or {}
        for line in result.get("errors", []):
            self.stderr.write(line)
        if job.status != JobStatus.SUCCEEDED:
            raise CommandError(job.error or job.get_status_display())
        self.stdout.write(
            _(
                "Read %(rows_read)d rows: %(loaded)d loaded "
                "(%(created)d new, %(updated)d changed), %(quarantined)d quarantined."
            )
            % result
        )
        if result.get("quarantine_file"):
            path = quarantine_path(result["quarantine_file"])
            self.stdout.write(_("Rejected rows: %(f)s") % {"f": path})
