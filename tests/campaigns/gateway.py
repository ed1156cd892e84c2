"""A real SMS gateway on loopback for the dispatch tests: it keeps every message it receives
and, like operators' gateways, accepts a message id only once.

`hold_after=n` makes it a gateway that answers slowly at the worst moment: from the (n+1)th
request on, each request is recorded as received, then held unanswered until `release()`, so
a test can kill the sender while the outcome of a batch is unknown to it."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Gateway:
    def __init__(self, *, delay: float = 0.0, hold_after: int | None = None) -> None:
        self.delay = delay
        self.hold_after = hold_after
        self.received: Counter[str] = Counter()  # message id → times received
        self.delivered: dict[str, dict[str, Any]] = {}  # message id → the message, once
        self.requests = 0
        self.held = threading.Event()  # set once a request is being held
        self._released = threading.Event()
        self._lock = threading.Lock()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                time.sleep(gateway.delay)
                results = []
                with gateway._lock:
                    gateway.requests += 1
                    hold = gateway.hold_after is not None and gateway.requests > gateway.hold_after
                    for message in body["messages"]:
                        gateway.received[message["id"]] += 1
                        gateway.delivered.setdefault(message["id"], message)
                        results.append(
                            {"id": message["id"], "status": "accepted", "message_id": message["id"]}
                        )
                if hold:
                    gateway.held.set()
                    gateway._released.wait(timeout=120)
                answer = json.dumps({"results": results}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                return

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                return  # a sender killed mid-request leaves a broken pipe: expected here

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/send"

    def subscribers(self) -> set[str]:
        return {key.split(":", 1)[1] for key in self.delivered}

    def release(self) -> None:
        """Answer the held requests, and every later one at once."""
        self.hold_after = None
        self._released.set()

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()
