"""Models on any table: the public Telco churn export, its Chinese GBK twin, Parquet, the
warehouse through a saved mapping, the command, and the bad input people bring."""

from __future__ import annotations

import csv
import json
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from quanwang.insight.churn import ModelRegistry
from quanwang.insight.tabular import (
    InputKind,
    TrainingInput,
    find_model,
    score_model,
    train_model,
    training_input,
    write_scores,
)
from quanwang.insight.training_spec import TrainingError, parse_spec
from tests import factories

TELCO_SPEC = {"id": "customerID", "target": {"from": "Churn", "positive": ["Yes"]}}
CONTRACTS = ["Month-to-month", "One year", "Two year"]


@pytest.fixture(autouse=True)
def english() -> Any:
    """Messages are checked in English; zh-hans is the default and has its own catalogue."""
    with translation.override("en"):
        yield


def telco(rows: int = 2000, seed: int = 1) -> dict[str, list[Any]]:
    """Telco-shaped customers whose churn depends on tenure, contract and charges."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 73, rows)
    contract = rng.choice(len(CONTRACTS), rows, p=[0.55, 0.25, 0.20])
    monthly = rng.uniform(18, 120, rows).round(2)
    senior = rng.integers(0, 2, rows)
    logit = -0.6 - 0.06 * tenure + 1.6 * (contract == 0) - 1.2 * (contract == 2)
    logit = logit + 0.015 * (monthly - 70) + 0.4 * senior
    churn = rng.random(rows) < 1 / (1 + np.exp(-logit))
    return {
        "customerID": [f"{i:04d}-{'ABCDE'[i % 5]}X" for i in range(rows)],
        "gender": rng.choice(["Female", "Male"], rows).tolist(),
        "SeniorCitizen": senior.tolist(),
        "tenure": tenure.tolist(),
        "Contract": [CONTRACTS[c] for c in contract],
        "MonthlyCharges": monthly.tolist(),
        # As in the real export: a blank total for customers in their first month.
        "TotalCharges": [
            " " if t == 0 else f"{m * t:.2f}" for m, t in zip(monthly, tenure, strict=True)
        ],
        "Churn": ["Yes" if c else "No" for c in churn],
    }


def write_csv(path: Path, columns: dict[str, list[Any]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(zip(*columns.values(), strict=True))
    return path


def test_a_telco_churn_csv_trains_a_calibrated_model_that_ranks_churners_first(
    tmp_path: Path,
) -> None:
    # Given the public churn export's shape, blanks in TotalCharges and all
    path = write_csv(tmp_path / "telco.csv", telco())

    # When a model is trained on it by a spec naming only the id and the target
    trained = train_model(
        data=training_input(text=str(path)), spec=parse_spec(TELCO_SPEC), name="telco"
    )

    # Then it ranks churners first, from the features that drive them
    model = trained.model
    assert model.metrics["auc"] > 0.75
    assert model.metrics["lift_by_decile"][0] > 1.8
    drivers = {"tenure", "Contract", "MonthlyCharges", "TotalCharges"}
    assert {name for name, _share in model.top_features[:3]} <= drivers
    # ... text is categorical, numbers with blanks numeric, the id and target are not features
    assert model.metrics["kinds"]["Contract"] == "categorical"
    assert model.metrics["kinds"]["TotalCharges"] == "numeric"
    assert set(model.features) == {
        "gender", "SeniorCitizen", "tenure", "Contract", "MonthlyCharges", "TotalCharges"
    }  # fmt: skip
    assert model.notes == []  # a blank is missing, not a bad number
    # ... its probabilities are calibrated, as measured on its out-of-fold scores
    bins = model.metrics["calibration"]
    predicted = sum(b["predicted"] * b["count"] for b in bins)
    observed = sum(b["observed"] * b["count"] for b in bins)
    assert predicted == pytest.approx(observed, rel=0.05)
    # ... it is registered under its name, apart from the churn model, and loads back
    assert (model.path / "model.txt").is_file()
    assert model.path.parent.name == "telco"
    assert ModelRegistry().list() == []
    loaded = find_model(name="telco")
    assert loaded.model_id == model.model_id
    assert loaded.levels["Contract"][0] == "Month-to-month"  # the most frequent first
    # ... and every row is scored, by id
    assert len(trained.scores.ids) == 2000
    assert trained.scores.ids[0].as_py() == "0000-AX"


def test_the_same_split_and_model_come_back_for_the_same_seed(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "telco.csv", telco(rows=800))
    spec = parse_spec(TELCO_SPEC | {"split": {"validation_share": 0.3, "seed": 3}})

    first = train_model(data=training_input(text=str(path)), spec=spec, name="a").model
    second = train_model(data=training_input(text=str(path)), spec=spec, name="a").model

    assert first.metrics["auc"] == second.metrics["auc"]
    assert first.metrics["test_rows"] == 240  # held out, stratified
    assert first.metrics["measured_on"] == "test"


def test_a_gbk_csv_with_chinese_columns_trains_the_same_way(tmp_path: Path) -> None:
    # Given the export as a Chinese operator writes it: GBK, Chinese names and values
    data = telco()
    contracts = {"Month-to-month": "月付", "One year": "一年合约", "Two year": "两年合约"}
    columns = {
        "用户编号": data["customerID"],
        "在网月数": data["tenure"],
        "合约类型": [contracts[c] for c in data["Contract"]],
        "月费": data["MonthlyCharges"],
        "是否流失": ["是" if c == "Yes" else "否" for c in data["Churn"]],
    }
    path = write_csv(tmp_path / "流失.csv", columns, encoding="gbk")
    spec = {
        "id": "用户编号",
        "target": {"from": "是否流失", "positive": ["是"], "negative": ["否"]},
    }

    # When it is trained on
    model = train_model(
        data=training_input(text=str(path)), spec=parse_spec(spec), name="liushi"
    ).model

    # Then the encoding, names and values come through
    assert model.metrics["auc"] > 0.75
    assert model.features == ["在网月数", "合约类型", "月费"]
    assert set(model.levels["合约类型"]) == {"月付", "一年合约", "两年合约"}


def test_a_parquet_file_with_a_yes_no_target_trains_and_scores_a_new_file(tmp_path: Path) -> None:
    # Given typed Parquet: numbers, a boolean target (positive by default: true/yes/1/是)
    data = telco()
    table = pa.table(
        {
            "id": data["customerID"],
            "tenure": pa.array(data["tenure"], pa.int64()),
            "contract": data["Contract"],
            "monthly": pa.array(data["MonthlyCharges"], pa.float64()),
            "churned": [c == "Yes" for c in data["Churn"]],
        }
    )
    pq.write_table(table, tmp_path / "train.parquet")
    pq.write_table(table.slice(0, 100).drop_columns(["churned"]), tmp_path / "new.parquet")
    spec = parse_spec({"id": "id", "target": "churned", "rounds": 100})

    # When a model is trained, and then scores a new file without the target
    model = train_model(
        data=training_input(text=str(tmp_path / "train.parquet")), spec=spec, name="pq"
    ).model
    scores, notes = score_model(
        model=find_model(name="pq"), data=training_input(text=str(tmp_path / "new.parquet"))
    )
    rows = write_scores(scores=scores, path=tmp_path / "scores.parquet")

    # Then the new rows get the trained model's probabilities, by id
    assert model.metrics["auc"] > 0.75
    assert (rows, notes) == (100, [])
    written = pq.read_table(tmp_path / "scores.parquet")
    assert written.column_names == ["id", "probability"]
    assert written.column("id").to_pylist() == data["customerID"][:100]
    probabilities = np.asarray(written.column("probability"))
    assert ((probabilities > 0) & (probabilities < 1)).all()


def test_a_time_split_validates_on_the_latest_rows(tmp_path: Path) -> None:
    data = telco(rows=1200)
    data["month"] = [f"2024-{1 + i % 6:02d}" for i in range(1200)]
    path = write_csv(tmp_path / "telco.csv", data)
    spec = TELCO_SPEC | {"split": {"time": "month", "validation_from": "2024-05"}}

    model = train_model(data=training_input(text=str(path)), spec=parse_spec(spec), name="t").model

    assert model.metrics["split"]["validation_from"] == "2024-05"
    assert model.metrics["test_rows"] == 400
    assert "month" not in model.features


def test_a_non_number_in_a_numeric_column_is_read_as_missing_and_named(tmp_path: Path) -> None:
    data = telco(rows=600)
    data["tenure"][3] = "abc"  # file row 5: the header is row 1
    path = write_csv(tmp_path / "telco.csv", data)

    model = train_model(
        data=training_input(text=str(path)), spec=parse_spec(TELCO_SPEC), name="t"
    ).model

    assert model.metrics["kinds"]["tenure"] == "numeric"
    [note] = model.notes
    assert all(part in note for part in ("telco.csv", "5", "tenure", "abc"))


def test_derived_columns_use_the_mappings_checked_expressions(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "telco.csv", telco(rows=800))
    spec = TELCO_SPEC | {
        "features": ["tenure", "contract_months", "avg_charge"],
        "columns": {
            "contract_months": {
                "from": "Contract",
                "map": {"Month-to-month": "1", "One year": "12", "Two year": "24"},
            },
            "avg_charge": {
                "expr": "TRY_CAST(TotalCharges AS DOUBLE) / NULLIF(CAST(tenure AS INT), 0)"
            },
        },
    }

    model = train_model(data=training_input(text=str(path)), spec=parse_spec(spec), name="d").model

    assert model.metrics["kinds"] == {
        "tenure": "numeric", "contract_months": "numeric", "avg_charge": "numeric"
    }  # fmt: skip
    with pytest.raises(TrainingError, match="not allowed"):
        parse_spec(TELCO_SPEC | {"columns": {"x": {"expr": "(SELECT 1)"}}})


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"target": {"from": "Churned"}}, ["telco.csv", "target", "Churned"]),
        ({"target": {"from": "Churn", "positive": ["Y"]}}, ["telco.csv", "positive", "No", "Yes"]),
        ({"target": {"from": "gender", "positive": ["Female", "Male"]}}, ["only one class"]),
        (TELCO_SPEC | {"features": ["tenure", "Tenure"]}, ["telco.csv", "Tenure"]),
        (TELCO_SPEC | {"features": ["tenure", "Churn"]}, ["Churn", "cannot be a feature"]),
    ],
)
def test_a_bad_spec_or_target_is_refused_naming_the_file_and_column(
    tmp_path: Path, spec: dict[str, Any], expected: list[str]
) -> None:
    path = write_csv(tmp_path / "telco.csv", telco(rows=200))

    with pytest.raises(TrainingError) as caught:
        train_model(data=training_input(text=str(path)), spec=parse_spec(spec), name="bad")

    assert all(part in str(caught.value) for part in expected), caught.value


def test_a_target_value_outside_the_declared_ones_names_its_row(tmp_path: Path) -> None:
    data = telco(rows=200)
    data["Churn"][7] = "Maybe"
    path = write_csv(tmp_path / "telco.csv", data)
    spec = {"target": {"from": "Churn", "positive": ["Yes"], "negative": ["No"]}}

    with pytest.raises(TrainingError) as caught:
        train_model(data=training_input(text=str(path)), spec=parse_spec(spec), name="bad")

    assert all(part in str(caught.value) for part in ("telco.csv", "9", "Churn", "Maybe"))


@pytest.mark.parametrize(
    ("content", "expected"), [("", "the file is empty"), ("customerID,Churn\n", "no data rows")]
)
def test_an_empty_file_is_refused(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "empty.csv"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(TrainingError, match=expected) as caught:
        train_model(data=training_input(text=str(path)), spec=parse_spec(TELCO_SPEC), name="e")

    assert "empty.csv" in str(caught.value)


def test_a_bad_spec_shape_is_refused_by_key() -> None:
    with pytest.raises(TrainingError, match="no target"):
        parse_spec({"id": "x"})
    with pytest.raises(TrainingError, match="unknown keys"):
        parse_spec(TELCO_SPEC | {"featurs": ["x"]})
    with pytest.raises(TrainingError, match="validation_share"):
        parse_spec(TELCO_SPEC | {"split": {"validation_share": 2}})


def test_an_input_is_a_file_or_a_warehouse_table() -> None:
    assert training_input(text="subscribers").kind is InputKind.TABLE
    assert training_input(text="x.csv").kind is InputKind.FILE
    with pytest.raises(TrainingError, match="neither a file"):
        training_input(text="no_such_table")


def test_the_command_trains_prints_and_scores_then_scores_a_new_file(tmp_path: Path) -> None:
    # Given the export and a spec file
    path = write_csv(tmp_path / "telco.csv", telco())
    spec = tmp_path / "telco.json"
    spec.write_text(json.dumps(TELCO_SPEC), encoding="utf-8")
    out = StringIO()

    # When the command trains with scores out, then scores the file again with the saved model
    call_command(
        "train-model", str(path), "--spec", str(spec), "--name", "telco",
        "--score-out", str(tmp_path / "scores.csv"), stdout=out, stderr=StringIO(),
    )  # fmt: skip
    call_command(
        "train-model", str(path), "--name", "telco", "--model", "latest",
        "--score-out", str(tmp_path / "again.csv"), stdout=out,
    )  # fmt: skip
    call_command("train-model", "--name", "telco", "--list", stdout=out)

    # Then it reported the model and wrote the same probabilities twice
    text = out.getvalue()
    assert "AUC 0." in text
    assert "Lift by decile" in text
    assert "tenure" in text
    first = (tmp_path / "scores.csv").read_text(encoding="utf-8").splitlines()
    assert first[0] == '"id","probability"'  # whatever the input calls its id
    assert len(first) == 2001
    assert (tmp_path / "again.csv").read_text(encoding="utf-8").splitlines() == first
    assert str(find_model(name="telco").path) in text


def test_the_command_fails_in_one_line_on_bad_input(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "telco.csv", telco(rows=100))

    with pytest.raises(CommandError, match="Churned"):
        call_command("train-model", str(path), "--name", "x", "--spec", '{"target": "Churned"}')
    with pytest.raises(CommandError, match="cannot name a model"):
        call_command("train-model", str(path), "--name", "churn", "--spec", json.dumps(TELCO_SPEC))
    with pytest.raises(CommandError, match=r"\.csv or \.parquet"):
        call_command(
            "train-model", str(path), "--name", "x", "--spec", json.dumps(TELCO_SPEC),
            "--score-out", str(tmp_path / "s.xlsx"),
        )  # fmt: skip


def test_a_saved_mapping_reads_a_file_and_its_warehouse_table(db: None, tmp_path: Path) -> None:
    # Given the export imported into the canonical subscribers table through a saved mapping
    from quanwang.data.importer import import_file
    from quanwang.data.services import save_mapping

    plans = tmp_path / "plans.csv"
    plans.write_text("plan_id,name,plan_type,monthly_fee,is_5g\nP1,4G,postpaid,50,否\n")
    import_file(table_name="plans", path=plans)
    mapping = {
        "columns": factories.TELCO_SUBSCRIBER_COLUMNS
        | {
            "contract_end_date": {
                "expr": "CASE Contract WHEN 'One year' THEN '2025-01-01' "
                "WHEN 'Two year' THEN '2026-01-01' END"
            },
        }
    }
    save_mapping(
        actor=None, name="telco-subscribers", table="subscribers", spec=mapping, org_unit=None
    )
    path = write_csv(tmp_path / "telco.csv", telco())
    report = import_file(table_name="subscribers", path=path, mapping=mapping)
    assert report.loaded == 2000, report

    # When the file is trained on through the mapping (from the command), and the warehouse table
    spec = {"id": "subscriber_id", "target": {"from": "status", "positive": ["churned"]}}
    out = StringIO()
    call_command(
        "train-model", str(path), "--name", "via-mapping", "--mapping", "telco-subscribers",
        "--spec", json.dumps(spec), stdout=out, stderr=StringIO(),
    )  # fmt: skip
    table_spec = spec | {
        "features": ["tenure_months", "has_contract"],
        "columns": {
            "tenure_months": {
                "expr": "datediff('month', CAST(join_date AS DATE), DATE '2024-06-01')"
            },
            "has_contract": {"expr": "contract_end_date IS NOT NULL"},
        },
    }
    from_table = train_model(
        data=TrainingInput(kind=InputKind.TABLE, location="subscribers"),
        spec=parse_spec(table_spec),
        name="from-table",
    ).model

    # Then mapped columns go by their canonical names, the others by their own
    via_mapping = find_model(name="via-mapping")
    assert via_mapping.mapping == "telco-subscribers"
    assert {"tenure", "Contract", "MonthlyCharges"} <= set(via_mapping.features)
    assert not {"Churn", "status", "customerID", "subscriber_id"} & set(via_mapping.features)
    assert via_mapping.metrics["auc"] > 0.75
    assert from_table.source == "subscribers"
    assert from_table.metrics["auc"] > 0.7
