"""`quanwang commissions --month YYYY-MM`: compute a month's commission statements as a job
(in the foreground with a progress bar, or queued with --background); `--approve` approves
the month's computed statements in the user's reach instead (not those they computed)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from quanwang.channels.commissions.services import runs
from quanwang.core.choices import JobStatus
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.terminal import OneLineErrors, command_actor, run_or_fail


class Command(OneLineErrors, BaseCommand):
    help = _("Compute (or approve) a month's commission statements.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", required=True, help=_("the month, e.g. 2024-06"))
        parser.add_argument("--user", help=_("Run as this user (default: system)"))
        parser.add_argument("--background", action="store_true", help=_("Queue for the worker"))
        parser.add_argument(
            "--approve",
            action="store_true",
            help=_("Approve the month's computed statements instead (needs --user)"),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        month = options["month"]
        if options["approve"]:
            self._approve(month=month, username=options["user"])
            return
        actor, _unit = command_actor(options["user"])
        try:
            job = runs.start_run(actor=actor, month=month, background=options["background"])
        except NotFound as exc:
            raise CommandError(_("This user may not compute commission statements.")) from exc
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        if options["background"]:
            self.stdout.write(_("Queued job #%(id)d.") % {"id": job.pk})
            return
        if job.status != JobStatus.QUEUED or job.task_result_id:
            self.stdout.write(
                _(
                    "%(month)s is already being computed by job #%(id)d (%(status)s); "
                    "follow it there."
                )
                % {"month": month, "id": job.pk, "status": job.get_status_display()}
            )
            return
        result = run_or_fail(job)
        self.stdout.write(
            _(
                "%(month)s: %(statements)d statements, %(lines)d lines, total %(total)s yuan; "
                "%(unmatched_sales)d sales no rule covers."
            )
            % result
        )
        if result.get("waiting_stores"):
            self.stdout.write(
                _("%(waiting_stores)d stores wait for an earlier statement's approval.") % result
            )
        if result.get("frozen_stores"):
            self.stdout.write(
                _("%(frozen_stores)d stores were approved for the month already: kept as they are.")
                % result
            )
        self.stdout.write(_("Lines file SHA-256: %(lines_sha256)s") % result)

    def _approve(self, *, month: str, username: str | None) -> None:
        if not username:
            raise CommandError(_("Name the approving user with --user."))
        actor, _unit = command_actor(username)
        try:
            count = runs.approve_statements(actor=actor, month=month)
        except NotFound as exc:
            raise CommandError(_("There is no run of %(month)s.") % {"month": month}) from exc
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            _("%(n)d statements of %(month)s approved and frozen.") % {"n": count, "month": month}
        )
