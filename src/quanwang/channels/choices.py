"""Enumerations shared by the parts of the channels app. The values are the words operators'
exports use (data.schema), the labels go through gettext."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class StoreType(models.TextChoices):
    OWN_HALL = "自营厅", _("Own hall")
    SOCIAL = "社会渠道", _("Social channel")
    AGENT = "代理商", _("Agent")
    PARTNER = "合作店", _("Partner store")


class StoreGrade(models.TextChoices):
    """三店: key stores for depth, anchor stores to hold a street, small stores for coverage."""

    KEY = "重点店", _("Key store")
    ANCHOR = "钉子店", _("Anchor store")
    SMALL = "芝麻店", _("Small store")


class PartnerStage(models.TextChoices):
    """How far the relationship with a partner has come: 拉郎配 (a forced match) → 谈恋爱
    (courting) → 过日子 (settled). The criteria of each stage: channels.stores.stages."""

    FORCED = "拉郎配", _("Forced match")
    COURTING = "谈恋爱", _("Courting")
    SETTLED = "过日子", _("Settled")
