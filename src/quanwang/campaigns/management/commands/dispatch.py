"""`quanwang dispatch CAMPAIGN --step s1 --channel sms --text …`: send one step as a job."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from quanwang.campaigns.choices import Channel
from quanwang.campaigns.models import Campaign
from quanwang.campaigns.services import start_dispatch
from quanwang.core.choices import JobStatus
from quanwang.core.errors import ServiceError
from quanwang.core.terminal import command_actor, run_or_fail


class Command(BaseCommand):
    help = _("Send one step of an issued campaign through the contact policy (resumable).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("campaign", type=int, help=_("the campaign's number"))
        parser.add_argument("--step", required=True, help=_("the step's name, e.g. s1"))
        parser.add_argument("--channel", required=True, choices=[c.value for c in Channel])
        parser.add_argument("--text", required=True, help=_("the message"))
        parser.add_argument("--at", help=_("send time, ISO 8601 with a zone (default: now)"))
        parser.add_argument("--user", help=_("Run as this user (default: system)"))
        parser.add_argument("--background", action="store_true", help=_("Queue for the worker"))

    def handle(self, *args: Any, **options: Any) -> None:
        campaign = Campaign.objects.filter(pk=options["campaign"]).first()
        if campaign is None:
            raise CommandError(_("No campaign %(id)s.") % {"id": options["campaign"]})
        send_at = None
        if options["at"]:
            try:
                send_at = dt.datetime.fromisoformat(options["at"])
            except ValueError as exc:
                raise CommandError(_("--at: not an ISO 8601 time")) from exc
            if send_at.tzinfo is None:
                raise CommandError(_("--at: give a time zone, e.g. 2024-07-01T10:00+08:00"))
        actor, _unit = command_actor(options["user"])
        try:
            job = start_dispatch(
                actor=actor, campaign=campaign, step=options["step"],
                channel=Channel(options["channel"]), text=options["text"], send_at=send_at,
                background=options["background"],
            )  # fmt: skip
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        if options["background"]:
            self.stdout.write(_("Queued job #%(id)d.") % {"id": job.pk})
            return
        if job.status != JobStatus.QUEUED or job.task_result_id:
            # The step's job, queued for the worker or running: a step is sent once.
            self.stdout.write(
                _("Step %(step)s is already in job #%(id)d (%(status)s); follow it there.")
                % {"step": options["step"], "id": job.pk, "status": job.get_status_display()}
            )
            return
        result = run_or_fail(job)
        if Channel(options["channel"]) is Channel.TASK:
            self.stdout.write(
                _("Put %(tasks)d customers on the task lists; held back: %(excluded)s.") % result
            )
            return
        self.stdout.write(
            _("Planned %(planned)d, sent %(sent)d, failed %(failed)d; held back: %(excluded)s.")
            % result
        )
        if result.get("unknown"):
            self.stdout.write(
                _("%(unknown)d customers of a batch interrupted mid-send: outcome unknown, "
                  "not sent again.") % result
            )  # fmt: skip
        if result.get("follow_up_job"):
            self.stdout.write(
                _("%(deferred)d customers wait for the sending hours: job #%(follow_up_job)d "
                  "sends them at %(deferred_until)s (a worker must be running).") % result
            )  # fmt: skip
