"""The snapshot list is kept per process between page views, and still sees every change."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from quanwang.insight.snapshots import Snapshot, SnapshotStore


def scored_snapshot(rows: list[dict[str, str]], root: Path) -> Snapshot:
    """A complete snapshot whose wide table holds `rows`."""
    store = SnapshotStore(root)
    run_id, staging = store.begin("2024-06")
    (staging / "wide").mkdir()
    schema = pa.schema([("subscriber_id", pa.string()), ("grid_id", pa.string())])
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), staging / "wide" / "p.parquet")
    return store.complete(
        staging,
        Snapshot(
            month="2024-06", run_id=run_id, engine="duckdb", created=run_id,
            rows=len(rows), seconds=0.0,
        ),
    )  # fmt: skip


def test_the_snapshot_list_and_each_snapshots_columns_are_kept_between_page_views(
    tmp_path: Path,
) -> None:
    # Given a snapshot listed once and its columns read
    built = scored_snapshot([{"subscriber_id": "S1", "grid_id": "G1"}], tmp_path / "insight")
    first = SnapshotStore(tmp_path / "insight").list()[0]
    assert "grid_id" in first.columns

    # When another page view lists the snapshots again
    again = SnapshotStore(tmp_path / "insight").latest()

    # Then it is the same snapshot, its manifest and columns not read again
    assert again is first
    assert again.run_id == built.run_id
    assert "columns" in vars(again)


def test_a_snapshot_completed_after_a_listing_is_listed(tmp_path: Path) -> None:
    # Given a store listed once (the listing is kept between calls)
    store = SnapshotStore(tmp_path / "insight")
    first = scored_snapshot([], tmp_path / "insight")
    assert [s.run_id for s in store.list()] == [first.run_id]

    # When another run completes, and then the first is removed
    second = scored_snapshot([], tmp_path / "insight")
    listed = [s.run_id for s in store.list()]
    shutil.rmtree(first.path)

    # Then each listing shows the snapshots there were at the time
    assert sorted(listed) == sorted([first.run_id, second.run_id])
    assert [s.run_id for s in store.list()] == [second.run_id]
