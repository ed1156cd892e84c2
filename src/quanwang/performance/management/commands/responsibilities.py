"""`quanwang responsibilities list [--unit CA-1] | sync [--on 2024-12-11] | assign-clerk --store S
--employee E --from 2024-12-01 --user U`: who holds which grid, store or enterprise account."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.terminal import OneLineErrors, command_actor
from quanwang.performance.actuals import attribution
from quanwang.performance.models import Responsibility


def _day(text: str | None, option: str) -> dt.date:
    if not text:
        return timezone.localdate()
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(
            _("%(option)s: “%(value)s” is not a day (write 2024-12-20).")
            % {"option": option, "value": text}
        ) from exc


class Command(OneLineErrors, BaseCommand):
    help = _("List, synchronise or assign who holds which grid, store or enterprise account.")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help=_("list the responsibilities"))
        listing.add_argument("--unit", help=_("only the staff held in this unit's subtree"))
        sync = sub.add_parser("sync", help=_("bring grid and account holders in step"))
        sync.add_argument("--on", help=_("the day a change is dated (default: today)"))
        clerk = sub.add_parser("assign-clerk", help=_("make a staff member a store clerk"))
        clerk.add_argument("--store", required=True, help=_("the store ID"))
        clerk.add_argument("--employee", required=True, help=_("the employee number"))
        clerk.add_argument("--from", dest="start", help=_("the first day (default: today)"))
        clerk.add_argument("--user", help=_("Run as this user (default: system)"))

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "sync":
            report = attribution.sync_responsibilities(on=_day(options["on"], "--on"))
            self.stdout.write(
                _("%(opened)d opened, %(closed)d closed, %(unchanged)d unchanged.")
                % {"opened": report.opened, "closed": report.closed, "unchanged": report.unchanged}
            )
        elif action == "assign-clerk":
            actor, _unit = command_actor(options["user"])
            try:
                held = attribution.assign_clerk(
                    actor=actor,
                    store_id=options["store"],
                    employee_no=options["employee"],
                    start=_day(options["start"], "--from"),
                )
            except NotFound as exc:
                raise CommandError(_("No such store in this user's scope.")) from exc
            except ServiceError as exc:
                raise CommandError(exc.message) from exc
            self.stdout.write(
                _("%(name)s is a clerk of store %(store)s from %(start)s.")
                % {"name": held.staff.name, "store": held.key, "start": held.start}
            )
        else:
            rows = Responsibility.objects.select_related("staff").order_by("kind", "key", "start")
            if options["unit"]:
                rows = rows.filter(staff__org_unit__path__contains=f"/{options['unit']}/")
            for r in rows:
                start = r.start.isoformat() if r.start else "…"
                end = r.end.isoformat() if r.end else "…"
                who = f"{r.staff.employee_no}\t{r.staff.name}"
                self.stdout.write(f"{r.get_kind_display()}\t{r.key}\t{who}\t{start} – {end}")
