"""Responses (执行闭环): BOSS order and acceptance records, and inbound SMS replies.

A campaign's responses live in var/campaigns/<id>/responses.parquet, one row per customer
(the first response counts; a repeat of it is counted once). Rows naming an unknown campaign,
or a customer outside the campaign's frozen audience, go to a quarantine file with the row,
column, value and reason; the good rows load. Opt-outs (退订) are kept per channel in
var/campaigns/opt_outs.parquet and every later dispatch honours them.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from quanwang.campaigns.choices import Channel
from quanwang.campaigns.dispatch import opt_outs_file
from quanwang.campaigns.issuing import campaign_dir
from quanwang.data.sources import SourceError, open_source
from quanwang.data.warehouse import quote, sql_literal

REQUIRED = ("campaign_id", "subscriber_id")
OPT_OUT_WORDS = re.compile(r"^\s*(TD|T|退订|退)\s*$", re.IGNORECASE)
ACCEPT_WORDS = re.compile(r"^\s*(Y|YES|是|好|1)\s*$", re.IGNORECASE)


class ResponseError(Exception):
    """The whole file cannot be read; the message names the file and what is wrong."""


@dataclass(frozen=True)
class ResponseReport:
    rows: int
    loaded: int
    duplicates: int
    quarantined: int
    quarantine_file: str


def responses_file(campaign_id: int) -> Path:
    return campaign_dir(campaign_id) / "responses.parquet"


def import_responses(
    *, path: Path, audiences: dict[int, Path], quarantine_dir: Path
) -> ResponseReport:
    """Load order/acceptance records (campaign_id, subscriber_id, responded_on, revenue) for
    the campaigns in `audiences` (campaign id → frozen audience)."""
    with tempfile.TemporaryDirectory(prefix="responses-") as scratch:
        try:
            source = open_source(path=path, encoding=None, work_dir=Path(scratch))
        except SourceError as exc:
            raise ResponseError(str(exc)) from exc
        missing = [c for c in REQUIRED if c not in source.columns]
        if missing:
            raise ResponseError(f"{path.name}: row 1 has no column {', '.join(missing)}")
        con = duckdb.connect()
        revenue = "revenue" if "revenue" in source.columns else None
        on = "responded_on" if "responded_on" in source.columns else None
        con.execute(
            f"""CREATE TABLE raw AS SELECT row_number() OVER () + 1 AS row,
                   trim({quote("campaign_id")}) AS campaign_text,
                   TRY_CAST(trim({quote("campaign_id")}) AS BIGINT) AS campaign_id,
                   trim({quote("subscriber_id")}) AS subscriber_id,
                   {f"TRY_CAST(trim({quote(on)}) AS DATE)" if on else "CAST(NULL AS DATE)"}
                     AS responded_on,
                   {f"trim({quote(revenue)})" if revenue else "NULL"} AS revenue_text,
                   {f"TRY_CAST(trim({quote(revenue)}) AS DOUBLE)" if revenue else "0.0"}
                     AS revenue
                FROM {source.relation}"""
        )
        known = [
            f"SELECT {int(cid)} AS campaign_id, subscriber_id "
            f"FROM read_parquet({sql_literal(str(frozen))})"
            for cid, frozen in audiences.items()
        ]
        con.execute(
            "CREATE TABLE audience AS "
            + (
                " UNION ALL ".join(known)
                if known
                else "SELECT NULL::BIGINT AS campaign_id, NULL AS subscriber_id"
            )
        )
        con.execute(
            """CREATE TABLE checked AS SELECT r.*, CASE
                  WHEN r.campaign_id IS NULL
                    OR r.campaign_id NOT IN (SELECT campaign_id FROM audience) THEN 'campaign_id'
                  WHEN r.subscriber_id IS NULL OR r.subscriber_id = '' OR NOT EXISTS (
                    SELECT 1 FROM audience a WHERE a.campaign_id = r.campaign_id
                      AND a.subscriber_id = r.subscriber_id) THEN 'subscriber_id'
                  WHEN r.revenue IS NULL AND nullif(r.revenue_text, '') IS NOT NULL THEN 'revenue'
                END AS bad_column FROM raw r"""
        )
        bad = con.execute(
            "SELECT row, bad_column, CASE bad_column WHEN 'campaign_id' THEN campaign_text "
            "WHEN 'subscriber_id' THEN subscriber_id ELSE revenue_text END "
            "FROM checked WHERE bad_column IS NOT NULL ORDER BY row"
        ).fetchall()
        rows = int(con.execute("SELECT count(*) FROM raw").fetchall()[0][0])
        loaded = duplicates = 0
        for campaign_id in audiences:
            new = _arrow(
                con,
                "SELECT subscriber_id, responded_on, coalesce(revenue, 0.0) AS revenue, row "
                f"FROM checked WHERE bad_column IS NULL AND campaign_id = {int(campaign_id)}",
            )
            if new.num_rows == 0:
                continue
            added, repeated = _merge(campaign_id, new)
            loaded += added
            duplicates += repeated
    quarantine = ""
    if bad:
        quarantine_dir.mkdir(parents=True, exist_ok=True)
        target = quarantine_dir / f"responses-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}.csv"
        with target.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["file", "row", "column", "value", "reason_zh", "reason_en"])
            for row, column, value in bad:
                zh, en = REASONS[column]
                writer.writerow([path.name, row, column, value or "", zh, en])
        quarantine = str(target)
    return ResponseReport(
        rows=rows, loaded=loaded, duplicates=duplicates, quarantined=len(bad),
        quarantine_file=quarantine,
    )  # fmt: skip


def _arrow(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    relation = con.sql(sql)
    assert relation is not None  # a SELECT always gives a relation
    return relation.to_arrow_table()


REASONS = {
    "campaign_id": ("营销案不存在或不是已下发的营销案", "no such issued campaign"),
    "subscriber_id": ("客户不在该营销案的目标客户中", "not in the campaign's audience"),
    "revenue": ("收入不是数值", "revenue is not a number"),
}


def _merge(campaign_id: int, new: pa.Table) -> tuple[int, int]:
    """Add first responses; a customer already responding (in the file or before) stays as
    first recorded. Returns (added, repeats)."""
    target = responses_file(campaign_id)
    con = duckdb.connect()
    con.register("new", new)
    old = f"read_parquet({sql_literal(str(target))})" if target.exists() else None
    union = "SELECT subscriber_id, responded_on, revenue, 0 AS source_order, 0 AS row FROM old_rows"
    if old:
        con.execute(
            f"CREATE VIEW old_rows AS SELECT subscriber_id, responded_on, revenue FROM {old}"
        )
    else:
        con.execute(
            "CREATE VIEW old_rows AS SELECT NULL AS subscriber_id, "
            "NULL::DATE AS responded_on, 0.0 AS revenue WHERE false"
        )
    merged = _arrow(
        con,
        f"""SELECT subscriber_id, responded_on, revenue FROM (
              SELECT *, row_number() OVER (PARTITION BY subscriber_id
                                           ORDER BY source_order, row) AS n
              FROM ({union} UNION ALL
                    SELECT subscriber_id, responded_on, revenue, 1, row FROM new))
            WHERE n = 1 ORDER BY subscriber_id""",
    )
    before = pq.read_metadata(target).num_rows if target.exists() else 0
    staging = target.with_suffix(f".{os.getpid()}.tmp")
    target.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(merged, staging)
    staging.replace(target)
    added = merged.num_rows - before
    return added, new.num_rows - added


@dataclass(frozen=True)
class Reply:
    opted_out: bool
    accepted_campaign: int | None


def record_reply(
    *,
    msisdn: str,
    text: str,
    at: dt.datetime,
    sent: dict[int, set[str]],
    subscriber_of: dict[str, str],
) -> Reply:
    """An inbound SMS: TD/退订 opts the customer out of SMS for good; Y/是 accepts the latest
    campaign (highest id) that messaged them. Anything else is left for people to read."""
    subscriber = subscriber_of.get(msisdn)
    if subscriber is None:
        return Reply(opted_out=False, accepted_campaign=None)
    if OPT_OUT_WORDS.match(text):
        _append_opt_out(subscriber, Channel.SMS, at)
        return Reply(opted_out=True, accepted_campaign=None)
    if ACCEPT_WORDS.match(text):
        campaigns = sorted((cid for cid, ids in sent.items() if subscriber in ids), reverse=True)
        if campaigns:
            _merge(
                campaigns[0],
                pa.table(
                    {
                        "subscriber_id": [subscriber],
                        "responded_on": pa.array([at.date()], pa.date32()),
                        "revenue": [0.0],
                        "row": [0],
                    }
                ),
            )
            return Reply(opted_out=False, accepted_campaign=campaigns[0])
    return Reply(opted_out=False, accepted_campaign=None)


def _append_opt_out(subscriber_id: str, channel: Channel, at: dt.datetime) -> None:
    target = opt_outs_file()
    row = pa.table(
        {
            "subscriber_id": [subscriber_id],
            "channel": [str(channel)],
            "opted_out_at": pa.array([at], pa.timestamp("us", tz="UTC")),
        }
    )
    table = pa.concat_tables([pq.read_table(target), row]) if target.exists() else row
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_suffix(f".{os.getpid()}.tmp")
    pq.write_table(table, staging)
    staging.replace(target)
