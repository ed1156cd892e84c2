"""Value tiers and the switching-cost index."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from tests.insight.conftest import subscriber, usage_rows


def test_tiers_cut_at_1_5_and_20_percent_of_customers_by_revenue(run: Any) -> None:
    # Given 200 subscribers with distinct revenue
    people = [subscriber(f"S{i:03d}") for i in range(200)]
    usage = [row for i in range(200) for row in usage_rows(f"S{i:03d}", {"2024-06": i + 1})]

    rows = run(subscribers=people, monthly_usage=usage)

    # Then 2 key, 8 large, 30 regular and 160 small customers, the richest on top
    assert Counter(r["value_tier"] for r in rows.values()) == {
        "key": 2, "large": 8, "regular": 30, "small": 160,
    }  # fmt: skip
    assert {rows["S199"]["value_tier"], rows["S198"]["value_tier"]} == {"key"}
    assert rows["S197"]["value_tier"] == "large"


def test_all_zero_arpu_leaves_everyone_a_small_customer(run: Any) -> None:
    people = [subscriber(f"S{i}") for i in range(50)]
    usage = [row for i in range(50) for row in usage_rows(f"S{i}", {"2024-06": 0.0})]

    rows = run(subscribers=people, monthly_usage=usage)

    assert {r["value_tier"] for r in rows.values()} == {"small"}
    assert {r["revenue_window"] for r in rows.values()} == {0}


def test_switching_cost_rises_with_contract_family_tenure_and_enterprise(run: Any) -> None:
    # Given a long-tenured enterprise member in contract with broadband at home, and a newcomer
    bound = subscriber(
        "BOUND",
        join_date=dt.date(2015, 1, 1),
        contract_end_date=dt.date(2025, 12, 31),
        enterprise_id="E1",
        family_id="F1",
    )
    home = subscriber("HOME", family_id="F1", plan_id="PBB")
    free = subscriber("FREE", join_date=dt.date(2024, 5, 1))
    usage = usage_rows("BOUND", {"2024-06": 50}) + usage_rows("FREE", {"2024-06": 50})

    rows = run(subscribers=[bound, home, free], monthly_usage=usage)

    # Then the bound customer scores contract 25 + broadband 15 + family 5 + tenure 15 +
    # enterprise 10 of 90 points; the newcomer has almost nothing to lose
    assert rows["BOUND"]["switching_cost"] == round(100 * 70 / 90, 2)
    assert rows["FREE"]["switching_cost"] == round(100 * (15 * 1 / 60) / 90, 2)


def test_lifecycle_stage_follows_tenure_falling_spend_and_room_to_grow(run: Any) -> None:
    # Given a newcomer, a customer whose spend halved, one using all of the plan, and one settled
    people = [
        subscriber("NEW", join_date=dt.date(2024, 5, 1)),
        subscriber("FALLING"),
        subscriber("FULL"),
        subscriber("SETTLED"),
    ]
    steady = {"2024-03": 50, "2024-04": 50, "2024-05": 50, "2024-06": 50}
    usage = (
        usage_rows("NEW", {"2024-05": 50, "2024-06": 50}, mou=200.0, dou_gb=5.0)
        + usage_rows("FALLING", {"2024-03": 80, "2024-04": 80, "2024-05": 40, "2024-06": 40},
                     mou=200.0, dou_gb=5.0)
        + usage_rows("FULL", steady, mou=200.0, dou_gb=5.0, plan_saturation=0.95)
        + usage_rows("SETTLED", steady, mou=200.0, dou_gb=5.0, plan_saturation=0.5)
    )  # fmt: skip

    rows = run(subscribers=people, monthly_usage=usage)

    assert {s: rows[s]["lifecycle_stage"] for s in rows} == {
        "NEW": "acquire", "FALLING": "activate", "FULL": "convert", "SETTLED": "retain",
    }  # fmt: skip


def test_the_5g_rule_wants_a_5g_phone_on_a_non_5g_plan_that_is_used(run: Any) -> None:
    # Given 5G phones on a 4G plan (one used, one idle), and one already on a 5G plan
    people = [
        subscriber("USED", device_5g=True),
        subscriber("IDLE", device_5g=True),
        subscriber("ON5G", device_5g=True, plan_id="P5G"),
    ]
    usage = (
        usage_rows("USED", {"2024-06": 50}, plan_saturation=0.8)
        + usage_rows("IDLE", {"2024-06": 50}, plan_saturation=0.1, used_5g_network=False)
        + usage_rows("ON5G", {"2024-06": 50}, plan_saturation=0.8)
    )

    rows = run(subscribers=people, monthly_usage=usage)

    assert {s: rows[s]["upgrade_5g_rule"] for s in rows} == {
        "USED": True, "IDLE": False, "ON5G": False,
    }  # fmt: skip
