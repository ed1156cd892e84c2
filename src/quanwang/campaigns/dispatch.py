"""Dispatch (推广): one step of an issued campaign on one channel, through the contact policy.

Exactly once per (campaign step, customer) on our side. Everything a step did is kept under
var/campaigns/<id>/dispatch/<step>/:

    plan.parquet        who is to be sent to, in order; fixed by the first run of the step
    excluded.parquet    everyone the contact policy held back, with the rule
    batch-00042.parquet each batch's results, written (atomically) after the gateway answered

`send_step` runs under the step's claim and writes its send ledger (a SendLedger: the
operations database's, campaigns.ledger): a batch is claimed there before it is handed to
the gateway and settled after its results file is written. A retry reuses the plan
(re-applying the policy would count the step's own sends against its caps) and sends only
the batches nobody claimed. A batch claimed by a run that died before writing its results has
an unknown outcome: its customers are recorded with status "unknown" and are not sent again.

A plan made outside the sending hours holds everyone back until the window opens
(`deferred_until`); it sends nobody, so the next run, at or after that moment, makes the plan
again at its own time instead of reusing the empty one.

A grid or store task step (Channel.TASK) calls no adapter: its plan IS the task list (任务清单),
each customer with the store of their grid that serves them, or with their account manager
(campaigns split by account manager); the outcomes recorded on it are TaskOutcome rows
(campaigns/tasks.py), not batch files.

A WeChat step goes to the customers' openids (subscribers.wechat_openid) as a template message
(模板消息): the template id of QUANWANG_CHANNELS["wechat"], the step's text in its text field.

The adapters come from the effective channels config (channels.config.channels_config): in
demo mode, channels the setting leaves out go to the demo's sandbox gateways.
A customer without an openid is held back by the policy (ExclusionRule.NO_RECIPIENT).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from django.conf import settings
from django.utils.translation import gettext as _

from quanwang.campaigns.channels import (
    ChannelAdapter,
    OutboundMessage,
    SendResult,
    SendStatus,
)
from quanwang.campaigns.channels.base import ChannelNotConfigured, ConfigProblem
from quanwang.campaigns.channels.config import configured_adapter, not_configured_message
from quanwang.campaigns.channels.wechat import WechatAdapter
from quanwang.campaigns.choices import BatchState, Channel, ContactOutcome, ExclusionRule
from quanwang.campaigns.issuing import ACCOUNT_MANAGER, campaign_dir
from quanwang.campaigns.policy import ContactPolicy, apply_policy
from quanwang.data.warehouse import Warehouse, sql_literal

logger = logging.getLogger("quanwang.dispatch")

BATCH_SIZE = 500
Progress = Callable[[int, int], None]
#: The status, in a batch's results file, of a customer whose batch's outcome is unknown.
UNKNOWN = str(BatchState.UNKNOWN)


class SendLedger(Protocol):
    """Where a step records, before and after each batch, what it handed to the gateway (the
    operations database's: campaigns.ledger.StepLedger)."""

    def batch_size(self, proposed: int) -> int:
        """The step's batch size, fixed by its first plan."""
        ...

    def planned(
        self, *, rows: int, excluded: dict[str, int], deferred: int, deferred_until: str | None
    ) -> None: ...

    def batches(self) -> dict[int, BatchState]:
        """The batches claimed so far, by index."""
        ...

    def claim(self, index: int, *, size: int) -> bool:
        """True: this run sends batch `index`, recorded before it does."""
        ...

    def settle(self, index: int, *, state: BatchState, accepted: int, failed: int) -> None: ...


class DispatchError(Exception):
    """The step cannot be dispatched; the message says why."""


def step_dir(campaign_id: int, step: str) -> Path:
    if not step or not all(ch.isalnum() or ch in "-_" for ch in step):
        raise DispatchError(
            _("Step \"%(step)s\": name it with letters, digits, '-' or '_'") % {"step": step}
        )
    return campaign_dir(campaign_id) / "dispatch" / step


#: Columns of the task outcomes given to `contact_history` (TaskOutcome rows, all campaigns).
TASK_HISTORY_SCHEMA = pa.schema(
    [
        ("subscriber_id", pa.string()),
        ("channel", pa.string()),
        ("sent_at", pa.timestamp("us", tz="UTC")),
        ("outcome", pa.string()),
    ]
)


def contact_history(*, task_outcomes: pa.Table | None = None) -> duckdb.DuckDBPyRelation | None:
    """The contact history, all campaigns: every message a gateway accepted, and every task
    outcome a grid or store recorded (channel task, with its outcome, so that a refusal on a
    visit or a grid manager's call starts the policy's cool-off). None when there is none.

    The outcomes come from the caller (tasks.contact_log), which reads the database: this
    module stays runnable without one, as the dispatch worker's kill test runs it."""
    con = duckdb.connect()
    parts = []
    pattern = Path(settings.VAR_DIR) / "campaigns" / "*" / "dispatch" / "*" / "batch-*.parquet"
    if any(Path(settings.VAR_DIR, "campaigns").glob("*/dispatch/*/batch-*.parquet")):
        parts.append(
            f"SELECT subscriber_id, channel, sent_at, '{ContactOutcome.CONTACTED}' AS outcome "
            f"FROM read_parquet({sql_literal(str(pattern))}) "
            # A message whose outcome is unknown may have arrived: it counts against caps.
            f"WHERE status IN ('{SendStatus.ACCEPTED}', '{UNKNOWN}')"
        )
    if task_outcomes is not None and task_outcomes.num_rows:
        con.register("task_outcomes", task_outcomes.select(TASK_HISTORY_SCHEMA.names))
        parts.append("SELECT subscriber_id, channel, sent_at, outcome FROM task_outcomes")
    if not parts:
        return None
    return con.sql(" UNION ALL ".join(parts))


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
    #: Customers put on the grids' and stores' task lists (a task step sends nothing).
    tasks: int = 0
    #: Customers of batches whose sender died mid-batch: maybe sent, never sent again.
    unknown: int = 0
    #: Customers held back by the quiet hours, to be sent at `deferred_until`.
    deferred: int = 0


def _store_spread(
    frozen: Path, *, seed: int, managed: bool = False, store_quotas: bool = False
) -> str:
    """SQL of (subscriber_id, store_id): each grid's treated customers in the order of a
    seeded hash, dealt over the grid's stores (warehouse `stores`, by `grid_id`) round-robin,
    so every store gets an equal share (±1) and the same seed gives the same stores in every
    task step of the campaign. Customers of a grid with no store get none (no row), nor do
    those of an account manager (`managed`: the frozen audience names them).

    A grid whose campaign was issued to its stores (`store_quotas`: the registered table
    `store_quotas`, campaigns.store_quotas.STORE_QUOTA_SCHEMA) deals its customers to those
    stores only, in the same order: each store (by code) takes the next `audience` of them;
    the rest stay on the grid's own list, with no store."""
    stores = Warehouse().relation("stores")
    mine = f" AND {ACCOUNT_MANAGER} IS NULL" if managed else ""
    quotas = "store_quotas" if store_quotas else (
        "(SELECT NULL::VARCHAR AS grid_id, NULL::VARCHAR AS store_id, 0::BIGINT AS audience "
        "WHERE false)"
    )  # fmt: skip
    return f"""
        WITH quotas AS (SELECT * FROM {quotas} WHERE audience > 0),
        slots AS (
            SELECT grid_id, store_id,
                   row_number() OVER (PARTITION BY grid_id ORDER BY store_id) - 1 AS slot,
                   count(*) OVER (PARTITION BY grid_id) AS slots
            FROM (SELECT DISTINCT grid_id, store_id FROM {stores}
                  WHERE grid_id IS NOT NULL AND store_id IS NOT NULL
                    AND grid_id NOT IN (SELECT grid_id FROM quotas))),
        blocks AS (
            SELECT grid_id, store_id,
                   sum(audience) OVER (PARTITION BY grid_id ORDER BY store_id
                                       ROWS UNBOUNDED PRECEDING) AS upto,
                   audience
            FROM quotas),
        dealt AS (
            SELECT subscriber_id, grid_id,
                   row_number() OVER (PARTITION BY grid_id
                                      ORDER BY hash({int(seed)}, subscriber_id), subscriber_id)
                       - 1 AS position
            FROM read_parquet({sql_literal(str(frozen))}) WHERE NOT in_control{mine})
        SELECT d.subscriber_id, s.store_id
        FROM dealt d JOIN slots s ON s.grid_id = d.grid_id AND s.slot = d.position % s.slots
        UNION ALL
        SELECT d.subscriber_id, b.store_id
        FROM dealt d JOIN blocks b ON b.grid_id = d.grid_id
                                  AND d.position >= b.upto - b.audience
                                  AND d.position < b.upto"""


def _audience(
    frozen: Path, channel: Channel, *, seed: int = 1, store_quotas: pa.Table | None = None
) -> pa.Table:
    """The frozen audience with the customers' current consent, DND and number; for a task
    step, with the store that serves each customer (`store_id`, null when none) and their
    account manager (`account_manager`, frozen on issue when the campaign is split by
    account manager; such a customer is on the manager's list, with no store)."""
    subscribers = Warehouse().relation("subscribers")
    # A subscribers table stored before the column existed has no openids: null for all.
    probe = duckdb.sql(f"SELECT * FROM {subscribers} LIMIT 0")
    assert probe is not None  # a SELECT always gives a relation
    stored = probe.columns
    openid = "s.wechat_openid" if "wechat_openid" in stored else "CAST(NULL AS VARCHAR)"
    store, stores = "", ""
    con = duckdb.connect()
    if channel == Channel.TASK:
        managed = ACCOUNT_MANAGER in pq.read_schema(frozen).names
        manager = f"a.{ACCOUNT_MANAGER}" if managed else "CAST(NULL AS VARCHAR)"
        store = f", t.store_id, {manager} AS {ACCOUNT_MANAGER}"
        by_quota = store_quotas is not None and store_quotas.num_rows > 0
        if by_quota:
            con.register("store_quotas", store_quotas)
        spread = _store_spread(frozen, seed=seed, managed=managed, store_quotas=by_quota)
        stores = f"LEFT JOIN ({spread}) t USING (subscriber_id)"
    try:
        relation = con.sql(
            f"""SELECT a.subscriber_id, a.grid_id, a.in_control,
                       coalesce(s.do_not_disturb, a.do_not_disturb, false) AS do_not_disturb,
                       s.consent_sms, s.consent_wechat, s.consent_app, s.consent_call,
                       s.msisdn, s.name, {openid} AS wechat_openid{store}
                FROM read_parquet({sql_literal(str(frozen))}) a
                LEFT JOIN {subscribers} s USING (subscriber_id)
                {stores}
                ORDER BY a.subscriber_id"""
        )
        assert relation is not None  # a SELECT always gives a relation
        return relation.to_arrow_table()
    finally:
        con.close()


def _opt_outs(channel: Channel) -> duckdb.DuckDBPyRelation | None:
    """The opt-outs the policy honours for this channel. A task is a grid's call or visit:
    a customer who opted out of marketing calls is not phoned by their grid either."""
    opt_outs = opt_outs_file()
    if not opt_outs.exists():
        return None
    source = f"read_parquet({sql_literal(str(opt_outs))})"
    if channel != Channel.TASK:
        return duckdb.sql(f"SELECT * FROM {source}")
    return duckdb.sql(
        f"SELECT subscriber_id, '{Channel.TASK}' AS channel FROM {source} "
        f"WHERE channel IN ('{Channel.TASK}', '{Channel.OUTBOUND_CALL}')"
    )


def plan_step(
    *,
    campaign_id: int,
    frozen: Path,
    step: str,
    channel: Channel,
    send_at: dt.datetime,
    policy: ContactPolicy,
    text: str = "",
    seed: int = 1,
    task_outcomes: pa.Table | None = None,
    store_quotas: pa.Table | None = None,
) -> tuple[pa.Table, dict[str, int], str | None]:
    """The step's plan: written once, then read back by every retry."""
    folder = step_dir(campaign_id, step)
    plan_file, decision_file = folder / "plan.parquet", folder / "decision.json"
    if plan_file.exists() and decision_file.exists():
        decision = json.loads(decision_file.read_text())
        plan = pq.read_table(plan_file)
        # A plan deferred by the quiet hours sends nobody: it is made again at the run's time.
        if not (decision["deferred_until"] and plan.num_rows == 0):
            return plan, decision["excluded"], decision["deferred_until"]
    folder.mkdir(parents=True, exist_ok=True)
    if channel == Channel.TASK:
        # A task made at night is not a contact at night: the grid works it in the day.
        policy = dataclasses.replace(policy, sending_window=None)
    decision = apply_policy(
        audience=_audience(frozen, channel, seed=seed, store_quotas=store_quotas),
        channel=channel,
        send_at=send_at,
        policy=policy,
        history=contact_history(task_outcomes=task_outcomes),
        opt_outs=_opt_outs(channel),
    )
    _write(
        decision.excluded.drop_columns(["msisdn", "name", "wechat_openid"]),
        folder / "excluded.parquet",
    )
    _write(decision.allowed, plan_file)
    counts = {str(rule): n for rule, n in decision.excluded_counts().items()}
    deferred = decision.deferred_until.isoformat() if decision.deferred_until else None
    staging = decision_file.with_suffix(f".{os.getpid()}.tmp")
    staging.write_text(
        json.dumps(
            {
                "send_at": send_at.isoformat(),
                "channel": str(channel),
                "text": text,
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
    rows: list[dict[str, Any]],
    *,
    step_key: str,
    channel: Channel,
    text: str,
    template_id: str = "",
    text_field: str = "",
) -> list[OutboundMessage]:
    recipient = {
        Channel.SMS: "msisdn",
        Channel.OUTBOUND_CALL: "msisdn",
        Channel.APP_PUSH: "subscriber_id",  # the app account is keyed by subscriber
        Channel.WECHAT: "wechat_openid",
    }[channel]
    # A template message carries no free text: the step's text fills one template field.
    data = {text_field: text} if template_id and text_field else {}
    return [
        OutboundMessage(
            campaign_step=step_key,
            subscriber_id=row["subscriber_id"],
            recipient=str(row[recipient] or ""),
            text=text,
            title=text[:20],
            template_id=template_id,
            template_data=data,
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
    ledger: SendLedger,
    adapter: ChannelAdapter | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
    seed: int = 1,
    task_outcomes: pa.Table | None = None,
    store_quotas: pa.Table | None = None,
) -> StepReport:
    """Plan (once) and send the step's batches that no run has claimed; a task step's plan
    is its task list, and nothing is sent. The caller holds the step's claim (`ledger`).

    `seed` (the campaign's) spreads task customers over their grid's stores, by the store
    quotas `store_quotas` where the campaign was issued to stores (from
    campaigns.store_quotas.store_quota_table); `task_outcomes` (`TASK_HISTORY_SCHEMA`, from
    tasks.contact_log) join the contact history."""
    if channel not in {
        Channel.SMS, Channel.OUTBOUND_CALL, Channel.APP_PUSH, Channel.WECHAT, Channel.TASK,
    }:  # fmt: skip
        raise DispatchError(
            _("%(channel)s: no recipient mapping in the warehouse") % {"channel": channel.label}
        )
    plan, excluded, deferred_until = plan_step(
        campaign_id=campaign_id, frozen=frozen, step=step, channel=channel, send_at=send_at,
        policy=policy, text=text, seed=seed, task_outcomes=task_outcomes,
        store_quotas=store_quotas,
    )  # fmt: skip
    deferred = excluded.get(str(ExclusionRule.QUIET_HOURS), 0) if deferred_until else 0
    ledger.planned(
        rows=plan.num_rows, excluded=excluded, deferred=deferred, deferred_until=deferred_until
    )
    if channel == Channel.TASK:
        if progress is not None:
            progress(1, 1)
        return StepReport(
            planned=plan.num_rows, excluded=excluded, sent=0, failed=0, batches=0,
            resumed_batches=0, deferred_until=deferred_until, tasks=plan.num_rows,
            deferred=deferred,
        )  # fmt: skip
    folder = step_dir(campaign_id, step)
    size = ledger.batch_size(batch_size)
    total = -(-plan.num_rows // size) if plan.num_rows else 0
    claimed = ledger.batches()
    _settle_orphans(claimed, plan=plan, size=size, folder=folder, ledger=ledger, channel=channel)
    todo = [i for i in range(total) if i not in claimed]
    if todo:
        _send(
            todo, plan=plan, size=size, folder=folder, ledger=ledger, adapter=adapter,
            campaign_id=campaign_id, channel=channel, text=text, total=total, progress=progress,
        )  # fmt: skip
    sent, failed, unknown = _tally(folder)
    return StepReport(
        planned=plan.num_rows,
        excluded=excluded,
        sent=sent,
        failed=failed,
        batches=total,
        resumed_batches=total - len(todo),
        deferred_until=deferred_until,
        unknown=unknown,
        deferred=deferred,
    )


def _send(
    todo: list[int],
    *,
    plan: pa.Table,
    size: int,
    folder: Path,
    ledger: SendLedger,
    adapter: ChannelAdapter | None,
    campaign_id: int,
    channel: Channel,
    text: str,
    total: int,
    progress: Progress | None,
) -> None:
    """Send the batches `todo`, each claimed in the ledger before the gateway sees it."""
    try:
        sender = adapter or configured_adapter(channel)
    except ChannelNotConfigured as exc:
        # The page shows a plain line; the setting's own words (the key at fault) go to the
        # operator's log.
        logger.warning("dispatch of %s refused: %s", channel, exc)
        raise DispatchError(not_configured_message(channel, exc.problem)) from exc
    template_id, text_field = "", ""
    if isinstance(sender, WechatAdapter):
        template_id, text_field = sender.config.template_id, sender.config.text_field
        if not template_id:
            sender.close()
            # Every message would fail: say so once, before anything is sent.
            raise DispatchError(not_configured_message(channel, ConfigProblem.NO_TEMPLATE))
    step_key = f"c{campaign_id}-{folder.name}"
    try:
        for index in todo:
            result_file = folder / f"batch-{index:05d}.parquet"
            rows = plan.slice(index * size, size).to_pylist()
            if not ledger.claim(index, size=len(rows)):
                continue  # another run has it
            if result_file.exists():
                # Sent before the ledger existed (a step begun by an older version).
                ledger.settle(index, state=BatchState.SENT, **_counts(result_file))
                continue
            messages = _messages(
                rows, step_key=step_key, channel=channel, text=text,
                template_id=template_id, text_field=text_field,
            )  # fmt: skip
            results = sender.send(messages)
            table = _results_table(results, rows, step_key=step_key, channel=channel)
            _write(table, result_file)
            ledger.settle(index, state=BatchState.SENT, **_counts(result_file))
            if progress is not None:
                progress(index + 1, total)
    finally:
        sender.close()


def _settle_orphans(
    claimed: dict[int, BatchState],
    *,
    plan: pa.Table,
    size: int,
    folder: Path,
    ledger: SendLedger,
    channel: Channel,
) -> None:
    """Batches claimed by a run that died before settling them: settled from their results
    file when it was written, else recorded as unknown, so that nobody in them is sent the
    step again (they may have received it: the gateway may have accepted the batch)."""
    for index, state in sorted(claimed.items()):
        if state != BatchState.CLAIMED:
            continue
        result_file = folder / f"batch-{index:05d}.parquet"
        if result_file.exists():
            ledger.settle(index, state=BatchState.SENT, **_counts(result_file))
            continue
        rows = plan.slice(index * size, size).to_pylist()
        _write(_unknown_table(rows, channel=channel), result_file)
        ledger.settle(index, state=BatchState.UNKNOWN, accepted=0, failed=0)


def _unknown_table(rows: list[dict[str, Any]], *, channel: Channel) -> pa.Table:
    return _table(
        rows,
        channel=channel,
        status=[UNKNOWN] * len(rows),
        message_ids=[None] * len(rows),
        errors=[None] * len(rows),
    )


def _counts(result_file: Path) -> dict[str, int]:
    accepted, failed = duckdb.execute(
        f"SELECT count(*) FILTER (WHERE status = '{SendStatus.ACCEPTED}'), "
        f"count(*) FILTER (WHERE status = '{SendStatus.FAILED}') "
        f"FROM read_parquet({sql_literal(str(result_file))})"
    ).fetchall()[0]
    return {"accepted": int(accepted), "failed": int(failed)}


def _results_table(
    results: list[SendResult], rows: list[dict[str, Any]], *, step_key: str, channel: Channel
) -> pa.Table:
    by_key = {r.idempotency_key: r for r in results}
    found = [by_key.get(f"{step_key}:{row['subscriber_id']}") for row in rows]
    return _table(
        rows,
        channel=channel,
        # A message the adapter gave no result for was not sent.
        status=[str(r.status) if r else str(SendStatus.FAILED) for r in found],
        message_ids=[r.gateway_message_id if r else None for r in found],
        errors=[str(r.error) if r and r.error else None for r in found],
    )


def _table(
    rows: list[dict[str, Any]],
    *,
    channel: Channel,
    status: list[str],
    message_ids: list[str | None],
    errors: list[str | None],
) -> pa.Table:
    now = dt.datetime.now(dt.UTC)
    return pa.table(
        {
            "subscriber_id": pa.array([row["subscriber_id"] for row in rows], pa.string()),
            "grid_id": pa.array([row.get("grid_id") for row in rows], pa.string()),
            "channel": pa.array([str(channel)] * len(rows), pa.string()),
            "sent_at": pa.array([now] * len(rows), pa.timestamp("us", tz="UTC")),
            "status": pa.array(status, pa.string()),
            "gateway_message_id": pa.array(message_ids, pa.string()),
            "error": pa.array(errors, pa.string()),
        }
    )


def _tally(folder: Path) -> tuple[int, int, int]:
    """Customers of the step accepted, not sent, and of unknown outcome."""
    if not any(folder.glob("batch-*.parquet")):
        return 0, 0, 0
    sent, failed, unknown = duckdb.execute(
        f"SELECT count(*) FILTER (WHERE status = '{SendStatus.ACCEPTED}'), "
        f"count(*) FILTER (WHERE status = '{SendStatus.FAILED}'), "
        f"count(*) FILTER (WHERE status = '{UNKNOWN}') "
        f"FROM read_parquet({sql_literal(str(folder / 'batch-*.parquet'))})"
    ).fetchall()[0]
    return int(sent), int(failed), int(unknown)
