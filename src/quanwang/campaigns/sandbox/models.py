"""What the demo's sandbox gateways received, kept as a gateway's own records would be."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from quanwang.campaigns.choices import Channel
from quanwang.campaigns.models import Campaign
from quanwang.campaigns.responses import InboundOutcome
from quanwang.core.choices import Resource
from quanwang.core.models import OrgUnit
from quanwang.core.querysets import ScopedModel

#: A reply the console's webhook did not take (SandboxMessage.outcome; the others are
#: InboundOutcome values).
FORWARD_FAILED = "failed"


class Direction(models.TextChoices):
    TO_CUSTOMER = "out", _("Sent to the customer")
    FROM_CUSTOMER = "in", _("Reply from the customer")


class SandboxMessage(ScopedModel):
    """One message the sandbox accepted (to a customer), or one simulated reply (from one).

    Seen by those who see the campaign that sent it (its unit; replies: the unit of the
    latest message to the number; the root when there is none)."""

    scope_resource: ClassVar[Resource] = Resource.CAMPAIGN
    scope_org_path: ClassVar[str | None] = "org_unit__path"

    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices)
    #: The number (SMS), openid (WeChat) or app user id (push): the customer's address.
    recipient = models.CharField(_("recipient"), max_length=128, db_index=True)
    subscriber_id = models.CharField(_("subscriber ID"), max_length=64, blank=True)
    #: The sender's id of the message (the adapter's idempotency key; a reply's own id): a
    #: message id is accepted once, as operators' gateways do.
    client_id = models.CharField(max_length=200)
    #: What the sandbox answered with: the gateway's message id.
    gateway_id = models.CharField(max_length=40, unique=True)
    title = models.CharField(_("title"), max_length=200, blank=True)
    text = models.TextField(_("text"))
    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), null=True, blank=True, on_delete=models.SET_NULL
    )
    org_unit = models.ForeignKey(
        OrgUnit, verbose_name=_("org unit"), null=True, blank=True, on_delete=models.SET_NULL
    )
    received_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)
    #: A reply: what the console's inbound webhook answered (an InboundOutcome value), or
    #: empty while it has not answered; `detail` says why when it could not be reached.
    outcome = models.CharField(_("outcome"), max_length=20, blank=True)
    detail = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("sandbox message")
        verbose_name_plural = _("sandbox messages")
        ordering: ClassVar[list[str]] = ["-received_at", "-pk"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["channel", "direction", "client_id"], name="sandbox_message_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.direction} {self.gateway_id}"

    @property
    def is_reply(self) -> bool:
        return self.direction == Direction.FROM_CUSTOMER

    @property
    def outcome_label(self) -> str:
        """What became of a reply, in words."""
        if not self.outcome:
            return str(_("Waiting for the console"))
        if self.outcome == FORWARD_FAILED:
            return str(_("The console did not take the reply"))
        try:
            return str(InboundOutcome(self.outcome).label)
        except ValueError:
            return self.outcome


class SandboxRequest(models.Model):
    """A request the sandbox answered, by its Idempotency-Key: a repeat gets the same answer."""

    endpoint = models.CharField(max_length=40)
    key = models.CharField(max_length=200)
    status = models.PositiveSmallIntegerField(default=0)
    body = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["endpoint", "key"], name="sandbox_request_once")
        ]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.key}: {self.status}"
