"""The sandbox gateways, one small WSGI app on loopback, speaking exactly the HTTP the real
adapters speak (campaigns/channels: sms.py, wechat.py, app_push.py):

    POST /sms/send                         SMS batches, bearer token
    GET  /wechat/cgi-bin/token             WeChat access token, app id + secret
    POST /wechat/cgi-bin/message/template/send?access_token=…
    POST /push                             app push, HMAC-SHA256 signature of the body
    POST /sms/reply                        a customer's reply (the inbox page), bearer token:
                                           forwarded to the console's inbound webhook
    GET  /health

Like a gateway it answers accepted messages with its own ids, accepts a message id once, and
answers a repeated Idempotency-Key with the first answer. What it accepts is kept in the
operations database (SandboxMessage) for the inbox page.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qsl
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
from django.db import connections
from django.utils import timezone

from quanwang.campaigns.channels.app_push import DEFAULT_SIGNATURE_HEADER, sign
from quanwang.campaigns.channels.base import normalise_msisdn
from quanwang.campaigns.choices import Channel
from quanwang.campaigns.sandbox import mode
from quanwang.campaigns.sandbox.models import FORWARD_FAILED, SandboxMessage
from quanwang.campaigns.sandbox.store import (
    Answer,
    Incoming,
    answer_once,
    store_outbound,
    store_reply,
)

logger = logging.getLogger("quanwang.sandbox")

SMS_SEND = "/sms/send"
SMS_REPLY = "/sms/reply"
WECHAT_TOKEN = "/wechat/cgi-bin/token"
WECHAT_SEND = "/wechat/cgi-bin/message/template/send"
PUSH = "/push"
HEALTH = "/health"
#: The console's inbound SMS webhook (campaigns/api.py), under the console's address.
INBOUND_PATH = "/api/v1/campaigns/sms/inbound"
INBOUND_TOKEN_HEADER = "X-Quanwang-Inbound-Token"
TOKEN_LIFETIME_S = 7200
BODY_MAX = 8 << 20
REPLY_MAX = 500


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    #: Lower-case header names.
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    def bearer(self, expected: str) -> bool:
        given = self.headers.get("authorization", "").removeprefix("Bearer ")
        return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def _bad(status: int, error: str) -> Answer:
    return Answer(status, {"error": error})


class SandboxGateway:
    """The WSGI app. `console_url`: where the console answers, for the replies it forwards."""

    def __init__(self, *, console_url: str) -> None:
        self.console_url = console_url.rstrip("/")
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()
        self.routes: dict[tuple[str, str], Callable[[Request], Answer]] = {
            ("GET", HEALTH): lambda _request: Answer(200, {"status": "ok"}),
            ("POST", SMS_SEND): self.sms_send,
            ("POST", SMS_REPLY): self.sms_reply,
            ("GET", WECHAT_TOKEN): self.wechat_token,
            ("POST", WECHAT_SEND): self.wechat_send,
            ("POST", PUSH): self.push,
        }

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        try:
            answer = self.handle(_request(environ))
        except Exception:
            # A gateway's 500: the adapters retry it.
            logger.exception("sandbox: request failed")
            answer = _bad(500, "internal error")
        finally:
            # A thread per request: its database connection goes with it.
            connections.close_all()
        payload = json.dumps(answer.body, ensure_ascii=False).encode()
        start_response(
            f"{answer.status} {HTTPStatus(answer.status).phrase}",
            [("Content-Type", "application/json; charset=utf-8"),
             ("Content-Length", str(len(payload)))],
        )  # fmt: skip
        return [payload]

    def forget_tokens(self) -> None:
        """Forget the WeChat access tokens handed out, as a restart does."""
        with self._lock:
            self._tokens.clear()

    def handle(self, request: Request) -> Answer:
        route = self.routes.get((request.method, request.path))
        if route is None:
            return _bad(404, "no such endpoint")
        return route(request)

    # SMS: {"sender", "messages": [{"id", "to", "text"}]} → {"results": [...]}

    def sms_send(self, request: Request) -> Answer:
        if not request.bearer(mode.credentials().sms_token):
            return _bad(401, "invalid token")
        try:
            messages = request.json()["messages"]
            items = [(str(m["id"]), str(m["to"]), str(m["text"])) for m in messages]
        except (ValueError, KeyError, TypeError):
            return _bad(400, "the body is not a batch of messages")
        return answer_once(
            endpoint=SMS_SEND,
            key=request.headers.get("idempotency-key", ""),
            produce=lambda: _accept_sms(items),
        )

    def sms_reply(self, request: Request) -> Answer:
        """A customer answers: kept, then posted to the console's webhook as the gateway would,
        from a thread of its own (the console's page waits for the outcome in the database:
        it may have only one web process, which is busy with that page)."""
        if not request.bearer(mode.credentials().sms_token):
            return _bad(401, "invalid token")
        try:
            payload = request.json()
            number, text = normalise_msisdn(str(payload["msisdn"])), str(payload["text"]).strip()
        except (ValueError, KeyError, TypeError):
            return _bad(400, "give msisdn and text")
        if number is None or not text or len(text) > REPLY_MAX:
            return _bad(400, "not a mobile number, or no text")
        reply = store_reply(msisdn=number, text=text)
        threading.Thread(target=self.forward, args=(reply.pk,), daemon=True).start()
        return Answer(202, {"message_id": reply.gateway_id})

    def forward(self, reply_id: int) -> None:
        """Post the reply to the console's inbound webhook; keep what it answered."""
        from quanwang.campaigns.api import inbound_token

        try:
            reply = SandboxMessage.objects.get(pk=reply_id)
            outcome, detail = FORWARD_FAILED, ""
            try:
                with httpx.Client(timeout=30.0, trust_env=False) as client:
                    response = client.post(
                        f"{self.console_url}{INBOUND_PATH}",
                        json={
                            "msisdn": reply.recipient,
                            "text": reply.text,
                            "received_at": timezone.localtime(reply.received_at).isoformat(),
                            "message_id": reply.gateway_id,
                        },
                        headers={INBOUND_TOKEN_HEADER: inbound_token()},
                    )
                if response.is_success:
                    outcome = str(response.json().get("outcome", FORWARD_FAILED))
                else:
                    detail = f"HTTP {response.status_code}: {response.text}"
            except (httpx.HTTPError, ValueError) as exc:
                detail = f"{type(exc).__name__}: {exc}"
            SandboxMessage.objects.filter(pk=reply_id).update(outcome=outcome, detail=detail[:200])
        except Exception:
            logger.exception("sandbox: forwarding reply %s failed", reply_id)
        finally:
            connections.close_all()

    # WeChat: the token endpoint, then one template message per request.

    def wechat_token(self, request: Request) -> Answer:
        query = request.query
        if query.get("grant_type") != "client_credential":
            return Answer(200, {"errcode": 40002, "errmsg": "invalid grant_type"})
        if query.get("appid") != mode.SANDBOX_APP_ID:
            return Answer(200, {"errcode": 40013, "errmsg": "invalid appid"})
        secret = query.get("secret", "").encode()
        if not hmac.compare_digest(secret, mode.credentials().wechat_secret.encode()):
            return Answer(200, {"errcode": 40125, "errmsg": "invalid appsecret"})
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = time.monotonic() + TOKEN_LIFETIME_S
        return Answer(200, {"access_token": token, "expires_in": TOKEN_LIFETIME_S})

    def wechat_send(self, request: Request) -> Answer:
        with self._lock:
            valid = self._tokens.get(request.query.get("access_token", ""), 0.0) > time.monotonic()
        if not valid:
            # As WeChat says it; the adapter fetches a new token and sends once more.
            return Answer(200, {"errcode": 40001, "errmsg": "invalid credential"})
        try:
            body = request.json()
            touser, template_id = str(body.get("touser", "")), str(body.get("template_id", ""))
            data = body.get("data") or {}
            text = "\n".join(str(field.get("value", "")) for field in data.values())
            client_msg_id = str(body.get("client_msg_id", ""))
        except (ValueError, TypeError, AttributeError):
            return Answer(200, {"errcode": 47001, "errmsg": "data format error"})
        if template_id != mode.SANDBOX_TEMPLATE_ID:
            return Answer(200, {"errcode": 40037, "errmsg": "invalid template_id"})
        if not touser.strip():
            return Answer(200, {"errcode": 40003, "errmsg": "invalid openid"})
        # The message's key names the campaign; WeChat's own de-duplication is per openid
        # and client_msg_id, which the key determines.
        key = request.headers.get("idempotency-key", "") or f"{touser}:{client_msg_id}"

        def accept() -> Answer:
            ids = store_outbound(Channel.WECHAT, [Incoming(key, touser, text)])
            return Answer(200, {"errcode": 0, "errmsg": "ok", "msgid": int(ids[key])})

        return answer_once(endpoint=WECHAT_SEND, key=key, produce=accept)

    # App push: one signed JSON body per message.

    def push(self, request: Request) -> Answer:
        given = request.headers.get(DEFAULT_SIGNATURE_HEADER.lower(), "")
        expected = sign(body=request.body, secret=mode.credentials().push_secret)
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return _bad(401, "bad signature")
        try:
            body = request.json()
            key, user = str(body["id"]), str(body["user_id"])
            title, text = str(body.get("title", "")), str(body.get("body", ""))
        except (ValueError, KeyError, TypeError):
            return _bad(400, "the body is not a push message")
        if not user.strip():
            return _bad(404, "unknown user")

        def accept() -> Answer:
            ids = store_outbound(Channel.APP_PUSH, [Incoming(key, user, text, title)])
            return Answer(200, {"message_id": ids[key]})

        return answer_once(
            endpoint=PUSH, key=request.headers.get("idempotency-key", "") or key, produce=accept
        )


def _accept_sms(items: list[tuple[str, str, str]]) -> Answer:
    results: list[dict[str, str]] = []
    valid: list[Incoming] = []
    for message_id, to, text in items:
        number = normalise_msisdn(to)
        if number is None or not message_id:
            results.append({"id": message_id, "status": "rejected", "error": "号码格式不对"})
        else:
            valid.append(Incoming(message_id, number, text))
    ids = store_outbound(Channel.SMS, valid)
    results.extend(
        {"id": m.client_id, "status": "accepted", "message_id": ids[m.client_id]} for m in valid
    )
    return Answer(200, {"results": results})


def _request(environ: dict[str, Any]) -> Request:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length > BODY_MAX:
        raise ValueError("request body too large")
    body = environ["wsgi.input"].read(length) if length else b""
    headers = {
        key[5:].replace("_", "-").lower(): value
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    return Request(
        method=environ.get("REQUEST_METHOD", "GET"),
        path=environ.get("PATH_INFO", "/"),
        query=dict(parse_qsl(environ.get("QUERY_STRING", ""))),
        headers=headers,
        body=body,
    )


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        logger.debug(format, *args)


def make_sandbox_server(*, port: int, console_url: str) -> WSGIServer:
    """The sandbox on 127.0.0.1:`port` (0: any free port), not yet serving."""
    return make_server(
        mode.SANDBOX_HOST,
        port,
        SandboxGateway(console_url=console_url),
        server_class=_Server,
        handler_class=_QuietHandler,
    )
