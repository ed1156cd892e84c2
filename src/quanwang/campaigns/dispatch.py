"""Dispatch (推广): one step of an issued campaign on one channel, through the contact policy.

Idempotent per (campaign step, customer). Everything a step did is kept under
var/campaigns/<id>/dispatch/<step>/:

    plan.parquet        who is to be sent to, in order; fixed by the first run of the step
    excluded.parquet    everyone the contact policy held back, with the rule
    batch-00042.parquet each batch's results, written (atomically) after the gateway answered

A retry reuses the plan (re-applying the policy would count the step's own sends against its
caps) and sends only the batches without results. A worker killed after a gateway accepted a
batch but before its results were written sends that batch again with the same idempotency
keys (the `Idempotency-Key` header, WeChat's client_msg_id), which gateways use to drop
repeats: nobody is skipped, and nobody receives a message twice.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from quanwang.campaigns.channels import (
    ChannelAdapter,
    OutboundMessage,
    SendResult,
    SendStatus,
    adapter_from_config,
)
from quanwang.campaigns.choices import Channel, ContactOutcome
from quanwang.campaigns.issuing import campaign_dir
from quanwang.campaigns.policy import ContactPolicy, apply_policy
from quanwang.data.warehouse import Warehouse, sql_literal

BATCH_SIZE = 500
Progress = Callable[[int, int], None]


class DispatchError(Exception):
    """The step cannot be dispatched; the message says why."""


def step_dir(campaign_id: int, step: str) -> Path:
    if not step or not all(ch.isalnum() or ch in "-_" for ch in step):
        raise DispatchError(f"step {step!r}: use letters, digits, '-' or '_'")
    return campaign_dir(campaign_id) / "dispatch" / step


def contact_history() -> str | None:
    """SQL of every message a gateway accepted, all campaigns: the contact history."""
    pattern = Path(settings.VAR_DIR) / "campaigns" / "*" / "dispatch" / "*" / "batch-*.parquet"
    if not any(Path(settings.VAR_DIR, "campaigns").glob("*/dispatch/*/batch-*.parquet")):
        return None
    return (
        f"SELECT subscriber_id, channel, sent_at, '{ContactOutcome.CONTACTED}' AS outcome "
        f"FROM read_parquet({sql_literal(str(pattern))}) WHERE status = '{SendStatus.ACCEPTED}'"
    )


def opt_outs_file() -> Path:
    """Opt-outs (退订) per channel, appended by inbound replies; permanent."""
    return Path(settings.VAR_DIR) / "campaigns" / "opt_outs.parquet"


@dataclass(frozen=True)
class StepReport:
    planned: int
    excluded: dict[str, int]
    sent: int
    failed: int
    batches: int
    resumed_batches: int
    deferred_until: str | None


def _audience(frozen: Path, channel: Channel) -> pa.Table:
    """The frozen audience with the customers' current consent, DND and number."""
    subscribers = Warehouse().relation("subscribers")
    relation = duckdb.sql(
        f"""SELECT a.subscriber_id, a.grid_id, a.in_control,
                   coalesce(s.do_not_disturb, a.do_not_disturb, false) AS do_not_disturb,
                   s.consent_sms, s.consent_wechat, s.consent_app, s.consent_call,
                   s.msisdn, s.name
            FROM read_parquet({sql_literal(str(frozen))}) a
            LEFT JOIN {subscribers} s USING (subscriber_id)
            ORDER BY a.subscriber_id"""
    )
    assert relation is not None  # a SELECT always gives a relation
    return relation.to_arrow_table()


def plan_step(
    *,
    campaign_id: int,
    frozen: Path,
    step: str,
    channel: Channel,
    send_at: dt.datetime,
    policy: ContactPolicy,
) -> tuple[pa.Table, dict[str, int], str | None]:
    """The step's plan: written once, then read back by every retry."""
    folder = step_dir(campaign_id, step)
    plan_file, decision_file = folder / "plan.parquet", folder / "decision.json"
    if plan_file.exists() and decision_file.exists():
        decision = json.loads(decision_file.read_text())
        return pq.read_table(plan_file), decision["excluded"], decision["deferred_until"]
    folder.mkdir(parents=True, exist_ok=True)
    history = contact_history()
    opt_outs = opt_outs_file()
    decision = apply_policy(
        audience=_audience(frozen, channel),
        channel=channel,
        send_at=send_at,
        policy=policy,
        history=duckdb.sql(history) if history else None,
        opt_outs=duckdb.sql(f"SELECT * FROM read_parquet({sql_literal(str(opt_outs))})")
        if opt_outs.exists()
        else None,
    )
    _write(decision.excluded.drop_columns(["msisdn", "name"]), folder / "excluded.parquet")
    _write(decision.allowed, plan_file)
    counts = {str(rule): n for rule, n in decision.excluded_counts().items()}
    deferred = decision.deferred_until.isoformat() if decision.deferred_until else None
    staging = decision_file.with_suffix(f".{os.getpid()}.tmp")
    staging.write_text(
        json.dumps(
            {
                "send_at": send_at.isoformat(),
                "channel": str(channel),
                "excluded": counts,
                "deferred_until": deferred,
            },
            ensure_ascii=False,
        )
    )
    staging.replace(decision_file)
    return decision.allowed, counts, deferred


def _write(table: pa.Table, target: Path) -> None:
    staging = target.with_suffix(f".{os.getpid()}.tmp")
    pq.write_table(table, staging, compression="zstd")
    staging.replace(target)


def _messages(
    rows: list[dict[str, Any]], *, step_key: str, channel: Channel, text: str
) -> list[OutboundMessage]:
    recipient = {
        Channel.SMS: "msisdn",
        Channel.OUTBOUND_CALL: "msisdn",
        Channel.APP_PUSH: "subscriber_id",  # the app account is keyed by subscriber
    }[channel]
    return [
        OutboundMessage(
            campaign_step=step_key,
            subscriber_id=row["subscriber_id"],
            recipient=str(row[recipient] or ""),
            text=text,
            title=text[:20],
            name=str(row.get("name") or ""),
        )
        for row in rows
    ]


def send_step(
    *,
    campaign_id: int,
    frozen: Path,
    step: str,
    channel: Channel,
    text: str,
    send_at: dt.datetime,
    policy: ContactPolicy,
    adapter: ChannelAdapter | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> StepReport:
    """Plan (once) and send the step's batches that have no results yet."""
    if channel not in {Channel.SMS, Channel.OUTBOUND_CALL, Channel.APP_PUSH}:
        raise DispatchError(
            f"{channel.value}: no recipient mapping in the warehouse for this channel yet "
            "(WeChat needs openids; tasks go to the task lists)"
        )
    plan, excluded, deferred = plan_step(
        campaign_id=campaign_id, frozen=frozen, step=step, channel=channel, send_at=send_at,
        policy=policy,
    )  # fmt: skip
    folder = step_dir(campaign_id, step)
    try:
        sender = adapter or adapter_from_config(channel=channel, config=settings.QUANWANG_CHANNELS)
    except ImproperlyConfigured as exc:
        raise DispatchError(str(exc)) from exc
    total = -(-plan.num_rows // batch_size) if plan.num_rows else 0
    resumed = 0
    step_key = f"c{campaign_id}-{step}"
    try:
        for index in range(total):
            result_file = folder / f"batch-{index:05d}.parquet"
            if result_file.exists():
                resumed += 1
                continue
            rows = plan.slice(index * batch_size, batch_size).to_pylist()
            results = sender.send(_messages(rows, step_key=step_key, channel=channel, text=text))
            _write(_results_table(results, rows, step_key=step_key, channel=channel), result_file)
            if progress is not None:
                progress(index + 1, total)
    finally:
        sender.close()
    sent, failed = _tally(folder)
    return StepReport(
        planned=plan.num_rows,
        excluded=excluded,
        sent=sent,
        failed=failed,
        batches=total,
        resumed_batches=resumed,
        deferred_until=deferred,
    )


def _results_table(
    results: list[SendResult], rows: list[dict[str, Any]], *, step_key: str, channel: Channel
) -> pa.Table:
    by_key = {r.idempotency_key: r for r in results}
    found = [by_key.get(f"{step_key}:{row['subscriber_id']}") for row in rows]
    now = dt.datetime.now(dt.UTC)
    return pa.table(
        {
            "subscriber_id": pa.array([row["subscriber_id"] for row in rows], pa.string()),
            "grid_id": pa.array([row.get("grid_id") for row in rows], pa.string()),
            "channel": pa.array([str(channel)] * len(rows), pa.string()),
            "sent_at": pa.array([now] * len(rows), pa.timestamp("us", tz="UTC")),
            # A message the adapter gave no result for was not sent.
            "status": pa.array(
                [str(r.status) if r else str(SendStatus.FAILED) for r in found], pa.string()
            ),
            "gateway_message_id": pa.array(
                [r.gateway_message_id if r else None for r in found], pa.string()
            ),
            "error": pa.array(
                [str(r.error) if r and r.error else None for r in found], pa.string()
            ),
        }
    )


def _tally(folder: Path) -> tuple[int, int]:
    if not any(folder.glob("batch-*.parquet")):
        return 0, 0
    sent, failed = duckdb.execute(
        f"SELECT count(*) FILTER (WHERE status = '{SendStatus.ACCEPTED}'), "
        f"count(*) FILTER (WHERE status <> '{SendStatus.ACCEPTED}') "
        f"FROM read_parquet({sql_literal(str(folder / 'batch-*.parquet'))})"
    ).fetchall()[0]
    return int(sent), int(failed)
