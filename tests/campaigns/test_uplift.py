"""Uplift targeting on a generated operator, judged against the generator's true effects."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from quanwang.campaigns.choices import CampaignType
from quanwang.campaigns.uplift import (
    Learner,
    OutcomeKind,
    TrueEffect,
    TruthComparison,
    UpliftError,
    compare_with_truth,
    fit_uplift,
    qini_coefficient,
    qini_curve,
    simulate_trial,
    true_effects,
    uplift_features,
)
from quanwang.data.generator import GeneratorConfig, generate
from quanwang.insight.pipeline import run_pipeline

LAST_MONTH = "2024-08"

pytestmark = pytest.mark.warehouse_only


@pytest.fixture(scope="module")
def operator(tmp_path_factory: pytest.TempPathFactory) -> tuple[pa.Table, Path]:
    """The last month's wide table of a small generated operator, and its ground truth."""
    from django.test import override_settings

    city = tmp_path_factory.mktemp("city")
    generate(GeneratorConfig(subscribers=20_000, months=8, seed=31), city)
    with override_settings(VAR_DIR=tmp_path_factory.mktemp("var")):
        snapshot = run_pipeline(month=LAST_MONTH, files={p.stem: p for p in city.glob("*.parquet")})
    wide = duckdb.sql(f"SELECT * FROM {snapshot.relation} ORDER BY subscriber_id").to_arrow_table()
    return wide, city / "ground_truth"


def campaign(
    operator: tuple[pa.Table, Path], campaign_type: CampaignType
) -> tuple[pa.Table, list[str]]:
    """Wide-table features joined to the campaign type's true effects, one row a customer."""
    wide, truth = operator
    effects = true_effects(path=truth, campaign_type=campaign_type)
    joined = wide.join(effects, "subscriber_id", join_type="inner").sort_by("subscriber_id")
    return joined, uplift_features(table=wide)


def learn_and_judge(
    table: pa.Table, features: list[str], effect: TrueEffect, *, seed: int
) -> dict[Learner, TruthComparison]:
    """A randomised 50/50 campaign; fit on one half of the customers, judge on the other."""
    trial = simulate_trial(effects=table, effect=effect, seed=seed)
    fit_half = np.random.default_rng(seed + 1).random(table.num_rows) < 0.5
    train, test = np.flatnonzero(fit_half), np.flatnonzero(~fit_half)
    results = {}
    for learner in Learner:
        model = fit_uplift(
            features=table.take(train),
            treatment=trial.treatment[train],
            outcome=trial.outcome[train],
            learner=learner,
            feature_names=features,
        )
        results[learner] = compare_with_truth(
            uplift_scores=model.predict(table.take(test)),
            true_uplift=trial.true_uplift[test],
            treatment=trial.treatment[test],
            outcome=trial.outcome[test],
            seed=seed,
        )
    return results


def test_targeting_an_upsell_by_predicted_uplift_beats_random_and_nears_the_oracle(
    operator: tuple[pa.Table, Path],
) -> None:
    # Given a randomised 升档 campaign whose acceptance follows the generator's true odds
    table, features = campaign(operator, CampaignType.UPSELL)
    began = time.perf_counter()

    # When both learners are fitted on half the customers and rank the other half
    results = learn_and_judge(table, features, TrueEffect.ACCEPTANCE, seed=5)

    # Then each ranks far better than random, and close to the true uplift (the oracle)
    for learner, result in results.items():
        print(learner.value, result, f"{time.perf_counter() - began:.1f}s")
        assert abs(result.qini_random) < 0.1 * result.qini_oracle, (learner, result)
        assert result.qini > 0.7 * result.qini_oracle, (learner, result)
        assert result.true_gain > 0.75 * result.true_gain_oracle, (learner, result)
        assert result.rank_correlation > 0.7, (learner, result)
        # The top decile by prediction gains well over twice the average uplift.
        assert result.top_decile_true_uplift > 2.2 * result.mean_true_uplift, (learner, result)


def test_a_retention_offers_acceptance_is_targeted_as_well(
    operator: tuple[pa.Table, Path],
) -> None:
    # Given a randomised 维系 campaign, judged on who takes the retention offer
    table, features = campaign(operator, CampaignType.RETENTION)

    # When the learners rank customers by how much a contact raises acceptance
    results = learn_and_judge(table, features, TrueEffect.ACCEPTANCE, seed=7)

    # Then both rank clearly above random. The effect varies less between customers than an
    # upsell's (a third to four fifths of the oracle over ten trials; this is the weakest)
    for learner, result in results.items():
        print(learner.value, result)
        assert abs(result.qini_random) < 0.1 * result.qini_oracle, (learner, result)
        assert result.qini > 0.25 * result.qini_oracle, (learner, result)
        assert result.true_gain > 0.35 * result.true_gain_oracle, (learner, result)


def test_a_simulated_retention_trial_follows_the_true_hazards(
    operator: tuple[pa.Table, Path],
) -> None:
    # Given the true churn hazards of a 维系 contact and of no contact
    table, _features = campaign(operator, CampaignType.RETENTION)
    contacted = table.column("churn_hazard_contacted").to_numpy()
    alone = table.column("churn_hazard_not_contacted").to_numpy()

    # When a randomised campaign is drawn from them
    trial = simulate_trial(effects=table, effect=TrueEffect.RETENTION, seed=3, treated_share=0.3)

    # Then each arm churns at its true rate, and the true uplift is the churn avoided
    treated = trial.treatment
    assert treated.mean() == pytest.approx(0.3, abs=0.01)
    assert 1 - trial.outcome[treated].mean() == pytest.approx(contacted[treated].mean(), abs=0.004)
    assert 1 - trial.outcome[~treated].mean() == pytest.approx(alone[~treated].mean(), abs=0.003)
    assert np.allclose(trial.true_uplift, alone - contacted)


def test_the_qini_curve_on_a_hand_checked_example() -> None:
    # Scores rank 4 rows; treated rows 0, 2; control rows 1, 3.
    scores = np.array([0.9, 0.8, 0.7, 0.1])
    treatment = np.array([True, False, True, False])
    outcome = np.array([1.0, 0.0, 1.0, 1.0])

    curve = qini_curve(uplift_scores=scores, treatment=treatment, outcome=outcome)

    # Q(1) = 1; Q(2) = 1 - 0·1/1 = 1; Q(3) = 2 - 0·2/1 = 2; Q(4) = 2 - 1·2/2 = 1; over N = 4.
    assert curve.share.tolist() == [0, 0.25, 0.5, 0.75, 1]
    assert curve.gain.tolist() == [0, 0.25, 0.25, 0.5, 0.25]
    area = 0.25 * (0.125 + 0.25 + 0.375 + 0.375)
    assert curve.coefficient == pytest.approx(area - 0.125)


def test_equal_scores_are_random_targeting_and_reversed_truth_is_worse() -> None:
    rng = np.random.default_rng(3)
    uplift = rng.uniform(0, 0.3, 20_000)
    treatment = rng.random(20_000) < 0.5
    outcome = (rng.random(20_000) < 0.05 + np.where(treatment, uplift, 0)).astype(float)
    observed = {"treatment": treatment, "outcome": outcome}

    assert qini_coefficient(uplift_scores=np.zeros(20_000), **observed) == pytest.approx(0)
    assert qini_coefficient(uplift_scores=uplift, **observed) > 0.01
    assert qini_coefficient(uplift_scores=-uplift, **observed) < -0.01


def test_bad_input_is_refused_with_reasons(operator: tuple[pa.Table, Path]) -> None:
    table, features = campaign(operator, CampaignType.UPSELL)
    sample = table.slice(0, 400)
    treatment = np.zeros(400, dtype=bool)
    treatment[:30] = True

    with pytest.raises(UpliftError, match="30 treated and 370 control"):
        fit_uplift(
            features=sample, treatment=treatment, outcome=np.zeros(400), learner=Learner.X_LEARNER
        )
    with pytest.raises(UpliftError, match="one value per row"):
        fit_uplift(
            features=sample, treatment=treatment[:10], outcome=np.zeros(400),
            learner=Learner.TWO_MODEL,
        )  # fmt: skip
    treatment[:200] = True
    model = fit_uplift(
        features=sample,
        treatment=treatment,
        outcome=np.arange(400, dtype=float),
        learner=Learner.TWO_MODEL,
        feature_names=features,
        rounds=5,
    )
    assert model.outcome_kind == OutcomeKind.CONTINUOUS
    with pytest.raises(UpliftError, match="lacks the model's features: arpu_3m"):
        model.predict(sample.drop(["arpu_3m"]))
    with pytest.raises(UpliftError, match="no ground truth for acquisition"):
        true_effects(path=operator[1], campaign_type=CampaignType.ACQUISITION)
