"""The sandbox inbox (演示收件箱): what the sandbox gateways received, as phones would show it,
and customers' simulated replies, sent back the way a real reply comes: the sandbox posts it
to the console's inbound webhook (campaigns/api.py), so the real code records the opt-out."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
from django.core.paginator import Page, Paginator
from django.db.models import Count, Max
from django.utils.translation import gettext as _

from quanwang.campaigns.choices import Channel
from quanwang.campaigns.sandbox import mode
from quanwang.campaigns.sandbox.gateway import REPLY_MAX, SMS_REPLY
from quanwang.campaigns.sandbox.models import SandboxMessage
from quanwang.core.choices import Action, PiiKind
from quanwang.core.errors import NotFound, ServiceError
from quanwang.core.masking import mask

INBOX_CHANNELS = (Channel.SMS, Channel.WECHAT, Channel.APP_PUSH)
PAGE_SIZE = 20
#: The newest messages shown per conversation.
MESSAGES_SHOWN = 20
#: How long the page waits for the console's webhook to have handled a reply.
REPLY_WAIT_S = 3.0
REPLY_POLL_S = 0.1


@dataclass(frozen=True)
class Conversation:
    """One customer's messages on one channel, newest first."""

    channel: Channel
    #: The address as a page may show it: a masked number or openid, the app user id.
    shown_as: str
    subscriber_id: str
    #: The newest message's id: a reply form names it, never the customer's number.
    latest_id: int
    count: int
    messages: list[SandboxMessage]


def shown_as(channel: Channel | str, recipient: str) -> str:
    if channel == Channel.SMS:
        return mask(recipient, PiiKind.MSISDN)
    if channel == Channel.WECHAT:
        # An openid identifies the follower: its ends are enough to tell two apart.
        return recipient[:4] + "****" + recipient[-4:] if len(recipient) > 8 else "****"
    return recipient


def inbox(*, user: Any, channel: Channel, number: str = "", page: Any = None) -> Page:
    """A page of conversations on `channel` that `user` may see, the latest first; `number`
    narrows to addresses ending with it."""
    visible = SandboxMessage.objects.restrict(user, Action.VIEW).filter(channel=channel)
    if number.strip():
        visible = visible.filter(recipient__endswith=number.strip())
    latest = (
        visible.values("recipient")
        .annotate(latest=Max("received_at"), count=Count("pk"))
        .order_by("-latest", "recipient")
    )
    found = Paginator(latest, PAGE_SIZE).get_page(page)
    groups: dict[str, list[SandboxMessage]] = {r["recipient"]: [] for r in found.object_list}
    for message in (
        visible.filter(recipient__in=list(groups))
        .select_related("campaign")
        .order_by("-received_at", "-pk")
    ):
        if len(groups[message.recipient]) < MESSAGES_SHOWN:
            groups[message.recipient].append(message)
    found.object_list = [
        Conversation(
            channel=channel,
            shown_as=shown_as(channel, r["recipient"]),
            subscriber_id=next(
                (m.subscriber_id for m in groups[r["recipient"]] if m.subscriber_id), ""
            ),
            latest_id=groups[r["recipient"]][0].pk,
            count=r["count"],
            messages=groups[r["recipient"]],
        )
        for r in found.object_list
        if groups[r["recipient"]]
    ]
    return found


@dataclass(frozen=True)
class ReplyResult:
    shown_as: str
    text: str
    #: What the console's webhook did, in words (or that it has not answered yet).
    outcome: str


def send_reply(*, user: Any, message_id: int, text: str) -> ReplyResult:
    """The customer of SMS `message_id` replies `text`: through the sandbox gateway, which
    posts it to the console's inbound webhook. Waits a moment for the webhook's outcome."""
    message = (
        SandboxMessage.objects.restrict(user, Action.CHANGE)
        .filter(pk=message_id, channel=Channel.SMS)
        .first()
    )
    if message is None:
        raise NotFound()
    text = text.strip()
    if not text or len(text) > REPLY_MAX:
        raise ServiceError(
            _("Write a reply of 1 to %(n)d characters.") % {"n": REPLY_MAX}, field="text"
        )
    try:
        with httpx.Client(timeout=10.0, trust_env=False) as client:
            response = client.post(
                f"{mode.sandbox_url()}{SMS_REPLY}",
                json={"msisdn": message.recipient, "text": text},
                headers={"Authorization": f"Bearer {mode.credentials().sms_token}"},
            )
        gateway_id = str(response.json()["message_id"]) if response.status_code == 202 else ""
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        gateway_id = ""
    if not gateway_id:
        raise ServiceError(
            _("The demo's sandbox gateway did not take the reply; restart the console.")
        )
    return ReplyResult(
        shown_as=shown_as(Channel.SMS, message.recipient),
        text=text,
        outcome=_wait_for_outcome(gateway_id).outcome_label,
    )


def _wait_for_outcome(gateway_id: str) -> SandboxMessage:
    deadline = time.monotonic() + REPLY_WAIT_S
    while True:
        reply = SandboxMessage.objects.get(gateway_id=gateway_id)
        if reply.outcome or time.monotonic() >= deadline:
            return reply
        time.sleep(REPLY_POLL_S)
