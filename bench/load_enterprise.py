"""A warehouse with 100,000 enterprise accounts and about 5M members, for the enterprise
benchmarks (monthly grading and account features, the account 360 page).

    QUANWANG_VAR_DIR=/tmp/var_ent .venv/bin/python bench/load_enterprise.py \
        [--accounts 100000] [--members 5000000] [--months 6] [--seed 2024] [--no-sync]

The full synthetic operator at 5M subscribers (usage, calls, recharges, stores, ...) would be
5x the 1M city the generator is sized for; this builds only what the enterprise features read,
with the generator's own code where it has it:

- org tree, grids and staff: `build_geography` sized for the members (2,000 grids), loaded into
  the operations database as `quanwang demo` does (org units, staff);
- enterprises: `build_enterprises` (Pareto sizes, grades, account managers) and
  `generator._accounts` (hierarchy, credit codes, status, products held, orders): the same
  distributions as the generated city;
- members: each account gets 1 + a multinomial share of the rest by its size; one subscriber
  row each with the required columns only (政企, postpaid, a plan, the account's grid), 1.2%
  a month churned (a quarter of accounts at twice that);
- monthly_usage: arpu only, LogNormal around ¥60 with a per-account trend (a fifth of accounts
  falling 3% a month), none after a member churns;
- contacts: off-net calls only (what competitor contact reads), Bernoulli(p) a member and
  month with p ~ Beta(1, 12) per account.

Every table goes through the importer (`import_file`, the same checks as an upload), and then
the `enterprises` after-import hooks run (accounts.sync_accounts) unless --no-sync. Each step
prints its seconds; the data ends with the last full month before today.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import date
from pathlib import Path
from typing import Any

import django
import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=5_000_000)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--no-sync", action="store_true", help="skip the after-import hooks")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quanwang.settings")
    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    began = time.monotonic()

    def step(text: str) -> None:
        print(f"[{time.monotonic() - began:7.1f} s] {text}", flush=True)

    call_command("migrate", verbosity=0, interactive=False)
    out = Path(settings.VAR_DIR) / "enterprise-world"
    out.mkdir(parents=True, exist_ok=True)
    rows = write_world(
        out, accounts=args.accounts, members=args.members, months=args.months, seed=args.seed
    )
    step("written: " + ", ".join(f"{name} {count:,}" for name, count in rows.items()))
    load_world(out, tables=list(rows), step=step, sync=not args.no_sync)
    step("done")


def last_full_month(today: date) -> np.datetime64:
    return np.datetime64(f"{today.year:04d}-{today.month:02d}", "M") - np.timedelta64(1, "M")


def write_world(
    out: Path, *, accounts: int, members: int, months: int, seed: int
) -> dict[str, int]:
    """Write OUT/<table>.parquet for the enterprise world; returns the rows of each."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from quanwang.data.generator import _accounts
    from quanwang.data.generator import _arrow as ax
    from quanwang.data.generator import _vocab as vocab
    from quanwang.data.generator._channels import with_columns
    from quanwang.data.generator._monthly import month_start_day
    from quanwang.data.generator._world import build_enterprises, build_geography, plans_table
    from quanwang.data.schema import OPERATORS

    if members < accounts:
        raise SystemExit("--members must be at least --accounts")
    world, detail, product, order, people = np.random.default_rng(seed).spawn(5)
    start = last_full_month(date.today()) - np.timedelta64(months - 1, "M")
    start_day, _, _ = month_start_day(start, 0)
    end_day, _, _ = month_start_day(start, months)
    spans = [month_start_day(start, t) for t in range(months)]
    geo = build_geography(world, members)
    ents = build_enterprises(world, geo, accounts * 100)
    details, _parents, status = _accounts.account_details(detail, ents, geo)
    ents.table = with_columns(ents.table, details)
    held = _accounts.products(
        product, ents=ents, industry=details["industry"],
        grade=ents.table.column("grade").combine_chunks(), status=status,
        first_day=start_day, end_day=end_day,
    )  # fmt: skip
    orders = _accounts.orders(
        order, ents=ents, held=held, months=[s[:2] for s in spans], end_day=end_day
    )
    written: dict[str, int] = {}

    def write(name: str, table: Any) -> None:
        pq.write_table(table, out / f"{name}.parquet", compression="zstd", row_group_size=1 << 20)
        written[name] = written.get(name, 0) + table.num_rows

    staff = ax.plain(
        dict(geo.staff, mobile=[f"139{i:08d}" for i in range(len(geo.staff["employee_no"]))]),
        {k: pa.string() for k in ("employee_no", "name", "mobile", "title", "org_unit_code")},
    )
    (out / "extra").mkdir(exist_ok=True)
    pq.write_table(staff, out / "extra" / "staff.parquet")
    for name, table in (
        ("org_units", geo.org_units), ("grids", geo.grids), ("plans", plans_table()),
        ("enterprises", ents.table), ("enterprise_products", held.table),
        ("enterprise_orders", orders),
    ):  # fmt: skip
        write(name, table)

    # Members: at least one per account, the rest by size.
    n = accounts
    weight = ents.size.astype(np.float64) / ents.size.sum()
    per_account = 1 + people.multinomial(members - n, weight)
    owner = np.repeat(np.arange(n), per_account)
    ids = ax.digits("U", np.arange(1, members + 1), 10)
    postpaid = [i for i, p in enumerate(vocab.PLANS) if p.plan_type == "postpaid"]
    plan = np.array(postpaid)[people.integers(0, len(postpaid), members)]
    join = start_day - people.integers(30, 15 * 365, members)
    # Churn: a member leaves in month t with P 1.2% (2.4% in a quarter of the accounts).
    rate = np.where(people.random(n) < 0.25, 0.024, 0.012)[owner]
    churn_month = np.where(
        people.random(members) < rate * months, people.integers(0, months, members), -1
    )
    first = np.array([s[0] for s in spans])
    days = np.array([s[1] for s in spans])
    churned = churn_month >= 0
    churn_day = np.where(
        churned,
        first[np.maximum(churn_month, 0)]
        + (people.random(members) * days[np.maximum(churn_month, 0)]).astype(np.int64),
        0,
    )
    grid = np.where(
        people.random(members) < 0.9,
        ents.grid[owner],
        people.integers(0, len(geo.grid_ids), members),
    )
    enterprise_ids = ents.table.column("enterprise_id").combine_chunks().take(pa.array(owner))
    nulls = {
        column.name: pa.nulls(members, ax.table_schema("subscribers").field(column.name).type)
        for column in _schema("subscribers").columns
    }
    write(
        "subscribers",
        ax.build(
            "subscribers",
            nulls
            | {
                "subscriber_id": ids,
                "msisdn": ax.digits("13", np.arange(members) + 100_000_000, 9),
                "segment": ax.constant("政企", members),
                "payment_type": ax.constant("postpaid", members),
                "join_date": ax.dates(join),
                "status": ax.pick(("active", "churned"), churned.astype(np.int64)),
                "churn_date": ax.dates(churn_day, ~churned),
                "plan_id": ax.pick([p.plan_id for p in vocab.PLANS], plan),
                "grid_id": ax.pick(geo.grid_ids, grid),
                "enterprise_id": enterprise_ids,
            },
        ),
    )
    write(
        "enterprise_members",
        ax.build(
            "enterprise_members",
            {
                "enterprise_id": enterprise_ids,
                "subscriber_id": ids,
                "role": ax.pick(
                    ("普通成员", "关键人"), (people.random(members) < 0.02).astype(np.int64)
                ),
                "joined_date": ax.dates(join + people.integers(0, 365, members)),
            },
        ),
    )
    # Usage and off-net calls, month by month (one file each, appended).
    level = people.lognormal(np.log(60.0), 0.5, members)
    trend = np.where(people.random(n) < 0.2, -0.03, 0.005)[owner]
    offnet = people.beta(1.0, 12.0, n)[owner]
    usage_writer = contacts_writer = None
    try:
        for t, (_day, _days, label) in enumerate(spans):
            alive = ~churned | (churn_month >= t)
            rows = np.flatnonzero(alive)
            arpu = ax.money(
                level[rows] * np.exp(trend[rows] * t) * people.lognormal(0, 0.15, len(rows))
            )
            usage = ax.build(
                "monthly_usage",
                {c.name: pa.nulls(len(rows), ax.table_schema("monthly_usage").field(c.name).type)
                 for c in _schema("monthly_usage").columns}
                | {
                    "subscriber_id": ids.take(pa.array(rows)),
                    "month": ax.constant(label, len(rows)),
                    "arpu": arpu,
                },
            )  # fmt: skip
            calls = rows[people.random(len(rows)) < offnet[rows]]
            operator = people.integers(1, 5, len(calls))
            contacts = ax.build(
                "contacts",
                {
                    "subscriber_id": ids.take(pa.array(calls)),
                    "month": ax.constant(label, len(calls)),
                    "peer_hash": ax.digits("x", calls * 16 + operator, 12),
                    "peer_operator": ax.pick(OPERATORS, operator),
                    "calls": 1 + people.poisson(3.0, len(calls)),
                    "minutes": np.round(people.lognormal(1.5, 0.6, len(calls)), 1),
                    "sms": people.poisson(0.3, len(calls)),
                },
            )
            if usage_writer is None:
                usage_writer = pq.ParquetWriter(
                    out / "monthly_usage.parquet", usage.schema, compression="zstd"
                )
                contacts_writer = pq.ParquetWriter(
                    out / "contacts.parquet", contacts.schema, compression="zstd"
                )
            usage_writer.write_table(usage, 1 << 20)
            assert contacts_writer is not None
            contacts_writer.write_table(contacts, 1 << 20)
            written["monthly_usage"] = written.get("monthly_usage", 0) + usage.num_rows
            written["contacts"] = written.get("contacts", 0) + contacts.num_rows
    finally:
        for writer in (usage_writer, contacts_writer):
            if writer is not None:
                writer.close()
    return written


def _schema(name: str) -> Any:
    from quanwang.data.schema import TABLES

    return TABLES[name]


LOAD_ORDER = (
    "plans", "grids", "enterprises", "enterprise_products", "enterprise_orders", "subscribers",
    "enterprise_members", "monthly_usage", "contacts",
)  # fmt: skip


def load_world(out: Path, *, tables: list[str], step: Any, sync: bool) -> None:
    """The org tree and staff as the demo loads them, then every table through the importer,
    then the enterprises' after-import hooks."""
    from quanwang.data import demo
    from quanwang.data.after_import import run_after_import
    from quanwang.data.importer import import_file

    demo._load_org_tree(out)
    demo._load_staff(out)
    step("org tree and staff loaded")
    for name in LOAD_ORDER:
        if name not in tables:
            continue
        report = import_file(table_name=name, path=out / f"{name}.parquet", confirm_replace=True)
        if report.quarantined:
            raise SystemExit(f"{name}: {report.quarantined} rows quarantined ({report.by_reason})")
        step(f"{name:<20} {report.loaded:>12,} rows in {report.seconds:6.1f} s")
    if sync:
        try:
            result = run_after_import("enterprises")
        except Exception as exc:  # a hook's tables not migrated yet: the warehouse stands
            step(
                f"after-import hooks failed ({type(exc).__name__}: {exc}); the warehouse is loaded"
            )
        else:
            step(f"after-import hooks: {result}")


if __name__ == "__main__":
    main()
