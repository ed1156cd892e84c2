"""Codes the insight pipeline writes into the wide table, with their console labels."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ValueTier(models.TextChoices):
    """The 80/20 value tiers (客户价值分层), highest first."""

    KEY = "key", _("Key customer (主顾客)")
    LARGE = "large", _("Large customer (大顾客)")
    REGULAR = "regular", _("Regular customer (普通顾客)")
    SMALL = "small", _("Small customer (小顾客)")


class Engine(models.TextChoices):
    DUCKDB = "duckdb", "DuckDB"
    SPARK = "spark", "Spark"


class CampaignGroup(models.TextChoices):
    """A campaign's two arms, as its results file records each customer's. The campaigns app
    writes the file; the next snapshot reads it back (`insight.history`), so the codes live
    here, below both."""

    TREATED = "treated", _("Treated")
    CONTROL = "control", _("Control")


class LifecycleStage(models.TextChoices):
    """Where a customer stands in the marketing lifecycle, and so which job a campaign does."""

    ACQUIRE = "acquire", _("Onboarding (拉新)")
    ACTIVATE = "activate", _("Activation (促活)")
    CONVERT = "convert", _("Conversion (转化)")
    RETAIN = "retain", _("Retention (留存)")
