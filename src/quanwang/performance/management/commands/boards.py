"""`quanwang boards`: keep a day's leaderboards, print one, or keep a composite score.

    quanwang boards build [--day 2024-06-30] [--force]
    quanwang boards show --level grid --unit CA-1 [--board revenue] [--period 2024-06]
    quanwang boards composite overall --name 综合得分 --weight revenue=40 --weight net_adds=60

An operator's tool, unscoped like the other commands run as the system account; the console
pages are scoped.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from quanwang.core.errors import ServiceError
from quanwang.core.models import OrgUnit
from quanwang.performance.boards import present, reading
from quanwang.performance.boards.build import build_day
from quanwang.performance.boards.choices import BoardLevel
from quanwang.performance.boards.composites import save_composite


class Command(BaseCommand):
    help = _("Keep a day's leaderboards, print one, or keep a composite score.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["build", "show", "composite"])
        parser.add_argument("code", nargs="?", help=_("the composite score's code"))
        parser.add_argument("--day", help=_("the business day, e.g. 2024-06-30"))
        parser.add_argument("--force", action="store_true", help=_("replace a kept day"))
        parser.add_argument("--level", choices=BoardLevel.values, default=BoardLevel.GRID.value)
        parser.add_argument("--unit", help=_("rank within this unit (its code)"))
        parser.add_argument("--board", help=_("the KPI's or the composite's code"))
        parser.add_argument("--period", help=_("the period, e.g. 2024-06 or 2024Q2"))
        parser.add_argument("--name", help=_("the composite score's name"))
        parser.add_argument("--weight", action="append", default=[], help=_("KPI=weight (repeat)"))

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except ServiceError as exc:
            raise CommandError(exc.message) from exc

    def _day(self, options: dict[str, Any]) -> dt.date | None:
        if not options["day"]:
            return None
        try:
            return dt.date.fromisoformat(options["day"])
        except ValueError as exc:
            raise CommandError(
                _("--day: “%(day)s” is not a date (YYYY-MM-DD).") % {"day": options["day"]}
            ) from exc

    def _build(self, options: dict[str, Any]) -> None:
        result = build_day(day=self._day(options), force=options["force"])
        message = (
            _("Boards of %(day)s kept: %(rows)d rows in %(seconds).2f s.")
            if result.built
            else _("Boards of %(day)s were kept already (%(rows)d rows); --force replaces them.")
        )
        self.stdout.write(
            message
            % {"day": result.day.isoformat(), "rows": result.rows, "seconds": result.seconds}
        )

    def _show(self, options: dict[str, Any]) -> None:
        level = BoardLevel(options["level"])
        top = OrgUnit.objects.filter(parent__isnull=True).order_by("path").first()
        unit = OrgUnit.objects.filter(code=options["unit"]).first() if options["unit"] else top
        if unit is None:
            raise CommandError(_("--unit: no unit “%(code)s”.") % {"code": options["unit"]})
        day = self._day(options) or reading.latest_day()
        if day is None:
            raise CommandError(_("No boards kept yet: run `quanwang boards build`."))
        period = options["period"] or (reading.periods_of(day=day) or [""])[0]
        boards = reading.boards_of(level=level, period=period, day=day)
        code = options["board"] or (boards[0].board if boards else "")
        board = reading.board(
            board=code, level=level, period=period, within_path=unit.path, day=day
        )
        if board is None:
            raise CommandError(
                _("--board: no board “%(board)s” for %(period)s on %(day)s.")
                % {"board": code, "period": period, "day": day.isoformat()}
            )
        self.stdout.write(present.board_title(board.info))
        self.stdout.write(present.subtitle(board, within_name=unit.name))
        for entry in board.entries:
            moved = present.movement_text(entry.since_yesterday, entry.places_yesterday)
            self.stdout.write(
                f"  {present.rank_text(entry):>4}  {moved:>4}  {entry.row.name}  "
                f"{present.score_text(board.info, entry.row.score)}"
            )

    def _composite(self, options: dict[str, Any]) -> None:
        weights: dict[str, str] = {}
        for text in options["weight"]:
            kpi, _sep, weight = text.partition("=")
            weights[kpi.strip()] = weight.strip()
        composite = save_composite(
            user=None, code=options["code"] or "", name=options["name"] or "", weights=weights
        )
        self.stdout.write(_("Composite score %(name)s kept.") % {"name": composite.name})
