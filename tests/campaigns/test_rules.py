"""Segment rules: checked against the snapshot's columns, compiled to Ibis, read as text."""

from __future__ import annotations

import ibis
import pyarrow as pa
import pytest

from quanwang.campaigns.rules import RuleError, check_rule, compile_rule, describe

COLUMNS = {
    "arpu_3m": "DOUBLE",
    "contract_expiring_3m": "BOOLEAN",
    "value_tier": "VARCHAR",
    "churn_risk": "DOUBLE",
    "grid_id": "VARCHAR",
}
EXAMPLE = {
    "all": [
        {"field": "arpu_3m", "op": ">=", "value": 80},
        {"field": "contract_expiring_3m", "op": "is", "value": True},
        {"not": {"field": "value_tier", "op": "in", "value": ["key"]}},
    ]
}


def test_a_rule_reads_as_the_marketers_own_words() -> None:
    assert describe(EXAMPLE) == "近3月ARPU ≥ 80 且 合约3个月内到期 且 非主顾客"
    assert describe(EXAMPLE, language="en") == (
        "ARPU, 3-month mean ≥ 80 and Contract ends within 3 months and not Key customer"
    )


def test_nested_any_is_bracketed_in_the_text() -> None:
    risky = {"field": "churn_risk", "op": ">", "value": 0.05}
    expiring = {"field": "contract_expiring_3m", "op": "is", "value": True}
    rule = {"all": [{"field": "arpu_3m", "op": ">", "value": 50}, {"any": [risky, expiring]}]}

    assert describe(rule) == "近3月ARPU > 50 且 (离网风险 > 0.05 或 合约3个月内到期)"


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"field": "gone_column", "op": ">", "value": 1}, "gone_column"),
        ({"field": "arpu_3m", "op": "in", "value": ["1"]}, "takes the operators"),
        ({"field": "arpu_3m", "op": ">", "value": "high"}, "is a number"),
        ({"field": "contract_expiring_3m", "op": "is", "value": "yes"}, "true or false"),
        ({"field": "value_tier", "op": "in", "value": ["vip"]}, "no codes"),
        ({"all": []}, "non-empty list"),
        ({"field": "arpu_3m", "op": "between", "value": [9, 1]}, "low end"),
        ({"list": 7}, "does not exist"),
    ],
)
def test_a_bad_rule_is_refused_naming_the_condition(rule: dict, message: str) -> None:
    with pytest.raises(RuleError, match=message):
        check_rule(rule, columns=COLUMNS, lists=lambda _id: False)


def test_the_rule_compiles_to_one_expression_and_missing_values_are_outside() -> None:
    # Given four customers, one without ARPU
    table = ibis.memtable(
        pa.table(
            {
                "subscriber_id": ["A", "B", "C", "D"],
                "arpu_3m": [100.0, 100.0, 50.0, None],
                "contract_expiring_3m": [True, True, True, True],
                "value_tier": ["regular", "key", "regular", "regular"],
            }
        )
    )

    # When the example rule and its negation are applied
    chosen = table.filter(compile_rule(EXAMPLE, table, {})).subscriber_id.to_pyarrow()
    others = table.filter(compile_rule({"not": EXAMPLE}, table, {})).subscriber_id.to_pyarrow()

    # Then only A matches, and NOT takes everyone else, D (no ARPU) included
    assert chosen.to_pylist() == ["A"]
    assert sorted(others.to_pylist()) == ["B", "C", "D"]


def test_an_id_list_condition_selects_its_members() -> None:
    table = ibis.memtable(pa.table({"subscriber_id": ["A", "B", "C"]}))
    members = ibis.memtable(pa.table({"subscriber_id": ["B", "X"]}))

    chosen = table.filter(compile_rule({"list": 3}, table, {3: members})).subscriber_id

    assert chosen.to_pyarrow().to_pylist() == ["B"]
