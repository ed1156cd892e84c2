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


class StageSource(models.TextChoices):
    """Who set a partner's stage: a user in the console, or the warehouse's stores table."""

    CONSOLE = "console", _("Decided in the console")
    IMPORT = "import", _("From the imported store file")


class GradingCriterion(models.TextChoices):
    """What a store's grade is scored on (channels.stores.grading)."""

    SALES = "sales", _("Sales")
    FOOTFALL = "footfall", _("Footfall")
    CONVERSION = "conversion", _("Conversion")
    LOCATION = "location", _("Location")
    GROWTH = "growth", _("Growth")


class SalesMeasure(models.TextChoices):
    """Which store_sales figure the sales criterion ranks."""

    REVENUE = "revenue", _("Revenue")
    UNITS = "units", _("Units sold")


class GridType(models.TextChoices):
    """The warehouse's grid types (data.schema `grids.grid_type`): 沿街 street grids are
    "horizontal to the edge", the others "vertical to the bottom" industry grids."""

    STREET = "沿街", _("Street")
    INDUSTRY = "行业", _("Industry")
    CAMPUS = "校园", _("Campus")
    PARK = "园区", _("Business park")
    RURAL = "农村", _("Rural")
