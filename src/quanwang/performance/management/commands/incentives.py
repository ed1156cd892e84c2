"""`quanwang incentives run --month 2024-12`: compute a month's incentive statements as a job
(idempotent: a second run writes the same lines; approved statements are kept);
`quanwang incentives approve --month 2024-12 --user NAME` approves the month's computed
statements in the user's reach (not their own, not those they computed)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from quanwang.core.choices import JobStatus
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.terminal import OneLineErrors, command_actor, run_or_fail
from quanwang.performance.incentives import job_handlers  # noqa: F401 (registers the handler)
from quanwang.performance.incentives.services import statements


class Command(OneLineErrors, BaseCommand):
    help = _("Compute or approve a month's incentive statements.")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("run", help=_("Compute the month's statements"))
        approve = sub.add_parser("approve", help=_("Approve the month's computed statements"))
        for p in (run, approve):
            p.add_argument("--month", required=True, help=_("the month, e.g. 2024-12"))
            p.add_argument("--user", help=_("Run as this user (default: system)"))
        run.add_argument("--background", action="store_true", help=_("Queue for the worker"))

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "approve":
            self._approve(month=options["month"], username=options["user"])
            return
        actor, _unit = command_actor(options["user"])
        try:
            job = statements.start_run(
                actor=actor, month=options["month"], background=options["background"]
            )
        except NotFound as exc:
            raise CommandError(_("This user may not compute incentive statements.")) from exc
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        if options["background"]:
            self.stdout.write(_("Queued job #%(id)d.") % {"id": job.pk})
            return
        if job.status != JobStatus.QUEUED or job.task_result_id:
            self.stdout.write(
                _("%(month)s is already being computed by job #%(id)d; follow it there.")
                % {"month": options["month"], "id": job.pk}
            )
            return
        result = run_or_fail(job)
        self.stdout.write(
            _(
                "%(month)s: %(statements)d statements (%(unchanged)d with the same lines), total "
                "%(total)s yuan; figures as of %(as_of)s (actuals version %(actuals_version)s)."
            )
            % result
        )
        if result.get("frozen"):
            self.stdout.write(
                _("%(frozen)d statements were approved already: kept as they are; a correction "
                  "comes as an adjustment in the next month's statement.") % result
            )  # fmt: skip
        if result.get("without_rules"):
            self.stdout.write(
                _("%(without_rules)d staff members have no incentive rules in force.") % result
            )

    def _approve(self, *, month: str, username: str | None) -> None:
        if not username:
            raise CommandError(_("Name the approving user with --user."))
        actor, _unit = command_actor(username)
        try:
            count = statements.approve_statements(actor=actor, month=month)
        except NotFound as exc:
            raise CommandError(_("This user may not approve incentive statements.")) from exc
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            _("%(n)d statements of %(month)s approved and frozen.") % {"n": count, "month": month}
        )
