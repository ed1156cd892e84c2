"""Uplift targeting as a campaign option: learned from an evaluated campaign, checked at design
and at issue, and judged against a generated operator's true effects."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import shutil
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from quanwang.campaigns.choices import CampaignState, CampaignType, Targeting
from quanwang.campaigns.issuing import campaign_dir, record_snapshot
from quanwang.campaigns.models import Campaign
from quanwang.campaigns.segments import upload_list
from quanwang.campaigns.services import (
    create_campaign,
    evaluation_table,
    load_responses,
    transition,
    update_estimate,
)
from quanwang.campaigns.uplift import (
    TrueEffect,
    compare_with_truth,
    qini_coefficient,
    simulate_trial,
    true_effects,
    true_gain_coefficient,
)
from quanwang.core.errors import ServiceError
from quanwang.data.generator import GeneratorConfig, generate
from quanwang.insight.pipeline import run_pipeline
from quanwang.insight.snapshots import Snapshot, SnapshotStore
from tests import factories
from tests.campaigns.conftest import TODAY, approved, design, marketer

EVERYONE = {"field": "arpu_3m", "op": ">=", "value": 0}
MONTH = "2024-06"
Responds = Callable[[int, bool], bool]


@pytest.fixture
def town(tree: factories.Tree) -> Snapshot:
    """A snapshot written directly (no pipeline, to keep these tests fast): 200 customers
    S000-S199, the first 100 in grid A, ARPU 10 + their number, every tenth a regular customer."""
    run_id, staging = SnapshotStore().begin(MONTH)
    wide = pa.table(
        {
            "subscriber_id": [f"S{i:03d}" for i in range(200)],
            "snapshot_month": [MONTH] * 200,
            "grid_id": [tree.grid_a.code if i < 100 else tree.grid_b.code for i in range(200)],
            "value_tier": ["regular" if i % 10 == 0 else "small" for i in range(200)],
            "arpu_3m": [10.0 + i for i in range(200)],
            "tenure_months": [float(i % 60) for i in range(200)],
            "contract_expiring_3m": [i % 4 == 0 for i in range(200)],
        }
    )
    (staging / "wide").mkdir()
    pq.write_table(wide, staging / "wide" / "part-0.parquet")
    return SnapshotStore().complete(
        staging,
        Snapshot(month=MONTH, run_id=run_id, engine="duckdb", created="2024-07-01T00:00:00",
                 rows=200, seconds=0.0),
    )  # fmt: skip


def _uplift_above_140(number: int, in_control: bool) -> bool:
    """Customers from S140 up respond when contacted; every fifth responds anyway."""
    return number % 5 == 0 or (not in_control and number >= 140)


def evaluated(
    tree: factories.Tree,
    designer: Any,
    folder: Path,
    *,
    responds: Callable[[str, bool], bool],
    rule: Any = EVERYONE,
    report: bool = True,
    **fields: Any,
) -> Campaign:
    """Through the whole loop: a campaign issued over `rule` with half held out, its responses
    loaded, then run, closed and evaluated. Without `report`, the last step only writes back
    the results as the evaluation does, not its PDF (seconds for a generated city's grids)."""
    chosen = design(
        tree, rule=rule, **({"name": "上月试点", "control_share": Decimal("0.5")} | fields)
    )
    campaign = transition(
        actor=designer, campaign=approved(tree, designer, chosen), move="issue", today=TODAY
    )
    frozen = duckdb.sql(f"SELECT subscriber_id, in_control FROM '{campaign.audience_path}'")
    path = folder / f"responses-{campaign.pk}.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["campaign_id", "subscriber_id", "responded_on", "revenue"])
        for subscriber_id, in_control in frozen.fetchall():
            if responds(subscriber_id, in_control):
                writer.writerow([campaign.pk, subscriber_id, "2024-07-05", "10"])
    load_responses(campaign=campaign, path=path)
    for move in ("start", "close"):
        campaign = transition(actor=designer, campaign=campaign, move=move)
    if report:
        return transition(actor=designer, campaign=campaign, move="evaluate")
    results = evaluation_table(campaign=campaign)
    pq.write_table(results, campaign_dir(campaign.pk) / "results.parquet")
    Campaign.objects.filter(pk=campaign.pk).update(state=CampaignState.EVALUATED)
    campaign.refresh_from_db()
    return campaign


def finished(
    tree: factories.Tree,
    snapshot: Snapshot,
    *,
    control: int = 100,
    responds: Responds = _uplift_above_140,
    results: bool = True,
    **fields: Any,
) -> Campaign:
    """An evaluated campaign as the evaluation leaves it, without the loop (and its PDF): the
    row, the record of its snapshot and results.parquet. `control` of the 200, evenly spread
    (every second for 100), are the control group."""
    campaign = create_campaign(
        actor=None, org_unit=tree.province, design=design(tree, name="上月试点", **fields),
        today=TODAY,
    )  # fmt: skip
    Campaign.objects.filter(pk=campaign.pk).update(state=CampaignState.EVALUATED)
    record_snapshot(campaign_id=campaign.pk, month=snapshot.month, run_id=snapshot.run_id)
    if results:
        every = 200 // control
        held = [i % every == every - 1 for i in range(200)]
        pq.write_table(
            pa.table(
                {
                    "subscriber_id": [f"S{i:03d}" for i in range(200)],
                    "group": ["control" if h else "treated" for h in held],
                    "responded": [responds(i, h) for i, h in zip(range(200), held, strict=True)],
                    "revenue": [0.0] * 200,
                }
            ),
            campaign_dir(campaign.pk) / "results.parquet",
        )
    campaign.refresh_from_db()
    return campaign


def by_uplift(tree: factories.Tree, source: Campaign | None, **fields: Any) -> Any:
    values = {
        "targeting": Targeting.UPLIFT,
        "targeting_share": Decimal("0.3"),
        "uplift_source": source,
        "name": "按增量选客",
    } | fields
    return design(tree, rule=values.pop("rule", EVERYONE), **values)


def newer_run(snapshot: Snapshot) -> Snapshot:
    """The same wide table as a later run of the month (a rebuilt snapshot)."""
    manifest = json.loads((snapshot.path / "manifest.json").read_text())
    manifest |= {"run_id": "29990101T000000-later", "created": "2999-01-01T00:00:00+00:00"}
    target = snapshot.path.parent / manifest["run_id"]
    shutil.copytree(snapshot.path, target)
    (target / "manifest.json").write_text(json.dumps(manifest))
    return SnapshotStore().get(snapshot.month, manifest["run_id"])


# --- issuing by uplift --------------------------------------------------------------------


def test_issuing_keeps_the_top_share_by_predicted_uplift_and_draws_the_control_group_inside(
    tree: factories.Tree, town: Snapshot, tmp_path: Path
) -> None:
    # Given a campaign over the 200 customers, half held out, run and evaluated: contacting
    # moved only the customers from S140 up
    designer = marketer(tree)
    source = evaluated(
        tree, designer, tmp_path,
        responds=lambda subscriber_id, in_control: _uplift_above_140(
            int(subscriber_id[1:]), in_control
        ),
    )  # fmt: skip

    # When a campaign over the same 200 targets 30% of them by predicted uplift
    chosen = by_uplift(tree, source, control_share=Decimal("0.2"))
    campaign = transition(
        actor=designer, campaign=approved(tree, designer, chosen), move="issue", today=TODAY
    )

    # Then 60 are frozen, the 60 highest scores, nearly all from S140 up; the control group is
    # drawn among them
    scores = pq.read_table(campaign_dir(campaign.pk) / "uplift_scores.parquet").to_pylist()
    targeted = [s for s in scores if s["targeted"]]
    others = [s for s in scores if not s["targeted"]]
    frozen = duckdb.sql(
        f"SELECT subscriber_id, in_control FROM '{campaign.audience_path}'"
    ).fetchall()
    control = {subscriber_id for subscriber_id, in_control in frozen if in_control}
    assert (len(scores), len(targeted), campaign.audience_size) == (200, 60, 60)
    assert {s for s, _control in frozen} == {s["subscriber_id"] for s in targeted}
    assert min(s["predicted_uplift"] for s in targeted) >= max(
        s["predicted_uplift"] for s in others
    )
    assert sum(s["subscriber_id"] >= "S140" for s in targeted) >= 50
    assert 0 < len(control) < 60


def test_issuing_records_the_snapshot_the_audience_came_from(
    tree: factories.Tree, town: Snapshot
) -> None:
    # Given an approved campaign
    designer = marketer(tree)
    campaign = approved(tree, designer)

    # When it is issued
    transition(actor=designer, campaign=campaign, move="issue", today=TODAY)

    # Then the snapshot's month and run lie next to the frozen audience
    record = json.loads((campaign_dir(campaign.pk) / "snapshot.json").read_text())
    assert record == {"month": town.month, "run_id": town.run_id}


def test_the_estimate_takes_incremental_takers_from_the_predicted_uplift(
    tree: factories.Tree, town: Snapshot
) -> None:
    # Given an evaluated source campaign
    source = finished(tree, town)

    # When a campaign targeting 30% of 200 by uplift is designed, 10% held out
    campaign = create_campaign(
        actor=None, org_unit=tree.province, design=by_uplift(tree, source), today=TODAY
    )

    # Then its 54 treated customers times the mean predicted uplift are the expected takers
    estimate = campaign.estimate
    assumptions = {a["name"]: a for a in estimate["assumptions"]}
    uplift = assumptions["uplift_expected"]
    assert "take_rate_expected" not in assumptions
    assert estimate["treated"] == 54
    assert estimate["takers"][1] == pytest.approx(54 * uplift["value"])
    assert uplift["value"] > 0.1
    assert uplift["source"].startswith("mean predicted uplift of the 60 targeted customers")
    assert f"campaign #{source.pk}" in uplift["source"]


def test_the_marketer_can_override_the_predicted_uplift(
    tree: factories.Tree, town: Snapshot
) -> None:
    # Given a draft targeted by uplift
    designer = marketer(tree)
    campaign = create_campaign(
        actor=designer, org_unit=tree.province, design=by_uplift(tree, finished(tree, town)),
        today=TODAY,
    )  # fmt: skip

    # When the marketer sets the expected uplift to 5 points
    campaign = update_estimate(
        actor=designer, campaign=campaign, overrides={"uplift_expected": 0.05}
    )

    # Then the expected takers follow it, and the assumption says it was overridden
    assumptions = {a["name"]: a for a in campaign.estimate["assumptions"]}
    assert campaign.estimate["takers"][1] == pytest.approx(54 * 0.05)
    assert assumptions["uplift_expected"]["source"] == "override"


# --- checks at design and at issue --------------------------------------------------------


def test_uplift_targeting_without_a_source_is_refused_naming_the_field(
    tree: factories.Tree, town: Snapshot
) -> None:
    with pytest.raises(ServiceError, match="needs an evaluated campaign") as refused:
        create_campaign(
            actor=None, org_unit=tree.province, design=by_uplift(tree, None), today=TODAY
        )

    assert refused.value.field == "uplift_source"


def test_a_source_that_is_not_evaluated_is_refused(tree: factories.Tree, town: Snapshot) -> None:
    # Given a campaign that is only approved
    designer = marketer(tree)
    running = approved(tree, designer)

    # When a campaign would learn from it
    with pytest.raises(ServiceError, match="is Approved: only an evaluated") as refused:
        create_campaign(
            actor=designer, org_unit=tree.province, design=by_uplift(tree, running), today=TODAY
        )

    # Then the source field is named
    assert refused.value.field == "uplift_source"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        pytest.param(
            {"control": 20},
            "has 180 treated and 20 control customers; an uplift model needs 50 in each",
            id="too-few-control",
        ),
        pytest.param(
            {"responds": lambda number, in_control: not in_control and number >= 140},
            "has 30 responders in its treated group and 0 in its control group",
            id="no-control-responders",
        ),
        pytest.param(
            {"results": False},
            r"has no results file \(results.parquet\)",
            id="no-results-file",
        ),
        pytest.param(
            {"campaign_type": CampaignType.UPSELL},
            r"is of type Upsell \(升档\); its uplift says nothing about a campaign of type "
            r"Retention \(维系\)",
            id="another-type",
        ),
    ],
)
def test_a_source_that_cannot_train_a_model_is_refused_at_design(
    tree: factories.Tree, town: Snapshot, source: dict[str, Any], message: str
) -> None:
    # Given an evaluated campaign that cannot train an uplift model for a retention campaign
    weak = finished(tree, town, **source)

    # When a retention campaign would learn from it
    with pytest.raises(ServiceError, match=message) as refused:
        create_campaign(
            actor=None, org_unit=tree.province, design=by_uplift(tree, weak), today=TODAY
        )

    # Then the source field is named
    assert refused.value.field == "uplift_source"


def test_a_source_whose_snapshot_is_gone_is_refused_at_issue_and_the_campaign_stays_approved(
    tree: factories.Tree, town: Snapshot
) -> None:
    # Given an approved campaign learning from an evaluated one
    designer = marketer(tree)
    campaign = approved(tree, designer, by_uplift(tree, finished(tree, town)))

    # When the snapshot the source was issued on is rebuilt, the old run deleted, and the
    # campaign issued
    newer_run(town)
    shutil.rmtree(town.path)
    gone = f"issued on \\({town.month}, run {town.run_id}\\) is gone"
    with pytest.raises(ServiceError, match=gone) as refused:
        transition(actor=designer, campaign=campaign, move="issue", today=TODAY)

    # Then the source is named and nothing was issued
    campaign.refresh_from_db()
    assert refused.value.field == "uplift_source"
    assert (campaign.state, campaign.audience_path) == (CampaignState.APPROVED, "")


# --- the pages ----------------------------------------------------------------------------


def test_the_campaign_page_shows_the_model_that_chose_the_customers(
    tree: factories.Tree, town: Snapshot, client: Any
) -> None:
    # Given a campaign issued by uplift, learned from 100 treated and 100 control customers
    designer = marketer(tree)
    source = finished(tree, town)
    campaign = transition(
        actor=designer,
        campaign=approved(tree, designer, by_uplift(tree, source)),
        move="issue",
        today=TODAY,
    )
    client.force_login(designer)

    # When its page is opened
    body = client.get(f"/campaigns/{campaign.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    # Then it names the source, the learner, the rows of each group, the held-out Qini and
    # how many of the segment it kept
    assert f"#{source.pk} 上月试点" in body
    assert 'id="uplift-learner">X-learner<' in body
    assert "100 treated (44 responded), 100 control (20 responded)" in body
    assert re.search(r'id="uplift-qini">-?\d\.\d+ ', body)
    assert "60 of the segment's 200 customers" in body


def test_the_campaign_form_offers_only_evaluated_campaigns_as_sources(
    tree: factories.Tree, town: Snapshot, client: Any
) -> None:
    # Given an evaluated campaign and an approved one
    designer = marketer(tree)
    source = finished(tree, town)
    approved(tree, designer)
    client.force_login(designer)

    # When the new-campaign form is opened
    form = client.get("/campaigns/new/").context["form"]

    # Then only the evaluated one can be picked to learn from
    assert list(form.fields["uplift_source"].queryset) == [source]


def test_the_form_shows_a_missing_source_under_its_field(
    tree: factories.Tree, town: Snapshot, client: Any
) -> None:
    # Given a marketer and a saved segment
    version = design(tree).segment_version
    client.force_login(marketer(tree))
    start = dt.date.today() + dt.timedelta(days=1)

    # When they ask for uplift targeting without a campaign to learn from
    response = client.post(
        "/campaigns/new/",
        {
            "name": "按增量选客", "campaign_type": "retention", "hypothesis": "只打扰会被打动的人",
            "objective_metric": "续约数", "objective_target": "10",
            "objective_deadline": str(start + dt.timedelta(days=30)),
            "segment_version": version.pk, "channels": ["sms"], "starts_on": str(start),
            "ends_on": str(start + dt.timedelta(days=30)), "budget": "1000",
            "control_share": "10", "seed": "3", "targeting": "uplift", "targeting_share": "30",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )  # fmt: skip

    # Then the form comes back with the reason under the source field, and nothing is created
    assert response.status_code == 200
    assert response.context["form"].errors["uplift_source"] == [
        "Targeting by uplift needs an evaluated campaign to learn from."
    ]
    assert not Campaign.objects.exists()


# --- against the truth --------------------------------------------------------------------

GENERATED = GeneratorConfig(subscribers=6_000, months=4, seed=31)
GENERATED_MONTH = "2024-04"
SHARE = 0.3


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("generated")
    generate(GENERATED, folder)
    return folder


@pytest.mark.warehouse_only
def test_targeting_by_predicted_uplift_finds_more_true_response_than_risk_or_random(
    tree: factories.Tree, generated: Path, tmp_path: Path
) -> None:
    # Given a generated operator, and a randomised upsell campaign over half its customers
    # (half held out) whose responses follow the generator's true probabilities
    run_pipeline(month=GENERATED_MONTH, files={p.stem: p for p in generated.glob("*.parquet")})
    effects = true_effects(path=generated / "ground_truth", campaign_type=CampaignType.UPSELL)
    truth = {row["subscriber_id"]: row for row in effects.to_pylist()}
    ids = sorted(truth)
    rng = np.random.default_rng(3)
    first = set(rng.choice(ids, size=len(ids) // 2, replace=False).tolist())
    halves = []
    for name, members in (("first", sorted(first)), ("second", sorted(set(ids) - first))):
        path = tmp_path / f"{name}.csv"
        path.write_text("subscriber_id\n" + "\n".join(members) + "\n")
        halves.append(upload_list(actor=None, name=name, path=path, org_unit=tree.province))
    draws = dict(zip(ids, rng.random(len(ids)), strict=True))

    def responds(subscriber_id: str, in_control: bool) -> bool:
        odds = truth[subscriber_id]
        chance = odds["p_accept_not_contacted" if in_control else "p_accept_contacted"]
        return bool(draws[subscriber_id] < chance)

    designer = marketer(tree)
    source = evaluated(
        tree, designer, tmp_path, rule={"list": halves[0].pk}, responds=responds,
        campaign_type=CampaignType.UPSELL, offers=[], report=False,
    )  # fmt: skip

    # When an upsell campaign over the other half targets its top 30% by predicted uplift
    chosen = by_uplift(
        tree, source, rule={"list": halves[1].pk}, campaign_type=CampaignType.UPSELL,
        targeting_share=Decimal(str(SHARE)), offers=[],
    )  # fmt: skip
    campaign = transition(
        actor=designer, campaign=approved(tree, designer, chosen), move="issue", today=TODAY
    )

    # Then the customers it chose hold more true incremental response than the top 30% by
    # (true) churn risk, and than a random 30%; so does the whole ranking (true gain, Qini)
    scores = pq.read_table(campaign_dir(campaign.pk) / "uplift_scores.parquet")
    segment = scores.column("subscriber_id").to_pylist()
    model = scores.column("predicted_uplift").to_numpy()
    targeted = scores.column("targeted").to_numpy()
    row_of = {s: i for i, s in enumerate(effects.column("subscriber_id").to_pylist())}
    aligned = effects.take([row_of[s] for s in segment])  # the truth in the scores' order
    true_uplift = aligned.column("true_accept_uplift").to_numpy()
    # The generator's own next-month churn hazard: what a perfect churn model would rank by.
    risk = aligned.column("churn_hazard_not_contacted").to_numpy()
    by_risk = np.zeros(len(segment), dtype=bool)
    by_risk[np.argsort(-risk, kind="stable")[: int(targeted.sum())]] = True
    captured = {
        "uplift model": float(true_uplift[targeted].sum()),
        "churn risk": float(true_uplift[by_risk].sum()),
        "random": float(true_uplift.sum() * targeted.mean()),
        "oracle": float(np.sort(true_uplift)[::-1][: int(targeted.sum())].sum()),
    }
    gains = {
        "uplift model": true_gain_coefficient(uplift_scores=model, true_uplift=true_uplift),
        "churn risk": true_gain_coefficient(uplift_scores=risk, true_uplift=true_uplift),
        "oracle": true_gain_coefficient(uplift_scores=true_uplift, true_uplift=true_uplift),
    }
    trial = simulate_trial(effects=aligned, effect=TrueEffect.ACCEPTANCE, seed=11)
    judged = compare_with_truth(
        uplift_scores=model, true_uplift=true_uplift, treatment=trial.treatment,
        outcome=trial.outcome, seed=11,
    )  # fmt: skip
    qini_risk = qini_coefficient(
        uplift_scores=risk, treatment=trial.treatment, outcome=trial.outcome
    )
    facts = json.loads((campaign_dir(campaign.pk) / "uplift.json").read_text())
    print(
        f"\nsegment {len(segment)}, targeted {int(targeted.sum())}; true incremental takers "
        f"captured { {k: round(v, 1) for k, v in captured.items()} }; true gain "
        f"{ {k: round(v, 5) for k, v in gains.items()} }; Qini model {judged.qini:.5f}, risk "
        f"{qini_risk:.5f}, random {judged.qini_random:.5f}, oracle {judged.qini_oracle:.5f}; "
        f"source {facts['arms']}, held-out Qini {facts['holdout']}; fitted in {facts['seconds']} s"
    )
    assert captured["uplift model"] > 1.15 * captured["churn risk"]
    assert captured["uplift model"] > 1.3 * captured["random"]
    assert gains["uplift model"] > max(gains["churn risk"], 0.0) + 0.25 * gains["oracle"]
    assert judged.qini > qini_risk
    assert judged.qini > judged.qini_random
