"""What the enterprise accounts (generator 1.4.0) add to the synthetic operator's run.

    .venv/bin/python bench/load_enterprise_gen_cost.py [SUBSCRIBERS] [MONTHS] [--rounds 2]

Baseline: the same generator with the enterprise-account step stubbed out (no hierarchy,
codes, products or orders: the 1.3.0 output, whose other columns 1.4.0 left unchanged), run
interleaved with the real one so both see the same machine load. Also times the step alone.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from quanwang.data.arrow import table_schema
from quanwang.data.generator import GeneratorConfig, generate
from quanwang.data.generator import _accounts as accounts


@contextmanager
def without_accounts() -> Any:
    saved = accounts.account_details, accounts.products, accounts.orders

    def details(_rng: Any, ents: Any, _geo: Any) -> Any:
        n = ents.table.num_rows
        columns = {
            "parent_enterprise_id": pa.nulls(n, pa.string()),
            "credit_code": pa.nulls(n, pa.string()),
            "status": pa.nulls(n, pa.string()),
        }
        return columns | {"industry": ents.table.column("industry")}, None, np.zeros(n)

    def products(_rng: Any, **_kw: Any) -> Any:
        return accounts.Held(
            table=table_schema("enterprise_products").empty_table(),
            owner=np.zeros(0, np.int64),
            product=np.zeros(0, np.int64),
            count=np.zeros(0, np.int64),
        )

    def orders(_rng: Any, **_kw: Any) -> Any:
        return table_schema("enterprise_orders").empty_table()

    accounts.account_details, accounts.products, accounts.orders = details, products, orders
    try:
        yield
    finally:
        accounts.account_details, accounts.products, accounts.orders = saved


def run(config: GeneratorConfig) -> float:
    out = Path(tempfile.mkdtemp(prefix="quanwang-gencost-"))
    try:
        began = time.perf_counter()
        generate(config, out)
        return time.perf_counter() - began
    finally:
        shutil.rmtree(out, ignore_errors=True)


def step_alone(config: GeneratorConfig) -> float:
    from quanwang.data.generator._monthly import month_start_day
    from quanwang.data.generator._world import build_enterprises, build_geography

    rng = np.random.default_rng(config.seed)
    geo = build_geography(rng, config.subscribers)
    ents = build_enterprises(rng, geo, config.subscribers)
    start = np.datetime64(config.start_month, "M")
    first, _, _ = month_start_day(start, 0)
    end, _, _ = month_start_day(start, config.months)
    began = time.perf_counter()
    details, _parents, status = accounts.account_details(rng, ents, geo)
    held = accounts.products(
        rng, ents=ents, industry=details["industry"],
        grade=ents.table.column("grade").combine_chunks(), status=status,
        first_day=first, end_day=end,
    )  # fmt: skip
    accounts.orders(
        rng, ents=ents, held=held,
        months=[month_start_day(start, t)[:2] for t in range(config.months)], end_day=end,
    )  # fmt: skip
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("subscribers", type=int, nargs="?", default=1_000_000)
    parser.add_argument("months", type=int, nargs="?", default=12)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    config = GeneratorConfig(subscribers=args.subscribers, months=args.months, seed=1)
    alone = step_alone(config)
    print(f"enterprise step alone: {alone:.3f} s", flush=True)
    base, new = [], []
    for _ in range(args.rounds):
        with without_accounts():
            base.append(run(config))
        new.append(run(config))
        print(f"  baseline {base[-1]:6.1f} s   1.4.0 {new[-1]:6.1f} s", flush=True)
    print(
        f"{args.subscribers:,} x {args.months}: baseline (step stubbed) median "
        f"{np.median(base):.1f} s, 1.4.0 median {np.median(new):.1f} s, ratio "
        f"{np.median(new) / np.median(base):.3f}; the step alone is "
        f"{100 * alone / np.median(new):.2f}% of a run"
    )


if __name__ == "__main__":
    main()
