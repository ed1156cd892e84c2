"""The churn model on a generated operator, judged against the generator's true hazard."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest
from django.utils import translation

from quanwang.data.generator import GeneratorConfig, generate
from quanwang.insight.catalog import LABELS
from quanwang.insight.churn import NEGATED, ChurnModel, ModelError, ModelRegistry, auc, score
from quanwang.insight.pipeline import run_pipeline, train_churn_model
from quanwang.insight.snapshots import Snapshot

LATEST = "2024-12"

pytestmark = pytest.mark.warehouse_only


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("city")
    generate(GeneratorConfig(subscribers=100_000, months=12, seed=5), out)
    return out


@pytest.fixture(scope="module")
def trained(city: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[ChurnModel, Path]:
    from django.test import override_settings

    var = tmp_path_factory.mktemp("var")
    with override_settings(VAR_DIR=var):
        model = train_churn_model(month=LATEST, files=_files(city))
    return model, var


@pytest.fixture(scope="module")
def december(city: Path, trained: tuple[ChurnModel, Path]) -> Snapshot:
    """The latest month's snapshot, scored by the trained model."""
    from django.test import override_settings

    _model, var = trained
    with override_settings(VAR_DIR=var):
        return run_pipeline(month=LATEST, files=_files(city))


def _files(city: Path) -> dict[str, Path]:
    return {p.stem: p for p in city.glob("*.parquet")}


def test_the_model_reaches_95_percent_of_the_true_hazards_auc(
    city: Path, trained: tuple[ChurnModel, Path], settings: Any
) -> None:
    # Given the model, validated on November (who left in December?)
    model, var = trained
    settings.VAR_DIR = var
    november = run_pipeline(month=model.validation_month, files=_files(city))

    # When its risk and the generator's true December hazard rank the same customers
    rows = duckdb.sql(
        f"""SELECT coalesce(s.churn_date BETWEEN DATE '2024-12-01' AND DATE '2024-12-31', false)
                   AS left_in_december, h.hazard, w.churn_risk
            FROM {november.relation} w
            JOIN '{city / "subscribers.parquet"}' s USING (subscriber_id)
            JOIN '{city / "ground_truth" / "churn_hazard.parquet"}' h
              ON h.subscriber_id = w.subscriber_id AND h.month = '{LATEST}'"""
    ).fetchnumpy()
    labels = rows["left_in_december"].astype(np.int8)

    # Then the model's AUC is at least 0.95 of the oracle's, and its top decile is enriched
    oracle = auc(labels, rows["hazard"])
    ours = auc(labels, rows["churn_risk"])
    assert ours >= 0.95 * oracle, (ours, oracle)
    assert model.metrics["lift_by_decile"][0] > 2.5


def test_calibrated_risk_matches_the_observed_churn_rate(trained: tuple[ChurnModel, Path]) -> None:
    model, _var = trained

    bins = model.metrics["calibration"]
    predicted = sum(b["predicted"] * b["count"] for b in bins) / sum(b["count"] for b in bins)

    assert predicted == pytest.approx(model.metrics["validation_churn_rate"], rel=0.1)
    assert bins[-1]["observed"] > 3 * bins[0]["observed"]


def test_every_customer_is_scored_and_the_riskiest_fifth_gets_reasons(
    december: Snapshot, trained: tuple[ChurnModel, Path], settings: Any
) -> None:
    _model, var = trained
    settings.VAR_DIR = var
    snapshot = december

    counts = duckdb.sql(
        f"SELECT count(*), count(churn_risk), count(churn_reasons_zh) FROM {snapshot.relation}"
    ).fetchall()[0]
    assert counts[0] == counts[1]
    assert counts[2] == pytest.approx(0.2 * counts[0], abs=2)
    assert snapshot.models["churn"] == ModelRegistry().latest().model_id  # type: ignore[union-attr]


def test_each_reason_reads_yes_no_or_high_low_against_the_models_median(
    december: Snapshot, trained: tuple[ChurnModel, Path]
) -> None:
    # Given 300 explained customers of the scored snapshot
    model, _var = trained
    rows = duckdb.sql(
        f"""SELECT * FROM {december.relation} WHERE churn_reasons IS NOT NULL
            USING SAMPLE reservoir(300 ROWS) REPEATABLE (1)"""
    ).to_arrow_table()

    # When each reason's wording is read back against the feature's value in the wide table
    for row in rows.to_pylist():
        codes, texts = row["churn_reasons"].split(","), row["churn_reasons_zh"].split("；")

        # Then it says yes/no for a yes/no feature, else missing, high or low vs the median
        assert len(codes) == len(texts) <= 3
        for code, text in zip(codes, texts, strict=True):
            label, value = LABELS[code][0], row[code]
            if isinstance(value, bool):
                expected = label if value else NEGATED.get(code, (f"非{label}",))[0]
            elif value is None:
                expected = f"{label}缺失"
            else:
                high = np.float32(value) > model.medians[code]
                expected = f"{label}{'偏高' if high else '偏低'}"
            assert text == expected, (row["subscriber_id"], code, value)


def test_scoring_a_snapshot_without_a_models_features_names_them(
    trained: tuple[ChurnModel, Path],
) -> None:
    import pyarrow as pa

    model, _var = trained
    table = pa.table({"subscriber_id": ["A"], "tenure_months": [3]})

    with translation.override("en"), pytest.raises(ModelError, match=r"lacks features .*arpu_3m"):
        score(model, table)


def test_a_month_without_churners_to_learn_from_is_refused(tmp_path: Path) -> None:
    from quanwang.insight.pipeline import PipelineError
    from tests import factories
    from tests.insight.conftest import PLANS, subscriber, usage_rows

    months = {f"2024-{m:02d}": 10.0 for m in range(1, 13)}
    files = factories.canonical_files(
        tmp_path,
        plans=PLANS,
        subscribers=[subscriber("A", join_date=dt.date(2020, 1, 1))],
        monthly_usage=usage_rows("A", months),
    )

    with (
        translation.override("en"),
        pytest.raises((ModelError, PipelineError), match="no churners"),
    ):
        train_churn_model(month=LATEST, files=files)


def test_the_risk_report_counts_bands_and_drivers_of_the_scored_snapshot(
    december: Snapshot, admin_user: Any
) -> None:
    from quanwang.insight.services import risk_report

    snapshot = december

    report = risk_report(user=admin_user, snapshot=snapshot)

    assert report is not None
    assert sum(n for _band, n in report["bands"]) == snapshot.rows
    assert len(report["drivers"]) == 10
    assert 0.005 * snapshot.rows < report["expected_leavers"] < 0.05 * snapshot.rows


def test_the_model_page_shows_auc_lift_and_what_the_model_uses(
    trained: tuple[ChurnModel, Path], settings: Any, client: Any, tree: Any
) -> None:
    from quanwang.core.choices import Role
    from tests import factories

    model, var = trained
    settings.VAR_DIR = var
    client.force_login(factories.user(role=Role.COUNTY_MANAGER, at=tree.county_a))

    page = client.get("/insight/models/", HTTP_ACCEPT_LANGUAGE="en")

    assert page.context["model"].model_id == model.model_id
    assert len(page.context["chart"]["lift"]) == 10
    assert len(page.context["importance"]) == 15
    assert f"AUC {model.metrics['auc']:.3f}" in page.content.decode()


def test_customers_get_a_12_month_clv_that_rises_with_their_tier(december: Snapshot) -> None:
    snapshot = december

    by_tier = dict(
        duckdb.sql(
            f"SELECT value_tier, avg(clv_12m) FROM {snapshot.relation} GROUP BY 1"
        ).fetchall()
    )
    covered = duckdb.sql(
        f"SELECT count(clv_12m) / count(*) FROM {snapshot.relation} WHERE arpu_3m > 0"
    ).fetchall()[0][0]
    assert by_tier["key"] > by_tier["large"] > by_tier["regular"] > by_tier["small"] > 0
    assert covered > 0.95
    assert snapshot.models["clv"]["sbg_cohorts"] >= 1


def test_the_5g_propensity_ranks_customers_by_their_true_acceptance(
    december: Snapshot, city: Path
) -> None:
    # Given the generator's true chance that each customer not on a 5G plan accepts a 5G offer
    truth = city / "ground_truth" / "treatment_effects.parquet"
    rows = duckdb.sql(
        f"""SELECT w.upgrade_5g_propensity, w.upgrade_5g_rule, t.p_accept_contacted
            FROM {december.relation} w JOIN '{truth}' t
              ON t.subscriber_id = w.subscriber_id AND t.campaign_type = '5G迁转'
            WHERE NOT w.is_broadband_line"""
    ).fetchnumpy()
    propensity, accept = rows["upgrade_5g_propensity"], rows["p_accept_contacted"]

    # When the top tenth by the look-alike's propensity is taken
    top = np.argsort(-propensity)[: propensity.size // 10]

    # Then it accepts about twice as often as the average, as do the rule's picks
    assert not np.isnan(propensity).any()
    assert accept[top].mean() > 1.8 * accept.mean()
    assert accept[rows["upgrade_5g_rule"]].mean() > 1.5 * accept.mean()
    assert december.models["upgrade_5g"]["auc"] > 0.7


def test_the_5g_funnel_narrows_from_non_5g_customers_to_reachable_strong_targets(
    december: Snapshot, admin_user: Any
) -> None:
    from quanwang.insight.services import upgrade_funnel

    funnel = upgrade_funnel(user=admin_user, snapshot=december)

    counts = [n for _label, n in funnel]
    mobile_not_5g = duckdb.sql(
        f"SELECT count(*) FROM {december.relation} WHERE NOT plan_5g AND NOT is_broadband_line"
    ).fetchall()[0][0]
    assert counts[0] == mobile_not_5g
    assert counts == sorted(counts, reverse=True)
    assert counts[-1] > 0


def test_the_360_panel_shows_the_lifecycle_stage_and_5g_propensity(
    december: Snapshot, trained: tuple[ChurnModel, Path], settings: Any, client: Any,
    admin_user: Any,
) -> None:  # fmt: skip
    _model, var = trained
    settings.VAR_DIR = var
    [(customer,)] = duckdb.sql(
        f"SELECT subscriber_id FROM {december.relation} "
        "WHERE upgrade_5g_propensity IS NOT NULL ORDER BY subscriber_id LIMIT 1"
    ).fetchall()
    client.force_login(admin_user)

    panel = client.get(f"/insight/customers/{customer}/", HTTP_ACCEPT_LANGUAGE="en")

    body = panel.content.decode()
    assert panel.context["insight"]["snapshot"].run_id == december.run_id
    assert "5G upgrade propensity" in body
    assert str(panel.context["insight"]["stage_label"]) in body
