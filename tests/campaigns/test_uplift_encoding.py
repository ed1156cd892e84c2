"""The uplift learners one-hot encode text columns instead of dropping them."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from quanwang.campaigns.qini import qini_baseline
from quanwang.campaigns.uplift import Learner, UpliftError, fit_uplift
from quanwang.campaigns.uplift_features import MAX_LEVELS, Encoding, uplift_features

SMALL_LEAVES = {"min_data_in_leaf": 100, "num_leaves": 7, "verbosity": -1, "seed": 7}


def email_trial(rows: int, seed: int) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """A Hillstrom-shaped e-mail test where only customers who buy on the web respond to the
    e-mail (+15 points); phone and multichannel buyers do not. The effect lives in a text
    column only."""
    rng = np.random.default_rng(seed)
    channel = rng.choice(["Phone", "Web", "Multichannel"], rows)
    table = pa.table(
        {
            "customer_id": [f"C{i:06d}" for i in range(rows)],
            "recency": rng.integers(1, 13, rows),
            "history": rng.lognormal(5.0, 1.0, rows),
            "zip_code": rng.choice(["Urban", "Suburban", "Rural"], rows),
            "channel": channel,
            "history_segment": rng.choice(["1) $0 - $100", "2) $100 - $200", "a,b: {x}"], rows),
        }
    )
    treated = rng.random(rows) < 0.5
    uplift = np.where(channel == "Web", 0.15, 0.0)
    responded = rng.random(rows) < 0.08 + np.where(treated, uplift, 0.0)
    return table, treated, responded.astype(float)


def test_the_features_take_text_categories_and_leave_identifiers_out() -> None:
    # Given the e-mail test's columns (an ID with a value per customer, three categories)
    table, _treated, _outcome = email_trial(2000, seed=1)

    # When the uplift learner picks its features
    features = uplift_features(table=table)

    # Then the categories are in, sorted with the numbers; the ID is not
    assert features == ["channel", "history", "history_segment", "recency", "zip_code"]


def test_a_text_column_with_too_many_values_or_one_value_is_no_feature() -> None:
    # Given a column with MAX_LEVELS + 1 values and one with a single value
    table = pa.table(
        {
            "wide": [f"v{i % (MAX_LEVELS + 1)}" for i in range(200)],
            "constant": ["x"] * 200,
            "narrow": [f"v{i % MAX_LEVELS}" for i in range(200)],
        }
    )

    # When features are picked, then only the one with up to MAX_LEVELS values is taken
    assert uplift_features(table=table) == ["narrow"]


def test_an_uplift_that_lives_in_a_text_column_is_learned() -> None:
    # Given an e-mail test where only web buyers respond to the e-mail
    table, treated, outcome = email_trial(8000, seed=2)
    fit, judge = np.arange(8000) < 5000, np.arange(8000) >= 5000

    # When an X-learner is fitted on 5,000 customers and scores the other 3,000
    model = fit_uplift(
        features=table.filter(pa.array(fit)),
        treatment=treated[fit],
        outcome=outcome[fit],
        learner=Learner.X_LEARNER,
        params=SMALL_LEAVES,
    )
    held_out = table.filter(pa.array(judge))
    scores = model.predict(held_out)

    # Then the channel is a feature, one 0/1 column per value, and web buyers score highest
    assert "channel" in model.features
    assert {"channel=Phone", "channel=Web", "channel=Multichannel"} <= set(model.encoding.names)
    channel = np.asarray(held_out.column("channel").to_pylist())
    assert scores[channel == "Web"].mean() > scores[channel != "Web"].mean() + 0.08
    baseline = qini_baseline(
        uplift_scores=scores, treatment=treated[judge], outcome=outcome[judge], seed=1
    )
    assert baseline.above_noise


def test_a_value_unseen_in_training_scores_without_error() -> None:
    # Given a model fitted on three channels
    table, treated, outcome = email_trial(3000, seed=3)
    model = fit_uplift(
        features=table, treatment=treated, outcome=outcome, learner=Learner.TWO_MODEL,
        params=SMALL_LEAVES,
    )  # fmt: skip

    # When customers with a new channel, or none, are scored
    new = table.slice(0, 3).set_column(
        table.column_names.index("channel"), "channel", pa.array(["Store", None, "Web"])
    )
    scores = model.predict(new)

    # Then they are scored as having none of the known values
    assert np.isfinite(scores).all()
    matrix = model.matrix(new)
    at = model.encoding.names.index("channel=Web")
    assert matrix[:, at].tolist() == [0.0, 0.0, 1.0]


def test_the_encoding_keeps_the_most_frequent_values_of_a_named_column() -> None:
    # Given a column named on purpose with 40 values, value v0 in half the rows
    values = ["v0"] * 200 + [f"v{i}" for i in range(1, 40) for _ in range(5)]
    table = pa.table({"code": values})

    # When it is encoded
    encoding = Encoding.fit(table=table, columns=["code"])

    # Then MAX_LEVELS values are kept, v0 among them, and names LightGBM cannot take are made safe
    assert len(encoding.levels["code"]) == MAX_LEVELS
    assert "v0" in encoding.levels["code"]
    assert all(":" not in name and "," not in name for name in encoding.booster_names)


def test_a_model_refuses_a_table_without_its_text_feature() -> None:
    table, treated, outcome = email_trial(1000, seed=4)
    model = fit_uplift(
        features=table, treatment=treated, outcome=outcome, learner=Learner.TWO_MODEL,
        params=SMALL_LEAVES,
    )  # fmt: skip

    with pytest.raises(UpliftError, match="lacks the model's features: channel"):
        model.predict(table.drop(["channel"]))
