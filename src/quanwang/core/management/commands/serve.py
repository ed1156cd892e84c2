"""`quanwang serve`: the console behind gunicorn, plus a job worker, each supervised apart;
in demo mode also the demo's sandbox gateways on loopback (campaigns.sandbox).

A worker that dies (killed, out of memory) is restarted with a backoff while the console
keeps answering; its running job is interrupted when its lease lapses (docs/jobs.md).
"""

import logging
import os
import signal
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from quanwang.campaigns.sandbox import mode
from quanwang.core.supervisor import Child, Supervisor
from quanwang.core.supervisor import logger as supervisor_logger

# Quick deaths in a row after which the web server is not restarted again (port taken…).
WEB_GIVE_UP_AFTER = 5


def _log_to_stderr() -> None:
    if supervisor_logger.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s quanwang serve: %(message)s"))
    supervisor_logger.addHandler(handler)
    supervisor_logger.setLevel(logging.INFO)
    supervisor_logger.propagate = False


class Command(BaseCommand):
    help = _("Serve the console and run a background job worker beside it.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=2, help=_("Web processes"))
        parser.add_argument(
            "--no-task-worker",
            action="store_true",
            help=_("Do not start a job worker (run `quanwang worker` elsewhere)"),
        )
        parser.add_argument(
            "--sandbox-port",
            type=int,
            default=settings.QUANWANG_SANDBOX_PORT,
            help=_("Port of the demo's sandbox gateways on 127.0.0.1 (demo mode only)"),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        _log_to_stderr()
        bind = f"{options['host']}:{options['port']}"
        supervisor = Supervisor(children(options))
        signal.signal(signal.SIGTERM, supervisor.stop)
        self.stdout.write(_("Console: http://%(bind)s/  (Ctrl+C to stop)") % {"bind": bind})
        if mode.demo_mode():
            # The web processes and the worker find the sandbox by this setting: they inherit it.
            os.environ["QUANWANG_SANDBOX_PORT"] = str(options["sandbox_port"])
            self.stdout.write(
                _("Demo mode: sandbox gateways on http://%(host)s:%(port)d/")
                % {"host": mode.SANDBOX_HOST, "port": options["sandbox_port"]}
            )
        self.stdout.flush()
        if supervisor.run():
            raise CommandError(_("The web server could not be kept running; see the log above."))


def children(options: dict[str, Any]) -> list[Child]:
    """The supervised processes: the web server, the job worker unless told not to, and in
    demo mode the sandbox gateways."""
    bind = f"{options['host']}:{options['port']}"
    supervised = [
        Child(
            name=_("web server"),
            argv=[
                sys.executable, "-m", "gunicorn", "quanwang.wsgi:application",
                "--bind", bind, "--workers", str(options["workers"]),
                "--access-logfile", "-",
            ],
            give_up_after=WEB_GIVE_UP_AFTER,
        )
    ]  # fmt: skip
    if not options["no_task_worker"]:
        supervised.append(
            Child(
                name=_("job worker"),
                argv=[sys.executable, "-m", "quanwang.cli", "worker", "--no-reload", "-v", "0"],
            )
        )
    if mode.demo_mode():
        port = int(options["sandbox_port"])
        # The sandbox posts replies to the console: on loopback whatever address it binds.
        console_host = "127.0.0.1" if options["host"] in {"0.0.0.0", "", "::"} else options["host"]
        supervised.append(
            Child(
                name=_("sandbox gateways"),
                argv=[
                    sys.executable, "-m", "quanwang.cli", "sandbox", "--port", str(port),
                    "--console-url", f"http://{console_host}:{options['port']}",
                ],
            )
        )  # fmt: skip
    return supervised
