"""Uplift targeting: the model learned from an evaluated campaign picks the customers."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from django.utils.translation import gettext as _

from quanwang.campaigns.choices import CampaignState, CampaignType, Targeting
from quanwang.campaigns.estimate import AudienceFacts
from quanwang.campaigns.evaluation import Group
from quanwang.campaigns.issuing import (
    campaign_dir,
    read_json,
    recorded_snapshot,
    write_json,
)
from quanwang.campaigns.models import Campaign
from quanwang.campaigns.results import results_file
from quanwang.campaigns.segments import audience_expression, unit_scope
from quanwang.campaigns.services.access import visible
from quanwang.campaigns.uplift import (
    MIN_ARM_ROWS,
    Arms,
    Targeted,
    UpliftError,
    target_by_uplift,
    training_table,
)
from quanwang.core.errors import ServiceError
from quanwang.core.models import OrgUnit
from quanwang.data.warehouse import sql_literal
from quanwang.insight.snapshots import Snapshot, SnapshotNotFound, SnapshotStore

S = CampaignState


UPLIFT_RECORD = "uplift.json"
UPLIFT_SCORES = "uplift_scores.parquet"


def uplift_sources(*, user: Any) -> Any:
    """The campaigns a new one may learn its uplift from: the evaluated ones the user sees."""
    return visible(user).filter(state=S.EVALUATED).order_by("-updated_at")


@dataclass(frozen=True)
class UpliftSource:
    campaign: Campaign
    results: Path
    snapshot: Snapshot  # the one the source campaign was issued on
    arms: Arms


def _uplift_source(source: Campaign | None, *, campaign_type: CampaignType) -> UpliftSource:
    """The evaluated campaign an uplift model learns from, checked: its results are there, both
    groups are big enough and have responders, and its snapshot still exists."""

    def refuse(message: str) -> ServiceError:
        return ServiceError(message, field="uplift_source")

    if source is None:
        raise refuse(_("Targeting by uplift needs an evaluated campaign to learn from."))
    named = {"name": source.name}
    if source.state != S.EVALUATED:
        raise refuse(
            _(
                "Campaign %(name)s is %(state)s: only an evaluated campaign's results can "
                "train an uplift model."
            )
            % {**named, "state": S(source.state).label}
        )
    if source.campaign_type != campaign_type:
        raise refuse(
            _(
                "Campaign %(name)s is of type %(source)s; its uplift says nothing about a "
                "campaign of type %(target)s."
            )
            % {
                **named,
                "source": CampaignType(source.campaign_type).label,
                "target": CampaignType(campaign_type).label,
            }
        )
    results = results_file(source.pk)
    if not results.is_file():
        raise refuse(_("Campaign %(name)s has no results file (results.parquet).") % named)
    row = (
        duckdb.connect()
        .execute(
            f"""SELECT count(*) FILTER (WHERE "group" = '{Group.TREATED}'),
                       count(*) FILTER (WHERE "group" = '{Group.CONTROL}'),
                       count(*) FILTER (WHERE "group" = '{Group.TREATED}' AND responded),
                       count(*) FILTER (WHERE "group" = '{Group.CONTROL}' AND responded)
                FROM read_parquet({sql_literal(str(results))})"""
        )
        .fetchall()[0]
    )
    counted = Arms(*(int(n) for n in row))
    if min(counted.treated, counted.control) < MIN_ARM_ROWS:
        raise refuse(
            _(
                "Campaign %(name)s has %(treated)s treated and %(control)s control customers; "
                "an uplift model needs %(minimum)s in each group."
            )
            % {
                **named,
                "treated": counted.treated,
                "control": counted.control,
                "minimum": MIN_ARM_ROWS,
            }
        )
    if min(counted.treated_responders, counted.control_responders) == 0:
        raise refuse(
            _(
                "Campaign %(name)s has %(treated)s responders in its treated group and "
                "%(control)s in its control group; an uplift model needs responders in both."
            )
            % {
                **named,
                "treated": counted.treated_responders,
                "control": counted.control_responders,
            }
        )
    recorded = recorded_snapshot(source.pk)
    if recorded is None:
        raise refuse(
            _(
                "Campaign %(name)s was issued before issuing recorded its snapshot: the "
                "features its customers had then are unknown."
            )
            % named
        )
    try:
        snapshot = SnapshotStore().get(*recorded)
    except SnapshotNotFound as exc:
        raise refuse(
            _(
                "The snapshot campaign %(name)s was issued on (%(month)s, run %(run)s) is gone: "
                "the features its customers had then cannot be read back."
            )
            % {**named, "month": recorded[0], "run": recorded[1]}
        ) from exc
    return UpliftSource(campaign=source, results=results, snapshot=snapshot, arms=counted)


@dataclass(frozen=True)
class UpliftTargets:
    targeted: Targeted
    audience: AudienceFacts  # of the targeted customers


def _uplift_targets(
    *,
    rule: dict[str, Any],
    org_unit: OrgUnit,
    source: Campaign | None,
    campaign_type: CampaignType,
    share: Decimal,
    snapshot: Snapshot,
    seed: int,
    holdout: bool,
) -> UpliftTargets:
    """Fit the model on the source's results and keep the top share of the segment."""
    checked_source = _uplift_source(source, campaign_type=campaign_type)
    con, audience = audience_expression(rule=rule, snapshot=snapshot, scope=unit_scope(org_unit))
    # Identifiers and numbers only: the model reads numeric and yes/no columns.
    numeric = [
        name
        for name, kind in audience.schema().items()
        if name == "subscriber_id" or kind.is_numeric() or kind.is_boolean()
    ]
    segment = audience.select(numeric).to_pyarrow()
    con.disconnect()
    training = training_table(
        results=checked_source.results, snapshot_relation=checked_source.snapshot.relation
    )
    try:
        targeted = target_by_uplift(
            training=training,
            segment=segment,
            share=float(share),
            source_campaign=checked_source.campaign.pk,
            source_snapshot=checked_source.snapshot.label,
            seed=seed,
            holdout=holdout,
        )
    except UpliftError as exc:
        raise ServiceError(
            _("No uplift model can be learned from campaign %(name)s: %(error)s")
            % {"name": checked_source.campaign.name, "error": exc},
            field="uplift_source",
        ) from exc
    chosen = segment.filter(targeted.scores.column("targeted"))

    def mean(name: str) -> float | None:
        if name not in chosen.column_names:
            return None
        value = pc.mean(chosen.column(name)).as_py()
        return None if value is None else float(value)

    return UpliftTargets(
        targeted=targeted,
        audience=AudienceFacts(
            customers=chosen.num_rows,
            mean_arpu=mean("arpu_3m"),
            mean_churn_risk=mean("churn_risk"),
            mean_upgrade_propensity=mean("upgrade_5g_propensity"),
        ),
    )


def _campaign_targets(*, campaign: Campaign, snapshot: Snapshot, holdout: bool) -> UpliftTargets:
    return _uplift_targets(
        rule=campaign.segment_version.rule,
        org_unit=campaign.org_unit,
        source=campaign.uplift_source,
        campaign_type=CampaignType(campaign.campaign_type),
        share=campaign.targeting_share,
        snapshot=snapshot,
        seed=campaign.seed,
        holdout=holdout,
    )


def _keep_uplift(*, campaign_id: int, targeted: Targeted) -> None:
    """The model's facts (uplift.json) and every segment customer's score, targeted or not
    (uplift_scores.parquet), next to the frozen audience."""
    folder = campaign_dir(campaign_id)
    write_json(folder / UPLIFT_RECORD, targeted.facts.as_json())
    staging = folder / f"{UPLIFT_SCORES}.tmp"
    pq.write_table(targeted.scores, staging)
    staging.replace(folder / UPLIFT_SCORES)


def uplift_facts(*, campaign: Campaign) -> dict[str, Any] | None:
    """The facts of the model that chose an issued campaign's customers, for its page."""
    if campaign.targeting != Targeting.UPLIFT or not campaign.audience_path:
        return None
    facts = read_json(campaign_dir(campaign.pk) / UPLIFT_RECORD)
    if facts is None:
        return None
    # Percentage points, for the page.
    for name in ("mean_uplift_targeted", "mean_uplift_segment"):
        facts[f"{name}_points"] = round(100 * float(facts[name]), 2)
    return facts
