"""`quanwang campaign-warnings [--date YYYY-MM-DD]`: raise and send the day's early warnings
(预警) of every issued or running campaign; meant for cron, safe to run more than once a day."""

# The command's name is its file's name, hyphen included.
# ruff: noqa: N999
from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from quanwang.campaigns.warnings import raise_all_warnings


class Command(BaseCommand):
    help = _(
        "Raise today's early warnings (units behind plan) of every running campaign and send "
        "them to the units' managers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help=_("the day to check, YYYY-MM-DD (default: today)"))

    def handle(self, *args: Any, **options: Any) -> None:
        today = timezone.localdate()
        if options["date"]:
            try:
                today = dt.date.fromisoformat(options["date"])
            except ValueError as exc:
                raise CommandError(_("--date: not a date of the form YYYY-MM-DD")) from exc
        raised = raise_all_warnings(today=today)
        for item in raised:
            warning = item.warning
            warning.refresh_from_db()  # the SMS results were recorded after the commit
            sent_to = ", ".join(
                f"{e.get('name')} ({e.get('delivery')}: {e.get('status')})"
                for e in warning.delivered
            ) or _("nobody manages this unit")
            self.stdout.write(
                _(
                    "%(state)s %(campaign)s / %(unit)s: pace %(pace)s, %(responders)s of "
                    "%(expected)s takers expected by now; sent to %(sent_to)s"
                )
                % {
                    "state": _("new") if item.created else _("already raised"),
                    "campaign": warning.campaign.name,
                    "unit": warning.org_unit.name,
                    "pace": f"{warning.pace:.0%}",
                    "responders": warning.responders,
                    "expected": f"{warning.expected:g}",
                    "sent_to": sent_to,
                }
            )
        self.stdout.write(
            _("%(new)d new warnings on %(day)s, %(old)d already raised.")
            % {
                "new": sum(1 for r in raised if r.created),
                "old": sum(1 for r in raised if not r.created),
                "day": today.isoformat(),
            }
        )
