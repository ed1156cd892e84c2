"""A trained model on any table: a regularised logistic regression or a LightGBM booster, its
calibration, and the registry it is saved in (var/insight/models/<name>/<id>/)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped]
from django.utils.translation import gettext as _

from quanwang.insight.churn import CHURN_MODEL_NAME, Registry, settings_threads, sigmoid
from quanwang.insight.training_spec import TrainingError

Array = npt.NDArray[np.float64]
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.-]{0,62}")
PARALLEL_ROWS = 100_000
# Isotonic calibration is a step function fitted to the data: below this many rows (or
# positives) it overfits, and Platt's two parameters do better (scikit-learn's advice too).
ISOTONIC_MIN_ROWS = 1000
ISOTONIC_MIN_POSITIVES = 50
# No customer's probability is exactly 0 or 1: a rate measured on finite rows never is.
PROBABILITY_FLOOR = 1e-4


class ModelKind(StrEnum):
    LOGISTIC = "logistic"
    LIGHTGBM = "lightgbm"


class CalibrationMethod(StrEnum):
    ISOTONIC = "isotonic"
    PLATT = "platt"


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Linear algebra on one thread. On a busy two-core machine two OpenBLAS threads spinning
    for each other made a 16,000-row logistic regression 20x slower (2.9 s against 0.14 s);
    its products of a matrix by a vector are bound by memory, not by cores."""
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def threads(rows: int) -> int:
    # Below this, threads cost more than they save: 200 rounds on 1,500 rows took 0.12 s on one
    # thread and 1.5 s on two of a busy two-core machine.
    return 1 if rows < PARALLEL_ROWS else settings_threads()


# ---------------------------------------------------------------------------------------------
# Calibration


@dataclass(frozen=True)
class Calibration:
    """Raw score (log-odds) → probability: isotonic breakpoints, or Platt's σ(a·raw + b)."""

    method: CalibrationMethod
    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()
    a: float = 1.0
    b: float = 0.0

    @staticmethod
    def methods(labels: npt.NDArray[Any]) -> list[CalibrationMethod]:
        """Platt always; isotonic too when there are enough rows for its steps."""
        enough = labels.size >= ISOTONIC_MIN_ROWS and labels.sum() >= ISOTONIC_MIN_POSITIVES
        return [CalibrationMethod.PLATT, *([CalibrationMethod.ISOTONIC] if enough else [])]

    @classmethod
    def fit(cls, raw: Array, labels: npt.NDArray[Any], method: CalibrationMethod) -> Calibration:
        with one_blas_thread():
            return cls._fit(raw, labels, method)

    @classmethod
    def _fit(cls, raw: Array, labels: npt.NDArray[Any], method: CalibrationMethod) -> Calibration:
        if method is CalibrationMethod.ISOTONIC:
            from sklearn.isotonic import IsotonicRegression

            isotonic = IsotonicRegression(
                y_min=PROBABILITY_FLOOR, y_max=1 - PROBABILITY_FLOOR, out_of_bounds="clip"
            ).fit(raw, labels)
            return cls(
                method=method,
                x=tuple(float(v) for v in isotonic.X_thresholds_),
                y=tuple(float(v) for v in isotonic.y_thresholds_),
            )
        from sklearn.linear_model import LogisticRegression

        # Platt scaling: a logistic regression on the one raw score, all but unpenalised (a
        # little, so that scores that happen to separate the classes do not diverge).
        platt = LogisticRegression(C=1e4).fit(raw.reshape(-1, 1), labels)
        return cls(method=method, a=float(platt.coef_[0, 0]), b=float(platt.intercept_[0]))

    def apply(self, raw: Array) -> Array:
        if self.method is CalibrationMethod.ISOTONIC:
            # What IsotonicRegression.predict does with out_of_bounds="clip".
            return np.interp(raw, np.asarray(self.x), np.asarray(self.y))
        return np.clip(
            sigmoid(self.a * raw + self.b), PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR
        ).astype(np.float64)

    def to_json(self) -> dict[str, Any]:
        if self.method is CalibrationMethod.ISOTONIC:
            return {"method": str(self.method), "x": list(self.x), "y": list(self.y)}
        return {"method": str(self.method), "a": self.a, "b": self.b}

    @classmethod
    def from_json(cls, data: Any) -> Calibration:
        if isinstance(data, list | tuple):  # models saved before isotonic: Platt's (a, b)
            return cls(method=CalibrationMethod.PLATT, a=float(data[0]), b=float(data[1]))
        return cls(
            method=CalibrationMethod(data["method"]),
            x=tuple(data.get("x", ())),
            y=tuple(data.get("y", ())),
            a=float(data.get("a", 1.0)),
            b=float(data.get("b", 0.0)),
        )


# ---------------------------------------------------------------------------------------------
# The logistic regression's inputs


@dataclass(frozen=True)
class LinearDesign:
    """How the feature matrix (numbers, category codes, nan for missing) becomes a logistic
    regression's columns: each number standardised, with a was-missing column where it had
    blanks (missing reads as the mean); each category one-hot (missing or unseen: all zero)."""

    numeric: tuple[int, ...]  # matrix columns
    center: tuple[float, ...]
    scale: tuple[float, ...]
    indicator: tuple[int, ...]  # numeric matrix columns that get a was-missing column
    categorical: tuple[tuple[int, int], ...]  # (matrix column, number of levels)

    @classmethod
    def fit(
        cls, matrix: npt.NDArray[Any], features: Sequence[str], levels: dict[str, list[str]]
    ) -> LinearDesign:
        numeric = tuple(i for i, f in enumerate(features) if f not in levels)
        center, scale, indicator = [], [], []
        for i in numeric:
            values = matrix[:, i].astype(np.float64)
            finite = np.isfinite(values)
            mean = float(values[finite].mean()) if finite.any() else 0.0
            std = float(values[finite].std()) if finite.any() else 0.0
            center.append(mean)
            scale.append(std if std > 0 else 1.0)
            if not finite.all():
                indicator.append(i)
        return cls(
            numeric=numeric,
            center=tuple(center),
            scale=tuple(scale),
            indicator=tuple(indicator),
            categorical=tuple((i, len(levels[f])) for i, f in enumerate(features) if f in levels),
        )

    @property
    def owners(self) -> list[int]:
        """Per design column, the matrix column (feature) it comes from."""
        return [
            *self.numeric,
            *self.indicator,
            *(i for i, count in self.categorical for _level in range(count)),
        ]

    def transform(self, matrix: npt.NDArray[Any]) -> Array:
        width = len(self.owners)
        out = np.zeros((matrix.shape[0], width), dtype=np.float64)
        for j, (i, center, scale) in enumerate(
            zip(self.numeric, self.center, self.scale, strict=True)
        ):
            values = (matrix[:, i].astype(np.float64) - center) / scale
            out[:, j] = np.where(np.isfinite(values), values, 0.0)
        j = len(self.numeric)
        for i in self.indicator:
            out[:, j] = ~np.isfinite(matrix[:, i])
            j += 1
        rows = np.arange(matrix.shape[0])
        for i, count in self.categorical:
            codes = matrix[:, i]
            known = np.isfinite(codes) & (codes >= 0) & (codes < count)
            out[rows[known], j + codes[known].astype(np.intp)] = 1.0
            j += count
        return out


@dataclass(frozen=True)
class LinearModel:
    """A fitted logistic regression: raw score = design(matrix) · coef + intercept."""

    design: LinearDesign
    coef: tuple[float, ...]
    intercept: float
    c: float  # the inverse penalty it was fitted with

    def raw(self, matrix: npt.NDArray[Any]) -> Array:
        weights = np.asarray(self.coef, dtype=np.float64)
        return np.asarray(self.design.transform(matrix) @ weights + self.intercept)

    def weight_shares(self, features: Sequence[str], *, top: int = 15) -> list[tuple[str, float]]:
        """Each feature's share of the absolute coefficients (inputs are standardised, so
        their sizes compare), as %, largest first."""
        totals = np.zeros(len(features))
        np.add.at(totals, self.design.owners, np.abs(np.asarray(self.coef)))
        whole = float(totals.sum()) or 1.0
        ranked = sorted(zip(features, totals, strict=True), key=lambda item: -item[1])
        return [(name, round(100 * float(w) / whole, 1)) for name, w in ranked[:top]]

    def save_model(self, filename: str) -> None:
        """Saved as JSON where a booster saves its text (the registry's model.txt)."""
        design = self.design
        data = {
            "kind": str(ModelKind.LOGISTIC),
            "C": self.c,
            "intercept": self.intercept,
            "coef": list(self.coef),
            "numeric": list(design.numeric),
            "center": list(design.center),
            "scale": list(design.scale),
            "indicator": list(design.indicator),
            "categorical": [list(pair) for pair in design.categorical],
        }
        Path(filename).write_text(json.dumps(data), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> LinearModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        design = LinearDesign(
            numeric=tuple(data["numeric"]),
            center=tuple(data["center"]),
            scale=tuple(data["scale"]),
            indicator=tuple(data["indicator"]),
            categorical=tuple((int(i), int(n)) for i, n in data["categorical"]),
        )
        return cls(
            design=design,
            coef=tuple(data["coef"]),
            intercept=float(data["intercept"]),
            c=float(data["C"]),
        )


# ---------------------------------------------------------------------------------------------
# The saved model


@dataclass
class TabularModel:
    model_id: str
    name: str
    source: str  # what it was trained on: a file's name or a warehouse table
    mapping: str | None  # the import mapping the input was read through
    spec: dict[str, Any]
    features: list[str]
    levels: dict[str, list[str]]  # categorical features' levels; a level's code is its index
    calibration: dict[str, Any]  # Calibration.to_json()
    metrics: dict[str, Any]
    top_features: list[tuple[str, float]]  # % of gain (LightGBM) or of |weight| (logistic)
    notes: list[str]
    created: str
    kind: ModelKind = ModelKind.LIGHTGBM
    path: Path = field(default=Path())
    _estimator: Any = field(default=None, repr=False)

    @property
    def estimator(self) -> Any:
        """The LightGBM booster or the LinearModel."""
        if self._estimator is None:
            if self.kind is ModelKind.LOGISTIC:
                self._estimator = LinearModel.load(self.path / "model.txt")
            else:
                import lightgbm

                self._estimator = lightgbm.Booster(model_file=str(self.path / "model.txt"))
        return self._estimator

    def raw(self, matrix: npt.NDArray[Any]) -> Array:
        """Log-odds before calibration."""
        if self.kind is ModelKind.LOGISTIC:
            return np.asarray(self.estimator.raw(matrix), dtype=np.float64)
        return np.asarray(
            self.estimator.predict(matrix, raw_score=True, num_threads=threads(len(matrix))),
            dtype=np.float64,
        )

    def probabilities(self, matrix: npt.NDArray[Any], *, calibrated: bool = True) -> Array:
        raw = self.raw(matrix)
        if not calibrated:
            return sigmoid(raw)
        return Calibration.from_json(self.calibration).apply(raw)


def _load_model(data: dict[str, Any], path: Path) -> TabularModel:
    data["top_features"] = [tuple(pair) for pair in data["top_features"]]
    data["kind"] = ModelKind(data.get("kind", ModelKind.LIGHTGBM))
    return TabularModel(**data, path=path)


def check_name(name: str) -> str:
    """A model name is a directory under var/insight/models; churn is the canonical model's."""
    if not NAME_PATTERN.fullmatch(name) or name == CHURN_MODEL_NAME:
        raise TrainingError(
            _(
                "%(name)s cannot name a model: use lower-case letters, digits, '-', '_' or '.',"
                " and not %(reserved)s"
            )
            % {"name": name, "reserved": CHURN_MODEL_NAME}
        )
    return name


def model_registry(name: str) -> Registry[TabularModel]:
    return Registry(name=check_name(name), load=_load_model)


def find_model(*, name: str, model_id: str | None = None) -> TabularModel:
    """The model `model_id` of this name, or its newest."""
    models = model_registry(name).list()
    chosen = [m for m in models if model_id in (None, m.model_id)]
    if not chosen:
        raise TrainingError(
            _("No model %(id)s is registered under %(name)s.")
            % {"id": model_id or "", "name": name}
        )
    return chosen[0]


@dataclass(frozen=True)
class Scores:
    id_column: str  # what the ids were read from: the spec's id, or "row" (row numbers)
    ids: pa.Array
    probabilities: Array


@dataclass(frozen=True)
class Trained:
    model: TabularModel
    scores: Scores  # every row of the input, those without a target too
