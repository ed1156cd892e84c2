from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from quanwang.core.services.demo import DEMO_PASSWORD, build_demo
from quanwang.data.demo import DemoFailed, build_operator_demo


class Command(BaseCommand):
    help = _(
        "Build the demo operator: a generated city imported through the importers, "
        "and one login per role."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--subscribers", type=int, default=100_000)
        parser.add_argument("--months", type=int, default=12)
        parser.add_argument("--seed", type=int, default=2024)
        parser.add_argument(
            "--placeholder",
            action="store_true",
            help=_("Only a small placeholder org tree and logins, no customer data"),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["placeholder"]:
            logins = build_demo()
        else:
            try:
                logins = build_operator_demo(
                    subscribers=options["subscribers"],
                    months=options["months"],
                    seed=options["seed"],
                    say=self.stdout.write,
                )
            except DemoFailed as exc:
                raise CommandError(str(exc)) from exc
            self._analyse(options["months"])
            # The partner store's login is made with its store, by the channels demo.
            from quanwang.channels.visits.demo import PARTNER_LOGIN

            logins = [*logins, PARTNER_LOGIN]
        self.stdout.write(_("Demo logins (password for all: %(pw)s):") % {"pw": DEMO_PASSWORD})
        for login in logins:
            where = f" @ {login.org_code}" if login.org_code else ""
            self.stdout.write(f"  {login.username:<16} {login.role.label}{where}")

    def _analyse(self, months: int) -> None:
        # Enterprise accounts first: the snapshot joins their grades, risk and switching cost
        # onto the members (core.wide_columns), as a nightly run does from the night before.
        from quanwang.enterprise.demo import build_enterprise_demo

        build_enterprise_demo(say=self.stdout.write)
        from quanwang.insight.demo import InsightDemoFailed, build_insight_demo

        try:
            build_insight_demo(months=months, say=self.stdout.write)
        except InsightDemoFailed as exc:
            raise CommandError(str(exc)) from exc
        from quanwang.campaigns.demo import build_campaign_demo

        build_campaign_demo(say=self.stdout.write)
        from quanwang.channels.demo import build_channels_demo

        build_channels_demo(say=self.stdout.write)
        # Targets, actuals, boards, grades and incentives read all of the above.
        from quanwang.performance.demo import build_performance_demo

        build_performance_demo(say=self.stdout.write)
