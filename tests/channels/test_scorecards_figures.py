"""Scorecard figures against the facts worked out by hand (test_scorecards_world), ratios of
sums for managers and counties, ranks with ties, the P&L, and the kept file per data version."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quanwang.campaigns.services import channel_figures
from quanwang.campaigns.services.channel_figures import GridCampaignFigures
from quanwang.channels.commissions.services import by_grid
from quanwang.channels.scorecards.services import MAP_KPIS, map_values
from quanwang.channels.scorecards.services.compute import TABLES, compute
from quanwang.channels.scorecards.services.kept import build_scorecards, current_scorecards
from quanwang.channels.scorecards.services.kpis import Kpi, kpi_value
from quanwang.channels.scorecards.services.reading import card, competition_ranks, county_ranking
from quanwang.channels.visits.services import attainment
from quanwang.channels.visits.services.attainment import VisitAttainment
from tests.channels.test_scorecards_world import (
    GRIDS,
    JUNE,
    MAY,
    PLANS,
    SUBSCRIBERS,
    USAGE,
    World,
    kept_json,
    load_world,
    put_snapshot,
)
from tests.factories import canonical_files


def _files(tmp_path: Path, **override: list[dict[str, Any]]) -> dict[str, Any]:
    tables: dict[str, list[dict[str, Any]]] = {
        "plans": PLANS, "grids": GRIDS, "subscribers": SUBSCRIBERS, "monthly_usage": USAGE,
    }  # fmt: skip
    return canonical_files(tmp_path, **(tables | override))


def test_grid_figures_match_the_hand_worked_facts(tmp_path: Path) -> None:
    # Given the small operator's tables
    files = _files(tmp_path)
    # When the figures of every grid are worked out
    found = compute(files=files)
    # Then they are the facts worked out by hand
    assert found.months == [MAY, JUNE]
    g1_june = found.figures["G1"][JUNE]
    assert g1_june == {
        "customers": 4, "customers_start": 4, "joins": 1, "churns": 1, "mobile": 3,
        "on_5g": 1, "with_broadband": 2, "revenue": 300.0, "billed": 4,
    }  # fmt: skip
    assert found.figures["G1"][MAY] | {} == {
        "customers": 4, "customers_start": 5, "joins": 0, "churns": 1, "mobile": 3,
        "on_5g": 1, "with_broadband": 2, "revenue": 305.0, "billed": 4,
    }  # fmt: skip
    assert kpi_value(Kpi.NET_ADDS, g1_june) == 0
    assert kpi_value(Kpi.CHURN_RATE, g1_june) == pytest.approx(1 / 4)
    assert kpi_value(Kpi.ARPU, g1_june) == pytest.approx(75)
    assert kpi_value(Kpi.PENETRATION_5G, g1_june) == pytest.approx(1 / 3)
    assert kpi_value(Kpi.BROADBAND_PENETRATION, g1_june) == pytest.approx(2 / 3)
    assert found.figures["G2"][JUNE]["churns"] == 1
    assert found.figures["G2"][JUNE]["customers_start"] == 2
    assert found.grids["G1"].manager_employee_no == "E1"


def test_a_broadband_line_counts_for_its_family_only_while_in_service(tmp_path: Path) -> None:
    # Given family F1's broadband line S3 left at the end of May
    changed = [
        s | {"churn_date": dt.date(2024, 5, 31)} if s["subscriber_id"] == "S3" else s
        for s in SUBSCRIBERS
    ]
    # When the figures are worked out
    found = compute(files=_files(tmp_path, subscribers=changed))
    # Then S1 had broadband at home at the end of May but not of June; S6's bundle still counts
    assert found.figures["G1"][MAY]["with_broadband"] == 1  # S6 only: S3 out on May 31
    assert found.figures["G1"][JUNE]["with_broadband"] == 1


def test_a_churn_date_before_the_join_date_is_counted_nowhere(tmp_path: Path) -> None:
    # Given a line whose dates cannot both be true
    impossible = {
        "subscriber_id": "S99",
        "join_date": dt.date(2024, 6, 5),
        "churn_date": dt.date(2024, 5, 2),
        "family_id": None,
    }
    broken = [*SUBSCRIBERS, SUBSCRIBERS[0] | impossible]
    # When the figures are worked out
    found = compute(files=_files(tmp_path, subscribers=broken))
    # Then it adds to no month's count, joins or churns
    assert found.figures["G1"][JUNE]["customers"] == 4
    assert found.figures["G1"][JUNE]["joins"] == 1
    assert found.figures["G1"][MAY]["churns"] == 1


def test_no_months_before_any_usage_is_loaded(tmp_path: Path) -> None:
    found = compute(files=_files(tmp_path, monthly_usage=[]))
    assert found.months == []
    assert set(found.grids) == {"G1", "G2", "G3"}


def test_nothing_before_the_grids_are_loaded() -> None:
    found = compute(files=dict.fromkeys(TABLES))
    assert found.months == []
    assert found.grids == {}


@pytest.mark.django_db
def test_a_managers_and_a_countys_rates_are_ratios_of_sums(tmp_path: Path) -> None:
    # Given G1 (1 churn of 4) and G2 (1 churn of 2), both run by E1 in county C1
    World()
    load_world(tmp_path)
    build_scorecards()
    scorecards = current_scorecards()
    assert scorecards is not None
    # When the manager's and the county's cards are read
    manager = card(scorecards, scorecards.manager_grids("E1"), month=JUNE)
    county = card(scorecards, scorecards.county_grids("C1"), month=JUNE)
    # Then the churn rate is (1 + 1) / (4 + 2), not the mean of 1/4 and 1/2
    assert manager.by_kpi["churn_rate"].value == pytest.approx(2 / 6)
    assert manager.by_kpi["churn_rate"].value != pytest.approx((1 / 4 + 1 / 2) / 2)
    assert county.by_kpi["churn_rate"].value == pytest.approx(2 / 6)
    # and ARPU is (300 + 210) / (4 + 2) billed
    assert manager.by_kpi["arpu"].value == pytest.approx(510 / 6)
    assert manager.by_kpi["customers"].value == 5
    # and last month's value is there for the change
    assert manager.by_kpi["churn_rate"].previous == pytest.approx((1 + 0) / (5 + 2))


@given(st.dictionaries(st.sampled_from("ABCDEFGH"), st.one_of(st.none(), st.integers(-3, 3))))
def test_ranks_are_one_plus_the_grids_strictly_better(values: dict[str, int | None]) -> None:
    floats = {k: None if v is None else float(v) for k, v in values.items()}
    for higher in (True, False):
        ranks = competition_ranks(floats, higher_is_better=higher)
        valued = {k: v for k, v in floats.items() if v is not None}
        assert set(ranks) == set(valued)
        for grid, value in valued.items():
            better = [v for v in valued.values() if (v > value if higher else v < value)]
            assert ranks[grid] == 1 + len(better)


def test_equal_values_share_a_rank_and_the_next_skips() -> None:
    ranks = competition_ranks({"a": 5.0, "b": 7.0, "c": 5.0, "d": 1.0}, higher_is_better=True)
    assert ranks == {"b": 1, "a": 2, "c": 2, "d": 4}
    # a churn rate ranks the lowest first; ratios equal as fractions tie
    low = competition_ranks({"a": 2 / 6, "b": 1 / 3, "c": 0.5}, higher_is_better=False)
    assert low == {"a": 1, "b": 1, "c": 3}


@pytest.mark.django_db
def test_the_county_ranking_moves_against_last_month(tmp_path: Path) -> None:
    # Given C1's grids: churn rate May G1 1/5, G2 0/2; June G1 1/4, G2 1/2
    World()
    load_world(tmp_path)
    build_scorecards()
    scorecards = current_scorecards()
    assert scorecards is not None
    # When ranked on churn rate (lowest first)
    rows = county_ranking(scorecards, "C1", month=JUNE, kpi=Kpi.CHURN_RATE)
    # Then G1 is first this month, having been second, and G2 lost a place
    assert [(r.grid_id, r.rank, r.previous_rank, r.movement) for r in rows] == [
        ("G1", 1, 2, 1),
        ("G2", 2, 1, -1),
    ]


@pytest.mark.django_db
def test_the_risk_mix_comes_from_the_newest_snapshot(tmp_path: Path) -> None:
    World()
    load_world(tmp_path)
    put_snapshot(JUNE)
    build_scorecards()
    scorecards = current_scorecards()
    assert scorecards is not None
    assert scorecards.risk_month == JUNE
    g1 = card(scorecards, ["G1"], month=JUNE)
    assert [n for _measure, _label, n in g1.risk] == [1, 1, 0, 1, 1]
    assert g1.by_kpi["high_risk_share"].value == pytest.approx(2 / 4)
    assert card(scorecards, ["G1"], month=MAY).risk == []


@pytest.mark.django_db
def test_the_pnl_is_revenue_less_commissions_and_offer_costs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the other parts' figures for G1 in June (their services, as they will answer)
    def campaigns(*, month: str) -> dict[str, GridCampaignFigures]:
        if month != JUNE:
            return {}
        return {"G1": GridCampaignFigures(10, 4, 8, 6, Decimal("35.50"))}

    monkeypatch.setattr(channel_figures, "figures_by_grid", campaigns)
    monkeypatch.setattr(
        by_grid, "paid_by_grid", lambda *, month: {"G1": Decimal("60.25")} if month == JUNE else {}
    )
    monkeypatch.setattr(
        attainment,
        "attainment_by_grid",
        lambda *, month: {"G1": VisitAttainment(done=3, planned=4)} if month == JUNE else {},
    )
    World()
    load_world(tmp_path)
    # When the scorecards are built
    build_scorecards()
    scorecards = current_scorecards()
    assert scorecards is not None
    g1 = card(scorecards, ["G1"], month=JUNE)
    # Then the P&L is 300 − 60.25 − 35.50, and the rates are the parts' figures
    assert g1.pnl == {
        "revenue": 300.0, "commission": 60.25, "offer_cost": 35.5, "profit": 204.25,
    }  # fmt: skip
    assert g1.by_kpi["acceptance_rate"].value == pytest.approx(0.4)
    assert g1.by_kpi["task_completion"].value == pytest.approx(0.75)
    assert g1.by_kpi["visit_attainment"].value == pytest.approx(0.75)
    assert card(scorecards, ["G2"], month=JUNE).by_kpi["acceptance_rate"].value is None


@pytest.mark.django_db
def test_map_values_give_each_grids_value_of_a_kpi(tmp_path: Path) -> None:
    World()
    load_world(tmp_path)
    build_scorecards()
    assert {key for key, _label in MAP_KPIS} == set(Kpi.values)
    churn = map_values(month=JUNE, kpi="churn_rate")
    assert churn["G1"] == pytest.approx(0.25)
    assert churn["G2"] == pytest.approx(0.5)
    assert churn["G3"] == 0
    assert map_values(month=JUNE, kpi="no_such_kpi") == {}
    assert map_values(month="2023-01", kpi="customers") == {}
    # a ratio over nothing leaves the grid out
    assert map_values(month=JUNE, kpi="acceptance_rate") == {}


@pytest.mark.django_db
def test_scorecards_are_kept_per_data_version_and_read_without_recomputing(
    tmp_path: Path,
) -> None:
    # Given scorecards built once
    World()
    load_world(tmp_path)
    first = current_scorecards()
    assert first is not None
    stamp = kept_json()["built_at"]
    # When they are read again with the data unchanged
    again = current_scorecards()
    # Then the kept ones are read, not worked out again
    assert again is first
    assert kept_json()["built_at"] == stamp
    # When the subscribers are imported again (a new version)
    from tests.channels.test_scorecards_world import put_warehouse

    put_warehouse(tmp_path, subscribers=[s for s in SUBSCRIBERS if s["subscriber_id"] != "S9"])
    newer = current_scorecards()
    # Then the scorecards of the new version are built and read
    assert newer is not None
    assert newer.version != first.version
    assert newer.grid_month("G3", JUNE).get("customers", 0) == 0


@pytest.mark.django_db
def test_the_nightly_step_keeps_the_scorecards(tmp_path: Path) -> None:
    from quanwang.channels.scorecards import job_handlers
    from quanwang.core import nightly

    World()
    load_world(tmp_path)
    snapshot = put_snapshot(JUNE)
    step = next(s for s in nightly.steps() if s.name == "channels.scorecards")
    assert step.run is job_handlers.keep_scorecards
    result = step.run(snapshot)
    assert result is not None
    assert result["grids"] == 3
    assert result["months"] == 2
    assert kept_json()["risk_month"] == JUNE


@pytest.mark.django_db
def test_the_demo_keeps_scorecards_the_pages_read(tmp_path: Path) -> None:
    from quanwang.channels.scorecards.demo import build_demo

    World()
    load_world(tmp_path)
    put_snapshot(JUNE)
    said: list[str] = []
    build_demo(say=said.append)
    stamp = kept_json()["built_at"]
    scorecards = current_scorecards()
    assert scorecards is not None
    assert scorecards.months == [MAY, JUNE]
    assert kept_json()["built_at"] == stamp  # read, not built again
    assert said
    assert "3" in said[0]
