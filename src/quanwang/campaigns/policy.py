"""The contact policy: which customers of one campaign step may be contacted now, and why not.

Every dispatch passes through `apply_policy`. It is plain Python over Arrow and DuckDB, with no
Django models, so that the dispatch job, the issuing preview and the tests all call the same
function. Rules, in precedence order (an excluded row names the first rule that applies):

1. control group    the campaign's hold-out is never contacted;
2. opt-out          any 退订 of the channel, ever: permanent, and honoured by every campaign;
3. consent          the channel's consent flag (null = none recorded, see `missing_consent_allows`);
4. no recipient     the channel needs an address the warehouse lacks (WeChat: no openid);
5. do-not-disturb   the customer is on the DND list;
6. suppression      the customer is on a suppression list that applies (e.g. open complaints);
7. cool-off         a refusal (any channel) within `cool_off_days` before the send time;
8. caps             monthly then daily, the channel's caps and the overall ones;
9. quiet hours      the send time is outside the sending window (defer or drop).

Caps count every contact attempt in the history, whatever its outcome, within the calendar day
and calendar month (Asia/Shanghai) that hold the send time.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TypeAlias
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
from django.db import models
from django.utils.translation import gettext_lazy as _

from quanwang.campaigns.choices import Channel, ContactOutcome, ExclusionRule

SHANGHAI = ZoneInfo("Asia/Shanghai")

#: The column of the excluded table that names the rule.
RULE_COLUMN = "exclusion_rule"

#: The audience's consent flag per channel. A grid or store task is worked by phoning or
#: visiting the customer to offer the campaign: marketing by voice, so it needs the consent to
#: marketing calls, as an outbound call list does.
CONSENT_COLUMNS: Mapping[Channel, str | None] = MappingProxyType(
    {
        Channel.SMS: "consent_sms",
        Channel.WECHAT: "consent_wechat",
        Channel.APP_PUSH: "consent_app",
        Channel.OUTBOUND_CALL: "consent_call",
        Channel.TASK: "consent_call",
    }
)

#: The audience column that addresses a channel where not every customer has one (an openid
#: exists only for followers of the official account). An audience without the column (the
#: issuing estimate's) is not checked: the rule is for the dispatch, which always supplies it.
RECIPIENT_COLUMNS: Mapping[Channel, str] = MappingProxyType({Channel.WECHAT: "wechat_openid"})

Source: TypeAlias = pa.Table | duckdb.DuckDBPyRelation
Suppressions: TypeAlias = Mapping[str, Collection[str | int]] | Source


class QuietHoursAction(models.TextChoices):
    """What happens to a dispatch whose send time falls outside the sending window."""

    DEFER = "defer", _("Wait for the sending window")
    DROP = "drop", _("Drop the messages")


@dataclass(frozen=True, kw_only=True, slots=True)
class Caps:
    """Most contacts allowed per calendar day and month; None means no cap."""

    daily: int | None = None
    monthly: int | None = None

    def __post_init__(self) -> None:
        for value in (self.daily, self.monthly):
            if value is not None and value < 0:
                raise ValueError(f"a contact cap cannot be negative: {value}")


@dataclass(frozen=True, kw_only=True, slots=True)
class SendWindow:
    """Wall-clock hours (Asia/Shanghai) when sending is allowed: start <= t < end.

    A window whose start is after its end runs over midnight (e.g. 20:00-02:00).
    """

    start: dt.time = dt.time(8, 0)
    end: dt.time = dt.time(22, 0)

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise ValueError("a sending window needs different start and end times")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("sending window times are Asia/Shanghai wall-clock times, no tzinfo")

    def contains(self, *, moment: dt.datetime) -> bool:
        clock = moment.astimezone(SHANGHAI).time().replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end

    def next_opening(self, *, after: dt.datetime) -> dt.datetime:
        """The first allowed moment at or after `after` (which lies outside the window)."""
        local = after.astimezone(SHANGHAI)
        today = dt.datetime.combine(local.date(), self.start, tzinfo=SHANGHAI)
        # Outside a same-day window after its end, the next opening is tomorrow's start;
        # every other outside moment (before the start, or the gap of an overnight window)
        # reopens today.
        if self.start < self.end and local.time().replace(tzinfo=None) >= self.end:
            return dt.datetime.combine(local.date() + dt.timedelta(days=1), self.start, SHANGHAI)
        return today


@dataclass(frozen=True, kw_only=True)
class ContactPolicy:
    """Every parameter of the contact policy, with the defaults of issue 5."""

    overall_caps: Caps = Caps(daily=1, monthly=4)
    #: Extra caps for one channel; a channel absent here is bound by the overall caps only.
    channel_caps: Mapping[Channel, Caps] = field(default_factory=dict)
    #: None: send at any hour.
    sending_window: SendWindow | None = SendWindow()
    quiet_hours_action: QuietHoursAction = QuietHoursAction.DEFER
    #: Days after a refusal (on any channel) during which the customer is left alone; 0: none.
    cool_off_days: int = 30
    #: Names of the suppression lists that apply; None: every list supplied applies.
    suppression_lists: frozenset[str] | None = None
    #: A consent flag that is null (never recorded) counts as consent when True.
    missing_consent_allows: bool = False

    def __post_init__(self) -> None:
        if self.cool_off_days < 0:
            raise ValueError(f"cool_off_days cannot be negative: {self.cool_off_days}")
        # A read-only view, so that a frozen policy cannot be changed through its mapping.
        object.__setattr__(self, "channel_caps", MappingProxyType(dict(self.channel_caps)))

    def caps_for(self, *, channel: Channel) -> Caps:
        return self.channel_caps.get(channel, Caps())


@dataclass(frozen=True, kw_only=True)
class PolicyDecision:
    """The audience split in two; every input row is in exactly one of the tables."""

    #: The audience rows that may be contacted at the send time, columns as given.
    allowed: pa.Table
    #: The other rows, columns as given plus `exclusion_rule` (an `ExclusionRule` value).
    excluded: pa.Table
    #: With QuietHoursAction.DEFER and a send time outside the window: when to run again.
    deferred_until: dt.datetime | None

    def excluded_counts(self) -> dict[ExclusionRule, int]:
        counts = pc.value_counts(self.excluded.column(RULE_COLUMN)).to_pylist()
        return {ExclusionRule(item["values"]): int(item["counts"]) for item in counts}


@dataclass(frozen=True, kw_only=True, slots=True)
class _Bounds:
    """The periods, as instants, that the history is measured against."""

    send_at: dt.datetime
    day_start: dt.datetime
    day_end: dt.datetime
    month_start: dt.datetime
    month_end: dt.datetime
    cool_off_start: dt.datetime


def _bounds(*, send_at: dt.datetime, cool_off_days: int) -> _Bounds:
    local = send_at.astimezone(SHANGHAI)
    day_start = dt.datetime.combine(local.date(), dt.time(), SHANGHAI)
    month_start = day_start.replace(day=1)
    next_month = (month_start + dt.timedelta(days=32)).replace(day=1)
    return _Bounds(
        send_at=local,
        day_start=day_start,
        day_end=day_start + dt.timedelta(days=1),
        month_start=month_start,
        month_end=next_month,
        cool_off_start=local - dt.timedelta(days=cool_off_days),
    )


def _timestamp_literal(moment: dt.datetime, *, zoned: bool) -> str:
    """A SQL literal of an instant, typed like the column it is compared with.

    Zoned columns compare as instants (UTC literal); naive ones hold Asia/Shanghai wall-clock
    time, as BOSS exports do, and compare with the wall-clock literal. Never a mix, which
    DuckDB would resolve through the session's time zone.
    """
    if zoned:
        utc = moment.astimezone(dt.UTC).replace(tzinfo=None)
        return f"TIMESTAMPTZ '{utc.isoformat(sep=' ')}+00'"
    return f"TIMESTAMP '{moment.astimezone(SHANGHAI).replace(tzinfo=None).isoformat(sep=' ')}'"


def _columns(source: Source) -> dict[str, str]:
    """Column name to type text, for either kind of source."""
    if isinstance(source, pa.Table):
        return {f.name: str(f.type) for f in source.schema}
    return {name: str(kind) for name, kind in zip(source.columns, source.types, strict=True)}


def _is_zoned(source: Source, *, column: str) -> bool:
    if isinstance(source, pa.Table):
        kind = source.schema.field(column).type
        if not pa.types.is_timestamp(kind):
            raise ValueError(f"history.{column} must be a timestamp, not {kind}")
        return kind.tz is not None
    text = _columns(source)[column]
    if not text.startswith("TIMESTAMP"):
        raise ValueError(f"history.{column} must be a timestamp, not {text}")
    return text.startswith("TIMESTAMP WITH TIME ZONE")


def _require(source: Source, *, name: str, columns: Collection[str]) -> None:
    missing = sorted(set(columns) - set(_columns(source)))
    if missing:
        raise ValueError(f"{name} lacks the columns {', '.join(missing)}")


def _query(
    *, con: duckdb.DuckDBPyConnection, source: Source, table: str, sql: str, into: str
) -> None:
    """Run `sql` (which reads `table`) over `source` and make its result the view `into`.

    A relation runs in its own connection (it may stream Parquet there); only the small
    per-subscriber result crosses into ours.
    """
    if isinstance(source, pa.Table):
        con.register(table, source)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {into} AS {sql}")
    else:
        result = source.query(table, sql)
        if result is None:  # only a statement without a result set gives None
            raise ValueError(f"the query over {table} gave no result set")
        con.register(into, result.to_arrow_table())


def _history_sql(*, channel: Channel, bounds: _Bounds, zoned: bool) -> str:
    """One pass over the history: per subscriber, the contacts that count and any refusal."""

    def ts(moment: dt.datetime) -> str:
        return _timestamp_literal(moment, zoned=zoned)

    in_day = f"sent_at >= {ts(bounds.day_start)} AND sent_at < {ts(bounds.day_end)}"
    in_month = f"sent_at >= {ts(bounds.month_start)} AND sent_at < {ts(bounds.month_end)}"
    on_channel = f"channel = '{channel.value}'"
    # A refusal at r cools off [r, r + days); refusals recorded after the send time are not
    # yet known to it.
    cooling = (
        f"outcome = '{ContactOutcome.REFUSED.value}' AND sent_at > {ts(bounds.cool_off_start)} "
        f"AND sent_at <= {ts(bounds.send_at)}"
    )
    # Only rows that can count: the month's contacts, and the refusals of the cool-off. The
    # plain range first, which DuckDB pushes into the scan.
    earliest = min(bounds.month_start, bounds.cool_off_start)
    return f"""
        SELECT subscriber_id,
               count(*) FILTER (WHERE {in_day}) AS day_all,
               count(*) FILTER (WHERE {in_month}) AS month_all,
               count(*) FILTER (WHERE {in_day} AND {on_channel}) AS day_channel,
               count(*) FILTER (WHERE {in_month} AND {on_channel}) AS month_channel,
               coalesce(bool_or({cooling}), false) AS cooling
        FROM history
        WHERE sent_at >= {ts(earliest)} AND sent_at < {ts(bounds.month_end)}
          AND (({in_month}) OR ({cooling}))
        GROUP BY subscriber_id
    """


def _suppressed_ids(
    *, suppressions: Suppressions, lists: frozenset[str] | None, id_type: pa.DataType
) -> Source:
    """The subscriber ids on the lists that apply, as one table or relation."""
    if isinstance(suppressions, Mapping):
        ids = [
            member
            for name, members in suppressions.items()
            if lists is None or name in lists
            for member in members
        ]
        return pa.table({"subscriber_id": pa.array(ids, type=id_type)})
    _require(suppressions, name="suppressions", columns=("subscriber_id", "list_name"))
    if lists is None:
        return suppressions
    if isinstance(suppressions, pa.Table):
        wanted = pc.is_in(suppressions.column("list_name"), value_set=pa.array(sorted(lists)))
        return suppressions.filter(wanted)
    # Expressions, not SQL text: list names are free text from the console.
    names = [duckdb.ConstantExpression(name) for name in sorted(lists)]
    column = duckdb.ColumnExpression("list_name")
    return suppressions.filter(column.isin(*names) if names else duckdb.ConstantExpression(False))


@functools.cache
def _database(*, pid: int) -> duckdb.DuckDBPyConnection:
    """One in-memory database per process (keyed by pid: a forked worker must not use its
    parent's). Opening one costs ~35 ms, a cursor on it microseconds; each cursor has its own
    registrations and temp views, and is the thread-safe way to share it."""
    return duckdb.connect()


def _check_audience(audience: pa.Table, *, consent: str | None) -> None:
    required = ["subscriber_id", "in_control", "do_not_disturb"]
    if consent is not None:
        required.append(consent)
    _require(audience, name="audience", columns=required)
    # A null here would have to be guessed; the audience freeze must decide, never this filter.
    for column in ("subscriber_id", "in_control", "do_not_disturb"):
        if audience.column(column).null_count:
            raise ValueError(f"audience.{column} has nulls; the audience must state it for all")


def apply_policy(
    *,
    audience: pa.Table,
    channel: Channel,
    send_at: dt.datetime,
    policy: ContactPolicy,
    history: Source | None = None,
    opt_outs: Source | None = None,
    suppressions: Suppressions | None = None,
) -> PolicyDecision:
    """Split `audience` into the rows that may be contacted on `channel` at `send_at`.

    audience      subscriber_id, in_control, do_not_disturb and the channel's consent column
                  (consent_sms / consent_wechat / consent_app / consent_call); for WeChat,
                  wechat_openid where known (`RECIPIENT_COLUMNS`); other columns are carried
                  through untouched.
    history       subscriber_id, channel, sent_at (timestamp; naive = Asia/Shanghai wall
                  clock), outcome (`ContactOutcome` values).
    opt_outs      subscriber_id, channel (opted_out_at is kept for the record, not consulted:
                  an opt-out is permanent).
    suppressions  {list name: subscriber ids}, or a table/relation of subscriber_id, list_name.
    A relation runs its part of the work in its own connection.
    """
    if send_at.tzinfo is None or send_at.utcoffset() is None:
        raise ValueError("send_at must be timezone-aware")
    consent = CONSENT_COLUMNS[channel]
    _check_audience(audience, consent=consent)
    bounds = _bounds(send_at=send_at, cool_off_days=policy.cool_off_days)

    # Only the columns the rules read cross into DuckDB, with the row's position so that
    # the rule column lines up with the caller's table.
    narrow = {
        "row_number": pa.array(np.arange(audience.num_rows, dtype=np.int64)),
        "subscriber_id": audience.column("subscriber_id"),
        "in_control": audience.column("in_control"),
        "do_not_disturb": audience.column("do_not_disturb"),
    }
    if consent is not None:
        narrow["consent"] = audience.column(consent)
    recipient = RECIPIENT_COLUMNS.get(channel)
    has_recipient = recipient is not None and recipient in audience.column_names
    if has_recipient:
        narrow["recipient"] = audience.column(recipient)
    # A private cursor: the view names below cannot clash with anybody's tables.
    con = _database(pid=os.getpid()).cursor()
    try:
        con.register("audience", pa.table(narrow))
        rule_column = _rules(
            con=con,
            channel=channel,
            bounds=bounds,
            policy=policy,
            id_type=audience.schema.field("subscriber_id").type,
            has_consent=consent is not None,
            has_recipient=has_recipient,
            history=history,
            opt_outs=opt_outs,
            suppressions=suppressions,
        )
    finally:
        con.close()

    allowed = audience.filter(pc.is_null(rule_column))
    excluded = audience.append_column(RULE_COLUMN, rule_column).filter(pc.is_valid(rule_column))
    deferred_until = None
    window = policy.sending_window
    if (
        window is not None
        and not window.contains(moment=bounds.send_at)
        and policy.quiet_hours_action == QuietHoursAction.DEFER
    ):
        deferred_until = window.next_opening(after=bounds.send_at)
    return PolicyDecision(allowed=allowed, excluded=excluded, deferred_until=deferred_until)


def _rules(
    *,
    con: duckdb.DuckDBPyConnection,
    channel: Channel,
    bounds: _Bounds,
    policy: ContactPolicy,
    id_type: pa.DataType,
    has_consent: bool,
    has_recipient: bool,
    history: Source | None,
    opt_outs: Source | None,
    suppressions: Suppressions | None,
) -> pa.ChunkedArray:
    """The rule per audience row (null: allowed), in the audience's order."""
    if history is None:
        history = pa.table(
            {
                "subscriber_id": pa.array([], type=id_type),
                "channel": pa.array([], type=pa.string()),
                "sent_at": pa.array([], type=pa.timestamp("us", tz="UTC")),
                "outcome": pa.array([], type=pa.string()),
            }
        )
    _require(history, name="history", columns=("subscriber_id", "channel", "sent_at", "outcome"))
    zoned = _is_zoned(history, column="sent_at")
    _query(
        con=con,
        source=history,
        table="history",
        sql=_history_sql(channel=channel, bounds=bounds, zoned=zoned),
        into="contacts",
    )

    if opt_outs is None:
        opt_outs = pa.table(
            {"subscriber_id": pa.array([], type=id_type), "channel": pa.array([], pa.string())}
        )
    _require(opt_outs, name="opt_outs", columns=("subscriber_id", "channel"))
    _query(
        con=con,
        source=opt_outs,
        table="opt_outs",
        sql=f"SELECT DISTINCT subscriber_id FROM opt_outs WHERE channel = '{channel.value}'",
        into="opted_out",
    )

    suppressed = _suppressed_ids(
        suppressions=suppressions if suppressions is not None else {},
        lists=policy.suppression_lists,
        id_type=id_type,
    )
    _query(
        con=con,
        source=suppressed,
        table="suppressions",
        sql="SELECT DISTINCT subscriber_id FROM suppressions",
        into="suppressed",
    )

    window = policy.sending_window
    rule = _rule_case(
        overall=policy.overall_caps,
        channel=policy.caps_for(channel=channel),
        consent=(
            f"coalesce(a.consent, {'true' if policy.missing_consent_allows else 'false'})"
            if has_consent
            else None
        ),
        outside_window=window is not None and not window.contains(moment=bounds.send_at),
        has_recipient=has_recipient,
    )
    # LEFT JOINs against per-subscriber (grouped or distinct) sides: one output row per
    # audience row, duplicates in the audience included.
    rules = con.sql(
        f"""
        SELECT {rule} AS rule
        FROM audience a
        LEFT JOIN contacts c ON c.subscriber_id = a.subscriber_id
        LEFT JOIN opted_out o ON o.subscriber_id = a.subscriber_id
        LEFT JOIN suppressed s ON s.subscriber_id = a.subscriber_id
        ORDER BY a.row_number
        """
    )
    assert rules is not None  # a SELECT always has a result set
    return rules.to_arrow_table().column("rule")


def _rule_case(
    *,
    overall: Caps,
    channel: Caps,
    consent: str | None,
    outside_window: bool,
    has_recipient: bool = False,
) -> str:
    """The CASE expression naming the first rule that applies, in precedence order."""

    def reached(count: str, cap: int | None) -> str:
        return "false" if cap is None else f"coalesce(c.{count}, 0) >= {int(cap)}"

    monthly = " OR ".join(
        (reached("month_channel", channel.monthly), reached("month_all", overall.monthly))
    )
    daily = " OR ".join((reached("day_channel", channel.daily), reached("day_all", overall.daily)))
    branches = [
        ("a.in_control", ExclusionRule.CONTROL_GROUP),
        ("o.subscriber_id IS NOT NULL", ExclusionRule.OPTED_OUT),
        ("false" if consent is None else f"NOT {consent}", ExclusionRule.NO_CONSENT),
        (
            "coalesce(trim(a.recipient), '') = ''" if has_recipient else "false",
            ExclusionRule.NO_RECIPIENT,
        ),
        ("a.do_not_disturb", ExclusionRule.DO_NOT_DISTURB),
        ("s.subscriber_id IS NOT NULL", ExclusionRule.SUPPRESSED),
        ("coalesce(c.cooling, false)", ExclusionRule.COOL_OFF),
        # The month before the day: a full month is the more useful reason to log, since
        # waiting for tomorrow would not help.
        (monthly, ExclusionRule.MONTHLY_CAP),
        (daily, ExclusionRule.DAILY_CAP),
        ("true" if outside_window else "false", ExclusionRule.QUIET_HOURS),
    ]
    whens = "\n".join(f"WHEN {test} THEN '{rule.value}'" for test, rule in branches)
    return f"CASE {whens} ELSE NULL END"
