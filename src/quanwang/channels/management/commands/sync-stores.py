"""`quanwang sync-stores`: bring the store file in line with the warehouse's stores table (it
also runs after each import of that table and in the nightly pipeline)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from quanwang.channels.stores.sync import sync_stores
from quanwang.core.errors import ServiceError
from quanwang.core.terminal import OneLineErrors


class Command(OneLineErrors, BaseCommand):
    help = _("Bring the store file in line with the warehouse's stores table.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = sync_stores()
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            _(
                "%(listed)d stores listed: %(created)d new, %(updated)d changed, %(unchanged)d "
                "unchanged, %(deactivated)d no longer listed, %(reactivated)d listed again."
            )
            % report.as_result()
        )
