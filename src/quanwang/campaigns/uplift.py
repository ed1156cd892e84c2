"""Uplift targeting: whom does contacting change, not who is likely to respond anyway.

Two meta-learners over LightGBM, for a randomised (or random hold-out) campaign:

- two-model (T-learner): μ₁ fitted on the treated, μ₀ on the control; τ(x) = μ₁(x) − μ₀(x).
- X-learner (Künzel et al. 2019): the same μ₀, μ₁, then imputed effects — D₁ = Y − μ₀(x)
  for the treated, D₀ = μ₁(x) − Y for the control — regressed into τ₁ and τ₀, blended as
  τ(x) = g τ₀(x) + (1 − g) τ₁(x), g the treated share. In a randomised campaign the
  propensity is that share everywhere, so it is not modelled. The X-learner gains when
  the groups are unequal (a 10% hold-out): τ₁, fitted on the big group, gets most weight.

Text columns are one-hot encoded (`uplift_features`). The Qini curve, coefficient and its
noise baseline live in `qini` (re-exported here); `true_effects` reads the generator's true
effects (ground_truth/treatment_effects) and `simulate_trial` draws a randomised campaign
from those true probabilities, so the learners can be tested where the right answer is known.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped]
from django.db import models
from django.utils.translation import gettext_lazy as _

from quanwang.campaigns.choices import CampaignType
from quanwang.campaigns.evaluation import Group
from quanwang.campaigns.qini import QiniBaseline, qini_baseline
from quanwang.campaigns.qini import QiniCurve as QiniCurve
from quanwang.campaigns.qini import TruthComparison as TruthComparison
from quanwang.campaigns.qini import compare_with_truth as compare_with_truth
from quanwang.campaigns.qini import qini_coefficient as qini_coefficient
from quanwang.campaigns.qini import qini_curve as qini_curve
from quanwang.campaigns.qini import true_gain_coefficient as true_gain_coefficient
from quanwang.campaigns.uplift_features import Encoding, FeatureError
from quanwang.campaigns.uplift_features import uplift_features as uplift_features
from quanwang.data.warehouse import sql_literal
from quanwang.insight.churn import LGBM_PARAMS, settings_threads

Array = npt.NDArray[np.float64]
Flags = npt.NDArray[np.bool_]

# The churn model's settings. Tried 100-1000 rows a leaf and 40-300 rounds on the generated
# 升档 trial (10k training rows): 500 and 70-100 rounds ranked best; more rounds fit the
# noise of the difference between two models.
UPLIFT_PARAMS: dict[str, Any] = dict(LGBM_PARAMS)
ROUNDS = 80
MIN_ARM_ROWS = 50
# The generator names its campaigns in Chinese (ground_truth/treatment_effects.campaign_type).
GROUND_TRUTH_CAMPAIGN: dict[CampaignType, str] = {
    CampaignType.RETENTION: "维系",
    CampaignType.UPSELL: "升档",
    CampaignType.MIGRATE_5G: "5G迁转",
    CampaignType.BUNDLE: "融合",
    CampaignType.WIN_OVER: "异网策反",
    CampaignType.WIN_BACK: "赢回",
}


class UpliftError(ValueError):
    """The uplift model cannot be fitted or used here; the message says why."""


class Learner(models.TextChoices):
    TWO_MODEL = "two_model", _("Two-model (T-learner)")
    X_LEARNER = "x_learner", _("X-learner")


class OutcomeKind(models.TextChoices):
    BINARY = "binary", _("Yes/no response")
    CONTINUOUS = "continuous", _("Amount (e.g. revenue)")


class TrueEffect(models.TextChoices):
    """Which of the generator's true effects a simulated campaign's outcome follows."""

    ACCEPTANCE = "acceptance", _("Offer accepted")
    RETENTION = "retention", _("Customer retained (did not churn)")


@dataclass
class UpliftModel:
    learner: Learner
    features: list[str]  # the table's columns; a text column is one-hot (`encoding`)
    outcome_kind: OutcomeKind
    treated_share: float
    trained_rows: int
    seconds: float
    # "treated"/"control" outcome models; the X-learner adds "effect_treated"/"effect_control".
    boosters: dict[str, Any] = field(repr=False, default_factory=dict)
    encoding: Encoding = field(default_factory=lambda: Encoding(columns=[]))

    def matrix(self, table: pa.Table) -> npt.NDArray[np.float32]:
        """The rows of `table` (which holds the model's feature columns) as the boosters read
        them."""
        try:
            return self.encoding.matrix(table)
        except FeatureError as exc:
            raise UpliftError(str(exc)) from exc

    def predict(self, table: pa.Table) -> Array:
        """Predicted uplift per row of `table` (which holds the model's feature columns)."""
        return self.predict_matrix(self.matrix(table))

    def predict_matrix(self, matrix: npt.NDArray[Any]) -> Array:
        def run(name: str) -> Array:
            return np.asarray(
                self.boosters[name].predict(matrix, num_threads=settings_threads()),
                dtype=np.float64,
            )

        if self.learner == Learner.TWO_MODEL:
            return run("treated") - run("control")
        g = self.treated_share
        return g * run("effect_control") + (1 - g) * run("effect_treated")


def fit_uplift(
    *,
    features: pa.Table,
    treatment: npt.ArrayLike,
    outcome: npt.ArrayLike,
    learner: Learner,
    feature_names: Sequence[str] | None = None,
    outcome_kind: OutcomeKind | None = None,
    rounds: int = ROUNDS,
    params: Mapping[str, Any] | None = None,
) -> UpliftModel:
    """Fit a two-model or X-learner on a campaign's treated and control rows."""
    import lightgbm

    began = time.perf_counter()
    treated = np.asarray(treatment, dtype=bool)
    y = np.asarray(outcome, dtype=np.float64)
    if treated.shape != (features.num_rows,) or y.shape != (features.num_rows,):
        raise UpliftError("treatment and outcome need one value per row of the features")
    if np.isnan(y).any():
        raise UpliftError("the outcome has missing values")
    arms = int(treated.sum()), int((~treated).sum())
    if min(arms) < MIN_ARM_ROWS:
        raise UpliftError(
            f"{arms[0]} treated and {arms[1]} control rows; each group needs {MIN_ARM_ROWS}"
        )
    kind = outcome_kind or (
        OutcomeKind.BINARY if np.isin(y, (0.0, 1.0)).all() else OutcomeKind.CONTINUOUS
    )
    names = list(feature_names) if feature_names is not None else uplift_features(table=features)
    try:
        encoding = Encoding.fit(table=features, columns=names)
        matrix = encoding.matrix(features)
    except FeatureError as exc:
        raise UpliftError(str(exc)) from exc
    threads = {"num_threads": settings_threads()}
    base = dict(params or UPLIFT_PARAMS)
    outcome_params = base | threads | {"objective": str(_objective(kind))}
    effect_params = base | threads | {"objective": "regression"}

    def fit(rows: Flags, target: Array, settings: dict[str, Any]) -> Any:
        data = lightgbm.Dataset(matrix[rows], label=target, feature_name=encoding.booster_names)
        return lightgbm.train(settings, data, num_boost_round=rounds)

    boosters = {
        "treated": fit(treated, y[treated], outcome_params),
        "control": fit(~treated, y[~treated], outcome_params),
    }
    if learner == Learner.X_LEARNER:
        # Imputed individual effects: each group's outcome against the other group's model.
        mu0 = np.asarray(boosters["control"].predict(matrix[treated], **threads))
        mu1 = np.asarray(boosters["treated"].predict(matrix[~treated], **threads))
        boosters["effect_treated"] = fit(treated, y[treated] - mu0, effect_params)
        boosters["effect_control"] = fit(~treated, mu1 - y[~treated], effect_params)
    return UpliftModel(
        learner=learner,
        features=names,
        outcome_kind=kind,
        treated_share=arms[0] / features.num_rows,
        trained_rows=features.num_rows,
        seconds=time.perf_counter() - began,
        boosters=boosters,
        encoding=encoding,
    )


def _objective(kind: OutcomeKind) -> str:
    return "binary" if kind == OutcomeKind.BINARY else "regression"


# --- the generator's ground truth ---------------------------------------------------------


def true_effects(*, path: Path, campaign_type: CampaignType) -> pa.Table:
    """The generator's true effects of one campaign type, by subscriber_id, with
    true_accept_uplift = p_c − p_n and true_retention_uplift = churn hazard not contacted −
    contacted (null for win-back: those customers have already gone)."""
    if campaign_type not in GROUND_TRUTH_CAMPAIGN:
        raise UpliftError(f"the generator has no ground truth for {campaign_type.value}")
    source = path / "treatment_effects.parquet" if path.is_dir() else path
    if not source.is_file():
        raise UpliftError(f"no ground truth at {source}")
    relation = duckdb.connect().sql(
        f"""SELECT subscriber_id, p_accept_contacted, p_accept_not_contacted,
                   churn_hazard_contacted, churn_hazard_not_contacted,
                   p_accept_contacted - p_accept_not_contacted AS true_accept_uplift,
                   churn_hazard_not_contacted - churn_hazard_contacted AS true_retention_uplift
            FROM read_parquet({sql_literal(str(source))})
            WHERE campaign_type = $campaign
            ORDER BY subscriber_id""",
        params={"campaign": GROUND_TRUTH_CAMPAIGN[campaign_type]},
    )
    assert relation is not None  # a SELECT always gives a relation
    return relation.to_arrow_table()


@dataclass(frozen=True)
class Trial:
    """A simulated randomised campaign over the rows of an effects table."""

    treatment: Flags
    outcome: Array  # 1 = accepted (ACCEPTANCE) or stayed (RETENTION), else 0
    true_uplift: Array


def simulate_trial(
    *, effects: pa.Table, effect: TrueEffect, seed: int, treated_share: float = 0.5
) -> Trial:
    """Randomise each row into treatment with P `treated_share` and draw its outcome from
    the true probability of its arm."""
    if not 0 < treated_share < 1:
        raise UpliftError("the treated share must be between 0 and 1")
    rng = np.random.default_rng(seed)

    def column(name: str) -> Array:
        values = np.asarray(effects.column(name).to_numpy(zero_copy_only=False), np.float64)
        if np.isnan(values).any():
            raise UpliftError(f"{name} has no true value for some rows")
        return values

    treated = rng.random(effects.num_rows) < treated_share
    draw = rng.random(effects.num_rows)
    if effect == TrueEffect.ACCEPTANCE:
        p_c, p_n = column("p_accept_contacted"), column("p_accept_not_contacted")
        outcome = draw < np.where(treated, p_c, p_n)
        truth = p_c - p_n
    else:
        h_c, h_n = column("churn_hazard_contacted"), column("churn_hazard_not_contacted")
        outcome = draw >= np.where(treated, h_c, h_n)
        truth = h_n - h_c
    return Trial(treatment=treated, outcome=outcome.astype(np.float64), true_uplift=truth)


# --- targeting a campaign by predicted uplift ----------------------------------------------

# Campaign targeting fits the X-learner: campaigns hold out 10% by default, and with unequal
# groups it leans on the effect fitted on the big (treated) group.
TARGETING_LEARNER = Learner.X_LEARNER
# The share of a source campaign's rows held out to measure the model's Qini on.
HOLDOUT_SHARE = 0.3
# A source campaign of a few thousand customers cannot fill leaves of 500 rows (the setting
# tuned at 5,000+ rows a group): its trees would not split and every customer would score the
# same. So a leaf holds a tenth of the smaller group, 20 to 500 rows. On the generated 升档
# trial with 1,500 rows a group, 150 a leaf ranked better than 500 (see campaigns-evaluation.md).
MIN_LEAF_ROWS = 20
TREATED_COLUMN = "__uplift_treated"
OUTCOME_COLUMN = "__uplift_outcome"


@dataclass(frozen=True)
class Arms:
    """Rows and responders of each group of a campaign's results."""

    treated: int
    control: int
    treated_responders: int
    control_responders: int


def arms(*, treatment: npt.ArrayLike, outcome: npt.ArrayLike) -> Arms:
    treated = np.asarray(treatment, dtype=bool)
    responded = np.asarray(outcome, dtype=np.float64) > 0
    return Arms(
        treated=int(treated.sum()),
        control=int((~treated).sum()),
        treated_responders=int((treated & responded).sum()),
        control_responders=int((~treated & responded).sum()),
    )


@dataclass(frozen=True)
class Holdout:
    """The model fitted on the rest of the source campaign, judged on rows it never saw."""

    treated: int
    control: int
    qini: float
    # What random orderings of the same held-out customers give (`qini.QiniBaseline`): a Qini
    # inside noise_low–noise_high is no better than noise. None in facts written before.
    noise_mean: float | None = None
    noise_low: float | None = None
    noise_high: float | None = None
    ci_low: float | None = None  # bootstrap interval of `qini`
    ci_high: float | None = None

    @classmethod
    def judged(cls, *, treated: int, control: int, baseline: QiniBaseline) -> Holdout:
        return cls(
            treated=treated,
            control=control,
            qini=baseline.qini,
            noise_mean=baseline.noise_mean,
            noise_low=baseline.noise_low,
            noise_high=baseline.noise_high,
            ci_low=baseline.ci_low,
            ci_high=baseline.ci_high,
        )


@dataclass(frozen=True)
class TargetingFacts:
    """What the page shows about the model that chose a campaign's customers."""

    learner: str
    source_campaign: int
    source_snapshot: str  # month · run of the snapshot the source campaign was issued on
    arms: Arms
    features: list[str]
    holdout: Holdout | None  # None when the source is too small to hold rows out
    segment: int  # customers of the segment scored
    targeted: int  # of whom kept: the top `share` by predicted uplift
    share: float
    mean_uplift_targeted: float
    mean_uplift_segment: float
    # Mean predicted response when contacted (the treated-outcome model), for quotas.
    mean_response_targeted: float
    # Every customer scored the same: the model found no difference, the choice is by ID.
    flat: bool
    seconds: float

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Targeted:
    # One row per segment customer: subscriber_id, predicted_uplift, predicted_response
    # (when contacted), targeted.
    scores: pa.Table
    facts: TargetingFacts


def leaf_rows(*, smaller_group: int) -> int:
    """Rows a leaf needs, for a source whose smaller group has `smaller_group` rows."""
    cap = int(UPLIFT_PARAMS["min_data_in_leaf"])
    return min(cap, max(MIN_LEAF_ROWS, smaller_group // 10))


def _sized_params(treatment: Flags) -> dict[str, Any]:
    smaller = min(int(treatment.sum()), int((~treatment).sum()))
    return UPLIFT_PARAMS | {"min_data_in_leaf": leaf_rows(smaller_group=smaller)}


def top_share(*, scores: npt.ArrayLike, ids: Sequence[str], share: float) -> Flags:
    """The top `share` of rows by score, round(n × share) of them (at least one), ties broken by
    id so the same scores always choose the same customers."""
    values = np.asarray(scores, dtype=np.float64)
    keep = np.zeros(values.size, dtype=bool)
    if values.size == 0:
        return keep
    count = min(values.size, max(1, round(values.size * share)))
    order = np.lexsort((np.asarray(ids, dtype=str), -values))
    keep[order[:count]] = True
    return keep


def training_table(*, results: Path, snapshot_relation: str) -> pa.Table:
    """A campaign's results (one row per frozen customer: group, responded) joined to the
    features each customer had on the snapshot the campaign was issued on."""
    relation = duckdb.connect().sql(
        f"""SELECT w.*, r."group" = '{Group.TREATED}' AS {TREATED_COLUMN},
                   CASE WHEN r.responded THEN 1.0 ELSE 0.0 END AS {OUTCOME_COLUMN}
            FROM read_parquet({sql_literal(str(results))}) r
            JOIN {snapshot_relation} w USING (subscriber_id)
            ORDER BY subscriber_id"""
    )
    assert relation is not None  # a SELECT always gives a relation
    return relation.to_arrow_table()


def target_by_uplift(
    *,
    training: pa.Table,
    segment: pa.Table,
    share: float,
    source_campaign: int,
    source_snapshot: str,
    learner: Learner = TARGETING_LEARNER,
    holdout: bool = True,
    seed: int = 0,
    rounds: int = ROUNDS,
) -> Targeted:
    """Fit on a campaign's results (`training_table`), score the segment (its wide-table rows)
    and keep its top `share` by predicted uplift. With `holdout`, a second model fitted on
    70% of the source is judged (Qini) on the other 30%; the targeting model uses every row."""
    began = time.perf_counter()
    if not 0 < share <= 1:
        raise UpliftError("the share to target is above 0 and at most 1")
    treatment = np.asarray(training.column(TREATED_COLUMN).to_numpy(zero_copy_only=False), bool)
    outcome = np.asarray(training.column(OUTCOME_COLUMN).to_numpy(zero_copy_only=False), np.float64)
    wide = training.drop([TREATED_COLUMN, OUTCOME_COLUMN])
    # Only what both snapshots have: a column renamed since the source ran is left out.
    names = [f for f in uplift_features(table=wide) if f in segment.column_names]
    if not names:
        raise UpliftError("the source campaign's snapshot and the segment share no feature")
    model = fit_uplift(
        features=wide,
        treatment=treatment,
        outcome=outcome,
        learner=learner,
        feature_names=names,
        outcome_kind=OutcomeKind.BINARY,
        rounds=rounds,
        params=_sized_params(treatment),
    )
    judged = (
        _holdout_qini(
            features=wide, treatment=treatment, outcome=outcome, learner=learner,
            names=names, seed=seed, rounds=rounds,
        )
        if holdout
        else None
    )  # fmt: skip
    uplift = response = np.zeros(0)
    if segment.num_rows:
        matrix = model.matrix(segment)
        uplift = model.predict_matrix(matrix)
        response = np.asarray(
            model.boosters["treated"].predict(matrix, num_threads=settings_threads()), np.float64
        )
    ids = segment.column("subscriber_id").to_pylist()
    keep = top_share(scores=uplift, ids=ids, share=share)
    scores = pa.table(
        {
            "subscriber_id": pa.array(ids, pa.string()),
            "predicted_uplift": pa.array(uplift, pa.float64()),
            "predicted_response": pa.array(response, pa.float64()),
            "targeted": pa.array(keep, pa.bool_()),
        }
    )
    facts = TargetingFacts(
        learner=str(learner.value),
        source_campaign=source_campaign,
        source_snapshot=source_snapshot,
        arms=arms(treatment=treatment, outcome=outcome),
        features=names,
        holdout=judged,
        segment=segment.num_rows,
        targeted=int(keep.sum()),
        share=share,
        mean_uplift_targeted=float(uplift[keep].mean()) if keep.any() else 0.0,
        mean_uplift_segment=float(uplift.mean()) if uplift.size else 0.0,
        mean_response_targeted=float(response[keep].mean()) if keep.any() else 0.0,
        flat=bool(uplift.size) and float(np.ptp(uplift)) < 1e-12,
        seconds=round(time.perf_counter() - began, 2),
    )
    return Targeted(scores=scores, facts=facts)


def _holdout_qini(
    *,
    features: pa.Table,
    treatment: Flags,
    outcome: Array,
    learner: Learner,
    names: list[str],
    seed: int,
    rounds: int,
) -> Holdout | None:
    # The same share of each group, from a stream of its own (a campaign's seed may also
    # have drawn its groups).
    rng = np.random.default_rng([seed, 1_0101])
    held = np.zeros(features.num_rows, dtype=bool)
    for group in (treatment, ~treatment):
        rows = np.flatnonzero(group)
        held[rng.choice(rows, size=round(rows.size * HOLDOUT_SHARE), replace=False)] = True
    fit_rows, test_rows = np.flatnonzero(~held), np.flatnonzero(held)
    fitted, tested = (
        arms(treatment=treatment[fit_rows], outcome=outcome[fit_rows]),
        arms(treatment=treatment[test_rows], outcome=outcome[test_rows]),
    )
    if (
        min(fitted.treated, fitted.control) < MIN_ARM_ROWS
        or min(tested.treated, tested.control) < 1
    ):
        return None
    model = fit_uplift(
        features=features.take(fit_rows),
        treatment=treatment[fit_rows],
        outcome=outcome[fit_rows],
        learner=learner,
        feature_names=names,
        outcome_kind=OutcomeKind.BINARY,
        rounds=rounds,
        params=_sized_params(treatment[fit_rows]),
    )
    baseline = qini_baseline(
        uplift_scores=model.predict(features.take(test_rows)),
        treatment=treatment[test_rows],
        outcome=outcome[test_rows],
        seed=seed,
    )
    return Holdout.judged(treated=tested.treated, control=tested.control, baseline=baseline)
