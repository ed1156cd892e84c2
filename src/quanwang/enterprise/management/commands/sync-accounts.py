"""`quanwang sync-accounts`: bring the enterprise account file in line with the warehouse's
enterprises, enterprise_products and enterprise_members tables (it also runs after each import
of them and in the nightly pipeline)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from quanwang.core.errors import ServiceError
from quanwang.core.terminal import OneLineErrors
from quanwang.enterprise.accounts.services.sync import describe, sync_accounts


class Command(OneLineErrors, BaseCommand):
    help = _("Bring the enterprise account file in line with the warehouse.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = sync_accounts()
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(describe(report))
