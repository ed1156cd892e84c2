"""Segment rules hold only numbers the engines can compare and text the databases can store:
anything else is refused with a message, never a server error."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quanwang.campaigns.models import SegmentVersion
from quanwang.campaigns.rules import RuleError, check_rule
from quanwang.insight.snapshots import Snapshot
from tests import factories
from tests.campaigns.conftest import marketer

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
COLUMNS = {"arpu_3m": "DOUBLE", "plan_id": "VARCHAR", "value_tier": "VARCHAR"}


def _arpu(value: Any, op: str = ">=") -> dict[str, Any]:
    return {"field": "arpu_3m", "op": op, "value": value}


@given(st.integers(min_value=INT64_MIN, max_value=INT64_MAX))
def test_every_64_bit_integer_is_a_number_a_rule_takes(value: int) -> None:
    check_rule(_arpu(value), columns=COLUMNS)


@given(st.one_of(st.integers(min_value=INT64_MAX + 1), st.integers(max_value=INT64_MIN - 1)))
def test_an_integer_beyond_64_bits_is_refused(value: int) -> None:
    with pytest.raises(RuleError, match="ARPU, 3-month mean"):
        check_rule(_arpu(value), columns=COLUMNS)


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_a_number_that_is_not_finite_is_refused(value: float) -> None:
    with pytest.raises(RuleError, match="ARPU, 3-month mean"):
        check_rule(_arpu(value), columns=COLUMNS)


def test_a_range_with_an_end_beyond_64_bits_is_refused() -> None:
    with pytest.raises(RuleError, match="ARPU, 3-month mean"):
        check_rule(_arpu([0, 2**64], op="between"), columns=COLUMNS)


@pytest.mark.parametrize(
    "condition",
    [
        {"field": "plan_id", "op": "=", "value": "P\x001"},
        {"field": "plan_id", "op": "in", "value": ["P1", "\x00"]},
    ],
)
def test_a_control_character_in_a_text_value_is_refused(condition: dict[str, Any]) -> None:
    with pytest.raises(RuleError, match="Plan ID"):
        check_rule(condition, columns=COLUMNS)


def test_the_preview_of_a_value_beyond_64_bits_answers_with_the_reason(
    tree: factories.Tree, city: Snapshot, client: Any
) -> None:
    # Given a marketer on the segment builder
    client.force_login(marketer(tree))

    # When the rule being edited compares with 2^64
    response = client.post("/campaigns/segments/preview/", {"rule": json.dumps(_arpu(2**64))})

    # Then the preview names the field instead of failing
    assert response.status_code == 200
    assert "近3月ARPU" in response.context["error"]


def test_a_json_number_too_large_for_a_float_is_refused_in_the_preview(
    tree: factories.Tree, city: Snapshot, client: Any
) -> None:
    client.force_login(marketer(tree))

    response = client.post(
        "/campaigns/segments/preview/",
        {"rule": '{"field": "arpu_3m", "op": ">=", "value": 1e400}'},
    )

    assert response.status_code == 200
    assert "近3月ARPU" in response.context["error"]


def test_a_segment_with_a_nul_byte_in_a_value_is_not_saved(
    tree: factories.Tree, city: Snapshot, client: Any
) -> None:
    # Given a marketer saving a rule whose text value holds a NUL byte
    client.force_login(marketer(tree))
    rule = {"field": "grid_id", "op": "in", "value": ["CA-1-G1\x00"]}

    # When they save it from the console
    response = client.post(
        "/campaigns/segments/", {"name": "坏值", "rule": json.dumps(rule), "description": ""}
    )

    # Then the form shows the reason and nothing is stored
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not SegmentVersion.objects.exists()
