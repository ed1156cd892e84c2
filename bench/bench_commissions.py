"""Commission statements of 10,000 stores from 2M sale lines, a re-run, and a named baseline.

    .venv/bin/python bench/bench_commissions.py                      # 10,000 stores, 2M lines
    .venv/bin/python bench/bench_commissions.py --stores 1000 --lines 200000 --skip-baseline

Builds a throwaway operator in a temporary var dir and SQLite database: the stores in the
store file (channels.Store) and in the warehouse, six months of sale lines (about 1.5%
refunded and 0.8% reversed, some twice), the lines' churn dates and monthly revenue, and a
published rule set with every kind of rule (activation and deferred parts with clawback, a
share of six months' revenue, volume tiers, own halls at zero). Then times, in this process:

  run        the statement run of the newest month as the job runs it
             (`services.runs.run_month`: claim the month, one DuckDB pass over the facts,
             the lines written as Parquet, one statement header a store saved in bulk);
             goal < 30 s on 2 cores;
  re-run     the same month again with the same facts: its lines file must hash the same,
             and every statement's fingerprint too (a re-run is byte-identical);
  baseline   pure Python, one line at a time: the same month's totals per store from the
             same facts (dicts for the rules, refunds, churn and revenue), the obvious code
             without DuckDB; checked equal to the run's totals to the fen.
Prints the figures, the ratio baseline / run, and the machine's load.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import sys
import tempfile
import time
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

import django
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from measure import peak_rss_mib

MONTHS = ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06"]
PRODUCTS = ["号卡", "5G套餐", "宽带", "融合套餐", "终端", "权益包"]
PRODUCT_SHARE = [0.35, 0.2, 0.1, 0.05, 0.15, 0.15]
STORE_TYPES = ["自营厅", "社会渠道", "代理商", "合作店"]
REFUND, REVERSAL, TWICE = 0.015, 0.008, 0.1
CHURN = 0.08
FEN = Decimal("0.01")


def setup(work: Path) -> None:
    os.environ["QUANWANG_VAR_DIR"] = str(work / "var")
    # The default database: SQLite in the var dir, WAL and immediate transactions, as served.
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quanwang.settings")
    django.setup()
    from django.apps import apps
    from django.utils import translation

    translation.activate("en")
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    # The store file and the commission tables as the models are now (the channels app's
    # migrations are written last).
    needed = [
        apps.get_model("channels", name)
        for name in (
            "Store",
            "CommissionRuleSet",
            "CommissionRule",
            "CommissionTier",
            "CommissionRun",
            "CommissionStatement",
        )
    ]
    with connection.schema_editor() as editor:
        existing = set(connection.introspection.table_names())
        for model in reversed(needed):
            if model._meta.db_table in existing:
                editor.delete_model(model)
        for model in needed:
            editor.create_model(model)


def build_facts(*, stores: int, lines: int, seed: int, directory: Path) -> dict[str, Any]:
    """The warehouse tables and the store file; returns what the baseline reads."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from quanwang.channels.models import Store
    from quanwang.core.models import OrgUnit
    from quanwang.data.arrow import table_schema

    rng = np.random.default_rng(seed)
    store_ids = np.array([f"ST{n:06d}" for n in range(1, stores + 1)])
    store_types = rng.choice(STORE_TYPES, stores, p=[0.1, 0.4, 0.25, 0.25])
    root = OrgUnit.objects.create(code="P", name="省公司", level="group", path="/P/")
    Store.objects.bulk_create(
        [
            Store(store_id=s, name=f"网点{s}", store_type=t, org_unit=root, grid_id="")
            for s, t in zip(store_ids.tolist(), store_types.tolist(), strict=True)
        ],
        batch_size=5000,
    )
    undo = int(lines * (REFUND + REVERSAL) / (1 + REFUND + REVERSAL))
    sales = lines - undo
    first = dt.date(2024, 1, 1)
    days = (dt.date(2024, 6, 30) - first).days + 1
    sale_day = rng.integers(0, days, sales)
    store = rng.integers(0, stores, sales)
    product = rng.choice(len(PRODUCTS), sales, p=PRODUCT_SHARE)
    with_line = np.isin(product, [0, 1, 3])
    subscriber = np.where(with_line, np.arange(sales), -1)
    sale_ids = np.char.add("S", np.arange(sales).astype(str))
    # Refunds and reversals: some of a sale twice, some dated late; all within the months.
    undone = rng.choice(sales, undo, replace=False)
    twice = rng.random(undo) < TWICE
    undone[twice] = undone[np.maximum(np.flatnonzero(twice) - 1, 0)]
    undo_kind = np.where(rng.random(undo) < REVERSAL / (REFUND + REVERSAL), "冲正", "退款")
    undo_day = np.minimum(sale_day[undone] + rng.integers(0, 40, undo), days - 1)
    dates = np.datetime64("2024-01-01") + np.concatenate([sale_day, undo_day]).astype(
        "timedelta64[D]"
    )
    every = np.concatenate([np.arange(sales), undone])
    channel_sales = {
        "sale_id": np.concatenate([sale_ids, np.char.add("U", np.arange(undo).astype(str))]),
        "store_id": store_ids[store[every]],
        "sale_date": dates,
        "product": np.array(PRODUCTS)[product[every]],
        "plan_id": np.where(with_line[every], "P5G", None),
        "subscriber_id": np.where(
            subscriber[every] >= 0, np.char.add("U", subscriber[every].astype(str)), None
        ),
        "amount": np.concatenate([np.full(sales, 100.0), np.full(undo, -100.0)]),
        "kind": np.concatenate([np.full(sales, "销售"), undo_kind]),
        "original_sale_id": np.concatenate([np.full(sales, None), sale_ids[undone]]),
    }
    lines_of = np.flatnonzero(with_line)
    churned = rng.random(len(lines_of)) < CHURN
    churn_day = sale_day[lines_of] + rng.integers(1, 150, len(lines_of))
    churn = np.where(churned & (churn_day < days), churn_day, -1)
    subscribers = {
        "subscriber_id": np.char.add("U", subscriber[lines_of].astype(str)),
        "churn_date": [
            (first + dt.timedelta(days=int(d))) if d >= 0 else None for d in churn.tolist()
        ],
    }
    # Revenue from the sale's month to June (or the churn month) for the plan lines.
    sale_month = np.array([(first + dt.timedelta(days=int(d))).month - 1 for d in sale_day])
    shared = lines_of[np.isin(product[lines_of], [1, 3])]
    usage_sub, usage_month, usage_arpu = [], [], []
    for month_index in range(len(MONTHS)):
        live = shared[sale_month[shared] <= month_index]
        usage_sub.append(live)
        usage_month.append(np.full(len(live), month_index))
        usage_arpu.append(np.round(rng.uniform(30, 200, len(live)), 2))
    usage = {
        "subscriber_id": np.char.add("U", np.concatenate(usage_sub).astype(str)),
        "month": np.array(MONTHS)[np.concatenate(usage_month)],
        "arpu": np.concatenate(usage_arpu),
    }
    for name, columns in (
        ("channel_sales", channel_sales),
        ("subscribers", subscribers),
        ("monthly_usage", usage),
    ):
        schema = table_schema(name)
        size = len(next(iter(columns.values())))
        arrays = {
            f.name: pa.array(columns[f.name], f.type)
            if f.name in columns
            else pa.nulls(size, f.type)
            for f in schema
        }
        path = directory / f"{name}.parquet"
        pq.write_table(pa.Table.from_pydict(arrays, schema=schema), path)
        _commit(name, path)
    return {
        "stores": dict(zip(store_ids.tolist(), store_types.tolist(), strict=True)),
        "sales": len(sale_ids),
        "undo": undo,
        "usage": len(usage["month"]),
    }


def _commit(table: str, path: Path) -> None:
    import duckdb

    from quanwang.data.schema import TABLES
    from quanwang.data.warehouse import Warehouse, sql_literal

    store = Warehouse()
    con = duckdb.connect()
    with store.lock(table):
        store.commit(
            con=con,
            table=TABLES[table],
            select_where=lambda cond: (
                f"SELECT * FROM read_parquet({sql_literal(str(path))}) WHERE {cond}"
            ),
        )


def publish_rules() -> None:
    from quanwang.channels.commissions.services import rules as services
    from quanwang.channels.commissions.services.rules import RuleTerms, TierTerms
    from quanwang.core.terminal import system_actor

    actor = system_actor()
    d = Decimal
    terms = {
        "号卡": {"fixed_amount": d(30), "upfront_share": d("0.6"), "deferred_months": 3,
                "clawback_months": 3,
                "tiers": (TierTerms(min_volume=40, fixed_amount=d(36)),
                          TierTerms(min_volume=80, fixed_amount=d(40)))},
        "5G套餐": {"fixed_amount": d(20), "revenue_share": d("0.08"), "revenue_months": 6,
                  "clawback_months": 3},
        "宽带": {"fixed_amount": d(60), "upfront_share": d("0.5"), "deferred_months": 2},
        "融合套餐": {"fixed_amount": d(80), "revenue_share": d("0.05"), "revenue_months": 12,
                   "clawback_months": 6,
                   "tiers": (TierTerms(min_volume=5, fixed_amount=d(90),
                                       revenue_share=d("0.06")),)},
        "终端": {"fixed_amount": d(15)},
        "权益包": {"fixed_amount": d("2.5")},
    }  # fmt: skip
    draft = services.create_rule_set(actor=actor, name="基准酬金", valid_from=dt.date(2024, 1, 1))
    for product, kwargs in terms.items():
        for store_type in STORE_TYPES:
            rule = (
                RuleTerms(product=product, store_type=store_type)
                if store_type == "自营厅"
                else RuleTerms(product=product, store_type=store_type, **kwargs)
            )
            services.add_rule(actor=actor, rule_set_id=draft.pk, terms=rule)
    services.publish_rule_set(actor=actor, rule_set_id=draft.pk)


def run_month(month: str) -> tuple[float, dict[str, Any]]:
    from quanwang.channels.commissions.services import runs
    from quanwang.core.choices import JobStatus
    from quanwang.core.jobs import execute_job
    from quanwang.core.terminal import system_actor

    job = runs.start_run(actor=system_actor(), month=month, background=False)
    stages: list[tuple[str, float]] = []

    def listen(current: Any) -> None:
        if current.stage and (not stages or stages[-1][0] != current.stage):
            stages.append((current.stage, time.perf_counter()))

    started = time.perf_counter()
    finished = execute_job(job_id=job.pk, listener=listen)
    ended = time.perf_counter()
    if finished.status != JobStatus.SUCCEEDED:
        raise SystemExit(f"the run failed: {finished.error}")
    marks = [*stages, ("end", ended)]
    steps = ", ".join(f"{name} {later - at:.2f}" for (name, at), (_n, later) in pairwise(marks))
    print(f"  stages (s): {steps}")
    return ended - started, dict(finished.result or {})


def fingerprints() -> str:
    from quanwang.channels.models import CommissionStatement

    rows = CommissionStatement.objects.order_by("store__store_id").values_list(
        "store__store_id", "fingerprint", "total"
    )
    return hashlib.sha256("\n".join(f"{s}|{f}|{t}" for s, f, t in rows).encode()).hexdigest()


# --- The baseline: one line at a time, in Python --------------------------------------------


def _index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def _add_months(day: dt.date, months: int) -> dt.date:
    index = _index(day) + months
    year, month = divmod(index, 12)
    import calendar

    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _round(value: Decimal) -> Decimal:
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def baseline(month: str, store_types: dict[str, str]) -> dict[str, Decimal]:
    """The month's total per store, computed line by line (the first statement month: nothing
    paid before, so each store's total is what falls due in the month)."""
    import duckdb

    from quanwang.channels.commissions.services.rules import rules_in_force
    from quanwang.data.warehouse import Warehouse

    target = int(month[:4]) * 12 + int(month[5:]) - 1
    last = dt.date(int(month[:4]), int(month[5:]), 28) + dt.timedelta(days=4)
    last = last - dt.timedelta(days=last.day)
    store = Warehouse()
    con = duckdb.connect()

    def columns(sql: str) -> dict[str, list[Any]]:
        table = con.sql(sql).to_arrow_table()
        return {name: table.column(name).to_pylist() for name in table.column_names}

    facts = columns(f"SELECT * FROM {store.relation('channel_sales')}")
    churn = dict(
        con.sql(f"SELECT subscriber_id, churn_date FROM {store.relation('subscribers')}").fetchall()
    )
    usage = {
        (s, m): Decimal(str(a))
        for s, m, a in con.sql(
            f"SELECT subscriber_id, month, arpu FROM {store.relation('monthly_usage')}"
        ).fetchall()
    }
    rules, tiers = rules_in_force()
    by_product: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rule in rules:
        by_product[rule["product"]].append(rule)
    tiers_of: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for tier in sorted(tiers, key=lambda t: t["min_volume"]):
        tiers_of[tier["rule_id"]].append(tier)

    sales: dict[str, tuple[Any, ...]] = {}
    cancels: list[tuple[Any, ...]] = []
    for row in zip(*facts.values(), strict=True):
        sale_id, store_id, day, product, plan, sub, _amount, kind, original = row
        if day > last:
            continue
        if kind == "销售":
            sales[sale_id] = row
        else:
            cancels.append(row)
    void: dict[str, tuple[dt.date, str]] = {}
    for cancel_id, _s, day, _p, _pl, _sub, _a, _k, original in cancels:
        sale = sales.get(original)
        if sale is None:
            continue
        candidate = (max(day, sale[2]), cancel_id)
        if original not in void or candidate < void[original]:
            void[original] = candidate

    matched: dict[str, dict[str, Any]] = {}
    volume: dict[tuple[str, int, int], int] = defaultdict(int)
    for sale_id, (_i, store_id, day, product, plan, *_rest) in sales.items():
        kind_of_store = store_types.get(store_id)
        if kind_of_store is None:
            continue
        for rule in by_product.get(product, []):
            if (
                (rule["plan_id"] is None or rule["plan_id"] == plan)
                and (rule["store_type"] is None or rule["store_type"] == kind_of_store)
                and rule["eff_from"] <= day
                and (rule["eff_until"] is None or day <= rule["eff_until"])
            ):
                matched[sale_id] = rule
                voided = void.get(sale_id)
                if voided is None or _index(voided[0]) > _index(day):
                    volume[(store_id, rule["rule_id"], _index(day))] += 1
                break

    totals: dict[str, Decimal] = defaultdict(Decimal)
    for sale_id, rule in matched.items():
        _i, store_id, day, _product, _plan, sub, *_rest = sales[sale_id]
        sold = _index(day)
        fixed, share = rule["fixed_amount"], rule["revenue_share"]
        count = volume.get((store_id, rule["rule_id"], sold), 0)
        for tier in tiers_of.get(rule["rule_id"], []):
            if tier["min_volume"] <= count:
                fixed, share = tier["fixed_amount"], tier["revenue_share"]
        churned = churn.get(sub) if sub else None
        if churned is not None and churned > last:
            churned = None
        upfront = _round(fixed * rule["upfront_share"])
        parts: list[tuple[int, Decimal]] = []
        if upfront:
            parts.append((sold, upfront))
        deferred = fixed - upfront
        deferred_day = _add_months(day, rule["deferred_months"])
        deferred_paid = (
            rule["deferred_months"] > 0
            and deferred != 0
            and (churned is None or churned > deferred_day)
        )
        if deferred_paid:
            parts.append((sold + rule["deferred_months"], deferred))
        if share > 0 and sub:
            for k in range(rule["revenue_months"]):
                index = sold + k
                arpu = usage.get((sub, f"{index // 12:04d}-{index % 12 + 1:02d}"))
                if arpu is not None and index <= target:
                    parts.append((index, _round(share * _round(arpu))))
        if (
            rule["clawback_months"] > 0
            and churned is not None
            and day <= churned <= _add_months(day, rule["clawback_months"])
        ):
            back = -(upfront + (deferred if deferred_paid else Decimal(0)))
            if back:
                parts.append((_index(churned), back))
        voided = void.get(sale_id)
        if voided is not None:
            void_index = _index(voided[0])
            kept = [(due, amount) for due, amount in parts if due < void_index]
            taken = -sum((amount for _due, amount in kept), Decimal(0))
            parts = kept + ([(void_index, taken)] if taken else [])
        totals[store_id] += sum((a for due, a in parts if due == target), Decimal(0))
    con.close()
    return {s: t for s, t in totals.items() if t}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stores", type=int, default=10_000)
    parser.add_argument("--lines", type=int, default=2_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--work", type=Path, help="keep the var dir and database here (empty)")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="quanwang-bench-commissions-") as tmp:
        work = Path(args.work or tmp)
        work.mkdir(parents=True, exist_ok=True)
        setup(work)
        started = time.perf_counter()
        built = build_facts(stores=args.stores, lines=args.lines, seed=args.seed, directory=work)
        publish_rules()
        print(
            f"facts: {args.stores:,} stores, {built['sales']:,} sales + {built['undo']:,} refunds "
            f"and reversals = {args.lines:,} lines, {built['usage']:,} revenue rows "
            f"(built in {time.perf_counter() - started:.1f} s)"
        )
        month = MONTHS[-1]
        first_seconds, first = run_month(month)
        first_prints = fingerprints()
        second_seconds, second = run_month(month)
        second_prints = fingerprints()
        identical = (
            first["lines_sha256"] == second["lines_sha256"] and first_prints == second_prints
        )
        print(
            f"run {month}: {first_seconds:.2f} s: {first['statements']:,} statements, "
            f"{first['lines']:,} lines, total {first['total']} yuan "
            f"({first['unmatched_sales']:,} sales without rule)"
        )
        print(f"re-run: {second_seconds:.2f} s; byte-identical: {identical}")
        print(f"  lines file sha256 {first['lines_sha256']}")
        print(f"  statements' fingerprints sha256 {first_prints}")
        if not args.skip_baseline:
            from quanwang.channels.models import CommissionStatement

            started = time.perf_counter()
            expected = baseline(month, built["stores"])
            baseline_seconds = time.perf_counter() - started
            got = {
                s: t
                for s, t in CommissionStatement.objects.values_list("store__store_id", "total")
                if t
            }
            same = got == expected
            print(
                f"baseline (pure Python, line by line): {baseline_seconds:.2f} s; "
                f"same totals to the fen: {same}; ratio baseline / run "
                f"{baseline_seconds / first_seconds:.1f}×"
            )
            if not same:
                wrong = sorted(s for s in set(got) | set(expected) if got.get(s) != expected.get(s))
                print(f"  {len(wrong)} stores differ, e.g. {wrong[:3]}: "
                      f"{[(got.get(s), expected.get(s)) for s in wrong[:3]]}")  # fmt: skip
        print(f"peak RSS {peak_rss_mib():,.0f} MiB; cores {os.cpu_count()}")
        print(
            "load average before {:.2f} {:.2f} {:.2f}, after {:.2f} {:.2f} {:.2f}".format(
                *load_before, *os.getloadavg()
            )
        )
        if not identical:
            raise SystemExit("a re-run was not byte-identical")


if __name__ == "__main__":
    main()
