"""Enumerations of performance.kpis."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Measure(models.TextChoices):
    """What a custom KPI adds up over its rows. There is no average: a ratio is a numerator
    and a denominator, each added up (Aggregation.RATIO)."""

    COUNT = "count", _("Count of rows")
    COUNT_DISTINCT = "count_distinct", _("Count of distinct values")
    SUM = "sum", _("Sum of a column")


class FilterOp(models.TextChoices):
    EQ = "=", "="
    NE = "!=", "≠"
    GT = ">", ">"
    GE = ">=", "≥"
    LT = "<", "<"
    LE = "<=", "≤"
    IN = "in", _("is one of")
    IS_NULL = "is null", _("is empty")
    NOT_NULL = "not null", _("is not empty")
