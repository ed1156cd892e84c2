"""Account 360 page latency at 100,000 accounts and 5M members (goal: p95 under 200 ms).

    QUANWANG_VAR_DIR=/tmp/var_acct .venv/bin/python bench/enterprise_accounts.py \
        [--accounts 100000] [--members 5000000] [--samples 200] [--keep]

Builds the account file straight in a fresh SQLite database under the var dir (the tables as
the test runner makes them, no migrations needed): accounts in 2,000 grid units, 8% heads of a
group with up to 12 branches each, 1-3 team members and 0-6 products each, and the members
spread by a Pareto share (a few accounts with tens of thousands). The same members go to a
Parquet file shaped like the warehouse's enterprise_members table.

Then it opens the 360 page `/enterprise/accounts/<id>/` with the Django test client as a
province admin, for random accounts (group heads over-sampled: their tree is the heaviest),
and prints p50/p95/max in ms: the whole page, and this part's page alone (the other
parts' sections left out: they are measured by their own benches).

Baseline ("warehouse scan"): the same page with the member count and the member list read
from the warehouse's enterprise_members Parquet by DuckDB on each view, as a page would
without the sync's copies (AccountMember, Account.member_count). The ratio is baseline p95 /
page p95.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import django


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=5_000_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--keep", action="store_true", help="keep the database file")
    parser.add_argument("--reuse", action="store_true", help="reuse a kept database file")
    args = parser.parse_args()
    var = Path(os.environ.get("QUANWANG_VAR_DIR") or tempfile.mkdtemp(prefix="bench-acct-"))
    var.mkdir(parents=True, exist_ok=True)
    database = var / "bench-enterprise-accounts.sqlite3"
    reuse = args.reuse and database.exists()
    if not reuse:
        database.unlink(missing_ok=True)
    os.environ["QUANWANG_VAR_DIR"] = str(var)
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quanwang.settings")
    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    # The tables as the test runner makes them (this part's migrations are the lead's).
    settings.MIGRATION_MODULES = {app.label: None for app in django.apps.apps.get_app_configs()}
    settings.ALLOWED_HOSTS = ["*"]
    began = time.perf_counter()
    if reuse:
        admin, heads, parquet = reused(var)
    else:
        call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)
        admin, heads, parquet = build(
            database, var, accounts=args.accounts, members=args.members, seed=args.seed
        )
    if not reuse:
        print(f"built {args.accounts:,} accounts, {args.members:,} members: "
              f"{time.perf_counter() - began:.1f} s")  # fmt: skip
    rng = random.Random(args.seed)
    picks = [
        rng.choice(heads) if i % 4 == 0 else f"E{rng.randrange(args.accounts):07d}"
        for i in range(args.samples)
    ]
    whole = measure(admin, picks)
    page = measure(admin, picks, own_only=True)
    baseline = measure(admin, picks, warehouse=parquet, own_only=True)
    report(whole, page, baseline, args)
    if not args.keep:
        database.unlink(missing_ok=True)


def build(
    database: Path, var: Path, *, accounts: int, members: int, seed: int
) -> tuple[Any, list[str], Path]:
    """Fill the tables with plain SQL (the ORM would take an hour at this size)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    from django.contrib.auth import get_user_model
    from django.db import connection

    from quanwang.core.choices import OrgLevel, Role
    from quanwang.core.models import OrgUnit, RoleAssignment, Staff

    rng = np.random.default_rng(seed)
    root = OrgUnit.objects.create(code="GD", name="省公司", level=OrgLevel.GROUP, path="/GD/")
    grids = [
        OrgUnit(code=f"G{i:04d}", name=f"网格{i}", level=OrgLevel.GRID, parent=root,
                path=f"/GD/G{i:04d}/")
        for i in range(2000)
    ]  # fmt: skip
    OrgUnit.objects.bulk_create(grids)
    grid_ids = list(OrgUnit.objects.filter(level=OrgLevel.GRID).values_list("pk", flat=True))
    Staff.objects.bulk_create(
        [
            Staff(employee_no=f"AM{i:05d}", name=f"经理{i}", mobile="13800000000",
                  org_unit_id=grid_ids[i % len(grid_ids)])
            for i in range(4000)
        ]
    )  # fmt: skip
    staff_ids = list(Staff.objects.values_list("pk", flat=True))
    admin = get_user_model().objects.create_user(username="bench-admin", password="x")
    RoleAssignment.objects.create(user=admin, role=Role.PROVINCE_ADMIN, org_unit=root)
    connection.close()

    # Members per account: 1 + a Pareto share of the rest.
    weights = rng.pareto(1.2, accounts) + 1
    extra = rng.multinomial(max(members - accounts, 0), weights / weights.sum())
    per_account = (extra + 1).astype(np.int64)
    heads = rng.random(accounts) < 0.08
    head_index = np.flatnonzero(heads)
    parent = np.full(accounts, -1)
    branches = np.flatnonzero(~heads & (rng.random(accounts) < 0.13))
    parent[branches] = rng.choice(head_index, len(branches))
    grades = rng.choice(np.array(["A", "B", "C"]), accounts, p=[0.1, 0.3, 0.6])
    unit = rng.integers(0, len(grid_ids), accounts)

    db = sqlite3.connect(database)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    rows = (
        (
            i + 1, f"E{i:07d}", f"集团{i}", None if parent[i] < 0 else int(parent[i]) + 1,
            "物流运输", int(per_account[i]), "", "active", grid_ids[unit[i]], f"G{unit[i]:04d}",
            "regional", str(grades[i]), "", 1, "import", "import", int(per_account[i]),
        )
        for i in range(accounts)
    )  # fmt: skip
    db.executemany(
        "INSERT INTO enterprise_account (id, enterprise_id, name, parent_id, industry, size, "
        "credit_code, status, org_unit_id, grid_id, ownership, grade, service_level, active, "
        "parent_source, ownership_source, member_count) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    team = (
        (i + 1, staff_ids[(i * 7 + k) % len(staff_ids)], "lead" if k == 0 else "support",
         "import")
        for i in range(accounts)
        for k in range(1 + i % 3)
    )  # fmt: skip
    db.executemany(
        "INSERT INTO enterprise_accountteammember (account_id, staff_id, role, source) "
        "VALUES (?,?,?,?)",
        team,
    )
    products = (
        (i + 1, f"PI{i:07d}{k}", f"E{i:07d}", "专线", f"2027-{1 + (i + k) % 12:02d}-28",
         100_000, 1, 0, 0, 1)
        for i in range(accounts)
        for k in range(i % 7)
    )  # fmt: skip
    db.executemany(
        "INSERT INTO enterprise_accountproduct (account_id, product_instance_id, enterprise_id, "
        "product, contract_end, monthly_fee_fen, agreement, bundled, prepaid_fen, active) "
        "VALUES (?,?,?,?,?,?,?,?,?,?)",
        products,
    )
    owner = np.repeat(np.arange(accounts), per_account)
    member_rows = (
        (int(a) + 1, f"E{a:07d}", f"S{n:08d}", f"138{n:08d}", "普通成员")
        for n, a in enumerate(owner)
    )
    db.executemany(
        "INSERT INTO enterprise_accountmember (account_id, enterprise_id, subscriber_id, msisdn, "
        "role) VALUES (?,?,?,?,?)",
        member_rows,
    )
    db.commit()
    db.execute("ANALYZE")
    db.close()
    # The warehouse's enterprise_members, sorted as the importer writes it (by subscriber).
    parquet = var / "bench-enterprise-members.parquet"
    pq.write_table(
        pa.table(
            {
                "enterprise_id": pa.array([f"E{a:07d}" for a in owner]),
                "subscriber_id": pa.array([f"S{n:08d}" for n in range(len(owner))]),
                "msisdn": pa.array([f"138{n:08d}" for n in range(len(owner))]),
            }
        ),
        parquet,
    )
    return admin, [f"E{i:07d}" for i in head_index], parquet


def reused(var: Path) -> tuple[Any, list[str], Path]:
    from django.contrib.auth import get_user_model

    from quanwang.enterprise.models import Account

    admin = get_user_model().objects.get(username="bench-admin")
    heads = list(
        Account.objects.filter(children__isnull=False)
        .distinct()
        .values_list("enterprise_id", flat=True)
    )
    return admin, heads, var / "bench-enterprise-members.parquet"


def measure(
    admin: Any, picks: list[str], *, warehouse: Path | None = None, own_only: bool = False
) -> list[float]:
    from django.test import Client

    from quanwang.enterprise.accounts import views
    from quanwang.enterprise.accounts.services import read

    client = Client()
    client.force_login(admin)
    original, sections = read.members, views.render_sections
    if own_only:
        # This part's page alone: the other parts' sections are theirs to measure.
        views.render_sections = lambda **_context: []  # type: ignore[assignment]
    if warehouse is not None:
        import duckdb

        con = duckdb.connect()

        def scanned(account: Any) -> list[Any]:
            # The naive page: count and list the members from the warehouse on each view.
            relation = f"read_parquet('{warehouse}')"
            account.member_count = con.execute(
                f"SELECT count(*) FROM {relation} WHERE enterprise_id = ?",
                [account.enterprise_id],
            ).fetchone()[0]
            found = con.execute(
                f"SELECT subscriber_id, msisdn FROM {relation} WHERE enterprise_id = ? "
                "ORDER BY subscriber_id LIMIT 20",
                [account.enterprise_id],
            ).fetchall()
            return [read.AccountMember(subscriber_id=s, msisdn=m) for s, m in found]

        views.read.members = scanned  # type: ignore[assignment]
    try:
        client.get(f"/enterprise/accounts/{picks[0]}/")  # warm the templates
        timings = []
        for eid in picks:
            started = time.perf_counter()
            answer = client.get(f"/enterprise/accounts/{eid}/")
            timings.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200, (eid, answer.status_code)
    finally:
        views.read.members = original  # type: ignore[assignment]
        views.render_sections = sections  # type: ignore[assignment]
    return timings


def report(whole: list[float], page: list[float], baseline: list[float], args: Any) -> None:
    p95, base95 = percentile(page, 0.95), percentile(baseline, 0.95)
    print(f"account 360 page, {args.accounts:,} accounts, {args.members:,} members, "
          f"{args.samples} views (a quarter group heads):")  # fmt: skip
    rows = (
        ("whole page (all parts' sections)", whole),
        ("accounts part (indexed, precomputed)", page),
        ("baseline: warehouse scan", baseline),
    )
    for name, values in rows:
        print(f"  {name:<38} p50 {statistics.median(values):7.1f} ms  "
              f"p95 {percentile(values, 0.95):7.1f} ms  max {max(values):7.1f} ms")  # fmt: skip
    print(f"  ratio baseline/accounts part p95: {base95 / p95:.1f}x; goal p95 < 200 ms: "
          f"accounts part {'met' if p95 < 200 else 'NOT met'}, whole page "
          f"{'met' if percentile(whole, 0.95) < 200 else 'NOT met'}")  # fmt: skip


if __name__ == "__main__":
    main()
