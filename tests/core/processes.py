"""Real processes for the job-lease and serve tests: a database they share with the test, a
slow job handler, and `quanwang` commands (a worker with that handler, `serve`).

`python -m tests.core.processes worker …` is `quanwang worker …` with the slow handler
registered for `SLOW_KIND`, as the test process registers it with `slow_handler()`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.processes import database_shared_with_processes, shared_env

REPO = Path(__file__).resolve().parents[2]
# Short enough that a killed worker's job lapses within seconds, long enough that a live
# worker on a loaded 2-core machine never misses it.
LEASE_SECONDS = "3"
BEAT_SECONDS = "0.2"


def slow_job(
    ctx: Any, *, hang_first_attempt: bool = False, silent_seconds: float = 0.0
) -> dict[str, Any]:
    """A test handler: reports progress until killed or cancelled on its first attempt (with
    `hang_first_attempt`), sleeps without a report (a long query), and returns which attempt
    and which process ran it."""
    ctx.progress(done=0, total=1, stage="slow")
    while hang_first_attempt and ctx.attempt == 1:
        time.sleep(0.05)
        ctx.progress(done=0)
    time.sleep(silent_seconds)
    return {"attempt": ctx.attempt, "pid": os.getpid()}


def _slow_kind() -> Any:
    from quanwang.core.choices import JobKind

    return JobKind.TRAIN_CHURN


@contextmanager
def slow_handler(handler: Callable[..., dict[str, Any]] = slow_job) -> Iterator[Any]:
    """`handler` (by default `slow_job`) registered for a kind in this process; yields the
    kind."""
    from quanwang.core.jobs import HANDLERS

    kind = _slow_kind()
    original = HANDLERS[kind]
    HANDLERS[kind] = handler
    try:
        yield kind
    finally:
        HANDLERS[kind] = original


@pytest.fixture
def shared_db(transactional_db: None, settings: Any) -> Iterator[None]:
    """The test database where other processes see it (tests.processes), with short leases."""
    settings.QUANWANG_JOB_LEASE_SECONDS = float(LEASE_SECONDS)
    settings.QUANWANG_WORKER_HEARTBEAT_SECONDS = float(BEAT_SECONDS)
    with database_shared_with_processes(settings):
        yield


def process_env(settings: Any) -> dict[str, str]:
    """The environment of a process sharing this test's var folder and database."""
    return {
        **shared_env(settings),
        "QUANWANG_JOB_LEASE_SECONDS": LEASE_SECONDS,
        "QUANWANG_WORKER_HEARTBEAT_SECONDS": BEAT_SECONDS,
        "QUANWANG_LANG": "en",
    }


def spawn(args: list[str], *, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A process of its own, its output in `log` (read it when a test fails)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", *args], env=env, cwd=REPO, stdout=out, stderr=out
        )


def slow_worker(*, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A real `quanwang worker` (not batch: it runs until stopped) with `slow_job`."""
    args = ["worker", "--no-reload", "--no-startup-delay", "--interval", "0.1"]
    return spawn(["tests.core.processes", *args], env=env, log=log)


def wait_for(
    what: Callable[[], Any], *, timeout: float = 90, why: str = "", log: Path | None = None
) -> Any:
    """Poll `what` until it returns something true; that value. Fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(0.1)
    output = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    pytest.fail(f"timed out waiting for {why}\n{output}")


def stop(process: subprocess.Popen[bytes], *, timeout: float = 30) -> int:
    if process.poll() is None:
        process.terminate()
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quanwang.settings")
    import django

    django.setup()
    from quanwang.cli import main as quanwang
    from quanwang.core.jobs import HANDLERS

    HANDLERS[_slow_kind()] = slow_job
    return quanwang(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
