"""`quanwang grades propose --period 2024Q4`: propose the grade moves (三级十档) the rules earn
after an appraisal period; `quanwang grades place --staff E001 --level 1 --step 3 --reason …`:
give a grade by hand; `quanwang grades decide --move 12 --approve|--reject --comment …`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.terminal import OneLineErrors, command_actor, run_or_fail
from quanwang.performance.grades import job_handlers  # noqa: F401 (registers the handler)
from quanwang.performance.grades.jobs import start_propose
from quanwang.performance.grades.services.moves import decide, place_staff


class Command(OneLineErrors, BaseCommand):
    help = _("Staff grades (three levels, ten steps): propose moves, place, decide.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", help=_("Run as this user (default: system)"))
        sub = parser.add_subparsers(dest="action", required=True)
        propose = sub.add_parser("propose", help=_("propose the moves of an appraisal period"))
        propose.add_argument("--period", required=True, help=_("the period, e.g. 2024Q4"))
        place = sub.add_parser("place", help=_("give a staff member a grade by hand"))
        place.add_argument("--staff", required=True, help=_("the employee number"))
        place.add_argument("--level", type=int, required=True, help=_("1, 2 or 3"))
        place.add_argument("--step", type=int, required=True, help=_("1 to 10"))
        place.add_argument("--reason", required=True, help=_("why"))
        decide_parser = sub.add_parser("decide", help=_("approve or reject a proposed move"))
        decide_parser.add_argument("--move", type=int, required=True, help=_("the move's number"))
        way = decide_parser.add_mutually_exclusive_group(required=True)
        way.add_argument("--approve", action="store_true")
        way.add_argument("--reject", action="store_true")
        decide_parser.add_argument("--comment", default="", help=_("why (needed to reject)"))

    def handle(self, *args: Any, **options: Any) -> None:
        actor, _unit = command_actor(options["user"])
        try:
            if options["action"] == "propose":
                self._propose(actor, options["period"])
            elif options["action"] == "place":
                grade = place_staff(
                    employee_no=options["staff"], level=options["level"], step=options["step"],
                    by=actor, reason=options["reason"],
                )  # fmt: skip
                self.stdout.write(
                    _("%(staff)s: level %(level)d, step %(step)d.")
                    % {"staff": options["staff"], "level": grade.level, "step": grade.step}
                )
            else:
                move = decide(
                    move=options["move"], approve=options["approve"], by=actor,
                    comment=options["comment"],
                )  # fmt: skip
                self.stdout.write(
                    _("Move %(pk)d: %(status)s.")
                    % {"pk": move.pk, "status": move.get_status_display()}
                )
        except NotFound as exc:
            raise CommandError(_("Not found, or outside this user's scope.")) from exc
        except ServiceError as exc:
            named = f"--{exc.field}: " if exc.field else ""
            raise CommandError(named + exc.message) from exc

    def _propose(self, actor: Any, period: str) -> None:
        job = start_propose(actor=actor, period=period, background=False)
        result = run_or_fail(job)
        self.stdout.write(
            _(
                "%(period)s: %(grades_evaluated)d staff appraised; %(grades_created)d moves "
                "proposed, %(grades_updated)d updated, %(grades_withdrawn)d withdrawn, "
                "%(grades_already_decided)d already decided."
            )
            % result
        )
