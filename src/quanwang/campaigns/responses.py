"""Responses (执行闭环): BOSS order and acceptance records, and inbound SMS replies.

A campaign's responses live in var/campaigns/<id>/responses.parquet, one row per customer
(the first response counts; a repeat of it is counted once). Rows naming an unknown campaign,
or a customer outside the campaign's frozen audience, go to a quarantine file with the row,
column, value and reason; the good rows load. Opt-outs (退订) are kept per channel in
var/campaigns/opt_outs.parquet and every later dispatch honours them.

Inbound SMS replies (`receive_sms`, posted by the gateway to /api/v1/campaigns/sms/inbound)
are read by `opt_out.classify_reply` (normalised, keywords from QUANWANG_OPT_OUT_WORDS); a
reply that may be an opt-out but is not clearly one is held as a ReplyReview for a marketer.
They are handled once per gateway message id: var/campaigns/inbound_sms/ keeps one small JSON
file per message handled, with what was done, so a gateway that posts the same reply again
gets the same answer and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from quanwang.campaigns.channels import SendStatus
from quanwang.campaigns.channels.base import normalise_msisdn
from quanwang.campaigns.choices import CampaignState, Channel
from quanwang.campaigns.dispatch import opt_outs_file
from quanwang.campaigns.issuing import campaign_dir
from quanwang.campaigns.models import Campaign, ReplyReview
from quanwang.campaigns.opt_out import ReplyIntent, classify_reply, opt_out_words
from quanwang.core.errors import ServiceError
from quanwang.core.models import OrgUnit
from quanwang.core.tabular import write_csv
from quanwang.data.sources import SourceError, open_source
from quanwang.data.warehouse import Warehouse, quote, sql_literal

REQUIRED = ("campaign_id", "subscriber_id")


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
        target = quarantine_dir / f"responses-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}.csv"
        write_csv(
            target,
            header=["file", "row", "column", "value", "reason_zh", "reason_en"],
            rows=(
                [path.name, row, column, value or "", *REASONS[column]]
                for row, column, value in bad
            ),
        )
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
    target.parent.mkdir(parents=True, exist_ok=True)
    # An upload and an inbound reply may merge into the same file at once.
    with _locked(target):
        return _merge_locked(target, new)


def _merge_locked(target: Path, new: pa.Table) -> tuple[int, int]:
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


@contextmanager
def _locked(target: Path) -> Iterator[None]:
    """One read-modify-write of `target` at a time, across processes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.with_name(f".{target.name}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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
    """An inbound SMS: an opt-out (TD, 退订… in the forms customers type them) opts the customer
    out of SMS for good; Y/是 accepts the latest campaign (highest id) that messaged them.
    Anything else is left for people to read (receive_sms holds the unclear ones for review)."""
    subscriber = subscriber_of.get(msisdn)
    if subscriber is None:
        return Reply(opted_out=False, accepted_campaign=None)
    intent = classify_reply(text, words=opt_out_words())
    if intent is ReplyIntent.OPT_OUT:
        record_opt_out(subscriber_id=subscriber, channel=Channel.SMS, at=at)
        return Reply(opted_out=True, accepted_campaign=None)
    if intent is ReplyIntent.ACCEPT:
        campaigns = sorted((cid for cid, ids in sent.items() if subscriber in ids), reverse=True)
        if campaigns:
            # The day of the reply where the customer is, not in UTC.
            day = timezone.localtime(at).date() if timezone.is_aware(at) else at.date()
            _merge(
                campaigns[0],
                pa.table(
                    {
                        "subscriber_id": [subscriber],
                        "responded_on": pa.array([day], pa.date32()),
                        "revenue": [0.0],
                        "row": [0],
                    }
                ),
            )
            return Reply(opted_out=False, accepted_campaign=campaigns[0])
    return Reply(opted_out=False, accepted_campaign=None)


def record_opt_out(*, subscriber_id: str, channel: Channel, at: dt.datetime) -> bool:
    """Record the opt-out once per (subscriber, channel): the first one stands, a repeat adds
    no row. Returns whether a row was added."""
    target = opt_outs_file()
    row = pa.table(
        {
            "subscriber_id": [subscriber_id],
            "channel": [str(channel)],
            "opted_out_at": pa.array([at], pa.timestamp("us", tz="UTC")),
        }
    )
    with _locked(target):
        if target.exists():
            old = pq.read_table(target)
            known = pc.and_(
                pc.equal(old["subscriber_id"], subscriber_id),
                pc.equal(old["channel"], str(channel)),
            )
            if pc.any(known).as_py():
                return False
            table = pa.concat_tables([old, row.cast(old.schema)])
        else:
            table = row
        staging = target.with_suffix(f".{os.getpid()}.tmp")
        pq.write_table(table, staging)
        staging.replace(target)
    return True


class InboundOutcome(models.TextChoices):
    """What an inbound SMS reply did."""

    OPTED_OUT = "opted_out", gettext_lazy("Opted out of SMS (退订)")
    ACCEPTED = "accepted", gettext_lazy("Accepted the campaign's offer")
    REVIEW = "review", gettext_lazy("May be an opt-out: held for a marketer to decide")
    IGNORED = "ignored", gettext_lazy("Nothing to do")


class IgnoredReason(models.TextChoices):
    UNKNOWN_NUMBER = "unknown_number", gettext_lazy("The number is no subscriber's")
    NOT_A_KEYWORD = "not_a_keyword", gettext_lazy("Neither an opt-out nor an acceptance")
    NO_OPEN_CAMPAIGN = (
        "no_open_campaign",
        gettext_lazy("No issued or running campaign sent this subscriber an SMS"),
    )


#: Campaigns an acceptance can count for: a closed campaign's evaluation stays as it was.
ANSWERABLE = frozenset({CampaignState.ISSUED, CampaignState.RUNNING})
MESSAGE_ID_MAX = 100


@dataclass(frozen=True)
class InboundReply:
    message_id: str
    outcome: InboundOutcome
    campaign_id: int | None = None
    reason: IgnoredReason | None = None
    #: True when the gateway posted this message id before: the first answer, nothing done.
    replayed: bool = False


def inbound_dir() -> Path:
    return Path(settings.VAR_DIR) / "campaigns" / "inbound_sms"


def _marker(message_id: str) -> Path:
    digest = hashlib.sha256(message_id.encode()).hexdigest()
    return inbound_dir() / digest[:2] / f"{digest}.json"


def subscriber_by_msisdn(number: str) -> str | None:
    """The subscriber holding the 11-digit `number` in the warehouse; a recycled number goes to
    its active holder, else the latest to join."""
    relation = Warehouse().relation("subscribers")
    found = duckdb.execute(
        f"""SELECT subscriber_id FROM {relation}
            WHERE msisdn IN (?, '86' || ?, '+86' || ?)
            ORDER BY status = 'active' DESC, join_date DESC NULLS LAST, subscriber_id
            LIMIT 1""",
        [number, number, number],
    ).fetchall()
    return str(found[0][0]) if found else None


def sms_campaigns_of(subscriber_id: str) -> set[int]:
    """Campaigns with an SMS to `subscriber_id` that a gateway accepted (their dispatch logs)."""
    root = Path(settings.VAR_DIR) / "campaigns"
    if not any(root.glob("*/dispatch/*/batch-*.parquet")):
        return set()
    pattern = root / "*" / "dispatch" / "*" / "batch-*.parquet"
    # The campaign's id is the folder the batch lies in: var/campaigns/<id>/dispatch/<step>/.
    campaign_of = r"([0-9]+)/dispatch/[^/]+/batch-[0-9]+[.]parquet$"
    rows = duckdb.execute(
        f"""SELECT DISTINCT regexp_extract(filename, ?, 1)
            FROM read_parquet({sql_literal(str(pattern))}, filename = true)
            WHERE subscriber_id = ? AND channel = ? AND status = ?""",
        [campaign_of, subscriber_id, str(Channel.SMS), str(SendStatus.ACCEPTED)],
    ).fetchall()
    return {int(cid) for (cid,) in rows if cid}


def receive_sms(
    *, msisdn: str, text: str, received_at: dt.datetime, message_id: str
) -> InboundReply:
    """One reply posted by the SMS gateway: an opt-out (TD/退订…) opts the sender out of SMS,
    Y/是 accepts the newest issued or running campaign that texted them, a reply that may be an
    opt-out waits for a marketer (ReplyReview), anything else is left alone. Handled once per
    `message_id`: a repeat answers as the first time and changes nothing."""
    message_id = message_id.strip()
    if not message_id or len(message_id) > MESSAGE_ID_MAX:
        raise ServiceError(
            _("Give the gateway's message id (1 to %(n)d characters).") % {"n": MESSAGE_ID_MAX},
            field="message_id",
        )
    number = normalise_msisdn(msisdn)
    if number is None:
        raise ServiceError(
            _("%(msisdn)s is not a mainland mobile number.") % {"msisdn": msisdn}, field="msisdn"
        )
    if timezone.is_naive(received_at):
        # Gateways in China send local wall-clock time.
        received_at = timezone.make_aware(received_at)
    marker = _marker(message_id)
    with _locked(inbound_dir() / "replies"):
        if marker.exists():
            first = json.loads(marker.read_text(encoding="utf-8"))
            return InboundReply(
                message_id=message_id,
                outcome=InboundOutcome(first["outcome"]),
                campaign_id=first["campaign_id"],
                reason=IgnoredReason(first["reason"]) if first["reason"] else None,
                replayed=True,
            )
        answer = _handle(number=number, text=text, at=received_at, message_id=message_id)
        marker.parent.mkdir(parents=True, exist_ok=True)
        staging = marker.with_suffix(f".{os.getpid()}.tmp")
        staging.write_text(
            json.dumps(
                asdict(answer) | {"received_at": received_at.isoformat()}, ensure_ascii=False
            ),
            encoding="utf-8",
        )
        staging.replace(marker)
    return answer


def _handle(*, number: str, text: str, at: dt.datetime, message_id: str) -> InboundReply:
    subscriber = subscriber_by_msisdn(number)
    if subscriber is None:
        return InboundReply(
            message_id=message_id,
            outcome=InboundOutcome.IGNORED,
            reason=IgnoredReason.UNKNOWN_NUMBER,
        )
    intent = classify_reply(text, words=opt_out_words())
    if intent is ReplyIntent.REVIEW:
        review = _hold_for_review(subscriber=subscriber, text=text, at=at, message_id=message_id)
        return InboundReply(
            message_id=message_id, outcome=InboundOutcome.REVIEW, campaign_id=review.campaign_id
        )
    texted = sms_campaigns_of(subscriber) if intent is ReplyIntent.ACCEPT else set()
    open_ids = set(
        Campaign.objects.filter(pk__in=texted, state__in=ANSWERABLE).values_list("pk", flat=True)
    )
    reply = record_reply(
        msisdn=number,
        text=text,
        at=at,
        sent={cid: {subscriber} for cid in open_ids},
        subscriber_of={number: subscriber},
    )
    if reply.opted_out:
        return InboundReply(message_id=message_id, outcome=InboundOutcome.OPTED_OUT)
    if reply.accepted_campaign is not None:
        return InboundReply(
            message_id=message_id,
            outcome=InboundOutcome.ACCEPTED,
            campaign_id=reply.accepted_campaign,
        )
    reason = (
        IgnoredReason.NO_OPEN_CAMPAIGN
        if intent is ReplyIntent.ACCEPT
        else IgnoredReason.NOT_A_KEYWORD
    )
    return InboundReply(message_id=message_id, outcome=InboundOutcome.IGNORED, reason=reason)


def _hold_for_review(
    *, subscriber: str, text: str, at: dt.datetime, message_id: str
) -> ReplyReview:
    """The reply as a pending ReplyReview (one per message id), in the unit whose marketers
    decide: the customer's grid, else the latest campaign's unit, else the root."""
    texted = sms_campaigns_of(subscriber)
    campaign = Campaign.objects.filter(pk__in=texted).order_by("-pk").first()
    grid = _grid_of(subscriber)
    unit = (
        (OrgUnit.objects.filter(code=grid).first() if grid else None)
        or (campaign.org_unit if campaign else None)
        or OrgUnit.objects.filter(parent__isnull=True).order_by("pk").first()
    )
    with transaction.atomic():
        review, _created = ReplyReview.objects.get_or_create(
            message_id=message_id,
            defaults={
                "subscriber_id": subscriber,
                "text": text,
                "received_at": at,
                "campaign": campaign,
                "org_unit": unit,
            },
        )
    return review


def _grid_of(subscriber_id: str) -> str | None:
    relation = Warehouse().relation("subscribers")
    found = duckdb.execute(
        f"SELECT grid_id FROM {relation} WHERE subscriber_id = ? LIMIT 1", [subscriber_id]
    ).fetchall()
    return str(found[0][0]) if found and found[0][0] is not None else None
