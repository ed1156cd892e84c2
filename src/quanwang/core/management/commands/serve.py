"""`quanwang serve`: the console behind gunicorn, plus a job worker, in one command."""

import signal
import subprocess
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _


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
        processes: list[subprocess.Popen[bytes]] = []
        if not options["no_task_worker"]:
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "quanwang.cli", "worker", "--no-reload", "-v", "0"]
                )
            )
        bind = f"{options['host']}:{options['port']}"
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "quanwang.wsgi:application",
                    "--bind",
                    bind,
                    "--workers",
                    str(options["workers"]),
                    "--access-logfile",
                    "-",
                ]
            )
        )
        self.stdout.write(_("Console: http://%(bind)s/  (Ctrl+C to stop)") % {"bind": bind})

        def stop(*_args: Any) -> None:
            for process in processes:
                process.terminate()

        signal.signal(signal.SIGTERM, stop)
        try:
            while all(p.poll() is None for p in processes):
                try:
                    processes[-1].wait(timeout=1)
                except subprocess.TimeoutExpired:
                    continue
        except KeyboardInterrupt:
            pass
        finally:
            stop()
            for process in processes:
                process.wait(timeout=15)
