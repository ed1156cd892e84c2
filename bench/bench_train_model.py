"""`quanwang train-model` with cross-validation on a churn table of the Telco export's shape.

    .venv/bin/python bench/bench_train_model.py --rows 1000000        # the goal: < 5 min, 2 cores
    .venv/bin/python bench/bench_train_model.py --rows 200000 --format parquet

Writes an N-row table (customerID, demographics, tenure, contract, charges, seven services,
Churn; TotalCharges blank in the first month, as in the real export) where churn has the
thresholds and interactions real churn has, then trains on it with the default spec (5 folds,
all seven candidates) in a fresh process, with QUANWANG_MODEL_THREADS=2 and, as `quanwang`
sets it, OMP_WAIT_POLICY=PASSIVE. Prints one JSON line: the total seconds and each stage's
(read, cross-validation, refit, calibration, scoring), each candidate's CV seconds and AUC,
the choice, the peak RSS, and the machine's load when it ended.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from measure import peak_rss_mib, run_in_fresh_process

SPEC = {"id": "customerID", "target": {"from": "Churn", "positive": ["Yes"], "negative": ["No"]}}
SERVICES = [
    "MultipleLines", "OnlineSecurity", "OnlineBackup", "DeviceProtection",
    "TechSupport", "StreamingTV", "StreamingMovies",
]  # fmt: skip
CONTRACTS = np.array(["Month-to-month", "One year", "Two year"])
PAYMENTS = np.array(
    ["Electronic check", "Mailed check", "Bank transfer (automatic)", "Credit card (automatic)"]
)


def churn_table(rows: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 73, rows)
    contract = rng.choice(3, rows, p=[0.55, 0.21, 0.24])
    internet = rng.choice(3, rows, p=[0.34, 0.44, 0.22])  # DSL, fibre, none
    services = {name: (rng.random(rows) < 0.4) & (internet < 2) for name in SERVICES}
    monthly = (20 + 25 * (internet == 0) + 50 * (internet == 1)).astype(float)
    monthly += sum(5.0 * services[name] for name in SERVICES) + rng.normal(0, 3, rows)
    payment = rng.choice(4, rows)
    senior = rng.random(rows) < 0.16
    logit = (
        -2.0
        + 2.0 * (tenure < 6)
        + 0.9 * ((tenure >= 6) & (tenure < 18))
        + 1.2 * ((contract == 0) & (monthly > 70))
        + 0.8 * ((internet == 1) & ~services["TechSupport"])
        + 0.5 * (payment == 0)
        + 0.3 * senior
        - 1.5 * ((contract == 2) & (tenure > 24))
    )
    churn = rng.random(rows) < 1 / (1 + np.exp(-logit))
    total = pa.array((monthly * tenure).round(2), mask=tenure == 0)  # blank, as exported
    columns: dict[str, object] = {
        "customerID": [f"{i:07d}-X" for i in range(rows)],
        "gender": np.where(rng.random(rows) < 0.5, "Female", "Male"),
        "SeniorCitizen": senior.astype(int),
        "Partner": np.where(rng.random(rows) < 0.48, "Yes", "No"),
        "tenure": tenure,
        "InternetService": np.array(["DSL", "Fiber optic", "No"])[internet],
        **{
            name: np.where(internet == 2, "No internet service", np.where(flag, "Yes", "No"))
            for name, flag in services.items()
        },
        "Contract": CONTRACTS[contract],
        "PaymentMethod": PAYMENTS[payment],
        "MonthlyCharges": monthly.round(2),
        "TotalCharges": total,
        "Churn": np.where(churn, "Yes", "No"),
    }
    return pa.table({name: pa.array(values) for name, values in columns.items()})


def train(path: Path, var: Path) -> None:
    os.environ["QUANWANG_VAR_DIR"] = str(var)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quanwang.settings")
    import django

    django.setup()
    from quanwang.insight.tabular import train_model, training_input
    from quanwang.insight.training_spec import parse_spec

    started = time.perf_counter()
    model = train_model(
        data=training_input(text=str(path)), spec=parse_spec(SPEC), name="bench"
    ).model
    seconds = time.perf_counter() - started
    cv = model.metrics["cv"]
    result = {
        "seconds": round(seconds, 1),
        "stages": model.metrics["seconds"],
        "cv_rows": cv["rows"],
        "training_rows": cv["sampled_from"],
        "candidates": [
            {k: c[k] for k in ("kind", "C", "num_leaves", "learning_rate", "rounds") if k in c}
            | {"auc": round(c["auc_mean"], 4), "std": round(c["auc_std"], 4), "s": c["seconds"]}
            for c in cv["candidates"]
        ],
        "chosen": cv["chosen"],
        "calibration": model.metrics["calibration_method"],
        "peak_rss_mib": round(peak_rss_mib()),
    }
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--format", choices=["csv", "parquet"], default="csv")
    parser.add_argument("--threads", type=int, default=2, help="QUANWANG_MODEL_THREADS")
    parser.add_argument("--train", type=Path, help=argparse.SUPPRESS)  # the fresh process
    parser.add_argument("--var", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.train:
        train(args.train, args.var)
        return
    with tempfile.TemporaryDirectory(prefix="quanwang-bench-train-") as work:
        table = churn_table(args.rows, args.seed)
        path = Path(work) / f"churn.{args.format}"
        if args.format == "csv":
            pacsv.write_csv(table, path)
        else:
            pq.write_table(table, path)
        result = run_in_fresh_process(
            __file__,
            ["--train", str(path), "--var", str(Path(work) / "var")],
            # As the quanwang command sets it (cli.py): idle OpenMP threads sleep.
            env={"QUANWANG_MODEL_THREADS": str(args.threads), "OMP_WAIT_POLICY": "PASSIVE"},
        )
    load = os.getloadavg()[0]  # a shared machine's other work slows every figure
    print(json.dumps({"rows": args.rows, "format": args.format, "load_1min": load} | result))


if __name__ == "__main__":
    main()
