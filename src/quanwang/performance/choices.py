"""Enumerations shared by the performance app's parts; a part's own live in <part>/choices.py."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Grain(models.TextChoices):
    """What a KPI value is about. Keys: OrgUnit.code (every level, grids included), the staff
    member's employee number, the store's store_id, the enterprise account's enterprise_id."""

    ORG_UNIT = "org_unit", _("Org unit")
    STAFF = "staff", _("Staff member")
    STORE = "store", _("Store")
    ACCOUNT = "account", _("Enterprise account")


class Aggregation(models.TextChoices):
    """How a KPI adds up over units, staff and months: a sum, or a ratio of two sums (the
    numerator and the denominator are added up, then divided). Never an average of ratios."""

    SUM = "sum", _("Sum")
    RATIO = "ratio", _("Ratio of sums")


class OverTime(models.TextChoices):
    """How months make a quarter or a year: a flow adds up (revenue, net adds); a stock is read
    at the period's last month with figures (customers at month end)."""

    FLOW = "flow", _("Adds up over months")
    STOCK = "stock", _("Read at period end")


class Direction(models.TextChoices):
    HIGHER = "higher", _("Higher is better")
    LOWER = "lower", _("Lower is better")


class PeriodKind(models.TextChoices):
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")
    YEAR = "year", _("Year")
