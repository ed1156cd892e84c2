"""WeChat official-account template messages (模板消息) through the public API.

GET  {api_base}/cgi-bin/token?grant_type=client_credential&appid=…&secret=…
     → {"access_token": "…", "expires_in": 7200}
POST {api_base}/cgi-bin/message/template/send?access_token=…
     {"touser", "template_id", "url", "data": {key: {"value": …}}, "client_msg_id"}
     → {"errcode": 0, "errmsg": "ok", "msgid": 200228332}
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx

from quanwang.campaigns.channels.base import (
    GatewayUnreachable,
    HttpOptions,
    OutboundMessage,
    RetryingClient,
    SendError,
    SendResult,
    in_order,
    unique,
)
from quanwang.campaigns.choices import Channel

#: errcodes that mean the access token is no longer good: fetch a new one and try again once.
TOKEN_ERRCODES = frozenset({40001, 40014, 42001})


@dataclass(frozen=True, kw_only=True, slots=True)
class WechatConfig(HttpOptions):
    app_id: str
    app_secret: str = field(repr=False)
    api_base: str = "https://api.weixin.qq.com"
    #: Refresh this many seconds before the token's stated expiry, to not race it.
    token_margin_s: int = 300
    #: The approved template (模板ID) a campaign step is sent with, and the template field
    #: that carries the step's text (campaigns/dispatch.py).
    template_id: str = ""
    text_field: str = "content"


class WechatTokenError(Exception):
    """The token endpoint refused our app id / secret, or its answer could not be read."""


class WechatAdapter:
    """One request per message (the API takes one recipient). The access token is fetched
    lazily, cached until shortly before it expires, and refreshed when a send reports it
    invalid; a token shared across processes is not assumed."""

    channel: ClassVar[Channel] = Channel.WECHAT

    def __init__(
        self, *, config: WechatConfig, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config
        self._clock = clock
        self._client = RetryingClient(options=config)
        self._lock = threading.Lock()
        self._token = ""
        self._token_expires = 0.0

    def send(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        results: dict[str, SendResult] = {}
        refused_credentials = ""
        for message in unique(messages):
            if refused_credentials:
                # The token endpoint has a daily quota: do not ask again for every message.
                results[message.idempotency_key] = SendResult.failed(
                    message=message, error=SendError.AUTH, detail=refused_credentials
                )
                continue
            try:
                results[message.idempotency_key] = self._send_one(message)
            except WechatTokenError as exc:
                refused_credentials = str(exc)
                results[message.idempotency_key] = SendResult.failed(
                    message=message, error=SendError.AUTH, detail=refused_credentials
                )
        return in_order(messages=messages, results=results)

    def close(self) -> None:
        self._client.close()

    def _send_one(self, message: OutboundMessage) -> SendResult:
        """The result of one message; WechatTokenError when no token can be had."""
        if not message.recipient.strip() or not message.template_id:
            return SendResult.failed(
                message=message,
                error=SendError.INVALID_RECIPIENT,
                detail="a WeChat template message needs an openid and a template_id",
            )
        body = {
            "touser": message.recipient,
            "template_id": message.template_id,
            "data": {key: {"value": value} for key, value in message.template_data.items()},
            # WeChat's own de-duplication: one message per openid + client_msg_id.
            "client_msg_id": hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:32],
        }
        if message.url:
            body["url"] = message.url
        content = json.dumps(body, ensure_ascii=False).encode()
        try:
            answer = self._post(message=message, content=content, refresh=False)
            if answer.get("errcode") in TOKEN_ERRCODES:
                answer = self._post(message=message, content=content, refresh=True)
        except GatewayUnreachable as exc:
            return SendResult.failed(message=message, error=SendError.UNREACHABLE, detail=str(exc))
        except _BadAnswer as exc:
            error = SendError.HTTP_ERROR if exc.http_error else SendError.BAD_RESPONSE
            return SendResult.failed(message=message, error=error, detail=str(exc))
        if answer.get("errcode", 0) != 0:
            detail = f"{answer.get('errcode')} {answer.get('errmsg', '')}".strip()
            error = SendError.AUTH if answer.get("errcode") in TOKEN_ERRCODES else SendError.REFUSED
            return SendResult.failed(message=message, error=error, detail=detail)
        return SendResult.ok(message=message, gateway_message_id=str(answer.get("msgid", "")))

    def _post(self, *, message: OutboundMessage, content: bytes, refresh: bool) -> dict[str, Any]:
        response = self._client.request(
            method="POST",
            url=f"{self.config.api_base}/cgi-bin/message/template/send",
            idempotency_key=message.idempotency_key,
            params={"access_token": self._access_token(refresh=refresh)},
            content=content,
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        return _json_answer(response)

    def _access_token(self, *, refresh: bool) -> str:
        with self._lock:
            if refresh or not self._token or self._clock() >= self._token_expires:
                self._fetch_token()
            return self._token

    def _fetch_token(self) -> None:
        response = self._client.request(
            method="GET",
            url=f"{self.config.api_base}/cgi-bin/token",
            idempotency_key=f"token:{self.config.app_id}",
            params={
                "grant_type": "client_credential",
                "appid": self.config.app_id,
                "secret": self.config.app_secret,
            },
        )
        try:
            answer = _json_answer(response)
        except _BadAnswer as exc:
            raise WechatTokenError(f"token endpoint: {exc}") from exc
        token = answer.get("access_token")
        if not isinstance(token, str) or not token:
            raise WechatTokenError(
                f"token endpoint: {answer.get('errcode')} {answer.get('errmsg', '')}".strip()
            )
        lifetime = int(answer.get("expires_in", 7200))
        self._token = token
        self._token_expires = self._clock() + max(lifetime - self.config.token_margin_s, 0)


class _BadAnswer(Exception):
    def __init__(self, detail: str, *, http_error: bool) -> None:
        super().__init__(detail)
        self.http_error = http_error


def _json_answer(response: httpx.Response) -> dict[str, Any]:
    """WeChat answers 200 with an errcode; anything else is a transport-level failure."""
    if not response.is_success:
        raise _BadAnswer(f"HTTP {response.status_code}: {response.text}", http_error=True)
    try:
        answer = response.json()
    except ValueError as exc:
        raise _BadAnswer(f"not JSON: {response.text}", http_error=False) from exc
    if not isinstance(answer, dict):
        raise _BadAnswer(f"not a JSON object: {response.text}", http_error=False)
    return answer
