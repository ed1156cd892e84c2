"""Grading stores (三店): weighted rules over the warehouse, re-run identical, with reasons."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import ibis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quanwang.channels.choices import GradingCriterion, StoreGrade
from quanwang.channels.models import GradingRun, Store, StoreGrading
from quanwang.channels.stores.grading import DEFAULT_RULES, GRADE_ORDER, Rules, scored
from quanwang.channels.stores.regrading import regrade
from quanwang.channels.stores.sync import sync_stores
from quanwang.core.errors import ServiceError
from quanwang.insight.months import Month
from tests import factories
from tests.channels.test_stores_sync import STORE_HEADER, grids_csv, load, store_line

C = GradingCriterion


def _score(rows: dict[str, list[dict[str, Any]]], month: str, rules: Rules) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        files = factories.canonical_files(directory, **rows)
        con = ibis.duckdb.connect()
        tables = {
            name: con.read_parquet(str(path), table_name=name) for name, path in files.items()
        }
        result = scored(tables, month=Month.parse(month), rules=rules).to_pyarrow().to_pylist()
    return {r["store_id"]: r for r in result}


def _facts(
    stores: list[tuple[float, int, int]], *, grid_type: str = "沿街"
) -> dict[str, list[dict[str, Any]]]:
    """Canonical rows for stores given as (revenue, footfall, buyers) in 2024-06, each with
    revenue 100 in each of the three months before."""
    ids = [f"S{i:03d}" for i in range(len(stores))]
    return {
        "stores": [
            {"store_id": s, "name": s, "store_type": "合作店", "grid_id": "G1"} for s in ids
        ],
        "grids": [{"grid_id": "G1", "name": "g", "grid_type": grid_type, "county_code": "C"}],
        "store_sales": [
            {"store_id": s, "month": "2024-06", "product": "p", "units": 1, "revenue": rev}
            for s, (rev, _f, _b) in zip(ids, stores, strict=True)
        ]
        + [
            {"store_id": s, "month": m, "product": "p", "units": 1, "revenue": 100.0}
            for s in ids
            for m in ("2024-03", "2024-04", "2024-05")
        ],
        "store_traffic": [
            {"store_id": s, "month": "2024-06", "footfall": f, "buyers": min(b, f)}
            for s, (_r, f, b) in zip(ids, stores, strict=True)
        ],
    }


# Five weights summing to 100: the gaps between four cuts of 0..100.
weights = st.lists(st.integers(0, 100), min_size=4, max_size=4).map(
    lambda cuts: [b - a for a, b in zip([0, *sorted(cuts)], [*sorted(cuts), 100], strict=True)]
)
cutoffs = st.tuples(st.integers(0, 99), st.integers(1, 100)).map(
    lambda c: (min(c), max(c) + 1 if c[0] == c[1] else max(c))
)
store_facts = st.lists(
    st.tuples(
        st.floats(0, 100_000, allow_nan=False).map(lambda x: round(x, 2)),
        st.integers(0, 5000),
        st.integers(0, 5000),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(facts=store_facts, five=weights, cut=cutoffs)
def test_grades_follow_the_scores_order_and_the_cutoffs(
    facts: list[tuple[float, int, int]], five: list[int], cut: tuple[int, int]
) -> None:
    # given any stores and any valid rule set
    rules = Rules(
        weights=dict(zip(GradingCriterion, five, strict=True)),
        anchor_min=cut[0],
        key_min=cut[1],
    )
    # when they are scored
    graded = _score(_facts(facts), "2024-06", rules)
    # then each score is the weighted sum of the points, within 0-100
    for row in graded.values():
        total = sum(row[f"points_{c}"] * rules.weights[c] / 100 for c in GradingCriterion)
        assert row["score"] == pytest.approx(round(total, 2), abs=0.011)
        assert 0 <= row["score"] <= 100
        assert row["grade"] == rules.grade(row["score"])
    # and the same facts in another order score the same
    backwards = {k: list(reversed(v)) for k, v in _facts(facts).items()}
    assert _score(backwards, "2024-06", rules) == graded
    # and a higher score never gets a lower grade
    ordered = sorted(graded.values(), key=lambda r: r["score"])
    ranks = [GRADE_ORDER.index(StoreGrade(r["grade"])) for r in ordered]
    assert ranks == sorted(ranks)


@settings(max_examples=20, deadline=None)
@given(facts=store_facts)
def test_more_sales_never_means_fewer_sales_points(facts: list[tuple[float, int, int]]) -> None:
    # given any stores, when scored
    graded = _score(_facts(facts), "2024-06", DEFAULT_RULES)
    # then the sales points follow the revenue
    pairs = sorted((r["sales"], r[f"points_{C.SALES}"]) for r in graded.values())
    assert [p for _s, p in pairs] == sorted(p for _s, p in pairs)
    assert all(0 <= p <= 100 for _s, p in pairs)


def test_a_store_without_traffic_or_history_gets_the_missing_points() -> None:
    # given a store with sales in the month only, and one with everything
    rows = _facts([(500.0, 100, 20)])
    rows["stores"].append({"store_id": "NEW", "name": "n", "store_type": "合作店", "grid_id": "X"})
    rows["store_sales"].append(
        {"store_id": "NEW", "month": "2024-06", "product": "p", "units": 1, "revenue": 10.0}
    )
    # when scored
    graded = _score(rows, "2024-06", DEFAULT_RULES)
    new = graded["NEW"]
    # then no footfall and no conversion score 0, unknown growth the neutral 50, and a grid
    # the grids table lacks the rule set's default location points
    assert new[f"points_{C.FOOTFALL}"] == 0
    assert new["footfall"] is None
    assert new[f"points_{C.CONVERSION}"] == 0
    assert new[f"points_{C.GROWTH}"] == 50
    assert new[f"points_{C.LOCATION}"] == DEFAULT_RULES.location_default
    assert graded["S000"][f"points_{C.LOCATION}"] == 100  # 沿街


# --- The monthly re-grade, on the database -------------------------------------------


def _city(tree: factories.Tree, directory: Path, *, stores: int = 6) -> None:
    lines = [store_line(f"S{i}", tree.grid_a.code) for i in range(stores)]
    sales = "store_id,month,product,units,revenue\n" + "".join(
        f"S{i},{m},宽带,{i + 1},{(i + 1) * 1000 + k * 10}\n"
        for i in range(stores)
        for k, m in enumerate(("2024-04", "2024-05", "2024-06"))
    )
    traffic = "store_id,month,footfall,buyers\n" + "".join(
        f"S{i},2024-06,{(i + 1) * 100},{(i + 1) * 10}\n" for i in range(stores)
    )
    load(
        directory,
        grids=grids_csv(tree),
        stores=STORE_HEADER + "".join(lines),
        store_sales=sales,
        store_traffic=traffic,
    )
    sync_stores()


def _history() -> list[tuple[str, str, str, float, Any]]:
    return list(
        StoreGrading.objects.order_by("store__store_id", "month").values_list(
            "store__store_id", "month", "grade", "score", "criteria"
        )
    )


def test_regrade_writes_each_store_grade_with_its_reason(
    tree: factories.Tree, tmp_path: Path
) -> None:
    # given six stores whose sales grow with their number
    _city(tree, tmp_path)
    # when June is graded
    run = regrade(month="2024-06")
    # then every store has a grade for June, the best store is a key store, the worst small
    assert run.stores == 6
    assert sum(run.by_grade.values()) == 6
    best = StoreGrading.objects.get(store__store_id="S5", month="2024-06")
    worst = StoreGrading.objects.get(store__store_id="S0", month="2024-06")
    assert best.grade == StoreGrade.KEY
    assert worst.grade == StoreGrade.SMALL
    # and the reason names each criterion's contribution and the cut-offs
    assert set(best.criteria) == {str(c) for c in GradingCriterion}
    assert sum(c["contribution"] for c in best.criteria.values()) == pytest.approx(
        best.score, abs=0.05
    )
    assert best.cutoffs == {"key_min": 70, "anchor_min": 40}
    # and the store file shows the newest grade
    assert Store.objects.get(store_id="S5").grade == StoreGrade.KEY


def test_regrade_twice_gives_the_same_history(tree: factories.Tree, tmp_path: Path) -> None:
    # given a graded month
    _city(tree, tmp_path)
    regrade(month="2024-06")
    first = _history()
    # when it is graded again
    regrade(month="2024-06")
    # then the history is identical, one row per store and month, one run for the month
    assert _history() == first
    assert StoreGrading.objects.count() == 6
    assert GradingRun.objects.filter(month="2024-06").count() == 1


def test_next_month_records_the_previous_grade(tree: factories.Tree, tmp_path: Path) -> None:
    # given May graded, then June
    _city(tree, tmp_path)
    regrade(month="2024-05")
    regrade(month="2024-06")
    june = StoreGrading.objects.get(store__store_id="S5", month="2024-06")
    may = StoreGrading.objects.get(store__store_id="S5", month="2024-05")
    # then June knows May's grade, and re-grading May leaves the current grade at June's
    assert june.previous_grade == may.grade
    regrade(month="2024-05")
    assert Store.objects.get(store_id="S5").grade == june.grade


def test_regrade_of_a_month_without_sales_says_which_months_there_are(
    tree: factories.Tree, tmp_path: Path
) -> None:
    _city(tree, tmp_path)
    with pytest.raises(ServiceError) as caught:
        regrade(month="2023-01")
    assert "2024-06" in str(caught.value.message)
    with pytest.raises(ServiceError):
        regrade(month="June")


@pytest.fixture
def shared_db(transactional_db: None, settings: Any) -> Any:
    """The test database where other threads' connections see it (tests.processes)."""
    from tests.processes import database_shared_with_processes

    with database_shared_with_processes(settings):
        yield


def test_two_regrades_at_once_write_one_history(
    shared_db: None, tree: factories.Tree, tmp_path: Path
) -> None:
    import threading

    from django.db import connections

    # given stores with sales
    _city(tree, tmp_path)
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run() -> None:
        try:
            start.wait()
            regrade(month="2024-06")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    # when two re-grades of June run at the same moment
    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    # then both succeed, and June holds one grade per store and one run
    assert not errors, errors
    assert StoreGrading.objects.filter(month="2024-06").count() == 6
    assert GradingRun.objects.filter(month="2024-06").count() == 1
