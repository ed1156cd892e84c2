"""The revenue estimate's assumptions in the console's words: a label, the value with its unit
(a share as a percentage, money in 元) and where the default came from, in the active language.

A stored estimate (Campaign.estimate) keeps each assumption's `basis` and `detail`
(`estimate.Assumption`); the words are made here when the page is shown, so a change of
language or of wording needs no new estimate. For an estimate stored before `basis` existed,
the basis is read back from its English `source` (`_legacy`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from quanwang.campaigns.choices import CampaignType, Channel
from quanwang.campaigns.estimate import BENEFIT_MONTHS, UNITS, Basis, Unit
from quanwang.core import formatting

LABELS = {
    "reach": gettext_lazy("Reach"),
    "take_rate_low": gettext_lazy("Acceptance rate, low"),
    "take_rate_expected": gettext_lazy("Acceptance rate, expected"),
    "take_rate_high": gettext_lazy("Acceptance rate, high"),
    "uplift_low": gettext_lazy("Predicted uplift, low"),
    "uplift_expected": gettext_lazy("Predicted uplift, expected"),
    "uplift_high": gettext_lazy("Predicted uplift, high"),
    "mean_arpu": gettext_lazy("Mean monthly ARPU"),
    "monthly_churn_risk": gettext_lazy("Monthly churn risk"),
    "incremental_monthly_revenue": gettext_lazy("Monthly revenue added per customer who accepts"),
    "months": gettext_lazy("Months of benefit"),
    "offer_cost_per_taker": gettext_lazy("Offer cost per customer who accepts"),
    "contact_cost": gettext_lazy("Contact cost per treated customer"),
}


@dataclass(frozen=True)
class ShownAssumption:
    name: str
    label: str
    value: SafeString | str
    source: str
    changed: bool  # typed in by a user


def share(value: Any) -> str:
    """A share as a percentage with at most two decimals, no trailing zeros: 0.025 → 2.5%."""
    text = formatting.percent(value, 2)
    if text == formatting.MISSING:
        return text
    number = text.removesuffix("%")
    if "." in number:
        number = number.rstrip("0").rstrip(".")
    return f"{number}%"


def value_text(name: str, value: Any) -> SafeString | str:
    unit = UNITS.get(name)
    if unit is Unit.SHARE:
        return share(value)
    if unit is Unit.YUAN:
        return formatting.money(value)
    if unit is Unit.MONTHS:
        number = formatting.as_decimal(value)
        if number is None:
            return formatting.MISSING
        return _("%(months)s months") % {"months": f"{float(number):g}"}
    return str(value)


def _type_label(code: Any) -> str:
    return str(CampaignType(code).label) if code in CampaignType.values else str(code)


def _channels(values: Mapping[str, float], shown: Any) -> str:
    return " · ".join(
        f"{Channel(code).label if code in Channel.values else code} {shown(value)}"
        for code, value in values.items()
    )


# How the estimate worded its sources before it kept their basis.
_LEGACY = (
    ("override", Basis.OVERRIDE),
    ("best channel's reach", Basis.CHANNEL_DEFAULT),
    ("per treated customer, all channels", Basis.CHANNEL_DEFAULT),
    ("mean ARPU", Basis.RETAINED_REVENUE),
    ("the offers'", Basis.OFFERS),
    ("benefit window", Basis.BENEFIT_WINDOW),
    ("mean predicted uplift", Basis.UPLIFT_MODEL),
    ("expected ×", Basis.UPLIFT_RANGE),
)
_CHANNEL_VALUE = re.compile(r"(\w+) ¥?([\d.]+)(%?)")


def _legacy(assumption: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The basis and the facts an old estimate's English source names, where they can be read;
    else no basis (the page then says nothing of the source)."""
    source = str(assumption.get("source") or "")
    if source.startswith("default for "):
        kind = source.removeprefix("default for ").split(" ", 1)[0]
        by_type = Basis.TYPE_DEFAULT_BY_PROPENSITY if "propensity" in source else Basis.TYPE_DEFAULT
        return by_type, {"type": kind}
    basis = next((b for start, b in _LEGACY if source.startswith(start)), None)
    if basis is None:
        return "", {}
    detail: dict[str, Any] = {}
    if basis == Basis.CHANNEL_DEFAULT:
        listed = source.split(":", 1)[-1]
        detail["channels"] = {
            code: float(value) / (100 if percent else 1)
            for code, value, percent in _CHANNEL_VALUE.findall(listed)
        }
    return basis, detail


def source_text(assumption: Mapping[str, Any]) -> str:
    """Where the assumption's value came from, in words of the active language."""
    basis = assumption.get("basis") or ""
    detail: Mapping[str, Any] = assumption.get("detail") or {}
    if not basis:
        basis, detail = _legacy(assumption)
    name = assumption.get("name", "")
    kind = _type_label(detail.get("type"))
    if basis == Basis.OVERRIDE:
        if "default" in detail:
            return _("Changed by the user (default %(default)s)") % {
                "default": value_text(name, detail["default"])
            }
        return _("Changed by the user")
    if basis == Basis.CHANNEL_DEFAULT:
        channels = detail.get("channels") or {}
        if name == "reach":
            return _("Channel default, the best channel's reach: %(channels)s") % {
                "channels": _channels(channels, share)
            }
        return _("Channel default, per treated customer, all channels: %(channels)s") % {
            "channels": _channels(channels, formatting.yuan)
        }
    if basis == Basis.TYPE_DEFAULT:
        return _("Default for %(type)s campaigns") % {"type": kind}
    if basis == Basis.TYPE_DEFAULT_BY_PROPENSITY:
        return _(
            "Default for %(type)s campaigns × the segment's mean 5G propensity "
            "%(propensity)s ÷ 50%%"
        ) % {"type": kind, "propensity": share(detail.get("propensity"))}
    if basis == Basis.PREVIOUS_CAMPAIGN:
        return _(
            "Evaluation of the last campaign of the same type #%(campaign)s: %(rate)s of the "
            "%(contacted)s customers contacted took it"
        ) % {
            "campaign": detail.get("campaign"),
            "rate": share(detail.get("rate")),
            "contacted": formatting.count(detail.get("contacted")),
        }
    if basis == Basis.SEGMENT_MEAN:
        return _("Mean of the segment's customers over the last 3 months")
    if basis == Basis.CHURN_MODEL:
        return _("Mean churn risk the churn model gives the segment's customers")
    if basis == Basis.ASSUMED:
        return _("No churn model scored the snapshot: the industry's typical monthly churn")
    if basis == Basis.OFFERS:
        if name == "offer_cost_per_taker":
            return _("Sum of the chosen offers' costs")
        return _("Sum of the chosen offers' monthly revenue changes")
    if basis == Basis.RETAINED_REVENUE and "kept" not in detail:
        return _("Mean monthly ARPU × the chance of leaving within the benefit window")
    if basis == Basis.RETAINED_REVENUE:
        return _(
            "Mean monthly ARPU × the chance of leaving within %(months)s months (%(kept)s): "
            "the revenue a kept customer brings, plus the offers' monthly change %(change)s"
        ) % {
            "months": BENEFIT_MONTHS,
            "kept": share(detail.get("kept")),
            "change": formatting.yuan(detail.get("change")),
        }
    if basis == Basis.BENEFIT_WINDOW:
        return _("Default benefit window")
    if basis == Basis.UPLIFT_MODEL and "targeted" not in detail:
        return _("Uplift model: the mean predicted uplift of the targeted customers")
    if basis == Basis.UPLIFT_MODEL:
        return _(
            "Uplift model: the mean predicted uplift of the %(targeted)s targeted customers, "
            "learned from the results of campaign #%(campaign)s"
        ) % {
            "targeted": formatting.count(detail.get("targeted")),
            "campaign": detail.get("campaign") or formatting.MISSING,
        }
    if basis == Basis.UPLIFT_RANGE:
        return _(
            "The expected uplift × %(width)s, the relative width of the default range for "
            "%(type)s campaigns"
        ) % {"width": f"{float(detail.get('width') or 0):.2f}", "type": kind}
    return ""  # a source this console cannot word: nothing rather than an English sentence


def shown_assumptions(estimate: Mapping[str, Any] | None) -> list[ShownAssumption]:
    """The stored estimate's assumptions as the page shows them, in their stored order."""
    shown = []
    for assumption in (estimate or {}).get("assumptions", []):
        name = str(assumption.get("name", ""))
        basis = assumption.get("basis") or ""
        shown.append(
            ShownAssumption(
                name=name,
                label=str(LABELS.get(name, name)),
                value=value_text(name, assumption.get("value")),
                source=source_text(assumption),
                changed=basis == Basis.OVERRIDE or assumption.get("source") == "override",
            )
        )
    return shown
