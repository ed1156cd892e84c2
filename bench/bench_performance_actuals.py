# ruff: noqa: E501 (SQL and the catalogue table read better on one line each)
"""The KPI actuals at scale (issue 18): the nightly step on a demo city, and a province
simulation against a naive per-goal recompute.

    # (a) the nightly step on an existing city (a var dir with its database and warehouse):
    QUANWANG_VAR_DIR=/path/to/var taskset -c 0,1 .venv/bin/python bench/bench_performance_actuals.py city

    # (b) the province simulation (synthetic Parquet facts, no database needed):
    QUANWANG_VAR_DIR=/tmp/var-bench-act taskset -c 0,1 .venv/bin/python \
        bench/bench_performance_actuals.py province [--subscribers 10000000] [--staff 60000] \
        [--targets 1000000] [--goals 200]

(b) synthesises, for the open months of a business day (2024-03-20: October to March, six
months), subscriber-month facts (customers, revenue, churn, 5G), daily store sales and staff
visits; an org tree of 21 cities, ~120 counties and ~5,900 grids; 60,000 staff holding the
grids and stores; and 1M target rows. It times: a full computation of six KPIs at every grain
(units, stores, staff) and period; the attainment of the 1M targets (one DuckDB join: actual /
target, pace at the elapsed share); an incremental run after a one-day change to the store
sales. Baseline: Odoo gamification's way, one query per goal over the facts, timed on
`--goals` goals and extrapolated to 1M.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import django

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quanwang.settings")
django.setup()

import duckdb  # noqa: E402
import ibis  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from quanwang.performance.actuals import store  # noqa: E402
from quanwang.performance.actuals.attribution import INTERVAL_SCHEMA, STAFF_SCHEMA  # noqa: E402
from quanwang.performance.actuals.compute import Inputs, compute, file_identity  # noqa: E402
from quanwang.performance.choices import Aggregation, Direction, Grain, OverTime  # noqa: E402
from quanwang.performance.kpis.definitions import BuildContext, KpiDefinition  # noqa: E402
from quanwang.performance.periods import parse  # noqa: E402

AS_OF = dt.date(2024, 3, 20)
MONTHS = ["2023-10", "2023-11", "2023-12", "2024-01", "2024-02", "2024-03"]


def city() -> None:
    from quanwang.insight.choices import Engine
    from quanwang.performance.actuals.services import run_actuals

    for label, full in (("full", True), ("incremental, nothing changed", False)):
        began = time.monotonic()
        result = run_actuals(as_of=None, full=full, engine=Engine.DUCKDB)
        seconds = time.monotonic() - began
        print(f"city {label}: {seconds:.1f} s, {result['rows']:,} values, as of {result['as_of']}")
        print(f"  recomputed KPI-months {result['recomputed']}, timings {result['timings']}")


# --- the province simulation ------------------------------------------------------------


def _month_of(table: Any, name: str) -> Any:
    if name == "usage":
        return table.month
    column = {"sales": "sale_date", "visits": "visit_date"}.get(name)
    if column is None:
        return None
    day = table[column]
    return day.year().cast("string") + "-" + day.month().cast("string").lpad(2, "0")


def _monthly_day(t: Any, ctx: BuildContext) -> Any:
    year, month = t.month.left(4).cast("int32"), t.month.right(2).cast("int32")
    end = ibis.date(year, month, 1) + ibis.interval(months=1) - ibis.interval(days=1)
    return ibis.least(end, ibis.literal(ctx.as_of))


def _grid_kpi(numerator: Any, denominator: Any) -> Any:
    def build(tables: Any, ctx: BuildContext) -> Any:
        u = tables["usage"]
        u = u.filter(u.month.isin(list(ctx.months)))
        g = u.group_by([u.grid_id, u.month]).aggregate(
            numerator=numerator(u),
            denominator=denominator(u) if denominator else ibis.null("float64"),
        )
        return g.select(
            grain=ibis.literal(Grain.ORG_UNIT.value), key=g.grid_id, org_unit=g.grid_id,
            day=_monthly_day(g, ctx), numerator=g.numerator, denominator=g.denominator,
        )  # fmt: skip

    return build


def _store_sales(tables: Any, ctx: BuildContext) -> Any:
    s = tables["sales"]
    g = s.group_by([s.store_id, s.grid_id, s.sale_date]).aggregate(numerator=s.amount.sum())
    return g.select(
        grain=ibis.literal(Grain.STORE.value), key=g.store_id, org_unit=g.grid_id,
        day=g.sale_date, numerator=g.numerator, denominator=ibis.null("float64"),
    )  # fmt: skip


def _visits(tables: Any, ctx: BuildContext) -> Any:
    v = tables["visits"]
    g = v.group_by([v.employee_no, v.unit, v.visit_date]).aggregate(
        numerator=v.count().cast("float64")
    )
    return g.select(
        grain=ibis.literal(Grain.STAFF.value), key=g.employee_no, org_unit=g.unit,
        day=g.visit_date, numerator=g.numerator, denominator=ibis.null("float64"),
    )  # fmt: skip


def catalogue() -> dict[str, KpiDefinition]:
    def kpi(code: str, agg: Aggregation, over: OverTime, inputs: str, build: Any) -> KpiDefinition:
        return KpiDefinition(
            code=code, name=code, unit="", direction=Direction.HIGHER, aggregation=agg,
            over_time=over, grains=frozenset(Grain), inputs=(inputs,), build=build,
        )  # fmt: skip

    count = lambda u: u.count().cast("float64")  # noqa: E731
    return {
        "customers": kpi("customers", Aggregation.SUM, OverTime.STOCK, "usage", _grid_kpi(count, None)),
        "revenue": kpi("revenue", Aggregation.SUM, OverTime.FLOW, "usage", _grid_kpi(lambda u: u.revenue.sum(), None)),
        "churn_rate": kpi("churn_rate", Aggregation.RATIO, OverTime.FLOW, "usage", _grid_kpi(lambda u: u.churned.cast("float64").sum(), count)),
        "penetration_5g": kpi("penetration_5g", Aggregation.RATIO, OverTime.STOCK, "usage", _grid_kpi(lambda u: u.is_5g.cast("float64").sum(), count)),
        "store_sales": kpi("store_sales", Aggregation.SUM, OverTime.FLOW, "sales", _store_sales),
        "visits": kpi("visits", Aggregation.SUM, OverTime.FLOW, "visits", _visits),
    }  # fmt: skip


def synthesise(folder: Path, *, subscribers: int, staff: int) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    grids = max(1, subscribers // 1700)
    stores = max(1, subscribers // 1000)
    counties = max(1, grids // 50)
    con = duckdb.connect()
    con.execute("SET threads = 2")
    months = ", ".join(f"('{m}')" for m in MONTHS)
    began = time.monotonic()
    con.execute(
        f"""COPY (
          SELECT i AS subscriber_id, 'G' || (i % {grids}) AS grid_id, m.month,
                 (hash(i, m.month) % 20000) / 100.0 AS revenue,
                 hash(i) % 100 < 30 AS is_5g,
                 hash(i, m.month) % 1000 < 15 AS churned
          FROM range({subscribers}) r(i) CROSS JOIN (VALUES {months}) m(month)
        ) TO '{folder / "usage.parquet"}' (FORMAT parquet, COMPRESSION zstd)"""
    )
    con.execute(
        f"""COPY (
          SELECT 'S' || s AS store_id, 'G' || (s % {grids}) AS grid_id, d::DATE AS sale_date,
                 (hash(s, d) % 500000) / 100.0 AS amount
          FROM range({stores}) r(s)
          CROSS JOIN range(DATE '2023-10-01', DATE '{AS_OF + dt.timedelta(days=1)}', INTERVAL 1 DAY) t(d)
        ) TO '{folder / "sales.parquet"}' (FORMAT parquet)"""
    )
    con.execute(
        f"""COPY (
          SELECT 'E' || e AS employee_no, 'G' || (e % {grids}) AS unit, d::DATE AS visit_date
          FROM range({staff}) r(e)
          CROSS JOIN range(DATE '2023-10-01', DATE '{AS_OF + dt.timedelta(days=1)}', INTERVAL 1 DAY) t(d)
          WHERE hash(e, d) % 7 = 0
        ) TO '{folder / "visits.parquet"}' (FORMAT parquet)"""
    )
    print(f"synthesised the facts in {time.monotonic() - began:.1f} s")
    for name in ("usage", "sales", "visits"):
        rows = con.execute(f"SELECT count(*) FROM '{folder / name}.parquet'").fetchone()[0]  # type: ignore[index]
        print(f"  {name:<8} {rows:>12,} rows")
    units = [("P", "/P/")]
    for c in range(21):
        units.append((f"C{c}", f"/P/C{c}/"))
    for k in range(counties):
        units.append((f"K{k}", f"/P/C{k % 21}/K{k}/"))
    for g in range(grids):
        k = g % counties
        units.append((f"G{g}", f"/P/C{k % 21}/K{k}/G{g}/"))
    # Grid managers hold the grids, clerks the stores; everyone logs visits.
    holders = [(f"E{g}", f"G{g}", Grain.ORG_UNIT.value, f"G{g}") for g in range(min(grids, staff))]
    holders += [
        (f"E{(grids + s) % staff}", f"G{s % grids}", Grain.STORE.value, f"S{s}")
        for s in range(stores)
    ]
    intervals = pa.table(
        {
            "employee_no": [h[0] for h in holders],
            "staff_unit": [h[1] for h in holders],
            "grain": [h[2] for h in holders],
            "key": [h[3] for h in holders],
            "start": pa.nulls(len(holders), pa.date32()),
            "end": pa.nulls(len(holders), pa.date32()),
        },
        schema=INTERVAL_SCHEMA,
    )
    people = pa.table(
        {
            "employee_no": [f"E{e}" for e in range(staff)],
            "staff_unit": [f"G{e % grids}" for e in range(staff)],
        },
        schema=STAFF_SCHEMA,
    )
    return {
        "units": units,
        "intervals": intervals,
        "staff": people,
        "grids": grids,
        "stores": stores,
    }


def inputs_for(folder: Path, world: dict[str, Any]) -> Inputs:
    def open_tables(con: Any) -> dict[str, Any]:
        return {
            n: con.read_parquet(str(folder / f"{n}.parquet"), table_name=n)
            for n in ("usage", "sales", "visits")
        }

    return Inputs(
        catalogue=catalogue(),
        open_tables=open_tables,
        month_of=_month_of,
        identities={
            n: file_identity(folder / f"{n}.parquet") for n in ("usage", "sales", "visits")
        },
        units=world["units"],
        intervals=world["intervals"],
        staff=world["staff"],
    )


def targets(folder: Path, version: store.ActualsVersion, count: int) -> Path:
    """`count` target rows over the values that exist (staff first, then stores and units)."""
    path = folder / "targets.parquet"
    con = duckdb.connect()
    con.execute(
        f"""COPY (
          SELECT kpi, grain, key, period, greatest(value, 1) * (0.8 + (hash(key, kpi) % 40) / 100.0) AS target
          FROM read_parquet('{version.values_path}')
          WHERE value IS NOT NULL
          ORDER BY CASE grain WHEN 'staff' THEN 0 WHEN 'store' THEN 1 ELSE 2 END, hash(key, kpi, period)
          LIMIT {count}
        ) TO '{path}' (FORMAT parquet)"""
    )
    return path


def attainment(version: store.ActualsVersion, path: Path) -> tuple[float, int]:
    shares = {code: parse(code).elapsed_share(version.as_of) for code in version.details["periods"]}
    began = time.monotonic()
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.register("shares", pa.table({"period": list(shares), "share": list(shares.values())}))
    behind = con.execute(
        f"""
        CREATE TABLE attained AS
        SELECT t.kpi, t.grain, t.key, t.period, t.target, v.value,
               v.value / nullif(t.target, 0) AS attainment,
               t.target * s.share AS expected,
               v.value / nullif(s.share, 0) AS forecast,
               coalesce(v.value, 0) < t.target * s.share AS behind
        FROM read_parquet('{path}') t
        LEFT JOIN read_parquet('{version.values_path}') v USING (kpi, grain, key, period)
        JOIN shares s USING (period);
        SELECT count(*) FILTER (WHERE behind) FROM attained
        """
    ).fetchone()[0]  # type: ignore[index]
    return time.monotonic() - began, int(behind)


def baseline(folder: Path, world: dict[str, Any], goals: int) -> float:
    """Odoo gamification's way: each goal recomputed by its own query over the facts."""
    con = duckdb.connect()
    con.execute("SET threads = 2")
    rng = random.Random(7)
    began = time.monotonic()
    for _ in range(goals):
        grid = f"G{rng.randrange(world['grids'])}"
        con.execute(
            f"SELECT sum(revenue) FROM read_parquet('{folder / 'usage.parquet'}') "
            "WHERE grid_id = ? AND month BETWEEN '2024-01' AND '2024-03'",
            [grid],
        ).fetchone()
    return (time.monotonic() - began) / goals


def late_correction(folder: Path) -> None:
    """One day of store sales corrected: every sale of 2024-02-14 gains 1 yuan."""
    con = duckdb.connect()
    source = folder / "sales.parquet"
    temporary = folder / "sales.new.parquet"
    con.execute(
        f"""COPY (SELECT store_id, grid_id, sale_date,
                   amount + CASE WHEN sale_date = DATE '2024-02-14' THEN 1 ELSE 0 END AS amount
                 FROM read_parquet('{source}')) TO '{temporary}' (FORMAT parquet)"""
    )
    temporary.replace(source)


def province(args: argparse.Namespace) -> None:
    folder = Path(os.environ.get("QUANWANG_VAR_DIR", "/tmp/var-bench-act")) / "bench-province"
    world = synthesise(folder, subscribers=args.subscribers, staff=args.staff)
    began = time.monotonic()
    full = compute(as_of=AS_OF, full=True, inputs=inputs_for(folder, world))
    full_seconds = time.monotonic() - began
    print(f"full computation: {full_seconds:.1f} s, timings {full.details['timings']}")
    rows = pq.ParquetFile(full.values_path).metadata.num_rows
    path = targets(folder, full, args.targets)
    target_rows = duckdb.connect().execute(f"SELECT count(*) FROM '{path}'").fetchone()[0]  # type: ignore[index]
    seconds, behind = attainment(full, path)
    print(f"attainment of {target_rows:,} targets: {seconds:.2f} s ({behind:,} behind pace)")
    print(f"  full + attainment: {full_seconds + seconds:.1f} s (goal < 60 s); values {rows:,}")
    late_correction(folder)
    began = time.monotonic()
    incremental = compute(as_of=AS_OF, inputs=inputs_for(folder, world))
    inc_seconds = time.monotonic() - began
    print(
        f"incremental after a one-day change: {inc_seconds:.1f} s (goal < 10 s), "
        f"recomputed {incremental.details['recomputed']}, timings {incremental.details['timings']}"
    )
    began = time.monotonic()
    seconds2, _behind = attainment(incremental, path)
    print(f"  + attainment: {seconds2:.2f} s")
    per_goal = baseline(folder, world, args.goals)
    naive = per_goal * target_rows
    print(
        f"baseline (one query per goal): {per_goal * 1000:.1f} ms a goal → {naive:,.0f} s for "
        f"{target_rows:,} goals; ratio naive / (full + attainment) = "
        f"{naive / (full_seconds + seconds):,.0f}×"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="mode", required=True)
    sub.add_parser("city")
    p = sub.add_parser("province")
    p.add_argument("--subscribers", type=int, default=10_000_000)
    p.add_argument("--staff", type=int, default=60_000)
    p.add_argument("--targets", type=int, default=1_000_000)
    p.add_argument("--goals", type=int, default=200)
    args = parser.parse_args()
    if args.mode == "city":
        city()
    else:
        province(args)


if __name__ == "__main__":
    main()
