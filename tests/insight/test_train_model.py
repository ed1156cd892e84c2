"""The generic trainer chooses honestly: stratified k-fold cross-validation on the training file
between a regularised logistic regression and LightGBM, refit on every row, calibration on the
out-of-fold scores. Synthetic problems whose answer is known: a linear one, a non-linear one,
and churn of the Telco export's shape with the thresholds real churn has."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import hypothesis
import lightgbm
import numpy as np
import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from quanwang.insight.tabular import (
    Calibration,
    CalibrationMethod,
    ModelKind,
    find_model,
    score_model,
    train_model,
    training_input,
)
from quanwang.insight.training_spec import TrainingError, parse_spec

SPEC = {"id": "id", "target": {"from": "y", "positive": ["1"], "negative": ["0"]}}
CONTRACTS = ["Month-to-month", "One year", "Two year"]


@pytest.fixture(autouse=True)
def english() -> Any:
    with translation.override("en"):
        yield


def write_csv(path: Path, columns: dict[str, Any]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(zip(*columns.values(), strict=True))
    return path


def _drawn(logit: np.ndarray, rng: np.random.Generator) -> list[int]:
    return (rng.random(logit.size) < 1 / (1 + np.exp(-logit))).astype(int).tolist()


def linear(rows: int, seed: int) -> dict[str, Any]:
    """The log-odds are a weighted sum of six numbers: logistic regression's own model."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 6))
    logit = x @ np.array([1.0, -0.8, 0.6, 0.5, -0.4, 0.3]) - 1.0
    columns = {f"x{i}": x[:, i].round(4).tolist() for i in range(6)}
    return {"id": list(range(rows)), **columns, "y": _drawn(logit, rng)}


def non_linear(rows: int, seed: int) -> dict[str, Any]:
    """Positive where two numbers have the same sign (XOR), and in a band of a third: no
    weighted sum of the inputs separates that."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(rows, 4))
    logit = 2.5 * np.sign(x[:, 0] * x[:, 1]) + 2.0 * (np.abs(x[:, 2]) < 0.3) - 0.7
    columns = {f"x{i}": x[:, i].round(4).tolist() for i in range(4)}
    return {"id": list(range(rows)), **columns, "y": _drawn(logit, rng)}


def churn(rows: int, seed: int) -> dict[str, Any]:
    """The Telco export's shape (tenure, contract, charges, services) with churn as it runs:
    most in the first months, month-to-month contracts with high charges and fibre, and
    the protective effect of a contract fading with tenure."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 73, rows)
    contract = rng.choice(3, rows, p=[0.55, 0.25, 0.20])
    monthly = rng.uniform(18, 120, rows).round(2)
    fibre = rng.random(rows) < 0.45
    support = rng.random(rows) < 0.3
    logit = (
        -2.2
        + 2.2 * (tenure < 6)
        + 1.0 * ((tenure >= 6) & (tenure < 18))
        + 1.4 * ((contract == 0) & (monthly > 75))
        + 0.9 * (fibre & ~support)
        - 1.6 * (contract == 2) * (tenure > 24)
    )
    return {
        "id": [f"C{i:05d}" for i in range(rows)],
        "tenure": tenure.tolist(),
        "Contract": [CONTRACTS[c] for c in contract],
        "MonthlyCharges": monthly.tolist(),
        "InternetService": np.where(fibre, "Fiber optic", "DSL").tolist(),
        "TechSupport": np.where(support, "Yes", "No").tolist(),
        "y": _drawn(logit, rng),
    }


def _train(tmp_path: Path, columns: dict[str, Any], spec: dict[str, Any] = SPEC) -> Any:
    path = write_csv(tmp_path / "train.csv", columns)
    return train_model(data=training_input(text=str(path)), spec=parse_spec(spec), name="m")


def _chosen(model: Any) -> dict[str, Any]:
    cv = model.metrics["cv"]
    return dict(cv["candidates"][cv["chosen"]])


def test_cross_validation_picks_lightgbm_on_a_non_linear_problem(tmp_path: Path) -> None:
    # Given a target no weighted sum of the inputs predicts
    model = _train(tmp_path, non_linear(rows=2000, seed=1)).model

    # Then LightGBM wins the folds, by far, and is the model saved
    cv = model.metrics["cv"]
    best = {
        kind: max(c["auc_mean"] for c in cv["candidates"] if c["kind"] == kind)
        for kind in ModelKind
    }
    assert model.kind is ModelKind.LIGHTGBM
    assert _chosen(model)["kind"] == "lightgbm"
    assert best[ModelKind.LIGHTGBM] > best[ModelKind.LOGISTIC] + 0.1
    assert (cv["folds"], cv["rows"], cv["seed"]) == (5, 2000, 7)
    # ... with the rounds early stopping kept, and the same rounds in the refitted booster
    assert 10 <= _chosen(model)["rounds"] < 1000
    assert find_model(name="m").estimator.num_trees() == _chosen(model)["rounds"]


def test_cross_validation_picks_logistic_regression_on_a_linear_problem(tmp_path: Path) -> None:
    model = _train(tmp_path, linear(rows=2000, seed=2)).model

    cv = model.metrics["cv"]
    assert model.kind is ModelKind.LOGISTIC
    assert _chosen(model)["kind"] == "logistic"
    assert _chosen(model)["auc_mean"] == max(c["auc_mean"] for c in cv["candidates"])
    # ... and the saved model is the regression, with a weight for each input
    loaded = find_model(name="m")
    assert loaded.kind is ModelKind.LOGISTIC
    assert {name for name, _share in loaded.top_features} == {f"x{i}" for i in range(6)}
    assert loaded.top_features[0][0] == "x0"  # the largest true weight


def test_every_candidate_reports_its_auc_over_the_folds_with_a_spread(tmp_path: Path) -> None:
    model = _train(tmp_path, linear(rows=1500, seed=3)).model

    candidates = model.metrics["cv"]["candidates"]
    assert [c["kind"] for c in candidates] == ["logistic"] * 3 + ["lightgbm"] * 6
    assert [c.get("C") for c in candidates[:3]] == [0.1, 1.0, 10.0]
    assert {(c["num_leaves"], c["learning_rate"]) for c in candidates[3:]} == {
        (7, 0.05), (7, 0.1), (15, 0.05), (15, 0.1), (31, 0.05), (31, 0.1)
    }  # fmt: skip
    for candidate in candidates:
        folds = candidate["fold_aucs"]
        assert len(folds) == 5
        assert candidate["auc_mean"] == pytest.approx(np.mean(folds))
        assert candidate["auc_std"] == pytest.approx(np.std(folds))
        assert candidate["auc_std"] > 0.001  # five folds of 300 rows do not agree to the digit
        assert 0.6 < candidate["auc_mean"] < 0.95
    # The headline AUC, with no rows held out, is the chosen candidate's mean over the folds
    assert model.metrics["auc"] == _chosen(model)["auc_mean"]
    assert model.metrics["measured_on"] == "cross-validation"
    assert model.metrics["test_rows"] == 0
    assert model.metrics["training_rows"] == 1500


def test_the_same_seed_gives_the_same_choice_and_another_seed_other_folds(tmp_path: Path) -> None:
    data = non_linear(rows=800, seed=4)

    first = _train(tmp_path, data).model.metrics["cv"]
    again = _train(tmp_path, data).model.metrics["cv"]
    other = _train(tmp_path, data, SPEC | {"split": {"seed": 8}}).model.metrics["cv"]

    assert again == first | {"candidates": again["candidates"]}
    assert [c["fold_aucs"] for c in again["candidates"]] == [
        c["fold_aucs"] for c in first["candidates"]
    ]
    assert again["chosen"] == first["chosen"]
    assert other["candidates"][0]["fold_aucs"] != first["candidates"][0]["fold_aucs"]


def test_calibration_is_no_worse_than_the_raw_model_on_a_held_out_set(tmp_path: Path) -> None:
    # Given log-odds that are not the model's own link: a floor and a ceiling on the rate
    rng = np.random.default_rng(5)
    rows = 6000
    x = rng.normal(size=(rows, 3))
    rate = 0.05 + 0.55 / (1 + np.exp(-3 * (x @ np.array([1.0, 0.7, -0.5]))))
    data = {
        "id": list(range(rows)),
        **{f"x{i}": x[:, i].round(4).tolist() for i in range(3)},
        "y": (rng.random(rows) < rate).astype(int).tolist(),
    }
    train = {k: v[:3000] for k, v in data.items()}
    held_out = write_csv(tmp_path / "held_out.csv", {k: v[3000:] for k, v in data.items()})
    labels = np.asarray(data["y"][3000:])

    # When a model is trained on the first half and scores the second
    model = _train(tmp_path, train).model
    calibrated, _notes = score_model(model=model, data=training_input(text=str(held_out)))
    raw, _notes = score_model(
        model=model, data=training_input(text=str(held_out)), calibrated=False
    )

    # Then the calibrated probabilities' Brier score is no worse than the raw model's
    brier = float(np.mean((calibrated.probabilities - labels) ** 2))
    brier_raw = float(np.mean((raw.probabilities - labels) ** 2))
    assert brier <= brier_raw, (brier, brier_raw)
    assert model.metrics["calibration_method"] in {"isotonic", "platt"}
    assert set(model.metrics["calibration_brier"]) == {"isotonic", "platt"}
    # ... and its mean probability is the observed rate
    assert calibrated.probabilities.mean() == pytest.approx(labels.mean(), abs=0.02)


def test_small_data_is_calibrated_by_platt_scaling(tmp_path: Path) -> None:
    model = _train(tmp_path, linear(rows=400, seed=6)).model

    assert model.metrics["calibration_method"] == "platt"
    assert set(model.metrics["calibration_brier"]) == {"platt"}  # too few rows for isotonic


def test_the_chosen_model_beats_a_plain_logistic_regression_on_churn(tmp_path: Path) -> None:
    # Given churn of the Telco export's shape, split into a training and a test file
    data = churn(rows=8000, seed=7)
    train = {k: v[:6000] for k, v in data.items()}
    test = {k: v[6000:] for k, v in data.items()}
    test_file = write_csv(tmp_path / "test.csv", test)

    # When the trainer chooses on the training file and scores the test file
    model = _train(tmp_path, train).model
    scores, _notes = score_model(model=model, data=training_input(text=str(test_file)))
    chosen_auc = roc_auc_score(test["y"], scores.probabilities)

    # ... and a plain logistic regression (no penalty; one-hot categories, standardised
    # numbers) learns the same training rows
    def inputs(part: dict[str, Any], reference: dict[str, Any]) -> np.ndarray:
        numbers = np.column_stack([part[c] for c in ("tenure", "MonthlyCharges")]).astype(float)
        means = np.mean([reference["tenure"], reference["MonthlyCharges"]], axis=1)
        stds = np.std([reference["tenure"], reference["MonthlyCharges"]], axis=1)
        onehot = [
            np.asarray(part[c])[:, None] == np.asarray(sorted(set(reference[c])))[None, :]
            for c in ("Contract", "InternetService", "TechSupport")
        ]
        return np.column_stack([(numbers - means) / stds, *onehot]).astype(float)

    plain = LogisticRegression(C=np.inf, max_iter=1000).fit(inputs(train, train), train["y"])
    plain_auc = roc_auc_score(test["y"], plain.decision_function(inputs(test, train)))

    # Then the chosen model (LightGBM: churn has thresholds) ranks the test rows better
    assert model.kind is ModelKind.LIGHTGBM
    assert chosen_auc > plain_auc + 0.01, (chosen_auc, plain_auc)


def test_a_held_out_share_is_measured_by_the_model_refitted_without_it(tmp_path: Path) -> None:
    spec = SPEC | {"split": {"validation_share": 0.25, "seed": 3, "folds": 4}}

    model = _train(tmp_path, linear(rows=1600, seed=9), spec).model

    assert model.metrics["measured_on"] == "test"
    assert (model.metrics["training_rows"], model.metrics["test_rows"]) == (1200, 400)
    assert model.metrics["cv"]["rows"] == 1200
    assert len(_chosen(model)["fold_aucs"]) == 4
    assert model.metrics["auc"] != _chosen(model)["auc_mean"]  # the test's own AUC


def test_too_few_of_a_class_for_the_folds_is_refused(tmp_path: Path) -> None:
    data = linear(rows=300, seed=10)
    data["y"] = [1 if i < 4 else 0 for i in range(300)]

    with pytest.raises(TrainingError, match="at least 5 of each"):
        _train(tmp_path, data)
    with pytest.raises(TrainingError, match=r"split\.folds"):
        parse_spec(SPEC | {"split": {"folds": 1}})


def test_a_model_saved_before_cross_validation_still_loads_and_scores(
    tmp_path: Path, settings: Any
) -> None:
    # Given a model as the trainer saved it before: a booster, Platt's (a, b) as a list, no kind
    data = linear(rows=300, seed=11)
    x = np.column_stack([data[f"x{i}"] for i in range(6)]).astype(np.float32)
    booster = lightgbm.train(
        {"objective": "binary", "verbosity": -1, "num_threads": 1},
        lightgbm.Dataset(x, label=data["y"]),
        num_boost_round=10,
    )
    folder = Path(settings.VAR_DIR) / "insight" / "models" / "old" / "20240101T000000-abcdef"
    folder.mkdir(parents=True)
    booster.save_model(str(folder / "model.txt"))
    meta = {
        "model_id": folder.name, "name": "old", "source": "old.csv", "mapping": None,
        "spec": SPEC | {"split": {"validation_share": 0.25, "seed": 7}, "rounds": 10},
        "features": [f"x{i}" for i in range(6)], "levels": {}, "calibration": [1.0, 0.0],
        "metrics": {"auc": 0.8, "training_rows": 225, "validation_rows": 75},
        "top_features": [["x0", 50.0]], "notes": [], "created": "2024-01-01T00:00:00+00:00",
    }  # fmt: skip
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")

    # When it scores a file
    model = find_model(name="old")
    path = write_csv(tmp_path / "new.csv", {k: v for k, v in data.items() if k != "y"})
    scores, _notes = score_model(model=model, data=training_input(text=str(path)))

    # Then it is the booster with its Platt calibration, as before
    assert model.kind is ModelKind.LIGHTGBM
    expected = 1 / (1 + np.exp(-booster.predict(x, raw_score=True)))
    assert scores.probabilities == pytest.approx(np.clip(expected, 1e-4, 1 - 1e-4))


@hypothesis.settings(max_examples=40, deadline=None)
@given(
    raw=st.lists(st.floats(-8, 8), min_size=1200, max_size=1500),
    seed=st.integers(0, 2**16),
    method=st.sampled_from(list(CalibrationMethod)),
)
def test_a_calibration_keeps_the_order_of_scores_and_stays_inside_0_and_1(
    raw: list[float], seed: int, method: CalibrationMethod
) -> None:
    scores = np.asarray(raw)
    labels = (np.random.default_rng(seed).random(scores.size) < 1 / (1 + np.exp(-scores))).astype(
        int
    )
    labels[:60], labels[60:120] = 1, 0  # both classes, enough positives for isotonic

    calibration = Calibration.fit(scores, labels, method)
    probabilities = calibration.apply(np.sort(scores))

    assert (np.diff(probabilities) >= -1e-12).all()  # a higher score is never less likely
    assert ((probabilities > 0) & (probabilities < 1)).all()
    assert Calibration.from_json(calibration.to_json()) == calibration
