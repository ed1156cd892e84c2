"""The words of segment rules: the codes of coded columns and the column labels, in Chinese
and English (`rules` checks and describes with them; the builder offers them)."""

from __future__ import annotations

from django.utils import translation

from quanwang.insight.catalog import LABELS
from quanwang.insight.choices import LifecycleStage, ValueTier

# What people type for yes and no in a yes/no condition (compared trimmed, in lower case).
YES_WORDS = frozenset({"是", "true", "1", "yes", "y", "真", "对"})
NO_WORDS = frozenset({"否", "false", "0", "no", "n", "假", "不是"})
# Coded columns: each code with its Chinese and English words. A rule may name only these
# codes; the wide table copies the last three from the subscribers and plans tables, whose
# importer admits only them (data.schema).
CODES: dict[str, dict[str, tuple[str, str]]] = {
    "value_tier": {
        ValueTier.KEY.value: ("主顾客", "Key customer"),
        ValueTier.LARGE.value: ("大顾客", "Large customer"),
        ValueTier.REGULAR.value: ("普通顾客", "Regular customer"),
        ValueTier.SMALL.value: ("小顾客", "Small customer"),
    },
    "lifecycle_stage": {
        LifecycleStage.ACQUIRE.value: ("拉新期", "Onboarding"),
        LifecycleStage.ACTIVATE.value: ("促活期", "Activation"),
        LifecycleStage.CONVERT.value: ("转化期", "Conversion"),
        LifecycleStage.RETAIN.value: ("留存期", "Retention"),
    },
    "segment": {
        "个人": ("个人", "Individual"),
        "家庭": ("家庭", "Family"),
        "政企": ("政企", "Enterprise"),
    },
    # The member's enterprise account grade (enterprise.choices.AccountGrade).
    "account_grade": {
        "A": ("A类集团", "Grade A account"),
        "B": ("B类集团", "Grade B account"),
        "C": ("C类集团", "Grade C account"),
    },
    "payment_type": {"prepaid": ("预付费", "Prepaid"), "postpaid": ("后付费", "Postpaid")},
    "plan_type": {
        "prepaid": ("预付费", "Prepaid"),
        "postpaid": ("后付费", "Postpaid"),
        "broadband": ("宽带", "Broadband"),
        "iptv": ("交互电视", "IPTV"),
        "bundle": ("融合", "Bundle"),
    },
}
# Codes read as the customer group itself ("非主顾客"), not as "<field> is <code>".
SELF_NAMED = frozenset({"value_tier", "lifecycle_stage"})


def _zh() -> bool:
    return (translation.get_language() or "zh-hans").startswith("zh")


def field_label(field: str, *, zh: bool | None = None) -> str:
    """A column's name as people read it (its code where the catalogue has none)."""
    labels = LABELS.get(field)
    if labels is None:
        return field
    return labels[0 if (_zh() if zh is None else zh) else 1]


def code_text(field: str, code: str, *, zh: bool | None = None) -> str:
    """A code of a coded column in words ("key" → "主顾客"); other values as they are."""
    words = CODES.get(field, {}).get(code)
    if words is None:
        return code
    return words[0 if (_zh() if zh is None else zh) else 1]
