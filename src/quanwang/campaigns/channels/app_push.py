"""App push through the operator app's webhook: one signed JSON POST per message."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

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

DEFAULT_SIGNATURE_HEADER = "X-Quanwang-Signature"


@dataclass(frozen=True, kw_only=True, slots=True)
class AppPushConfig(HttpOptions):
    url: str
    #: Shared with the app's push service, which checks the signature of every request.
    secret: str = field(repr=False)
    signature_header: str = DEFAULT_SIGNATURE_HEADER


def sign(*, body: bytes, secret: str) -> str:
    """The signature header's value: "sha256=" and the hex HMAC-SHA256 of the exact body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class AppPushAdapter:
    """The body carries the idempotency key as "id", so the receiver can also drop replays
    of a body it has seen (the signature covers it)."""

    channel: ClassVar[Channel] = Channel.APP_PUSH

    def __init__(self, *, config: AppPushConfig) -> None:
        self.config = config
        self._client = RetryingClient(options=config)

    def send(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        results = {m.idempotency_key: self._send_one(m) for m in unique(messages)}
        return in_order(messages=messages, results=results)

    def close(self) -> None:
        self._client.close()

    def _send_one(self, message: OutboundMessage) -> SendResult:
        if not message.recipient.strip():
            return SendResult.failed(
                message=message, error=SendError.INVALID_RECIPIENT, detail="no app user id"
            )
        body = json.dumps(
            {
                "id": message.idempotency_key,
                "user_id": message.recipient,
                "title": message.title,
                "body": message.text,
                "url": message.url,
                "data": dict(message.template_data),
            },
            ensure_ascii=False,
            sort_keys=True,
        ).encode()
        try:
            response = self._client.request(
                method="POST",
                url=self.config.url,
                idempotency_key=message.idempotency_key,
                content=body,
                headers={
                    "Content-Type": "application/json; charset=utf-8",
                    self.config.signature_header: sign(body=body, secret=self.config.secret),
                },
            )
        except GatewayUnreachable as exc:
            return SendResult.failed(message=message, error=SendError.UNREACHABLE, detail=str(exc))
        try:
            answer = response.json()
        except ValueError:
            answer = None
        answer = answer if isinstance(answer, dict) else {}
        if response.is_success:
            return SendResult.ok(
                message=message, gateway_message_id=str(answer.get("message_id", ""))
            )
        detail = str(answer.get("error") or f"HTTP {response.status_code}: {response.text}")
        if response.status_code in (401, 403):
            error = SendError.AUTH
        elif response.status_code < 500 and response.status_code != 429:
            # A 4xx is the push service's considered no (unknown user, push disabled…).
            error = SendError.REFUSED
        else:
            error = SendError.HTTP_ERROR
        return SendResult.failed(message=message, error=error, detail=detail)
