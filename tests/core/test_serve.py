"""`quanwang serve` supervises the web server and the job worker apart, and the console says
when no worker runs waiting jobs."""

from __future__ import annotations

import os
import signal
import socket
import sys
import urllib.request
from pathlib import Path
from typing import Any

from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from quanwang.core import supervisor
from quanwang.core.choices import JobKind, JobStatus, Role
from quanwang.core.models import Job, WorkerHeartbeat
from quanwang.core.supervisor import Child, Supervisor
from tests import factories
from tests.core.processes import process_env, spawn, stop, wait_for

BANNER = 'id="worker-banner"'


@given(st.integers(min_value=1, max_value=200))
def test_the_restart_backoff_doubles_up_to_a_minute(failures: int) -> None:
    delay = supervisor.backoff(failures)

    assert supervisor.BACKOFF_FIRST_S <= delay <= supervisor.BACKOFF_MAX_S
    assert supervisor.backoff(failures + 1) in {2 * delay, supervisor.BACKOFF_MAX_S}


def test_a_web_server_that_cannot_start_stops_serve(monkeypatch: Any) -> None:
    # Given a child that exits at once every time (a port already taken), given up after 2
    monkeypatch.setattr(supervisor, "BACKOFF_FIRST_S", 0.1)
    monkeypatch.setattr(supervisor, "POLL_S", 0.05)
    doomed = Child(name="web", argv=[sys.executable, "-c", "raise SystemExit(3)"], give_up_after=2)
    steady = Child(name="worker", argv=[sys.executable, "-c", "import time; time.sleep(60)"])

    # When they are supervised
    status = Supervisor([doomed, steady]).run()

    # Then serve gives up with status 1, having stopped the other child
    assert status == 1
    assert doomed.failures == 2
    assert steady.process is not None
    assert steady.process.returncode is not None


def test_a_child_that_exits_is_started_again(monkeypatch: Any, tmp_path: Path) -> None:
    # Given a child that exits at once the first time, and then runs
    monkeypatch.setattr(supervisor, "BACKOFF_FIRST_S", 0.1)
    marker = tmp_path / "ran"
    script = (
        f"import pathlib, sys, time\np = pathlib.Path({str(marker)!r})\n"
        "if not p.exists():\n    p.write_text('1'); sys.exit(1)\ntime.sleep(60)\n"
    )
    child = Child(name="worker", argv=[sys.executable, "-c", script])
    child.start()
    first = child.process
    assert first is not None
    first.wait()

    # When the supervisor checks on it, and again once the backoff passed
    child.check(now=child.started + 1)
    waiting = child.process
    child.check(now=child.started + 5)

    # Then it was started again, a second process
    try:
        assert waiting is None
        assert child.process is not None
        assert child.process.pid != first.pid
        assert child.process.poll() is None
    finally:
        child.terminate()
        child.wait(deadline=0)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _live_worker_pids() -> set[int]:
    recent = timezone.now() - _lease()
    return set(WorkerHeartbeat.objects.filter(seen_at__gte=recent).values_list("pid", flat=True))


def _lease() -> Any:
    from quanwang.core.heartbeats import lease_length

    return lease_length()


def test_serve_restarts_a_killed_worker_and_the_console_keeps_answering(
    shared_db: None, settings: Any, tmp_path: Path
) -> None:
    # Given `quanwang serve` on a loopback port, with its console answering and its worker alive
    port = _free_port()
    url = f"http://127.0.0.1:{port}/login/"
    log = tmp_path / "serve.log"
    serve = spawn(
        ["quanwang.cli", "serve", "--port", str(port), "--workers", "1"],
        env=process_env(settings),
        log=log,
    )
    try:
        wait_for(lambda: _answers(url), why="the console", log=log)
        (first,) = wait_for(_live_worker_pids, why="a worker heartbeat", log=log)

        # When the worker is killed with SIGKILL
        os.kill(first, signal.SIGKILL)

        # Then a new worker appears, and the console answered all along
        wait_for(lambda: _live_worker_pids() - {first}, why="a new worker", log=log)
        assert _answers(url)
        assert serve.poll() is None
    finally:
        status = stop(serve)
    assert status == 0
    assert "job worker exited (killed by signal SIGKILL)" in log.read_text()


def _waiting_job(tree: factories.Tree) -> Job:
    return Job.objects.create(
        kind=JobKind.IMPORT_ORG_UNITS, org_unit=tree.city_a, status=JobStatus.QUEUED
    )


def test_the_console_says_when_no_worker_runs_waiting_jobs(
    tree: factories.Tree, login: Any
) -> None:
    # Given two jobs waiting in city A and no worker alive
    _waiting_job(tree)
    _waiting_job(tree)
    marketer = factories.user(role=Role.CITY_MARKETER, at=tree.city_a)
    client = login(marketer)

    # When someone who may see jobs opens the home page and the job list
    home = client.get("/").content.decode()
    jobs = client.get("/jobs/").content.decode()

    # Then both say that no worker runs, and how many jobs wait
    for page in (home, jobs):
        assert BANNER in page
        assert "后台作业进程未运行" in page or "job worker is not running" in page
        assert "2" in page.split(BANNER, 1)[1].split("</p>", 1)[0]


def test_no_banner_while_a_worker_is_alive(tree: factories.Tree, login: Any) -> None:
    _waiting_job(tree)
    now = timezone.now()
    WorkerHeartbeat.objects.create(worker_id="w1", hostname="h", pid=1, started_at=now, seen_at=now)
    client = login(factories.user(role=Role.CITY_MARKETER, at=tree.city_a))

    assert BANNER not in client.get("/jobs/").content.decode()


def test_a_dead_workers_heartbeat_does_not_hide_the_banner(
    tree: factories.Tree, login: Any
) -> None:
    _waiting_job(tree)
    long_ago = timezone.now() - 10 * _lease()
    WorkerHeartbeat.objects.create(
        worker_id="w1", hostname="h", pid=1, started_at=long_ago, seen_at=long_ago
    )
    client = login(factories.user(role=Role.CITY_MARKETER, at=tree.city_a))

    assert BANNER in client.get("/").content.decode()


def test_no_banner_for_who_may_not_see_the_waiting_jobs(tree: factories.Tree, login: Any) -> None:
    # Given a job waiting in city A, seen by a marketer of city B
    _waiting_job(tree)
    client = login(factories.user(role=Role.CITY_MARKETER, at=tree.city_b))

    assert BANNER not in client.get("/").content.decode()
