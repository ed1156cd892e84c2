"""`quanwang scorecards`: build the grid scorecards, or print a grid's or a county's.

    quanwang scorecards build
    quanwang scorecards grid GD-GZ-TH-001 [--month 2024-06]
    quanwang scorecards county GD-GZ-TH [--kpi churn_rate] [--month 2024-06]

An operator's tool, unscoped like the other commands run as the system account; the console
pages are scoped. (channels/management/commands/scorecards.py imports `Command`.)
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from quanwang.channels.scorecards.services import reading
from quanwang.channels.scorecards.services.kept import Scorecards, build_scorecards
from quanwang.channels.scorecards.services.kpis import Kpi


class Command(BaseCommand):
    help = _("Build the grid scorecards, or print a grid's scorecard or a county's ranking.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["build", "grid", "county"])
        parser.add_argument("code", nargs="?", help=_("the grid's or county's code"))
        parser.add_argument("--month", help=_("the month, e.g. 2024-06 (default: the newest)"))
        parser.add_argument("--kpi", choices=Kpi.values, default=Kpi.PROFIT.value)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "build":
            result = build_scorecards(say=self.stdout.write)
            self.stdout.write(
                _("Scorecards kept: %(grids)d grids, %(months)d months, %(seconds).2f s") % result
            )
            return
        scorecards = reading.load()
        if scorecards is None or not scorecards.months:
            raise CommandError(_("No scorecards yet: run `quanwang scorecards build`."))
        code = options["code"] or ""
        month = self._month(scorecards, options["month"])
        if options["action"] == "grid":
            if code not in scorecards.grids:
                raise CommandError(_("No grid %(code)s in the scorecards.") % {"code": code})
            info = scorecards.grids[code]
            card = reading.card(
                scorecards,
                [code],
                month=month,
                rank_among=scorecards.county_grids(info.county_code),
            )
            self.stdout.write(f"{info.name} ({code}) · {month}")
            for cell in card.cells:
                rank = f"{cell.rank}/{cell.ranked}" if cell.rank else "—"
                self.stdout.write(f"  {cell.label}: {_plain(cell.shown)}  ({rank})")
            return
        if not scorecards.county_grids(code):
            raise CommandError(_("No county %(code)s in the scorecards.") % {"code": code})
        kpi = Kpi(options["kpi"])
        self.stdout.write(f"{code} · {month} · {kpi.label}")
        for row in reading.county_ranking(scorecards, code, month=month, kpi=kpi):
            moved = "" if row.movement is None else f" ({row.movement:+d})"
            self.stdout.write(
                f"  {row.rank or '—':>4}{moved}  {row.grid_id}  {row.name}  {_plain(row.shown)}"
            )

    @staticmethod
    def _month(scorecards: Scorecards, asked: str | None) -> str:
        if asked is None:
            return scorecards.months[-1]
        if asked not in scorecards.months:
            raise CommandError(
                _("No scorecards for month %(month)s; the months kept: %(months)s")
                % {"month": asked, "months": ", ".join(scorecards.months)}
            )
        return asked


def _plain(text: Any) -> str:
    """A figure without the console's hover markup."""
    from django.utils.html import strip_tags

    return strip_tags(str(text))
