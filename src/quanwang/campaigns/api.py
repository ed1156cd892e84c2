"""REST endpoints of the campaigns app under /api/v1/campaigns. Thin: authenticate, call a
service, serialise.

The inbound SMS webhook is called by the SMS gateway, which is not a user: it authenticates
with the shared secret `inbound_token` of the sms section of QUANWANG_CHANNELS (in demo mode,
the sandbox's), sent in the X-Quanwang-Inbound-Token header, instead of the API's bearer
tokens.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.errors import HttpError
from ninja.security import APIKeyHeader

from quanwang.campaigns.channels.base import config_from_mapping
from quanwang.campaigns.channels.config import channels_config
from quanwang.campaigns.channels.sms import SmsConfig
from quanwang.campaigns.choices import Channel
from quanwang.campaigns.responses import (
    MESSAGE_ID_MAX,
    IgnoredReason,
    InboundOutcome,
    receive_sms,
)
from quanwang.core.api_schema import CleanText

router = Router(tags=["campaigns"])

INBOUND_TOKEN_HEADER = "X-Quanwang-Inbound-Token"
GATEWAY = "sms-gateway"


def inbound_token() -> str:
    """The configured shared secret, or "" when inbound SMS is not set up (in demo mode the
    sandbox's, generated into the var folder, when the setting has no SMS section)."""
    section = channels_config().get(str(Channel.SMS))
    if not isinstance(section, Mapping):
        return ""
    # Read through the adapter's own config, so a typo in the section fails the same way.
    return config_from_mapping(SmsConfig, section, section=str(Channel.SMS)).inbound_token


class GatewayToken(APIKeyHeader):
    """The SMS gateway's shared secret, compared in constant time."""

    param_name = INBOUND_TOKEN_HEADER

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        expected = inbound_token()
        if not expected:
            # Without a configured secret nobody may post replies, rather than everybody.
            raise HttpError(
                401, _("Inbound SMS is not enabled: no sms.inbound_token is configured.")
            )
        if key is None or not hmac.compare_digest(key.encode(), expected.encode()):
            return None
        return GATEWAY


class InboundSmsIn(Schema):
    msisdn: CleanText = Field(min_length=1, max_length=20, description="The sender's number.")
    text: CleanText = Field(max_length=1000, description="The reply, e.g. TD, 退订, Y, 是.")
    received_at: datetime = Field(
        description="When the gateway received it, ISO 8601 (without a zone: Asia/Shanghai)."
    )
    message_id: CleanText = Field(
        min_length=1,
        max_length=MESSAGE_ID_MAX,
        description="The gateway's id of the reply; a repeat of an id changes nothing.",
    )


class InboundSmsOut(Schema):
    message_id: str
    outcome: InboundOutcome
    campaign_id: int | None = Field(
        description="The campaign accepted, for outcome accepted; the latest campaign that "
        "texted the customer, for outcome review."
    )
    reason: IgnoredReason | None = Field(description="Why nothing was done, for outcome ignored.")
    replayed: bool = Field(description="True when this message id was handled before.")


@router.post(
    "/campaigns/sms/inbound",
    response=InboundSmsOut,
    auth=GatewayToken(),
    summary="Receive an SMS reply from the gateway (TD/退订 opts out, Y/是 accepts, an unclear "
    "reply is held for review)",
)
def sms_inbound(request: HttpRequest, payload: InboundSmsIn) -> Any:
    return receive_sms(
        msisdn=payload.msisdn,
        text=payload.text,
        received_at=payload.received_at,
        message_id=payload.message_id,
    )
