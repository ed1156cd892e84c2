"""Time the funnel's nightly step (channels.funnel.services.compute + the kept JSON) for a city
of STORES stores × 13 months of store_traffic in GRIDS grids.

    DJANGO_SETTINGS_MODULE=quanwang.settings QUANWANG_VAR_DIR=/tmp/var_x \
        .venv/bin/python bench/bench_funnel.py [STORES] [GRIDS]

Baseline: the nightly pipeline's budget (60 s at 1M subscribers, 1,000 stores).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import django
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

django.setup()

from quanwang.channels.funnel.services import kept  # noqa: E402
from quanwang.channels.funnel.services.compute import compute  # noqa: E402
from quanwang.data.arrow import table_schema  # noqa: E402

PIPELINE_BUDGET_S = 60.0


def city(folder: Path, stores: int, grids: int, months: int = 13) -> dict[str, Path]:
    rng = np.random.default_rng(1)
    ids = [f"ST{k:06d}" for k in range(1, stores + 1)]
    grid = [f"G{k % grids:05d}" for k in range(stores)]
    rows = stores * months
    footfall = rng.poisson(300, rows)
    buyers = rng.binomial(footfall, 0.25)
    transactions = buyers + rng.poisson(buyers * 0.15)
    referrals = rng.poisson(20, rows)
    referred = rng.binomial(referrals, 0.45)
    referred_tx = referred + rng.poisson(referred * 0.15)
    month = [f"2023-{m:02d}" if m <= 12 else "2024-01" for m in range(1, months + 1)]
    traffic = {
        "store_id": np.repeat(ids, months),
        "month": np.tile(month, stores),
        "footfall": footfall,
        "buyers": buyers,
        "transactions": transactions,
        "revenue": np.round(transactions * rng.lognormal(5.3, 0.3, rows), 2),
        "referrals": referrals,
        "referred_buyers": referred,
        "referred_transactions": referred_tx,
        "referred_revenue": np.round(referred_tx * rng.lognormal(5.4, 0.3, rows), 2),
    }
    schema = table_schema("store_traffic")
    pq.write_table(pa.Table.from_pydict(traffic, schema=schema), folder / "store_traffic.parquet")
    store_schema = table_schema("stores")
    store_rows = {f.name: [None] * stores for f in store_schema}
    store_rows |= {"store_id": ids, "name": ids, "store_type": ["合作店"] * stores, "grid_id": grid}
    pq.write_table(pa.Table.from_pydict(store_rows, schema=store_schema), folder / "stores.parquet")
    return {"store_traffic": folder / "store_traffic.parquet", "stores": folder / "stores.parquet"}


def main() -> int:
    stores = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    grids = int(sys.argv[2]) if len(sys.argv) > 2 else max(1, stores // 2)
    folder = Path(tempfile.mkdtemp(prefix="funnel-bench-"))
    files = city(folder, stores, grids)
    compute(files=files)  # warm: imports, Ibis compilation caches
    runs = []
    for _ in range(3):
        began = time.perf_counter()
        found = compute(files=files)
        data = kept._as_json(found, version="bench")
        kept._write("bench", data)
        runs.append(time.perf_counter() - began)
    best = min(runs)
    size = (kept.folder() / "bench.json").stat().st_size
    print(f"funnel: {stores:,} stores × {len(found.months)} months, {len(found.grids):,} grids")
    print(f"seconds (best of 3): {best:.2f}   runs: {', '.join(f'{r:.2f}' for r in runs)}")
    print(f"kept JSON: {size / 2**20:.1f} MiB")
    began = time.perf_counter()
    kept._kept.load(kept.folder() / "bench.json", accept=lambda d: True, parse=kept.parse)
    print(f"parse once per process: {time.perf_counter() - began:.2f} s")
    print(f"= {best / PIPELINE_BUDGET_S:.3f} × the 60 s nightly pipeline budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
