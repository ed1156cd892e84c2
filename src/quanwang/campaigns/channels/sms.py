"""SMS through the operator's HTTP gateway: JSON batches, a bearer token, 退订 on every text."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx
from django.utils.translation import gettext

from quanwang.campaigns.channels.base import (
    ChannelNotConfigured,
    ConfigProblem,
    GatewayUnreachable,
    HttpOptions,
    OutboundMessage,
    RetryingClient,
    SendError,
    SendResult,
    batch_key,
    in_order,
    normalise_msisdn,
    unique,
)
from quanwang.campaigns.choices import Channel

DEFAULT_OPT_OUT = "回TD退订"
#: Punctuation after which the opt-out instruction follows directly; otherwise a comma first.
_CLOSING = frozenset("。！？!?，,；;.")


@dataclass(frozen=True, kw_only=True, slots=True)
class SmsConfig(HttpOptions):
    url: str
    token: str = field(repr=False)
    #: The registered signature (签名), e.g. "【某某移动】"; sent as given, the gateway adds it.
    sender: str = ""
    #: Every text must end with it (MIIT rules on marketing SMS); appended when missing.
    opt_out_suffix: str = DEFAULT_OPT_OUT
    batch_size: int = 100
    #: The shared secret the gateway sends with inbound replies (campaigns/api.py); not used
    #: for sending. Empty: inbound replies are refused.
    inbound_token: str = field(default="", repr=False)


def with_opt_out(text: str, *, suffix: str) -> str:
    """`text` ending with the opt-out instruction, added once."""
    body = text.rstrip()
    if body.endswith(suffix):
        return body
    if not body:
        return suffix
    return f"{body}{'' if body[-1] in _CLOSING else '，'}{suffix}"


class SmsAdapter:
    """POSTs batches of `batch_size` messages; one result per message from the gateway's
    answer. Long texts are not split here: the gateway sends them as concatenated SMS
    (70 characters in one segment, 67 per segment beyond) and bills per segment."""

    channel: ClassVar[Channel] = Channel.SMS

    def __init__(self, *, config: SmsConfig) -> None:
        if config.batch_size < 1:
            raise ChannelNotConfigured(
                gettext("batch_size must be at least 1"), problem=ConfigProblem.BAD_VALUE
            )
        self.config = config
        self._client = RetryingClient(
            options=config,
            headers={
                "Authorization": f"Bearer {config.token}",
                "Content-Type": "application/json; charset=utf-8",
            },
        )

    def send(self, messages: Sequence[OutboundMessage]) -> list[SendResult]:
        results: dict[str, SendResult] = {}
        sendable: list[tuple[OutboundMessage, str]] = []
        for message in unique(messages):
            number = normalise_msisdn(message.recipient)
            if number is None:
                results[message.idempotency_key] = SendResult.failed(
                    message=message,
                    error=SendError.INVALID_RECIPIENT,
                    detail=f"not a mobile number: {message.recipient!r}",
                )
            else:
                sendable.append((message, number))
        size = self.config.batch_size
        for start in range(0, len(sendable), size):
            results.update(self._send_batch(sendable[start : start + size]))
        return in_order(messages=messages, results=results)

    def _send_batch(self, batch: list[tuple[OutboundMessage, str]]) -> dict[str, SendResult]:
        messages = [message for message, _ in batch]
        payload = {
            "sender": self.config.sender,
            "messages": [
                {
                    "id": message.idempotency_key,
                    "to": number,
                    "text": with_opt_out(message.text, suffix=self.config.opt_out_suffix),
                }
                for message, number in batch
            ],
        }
        try:
            response = self._client.request(
                method="POST",
                url=self.config.url,
                idempotency_key=batch_key(messages),
                content=json.dumps(payload, ensure_ascii=False).encode(),
            )
        except GatewayUnreachable as exc:
            return _all_failed(messages=messages, error=SendError.UNREACHABLE, detail=str(exc))
        if response.status_code in (401, 403):
            return _all_failed(messages=messages, error=SendError.AUTH, detail=response.text)
        if not response.is_success:
            detail = f"HTTP {response.status_code}: {response.text}"
            return _all_failed(messages=messages, error=SendError.HTTP_ERROR, detail=detail)
        return _read_results(messages=messages, response=response)

    def close(self) -> None:
        self._client.close()


def _all_failed(
    *, messages: list[OutboundMessage], error: SendError, detail: str
) -> dict[str, SendResult]:
    return {
        m.idempotency_key: SendResult.failed(message=m, error=error, detail=detail)
        for m in messages
    }


def _read_results(
    *, messages: list[OutboundMessage], response: httpx.Response
) -> dict[str, SendResult]:
    """Match the gateway's per-message answers to the batch by id."""
    try:
        answers: dict[str, dict[str, Any]] = {
            str(item["id"]): item for item in response.json()["results"]
        }
    except (ValueError, KeyError, TypeError) as exc:
        detail = f"{type(exc).__name__}: {response.text}"
        return _all_failed(messages=messages, error=SendError.BAD_RESPONSE, detail=detail)
    results: dict[str, SendResult] = {}
    for message in messages:
        answer = answers.get(message.idempotency_key)
        if answer is None:
            results[message.idempotency_key] = SendResult.failed(
                message=message, error=SendError.BAD_RESPONSE, detail="no answer for this message"
            )
        elif answer.get("status") == "accepted":
            results[message.idempotency_key] = SendResult.ok(
                message=message, gateway_message_id=str(answer.get("message_id", ""))
            )
        else:
            results[message.idempotency_key] = SendResult.failed(
                message=message,
                error=SendError.REFUSED,
                detail=str(answer.get("error") or answer.get("status") or ""),
            )
    return results
