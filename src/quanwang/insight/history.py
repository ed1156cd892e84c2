"""Campaign history (营销接触历史): what earlier campaigns did to each customer, in the wide table.

The closed loop (PDCA): every campaign is evaluated against its control group, and the result
feeds the next analysis. An evaluated campaign leaves `var/campaigns/<id>/results.parquet`
(written by `campaigns.results`): one row per customer of its frozen audience with the arm,
whether a channel or a task reached them, whether they took the offer or refused it, and the
campaign's window. `results_input` gathers those files into one table for the pipeline;
`campaign_history` (an Ibis expression, no engine in sight) counts per customer what the
campaigns whose window ended on or before the snapshot month did to them. A campaign still
running at the end of the month is not seen, so a snapshot never knows its own future.

A campaign's contacts and answers are dated by the month its window ends (the results carry no
contact dates): "months since the last contact" is a lower bound, and a campaign counts in the
6 months when its window ended in T-5..T.

The columns are for segment rules and the console, not for the models: the churn model trains
on frames built without them (`pipeline.train_churn_model`), and the 5G look-alike and uplift
models leave `HISTORY_COLUMNS` out, so a model never learns from the targeting of campaigns
that were chosen by its own scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path

import duckdb
import ibis
import ibis.expr.types as ir
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from django.conf import settings

from quanwang.data.warehouse import quote, sql_literal
from quanwang.insight.choices import CampaignGroup
from quanwang.insight.months import Month

# Each evaluated campaign's per-customer results, in its folder var/campaigns/<id>/.
RESULTS_FILE = "results.parquet"
# The name the gathered results have among the pipeline's input tables.
CAMPAIGN_RESULTS = "campaign_results"
HISTORY_MONTHS = 6

# What the pipeline reads of each results file; a column an older file lacks reads as null.
RESULTS_SCHEMA = pa.schema(
    [
        ("campaign_id", pa.int64()),
        ("subscriber_id", pa.string()),
        ("group", pa.string()),
        ("contacted", pa.bool_()),
        ("responded", pa.bool_()),
        ("refused", pa.bool_()),
        ("window_end", pa.date32()),
    ]
)
_DUCKDB_TYPES = {
    pa.int64(): "BIGINT",
    pa.string(): "VARCHAR",
    pa.bool_(): "BOOLEAN",
    pa.date32(): "DATE",
}


class HistoryColumn(StrEnum):
    """The wide table's campaign-history columns (labels in `catalog.LABELS`)."""

    # Campaigns whose window ended in T-5..T in which a channel or a task reached them.
    CONTACTED = "campaign_contacted_6m"
    # … in which they were treated and took the offer.
    ACCEPTED = "campaign_accepted_6m"
    # … in which a grid or store task recorded a refusal.
    REFUSED = "campaign_refused_6m"
    # … in whose control group they were (never contacted on purpose).
    CONTROL = "campaign_control_6m"
    # Months from the end of the latest campaign that reached them to T; empty if none did.
    MONTHS_SINCE_CONTACT = "campaign_months_since_contact"


HISTORY_COLUMNS = tuple(c.value for c in HistoryColumn)
_COUNTS = tuple(
    c.value for c in (HistoryColumn.CONTACTED, HistoryColumn.ACCEPTED, HistoryColumn.REFUSED)
)


def results_files(*, root: Path | None = None) -> list[Path]:
    """Every evaluated campaign's results file, in folder order."""
    base = root or Path(settings.VAR_DIR) / "campaigns"
    return sorted(base.glob(f"*/{RESULTS_FILE}"))


def results_input(*, paths: Sequence[Path], target: Path) -> Path:
    """The rows of every results file as one Parquet file of `RESULTS_SCHEMA` at `target`
    (empty without any). A file written before results carried the campaign's window has no
    `window_end`: its campaign counts nowhere, since its months cannot be told."""
    if not paths:
        pq.write_table(RESULTS_SCHEMA.empty_table(), target)
        return target
    files = "[" + ", ".join(sql_literal(str(p)) for p in paths) + "]"
    source = f"read_parquet({files}, union_by_name = true)"
    con = duckdb.connect()
    present = set(con.sql(f"SELECT * FROM {source} LIMIT 0").columns)
    columns = ", ".join(
        f"CAST({quote(f.name) if f.name in present else 'NULL'} AS {_DUCKDB_TYPES[f.type]}) "
        f"AS {quote(f.name)}"
        for f in RESULTS_SCHEMA
    )
    con.execute(
        f"COPY (SELECT {columns} FROM {source}) TO {sql_literal(str(target))} (FORMAT parquet)"
    )
    con.close()
    return target


def campaign_history(results: ir.Table, month: Month) -> ir.Table:
    """Per customer in any campaign ended by the end of `month`: the `HistoryColumn`s."""
    ended = results.filter(results.window_end <= ibis.date(month.last_day))
    end = ended.window_end
    ended = ended.mutate(
        months_ago=month.index - (end.year().cast("int64") * 12 + end.month().cast("int64") - 1)
    )
    recent = ended.months_ago < HISTORY_MONTHS
    treated = ended["group"] == CampaignGroup.TREATED.value
    reached = treated & ended.contacted.fill_null(False)
    return ended.group_by("subscriber_id").aggregate(
        **{
            HistoryColumn.CONTACTED.value: ended.count(where=recent & reached),
            HistoryColumn.ACCEPTED.value: ended.count(
                where=recent & treated & ended.responded.fill_null(False)
            ),
            HistoryColumn.REFUSED.value: ended.count(
                where=recent & treated & ended.refused.fill_null(False)
            ),
            HistoryColumn.CONTROL.value: ended.count(
                where=recent & (ended["group"] == CampaignGroup.CONTROL.value)
            )
            > 0,
            HistoryColumn.MONTHS_SINCE_CONTACT.value: ended.months_ago.min(where=reached),
        }
    )


def with_campaign_history(wide: ir.Table, history: ir.Table) -> ir.Table:
    """The wide table with the history columns: zero counts and "no" for customers no ended
    campaign had, and no months since a contact for those never reached."""
    joined = wide.left_join(history, "subscriber_id").select(
        wide, *(history[name] for name in HISTORY_COLUMNS)
    )
    filled = {name: joined[name].fill_null(0) for name in _COUNTS}
    control = HistoryColumn.CONTROL.value
    filled[control] = joined[control].fill_null(False)
    return joined.mutate(**filled)
