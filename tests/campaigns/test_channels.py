"""Channel adapters against real HTTP servers on loopback, and the call list read back."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.exceptions import ImproperlyConfigured
from openpyxl import load_workbook

from quanwang.campaigns.channels import (
    OutboundMessage,
    SendError,
    SendResult,
    SendStatus,
    adapter_from_config,
)
from quanwang.campaigns.channels.app_push import AppPushAdapter, AppPushConfig
from quanwang.campaigns.channels.base import IDEMPOTENCY_HEADER
from quanwang.campaigns.channels.call_list import CallListAdapter, CallListConfig
from quanwang.campaigns.channels.sms import SmsAdapter, SmsConfig, with_opt_out
from quanwang.campaigns.channels.wechat import WechatAdapter, WechatConfig
from quanwang.campaigns.choices import Channel


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


#: What a test gateway answers: a status and a JSON body (or raw bytes).
Reply = tuple[int, Any]


@dataclass
class Gateway:
    """A real HTTP server on 127.0.0.1 and a free port, answering through `respond` and
    keeping every request it received."""

    respond: Callable[[Received], Reply]
    received: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Gateway:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Received(
                    method=self.command,
                    path=split.path,
                    query={k: v[0] for k, v in parse_qs(split.query).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length),
                )
                gateway.received.append(request)
                status, payload = gateway.respond(request)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = _handle  # noqa: N815 (http.server's naming)
            do_POST = _handle  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the test reads `received` instead."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # A short poll, so that shutdown() at teardown returns at once.
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[Received], Reply]], Gateway]]:
    started: list[Gateway] = []

    def _serve(respond: Callable[[Received], Reply]) -> Gateway:
        gateway = Gateway(respond=respond).start()
        started.append(gateway)
        return gateway

    yield _serve
    for gateway in started:
        gateway.stop()


def message(n: int, **overrides: Any) -> OutboundMessage:
    fields: dict[str, Any] = {
        "campaign_step": "C7-S1",
        "subscriber_id": f"S{n:03d}",
        "recipient": f"1380000{n:04d}",
        "text": f"尊敬的客户，您可免费升级5G套餐{n}",
        **overrides,
    }
    return OutboundMessage(**fields)


def sms_gateway_accepting(refuse: dict[str, str] | None = None) -> Callable[[Received], Reply]:
    """An SMS gateway that accepts every message except the numbers in `refuse`."""

    def respond(request: Received) -> Reply:
        results = []
        for item in request.json()["messages"]:
            if refuse and item["to"] in refuse:
                results.append(
                    {"id": item["id"], "status": "rejected", "error": refuse[item["to"]]}
                )
            else:
                results.append(
                    {"id": item["id"], "status": "accepted", "message_id": f"G-{item['id']}"}
                )
        return 200, {"results": results}

    return respond


def sms(gateway: Gateway, **overrides: Any) -> SmsAdapter:
    options: dict[str, Any] = {
        "url": f"{gateway.url}/sms/send",
        "token": "t0ken",
        "sender": "【测试移动】",
        "backoff_s": 0.0,
        "timeout_s": 2.0,
        **overrides,
    }
    return SmsAdapter(config=SmsConfig(**options))


def statuses(results: list[SendResult]) -> list[SendStatus]:
    return [r.status for r in results]


# -- SMS -----------------------------------------------------------------------------------


def test_sms_posts_batches_with_token_keys_and_the_opt_out_instruction(serve: Any) -> None:
    # Given a gateway and five messages, one already ending with the 退订 instruction
    gateway = serve(sms_gateway_accepting())
    messages = [message(n) for n in range(4)] + [message(4, text="流量包限时优惠。回TD退订")]

    # When they are sent in batches of two
    with_adapter = sms(gateway, batch_size=2)
    results = with_adapter.send(messages)
    with_adapter.close()

    # Then three requests carried them, each with the token and a batch idempotency key
    assert [len(r.json()["messages"]) for r in gateway.received] == [2, 2, 1]
    for request in gateway.received:
        assert request.method == "POST"
        assert request.path == "/sms/send"
        assert request.headers["authorization"] == "Bearer t0ken"
        assert len(request.headers[IDEMPOTENCY_HEADER.lower()]) == 64
        assert request.json()["sender"] == "【测试移动】"
    sent = [item for r in gateway.received for item in r.json()["messages"]]
    # and every text ends with 退订 exactly once, the numbers and keys as given
    assert all(item["text"].endswith("回TD退订") for item in sent)
    assert all(item["text"].count("回TD退订") == 1 for item in sent)
    assert sent[0] == {
        "id": "C7-S1:S000",
        "to": "13800000000",
        "text": "尊敬的客户，您可免费升级5G套餐0，回TD退订",
    }
    # and every message is accepted with the gateway's id, in order
    assert statuses(results) == [SendStatus.ACCEPTED] * 5
    assert [r.gateway_message_id for r in results] == [f"G-C7-S1:S{n:03d}" for n in range(5)]


def test_the_opt_out_instruction_is_added_once_and_readably() -> None:
    assert with_opt_out("办理请回复Y", suffix="回TD退订") == "办理请回复Y，回TD退订"
    assert with_opt_out("详询10086。", suffix="回TD退订") == "详询10086。回TD退订"
    assert with_opt_out("详询10086，回TD退订  ", suffix="回TD退订") == "详询10086，回TD退订"
    assert with_opt_out("", suffix="回TD退订") == "回TD退订"


def test_sms_retries_a_500_then_succeeds_with_the_same_key(serve: Any) -> None:
    # Given a gateway that fails the first request with a 500
    accept = sms_gateway_accepting()

    def respond(request: Received) -> Reply:
        return (500, {"error": "busy"}) if len(gateway.received) == 1 else accept(request)

    gateway = serve(respond)

    # When two messages are sent
    results = sms(gateway).send([message(1), message(2)])

    # Then the batch was sent twice, identically, and accepted the second time
    assert len(gateway.received) == 2
    first, second = gateway.received
    assert first.body == second.body
    assert first.headers[IDEMPOTENCY_HEADER.lower()] == second.headers[IDEMPOTENCY_HEADER.lower()]
    assert statuses(results) == [SendStatus.ACCEPTED, SendStatus.ACCEPTED]


def test_sms_gives_up_after_the_bounded_attempts(serve: Any) -> None:
    # Given a gateway that always answers 503
    gateway = serve(lambda request: (503, {"error": "maintenance"}))

    # When a message is sent with three attempts
    [result] = sms(gateway, max_attempts=3).send([message(1)])

    # Then it was tried three times and failed with the gateway's answer
    assert len(gateway.received) == 3
    assert result.status == SendStatus.FAILED
    assert result.error == SendError.HTTP_ERROR
    assert "503" in result.detail
    assert "maintenance" in result.detail


def test_sms_retries_a_timeout(serve: Any) -> None:
    # Given a gateway whose first answer comes after the client's timeout
    accept = sms_gateway_accepting()

    def respond(request: Received) -> Reply:
        if len(gateway.received) == 1:
            time.sleep(0.6)
        return accept(request)

    gateway = serve(respond)

    # When a message is sent with a 0.2 s timeout
    [result] = sms(gateway, timeout_s=0.2).send([message(1)])

    # Then the second attempt carried it
    assert result.accepted
    assert len(gateway.received) == 2


def test_sms_a_refused_message_fails_with_the_gateways_words(serve: Any) -> None:
    # Given a gateway that refuses one number
    gateway = serve(sms_gateway_accepting(refuse={"13800000002": "号码在运营商黑名单中"}))

    # When three messages are sent
    results = sms(gateway).send([message(1), message(2), message(3)])

    # Then only that one failed, as refused, with the gateway's error
    assert statuses(results) == [SendStatus.ACCEPTED, SendStatus.FAILED, SendStatus.ACCEPTED]
    assert results[1].error == SendError.REFUSED
    assert results[1].detail == "号码在运营商黑名单中"
    assert results[1].idempotency_key == "C7-S1:S002"


def test_sms_bad_token_and_unreadable_answers_fail_every_message(serve: Any) -> None:
    # Given a gateway that refuses the token, and one that answers HTML
    refusing = serve(lambda request: (401, {"error": "bad token"}))
    garbled = serve(lambda request: (200, b"<html>oops</html>"))

    # When a message goes to each
    [auth] = sms(refusing).send([message(1)])
    [bad] = sms(garbled).send([message(1)])

    # Then both failed, with the reason, and a 401 was not retried
    assert (auth.error, bad.error) == (SendError.AUTH, SendError.BAD_RESPONSE)
    assert len(refusing.received) == 1


def test_sms_invalid_numbers_are_not_sent_and_duplicates_go_once(serve: Any) -> None:
    # Given a landline, a +86 mobile number and the same message twice
    gateway = serve(sms_gateway_accepting())
    landline = message(1, recipient="010-12345678")
    plus86 = message(2, recipient="+86 138 0000 0002")

    # When they are sent
    results = sms(gateway).send([landline, plus86, plus86])

    # Then the landline fails locally, and the mobile number is sent once, normalised
    assert results[0].error == SendError.INVALID_RECIPIENT
    assert results[1].accepted
    assert results[2] == results[1]
    [request] = gateway.received
    assert [item["to"] for item in request.json()["messages"]] == ["13800000002"]


def test_sms_unreachable_gateway_fails_after_retries() -> None:
    # Given a port where nothing listens
    closed = Gateway(respond=lambda request: (200, {})).start()
    url = closed.url
    closed.stop()
    adapter = SmsAdapter(
        config=SmsConfig(url=url, token="t", backoff_s=0.0, max_attempts=2, timeout_s=1.0)
    )

    # When a message is sent
    [result] = adapter.send([message(1)])

    # Then it failed as unreachable, naming the transport error
    assert result.error == SendError.UNREACHABLE
    assert "ConnectError" in result.detail


# -- WeChat --------------------------------------------------------------------------------


class FakeWechat:
    """The two WeChat endpoints, with tokens that the test can expire."""

    def __init__(self, *, reject_openids: dict[str, tuple[int, str]] | None = None) -> None:
        self.issued: list[str] = []
        self.valid: set[str] = set()
        self.reject = reject_openids or {}

    def expire_all(self) -> None:
        self.valid.clear()

    def __call__(self, request: Received) -> Reply:
        if request.path == "/cgi-bin/token":
            if request.query.get("secret") != "s3cret":
                return 200, {"errcode": 40125, "errmsg": "invalid appsecret"}
            token = f"T{len(self.issued) + 1}"
            self.issued.append(token)
            self.valid.add(token)
            return 200, {"access_token": token, "expires_in": 7200}
        if request.path == "/cgi-bin/message/template/send":
            if request.query.get("access_token") not in self.valid:
                return 200, {"errcode": 42001, "errmsg": "access_token expired"}
            touser = request.json()["touser"]
            if touser in self.reject:
                code, text = self.reject[touser]
                return 200, {"errcode": code, "errmsg": text}
            return 200, {"errcode": 0, "errmsg": "ok", "msgid": 1000 + len(request.body)}
        return 404, {"errcode": -1, "errmsg": "no such endpoint"}


def wechat(gateway: Gateway, **overrides: Any) -> WechatAdapter:
    options: dict[str, Any] = {
        "app_id": "wx123",
        "app_secret": "s3cret",
        "api_base": gateway.url,
        "backoff_s": 0.0,
        **overrides,
    }
    return WechatAdapter(config=WechatConfig(**options))


def template(n: int, **overrides: Any) -> OutboundMessage:
    return message(
        n,
        recipient=f"oOPENID{n}",
        template_id="TPL-5G",
        template_data={"first": "您的5G升级礼包已到账", "keyword1": "50GB"},
        url="https://m.example/5g",
        **overrides,
    )


def test_wechat_gets_a_token_once_and_sends_the_official_shape(serve: Any) -> None:
    # Given the WeChat API
    api = FakeWechat()
    gateway = serve(api)

    # When two template messages are sent
    results = wechat(gateway).send([template(1), template(2)])

    # Then one token request, then one send per message with the token in the query
    token, first, second = gateway.received
    assert (token.method, token.path) == ("GET", "/cgi-bin/token")
    assert token.query == {"grant_type": "client_credential", "appid": "wx123", "secret": "s3cret"}
    for request in (first, second):
        assert (request.method, request.path) == ("POST", "/cgi-bin/message/template/send")
        assert request.query == {"access_token": "T1"}
    body = first.json()
    assert body["touser"] == "oOPENID1"
    assert body["template_id"] == "TPL-5G"
    assert body["url"] == "https://m.example/5g"
    assert body["data"] == {
        "first": {"value": "您的5G升级礼包已到账"},
        "keyword1": {"value": "50GB"},
    }
    assert len(body["client_msg_id"]) == 32
    assert first.headers[IDEMPOTENCY_HEADER.lower()] == "C7-S1:S001"
    assert all(r.accepted and r.gateway_message_id for r in results)


def test_wechat_refreshes_an_expired_token_and_resends(serve: Any) -> None:
    # Given a token in use, which WeChat then expires
    api = FakeWechat()
    gateway = serve(api)
    adapter = wechat(gateway)
    adapter.send([template(1)])
    api.expire_all()

    # When the next message is sent
    [result] = adapter.send([template(2)])

    # Then the adapter took a new token and the message went through with it
    assert result.accepted
    assert api.issued == ["T1", "T2"]
    sends = [r for r in gateway.received if r.path.endswith("/send")]
    assert [r.query["access_token"] for r in sends] == ["T1", "T1", "T2"]


def test_wechat_refreshes_a_token_past_its_lifetime(serve: Any) -> None:
    # Given a clock the test moves, and a token good for 7200 s (refreshed 300 s early)
    api = FakeWechat()
    gateway = serve(api)
    now = [0.0]
    adapter = WechatAdapter(
        config=WechatConfig(app_id="wx123", app_secret="s3cret", api_base=gateway.url),
        clock=lambda: now[0],
    )
    adapter.send([template(1)])

    # When 6,900 s have passed
    now[0] = 6900.0
    adapter.send([template(2)])

    # Then a new token was fetched before sending
    assert api.issued == ["T1", "T2"]


def test_wechat_a_refused_message_fails_with_the_errcode(serve: Any) -> None:
    # Given a follower who has unsubscribed from the account
    gateway = serve(FakeWechat(reject_openids={"oOPENID2": (43004, "require subscribe")}))

    # When two messages are sent
    results = wechat(gateway).send([template(1), template(2)])

    # Then the second fails, refused, with WeChat's code and message
    assert statuses(results) == [SendStatus.ACCEPTED, SendStatus.FAILED]
    assert results[1].error == SendError.REFUSED
    assert results[1].detail == "43004 require subscribe"


def test_wechat_bad_credentials_fail_all_without_hammering_the_token_endpoint(
    serve: Any,
) -> None:
    # Given a wrong app secret
    gateway = serve(FakeWechat())

    # When three messages are sent
    results = wechat(gateway, app_secret="wrong").send([template(n) for n in range(3)])

    # Then all fail on credentials after one token request
    assert [r.error for r in results] == [SendError.AUTH] * 3
    assert "40125" in results[0].detail
    assert len(gateway.received) == 1


# -- App push ------------------------------------------------------------------------------


def push_service(secret: str) -> Callable[[Received], Reply]:
    """A push service that checks the HMAC-SHA256 signature of the exact body it received."""

    def respond(request: Received) -> Reply:
        expected = "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get("x-quanwang-signature", "")):
            return 401, {"error": "bad signature"}
        body = request.json()
        if body["user_id"] == "U-blocked":
            return 422, {"error": "push disabled by the user"}
        return 200, {"message_id": f"P-{body['id']}"}

    return respond


def test_app_push_signs_the_body_and_the_service_verifies_it(serve: Any) -> None:
    # Given a push service sharing the secret
    gateway = serve(push_service("shared-secret"))
    adapter = AppPushAdapter(
        config=AppPushConfig(url=f"{gateway.url}/push", secret="shared-secret", backoff_s=0.0)
    )

    # When a push and one for a user who disabled pushes are sent
    ok, blocked = adapter.send(
        [
            message(1, recipient="U-1", title="5G 升级", url="app://offers/5g"),
            message(2, recipient="U-blocked", title="5G 升级"),
        ]
    )

    # Then the service verified the signature and got the message as JSON
    body = gateway.received[0].json()
    assert body == {
        "id": "C7-S1:S001",
        "user_id": "U-1",
        "title": "5G 升级",
        "body": "尊敬的客户，您可免费升级5G套餐1",
        "url": "app://offers/5g",
        "data": {},
    }
    assert ok.accepted
    assert ok.gateway_message_id == "P-C7-S1:S001"
    # and the refusal carries the service's reason
    assert blocked.error == SendError.REFUSED
    assert blocked.detail == "push disabled by the user"


def test_app_push_with_the_wrong_secret_is_rejected_by_the_service(serve: Any) -> None:
    # Given a deployment configured with the wrong secret
    gateway = serve(push_service("shared-secret"))
    adapter = AppPushAdapter(
        config=AppPushConfig(url=f"{gateway.url}/push", secret="stale", backoff_s=0.0)
    )

    # When a push is sent
    [result] = adapter.send([message(1, recipient="U-1")])

    # Then the service refused the signature, and it was not retried
    assert result.error == SendError.AUTH
    assert result.detail == "bad signature"
    assert len(gateway.received) == 1


def test_app_push_retries_a_502(serve: Any) -> None:
    # Given a service behind a proxy that fails once
    verify = push_service("k")

    def respond(request: Received) -> Reply:
        return (502, b"bad gateway") if len(gateway.received) == 1 else verify(request)

    gateway = serve(respond)
    adapter = AppPushAdapter(config=AppPushConfig(url=gateway.url, secret="k", backoff_s=0.0))

    # When a push is sent
    [result] = adapter.send([message(1, recipient="U-1")])

    # Then the retry got through, with the same key
    assert result.accepted
    keys = {r.headers[IDEMPOTENCY_HEADER.lower()] for r in gateway.received}
    assert keys == {"C7-S1:S001"}


# -- Call list -----------------------------------------------------------------------------


def test_call_list_writes_full_numbers_with_a_chinese_header(tmp_path: Path) -> None:
    # Given three calls, one with a number that cannot be dialled and a script like a formula
    adapter = CallListAdapter(config=CallListConfig(output_dir=str(tmp_path / "calls")))
    calls = [
        message(1, name="张三", text="您好，这里是10085…", offer="5G畅享套餐"),
        message(2, name="李四", recipient="12345", offer="宽带提速"),
        message(3, name="王五", text='=HYPERLINK("x")', offer="融合套餐"),
    ]

    # When the list is "sent"
    results = adapter.send(calls)

    # Then one workbook holds the two good rows, in full, under Chinese headers
    [written] = sorted((tmp_path / "calls").iterdir())
    assert written.suffix == ".xlsx"
    assert "C7-S1" in written.name
    sheet = load_workbook(written).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert sheet.title == "外呼名单"
    assert rows == [
        ["用户编号", "手机号码", "客户姓名", "外呼话术", "推荐产品"],
        ["S001", "13800000001", "张三", "您好，这里是10085…", "5G畅享套餐"],
        ["S003", "13800000003", "王五", '\'=HYPERLINK("x")', "融合套餐"],
    ]
    # and the formula-looking script is quoted text, not a formula
    assert sheet["D3"].data_type == "s"
    # and every message has its result, naming the row
    assert statuses(results) == [SendStatus.ACCEPTED, SendStatus.FAILED, SendStatus.ACCEPTED]
    assert results[0].gateway_message_id == f"{written.name}#2"
    assert results[2].gateway_message_id == f"{written.name}#3"
    assert results[1].error == SendError.INVALID_RECIPIENT


def test_call_list_a_retried_batch_replaces_its_own_file(tmp_path: Path) -> None:
    # Given a batch already written once
    adapter = CallListAdapter(config=CallListConfig(output_dir=str(tmp_path / "calls")))
    calls = [message(1), message(2)]
    adapter.send(calls)

    # When the same batch is sent again (a retried job)
    adapter.send(calls)

    # Then there is still one list, and no partial file
    assert len(list((tmp_path / "calls").iterdir())) == 1


# -- Configuration -------------------------------------------------------------------------


def test_adapters_are_built_from_the_deployment_config(tmp_path: Path) -> None:
    # Given a QUANWANG_CHANNELS setting with every section
    config = {
        "sms": {"url": "http://127.0.0.1:9/sms", "token": "tok", "batch_size": 50, "timeout_s": 3},
        "wechat": {"app_id": "wx1", "app_secret": "sec"},
        "app_push": {"url": "http://127.0.0.1:9/push", "secret": "hmac"},
        "outbound_call": {"output_dir": str(tmp_path)},
    }

    # When each adapter is built
    adapters = {
        c: adapter_from_config(channel=c, config=config) for c in Channel if c != Channel.TASK
    }

    # Then each is the right kind, with its options, and secrets stay out of reprs
    assert {c: type(a) for c, a in adapters.items()} == {
        Channel.SMS: SmsAdapter,
        Channel.WECHAT: WechatAdapter,
        Channel.APP_PUSH: AppPushAdapter,
        Channel.OUTBOUND_CALL: CallListAdapter,
    }
    sms_adapter = adapters[Channel.SMS]
    assert isinstance(sms_adapter, SmsAdapter)
    assert sms_adapter.config.batch_size == 50
    assert sms_adapter.config.timeout_s == 3.0
    assert sms_adapter.config.opt_out_suffix == "回TD退订"
    assert "tok" not in repr(sms_adapter.config)
    for adapter in adapters.values():
        adapter.close()


@pytest.mark.parametrize(
    ("channel", "config", "complaint"),
    [
        (Channel.SMS, {}, "no section for 'sms'"),
        (Channel.SMS, {"sms": {"url": "http://x"}}, "token is required"),
        (Channel.SMS, {"sms": {"url": "http://x", "token": "t", "tokn": "t"}}, "unknown keys"),
        (
            Channel.SMS,
            {"sms": {"url": "http://x", "token": "t", "batch_size": "9"}},
            "expected int",
        ),
        (
            Channel.APP_PUSH,
            {"app_push": {"url": "http://x", "secret": "s", "max_attempts": True}},
            "expected int",
        ),
        (Channel.TASK, {"task": {}}, "created in the console"),
    ],
)
def test_a_bad_config_is_refused_clearly(
    channel: Channel, config: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match=complaint):
        adapter_from_config(channel=channel, config=config)
