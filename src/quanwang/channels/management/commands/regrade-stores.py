"""`quanwang regrade-stores --month 2024-06`: sync the store file with the warehouse, then grade
every store for the month under the grading rules in force (三店), with each grade's reason."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from quanwang.channels.stores import job_handlers  # noqa: F401 (registers the job's handler)
from quanwang.channels.stores.jobs import start_regrade
from quanwang.channels.stores.regrading import newest_sales_month
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.terminal import OneLineErrors, command_actor, run_or_fail


class Command(OneLineErrors, BaseCommand):
    help = _("Grade every store for a month (key, anchor or small store), with the reasons.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--month", help=_("the month, e.g. 2024-06 (default: the newest month of store sales)")
        )
        parser.add_argument("--user", help=_("Run as this user (default: system)"))

    def handle(self, *args: Any, **options: Any) -> None:
        month = options["month"] or newest_sales_month()
        if not month:
            raise CommandError(_("The warehouse has no store sales yet: import store_sales first."))
        actor, _unit = command_actor(options["user"])
        try:
            job = start_regrade(actor=actor, month=month, background=False)
        except NotFound as exc:
            raise CommandError(_("This user may not re-grade the stores.")) from exc
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        result = run_or_fail(job)
        self.stdout.write(
            _(
                "%(month)s: %(stores_graded)d stores graded: %(key_stores)d key, "
                "%(anchor_stores)d anchor, %(small_stores)d small (rule set version "
                "%(rule_set_version)d)."
            )
            % result
        )
