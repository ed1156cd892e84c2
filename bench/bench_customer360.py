"""Customer 360 latency with a city-scale warehouse loaded, in one run.

    .venv/bin/python bench/bench_customer360.py --subscribers 1000000 --months 12

Generates the synthetic operator (or reuses --dir), imports every table through the importers,
then times `customer_360` and `search` (the service calls behind the page; template rendering,
a few ms, is not included) for random subscribers, as a province-wide and a one-grid scope.
Goal: p95 under 200 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import django


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=200_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--dir", type=Path, help="reuse a generated operator")
    parser.add_argument("--var", type=Path, help="reuse a var/ whose warehouse is loaded")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-360-"))
    os.environ["QUANWANG_VAR_DIR"] = str(args.var or work / "var")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quanwang.settings")
    django.setup()
    import duckdb

    from quanwang.data import customers
    from quanwang.data.demo import LOAD_ORDER
    from quanwang.data.generator import GeneratorConfig, generate
    from quanwang.data.importer import import_file
    from quanwang.data.warehouse import Warehouse

    out = args.dir or work / "operator"
    if args.var is None and args.dir is None:
        started = time.perf_counter()
        generate(GeneratorConfig(args.subscribers, args.months, seed=2024), out)
        print(f"generate: {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    for table in LOAD_ORDER if args.var is None else ():
        report = import_file(table_name=table, path=out / f"{table}.parquet")
        print(f"  import {table:<20} {report.loaded:>12,} rows {report.seconds:>7.1f} s")
    print(f"import, all tables: {time.perf_counter() - started:.1f} s")

    store = Warehouse()
    rows = (
        duckdb.connect()
        .execute(f"SELECT subscriber_id, grid_id, msisdn FROM {store.relation('subscribers')}")
        .fetchall()
    )
    random.seed(1)
    sample = random.sample(rows, min(args.samples, len(rows)))
    province = customers.Scope(grids=None, gridless=True)
    for label, scope_of in (
        ("province scope", lambda _row: province),
        ("one-grid scope", lambda row: customers.Scope(grids=(row[1],), gridless=False)),
    ):
        timings: list[float] = []
        searches: list[float] = []
        for row in sample:
            original = customers.customer_scope
            customers.customer_scope = lambda _u, _a=None, row=row, of=scope_of: of(row)  # type: ignore[assignment]
            try:
                user = SimpleNamespace(is_superuser=False, is_authenticated=True)
                began = time.perf_counter()
                customers.customer_360(user=user, subscriber_id=row[0], store=store)
                timings.append((time.perf_counter() - began) * 1000)
                began = time.perf_counter()
                customers.search(user=user, query=row[0], store=store)
                searches.append((time.perf_counter() - began) * 1000)
            finally:
                customers.customer_scope = original  # type: ignore[assignment]
        print(
            f"{label}: customer_360 p50 {statistics.median(timings):.0f} ms, "
            f"p95 {percentile(timings, 0.95):.0f} ms; search by ID p50 "
            f"{statistics.median(searches):.0f} ms, p95 {percentile(searches, 0.95):.0f} ms "
            "(goal: p95 < 200 ms)"
        )
    print(f"subscribers loaded: {len(rows):,}")


if __name__ == "__main__":
    main()
