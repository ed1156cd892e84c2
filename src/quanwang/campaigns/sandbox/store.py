"""The sandbox's records: messages accepted once per message id, answers once per request key."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from quanwang.campaigns.choices import Channel
from quanwang.campaigns.models import Campaign
from quanwang.campaigns.sandbox.models import Direction, SandboxMessage, SandboxRequest
from quanwang.core.models import OrgUnit

#: The campaigns' message ids: c{campaign}-{step}:{subscriber} (campaigns.dispatch).
CAMPAIGN_KEY = re.compile(r"^c(\d+)-[^:]*:(.+)$")
KEY_MAX = 200


@dataclass(frozen=True)
class Answer:
    """What the sandbox answers: an HTTP status and a JSON body."""

    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Incoming:
    """One message as a gateway received it."""

    client_id: str
    recipient: str
    text: str
    title: str = ""


def new_gateway_id(channel: Channel) -> str:
    """A fresh gateway message id; WeChat's msgid is a number."""
    if channel == Channel.WECHAT:
        return str(secrets.randbelow(9 * 10**11) + 10**11)
    prefix = {Channel.SMS: "SMS", Channel.APP_PUSH: "PUSH"}.get(channel, "MSG")
    return f"{prefix}{secrets.token_hex(6).upper()}"


def answer_once(*, endpoint: str, key: str, produce: Callable[[], Answer]) -> Answer:
    """`produce()`'s answer, recorded under the request's Idempotency-Key: a repeat of the key
    is answered with the first answer and changes nothing. Concurrent repeats wait for the
    first (the row's insert conflicts until it commits)."""
    if not key:
        with transaction.atomic():
            return produce()
    key = key[:KEY_MAX]
    with transaction.atomic():
        try:
            with transaction.atomic():
                row = SandboxRequest.objects.create(endpoint=endpoint, key=key)
        except IntegrityError:
            first = SandboxRequest.objects.get(endpoint=endpoint, key=key)
            return Answer(first.status, json.loads(first.body))
        answer = produce()
        row.status, row.body = answer.status, json.dumps(answer.body, ensure_ascii=False)
        row.save(update_fields=["status", "body"])
        return answer


def store_outbound(channel: Channel, items: Sequence[Incoming]) -> dict[str, str]:
    """Keep the messages not kept before (by message id); every id's gateway message id."""
    ids = {item.client_id for item in items}
    known: dict[str, str] = dict(
        SandboxMessage.objects.filter(
            channel=channel, direction=Direction.TO_CUSTOMER, client_id__in=ids
        ).values_list("client_id", "gateway_id")
    )
    origins = _Origins()
    new: list[SandboxMessage] = []
    for item in items:
        if item.client_id in known:
            continue
        campaign, subscriber = origins.of(item.client_id)
        message = SandboxMessage(
            channel=channel,
            direction=Direction.TO_CUSTOMER,
            recipient=item.recipient[:128],
            subscriber_id=subscriber[:64],
            client_id=item.client_id[:KEY_MAX],
            gateway_id=new_gateway_id(channel),
            title=item.title[:200],
            text=item.text,
            campaign=campaign,
            org_unit=campaign.org_unit if campaign is not None else origins.root(),
        )
        known[item.client_id] = message.gateway_id
        new.append(message)
    SandboxMessage.objects.bulk_create(new)
    return known


def store_reply(*, msisdn: str, text: str) -> SandboxMessage:
    """A customer's reply to the sandbox's SMS, in the unit of the latest message to them."""
    latest = (
        SandboxMessage.objects.filter(
            channel=Channel.SMS, direction=Direction.TO_CUSTOMER, recipient=msisdn
        )
        .select_related("org_unit", "campaign")
        .first()
    )
    gateway_id = new_gateway_id(Channel.SMS)
    return SandboxMessage.objects.create(
        channel=Channel.SMS,
        direction=Direction.FROM_CUSTOMER,
        recipient=msisdn,
        subscriber_id=latest.subscriber_id if latest else "",
        client_id=gateway_id,
        gateway_id=gateway_id,
        text=text,
        campaign=latest.campaign if latest else None,
        org_unit=latest.org_unit if latest else _Origins().root(),
    )


class _Origins:
    """The campaign and customer a message id names, looked up once per campaign."""

    def __init__(self) -> None:
        self._campaigns: dict[int, Campaign | None] = {}
        self._root: OrgUnit | None = None
        self._root_known = False

    def of(self, client_id: str) -> tuple[Campaign | None, str]:
        match = CAMPAIGN_KEY.match(client_id)
        if match is None:
            # Another sender (an early warning to a manager: warning-7:user-3).
            return None, client_id.partition(":")[2]
        pk = int(match.group(1))
        if pk not in self._campaigns:
            self._campaigns[pk] = Campaign.objects.filter(pk=pk).select_related("org_unit").first()
        return self._campaigns[pk], match.group(2)

    def root(self) -> OrgUnit | None:
        if not self._root_known:
            self._root = OrgUnit.objects.filter(parent__isnull=True).order_by("path").first()
            self._root_known = True
        return self._root
