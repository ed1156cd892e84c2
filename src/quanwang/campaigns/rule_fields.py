"""The segment builder's field catalogue: each wide-table column under its Chinese name, in a
group (价值, 消费, 合约, …), with its type, unit, codes and the operators that fit it.

The page receives it as JSON (`builder_config`); the builder shows shares (stored as 0-1) in
per cent, so a marketer types 5 for a churn risk of 0.05.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from quanwang.campaigns.rule_words import (
    CODES,
    NO_WORDS,
    SELF_NAMED,
    YES_WORDS,
    code_text,
    field_label,
)
from quanwang.campaigns.rules import OP_ORDER, OPS_BY_KIND, Kind, Op, column_kind, op_label


class FieldGroup(StrEnum):
    VALUE = "value"
    SPENDING = "spending"
    CONTRACT = "contract"
    DEVICE = "device"
    CALLS = "calls"
    COMPLAINTS = "complaints"
    RISK = "risk"
    HISTORY = "history"
    ORGANISATION = "organisation"
    ACCOUNT = "account"
    OTHER = "other"


GROUP_LABELS = {
    FieldGroup.VALUE: gettext_lazy("Customer value"),
    FieldGroup.SPENDING: gettext_lazy("Spending"),
    FieldGroup.CONTRACT: gettext_lazy("Contract"),
    FieldGroup.DEVICE: gettext_lazy("Devices and 5G"),
    FieldGroup.CALLS: gettext_lazy("Calls and other networks"),
    FieldGroup.COMPLAINTS: gettext_lazy("Complaint history"),
    FieldGroup.RISK: gettext_lazy("Risk and scores"),
    FieldGroup.HISTORY: gettext_lazy("Campaign history"),
    FieldGroup.ORGANISATION: gettext_lazy("Organisation and grid"),
    FieldGroup.ACCOUNT: gettext_lazy("Enterprise account"),
    FieldGroup.OTHER: gettext_lazy("Other fields"),
}


class Unit(StrEnum):
    YUAN = "yuan"
    YUAN_PER_MONTH = "yuan_per_month"
    MINUTES = "minutes"
    MINUTES_PER_MONTH = "minutes_per_month"
    GB = "gb"
    GB_PER_MONTH = "gb_per_month"
    MONTHS = "months"
    YEARS = "years"
    PEOPLE = "people"
    TIMES = "times"
    PERCENT = "percent"


UNIT_LABELS = {
    Unit.YUAN: gettext_lazy("yuan"),
    Unit.YUAN_PER_MONTH: gettext_lazy("yuan a month"),
    Unit.MINUTES: gettext_lazy("minutes"),
    Unit.MINUTES_PER_MONTH: gettext_lazy("minutes a month"),
    Unit.GB: "GB",
    Unit.GB_PER_MONTH: gettext_lazy("GB a month"),
    Unit.MONTHS: gettext_lazy("months"),
    Unit.YEARS: gettext_lazy("years old"),
    Unit.PEOPLE: gettext_lazy("people"),
    Unit.TIMES: gettext_lazy("times"),
    Unit.PERCENT: "%",
}
# Shares are stored as 0-1 and shown in per cent.
SCALE = {Unit.PERCENT: 100}


@dataclass(frozen=True)
class FieldInfo:
    group: FieldGroup
    unit: Unit | None = None


def _fields(group: FieldGroup, unit: Unit | None, *names: str) -> dict[str, FieldInfo]:
    return {name: FieldInfo(group, unit) for name in names}


G = FieldGroup
U = Unit
# The builder's order: by group, then as listed. Columns missing here go under "other".
CATALOGUE: Mapping[str, FieldInfo] = (
    _fields(G.VALUE, None, "value_tier", "lifecycle_stage", "segment")
    | _fields(G.VALUE, U.YUAN, "revenue_window", "clv_12m")
    | _fields(G.VALUE, U.PERCENT, "revenue_rank_share")
    | _fields(G.VALUE, U.MONTHS, "tenure_months", "months_active_6m")
    | _fields(G.VALUE, U.YEARS, "age")
    | _fields(G.SPENDING, U.YUAN, "arpu_m1", "arpu_3m", "arpu_6m")
    | _fields(G.SPENDING, U.YUAN_PER_MONTH, "arpu_trend_3m", "arpu_trend_6m")
    | _fields(G.SPENDING, None, "arpu_log_change_2m")
    | _fields(G.SPENDING, U.MINUTES, "mou_m1", "mou_3m", "mou_6m")
    | _fields(G.SPENDING, U.MINUTES_PER_MONTH, "mou_trend_3m", "mou_trend_6m")
    | _fields(G.SPENDING, U.GB, "dou_gb_m1", "dou_gb_3m", "dou_gb_6m")
    | _fields(G.SPENDING, U.GB_PER_MONTH, "dou_gb_trend_3m", "dou_gb_trend_6m")
    | _fields(G.SPENDING, U.PERCENT, "saturation_3m")
    | _fields(G.SPENDING, U.YUAN, "plan_fee", "overage_fee_m1", "overage_fee_3m", "arrears_m1")
    | _fields(G.SPENDING, U.TIMES, "recharges_3m")
    | _fields(G.SPENDING, U.YUAN, "recharge_amount_3m")
    | _fields(G.SPENDING, None, "plan_id", "plan_type", "payment_type", "is_prepaid")
    | _fields(G.SPENDING, None, "is_bundle", "household_broadband", "is_broadband_line")
    | _fields(G.SPENDING, U.PEOPLE, "family_size")
    | _fields(G.CONTRACT, None, "has_contract")
    | _fields(G.CONTRACT, None, "contract_expiring_1m", "contract_expiring_3m")
    | _fields(G.CONTRACT, None, "contract_expiring_6m", "discount_expiring_1m")
    | _fields(G.CONTRACT, None, "discount_expiring_3m", "discount_expiring_6m")
    | _fields(G.DEVICE, None, "plan_5g", "device_5g", "device_5g_on_non5g_plan")
    | _fields(G.DEVICE, None, "non5g_device_on_5g_plan", "upgrade_5g_rule")
    | _fields(G.DEVICE, U.PERCENT, "used_5g_share_3m", "upgrade_5g_propensity")
    | _fields(G.CALLS, U.PERCENT, "offnet_share_3m", "offnet_share_m1")
    | _fields(G.CALLS, U.PERCENT, "offnet_minutes_share_mobile", "offnet_minutes_share_unicom")
    | _fields(G.CALLS, U.PERCENT, "offnet_minutes_share_telecom", "offnet_minutes_share_cbn")
    | _fields(G.CALLS, None, "dual_sim_primary", "dual_sim_secondary")
    | _fields(G.CALLS, U.PEOPLE, "degree", "onnet_peers")
    | _fields(G.CALLS, U.PERCENT, "onnet_peer_share")
    | _fields(G.CALLS, U.MINUTES, "call_minutes_m1")
    | _fields(G.CALLS, U.PEOPLE, "churned_neighbours_1m", "churned_neighbours_2m")
    | _fields(G.COMPLAINTS, U.TIMES, "complaints_3m", "complaints_normal_3m")
    | _fields(G.COMPLAINTS, U.TIMES, "complaints_important_3m", "complaints_major_3m")
    | _fields(G.RISK, U.PERCENT, "churn_risk")
    | _fields(G.RISK, U.PEOPLE, "family_left_1m", "colleagues_left_1m")
    | _fields(G.RISK, None, "switching_cost", "pagerank")
    | _fields(G.HISTORY, U.TIMES, "campaign_contacted_6m", "campaign_accepted_6m")
    | _fields(G.HISTORY, U.TIMES, "campaign_refused_6m")
    | _fields(G.HISTORY, None, "campaign_control_6m")
    | _fields(G.HISTORY, U.MONTHS, "campaign_months_since_contact")
    | _fields(G.HISTORY, None, "do_not_disturb")
    | _fields(G.ORGANISATION, None, "grid_id", "enterprise_member")
    | _fields(G.ORGANISATION, U.PERCENT, "grid_left_rate_3m")
    # The member's enterprise account (core.wide_columns: enterprise.pipeline.wide_columns).
    | _fields(G.ACCOUNT, None, "account_grade", "account_industry")
    | _fields(G.ACCOUNT, None, "account_churn_risk", "account_switching_cost")
    | _fields(G.ACCOUNT, U.MONTHS, "account_contract_months")
)
# Not offered: the key, the snapshot's own month and the worded churn reasons.
HIDDEN = frozenset({"subscriber_id", "snapshot_month"})
GROUP_ORDER = tuple(FieldGroup)
ORDER = {name: index for index, name in enumerate(CATALOGUE)}
# Coded columns offer "is one of" first: a tier rule is mostly "主顾客 or 大顾客".
CODED_OPS = (Op.IN, Op.NOT_IN, Op.EQ, Op.NE, Op.IS_NULL, Op.NOT_NULL)


def _ops(name: str, kind: Kind) -> list[str]:
    if name in CODES and kind is Kind.TEXT:
        return [op.value for op in CODED_OPS]
    return [op.value for op in OP_ORDER if op in OPS_BY_KIND[kind]]


def builder_fields(columns: Mapping[str, str]) -> list[dict[str, Any]]:
    """The snapshot's columns as the builder offers them, in group order."""
    fields = []
    for name, duckdb_type in columns.items():
        if name in HIDDEN or name.startswith("churn_reasons"):
            continue
        info = CATALOGUE.get(name, FieldInfo(FieldGroup.OTHER))
        kind = column_kind(duckdb_type)
        fields.append(
            {
                "name": name,
                "label": field_label(name),
                "group": info.group.value,
                "kind": kind.value,
                "unit": str(UNIT_LABELS[info.unit]) if info.unit else "",
                "scale": SCALE.get(info.unit, 1) if info.unit else 1,
                "ops": _ops(name, kind),
                "choices": [[code, code_text(name, code)] for code in CODES.get(name, {})],
                "self_named": name in SELF_NAMED,
            }
        )
    return sorted(
        fields,
        key=lambda f: (GROUP_ORDER.index(FieldGroup(f["group"])), ORDER.get(f["name"], 999)),
    )


def builder_config(*, lists: list[tuple[int, str]]) -> dict[str, Any]:
    """What the builder's script shows besides the fields: group and operator names, the ID
    lists it may add, and its words (the script holds none, so that every one is translated)."""
    return {
        "groups": [[group.value, str(GROUP_LABELS[group])] for group in GROUP_ORDER],
        "ops": {op.value: op_label(op) for op in Op},
        "lists": [[pk, name] for pk, name in lists],
        "yes_words": sorted(YES_WORDS),
        "no_words": sorted(NO_WORDS),
        "text": {
            "yes": _("yes"),
            "no": _("no"),
            "not": _("Not"),
            "field": _("Field"),
            "operator": _("Comparison"),
            "value": _("Value"),
            "search": _("Search the fields"),
            "no_match": _("No field matches"),
            "remove": _("Remove"),
            "remove_group": _("Remove the group"),
            "add_condition": _("Add a condition"),
            "add_group": _("Add a group"),
            "add_list": _("Add an ID list"),
            "all": _("All of these (AND)"),
            "any": _("Any of these (OR)"),
            "negate_group": _("None of it (NOT)"),
            "to": _("to"),
            "list": _("ID list"),
            "in_list": _("is in the list"),
            "several": _("Separate several values with commas"),
            "choose": _("Choose…"),
            "unknown_field": _("Unknown field"),
            "bad_json": _("The JSON is not valid."),
            "not_shown": _("This rule cannot be shown in the builder; edit it in the JSON below."),
            "empty": _("Add a condition to see how many customers it selects."),
        },
    }
