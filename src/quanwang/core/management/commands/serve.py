"""`quanwang serve`: the console behind gunicorn, plus a job worker, each supervised apart.

A worker that dies (killed, out of memory) is restarted with a backoff while the console
keeps answering; its running job is interrupted when its lease lapses (docs/jobs.md).
"""

import logging
import signal
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

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

    def handle(self, *args: Any, **options: Any) -> None:
        _log_to_stderr()
        bind = f"{options['host']}:{options['port']}"
        children = [
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
            children.append(
                Child(
                    name=_("job worker"),
                    argv=[sys.executable, "-m", "quanwang.cli", "worker", "--no-reload", "-v", "0"],
                )
            )
        supervisor = Supervisor(children)
        signal.signal(signal.SIGTERM, supervisor.stop)
        self.stdout.write(_("Console: http://%(bind)s/  (Ctrl+C to stop)") % {"bind": bind})
        self.stdout.flush()
        if supervisor.run():
            raise CommandError(_("The web server could not be kept running; see the log above."))
