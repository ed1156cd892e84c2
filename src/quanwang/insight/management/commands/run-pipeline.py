"""`quanwang run-pipeline --snapshot 2024-06`: build the customer wide table as a job."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from quanwang.core.errors import ServiceError
from quanwang.core.terminal import command_actor, run_or_fail
from quanwang.insight.choices import Engine
from quanwang.insight.engines import EngineUnavailable, connect
from quanwang.insight.services import start_pipeline
from quanwang.insight.snapshots import SnapshotStore


class Command(BaseCommand):
    help = _("Build the customer wide table (features, tiers, scores) for a month.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--snapshot", help=_("the month, e.g. 2024-06"))
        parser.add_argument(
            "--engine", choices=[e.value for e in Engine], default=Engine.DUCKDB.value
        )
        parser.add_argument("--list", action="store_true", help=_("list the snapshots and stop"))
        parser.add_argument("--user", help=_("Run as this user (default: system)"))
        parser.add_argument("--background", action="store_true", help=_("Queue for the worker"))

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            for snapshot in SnapshotStore().list():
                self.stdout.write(
                    f"{snapshot.month}  {snapshot.run_id}  {snapshot.engine:<6} "
                    f"{snapshot.rows:>10,}  {snapshot.seconds:>8.1f}s"
                )
            return
        if not options["snapshot"]:
            raise CommandError(_("Name the month: --snapshot 2024-06"))
        engine = Engine(options["engine"])
        if engine is Engine.SPARK:
            try:  # fail here, in one line, rather than inside the job
                connect(engine)
            except EngineUnavailable as exc:
                raise CommandError(str(exc)) from exc
        actor, org_unit = command_actor(options["user"])
        try:
            job = start_pipeline(
                actor=actor,
                month=options["snapshot"],
                engine=engine,
                org_unit=org_unit,
                background=options["background"],
            )
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        if options["background"]:
            self.stdout.write(_("Queued job #%(id)d.") % {"id": job.pk})
            return
        result = run_or_fail(job)
        self.stdout.write(
            _("Snapshot %(snapshot)s: %(rows)d customers in %(seconds).1f s on %(engine)s.")
            % result
        )
