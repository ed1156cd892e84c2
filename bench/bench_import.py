"""Import throughput of monthly_usage against DuckDB's own read_csv, in one run.

    .venv/bin/python bench/bench_import.py --rows 12000000

Makes a usage CSV (and the subscribers it refers to) with DuckDB, then times:
  baseline  DuckDB read_csv of the same file into a typed table (no validation);
  quanwang  import_file: staging, mapping, type/range/enum checks, duplicate keys,
            the reference check against subscribers, quarantine and the Parquet commit.
Prints rows/s, the ratio (goal: quanwang within 1.5x of the baseline) and the peak RSS of
each step, measured in a fresh process per step so that making the file is not counted.
Library imports are outside both timings; Django's start-up is printed apart. With --repeat N
the two steps alternate N times and the fastest of each is compared (each run is printed).
With --scoped the import runs as an importer below the province (data.import_scope): every
row's subscriber is checked against the importer's grids (all of them here, so that every row
still loads); a province admin's import, the default, runs no such check.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import django
import duckdb
from measure import peak_rss_mib, run_in_fresh_process


def load_average() -> str:
    """The 1-minute load average, to tell a run that shared the cores from one that did not."""
    loadavg = Path("/proc/loadavg")
    return loadavg.read_text().split()[0] if loadavg.exists() else "n/a"


GRIDS = 100


def timed_step(phase: str, work: Path, *, scoped: bool = False) -> dict[str, float]:
    """Run one step in its own process; it prints its seconds and peak RSS as JSON."""
    return run_in_fresh_process(
        __file__,
        ["--phase", phase, "--work", str(work), *(["--scoped"] if scoped else [])],
        env={"QUANWANG_VAR_DIR": str(work / "var")},
    )


def run_phase(phase: str, work: Path, *, scoped: bool = False) -> None:
    usage = work / "usage.csv"
    setup = 0.0
    if phase == "baseline":
        started = time.perf_counter()
        baseline = duckdb.connect(str(work / "baseline.duckdb"))
        baseline.execute(f"CREATE TABLE usage AS SELECT * FROM read_csv('{usage}', header=true)")
        baseline.close()
        loaded = -1
    else:
        # Like `import duckdb` for the baseline, starting Django (whose app registry imports
        # every app's job handlers) is process start-up, paid once by a job worker, not per
        # import; it is timed apart and printed.
        began = time.perf_counter()
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quanwang.settings")
        django.setup()
        from quanwang.data.import_scope import RowScope
        from quanwang.data.importer import import_file

        scope = RowScope(grids=frozenset(f"G{i}" for i in range(GRIDS))) if scoped else None
        started = time.perf_counter()
        setup = started - began
        loaded = import_file(table_name="monthly_usage", path=usage, scope=scope).loaded
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {"seconds": seconds, "setup": setup, "peak_rss_mib": peak_rss_mib(), "loaded": loaded}
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--phase", choices=["baseline", "import"])
    parser.add_argument("--work", type=Path)
    parser.add_argument(
        "--scoped", action="store_true", help="import as an importer below the province"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="alternate the two steps this many times"
    )
    args = parser.parse_args()
    if args.phase:
        run_phase(args.phase, args.work, scoped=args.scoped)
        return
    work = Path(tempfile.mkdtemp(prefix="bench-import-"))
    os.environ["QUANWANG_VAR_DIR"] = str(work / "var")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quanwang.settings")
    django.setup()
    from quanwang.data.importer import import_file

    subscribers = args.rows // args.months
    usage = work / "usage.csv"
    subs = work / "subscribers.csv"
    plans = work / "plans.csv"
    plans.write_text("plan_id,name,plan_type,monthly_fee,is_5g\nP1,5G,postpaid,129,是\n")
    grids = work / "grids.csv"
    grids.write_text(
        "grid_id,name,grid_type,county_code\n"
        + "".join(f"G{i},网格{i},沿街,C1\n" for i in range(GRIDS))
    )
    con = duckdb.connect()
    con.execute(
        "COPY (SELECT 'S' || i AS subscriber_id, "
        "'138' || lpad(CAST(i AS VARCHAR), 8, '0') AS msisdn, '个人' AS segment, "
        "'postpaid' AS payment_type, DATE '2020-01-01' AS join_date, 'active' AS status, "
        f"'P1' AS plan_id, 'G' || (i % {GRIDS}) AS grid_id FROM range({subscribers}) t(i)) "
        f"TO '{subs}' (HEADER)"
    )
    n = subscribers
    con.execute(
        f"COPY (SELECT 'S' || (i % {n}) AS subscriber_id, "
        f"'2024-' || lpad(CAST(i // {n} + 1 AS VARCHAR), 2, '0') AS month, "
        "round(38 * exp(random() - 0.5), 2) AS arpu, round(random() * 400, 1) AS mou, "
        "round(random() * 30, 2) AS dou_gb, round(random() * 200, 1) AS onnet_minutes, "
        "round(random() * 100, 1) AS offnet_minutes, 0 AS overage_fee, 0 AS arrears, "
        "random() < 0.55 AS used_5g_network, round(random(), 3) AS plan_saturation "
        f"FROM range({n * args.months}) t(i)) TO '{usage}' (HEADER)"
    )
    rows = subscribers * args.months
    size_mib = usage.stat().st_size / 2**20
    print(f"file: {rows:,} rows, {size_mib:,.0f} MiB; subscribers: {subscribers:,}")

    import_file(table_name="plans", path=plans)
    import_file(table_name="grids", path=grids)
    import_file(table_name="subscribers", path=subs)

    del con
    runs: list[tuple[dict[str, float], dict[str, float]]] = []
    for run in range(1, args.repeat + 1):
        # Each run starts from the same state: no baseline database, monthly_usage never loaded.
        (work / "baseline.duckdb").unlink(missing_ok=True)
        shutil.rmtree(work / "var" / "warehouse" / "monthly_usage", ignore_errors=True)
        load = load_average()
        base = timed_step("baseline", work)
        ours = timed_step("import", work, scoped=args.scoped)
        assert ours["loaded"] == rows, ours
        runs.append((base, ours))
        print(
            f"run {run}: baseline {base['seconds']:6.2f} s, quanwang {ours['seconds']:6.2f} s, "
            f"ratio {ours['seconds'] / base['seconds']:.2f}x (1-min load before: {load})"
        )
    # With other work on the machine, the fastest of each step is the least disturbed one.
    baseline_s = min(b["seconds"] for b, _ in runs)
    ours_s = min(o["seconds"] for _, o in runs)
    setup_s = min(o["setup"] for _, o in runs)
    print(
        f"baseline DuckDB read_csv → table: {baseline_s:6.2f} s  {rows / baseline_s:12,.0f} rows/s"
    )
    print(f"quanwang import_file (validated):  {ours_s:6.2f} s  {rows / ours_s:12,.0f} rows/s")
    print(f"ratio quanwang / baseline: {ours_s / baseline_s:.2f}x (goal ≤ 1.5x)")
    print(
        f"  plus Django start-up {setup_s:.2f} s: with it, {(ours_s + setup_s) / baseline_s:.2f}x"
    )
    print(
        f"peak RSS: baseline {max(b['peak_rss_mib'] for b, _ in runs):,.0f} MiB, "
        f"quanwang import {max(o['peak_rss_mib'] for _, o in runs):,.0f} MiB (goal < 2048 MiB)"
    )
    print(f"python {sys.version.split()[0]}, duckdb {duckdb.__version__}, cores {os.cpu_count()}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
