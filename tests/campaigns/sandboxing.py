"""What the sandbox tests share: the sandbox gateways and the console served for real on free
loopback ports (threads of the test process, on the test database shared with them), demo
customers in the warehouse, and a check for English words on a zh-hans page."""

from __future__ import annotations

import datetime as dt
import html
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.wsgi import get_wsgi_application

from quanwang.campaigns.sandbox.gateway import SandboxGateway, make_sandbox_server
from quanwang.data.importer import import_file
from tests import factories
from tests.insight.conftest import PLANS
from tests.processes import database_shared_with_processes

#: Words a zh-hans page may show in Latin letters: codes and units, not English.
ALLOWED_WORDS = frozenset({"SMS", "TD", "Y", "XLSX", "App", "ID", "OpenID"})


@pytest.fixture
def shared_db(transactional_db: None, settings: Any) -> Iterator[None]:
    """The test database where the served threads see it (tests.processes)."""
    with database_shared_with_processes(settings):
        yield


@contextmanager
def served_sandbox(settings: Any, *, console_url: str = "http://127.0.0.1:9") -> Iterator[Any]:
    """The sandbox gateways on a free port, the console's config pointing at it; yields the
    app (its state: WeChat tokens)."""
    server = make_sandbox_server(port=0, console_url=console_url)
    settings.QUANWANG_SANDBOX_PORT = server.server_port
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        app = server.get_app()
        assert isinstance(app, SandboxGateway)
        yield app
    finally:
        server.shutdown()
        server.server_close()


class _Threading(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        return


@contextmanager
def served_console() -> Iterator[str]:
    """The console itself (Django's WSGI app) on a free port: its base URL."""
    server = make_server(
        "127.0.0.1", 0, get_wsgi_application(), server_class=_Threading, handler_class=_Quiet
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def fate(i: int) -> str:
    """What the policy does with customer i of `demo_customers` on SMS: control, no consent,
    or sent."""
    if i % 10 == 3:
        return "control_group"
    if i % 5 == 0:
        return "no_consent"
    return "sent"


def number(i: int) -> str:
    return f"139{i:08d}"


def demo_customers(tmp_path: Path, count: int, *, grid: str = "G1") -> Path:
    """`count` customers in the warehouse (every 5th without SMS consent; all with call and
    app consent, and an openid), and their frozen audience (every 10th in control)."""
    people = [
        {"subscriber_id": f"D{i:03d}", "msisdn": number(i), "name": f"李{i}", "segment": "个人",
         "payment_type": "postpaid", "join_date": dt.date(2020, 1, 1), "status": "active",
         "plan_id": "P4G", "consent_sms": i % 5 != 0, "consent_call": True,
         "consent_app": True, "consent_wechat": True, "wechat_openid": f"oSbx{i:012d}"}
        for i in range(count)
    ]  # fmt: skip
    files = factories.canonical_files(tmp_path, plans=PLANS, subscribers=people)
    import_file(table_name="plans", path=files["plans"])
    assert import_file(table_name="subscribers", path=files["subscribers"]).loaded == count
    frozen = tmp_path / "audience.parquet"
    pq.write_table(
        pa.table(
            {
                "subscriber_id": [p["subscriber_id"] for p in people],
                "grid_id": [grid] * count,
                "in_control": [i % 10 == 3 for i in range(count)],
                "do_not_disturb": [False] * count,
            }
        ),
        frozen,
    )
    return frozen


def english_words(page: str) -> list[str]:
    """Latin-letter words in the page's main content (its text, not its markup) outside
    ALLOWED_WORDS: what a Chinese reader would find untranslated."""
    main = page.split("<main>", 1)[-1].split("</main>", 1)[0]
    main = re.sub(r"<(script|style)\b.*?</\1>", " ", main, flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", " ", main))
    words = set(re.findall(r"(?<![\w-])[A-Za-z]{2,}(?![\w-])", text))
    return sorted(words - ALLOWED_WORDS)
