"""Enumerations of the enterprise pipeline part."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ProductLine(models.TextChoices):
    """The operator's enterprise product lines, as the warehouse names them
    (`enterprise_products.product`, `enterprise_orders.product`)."""

    VPN = "集团V网", _("Group VPN (集团V网)")
    LEASED_LINE = "专线", _("Leased line (专线)")
    IOT = "物联网", _("IoT (物联网)")
    CLOUD = "云", _("Cloud (云)")
    PRIVATE_5G = "5G专网", _("5G private network (5G专网)")
    GROUP_SMS = "集团短信", _("Group SMS (集团短信)")
    RINGBACK = "彩铃", _("Ring-back tones (彩铃)")


class OpportunityStage(models.TextChoices):
    """The stages of an opportunity, in order. Open stages run LEAD → NEGOTIATION; WON and
    LOST close it (services.stages holds the moves allowed)."""

    LEAD = "lead", _("Lead (线索)")
    QUALIFIED = "qualified", _("Needs confirmed (需求确认)")
    PROPOSAL = "proposal", _("Solution proposal (方案)")
    QUOTE = "quote", _("Quotation (报价)")
    NEGOTIATION = "negotiation", _("Negotiation (谈判)")
    WON = "won", _("Won (赢单)")
    LOST = "lost", _("Lost (输单)")


class OpportunityStatus(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class OrderKind(models.TextChoices):
    """`enterprise_orders.kind`, as the CRM exports it."""

    NEW = "新装", _("New installation")
    CHANGE = "变更", _("Change")
    CANCEL = "拆机", _("Cancellation")
    FAULT = "故障", _("Fault")
    ENQUIRY = "咨询", _("Enquiry")


class OrderStatus(models.TextChoices):
    """`enterprise_orders.status`, as the CRM exports it."""

    RECEIVED = "受理中", _("Received")
    IN_PROGRESS = "处理中", _("In progress")
    DONE = "已完成", _("Done")
    CANCELLED = "已撤销", _("Cancelled")


#: Orders still being worked on: listed first (oldest first) on the account page.
OPEN_ORDER_STATUSES = (OrderStatus.RECEIVED, OrderStatus.IN_PROGRESS)
