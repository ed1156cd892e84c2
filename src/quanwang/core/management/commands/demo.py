from typing import Any

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from quanwang.core.services.demo import DEMO_PASSWORD, build_demo


class Command(BaseCommand):
    help = _("Build the demo operator (org tree, staff, one login per role).")

    def handle(self, *args: Any, **options: Any) -> None:
        logins = build_demo()
        self.stdout.write(_("Demo logins (password for all: %(pw)s):") % {"pw": DEMO_PASSWORD})
        for login in logins:
            self.stdout.write(f"  {login.username:<12} {login.role.label} @ {login.org_code}")
