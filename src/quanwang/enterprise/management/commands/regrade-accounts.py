"""`quanwang regrade-accounts --month 2024-06`: compute the account features (members, revenue,
competitor contact, products, switching cost, churn risk) and grade every account A/B/C for the
month under its province's rules, with each grade's explanation."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.terminal import OneLineErrors, command_actor, run_or_fail
from quanwang.enterprise.grading import job_handlers  # noqa: F401 (registers the handler)
from quanwang.enterprise.grading.jobs import start_regrade


class Command(OneLineErrors, BaseCommand):
    help = _("Grade every enterprise account for a month (A, B or C), with the explanation.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--month", help=_("the month, e.g. 2024-06 (default: the newest month of usage)")
        )
        parser.add_argument("--user", help=_("Run as this user (default: system)"))

    def handle(self, *args: Any, **options: Any) -> None:
        actor, _unit = command_actor(options["user"])
        try:
            job = start_regrade(actor=actor, month=options["month"], background=False)
        except NotFound as exc:
            raise CommandError(_("This user may not re-grade the accounts.")) from exc
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        result = run_or_fail(job)
        self.stdout.write(
            _(
                "%(month)s: %(accounts_graded)d accounts graded: %(grade_a)d A, %(grade_b)d B, "
                "%(grade_c)d C (%(seconds).1f s)."
            )
            % result
        )
