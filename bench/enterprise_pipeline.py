"""The cost of joining the enterprise account columns (core.wide_columns) onto the wide table
at 1M subscribers with 200k enterprise members, on DuckDB, against the baseline of
materialising the same wide table without the join.

    .venv/bin/python bench/enterprise_pipeline.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROWS, MEMBERS = 1_000_000, 200_000


def main() -> None:
    rng = np.random.default_rng(7)
    ids = np.array([f"S{i:08d}" for i in range(ROWS)])
    wide = pa.table({"subscriber_id": ids, "arpu": rng.random(ROWS) * 100})
    chosen = rng.choice(ROWS, MEMBERS, replace=False)
    extra = pa.table(
        {
            "subscriber_id": ids[chosen],
            "account_grade": rng.choice(["A", "B", "C"], MEMBERS),
            "account_industry": rng.choice(["物流", "教育", "制造"], MEMBERS),
            "account_churn_risk": rng.random(MEMBERS),
            "account_switching_cost": rng.random(MEMBERS) * 100,
            "account_contract_months": rng.integers(1, 36, MEMBERS),
        }
    )
    with tempfile.TemporaryDirectory() as scratch:
        pq.write_table(wide, Path(scratch) / "wide.parquet")
        con = ibis.duckdb.connect()
        base = con.read_parquet(str(Path(scratch) / "wide.parquet"), table_name="wide")
        began = time.perf_counter()
        con.to_pyarrow(base)
        baseline = time.perf_counter() - began
        began = time.perf_counter()
        path = Path(scratch) / "extra.parquet"
        pq.write_table(extra, path)
        columns = con.read_parquet(str(path), table_name="extra")
        joined = base.left_join(columns, "subscriber_id").select(
            base, *[columns[c] for c in extra.column_names if c != "subscriber_id"]
        )
        con.to_pyarrow(joined)
        with_join = time.perf_counter() - began
    print(f"baseline (wide table, no join): {baseline:.3f} s")
    print(f"with account columns (write + join): {with_join:.3f} s")
    print(f"added: {with_join - baseline:.3f} s ({with_join / baseline:.2f}x)")


if __name__ == "__main__":
    main()
