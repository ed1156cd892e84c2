"""`quanwang sandbox`: the demo's sandbox gateways on loopback (`quanwang serve` starts it in
demo mode; see docs/campaigns-dispatch.md)."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from quanwang.campaigns.sandbox import mode
from quanwang.campaigns.sandbox.gateway import make_sandbox_server


class Command(BaseCommand):
    help = _(
        "Run the demo's sandbox gateways (SMS, WeChat, app push) on 127.0.0.1; what they "
        "receive shows in the console's sandbox inbox."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=settings.QUANWANG_SANDBOX_PORT)
        parser.add_argument(
            "--console-url",
            default="http://127.0.0.1:8000",
            help=_("Where the console answers: replies are posted to its inbound webhook"),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # Generated before the first request, so the console and the sandbox agree on them.
        mode.credentials()
        server = make_sandbox_server(port=options["port"], console_url=options["console_url"])
        self.stdout.write(
            _("Sandbox gateways: http://%(host)s:%(port)d/  (Ctrl+C to stop)")
            % {"host": mode.SANDBOX_HOST, "port": server.server_port}
        )
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
