"""5G upgrade propensity (5G 迁转倾向): a look-alike model beside the rule in `scores`.

The canonical tables hold each customer's plan today, not a history of plan changes, so there
is no "upgraded next month" label to learn. The model instead learns who is on a 5G plan from
what does not follow from being on one (so not the plan's fee, allowance use or 5G network
share), and scores the mobile customers who are not: the more they resemble 5G plan holders,
the likelier an upgrade offer lands. It is refitted on each snapshot from a seeded sample;
its AUC on held-out customers goes in the snapshot manifest.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import ibis
import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped]

from quanwang.core import wide_columns
from quanwang.insight.churn import (
    LGBM_PARAMS,
    NOT_FEATURES,
    auc,
    feature_columns,
    settings_threads,
    to_matrix,
)
from quanwang.insight.history import HISTORY_COLUMNS

Array = npt.NDArray[np.float64]
# What being on a 5G plan causes, or what is computed from the plan itself.
CONSEQUENCES_OF_THE_PLAN = frozenset(
    {
        "plan_5g", "plan_fee", "device_5g_on_non5g_plan", "non5g_device_on_5g_plan",
        "saturation_3m", "used_5g_share_3m", "upgrade_5g_rule", "is_broadband_line", "clv_12m",
        "overage_fee_m1", "overage_fee_3m",
    }
)  # fmt: skip
SAMPLE_ROWS = 100_000
HOLDOUT_SHARE = 0.2
MIN_CLASS_ROWS = 50
ROUNDS = 80
PARAMS = LGBM_PARAMS | {"num_leaves": 15, "min_data_in_leaf": 100}


class NotEnoughCustomers(Exception):
    """Too few customers on and off 5G plans to learn the difference."""


@dataclass(frozen=True)
class Propensity:
    # Per row of the table: the probability of resembling a 5G plan holder; NaN for customers
    # already on a 5G plan and for broadband lines.
    values: Array
    auc: float
    features: list[str]
    trained_rows: int
    seconds: float


def lookalike_features(table: pa.Table) -> list[str]:
    schema = dict(ibis.Schema.from_pyarrow(table.schema).items())
    # Sorted: engines order the wide table's columns differently, and LightGBM's column
    # sampling follows the order, so the same data must reach it in the same order.
    return sorted(
        name
        for name in feature_columns(schema)
        if name not in CONSEQUENCES_OF_THE_PLAN
        and name not in NOT_FEATURES
        and name not in HISTORY_COLUMNS
        and name not in wide_columns.column_names()
        and not name.startswith("churn_")
    )


def _as_bool(table: pa.Table, name: str) -> npt.NDArray[np.bool_]:
    values = table.column(name).to_numpy(zero_copy_only=False)
    return np.asarray([bool(v) for v in values], dtype=bool) if values.dtype == object else values


def upgrade_propensity(table: pa.Table, *, seed: int = 7) -> Propensity:
    """Fit the look-alike on a sample of mobile customers and score those not on 5G."""
    import lightgbm

    began = time.perf_counter()
    mobile = ~_as_bool(table, "is_broadband_line")
    on_5g = _as_bool(table, "plan_5g")
    candidates = np.flatnonzero(mobile)
    positives, negatives = int(on_5g[candidates].sum()), int((~on_5g[candidates]).sum())
    if min(positives, negatives) < MIN_CLASS_ROWS:
        raise NotEnoughCustomers(
            f"{positives} mobile customers on 5G plans and {negatives} not; "
            f"the look-alike needs {MIN_CLASS_ROWS} of each"
        )
    rng = np.random.default_rng(seed)
    sample = rng.permutation(candidates)[:SAMPLE_ROWS]
    cut = int(sample.size * (1 - HOLDOUT_SHARE))
    fit_rows, held_rows = np.sort(sample[:cut]), np.sort(sample[cut:])
    features = lookalike_features(table)
    labels = on_5g.astype(np.int8)

    def rows(indices: npt.NDArray[np.intp]) -> npt.NDArray[np.float32]:
        # Only the rows needed: the whole table as a matrix would cost more than the model.
        # Rounded to 1e-6: engines sum in different orders, and a slope of 1e-13 instead of 0
        # falls in another LightGBM bin, which would make the model differ by engine.
        return np.round(to_matrix(table.take(pa.array(indices)), features), 6)

    booster = lightgbm.train(
        # One thread: on 80k rows OpenMP's hand-offs cost more than they save, and far more
        # when another process shares the cores.
        PARAMS | {"num_threads": 1},
        lightgbm.Dataset(rows(fit_rows), label=labels[fit_rows], feature_name=features),
        num_boost_round=ROUNDS,
    )
    held = np.asarray(booster.predict(rows(held_rows), num_threads=settings_threads()))
    targets = np.flatnonzero(mobile & ~on_5g)
    values = np.full(table.num_rows, np.nan)
    if targets.size:
        values[targets] = booster.predict(rows(targets), num_threads=settings_threads())
    return Propensity(
        values=values,
        auc=auc(labels[held_rows], held),
        features=features,
        trained_rows=int(fit_rows.size),
        seconds=time.perf_counter() - began,
    )
