"""The labels of the post-evaluation report (事后评估报告): its sheets, the campaign's fields,
the metrics, the columns of the breakdown sheets and the headings, in the reader's language.
`campaigns.report` writes the XLSX and the PDF with them."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy


class Sheet(models.TextChoices):
    SUMMARY = "summary", gettext_lazy("Summary (总览)")
    TIER = "tier", gettext_lazy("By tier (分层)")
    ORG_UNIT = "org_unit", gettext_lazy("By org unit (单位)")
    CHANNEL = "channel", gettext_lazy("By channel (渠道)")
    STORE_GRADE = "store_grade", gettext_lazy("By store grade (网点等级)")
    GRID_TYPE = "grid_type", gettext_lazy("By grid type (网格类型)")


class Field(models.TextChoices):
    """The campaign's facts at the top of the report."""

    NAME = "name", gettext_lazy("Campaign")
    TYPE = "type", gettext_lazy("Campaign type")
    HYPOTHESIS = "hypothesis", gettext_lazy("Strategy hypothesis")
    OBJECTIVE = "objective", gettext_lazy("Objective")
    WINDOW = "window", gettext_lazy("Window")
    SEGMENT = "segment", gettext_lazy("Target segment")
    OFFERS = "offers", gettext_lazy("Offers")
    CHANNELS = "channels", gettext_lazy("Channels")
    BUDGET = "budget", gettext_lazy("Budget (yuan)")


class Metric(models.TextChoices):
    """The overall figures, one row each in the summary."""

    TREATED = "treated", gettext_lazy("Treated customers")
    CONTROL = "control", gettext_lazy("Control customers")
    TREATED_RESPONDERS = "treated_responders", gettext_lazy("Treated responders")
    CONTROL_RESPONDERS = "control_responders", gettext_lazy("Control responders")
    TREATED_RATE = "treated_rate", gettext_lazy("Response rate, treated")
    CONTROL_RATE = "control_rate", gettext_lazy("Response rate, control")
    UPLIFT = "uplift", gettext_lazy("Response uplift (difference of rates)")
    RELATIVE_LIFT = "relative_lift", gettext_lazy("Relative lift")
    INCREMENTAL_RESPONDERS = "incremental_responders", gettext_lazy("Incremental responders")
    TREATED_REVENUE = "treated_revenue", gettext_lazy("Revenue per head, treated (yuan)")
    CONTROL_REVENUE = "control_revenue", gettext_lazy("Revenue per head, control (yuan)")
    REVENUE_DIFFERENCE = (
        "revenue_difference",
        gettext_lazy("Revenue per head, difference (yuan)"),
    )
    INCREMENTAL_REVENUE = "incremental_revenue", gettext_lazy("Incremental revenue (yuan)")
    OFFER_COSTS = "offer_costs", gettext_lazy("Offer costs (yuan)")
    CONTACT_COSTS = "contact_costs", gettext_lazy("Contact costs (yuan)")
    COSTS = "costs", gettext_lazy("Costs (yuan)")
    NET_REVENUE = "net_revenue", gettext_lazy("Net incremental revenue (yuan)")
    ROI = "roi", gettext_lazy("ROI")
    BUDGET_USED = "budget_used", gettext_lazy("Share of budget spent")
    ESTIMATE_LOW = "estimate_low", gettext_lazy("Estimated net revenue, low (yuan)")
    ESTIMATE_EXPECTED = (
        "estimate_expected",
        gettext_lazy("Estimated net revenue, expected (yuan)"),
    )
    ESTIMATE_HIGH = "estimate_high", gettext_lazy("Estimated net revenue, high (yuan)")
    ESTIMATE_POSITION = "estimate_position", gettext_lazy("Against the estimate")
    ESTIMATE_RATIO = "estimate_ratio", gettext_lazy("Measured over expected")


class Column(models.TextChoices):
    """The columns of the breakdown sheets and tables."""

    KEY = "key", gettext_lazy("Stratum")
    TREATED = "treated", gettext_lazy("Treated")
    CONTROL = "control", gettext_lazy("Control")
    TREATED_RATE = "treated_rate", gettext_lazy("Response rate, treated")
    CONTROL_RATE = "control_rate", gettext_lazy("Response rate, control")
    UPLIFT = "uplift", gettext_lazy("Uplift")
    UPLIFT_LOW = "uplift_low", gettext_lazy("Uplift, CI low")
    UPLIFT_HIGH = "uplift_high", gettext_lazy("Uplift, CI high")
    INCREMENTAL_RESPONDERS = "incremental_responders", gettext_lazy("Incremental responders")
    REVENUE_DIFFERENCE = "revenue_difference", gettext_lazy("Revenue per head, difference")
    REVENUE_LOW = "revenue_low", gettext_lazy("Revenue difference, CI low")
    REVENUE_HIGH = "revenue_high", gettext_lazy("Revenue difference, CI high")
    INCREMENTAL_REVENUE = "incremental_revenue", gettext_lazy("Incremental revenue")
    COSTS = "costs", gettext_lazy("Costs")
    ROI = "roi", gettext_lazy("ROI")
    NOTES = "notes", gettext_lazy("Notes")


class Heading(models.TextChoices):
    TITLE = "title", gettext_lazy("Post-campaign evaluation report (事后评估报告)")
    RESULTS = "results", gettext_lazy("Results: treated against control")
    VALUE = "value", gettext_lazy("Value")
    CI_LOW = "ci_low", gettext_lazy("CI low")
    CI_HIGH = "ci_high", gettext_lazy("CI high")
    CAVEATS = "caveats", gettext_lazy("Caveats")
    METHOD = "method", gettext_lazy("Method")
    TOO_FEW = "too_few", gettext_lazy("too few")
    UNKNOWN = "unknown", gettext_lazy("Unknown")
    NO_CHANNEL = "no_channel", gettext_lazy("No channel recorded")
    NO_STORE = "no_store", gettext_lazy("No store")
    UNGRADED = "ungraded", gettext_lazy("Not graded")
    AGAINST_ESTIMATE = (
        "against_estimate",
        gettext_lazy("Against the design estimate, like with like"),
    )
    QUANTITY = "quantity", gettext_lazy("Quantity")
    ESTIMATED_LOW = "estimated_low", gettext_lazy("Estimated, low")
    ESTIMATED_EXPECTED = "estimated_expected", gettext_lazy("Estimated, expected")
    ESTIMATED_HIGH = "estimated_high", gettext_lazy("Estimated, high")
    MEASURED = "measured", gettext_lazy("Measured")
    POSITION = "position", gettext_lazy("Against the estimate")
