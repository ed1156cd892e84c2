"""What every channel adapter shares: the message, the result, the interface, HTTP with retries."""

from __future__ import annotations

import hashlib
import re
import time
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar, Protocol, TypeVar

import httpx
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from quanwang.campaigns.choices import Channel

#: Statuses worth another attempt: the gateway is overloaded or failing, not refusing.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
IDEMPOTENCY_HEADER = "Idempotency-Key"
#: A mainland mobile number, with or without the +86 / 86 country code.
MSISDN = re.compile(r"^(?:\+?86)?(1\d{10})$")
#: Longest gateway text kept in a result: enough to read, never a whole HTML error page.
DETAIL_LIMIT = 500


class SendStatus(models.TextChoices):
    ACCEPTED = "accepted", _("Accepted by the gateway")
    FAILED = "failed", _("Not sent")


class SendError(models.TextChoices):
    """Why a message was not accepted; shown in the dispatch log next to the gateway's text."""

    REFUSED = "refused", _("Refused by the gateway")
    AUTH = "auth", _("The gateway refused our credentials")
    HTTP_ERROR = "http_error", _("The gateway answered with an error")
    UNREACHABLE = "unreachable", _("The gateway could not be reached")
    BAD_RESPONSE = "bad_response", _("The gateway's answer could not be read")
    INVALID_RECIPIENT = "invalid_recipient", _("The recipient is not valid for the channel")


class ConfigProblem(models.TextChoices):
    """What is wrong with a channel's settings, in words a marketer can read: the page says
    this, never the setting's own names (ChannelNotConfigured's text, for the log, has them)."""

    NO_SECTION = "no_section", _("the server has no settings for this channel")
    UNKNOWN_KEY = "unknown_key", _("its settings hold an item the server does not know")
    MISSING_KEY = "missing_key", _("a required item is missing from its settings")
    WRONG_TYPE = "wrong_type", _("an item of its settings has the wrong type")
    BAD_VALUE = "bad_value", _("an item of its settings is out of range")
    NO_TEMPLATE = "no_template", _("no approved WeChat template is set")
    NO_ADAPTER = "no_adapter", _("this channel is not sent through a gateway")
    SANDBOX_DOWN = (
        "sandbox_down",
        _("the demo's sandbox gateway is not running; restart the console"),
    )


class ChannelNotConfigured(ImproperlyConfigured):
    """A channel's settings cannot be used. The text names the setting and key at fault, for
    the operator's log and the command line; `problem` is what a console page shows."""

    def __init__(self, detail: str, *, problem: ConfigProblem) -> None:
        super().__init__(detail)
        self.problem = problem


@dataclass(frozen=True, kw_only=True, slots=True)
class OutboundMessage:
    """One message to one customer for one campaign step; which fields count depends on the
    channel (see docs/campaigns-dispatch.md)."""

    campaign_step: str
    subscriber_id: str
    #: MSISDN for SMS and call lists, openid for WeChat, the app's user id for push.
    recipient: str
    text: str = ""
    title: str = ""
    template_id: str = ""
    template_data: Mapping[str, str] = field(default_factory=dict)
    url: str = ""
    #: For the call list: the customer's name and the offer the agent presents.
    name: str = ""
    offer: str = ""

    @property
    def idempotency_key(self) -> str:
        """The same for every retry of this step to this customer, so nobody gets it twice."""
        return f"{self.campaign_step}:{self.subscriber_id}"


@dataclass(frozen=True, kw_only=True, slots=True)
class SendResult:
    idempotency_key: str
    status: SendStatus
    gateway_message_id: str = ""
    error: SendError | None = None
    #: The gateway's own words (or the transport error), untranslated, for the log.
    detail: str = ""

    @property
    def accepted(self) -> bool:
        return self.status == SendStatus.ACCEPTED

    @classmethod
    def ok(cls, *, message: OutboundMessage, gateway_message_id: str) -> SendResult:
        return cls(
            idempotency_key=message.idempotency_key,
            status=SendStatus.ACCEPTED,
            gateway_message_id=gateway_message_id,
        )

    @classmethod
    def failed(cls, *, message: OutboundMessage, error: SendError, detail: str) -> SendResult:
        return cls(
            idempotency_key=message.idempotency_key,
            status=SendStatus.FAILED,
            error=error,
            detail=detail[:DETAIL_LIMIT],
        )


class ChannelAdapter(Protocol):
    """Sends messages on one channel: one result per message given, in the same order."""

    channel: ClassVar[Channel]

    def send(self, messages: Sequence[OutboundMessage]) -> list[SendResult]: ...

    def close(self) -> None: ...


def in_order(
    *, messages: Sequence[OutboundMessage], results: Mapping[str, SendResult]
) -> list[SendResult]:
    """Results in the order of `messages`; a key given twice was sent once and shares it."""
    return [results[m.idempotency_key] for m in messages]


def unique(messages: Iterable[OutboundMessage]) -> list[OutboundMessage]:
    """The first message per idempotency key: a duplicate in one call is not sent twice."""
    firsts: dict[str, OutboundMessage] = {}
    for message in messages:
        firsts.setdefault(message.idempotency_key, message)
    return list(firsts.values())


def batch_key(messages: Sequence[OutboundMessage]) -> str:
    """One idempotency key for a request carrying several messages: the same batch, retried,
    carries the same key."""
    joined = "\n".join(m.idempotency_key for m in messages)
    return hashlib.sha256(joined.encode()).hexdigest()


def normalise_msisdn(text: str) -> str | None:
    """The 11-digit number, or None when `text` is not a mainland mobile number."""
    match = MSISDN.match(text.strip().replace(" ", "").replace("-", ""))
    return match.group(1) if match else None


class GatewayUnreachable(Exception):
    """Every attempt failed below HTTP (connect, timeout, broken connection)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class HttpOptions:
    """Timeouts and retries; the HTTP adapters' configs extend it, so the keys are flat."""

    timeout_s: float = 10.0
    max_attempts: int = 3
    backoff_s: float = 0.5
    #: An explicit proxy URL; the process environment's proxies are ignored, so that what a
    #: deployment sends is what its config says.
    proxy: str = ""


class RetryingClient:
    """An httpx client that retries 429/5xx answers and transport errors, a bounded number of
    times with exponential backoff. Every attempt carries the same idempotency key, so a
    gateway that saw an attempt we think failed can drop the repeat."""

    def __init__(
        self,
        *,
        options: HttpOptions,
        headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if options.max_attempts < 1:
            raise ChannelNotConfigured(
                gettext("max_attempts must be at least 1"), problem=ConfigProblem.BAD_VALUE
            )
        self._options = options
        self._sleep = sleep
        self._client = httpx.Client(
            timeout=httpx.Timeout(options.timeout_s),
            headers=dict(headers or {}),
            trust_env=False,
            proxy=options.proxy or None,
        )

    def request(
        self,
        *,
        method: str,
        url: str,
        idempotency_key: str,
        content: bytes | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """The last answer (which may be an error status), or GatewayUnreachable."""
        sent_headers = {**(headers or {}), IDEMPOTENCY_HEADER: idempotency_key}
        for attempt in range(1, self._options.max_attempts + 1):
            last = attempt == self._options.max_attempts
            try:
                response = self._client.request(
                    method, url, content=content, params=params, headers=sent_headers
                )
            except httpx.TransportError as exc:
                if last:
                    raise GatewayUnreachable(f"{type(exc).__name__}: {exc}") from exc
            else:
                if response.status_code not in RETRY_STATUSES or last:
                    return response
            self._sleep(self._options.backoff_s * 2 ** (attempt - 1))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def close(self) -> None:
        self._client.close()


ConfigT = TypeVar("ConfigT")


def config_from_mapping(cls: type[ConfigT], data: Mapping[str, Any], *, section: str) -> ConfigT:
    """Build a config dataclass from a deployment dict, refusing unknown keys (typos), missing
    required keys and values of the wrong type, with the section named in the error."""
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ChannelNotConfigured(
            gettext("QUANWANG_CHANNELS[%(section)r]: unknown keys %(keys)s")
            % {"section": section, "keys": unknown},
            problem=ConfigProblem.UNKNOWN_KEY,
        )
    values: dict[str, Any] = {}
    for name, spec in known.items():
        if name not in data:
            if spec.default is MISSING and spec.default_factory is MISSING:
                raise ChannelNotConfigured(
                    gettext("QUANWANG_CHANNELS[%(section)r]: %(key)s is required")
                    % {"section": section, "key": name},
                    problem=ConfigProblem.MISSING_KEY,
                )
            continue
        values[name] = _coerce(data[name], hints[name], where=f"{section}.{name}")
    return cls(**values)


def _coerce(value: Any, kind: Any, *, where: str) -> Any:
    if kind not in (str, int, float):
        raise TypeError(f"config field {where} has an unsupported type {kind}")
    # bool is an int to Python, but a flag where a number belongs is a mistake in the config.
    if isinstance(value, bool) or not isinstance(value, (int, float) if kind is float else kind):
        raise ChannelNotConfigured(
            gettext("QUANWANG_CHANNELS %(key)s: expected %(expected)s, got %(got)s")
            % {"key": where, "expected": kind.__name__, "got": type(value).__name__},
            problem=ConfigProblem.WRONG_TYPE,
        )
    return float(value) if kind is float else value
