"""Real-browser fixtures: Debian's Chromium, driven by Playwright, against a live server.

No browser is downloaded: the tests use /usr/bin/chromium (`make browser` installs it) and
skip with a clear reason where it is missing.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.servers.basehttp import WSGIServer

# Playwright's sync API keeps an asyncio loop running in the test thread; Django's ORM would
# otherwise refuse to run there ("You cannot call this from an async context").
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from tests import factories

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000
#: Where the browser tests keep their screenshots (a CI artefact): $QUANWANG_ARTIFACTS, else
#: .artifacts/e2e/ under the repository (git-ignored).
ARTIFACTS_ENV = "QUANWANG_ARTIFACTS"
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per test module; the Playwright loop is gone before other modules run."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: run `make browser` to install Debian's Chromium")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()
    finally:
        playwright.stop()


class _OneRequestAtATime(WSGIServer):
    """The SQLite pass's live server: one request at a time. Every request there shares the
    test's one in-memory connection (see live_server), so two at once (a double tap) would
    interleave their transactions on it, which no deployment does: each request has its own
    connection, and the file database's IMMEDIATE transactions queue the writers. The
    PostgreSQL pass keeps the threaded server, where two taps really race."""

    def __init__(self, *args: Any, connections_override: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)


@pytest.fixture(scope="module")
def live_server(
    request: pytest.FixtureRequest, django_db_setup: None, browser: Any
) -> Iterator[Any]:
    """pytest-django's live server, started once the test database and Playwright are up.

    While Playwright's loop runs, Django keeps the test thread's database connections apart
    from those it had before (its connection handler is per asyncio context). The stock
    session-wide server would share the earlier in-memory SQLite connection, or none at all
    when it starts before the test database, and then the test code, the server and a job
    worker each hold their own connection to the shared-cache database, whose table locks
    fail at random ("database table is locked"). Started here, the server shares the very
    connection the tests use, as Django's LiveServerTestCase intends.
    """
    from django.db import connections
    from pytest_django.live_server_helper import LiveServer

    address = (
        request.config.getvalue("liveserver")
        or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS")
        or "localhost"
    )
    server = LiveServer(address, start=False)
    if server.thread.connections_override:
        server.thread.server_class = _OneRequestAtATime
    server.start()
    try:
        yield server
    finally:
        server.stop()
        # The connections opened while Playwright ran are not seen again: close them, or a
        # server database could not drop the test database at the end (in-memory SQLite
        # ignores this).
        connections.close_all()


@pytest.fixture
def page(browser: Any, live_server: Any, transactional_db: None) -> Iterator[Any]:
    """A fresh browser profile (no cookies) whose browser asks for Chinese, as users' do."""
    context = browser.new_context(
        base_url=live_server.url, locale="zh-CN", viewport={"width": 1280, "height": 800}
    )
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    try:
        yield opened
    finally:
        context.close()


def submit_login(page: Any, *, username: str, password: str) -> Any:
    """Fill in and send the real login form; return the response to the POST."""
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation() as navigation:
        page.click("main form button[type=submit]")
    return navigation.value


@pytest.fixture
def log_in(page: Any) -> Callable[[Any], Any]:
    """Log `user` in through the login form, as a person would; returns the page."""

    def _log_in(user: Any) -> Any:
        submit_login(page, username=user.get_username(), password=factories.PASSWORD)
        assert page.locator("input[name=password]").count() == 0, "login failed"
        return page

    return _log_in


class BackgroundWorker(threading.Thread):
    """Runs `target` in a thread on the test database, as a worker process would.

    An in-memory SQLite test database exists only on the connection the live server shares
    with the test thread, so the worker uses that connection too (as Django's LiveServerThread
    does); any other database gets a connection of its own, closed at the end.
    """

    def __init__(self, target: Callable[[], Any]) -> None:
        from django.db import connections

        super().__init__(name="job-worker", daemon=True)
        self._work = target
        self._error: BaseException | None = None
        self._shared = {
            conn.alias: conn
            for conn in connections.all()
            if conn.vendor == "sqlite" and conn.is_in_memory_db()
        }
        for conn in self._shared.values():
            conn.inc_thread_sharing()

    def run(self) -> None:
        from django.db import connections

        for alias, conn in self._shared.items():
            connections[alias] = conn
        try:
            self._work()
        except BaseException as exc:
            self._error = exc
        finally:
            for conn in connections.all(initialized_only=True):
                if conn.alias not in self._shared:
                    conn.close()
            for conn in self._shared.values():
                conn.dec_thread_sharing()

    def finish(self, timeout: float) -> None:
        """Wait for the work to end; re-raise here what it raised."""
        self.join(timeout)
        assert not self.is_alive(), f"the worker did not finish within {timeout} s"
        if self._error is not None:
            raise self._error


def start_in_background(target: Callable[[], Any]) -> BackgroundWorker:
    worker = BackgroundWorker(target)
    worker.start()
    return worker


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Iterator[Path]:
    """An empty folder for this test's screenshots, kept after the run; its path is printed.

    One folder per database vendor and test: CI runs the SQLite and the PostgreSQL passes
    side by side in one checkout, and neither may overwrite the other's pictures.
    """
    from django.db import connection

    base = Path(os.environ.get(ARTIFACTS_ENV) or REPO_ROOT / ".artifacts" / "e2e")
    folder = base / connection.vendor / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    yield folder
    # Printed past pytest's capture, so that a passing run says it too.
    line = f"\nscreenshots of {request.node.name}: {folder}"
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if capture is None:  # -p no:capture
        print(line)
        return
    with capture.global_and_fixture_disabled():
        print(line)
