"""Churn risk: a LightGBM model trained with a time split, calibrated, versioned and explained.

Training: features of month m (the wide table) against the label "left within the next
`horizon` months". The latest month whose label is known validates and calibrates; the three
months before it train. Scoring adds `churn_risk` (a calibrated probability) to a snapshot,
and the top reasons (in Chinese and English) for the riskiest share of customers.

Reasons are path attributions: in each tree, the change of the node value at a split is
credited to the split's feature (Saabas). Each tree's leaf gives a fixed vector of credits,
so a whole batch is explained by looking up its leaves (`pred_leaf`) and adding those
vectors: one gather per tree, not a per-row TreeSHAP call.
"""

from __future__ import annotations

import enum
import functools
import json
import os
import time
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import ibis
import ibis.expr.types as ir
import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped]
from django.conf import settings
from django.utils.translation import gettext as _
from scipy.optimize import minimize

from quanwang.insight.catalog import LABELS
from quanwang.insight.history import HISTORY_COLUMNS
from quanwang.insight.months import Month

Array = npt.NDArray[np.float64]
# Columns of the wide table that are identifiers, text or derived from the target window.
NOT_FEATURES = frozenset(
    {
        "subscriber_id", "grid_id", "plan_id", "segment", "payment_type", "plan_type",
        "snapshot_month", "value_tier", "revenue_rank_share", "lifecycle_stage",
        "upgrade_5g_rule", "upgrade_5g_propensity",
    }
    # Campaign history: a model must not learn the targeting of campaigns its scores chose.
    | set(HISTORY_COLUMNS)
)  # fmt: skip
TRAIN_MONTHS = 6
REASON_COUNT = 3
LGBM_PARAMS = {
    "objective": "binary",
    # Shallow trees: as good as any setting tried on the generated operator (AUC within 0.001
    # of 800 rounds at 0.02), and few enough to score a million rows quickly; churners are
    # ~1.4% a month, so a leaf needs many rows.
    "learning_rate": 0.05,
    "num_leaves": 7,
    "min_data_in_leaf": 500,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "seed": 7,
    "deterministic": True,
    "force_row_wise": True,
    "verbosity": -1,
}
ROUNDS = 320
# The gain importance the models page shows, kept beside a saved model (ChurnModel.importance).
IMPORTANCE = "importance.json"
# The churn model's registry name; other models are registered under names of their own.
CHURN_MODEL_NAME = "churn"


class ModelError(Exception):
    """The model cannot be trained or used here; the message says why."""


def churn_labels(subscribers: ir.Table, month: Month, horizon: int) -> ir.Table:
    """1 for subscribers who left in the `horizon` months after `month`, else 0."""
    after = ibis.date(month.last_day)
    until = ibis.date(month.shift(horizon).last_day)
    left = subscribers.churn_date.notnull() & (subscribers.churn_date > after)
    left = left & (subscribers.churn_date <= until)
    return subscribers.select("subscriber_id", churned=left.cast("int8"))


def feature_columns(schema: Mapping[str, Any]) -> list[str]:
    """Numeric and yes/no columns of the wide table, in table order."""
    return [
        name
        for name, kind in schema.items()
        if name not in NOT_FEATURES and (kind.is_numeric() or kind.is_boolean())
    ]


def to_matrix(table: pa.Table, features: Sequence[str]) -> npt.NDArray[np.float32]:
    missing = [f for f in features if f not in table.column_names]
    if missing:
        raise ModelError(
            _(
                "the snapshot lacks features the churn model was trained on: %(features)s; "
                "train a new churn model"
            )
            % {"features": ", ".join(missing)}
        )
    columns = []
    for name in features:
        column = table.column(name).to_numpy(zero_copy_only=False)
        columns.append(np.asarray(column, dtype=np.float32))  # None → nan
    # float32: a million rows × months of training fit in a few GiB; trees bin values anyway.
    return np.column_stack(columns) if columns else np.empty((table.num_rows, 0), np.float32)


def auc(labels: npt.NDArray[Any], scores: Array) -> float:
    """Area under the ROC curve by ranks (ties share their mean rank)."""
    from scipy.stats import rankdata

    positives = labels == 1
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def lift_by_decile(labels: npt.NDArray[Any], scores: Array) -> list[float]:
    """Churn rate in each decile of score (highest first) over the overall rate."""
    order = np.argsort(-scores, kind="stable")
    base = labels.mean() or float("nan")
    return [float(labels[part].mean() / base) for part in np.array_split(order, 10)]


def calibration_bins(labels: npt.NDArray[Any], probabilities: Array) -> list[dict[str, float]]:
    """Mean predicted against observed churn in ten bins of equal size."""
    order = np.argsort(probabilities, kind="stable")
    return [
        {
            "predicted": float(probabilities[part].mean()),
            "observed": float(labels[part].mean()),
            "count": int(part.size),
        }
        for part in np.array_split(order, 10)
    ]


def platt(raw: Array, labels: npt.NDArray[Any]) -> tuple[float, float]:
    """a, b of p = σ(a·raw + b), fitted by maximum likelihood (Platt scaling)."""
    y = labels.astype(np.float64)

    def loss(params: Array) -> float:
        z = params[0] * raw + params[1]
        return float(np.sum(np.logaddexp(0, z) - y * z))

    fitted = minimize(loss, x0=np.array([1.0, 0.0]), method="L-BFGS-B")
    return float(fitted.x[0]), float(fitted.x[1])


def calibrate(raw: Array, labels: npt.NDArray[Any]) -> tuple[tuple[float, float], dict[str, Any]]:
    """Platt-calibrate raw scores on validation labels; the calibrated scores' AUC, lift by
    decile and calibration bins."""
    calibration = platt(raw, labels)
    probabilities = sigmoid(calibration[0] * raw + calibration[1])
    return calibration, {
        "auc": auc(labels, probabilities),
        "lift_by_decile": lift_by_decile(labels, probabilities),
        "calibration": calibration_bins(labels, probabilities),
    }


def sigmoid(z: Array) -> Array:
    return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)


def gain_importance(
    booster: Any, features: Sequence[str], *, top: int = 15
) -> list[tuple[str, float]]:
    """The features the trees gain most from, as % of all gain, largest first."""
    gains = booster.feature_importance(importance_type="gain")
    total = float(sum(gains)) or 1.0
    ranked = sorted(zip(features, gains, strict=True), key=lambda item: -item[1])
    return [(name, round(100 * float(gain) / total, 1)) for name, gain in ranked[:top]]


@dataclass
class ChurnModel:
    model_id: str
    horizon: int
    features: list[str]
    calibration: tuple[float, float]
    trained_months: list[str]
    validation_month: str
    metrics: dict[str, Any]
    medians: dict[str, float]
    created: str
    path: Path = field(default=Path())
    _booster: Any = field(default=None, repr=False)
    _credits: list[Any] | None = field(default=None, repr=False)

    @property
    def booster(self) -> Any:
        if self._booster is None:
            import lightgbm

            self._booster = lightgbm.Booster(model_file=str(self.path / "model.txt"))
        return self._booster

    def importance(self, top: int = 15) -> list[tuple[str, float]]:
        """The features the trees gain most from, as % of all gain, largest first.

        Kept beside the model (`IMPORTANCE`) once worked out: loading the booster to add up
        its gains cost the models page most of its time, and a saved model never changes."""
        kept = self.path / IMPORTANCE
        try:
            data = json.loads(kept.read_text())
            if data.get("top") == top:
                return [(str(name), float(share)) for name, share in data["importance"]]
        except (OSError, ValueError, KeyError, TypeError):
            pass
        found = gain_importance(self.booster, self.features, top=top)
        if self.path != Path():
            temporary = self.path / f".{IMPORTANCE}.{uuid.uuid4().hex}"
            try:
                temporary.write_text(json.dumps({"top": top, "importance": found}))
                os.replace(temporary, kept)
            except OSError:
                temporary.unlink(missing_ok=True)  # a folder we may not write: work it out again
        return found

    def probabilities(self, matrix: npt.NDArray[Any]) -> Array:
        raw = np.asarray(
            self.booster.predict(matrix, raw_score=True, num_threads=settings_threads()),
            dtype=np.float64,
        )
        a, b = self.calibration
        return sigmoid(a * raw + b)

    def reasons(self, matrix: npt.NDArray[Any]) -> Array:
        """Each row's credit per feature (rows × features), from its leaves."""
        leaves = self.booster.predict(matrix, pred_leaf=True, num_threads=settings_threads())
        # Features × rows and trees × rows: every step below reads and adds whole contiguous
        # rows (a column-wise `credits[:, used] +=` was 4x slower).
        by_tree = np.ascontiguousarray(np.asarray(leaves).T)
        credits = np.zeros((len(self.features), matrix.shape[0]), dtype=np.float32)
        for tree, (used, table) in enumerate(self._leaf_credits()):
            # A tree splits on a few features: add only those.
            for feature, by_leaf in zip(used, table, strict=True):
                credits[feature] += by_leaf.take(by_tree[tree])
        return credits.T.astype(np.float64)

    def _leaf_credits(self) -> list[tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]]:
        """Per tree, the features it splits on and a (those features × leaves) credit table."""
        if self._credits is None:
            dump = self.booster.dump_model()
            self._credits = []
            for tree in dump["tree_info"]:
                table = np.zeros((tree["num_leaves"], len(self.features)))
                _walk(tree["tree_structure"], np.zeros(len(self.features)), table)
                used = np.flatnonzero(np.any(table != 0, axis=0))
                self._credits.append(
                    (used, np.ascontiguousarray(table[:, used].T, dtype=np.float32))
                )
        return self._credits


def _walk(node: dict[str, Any], credit: Array, table: Array) -> None:
    if "leaf_index" in node:
        table[node["leaf_index"]] = credit
        return
    for side in ("left_child", "right_child"):
        child = node[side]
        value = child.get("internal_value", child.get("leaf_value", 0.0))
        step = credit.copy()
        step[node["split_feature"]] += value - node["internal_value"]
        _walk(child, step, table)


def settings_threads() -> int:
    return int(settings.QUANWANG_MODEL_THREADS)


class Registered(Protocol):
    """A model dataclass a registry can keep: its public fields are its manifest."""

    __dataclass_fields__: ClassVar[dict[str, Any]]
    model_id: str
    created: str
    path: Path


M = TypeVar("M", bound=Registered)


class Registry(Generic[M]):
    """Versioned models of one name under var/insight/models/<name>/<id>/ (model.txt, meta.json).

    `load` turns a manifest back into the model's dataclass; each kind of model has its own.
    """

    def __init__(
        self, *, name: str, load: Callable[[dict[str, Any], Path], M], root: Path | None = None
    ) -> None:
        self.name = name
        self.root = Path(root or Path(settings.VAR_DIR) / "insight" / "models" / name)
        self._load = load

    def save(self, model: M, booster: Any) -> M:
        target = self.root / model.model_id
        staging = self.root / f".{model.model_id}.tmp"
        staging.mkdir(parents=True)
        booster.save_model(str(staging / "model.txt"))
        # Not asdict: it would deep-copy the booster.
        meta = {
            f.name: getattr(model, f.name)
            for f in fields(model)
            if not f.name.startswith("_") and f.name != "path"
        }
        (staging / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1))
        staging.rename(target)
        model.path = target
        return model

    def list(self) -> list[M]:
        found = [
            self._load(json.loads(meta.read_text()), meta.parent)
            for meta in self.root.glob("*/meta.json")
        ]
        return sorted(found, key=lambda m: m.created, reverse=True)

    def latest(self) -> M | None:
        models = self.list()
        return models[0] if models else None


def _load_churn(data: dict[str, Any], path: Path) -> ChurnModel:
    data["calibration"] = tuple(data["calibration"])
    return ChurnModel(**data, path=path)


class ModelRegistry(Registry[ChurnModel]):
    """Versioned churn models under var/insight/models/churn/<id>/ (model.txt, meta.json, and
    importance.json, the models page's figures)."""

    def __init__(self, root: Path | None = None) -> None:
        super().__init__(name=CHURN_MODEL_NAME, load=_load_churn, root=root)

    def save(self, model: ChurnModel, booster: Any) -> ChurnModel:
        saved = super().save(model, booster)
        saved.importance()  # kept now, while the booster is in memory
        return saved


FrameBuilder = Callable[[Month], pa.Table]


def train(
    *, frames: FrameBuilder, labels: Callable[[Month], pa.Table], month: Month, horizon: int = 1
) -> tuple[ChurnModel, Any]:
    """Train on the months before the validation month `month - horizon`; calibrate on it."""
    import lightgbm

    validation_month = month.shift(-horizon)
    train_months = [validation_month.shift(-k) for k in range(1, TRAIN_MONTHS + 1)]

    def labelled(m: Month) -> tuple[npt.NDArray[np.float32], npt.NDArray[Any], list[str]]:
        table = frames(m)
        joined = _join_labels(table, labels(m))
        features = feature_columns(_schema(table))
        return to_matrix(joined, features), _label_array(joined), features

    x_val, y_val, features = labelled(validation_month)
    parts = [labelled(m) for m in train_months]
    x_train = np.vstack([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    if y_train.sum() == 0 or y_val.sum() == 0:
        raise ModelError(_("no churners in the training or validation months: nothing to learn"))
    booster = lightgbm.train(
        LGBM_PARAMS | {"num_threads": settings_threads()},
        lightgbm.Dataset(x_train, label=y_train, feature_name=features, free_raw_data=True),
        num_boost_round=ROUNDS,
    )
    raw = np.asarray(
        booster.predict(x_val, raw_score=True, num_threads=settings_threads()), dtype=np.float64
    )
    calibration, metrics = calibrate(raw, y_val)
    metrics |= {
        "validation_rows": int(y_val.size),
        "validation_churn_rate": float(y_val.mean()),
        "training_rows": int(y_train.size),
    }
    medians = {
        name: float(np.nanmedian(x_val[:, i])) if np.isfinite(x_val[:, i]).any() else 0.0
        for i, name in enumerate(features)
    }
    model = ChurnModel(
        model_id=datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6],
        horizon=horizon,
        features=features,
        calibration=calibration,
        trained_months=[str(m) for m in train_months],
        validation_month=str(validation_month),
        metrics=metrics,
        medians=medians,
        created=datetime.now(UTC).isoformat(),
    )
    model._booster = booster
    return model, booster


def _schema(table: pa.Table) -> dict[str, Any]:
    return dict(ibis.Schema.from_pyarrow(table.schema).items())


def _join_labels(table: pa.Table, labels: pa.Table) -> pa.Table:
    joined = table.join(labels, "subscriber_id", join_type="left outer")
    return joined.sort_by("subscriber_id")


def _label_array(table: pa.Table) -> npt.NDArray[Any]:
    values = table.column("churned").to_numpy(zero_copy_only=False)
    return np.nan_to_num(np.asarray(values, dtype=np.float64)).astype(np.int8)


@dataclass(frozen=True)
class Scored:
    risk: Array
    # The explained rows (the riskiest share) and, per explained row, the REASON_COUNT features
    # that raise its risk most (indexes into the model's features, -1 where fewer raise it)
    # with the row's values of them.
    explained: npt.NDArray[np.intp]
    reason_features: npt.NDArray[np.intp]
    reason_values: npt.NDArray[np.float32]
    seconds: float


def score(model: ChurnModel, table: pa.Table, *, explain_share: float = 0.2) -> Scored:
    """Risk for every row; reasons for the riskiest `explain_share` of rows."""
    began = time.perf_counter()
    matrix = to_matrix(table, model.features)
    risk = model.probabilities(matrix)
    count = int(np.ceil(explain_share * table.num_rows))
    top = np.argsort(-risk, kind="stable")[:count]
    credits = model.reasons(matrix[top]) if count else np.zeros((0, len(model.features)))
    best = np.argsort(-credits, axis=1)[:, :REASON_COUNT]
    raises = np.take_along_axis(credits, best, axis=1) > 0
    return Scored(
        risk=risk,
        explained=top,
        reason_features=np.where(raises, best, -1),
        reason_values=matrix[top[:, None], best],
        seconds=time.perf_counter() - began,
    )


def reason_columns(
    model: ChurnModel, scored: Scored, *, rows: int, yes_no: Collection[str]
) -> tuple[list[str | None], list[str | None], list[str | None]]:
    """Per row: the reasons' feature codes, Chinese and English texts (None if unexplained).
    A reason reads as people read it: a yes/no feature by its label (yes at ≥ 0.5), a number
    as high or low against its median in the model's validation month, or as missing."""
    features = scored.reason_features
    values = scored.reason_values
    flag = np.array([name in yes_no for name in model.features] + [False])[features]
    median = np.array([model.medians.get(name, 0.0) for name in model.features] + [0.0])
    kinds = np.select(
        [flag & (values >= 0.5), flag, np.isnan(values), values > median[features]],
        [ReasonKind.YES, ReasonKind.NO, ReasonKind.MISSING, ReasonKind.HIGH],
        ReasonKind.LOW,
    )
    # One key per (feature, kind) of each reason; rows share few distinct combinations.
    keys = np.where(features >= 0, features * len(ReasonKind) + kinds, -1)
    codes: list[str | None] = [None] * rows
    zh: list[str | None] = [None] * rows
    en: list[str | None] = [None] * rows
    worded: dict[tuple[int, ...], tuple[str, str, str] | None] = {}
    for row, key in zip(scored.explained.tolist(), map(tuple, keys.tolist()), strict=True):
        if key not in worded:
            worded[key] = _worded(model.features, key)
        texts = worded[key]
        if texts is not None:
            codes[row], zh[row], en[row] = texts
    return codes, zh, en


def _worded(features: Sequence[str], key: tuple[int, ...]) -> tuple[str, str, str] | None:
    chosen = [divmod(k, len(ReasonKind)) for k in key if k >= 0]
    if not chosen:
        return None
    words = [_reason_words(features[f], ReasonKind(kind)) for f, kind in chosen]
    return (
        ",".join(features[f] for f, _kind in chosen),
        "；".join(w[0] for w in words),
        "; ".join(w[1] for w in words),
    )


NEGATED = {
    "has_contract": ("无合约在期", "No contract in force"),
    "plan_5g": ("非5G套餐", "Not on a 5G plan"),
    "device_5g": ("非5G终端", "No 5G device"),
    "household_broadband": ("家庭无宽带", "No broadband at home"),
    "enterprise_member": ("非集团成员", "Not an enterprise member"),
    "is_bundle": ("非融合套餐", "Not on a bundle"),
    "is_prepaid": ("后付费", "Postpaid"),
}


class ReasonKind(enum.IntEnum):
    YES = 0
    NO = 1
    MISSING = 2
    HIGH = 3
    LOW = 4


@functools.cache
def _reason_words(feature: str, kind: ReasonKind) -> tuple[str, str]:
    # Cached: the pipeline words a reason for each of the riskiest 20% (600k calls at 1M).
    zh, en = LABELS.get(feature, (feature, feature))
    if kind == ReasonKind.YES:
        return zh, en
    if kind == ReasonKind.NO:
        return NEGATED.get(feature, (f"非{zh}", f"Not: {en}"))
    if kind == ReasonKind.MISSING:
        return f"{zh}缺失", f"{en}: none"
    if kind == ReasonKind.HIGH:
        return f"{zh}偏高", f"{en}: high"
    return f"{zh}偏低", f"{en}: low"
