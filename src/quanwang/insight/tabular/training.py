"""Train a model on any table, score tables with it, and write the scores."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped]
from django.utils.translation import gettext as _

from quanwang.core.tabular import private_file, write_arrow_csv
from quanwang.insight.churn import calibration_bins, gain_importance, lift_by_decile
from quanwang.insight.tabular.features import (
    FeatureKind,
    feature_levels,
    infer_kinds,
    matrix,
    note_non_numbers,
    present,
    split_rows,
    target_labels,
)
from quanwang.insight.tabular.model import (
    Array,
    LinearModel,
    Scores,
    TabularModel,
    Trained,
    check_name,
    model_registry,
)
from quanwang.insight.tabular.reading import Frame, ImportedMapping, TrainingInput, read
from quanwang.insight.tabular.selection import calibrate, cross_validate, refit
from quanwang.insight.training_spec import (
    Role,
    TrainingError,
    TrainingSpec,
    parse_spec,
    rule_label,
)

SCORE_SUFFIXES = (".csv", ".parquet")
# The score file's columns, whatever the input calls its id (docs/model-training.md).
SCORE_ID_COLUMN = "id"
SCORE_COLUMN = "probability"


class MeasuredOn(StrEnum):
    """Where the saved metrics come from."""

    CROSS_VALIDATION = "cross-validation"  # out-of-fold scores, calibrated by the other folds
    TEST = "test"  # the held-out rows, by the model refitted without them


def train_model(
    *,
    data: TrainingInput,
    spec: TrainingSpec,
    name: str,
    mapping: ImportedMapping | None = None,
) -> Trained:
    """Choose a model by cross-validation, refit it on every training row, calibrate it,
    measure, register it, and score every row of the input."""
    check_name(name)
    clock = _Stopwatch()
    roles = [Role.TARGET, Role.ID, Role.TIME]
    frame, wanted = read(data=data, spec=spec, mapping=mapping, features=None, roles=roles)
    kinds = infer_kinds(frame, spec)
    levels = feature_levels(frame, kinds, spec)
    features = [f for f in wanted if f in kinds]
    if not features:
        raise TrainingError(_("%(file)s: no column is left to learn from") % {"file": data.label})
    labels, known = target_labels(frame, spec)
    parts = split_rows(frame, spec, labels, known)
    values = matrix(frame, features, levels)
    x, y = values[parts.fitting], labels[parts.fitting]
    clock.lap("read")
    selection = cross_validate(
        matrix=x,
        labels=y,
        features=features,
        levels=levels,
        folds=spec.split.folds,
        seed=spec.split.seed,
        max_rounds=spec.rounds,
    )
    clock.lap("cross_validation")
    estimator = refit(selection=selection, matrix=x, labels=y, features=features, levels=levels)
    clock.lap("refit")
    calibrated = calibrate(selection)
    clock.lap("calibration")
    calibration = calibrated.calibration
    chosen = selection.chosen
    kind = chosen.candidate.kind
    now = datetime.now(UTC)
    model = TabularModel(
        model_id=now.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6],
        name=name,
        source=data.label,
        mapping=None if mapping is None else mapping.name,
        spec=spec.raw,
        features=features,
        levels=levels,
        calibration=calibration.to_json(),
        metrics={},
        top_features=(
            estimator.weight_shares(features)
            if isinstance(estimator, LinearModel)
            else gain_importance(estimator, features)
        ),
        notes=frame.notes,
        created=now.isoformat(),
        kind=kind,
    )
    model._estimator = estimator
    if parts.test.any():
        measured_on, measured_labels = MeasuredOn.TEST, labels[parts.test]
        raw = model.raw(values[parts.test])
        probabilities = calibration.apply(raw)
        auc = _auc(measured_labels, probabilities)
    else:
        measured_on, measured_labels = MeasuredOn.CROSS_VALIDATION, selection.labels
        raw, probabilities = chosen.out_of_fold, calibrated.probabilities
        auc = chosen.auc_mean
    model.metrics = {
        "auc": auc,
        "cv": selection.to_json(folds=spec.split.folds, seed=spec.split.seed),
        "measured_on": str(measured_on),
        "lift_by_decile": lift_by_decile(measured_labels, probabilities),
        "calibration": calibration_bins(measured_labels, probabilities),
        "brier": _brier(measured_labels, probabilities),
        "brier_uncalibrated": _brier(measured_labels, 1 / (1 + np.exp(-raw))),
        "calibration_method": str(calibration.method),
        "calibration_brier": calibrated.brier,  # cross-validated, by method tried
        "training_rows": int(parts.fitting.sum()),
        "test_rows": int(parts.test.sum()),
        "positive_rate": float(measured_labels.mean()),
        "split": parts.how,
        "kinds": {
            f: str(FeatureKind.CATEGORICAL if f in levels else FeatureKind.NUMERIC)
            for f in features
        },
    }
    scores = _scores(frame, spec, model.probabilities(values))
    clock.lap("scoring")
    model.metrics["seconds"] = clock.laps  # where the time went, for the benchmark
    model_registry(name).save(model, estimator)
    return Trained(model=model, scores=scores)


class _Stopwatch:
    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.laps[stage] = round(now - self._last, 2)
        self._last = now


def _auc(labels: npt.NDArray[Any], scores: Array) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def _brier(labels: npt.NDArray[Any], probabilities: Array) -> float:
    return float(np.mean((probabilities - labels) ** 2))


def _scores(frame: Frame, spec: TrainingSpec, probabilities: Array) -> Scores:
    if Role.ID in frame.roles:
        ids = frame.roles[Role.ID].combine_chunks()
        return Scores(rule_label(spec.roles[Role.ID]), ids, probabilities)
    rows = pa.array([frame.row_number(i) for i in range(frame.rows)], pa.int64())
    return Scores("row", rows, probabilities)


def score_model(
    *,
    model: TabularModel,
    data: TrainingInput,
    mapping: ImportedMapping | None = None,
    calibrated: bool = True,
) -> tuple[Scores, list[str]]:
    """The model's probability for every row of `data`, and notes on values it could not read.
    Uncalibrated (σ of the raw score) only to compare with the calibrated ones."""
    spec = parse_spec(model.spec)
    frame, _features = read(
        data=data, spec=spec, mapping=mapping, features=model.features, roles=[Role.ID]
    )
    for name in model.features:
        if name not in model.levels:
            note_non_numbers(frame, name, frame.columns[name], present(frame.columns[name].text))
    values = matrix(frame, model.features, model.levels)
    probabilities = model.probabilities(values, calibrated=calibrated)
    return _scores(frame, spec, probabilities), frame.notes


def check_score_path(path: Path) -> Path:
    if path.suffix.lower() not in SCORE_SUFFIXES:
        raise TrainingError(
            _("%(path)s: scores are written as .csv or .parquet") % {"path": path.name}
        )
    return path


def write_scores(*, scores: Scores, path: Path) -> int:
    """Write `id, probability` per row, as CSV (UTF-8) or Parquet by the file's suffix."""
    check_score_path(path)
    table = pa.table({SCORE_ID_COLUMN: scores.ids, SCORE_COLUMN: scores.probabilities})
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq  # type: ignore[import-untyped]

        with private_file(path) as handle:
            pq.write_table(table, handle)
    else:
        # A CSV of scores is opened in a spreadsheet: ids are neutralised like every export.
        write_arrow_csv(table, path)
    return table.num_rows
