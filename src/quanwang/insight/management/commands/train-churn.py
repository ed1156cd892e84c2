"""`quanwang train-churn --snapshot 2024-12`: train, calibrate and register a churn model."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from quanwang.core.errors import ServiceError
from quanwang.core.terminal import command_actor, run_or_fail
from quanwang.insight.churn import ModelRegistry
from quanwang.insight.services import start_training


class Command(BaseCommand):
    help = _("Train the churn model on the months up to a month (its labels must be known).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--snapshot", help=_("the latest month with data, e.g. 2024-12"))
        parser.add_argument("--horizon", type=int, default=1, help=_("months ahead, 1 to 6"))
        parser.add_argument("--list", action="store_true", help=_("list the models and stop"))
        parser.add_argument("--user", help=_("Run as this user (default: system)"))

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            for model in ModelRegistry().list():
                self.stdout.write(
                    f"{model.model_id}  horizon {model.horizon}  "
                    f"AUC {model.metrics['auc']:.3f}  validated on {model.validation_month}"
                )
            return
        if not options["snapshot"]:
            raise CommandError(_("Name the month: --snapshot 2024-12"))
        actor, org_unit = command_actor(options["user"])
        try:
            job = start_training(
                actor=actor,
                month=options["snapshot"],
                horizon=options["horizon"],
                org_unit=org_unit,
                background=False,
            )
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        result = run_or_fail(job)
        self.stdout.write(
            _("Model %(model)s: AUC %(auc).3f, top-decile lift %(top_decile_lift).1f.") % result
        )
