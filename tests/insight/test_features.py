"""The wide table's features, checked against values worked out by hand."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.insight.conftest import msisdn_hash, subscriber, usage_rows

SIX_MONTHS = {
    "2024-01": 10,
    "2024-02": 20,
    "2024-03": 30,
    "2024-04": 40,
    "2024-05": 50,
    "2024-06": 60,
}


def test_usage_gives_latest_value_means_and_slopes(run: Any) -> None:
    # Given six months of ARPU rising by 10 a month, and a month before the window
    usage = usage_rows("A", SIX_MONTHS | {"2023-12": 999}, onnet_minutes=30.0, offnet_minutes=10.0)

    # When the June snapshot is built
    rows = run(subscribers=[subscriber("A")], monthly_usage=usage)

    # Then the window holds six months and the figures follow from them
    a = rows["A"]
    assert (a["arpu_m1"], a["arpu_3m"], a["arpu_6m"]) == (60, 50, 35)
    assert a["arpu_trend_3m"] == pytest.approx(10)
    assert a["arpu_trend_6m"] == pytest.approx(10)
    assert a["months_active_6m"] == 6
    assert a["offnet_share_3m"] == pytest.approx(0.25)


def test_one_month_of_history_has_levels_but_no_trend(run: Any) -> None:
    rows = run(
        subscribers=[subscriber("D", join_date=dt.date(2024, 6, 1))],
        monthly_usage=usage_rows("D", {"2024-06": 20}),
    )

    d = rows["D"]
    assert (d["arpu_m1"], d["arpu_3m"], d["arpu_6m"]) == (20, 20, 20)
    assert d["arpu_trend_3m"] is None
    assert d["tenure_months"] == 0


def test_contract_expiry_tenure_and_device_flags_are_as_of_the_month_end(run: Any) -> None:
    # Given a 5G-plan subscriber without a 5G phone whose contract ends on 10 August
    a = subscriber(
        "A",
        join_date=dt.date(2023, 6, 15),
        plan_id="P5G",
        device_5g=False,
        contract_end_date=dt.date(2024, 8, 10),
    )

    rows = run(subscribers=[a], monthly_usage=usage_rows("A", {"2024-06": 50}))

    # Then the contract ends within 3 and 6 months but not within 1, after 12 months' tenure
    row = rows["A"]
    assert (row["contract_expiring_1m"], row["contract_expiring_3m"]) == (False, True)
    assert (row["contract_expiring_6m"], row["has_contract"]) == (True, True)
    assert row["tenure_months"] == 12
    assert row["non5g_device_on_5g_plan"] is True
    assert row["device_5g_on_non5g_plan"] is False


def test_the_call_circle_counts_peers_shares_and_neighbours_who_left(run: Any) -> None:
    # Given A calls C (ours, who left in May) and a 移动 number in June
    c = subscriber("C", msisdn="13800000003", status="churned", churn_date=dt.date(2024, 5, 20))
    contacts = [
        {"subscriber_id": "A", "month": "2024-06", "peer_hash": msisdn_hash("13800000003"),
         "peer_operator": "本网", "calls": 2, "minutes": 10.0},
        {"subscriber_id": "A", "month": "2024-06", "peer_hash": "x", "peer_operator": "移动",
         "calls": 5, "minutes": 30.0},
    ]  # fmt: skip

    rows = run(
        subscribers=[subscriber("A"), c],
        monthly_usage=usage_rows("A", {"2024-06": 50}),
        contacts=contacts,
    )

    a = rows["A"]
    assert (a["degree"], a["onnet_peers"], a["churned_neighbours_2m"]) == (2, 1, 1)
    assert a["onnet_peer_share"] == pytest.approx(0.5)
    assert a["offnet_minutes_share_mobile"] == pytest.approx(0.75)
    assert a["offnet_minutes_share_unicom"] == 0


def test_only_subscribers_with_us_on_the_last_day_are_in_the_snapshot(run: Any) -> None:
    people = [
        subscriber("A"),
        subscriber("LEFT", status="churned", churn_date=dt.date(2024, 5, 20)),
        subscriber("LATER", join_date=dt.date(2024, 7, 1)),
        subscriber("LEAVES_IN_JULY", churn_date=dt.date(2024, 7, 3)),
    ]

    rows = run(subscribers=people, monthly_usage=usage_rows("A", {"2024-06": 50}))

    assert sorted(rows) == ["A", "LEAVES_IN_JULY"]


def test_family_members_share_household_broadband_and_complaints_count_by_level(
    run: Any,
) -> None:
    people = [
        subscriber("A", family_id="F1"),
        subscriber("B", family_id="F1", plan_id="PBB"),
        subscriber("Z"),
    ]
    complaints = [
        {"complaint_id": "K1", "subscriber_id": "A", "created_date": dt.date(2024, 5, 3),
         "category": "网络", "level": "重大"},
        {"complaint_id": "K2", "subscriber_id": "A", "created_date": dt.date(2024, 2, 3),
         "category": "网络", "level": "普通"},
    ]  # fmt: skip

    rows = run(
        subscribers=people, monthly_usage=usage_rows("A", {"2024-06": 50}), complaints=complaints
    )

    assert (rows["A"]["family_size"], rows["A"]["household_broadband"]) == (2, True)
    assert (rows["Z"]["family_size"], rows["Z"]["household_broadband"]) == (1, False)
    assert (rows["A"]["complaints_3m"], rows["A"]["complaints_major_3m"]) == (1, 1)


def test_every_snapshot_column_has_chinese_and_english_labels(run: Any) -> None:
    from quanwang.insight.catalog import LABELS

    rows = run(subscribers=[subscriber("A")], monthly_usage=usage_rows("A", {"2024-06": 50}))

    columns = set(rows["A"])
    assert columns - set(LABELS) == set()
    assert all(zh and en for zh, en in LABELS.values())


def test_the_offnet_pool_counts_our_callers_and_names_the_strongest_referrer(
    tmp_path: Any,
) -> None:
    import duckdb

    from quanwang.insight.pipeline import run_pipeline
    from tests import factories
    from tests.insight.conftest import PLANS

    # Given two of our customers calling the same 移动 number, B for longer
    def call(who: str, minutes: float) -> dict[str, Any]:
        return {"subscriber_id": who, "month": "2024-06", "peer_hash": "X", "peer_operator": "移动",
                "calls": 3, "minutes": minutes}  # fmt: skip

    files = factories.canonical_files(
        tmp_path,
        plans=PLANS,
        subscribers=[subscriber("A"), subscriber("B", grid_id="G2")],
        monthly_usage=usage_rows("A", {"2024-06": 50}),
        contacts=[call("A", 10.0), call("B", 25.0)],
    )

    # When the snapshot is built
    snapshot = run_pipeline(month="2024-06", files=files)

    # Then the number is in the pool with both ties, and B (grid G2) is its referrer
    rows = duckdb.sql(
        f"SELECT peer_hash, our_ties, calls, minutes, referrer_id, referrer_grid_id, pool_rank "
        f"FROM {snapshot.offnet_pool}"
    ).fetchall()
    assert rows == [("X", 2, 6, 35.0, "B", "G2", 1)]


def test_pagerank_flows_along_on_net_calls_weighted_by_minutes(run: Any) -> None:
    # Given B and C call A, and D splits its calls between A (30 min) and E (10 min)
    people = [subscriber(s, msisdn=f"1380000000{i}") for i, s in enumerate("ABCDE")]

    def call(caller: str, callee: str, minutes: float) -> dict[str, Any]:
        number = f"1380000000{'ABCDE'.index(callee)}"
        return {"subscriber_id": caller, "month": "2024-06", "peer_hash": msisdn_hash(number),
                "peer_operator": "本网", "calls": 1, "minutes": minutes}  # fmt: skip

    contacts = [call("B", "A", 5), call("C", "A", 5), call("D", "A", 30), call("D", "E", 10)]

    # When the June snapshot is built
    rows = run(
        subscribers=people,
        monthly_usage=[r for s in "ABCDE" for r in usage_rows(s, {"2024-06": 50})],
        contacts=contacts,
    )

    # Then nobody calls B, C or D; A gathers their rank, E a quarter of D's
    d = 0.85
    assert rows["B"]["pagerank"] == pytest.approx(1 - d)
    assert rows["A"]["pagerank"] == pytest.approx((1 - d) + d * (1 - d) * (2 + 31 / 42))
    assert rows["E"]["pagerank"] == pytest.approx((1 - d) + d * (1 - d) * 11 / 42)


def test_age_is_whole_years_at_the_month_end(run: Any) -> None:
    rows = run(
        subscribers=[
            subscriber("A", birth_date=dt.date(1990, 6, 1)),
            subscriber("B", birth_date=dt.date(1990, 7, 15)),
        ],
        monthly_usage=usage_rows("A", {"2024-06": 50}) + usage_rows("B", {"2024-06": 50}),
    )

    assert (rows["A"]["age"], rows["B"]["age"]) == (34, 33)
