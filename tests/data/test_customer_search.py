"""The customer-360 search under load (issue 13): a masked number is looked up in a small index
kept per process, and the kept warehouse connection caches Parquet footers. It finds exactly
what reading every number finds."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from quanwang.core.choices import Role
from quanwang.data import customers
from quanwang.data.customers import search
from quanwang.data.importer import import_file
from quanwang.data.warehouse import Warehouse
from tests import factories

# Numbers that share heads and tails, and a few that are not plain 11-digit numbers.
numbers = st.one_of(
    st.builds(
        lambda head, middle, tail: head + middle + tail,
        st.sampled_from(["138", "139", "+86", "012"]),
        st.text("0123456789", min_size=0, max_size=6),
        st.sampled_from(["0001", "1234", "12 4", "001"]),
    ),
    st.text("0123456789+ ", min_size=1, max_size=12),
)


def load_subscribers(tree: factories.Tree, rows: list[tuple[str, str]]) -> Warehouse:
    """A new warehouse of subscribers (ID, number) alternating between grid A, grid B and no
    grid."""
    grids = [tree.grid_a.code, tree.grid_b.code, ""]
    store = Warehouse(Path(tempfile.mkdtemp(prefix="warehouse-")))
    with tempfile.TemporaryDirectory() as scratch:
        plans = Path(scratch) / "plans.csv"
        plans.write_text("plan_id,name,plan_type,monthly_fee,is_5g\nP1,5G,postpaid,129,是\n")
        import_file(table_name="plans", path=plans, warehouse=store)
        areas = Path(scratch) / "grids.csv"
        areas.write_text(
            "grid_id,name,grid_type,county_code\n"
            f"{tree.grid_a.code},甲,沿街,{tree.county_a.code}\n"
            f"{tree.grid_b.code},乙,沿街,{tree.county_b.code}\n"
        )
        import_file(table_name="grids", path=areas, warehouse=store)
        path = Path(scratch) / "subscribers.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(
                ["subscriber_id", "msisdn", "segment", "payment_type", "join_date", "status",
                 "plan_id", "grid_id"]
            )  # fmt: skip
            for i, (sid, number) in enumerate(rows):
                writer.writerow(
                    [sid, number, "个人", "postpaid", "2020-01-05", "active", "P1", grids[i % 3]]
                )
        report = import_file(table_name="subscribers", path=path, warehouse=store)
    # Each row loads or is set aside: a number that is no mobile number (data.values) is not
    # stored, and one written with +86 or spaces is stored as its 11 digits.
    assert report.loaded + report.quarantined == len(rows)
    return store


def stored_numbers(store: Warehouse, rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """`rows` with each number as stored ("" where the row was not loaded)."""
    relation = duckdb.sql(f"SELECT subscriber_id, msisdn FROM {store.relation('subscribers')}")
    assert relation is not None  # a SELECT always gives a relation
    stored = dict(relation.fetchall())
    return [(sid, stored.get(sid, "")) for sid, _number in rows]


def expected(rows: list[tuple[str, str]], tree: factories.Tree, user: Any, query: str) -> list:
    """What reading every number gives: the masked query's head and tail, within scope."""
    head, tail = query[:3], query[-4:]
    scope = customers.customer_scope(user)
    grids = [tree.grid_a.code, tree.grid_b.code, None]
    return sorted(
        sid
        for i, (sid, number) in enumerate(rows)
        if number.strip().startswith(head)
        and number.strip().endswith(tail)
        and scope.holds(grids[i % 3])
    )[: customers.SEARCH_LIMIT]


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    chosen=st.lists(numbers, min_size=1, max_size=30),
    query=st.sampled_from(["138****0001", "138****1234", "139****1234", "012****0001"]),
)
def test_a_masked_number_finds_what_reading_every_number_finds(
    tree: factories.Tree, chosen: list[str], query: str
) -> None:
    # Given subscribers whose numbers share heads and tails, across grids and none
    rows = [(f"S{i:03d}", number) for i, number in enumerate(chosen)]
    note(repr((rows, query)))
    store = load_subscribers(tree, rows)
    users = [
        factories.user(is_superuser=True),
        factories.user(role=Role.GRID_MANAGER, at=tree.grid_a),
        factories.user(role=Role.PROVINCE_ADMIN, at=tree.province),
    ]

    for user in users:
        # When each searches for a masked number
        found = [r["subscriber_id"] for r in search(user=user, query=query, store=store)]

        # Then they find the subscribers whose number has that head and tail, in their scope
        assert sorted(found) == expected(stored_numbers(store, rows), tree, user, query)


def test_more_candidates_than_the_index_lists_are_found_by_reading_every_number(
    tree: factories.Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given three subscribers with the same masked number, and an index that lists two
    store = load_subscribers(
        tree, [("S1", "13800000001"), ("S2", "13811110001"), ("S3", "13822220001")]
    )
    monkeypatch.setattr(customers, "MASKED_CANDIDATES", 2)
    admin = factories.user(is_superuser=True)

    # When the number is searched, then all three are found
    found = search(user=admin, query="138****0001", store=store)
    assert [r["subscriber_id"] for r in found] == ["S1", "S2", "S3"]


def test_the_kept_warehouse_connection_keeps_parquet_footers(tree: factories.Tree) -> None:
    # Given the connection every customer-360 search and page works on
    store = load_subscribers(tree, [("S1", "13800000001")])
    cursor = customers._connect(store)

    # Then it caches each file's footer between queries (17-37 ms a lookup in the 1M city
    # without it, 3 ms with it)
    setting = cursor.execute("SELECT current_setting('parquet_metadata_cache')").fetchall()
    assert setting == [(True,)]
