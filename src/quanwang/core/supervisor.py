"""Supervising the processes of `quanwang serve`: each child is watched on its own.

A child that exits is started again after a backoff (1 s, 2 s, 4 s … at most a minute; back
to 1 s once it stayed up a minute), with a log line each time. The web server (gunicorn,
which itself restarts its web processes) is restarted the same way, except that when it
dies within seconds of starting several times in a row (the port is taken, the settings
are wrong) restarting cannot help: `serve` then stops its other children and exits 1.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

logger = logging.getLogger("quanwang.serve")

BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 60.0
# A child up this long had a real run; its next failure starts the backoff afresh.
STABLE_AFTER_S = 60.0
POLL_S = 0.5
STOP_GRACE_S = 15.0


def backoff(failures: int) -> float:
    """Seconds to wait before restarting a child that failed `failures` times in a row."""
    return min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** max(0, failures - 1))


def exit_description(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = str(-code)
        return _("killed by signal %(signal)s") % {"signal": name}
    return _("exit status %(code)d") % {"code": code}


class GiveUp(Exception):
    """A child cannot be kept running; the message says which and why."""


@dataclass
class Child:
    """One supervised process. `give_up_after`: stop serving after that many quick deaths in
    a row (None: restart for ever)."""

    name: str
    argv: list[str]
    give_up_after: int | None = None
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    failures: int = 0
    restart_at: float | None = None
    spawn: Callable[[list[str]], subprocess.Popen[bytes]] = field(default=subprocess.Popen)

    def start(self) -> None:
        self.process = self.spawn(self.argv)
        self.started = time.monotonic()
        self.restart_at = None

    def check(self, now: float) -> None:
        """Notice an exit and schedule the restart; restart when its time has come."""
        if self.process is not None:
            code = self.process.poll()
            if code is None:
                return
            ran = now - self.started
            self.failures = 1 if ran >= STABLE_AFTER_S else self.failures + 1
            self.process = None
            if self.give_up_after is not None and self.failures >= self.give_up_after:
                raise GiveUp(
                    _("%(name)s exited (%(how)s) %(n)d times in a row within a minute of starting")
                    % {"name": self.name, "how": exit_description(code), "n": self.failures}
                )
            delay = backoff(self.failures)
            self.restart_at = now + delay
            logger.warning(
                _("%(name)s exited (%(how)s) after %(ran).0f s; restarting in %(delay).0f s"),
                {"name": self.name, "how": exit_description(code), "ran": ran, "delay": delay},
            )
            return
        if self.restart_at is not None and now >= self.restart_at:
            self.start()
            pid = self.process.pid if self.process is not None else 0
            logger.warning(_("%(name)s restarted (pid %(pid)d)"), {"name": self.name, "pid": pid})

    def terminate(self) -> None:
        self.restart_at = None
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()

    def wait(self, deadline: float) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Supervisor:
    """Starts every child, keeps them running until told to stop, then stops them all."""

    def __init__(self, children: list[Child]) -> None:
        self.children = children
        self.stopping = False

    def stop(self, *_args: object) -> None:
        self.stopping = True

    def run(self) -> int:
        """0 when stopped by a signal (or Ctrl+C), 1 when a child could not be kept up."""
        status = 0
        for child in self.children:
            child.start()
        try:
            while not self.stopping:
                now = time.monotonic()
                for child in self.children:
                    child.check(now)
                time.sleep(POLL_S)
        except GiveUp as exc:
            logger.error("%s", exc)
            status = 1
        except KeyboardInterrupt:
            pass
        finally:
            for child in self.children:
                child.terminate()
            deadline = time.monotonic() + STOP_GRACE_S
            for child in self.children:
                child.wait(deadline)
        return status
