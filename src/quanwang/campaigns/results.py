"""A campaign's per-customer results, written back when it is evaluated, for the next analysis.

`var/campaigns/<id>/results.parquet` holds the evaluation table (`group`, `responded`,
`revenue`, `value_tier`, `grid_id`, `channel`, `contacted`) with the campaign's `campaign_id`,
`campaign_type`, `window_start` and `window_end`, and `refused` (a grid or store task recorded
a refusal of a treated customer). Uplift targeting learns from it (`uplift.training_table`) and
every later snapshot counts it in its customers' campaign history (`insight.history`).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from quanwang.campaigns.choices import ContactOutcome
from quanwang.campaigns.issuing import campaign_dir
from quanwang.campaigns.models import Campaign
from quanwang.campaigns.tasks import outcomes_table
from quanwang.insight.choices import CampaignGroup
from quanwang.insight.history import RESULTS_FILE


def results_file(campaign_id: int) -> Path:
    return campaign_dir(campaign_id) / RESULTS_FILE


def write_results(*, campaign: Campaign, evaluated: pa.Table) -> Path:
    """Write `evaluated` (one row per frozen customer) with the campaign's facts and refusals,
    replacing any earlier file in one rename."""
    rows = evaluated.num_rows
    outcomes = outcomes_table(campaign_id=campaign.pk)
    refusers = pc.filter(
        outcomes.column("subscriber_id"),
        pc.equal(outcomes.column("outcome"), ContactOutcome.REFUSED.value),
    )
    refused = pc.and_(
        pc.is_in(evaluated.column("subscriber_id"), value_set=refusers),
        pc.equal(evaluated.column("group"), CampaignGroup.TREATED.value),
    )
    facts = {
        "campaign_id": pa.repeat(pa.scalar(campaign.pk, pa.int64()), rows),
        "campaign_type": pa.repeat(pa.scalar(str(campaign.campaign_type), pa.string()), rows),
        "window_start": pa.repeat(pa.scalar(campaign.starts_on, pa.date32()), rows),
        "window_end": pa.repeat(pa.scalar(campaign.ends_on, pa.date32()), rows),
        "refused": pc.fill_null(refused, False),
    }
    table = evaluated
    for name, values in facts.items():
        table = table.append_column(name, values)
    target = results_file(campaign.pk)
    staging = target.with_suffix(".tmp")
    pq.write_table(table, staging)
    staging.replace(target)
    return target
