"""Choosing the model by stratified k-fold cross-validation on the training rows.

The candidates: a regularised logistic regression (standardised numbers, one-hot categories)
at a few penalties, and LightGBM at a few tree sizes and learning rates, its number of rounds
chosen by early stopping on the folds' mean log loss. Every candidate sees the same folds; the
one with the highest mean AUC over the folds wins. Its out-of-fold scores then fit the
calibration, so no row is held back for it.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from quanwang.insight.churn import LGBM_PARAMS
from quanwang.insight.tabular.model import (
    Array,
    Calibration,
    LinearDesign,
    LinearModel,
    ModelKind,
    one_blas_thread,
    threads,
)

LOGISTIC_C = (0.1, 1.0, 10.0)  # inverse L2 penalty, on standardised inputs
# 7 as in the churn model (churn.LGBM_PARAMS): on the IBM Telco table shallow trees won
# the folds on every split tried (docs/model-training.md).
LIGHTGBM_LEAVES = (7, 15, 31)
LIGHTGBM_RATES = (0.05, 0.1)
EARLY_STOPPING_ROUNDS = 30
LOGISTIC_ITERATIONS = 1000
# Past this many rows a stratified sample of them chooses the model: at this size the folds'
# AUCs already agree to the third decimal, while cross-validating all seven candidates on
# every row of a million-row table would take far past the 5 minutes a million rows may take
# on 2 cores (docs/model-training.md). The chosen model is refitted on every row.
CV_MAX_ROWS = 100_000


@dataclass(frozen=True)
class Candidate:
    kind: ModelKind
    c: float | None = None  # logistic
    leaves: int | None = None  # LightGBM
    learning_rate: float | None = None  # LightGBM

    def to_json(self) -> dict[str, Any]:
        if self.kind is ModelKind.LOGISTIC:
            return {"kind": str(self.kind), "C": self.c}
        return {
            "kind": str(self.kind),
            "num_leaves": self.leaves,
            "learning_rate": self.learning_rate,
        }


def candidates() -> list[Candidate]:
    return [Candidate(kind=ModelKind.LOGISTIC, c=c) for c in LOGISTIC_C] + [
        Candidate(kind=ModelKind.LIGHTGBM, leaves=leaves, learning_rate=rate)
        for leaves in LIGHTGBM_LEAVES
        for rate in LIGHTGBM_RATES
    ]


@dataclass(frozen=True, eq=False)
class Result:
    """A candidate's cross-validation: its AUC on each fold and its out-of-fold scores."""

    candidate: Candidate
    fold_aucs: tuple[float, ...]
    rounds: int | None  # LightGBM: rounds kept by early stopping
    out_of_fold: Array  # raw scores (log-odds) of each CV row, by the model that did not see it
    seconds: float

    @property
    def auc_mean(self) -> float:
        return float(np.mean(self.fold_aucs))

    @property
    def auc_std(self) -> float:
        return float(np.std(self.fold_aucs))

    def to_json(self) -> dict[str, Any]:
        rounds = {} if self.rounds is None else {"rounds": self.rounds}
        return (
            self.candidate.to_json()
            | rounds
            | {
                "auc_mean": self.auc_mean,
                "auc_std": self.auc_std,
                "fold_aucs": list(self.fold_aucs),
                "seconds": round(self.seconds, 2),
            }
        )


@dataclass(frozen=True, eq=False)
class Selection:
    results: list[Result]
    chosen_index: int
    rows: npt.NDArray[np.intp]  # the cross-validated rows, as indices into the fitting rows
    labels: npt.NDArray[np.int8]  # theirs
    folds: list[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]]
    lightgbm_params: dict[str, Any]  # what the LightGBM candidates shared
    sampled_from: int  # the fitting rows; more than len(rows) when a sample was taken

    def to_json(self, *, folds: int, seed: int) -> dict[str, Any]:
        return {
            "folds": folds,
            "seed": seed,
            "rows": int(self.rows.size),
            "sampled_from": self.sampled_from,
            "candidates": [r.to_json() for r in self.results],
            "chosen": self.chosen_index,
        }

    @property
    def chosen(self) -> Result:
        return self.results[self.chosen_index]


def _auc(labels: npt.NDArray[Any], scores: Array) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def _sample(
    labels: npt.NDArray[np.int8], *, seed: int, limit: int = CV_MAX_ROWS
) -> npt.NDArray[np.intp]:
    """All rows, or a stratified sample of `limit` of them (sorted)."""
    if labels.size <= limit:
        return np.arange(labels.size)
    from sklearn.model_selection import train_test_split

    kept, _rest = train_test_split(
        np.arange(labels.size), train_size=limit, stratify=labels, random_state=seed
    )
    return np.sort(np.asarray(kept))


def lightgbm_params(rows: int, seed: int) -> dict[str, Any]:
    # churn.py's settings, with leaves sized for tables of thousands of rows, not millions.
    leaf = int(np.clip(rows // 100, 5, 100))
    return LGBM_PARAMS | {
        "min_data_in_leaf": leaf,
        "min_data_per_group": leaf,
        "seed": seed,
        "num_threads": threads(rows),
        "metric": "binary_logloss",
    }


def lightgbm_dataset(
    matrix: npt.NDArray[Any],
    labels: npt.NDArray[Any],
    features: Sequence[str],
    categorical: list[int],
) -> Any:
    import lightgbm

    return lightgbm.Dataset(
        matrix,
        label=labels,
        feature_name=[f"f{i}" for i in range(len(features))],  # any text may name a column
        categorical_feature=[f"f{i}" for i in categorical] or "auto",
        free_raw_data=True,
    )


def cross_validate(
    *,
    matrix: npt.NDArray[np.float32],
    labels: npt.NDArray[np.int8],
    features: Sequence[str],
    levels: dict[str, list[str]],
    folds: int,
    seed: int,
    max_rounds: int,
) -> Selection:
    """Every candidate on the same stratified folds of (a sample of) the rows."""
    from sklearn.model_selection import StratifiedKFold

    rows = _sample(labels, seed=seed)
    x, y = matrix[rows], labels[rows]
    splits = [
        (np.asarray(train), np.asarray(test))
        for train, test in StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(
            x, y
        )
    ]
    params = lightgbm_params(len(splits[0][0]), seed)
    design = LinearDesign.fit(x, features, levels)
    inputs = design.transform(x)
    categorical = [i for i, f in enumerate(features) if f in levels]
    dataset = lightgbm_dataset(x, y, features, categorical)
    results = []
    for candidate in candidates():
        started = time.perf_counter()
        if candidate.kind is ModelKind.LOGISTIC:
            assert candidate.c is not None
            out_of_fold, rounds = _logistic_folds(inputs, y, splits, candidate.c), None
        else:
            out_of_fold, rounds = _lightgbm_folds(dataset, x, splits, params, candidate, max_rounds)
        aucs = tuple(_auc(y[test], out_of_fold[test]) for _train, test in splits)
        results.append(
            Result(
                candidate=candidate,
                fold_aucs=aucs,
                rounds=rounds,
                out_of_fold=out_of_fold,
                seconds=time.perf_counter() - started,
            )
        )
    # The highest mean AUC; on a tie the earlier, simpler candidate (max keeps the first).
    chosen = max(range(len(results)), key=lambda i: results[i].auc_mean)
    return Selection(
        results=results,
        chosen_index=chosen,
        rows=rows,
        labels=y,
        folds=splits,
        lightgbm_params=params,
        sampled_from=int(labels.size),
    )


def logistic(inputs: Array, labels: npt.NDArray[Any], c: float) -> Any:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    with warnings.catch_warnings(), one_blas_thread():
        # A fit stopped at the iteration limit is still the best found; its AUC tells.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return LogisticRegression(C=c, max_iter=LOGISTIC_ITERATIONS).fit(inputs, labels)


def _logistic_folds(
    inputs: Array,
    labels: npt.NDArray[np.int8],
    splits: list[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]],
    c: float,
) -> Array:
    out_of_fold = np.zeros(labels.size)
    for train, test in splits:
        fitted = logistic(inputs[train], labels[train], c)
        out_of_fold[test] = fitted.decision_function(inputs[test])
    return out_of_fold


def _lightgbm_folds(
    dataset: Any,
    x: npt.NDArray[np.float32],
    splits: list[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]],
    params: dict[str, Any],
    candidate: Candidate,
    max_rounds: int,
) -> tuple[Array, int]:
    """Out-of-fold scores at the number of rounds where the folds' mean log loss was lowest."""
    import lightgbm

    run = lightgbm.cv(
        params | {"num_leaves": candidate.leaves, "learning_rate": candidate.learning_rate},
        dataset,
        num_boost_round=max_rounds,
        folds=splits,
        callbacks=[lightgbm.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)],
        return_cvbooster=True,
    )
    # Early stopping cut the history at the best round.
    rounds = len(cast(list[float], run["valid binary_logloss-mean"]))
    boosters = cast(lightgbm.CVBooster, run["cvbooster"]).boosters
    out_of_fold = np.zeros(x.shape[0])
    for booster, (_train, test) in zip(boosters, splits, strict=True):
        out_of_fold[test] = booster.predict(
            x[test], num_iteration=rounds, raw_score=True, num_threads=params["num_threads"]
        )
    return out_of_fold, rounds


def refit(
    *,
    selection: Selection,
    matrix: npt.NDArray[np.float32],
    labels: npt.NDArray[np.int8],
    features: Sequence[str],
    levels: dict[str, list[str]],
) -> Any:
    """The chosen candidate fitted on every row: a LightGBM booster or a LinearModel."""
    chosen = selection.chosen
    candidate = chosen.candidate
    if candidate.kind is ModelKind.LOGISTIC:
        assert candidate.c is not None
        design = LinearDesign.fit(matrix, features, levels)
        fitted = logistic(design.transform(matrix), labels, candidate.c)
        return LinearModel(
            design=design,
            coef=tuple(float(v) for v in fitted.coef_[0]),
            intercept=float(fitted.intercept_[0]),
            c=candidate.c,
        )
    import lightgbm

    params = selection.lightgbm_params | {
        "num_leaves": candidate.leaves,
        "learning_rate": candidate.learning_rate,
        "num_threads": threads(len(labels)),
    }
    categorical = [i for i, f in enumerate(features) if f in levels]
    return lightgbm.train(
        params,
        lightgbm_dataset(matrix, labels, features, categorical),
        num_boost_round=chosen.rounds or 1,
    )


@dataclass(frozen=True)
class Calibrated:
    calibration: Calibration  # fitted on every out-of-fold score
    probabilities: Array  # each fold's scores calibrated by a fit on the other folds
    brier: dict[str, float]  # of those probabilities, by method tried


def calibrate(selection: Selection) -> Calibrated:
    """Calibrate the chosen candidate on its out-of-fold scores: Platt, or isotonic when there
    are enough rows, whichever gives the lower Brier score when each fold is calibrated by a
    fit on the other folds (isotonic's steps can lose to Platt's two parameters even on a few
    thousand rows, when the scores are nearly calibrated already)."""
    raw, y = selection.chosen.out_of_fold, selection.labels
    tried = {}
    for method in Calibration.methods(y):
        measured = np.zeros(raw.size)
        for train, test in selection.folds:
            measured[test] = Calibration.fit(raw[train], y[train], method).apply(raw[test])
        tried[method] = (float(np.mean((measured - y) ** 2)), measured)
    # The lowest Brier score; on a tie Platt, the simpler (min keeps the first).
    method = min(tried, key=lambda m: tried[m][0])
    return Calibrated(
        calibration=Calibration.fit(raw, y, method),
        probabilities=tried[method][1],
        brier={str(m): brier for m, (brier, _p) in tried.items()},
    )
