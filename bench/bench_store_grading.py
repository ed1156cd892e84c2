"""The store file's sync and the monthly re-grade (三店) for a province's stores, against a
named baseline. (Proposed for bench/bench_store_grading.py.)

    .venv/bin/python bench/bench_store_grading.py                 # 10,000 stores, 13 months
    .venv/bin/python bench/bench_store_grading.py --stores 50000 --repeat 3

Builds a throwaway warehouse and SQLite database (tables made from the models, no migrations)
with an org tree of 1,000 grids, N stores spread over them, 3 products' sales a store and month
and a traffic row a store and month. Times, each the fastest of --repeat runs:
  sync first     `sync_stores()` creating every store;
  sync again     the same, nothing changed (idempotent: reads and compares only);
  score          `grading.scored`: every store's figures, points, score and grade, one Ibis
                 expression over the warehouse (DuckDB);
  regrade        `regrade(month=...)`: score + the month's history written (one row a store);
  regrade again  the same month again (rewrites the same values);
  baseline A     one DuckDB query per store for its own figures, scored in Python, as a page
                 computing one store's grade on request would: timed on --sample stores and
                 scaled to all of them.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stores", type=int, default=10_000)
    parser.add_argument("--grids", type=int, default=1_000)
    parser.add_argument("--months", type=int, default=13)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sample", type=int, default=200)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-stores-"))
    os.environ["QUANWANG_VAR_DIR"] = str(work)
    os.environ["DATABASE_URL"] = f"sqlite:///{work / 'db.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quanwang.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import django

    django.setup()
    from django.db import connection

    connection.settings_dict["TEST"]["MIGRATE"] = False
    connection.settings_dict["TEST"]["NAME"] = str(work / "test.sqlite3")
    connection.creation.create_test_db(verbosity=0)
    _build(work, args)
    _time(args)


def _build(work: Path, args: argparse.Namespace) -> None:
    import duckdb

    from quanwang.core.models import OrgUnit
    from quanwang.data.schema import TABLES
    from quanwang.data.warehouse import Warehouse

    root = OrgUnit.objects.create(code="P", name="省", level="group", path="/P/")
    cities = [
        OrgUnit.objects.create(code=f"C{c}", name=f"市{c}", level="city", parent=root,
                               path=f"/P/C{c}/")
        for c in range(10)
    ]  # fmt: skip
    counties = [
        OrgUnit.objects.create(code=f"C{c}-{k}", name=f"县{c}{k}", level="county", parent=city,
                               path=f"{city.path}C{c}-{k}/")
        for c, city in enumerate(cities) for k in range(10)
    ]  # fmt: skip
    OrgUnit.objects.bulk_create(
        OrgUnit(code=f"G{g:04d}", name=f"网格{g}", level="grid", parent=county,
                path=f"{county.path}G{g:04d}/")
        for g in range(args.grids) for county in [counties[g % len(counties)]]
    )  # fmt: skip
    store = Warehouse()
    con = duckdb.connect()
    months = [f"{2023 + (i + 11) // 12}-{(i + 11) % 12 + 1:02d}" for i in range(args.months)]
    con.execute(f"CREATE TABLE m AS SELECT unnest({months!r}) AS month")
    types = ("沿街", "行业", "校园", "园区", "农村")
    con.execute(
        f"""CREATE TABLE grids AS SELECT printf('G%04d', i) AS grid_id, 'g' AS name,
        {list(types)!r}[i % 5 + 1] AS grid_type, 'C' AS county_code, NULL::VARCHAR AS
        manager_employee_no, NULL::DOUBLE AS centroid_lat, NULL::DOUBLE AS centroid_lon,
        NULL::VARCHAR AS boundary_wkt FROM range({args.grids}) t(i)"""
    )
    con.execute(
        f"""CREATE TABLE stores AS SELECT printf('ST%06d', i) AS store_id, '网点' || i AS name,
        '合作店' AS store_type, NULL::VARCHAR AS grade, 30.0 AS lat, 120.0 AS lon,
        printf('G%04d', i % {args.grids}) AS grid_id, '王五' AS owner_name,
        '13800138000' AS contact_msisdn, '谈恋爱' AS partner_stage, DATE '2022-01-01' AS
        opened_date FROM range({args.stores}) t(i)"""
    )
    con.execute(
        """CREATE TABLE store_sales AS SELECT s.store_id, m.month, p.product,
        (hash(s.store_id || m.month || p.product) % 50)::BIGINT AS units,
        round((hash(s.store_id || m.month || p.product) % 100000) / 10.0, 2) AS revenue
        FROM stores s, m, (SELECT unnest(['宽带', '5G', '终端']) AS product) p"""
    )
    con.execute(
        """CREATE TABLE store_traffic AS SELECT s.store_id, m.month,
        (hash(s.store_id || m.month) % 3000)::BIGINT AS footfall,
        (hash(s.store_id || m.month || 'b') % 300)::BIGINT AS buyers,
        NULL::BIGINT AS transactions, NULL::DOUBLE AS revenue, NULL::BIGINT AS referrals,
        NULL::BIGINT AS referred_buyers, NULL::BIGINT AS referred_transactions,
        NULL::DOUBLE AS referred_revenue FROM stores s, m"""
    )
    for name in ("grids", "stores", "store_sales", "store_traffic"):
        columns = ", ".join(c.name for c in TABLES[name].columns)
        con.execute(f"CREATE TABLE {name}_typed AS SELECT {columns} FROM {name}")
        rows = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
        with store.lock(name):
            store.commit(
                con=con, table=TABLES[name], rows=rows,
                select_where=lambda c, n=name: f"SELECT * FROM {n}_typed WHERE {c}",
            )  # fmt: skip
    print(f"built: {args.stores:,} stores, {args.grids:,} grids, {args.months} months "
          f"({args.stores * args.months * 3:,} sales rows) in {work}")  # fmt: skip


def _best(run, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return min(times)


def _time(args: argparse.Namespace) -> None:
    import duckdb

    from quanwang.channels.models import Store
    from quanwang.channels.stores.grading import DEFAULT_RULES, scored
    from quanwang.channels.stores.regrading import _graded_rows, newest_sales_month, regrade
    from quanwang.channels.stores.sync import sync_stores
    from quanwang.data.warehouse import Warehouse
    from quanwang.insight.months import Month

    store = Warehouse()
    began = time.perf_counter()
    first = sync_stores()
    sync_first = time.perf_counter() - began
    assert first.created == args.stores, first
    sync_again = _best(sync_stores, args.repeat)
    assert Store.objects.count() == args.stores
    month = newest_sales_month()
    assert month is not None
    score = _best(lambda: _graded_rows(store, Month.parse(month), DEFAULT_RULES), args.repeat)
    began = time.perf_counter()
    run = regrade(month=month)
    regrade_first = time.perf_counter() - began
    regrade_again = _best(lambda: regrade(month=month), args.repeat)

    # Baseline A: one store at a time, its figures by three queries, ranks against the others'
    # figures read once (the least a per-store computation needs), scored in Python.
    ids = [s for (s,) in duckdb.sql(
        f"SELECT store_id FROM {store.relation('stores')} ORDER BY store_id LIMIT {args.sample}"
    ).fetchall()]  # fmt: skip
    con = duckdb.connect()
    began = time.perf_counter()
    for store_id in ids:
        con.execute(
            f"SELECT sum(revenue) FROM {store.relation('store_sales')} "
            "WHERE store_id = ? AND month = ?", [store_id, month],
        ).fetchone()  # fmt: skip
        con.execute(
            f"SELECT footfall, buyers FROM {store.relation('store_traffic')} "
            "WHERE store_id = ? AND month = ?", [store_id, month],
        ).fetchone()  # fmt: skip
        before = [str(Month.parse(month).shift(-i)) for i in (1, 2, 3)]
        con.execute(
            f"SELECT sum(revenue) FROM {store.relation('store_sales')} "
            "WHERE store_id = ? AND month IN (?, ?, ?)", [store_id, *before],
        ).fetchone()  # fmt: skip
    per_store = (time.perf_counter() - began) / len(ids)
    baseline_a = per_store * args.stores
    _ = scored
    print(f"sync first     {sync_first:8.3f} s  ({args.stores:,} stores created)")
    print(f"sync again     {sync_again:8.3f} s  (nothing changed)")
    print(f"score          {score:8.3f} s  (every store, one Ibis/DuckDB pass)")
    print(f"regrade        {regrade_first:8.3f} s  ({run.stores:,} grades written, {run.by_grade})")
    print(f"regrade again  {regrade_again:8.3f} s  (same month, same grades)")
    print(f"baseline A     {baseline_a:8.3f} s  (one store at a time: {per_store * 1000:.1f} ms "
          f"a store on {len(ids)} stores, scaled)")  # fmt: skip
    print(f"ratio baseline A / score    {baseline_a / score:6.1f}x")
    print(f"ratio baseline A / regrade  {baseline_a / regrade_first:6.1f}x")


if __name__ == "__main__":
    main()
