"""The insight pipeline at city scale, and its feature step against two baselines, in one run.

    .venv/bin/python bench/bench_pipeline.py --subscribers 1000000 --months 12
    .venv/bin/python bench/bench_pipeline.py --data DIR   # an operator `quanwang generate` wrote

Times, on the same Parquet files of a generated operator:
  features  the wide table's features three ways: Quanwang's Ibis expressions run on DuckDB,
            the same features as one hand-written DuckDB SQL query, and in plain pandas
            (bench/pipeline_baselines.py); checks that the three agree; prints the ratios
            (goals: ≥ 10x faster than pandas, ≤ 1.3x the hand-written SQL);
  pipeline  the whole `run_pipeline` (features, value tiers, switching cost, snapshot write)
            in a fresh process, with its peak RSS (goals: < 60 s and < 6 GiB on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import django
import duckdb
from measure import peak_rss_mib, run_in_fresh_process


def setup(var: Path) -> None:
    os.environ["QUANWANG_VAR_DIR"] = str(var)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quanwang.settings")
    django.setup()


def run_full_pipeline(data: Path, month: str, var: Path) -> None:
    setup(var)
    from quanwang.insight.pipeline import run_pipeline

    files = {p.stem: p for p in data.glob("*.parquet")}
    started = time.perf_counter()
    snapshot = run_pipeline(month=month, files=files)
    seconds = time.perf_counter() - started
    result = {"seconds": seconds, "rows": snapshot.rows, "peak_rss_mib": peak_rss_mib()}
    print(json.dumps(result | {"scored_by": snapshot.models.get("churn", "")}))


def train_model(data: Path, month: str, var: Path) -> None:
    """Train the churn model and judge it on its validation month against the true hazard."""
    setup(var)
    from quanwang.insight.churn import auc
    from quanwang.insight.pipeline import run_pipeline, train_churn_model

    files = {p.stem: p for p in data.glob("*.parquet")}
    started = time.perf_counter()
    model = train_churn_model(month=month, files=files)
    seconds = time.perf_counter() - started
    validation = run_pipeline(month=model.validation_month, files=files)
    from quanwang.insight.months import Month

    next_month = Month.parse(model.validation_month).shift(1)
    rows = duckdb.sql(
        f"""SELECT coalesce(s.churn_date BETWEEN DATE '{next_month.first_day}'
                   AND DATE '{next_month.last_day}', false)::INT AS y, h.hazard, w.churn_risk
            FROM {validation.relation} w
            JOIN '{data / "subscribers.parquet"}' s USING (subscriber_id)
            JOIN '{data / "ground_truth" / "churn_hazard.parquet"}' h
              ON h.subscriber_id = w.subscriber_id AND h.month = '{next_month}'"""
    ).fetchnumpy()
    result = {
        "seconds": seconds,
        "auc": auc(rows["y"], rows["churn_risk"]),
        "oracle_auc": auc(rows["y"], rows["hazard"]),
        "lift": model.metrics["lift_by_decile"][0],
        "training_rows": model.metrics["training_rows"],
        "peak_rss_mib": peak_rss_mib(),
    }
    print(json.dumps(result))


def agree(a: dict[str, float], b: dict[str, float]) -> list[str]:
    return [
        name
        for name in a
        if not math.isclose(a[name], b.get(name, math.nan), rel_tol=1e-6, abs_tol=1e-6)
    ]


def column_sums(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, float]:
    kinds = con.sql(f"DESCRIBE {table}").fetchall()
    numeric = [n for n, t, *_ in kinds if t in {"BIGINT", "DOUBLE", "BOOLEAN", "INTEGER"}]
    sums = ", ".join(f'sum(CAST("{n}" AS DOUBLE))' for n in numeric)
    values = con.sql(f"SELECT count(*), {sums} FROM {table}").fetchall()[0]
    return {"rows": float(values[0])} | {
        n: float(v or 0) for n, v in zip(numeric, values[1:], strict=True)
    }


def step(flag: str, data: Path, month: object, var: Path) -> dict[str, float]:
    """One stage in a fresh process, so its peak RSS is its own."""
    return run_in_fresh_process(__file__, [flag, str(data), str(month), str(var)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=200_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--data", type=Path, help="an operator already generated")
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument("--full-only", nargs=3, metavar=("DATA", "MONTH", "VAR"))
    parser.add_argument("--train-only", nargs=3, metavar=("DATA", "MONTH", "VAR"))
    parser.add_argument(
        "--model-from",
        type=Path,
        help="score with the churn models of this var (its insight/models) instead of training",
    )
    args = parser.parse_args()
    if args.train_only:
        data, month, var = args.train_only
        train_model(Path(data), month, Path(var))
        return
    if args.full_only:
        data, month, var = args.full_only
        run_full_pipeline(Path(data), month, Path(var))
        return
    work = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    setup(work / "var")
    import ibis
    from pipeline_baselines import wide_pandas, wide_sql

    from quanwang.data.generator import GeneratorConfig, generate
    from quanwang.insight.choices import Engine
    from quanwang.insight.engines import materialise
    from quanwang.insight.features import derived_tables, wide_table
    from quanwang.insight.months import Month

    data = args.data
    if data is None:
        data = work / "operator"
        started = time.perf_counter()
        generate(GeneratorConfig(subscribers=args.subscribers, months=args.months, seed=1), data)
        print(
            f"generated {args.subscribers:,} × {args.months} "
            f"in {time.perf_counter() - started:.1f} s"
        )
    manifest = json.loads((data / "manifest.json").read_text())
    parameters = manifest["parameters"]
    month = Month.parse(parameters["start_month"]).shift(parameters["months"] - 1)
    files = {p.stem: p for p in data.glob("*.parquet")}
    rows = {
        name: duckdb.sql(f"SELECT count(*) FROM '{p}'").fetchall()[0][0]
        for name, p in files.items()
    }
    print(
        f"operator {data}: snapshot {month}; "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(rows.items()))
    )

    con = ibis.duckdb.connect()
    tables = {name: con.read_parquet(str(path), table_name=name) for name, path in files.items()}
    started = time.perf_counter()
    tables |= materialise(con, Engine.DUCKDB, derived_tables(tables, month))
    con.create_table("wide_ibis", wide_table(tables, month))
    ibis_s = time.perf_counter() - started
    raw = con.con
    ours = column_sums(raw, "wide_ibis")

    started = time.perf_counter()
    raw.execute(f"CREATE TABLE wide_sql AS {wide_sql(files, month)}")
    sql_s = time.perf_counter() - started
    mismatched = agree(ours, column_sums(raw, "wide_sql"))

    print(f"features, Quanwang (Ibis → DuckDB):  {ibis_s:7.2f} s  {ours['rows']:,.0f} rows")
    print(
        f"features, hand-written DuckDB SQL:   {sql_s:7.2f} s  "
        f"ratio {ibis_s / sql_s:.2f}x (goal ≤ 1.3x)"
    )
    print(f"  hand-written SQL agrees on every column sum: {not mismatched} {mismatched or ''}")
    if not args.skip_pandas:
        started = time.perf_counter()
        frame = wide_pandas(files, month)
        pandas_s = time.perf_counter() - started
        raw.register("wide_pandas_frame", frame)
        raw.execute("CREATE TABLE wide_pandas AS SELECT * FROM wide_pandas_frame")
        pandas_mismatch = agree(ours, column_sums(raw, "wide_pandas"))
        print(
            f"features, pandas:                    {pandas_s:7.2f} s  "
            f"Quanwang is {pandas_s / ibis_s:.1f}x faster (goal ≥ 10x)"
        )
        print(f"  pandas agrees on every column sum: {not pandas_mismatch} {pandas_mismatch or ''}")
        del frame
    print(f"peak RSS of the feature-step process: {peak_rss_mib():,.0f} MiB")
    con.disconnect()

    if args.model_from:
        shutil.copytree(args.model_from / "insight" / "models", work / "var-full/insight/models")
        print(f"churn model: not trained here; the one in {args.model_from} scores")
    else:
        report_training(step("--train-only", data, month, work / "var-full"))
    full = step("--full-only", data, month, work / "var-full")
    print(
        f"full pipeline (features, tiers, switching cost, churn risk, reasons for the top 20%, "
        f"snapshot): {full['seconds']:.1f} s "
        f"(goal < 60 s), peak RSS {full['peak_rss_mib']:,.0f} MiB (goal < 6144 MiB), "
        f"{full['rows']:,} customers"
    )
    print(
        f"python {sys.version.split()[0]}, duckdb {duckdb.__version__}, "
        f"ibis {ibis.__version__}, cores {os.cpu_count()}"
    )


def report_training(trained: dict[str, float]) -> None:
    print(
        f"churn model: trained in {trained['seconds']:.0f} s on {trained['training_rows']:,} rows "
        f"(peak RSS {trained['peak_rss_mib']:,.0f} MiB); validation AUC {trained['auc']:.4f}, "
        f"true hazard's AUC {trained['oracle_auc']:.4f}, ratio "
        f"{trained['auc'] / trained['oracle_auc']:.3f} (goal ≥ 0.95); top-decile lift "
        f"{trained['lift']:.2f}"
    )


if __name__ == "__main__":
    main()
